package amplifygen2

import (
	"context"
	"encoding/json"
	"os"
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

	sdl, err := asm.Asset("model-schema.graphql")
	if err != nil {
		t.Fatal(err)
	}
	synthModels, err := schema.Parse([]schema.Source{{Name: "model-schema.graphql", Body: string(sdl)}},
		schema.Options{TransformerVersion: 2, DefaultClaim: amplifyproj.ClaimSubUsername})
	if err != nil {
		t.Fatal(err)
	}
	if len(synthModels) != len(p.Data.Models) {
		t.Fatalf("the synthesized schema has %d models, the reader %d", len(synthModels), len(p.Data.Models))
	}
	pl := BuildPlan(p, Options{APIID: "api"})
	for i, sm := range synthModels {
		mine := p.Data.Models[i]
		if sm.Name != mine.Name {
			t.Fatalf("model %d: synthesized %s, read %s", i, sm.Name, mine.Name)
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
		// The table the data stack creates has the key and indexes the
		// plan reports.
		table := tableOf(t, asm, sm.Name)
		pm := pl.APIs[0].Models[i]
		if got := table.key(); got != pm.PrimaryKey.Partition+"/"+pm.PrimaryKey.Sort {
			t.Errorf("%s: the table's key is %s, the plan says %s/%s", sm.Name, got, pm.PrimaryKey.Partition, pm.PrimaryKey.Sort)
		}
		var planIdx []string
		for _, ix := range pm.Indexes {
			planIdx = append(planIdx, ix.Name+"="+ix.Partition+"/"+ix.Sort)
		}
		sort.Strings(planIdx)
		if got, want := strings.Join(table.indexes(), " "), strings.Join(planIdx, " "); got != want {
			t.Errorf("%s: the table's indexes are %q, the plan says %q", sm.Name, got, want)
		}
		if !strings.HasPrefix(table.nameParts(), sm.Name+"-|-NONE") {
			t.Errorf("%s: the table is named %s, not <Model>-<apiId>-NONE", sm.Name, table.nameParts())
		}
	}

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
