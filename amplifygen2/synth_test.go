package amplifygen2

import (
	"context"
	"encoding/json"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"

	"github.com/poolmigrate/poolmigrate/amplifyproj"
	"github.com/poolmigrate/poolmigrate/schema"
	"github.com/poolmigrate/poolmigrate/testbed/gen2synth"
)

// TestReadingAgreesWithTheSynthesizedSchema proves the reader's source of
// owner rules: the real toolchain synthesizes the example, and the model
// schema it hands the transformer (the model-schema.graphql asset), read
// by the Gen 1 schema reader with the transformer's default claim, gives
// the same models, keys and owner fields with the same stored forms as
// reading data/resource.ts; the data stacks' tables have the keys and
// indexes the reader reports; and model introspection, which says
// "cognito:username" for a default owner rule and for an explicit one
// alike, could not have told them apart.
func TestReadingAgreesWithTheSynthesizedSchema(t *testing.T) {
	tc := gen2synth.Require(t)
	dir := "../examples/gen2-app"
	p, err := Load(os.DirFS(dir), dir)
	if err != nil {
		t.Fatal(err)
	}
	asm, err := tc.Synth(context.Background(), dir, gen2synth.Backend{Namespace: "gen2notes", Name: "main", Type: "branch"})
	if err != nil {
		t.Fatal(err)
	}
	defer asm.Remove()

	// Without poolmigrate's retain block Amplify deploys the pool to be
	// deleted with the stack or on replacement.
	if pools := asm.OfType("AWS::Cognito::UserPool"); len(pools) != 1 || pools[0].DeletionPolicy != "Delete" || pools[0].UpdateReplacePolicy != "Delete" {
		t.Errorf("the pool as Amplify synthesizes it: %+v", pools)
	}

	agreeWithSynth(t, asm, p)

	// Why not introspection: it gives the default rule (Note, stores
	// sub::username) and the explicit cognito:username rule (Comment,
	// stores the username) the same identityClaim.
	intro, err := asm.Asset("modelIntrospectionSchema.json")
	if err != nil {
		t.Fatal(err)
	}
	var mi struct {
		Models map[string]struct {
			Attributes []struct {
				Type       string `json:"type"`
				Properties struct {
					Rules []map[string]any `json:"rules"`
				} `json:"properties"`
			} `json:"attributes"`
		} `json:"models"`
	}
	if err := json.Unmarshal(intro, &mi); err != nil {
		t.Fatal(err)
	}
	claimOf := func(model, field string) any {
		for _, a := range mi.Models[model].Attributes {
			for _, r := range a.Properties.Rules {
				if r["ownerField"] == field {
					return r["identityClaim"]
				}
			}
		}
		return nil
	}
	if a, b := claimOf("Note", "owner"), claimOf("Comment", "owner"); a != "cognito:username" || a != b {
		t.Errorf("introspection says %v for Note.owner and %v for Comment.owner (the reader does not rely on it either way)", a, b)
	}
}

