package schema

import (
	"strings"
	"testing"
)

func parseOne(t *testing.T, body string, opts Options) []Model {
	t.Helper()
	models, err := Parse([]Source{{Name: "schema.graphql", Body: body}}, opts)
	if err != nil {
		t.Fatal(err)
	}
	return models
}

var v2 = Options{TransformerVersion: 2, DefaultClaim: "sub::username"}

func TestOwnerClaims(t *testing.T) {
	cases := map[string]struct {
		rule  string
		opts  Options
		field string
		claim string
		prov  string
		remap bool
	}{
		"v2 default":               {`{allow: owner}`, v2, "owner", "sub::username", "userPools", true},
		"v1 default":               {`{allow: owner}`, Options{TransformerVersion: 1, DefaultClaim: "username"}, "owner", "username", "userPools", true},
		"cognito:username":         {`{allow: owner, ownerField: "u", identityClaim: "cognito:username"}`, v2, "u", "username", "userPools", true},
		"deprecated identityField": {`{allow: owner, ownerField: "c", identityField: "sub"}`, Options{TransformerVersion: 1}, "c", "sub", "userPools", true},
		"custom claim":             {`{allow: owner, ownerField: "t", identityClaim: "custom:tenant"}`, v2, "t", "custom:tenant", "userPools", false},
		"oidc provider":            {`{allow: owner, provider: oidc, identityClaim: "sub"}`, v2, "owner", "sub", "oidc", false},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			m := parseOne(t, "type M @model @auth(rules: ["+tc.rule+"]) { id: ID! }", tc.opts)
			r := m[0].OwnerRules[0]
			if r.Field != tc.field || r.Claim != tc.claim || r.Provider != tc.prov || r.Remappable() != tc.remap {
				t.Errorf("got %+v remap=%v", r, r.Remappable())
			}
		})
	}
}

func TestNonOwnerRulesAndCommentsAreIgnored(t *testing.T) {
	m := parseOne(t, `
# type Hidden @model @auth(rules: [{allow: owner}]) { id: ID! }
type M @model @auth(rules: [{allow: private}, {allow: groups, groupsField: "g"}, {allow: public}]) {
  id: ID!
  secret: String @auth(rules: [{allow: owner, ownerField: "editors"}])
  editors: [String]
}
type NotAModel { id: ID! }`, v2)
	if len(m) != 1 {
		t.Fatalf("models: %d", len(m))
	}
	if len(m[0].OwnerRules) != 1 || m[0].OwnerRules[0].Field != "editors" || m[0].OwnerRules[0].On != "secret" {
		t.Errorf("rules: %+v", m[0].OwnerRules)
	}
	if f, _ := m[0].FieldByName("editors"); !f.List {
		t.Error("editors must be a list")
	}
}

func TestKeys(t *testing.T) {
	v1 := Options{TransformerVersion: 1}
	m := parseOne(t, `type Order @model @key(fields: ["customer", "placedAt", "id"]) @key(name: "ByStatus", fields: ["status"]) { id: ID! customer: String! placedAt: String! status: String! }`, v1)[0]
	if m.PrimaryKey.Partition != "customer" || m.PrimaryKey.SortAttribute() != "placedAt#id" {
		t.Errorf("v1 primary key: %+v", m.PrimaryKey)
	}
	if len(m.Indexes) != 1 || m.Indexes[0].Name != "ByStatus" || m.Indexes[0].SortAttribute() != "" {
		t.Errorf("v1 index: %+v", m.Indexes)
	}

	m = parseOne(t, `type Category @model @mapsTo(name: "Cat") {
  slug: String! @primaryKey(sortKeyFields: ["lang"])
  lang: String!
  parent: ID @index(sortKeyFields: ["a", "b"])
  box: ID @index(name: "custom")
  a: String
  b: String
}`, v2)[0]
	if m.TableBase != "Cat" {
		t.Errorf("@mapsTo: table base %q", m.TableBase)
	}
	if m.PrimaryKey.Partition != "slug" || m.PrimaryKey.SortAttribute() != "lang" {
		t.Errorf("v2 primary key: %+v", m.PrimaryKey)
	}
	if len(m.Indexes) != 2 || m.Indexes[0].Name != "categoriesByParentAndAAndB" || m.Indexes[0].SortAttribute() != "a#b" || m.Indexes[1].Name != "custom" {
		t.Errorf("v2 indexes: %+v", m.Indexes)
	}
	if m := parseOne(t, `type T @model { id: ID! }`, v2)[0]; m.PrimaryKey.Partition != "id" || len(m.PrimaryKey.SortFields) != 0 {
		t.Errorf("default key: %+v", m.PrimaryKey)
	}
}