// agreeWithSynth checks a project's reading against its synthesis: the
// model schema the transformer reads (the model-schema.graphql asset,
// read by the Gen 1 schema reader with the transformer's default claim)
// gives the same models, keys, indexes and owner rules with the same
// stored forms; every table the data stacks create is a model of the
// plan, with the key, indexes and name (<Model>-<apiId>-NONE) the plan
// reports; and the models the transformer adds itself (an AI Kit
// conversation route's) store their owner field as the plan says, in the
// create mutation's authorization resolver.
func agreeWithSynth(t *testing.T, asm *gen2synth.Assembly, p *Project) {
	t.Helper()
	sdl, err := asm.Asset("model-schema.graphql")
	if err != nil {
		t.Fatal(err)
	}
	synthModels, err := schema.Parse([]schema.Source{{Name: "model-schema.graphql", Body: string(sdl)}},
		schema.Options{TransformerVersion: 2, DefaultClaim: amplifyproj.ClaimSubUsername})
	if err != nil {
		t.Fatal(err)
	}
	read := map[string]Model{}
	for _, m := range p.Data.Models {
		read[m.Name] = m
	}
	declared := map[string]bool{}
	for _, sm := range synthModels {
		declared[sm.Name] = true
		mine, ok := read[sm.Name]
		if !ok {
			t.Errorf("the synthesized schema has model %s, the reader not", sm.Name)
			continue
		}
		if keyString(sm.PrimaryKey) != keyString(mine.PrimaryKey) {
			t.Errorf("%s: primary key %s synthesized, %s read", sm.Name, keyString(sm.PrimaryKey), keyString(mine.PrimaryKey))
		}
		if got, want := ownerRules(mine.Model), ownerRules(sm); got != want {
			t.Errorf("%s: owner rules read\n  %s\nsynthesized\n  %s", sm.Name, got, want)
		}
		if got, want := indexString(mine.Indexes), indexString(sm.Indexes); got != want {
			t.Errorf("%s: indexes read %s, synthesized %s", sm.Name, got, want)
		}
	}
	pl := BuildPlan(p, Options{APIID: "api"})
	tables := asm.OfType("Custom::AmplifyDynamoDBTable")
	if len(tables) != len(pl.APIs[0].Models) {
		var ids []string
		for _, tb := range tables {
			ids = append(ids, tb.LogicalID)
		}
		t.Errorf("the data stacks create %d tables (%s), the plan has %d models", len(tables), strings.Join(ids, " "), len(pl.APIs[0].Models))
	}
	for _, pm := range pl.APIs[0].Models {
		// The table the data stack creates has the key and indexes the
		// plan reports.
		table := tableOf(t, asm, pm.Type)
		if got := table.key(); got != pm.PrimaryKey.Partition+"/"+pm.PrimaryKey.Sort {
			t.Errorf("%s: the table's key is %s, the plan says %s/%s", pm.Type, got, pm.PrimaryKey.Partition, pm.PrimaryKey.Sort)
		}
		var planIdx []string
		for _, ix := range pm.Indexes {
			planIdx = append(planIdx, ix.Name+"="+ix.Partition+"/"+ix.Sort)
		}
		sort.Strings(planIdx)
		if got, want := strings.Join(table.indexes(), " "), strings.Join(planIdx, " "); got != want {
			t.Errorf("%s: the table's indexes are %q, the plan says %q", pm.Type, got, want)
		}
		if !strings.HasPrefix(table.nameParts(), pm.Type+"-|-NONE") {
			t.Errorf("%s: the table is named %s, not <Model>-<apiId>-NONE", pm.Type, table.nameParts())
		}
		if declared[pm.Type] {
			continue
		}
		// A model the transformer adds: what its create resolver puts in
		// the owner field is what the plan says it stores.
		vtl := createAuthResolver(t, asm, pm.Type)
		for _, of := range pm.OwnerFields {
			if got := storedClaim(vtl, of.Field); got != of.Claim {
				t.Errorf("%s.%s: the create resolver stores %q, the plan says %q", pm.Type, of.Field, got, of.Claim)
			}
		}
	}
}

// createAuthResolver is the VTL of the authorization step of a model's
// create mutation (the Mutationcreate<Model>auth0Function).
func createAuthResolver(t *testing.T, asm *gen2synth.Assembly, model string) string {
	t.Helper()
	for _, f := range asm.OfType("AWS::AppSync::FunctionConfiguration") {
		if f.Properties["Name"] != "Mutationcreate"+model+"auth0Function" {
			continue
		}
		loc, _ := f.Properties["RequestMappingTemplateS3Location"].(map[string]any)
		uri, _ := loc["Fn::Sub"].(string)
		b, err := os.ReadFile(filepath.Join(asm.Dir, "asset."+path.Base(uri)))
		if err != nil {
			t.Fatalf("%s's create resolver: %v", model, err)
		}
		return string(b)
	}
	t.Fatalf("no create resolver of %s in the data stacks", model)
	return ""
}

// storedClaim reads from a create authorization resolver which claim it
// puts into an owner field the input leaves out: "sub::username" when it
// joins the sub and username claims, else the one claim it reads.
func storedClaim(vtl, field string) string {
	put := regexp.MustCompile(`\$ctx\.args\.input\.put\("` + regexp.QuoteMeta(field) + `", \$(ownerClaim\d+)\)`).FindStringSubmatch(vtl)
	if put == nil {
		return ""
	}
	v := put[1]
	if regexp.MustCompile(`#set\( \$` + v + ` = "\$` + v + `::\$currentClaim\d+" \)`).MatchString(vtl) {
		return amplifyproj.ClaimSubUsername
	}
	if m := regexp.MustCompile(`#set\( \$` + v + ` = \$util\.defaultIfNull\(\$ctx\.identity\.claims\.get\("([^"]+)"\)`).FindStringSubmatch(vtl); m != nil {
		return m[1]
	}
	return ""
}

// TestEveryConstructAgreesWithTheSynthesizedStacks: the constructs beyond
// the example's — a schema written as a GraphQL string, AI Kit routes
// (a.conversation, a.generation) beside models, a.combine and a custom
// identityClaim — are read as the real toolchain synthesizes them.
func TestEveryConstructAgreesWithTheSynthesizedStacks(t *testing.T) {
	tc := gen2synth.Require(t)
	for _, name := range []string{"sdl", "ai"} {
		t.Run(name, func(t *testing.T) {
			dir := filepath.Join("testdata", name)
			p, err := Load(os.DirFS(dir), dir)
			if err != nil {
				t.Fatal(err)
			}
			abs, _ := filepath.Abs(dir)
			asm, err := tc.Synth(context.Background(), abs, gen2synth.Backend{Namespace: "gen2" + name, Name: "main", Type: "branch"})
			if err != nil {
				t.Fatal(err)
			}
			defer asm.Remove()
			agreeWithSynth(t, asm, p)
		})
	}
}

func keyString(k schema.Key) string { return k.Partition + "/" + k.SortAttribute() }

func ownerRules(m schema.Model) string {
	var out []string
	for _, r := range m.OwnerRules {
		out = append(out, r.Field+":"+r.Claim+":"+r.Provider+":"+strings.Join(r.Operations, "+"))
	}
	return strings.Join(out, " ")
}

func indexString(ix []schema.Index) string {
	var out []string
	for _, i := range ix {
		out = append(out, i.Name+"="+keyString(i.Key))
	}
	sort.Strings(out)
	return strings.Join(out, " ")
}

type synthTable struct{ props map[string]any }

func tableOf(t *testing.T, asm *gen2synth.Assembly, model string) synthTable {
	t.Helper()
	for _, r := range asm.OfType("Custom::AmplifyDynamoDBTable") {
		if r.LogicalID == model+"Table" {
			return synthTable{r.Properties}
		}
	}
	t.Fatalf("no table of model %s in the data stacks", model)
	return synthTable{}
}

func keyOfSchema(ks any) string {
	var hash, rng string
	for _, e := range ks.([]any) {
		m := e.(map[string]any)
		if m["keyType"] == "HASH" {
			hash = m["attributeName"].(string)
		} else {
			rng = m["attributeName"].(string)
		}
	}
	return hash + "/" + rng
}

func (s synthTable) key() string { return keyOfSchema(s.props["keySchema"]) }

func (s synthTable) indexes() []string {
	var out []string
	gsis, _ := s.props["globalSecondaryIndexes"].([]any)
	for _, g := range gsis {
		m := g.(map[string]any)
		out = append(out, m["indexName"].(string)+"="+keyOfSchema(m["keySchema"]))
	}
	sort.Strings(out)
	return out
}

// nameParts renders the table name's Fn::Join with the API id left out.
func (s synthTable) nameParts() string {
	j, _ := s.props["tableName"].(map[string]any)["Fn::Join"].([]any)
	var parts []string
	for _, p := range j[1].([]any) {
		if str, ok := p.(string); ok {
			parts = append(parts, str)
		}
	}
	return strings.Join(parts, "|")
}