func TestDefaultIndexNamePlurals(t *testing.T) {
	for model, want := range map[string]string{"Box": "boxesByX", "Story": "storiesByX", "Day": "daysByX", "Post": "postsByX", "Address": "addressesByX"} {
		if got := defaultIndexName(model, "x", nil); got != want {
			t.Errorf("%s: got %s, want %s", model, got, want)
		}
	}
}

func TestParseErrorNamesFileAndLine(t *testing.T) {
	_, err := Parse([]Source{{Name: "a.graphql", Body: "type A @model { id: ID! }"}, {Name: "b.graphql", Body: "type B @model {\n  id: ID!\n  oops(\n}"}}, v2)
	if err == nil || !strings.Contains(err.Error(), "b.graphql:4") {
		t.Errorf("got %v, want an error naming b.graphql:4", err)
	}
}

// TestOversizedSchemaIsRefused: Parse refuses sources over 4 MiB in all
// (Gen 2's string schemas arrive here without a file to stat).
func TestOversizedSchemaIsRefused(t *testing.T) {
	half := strings.Repeat("# padding\n", 2<<20/10+1)
	_, err := Parse([]Source{{Name: "a.graphql", Body: half}, {Name: "b.graphql", Body: half}}, v2)
	if err == nil || !strings.Contains(err.Error(), "more than 4 MiB") || !strings.Contains(err.Error(), "b.graphql") {
		t.Fatalf("Parse: %v, want a refusal naming b.graphql", err)
	}
}

// TestKeyFieldsMustBeNames: a key whose field list holds an object, a list
// or an empty string is refused with the model's name (the fuzzer found
// `@key(fields:[{}])` giving a model with an empty partition key).
func TestKeyFieldsMustBeNames(t *testing.T) {
	v1 := Options{TransformerVersion: 1, DefaultClaim: "username"}
	for _, tc := range []struct {
		body string
		opts Options
	}{
		{`type A @model @key(fields: [{}]) { id: ID! }`, v1},
		{`type A @model @key(fields: ["id", ""]) { id: ID! }`, v1},
		{`type A @model @key(name: "byX", fields: [["x"]]) { id: ID! x: String }`, v1},
		{`type A @model { id: ID! @primaryKey(sortKeyFields: [{a: 1}]) }`, v2},
		{`type A @model { id: ID! x: String @index(sortKeyFields: [""]) }`, v2},
	} {
		_, err := Parse([]Source{{Name: "schema.graphql", Body: tc.body}}, tc.opts)
		if err == nil || !strings.Contains(err.Error(), "model A") || !strings.Contains(err.Error(), "must list field names") {
			t.Errorf("%s: got %v, want a refusal naming model A", tc.body, err)
		}
	}
	models, err := Parse([]Source{{Name: "schema.graphql", Body: `type A @model @key(fields: ["pk", "sk"]) { pk: ID! sk: String }`}}, v1)
	if err != nil || len(models) != 1 || models[0].PrimaryKey.Partition != "pk" || len(models[0].PrimaryKey.SortFields) != 1 {
		t.Errorf("a well-formed @key: %+v, %v", models, err)
	}
}
