package amplifygen2

import (
	"os"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"github.com/poolmigrate/poolmigrate/migration"
)

// owner is an owner field as the plan reports it.
type owner struct {
	field, claim string
	list, remap  bool
	keyOf        string
	declared     bool
}

func ownersOf(m migration.Model) []owner {
	var out []owner
	for _, of := range m.OwnerFields {
		out = append(out, owner{of.Field, of.Claim, of.List, of.Remap, strings.Join(of.KeyOf, ","), of.Declared})
	}
	return out
}

func loadPlan(t *testing.T, dir string, opts Options) *migration.Plan {
	t.Helper()
	p, err := Load(os.DirFS(dir), dir)
	if err != nil {
		t.Fatal(err)
	}
	return BuildPlan(p, opts)
}

func TestPlanOfTheExample(t *testing.T) {
	pl := loadPlan(t, "../examples/gen2-app", Options{APIID: "x7kq2m4n5bdwfh3pzrcvtljy6a"})
	if pl.Generation != 2 || len(pl.APIs) != 1 || len(pl.Auth) != 1 {
		t.Fatalf("plan: generation %d, %d APIs, %d auth", pl.Generation, len(pl.APIs), len(pl.Auth))
	}
	want := map[string]struct {
		table, pk string
		owners    []owner
	}{
		"Note":    {"Note-x7kq2m4n5bdwfh3pzrcvtljy6a-NONE", "id", []owner{{"owner", "sub::username", false, true, "", false}}},
		"Comment": {"Comment-x7kq2m4n5bdwfh3pzrcvtljy6a-NONE", "id", []owner{{"owner", "username", false, true, "", false}, {"author", "username", false, true, "", true}}},
		"Profile": {"Profile-x7kq2m4n5bdwfh3pzrcvtljy6a-NONE", "userId", []owner{{"userId", "sub", false, true, "primary", true}}},
		"Board":   {"Board-x7kq2m4n5bdwfh3pzrcvtljy6a-NONE", "id", []owner{{"owner", "sub::username", false, true, "", false}, {"editors", "sub::username", true, true, "", true}}},
		"Invite":  {"Invite-x7kq2m4n5bdwfh3pzrcvtljy6a-NONE", "id", []owner{{"email", "email", false, false, "invitesByEmail", true}}},
		"Tag":     {"Tag-x7kq2m4n5bdwfh3pzrcvtljy6a-NONE", "id", nil},
	}
	models := pl.APIs[0].Models
	if len(models) != len(want) {
		t.Fatalf("%d models, want %d", len(models), len(want))
	}
	for _, m := range models {
		w, ok := want[m.Type]
		if !ok {
			t.Errorf("unexpected model %s", m.Type)
			continue
		}
		if m.Table != w.table || m.PrimaryKey.Partition != w.pk {
			t.Errorf("%s: table %s key %s, want %s key %s", m.Type, m.Table, m.PrimaryKey.Partition, w.table, w.pk)
		}
		got := ownersOf(m)
		if len(got) != len(w.owners) {
			t.Errorf("%s: owners %+v, want %+v", m.Type, got, w.owners)
			continue
		}
		for i := range got {
			if got[i] != w.owners[i] {
				t.Errorf("%s: owner %+v, want %+v", m.Type, got[i], w.owners[i])
			}
		}
	}
	codes := warningCodes(pl)
	for _, c := range []string{"OWNER_CLAIM_EMAIL", "OWNER_FIELD_IS_KEY", "OUTPUTS_MISSING"} {
		if !codes[c] {
			t.Errorf("no %s warning in %v", c, codes)
		}
	}
	if codes["API_ID_UNKNOWN"] {
		t.Error("API_ID_UNKNOWN although --api-id named the API")
	}
}

func warningCodes(pl *migration.Plan) map[string]bool {
	out := map[string]bool{}
	for _, w := range pl.Warnings {
		out[w.Code] = true
	}
	return out
}

func TestPlanWithoutAPIIDNamesNoTable(t *testing.T) {
	pl := loadPlan(t, "../examples/gen2-app", Options{})
	for _, m := range pl.APIs[0].Models {
		if m.Table != "" {
			t.Errorf("%s: table %q without an API id", m.Type, m.Table)
		}
	}
	if !warningCodes(pl)["API_ID_UNKNOWN"] {
		t.Error("no API_ID_UNKNOWN warning")
	}
}

func TestPlanOfAnAppMovedFromGen1KeepsItsTables(t *testing.T) {
	for _, tc := range []struct {
		name, branch, apiID string
		todo                string
		warning             string
	}{
		{"the branch mapped", "main", "", "Todo-k3bq7vb2xnhvzjbyl4mgqnjnba-main", ""},
		{"the only mapping assumed", "", "", "Todo-k3bq7vb2xnhvzjbyl4mgqnjnba-main", "TABLE_MAPPING_BRANCH_ASSUMED"},
		{"a sandbox gets new tables", "sandbox", "newapiid", "Todo-newapiid-NONE", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			pl := loadPlan(t, "testdata/migrated", Options{Branch: tc.branch, APIID: tc.apiID})
			var todo, project migration.Model
			for _, m := range pl.APIs[0].Models {
				switch m.Type {
				case "Todo":
					todo = m
				case "Project":
					project = m
				}
			}
			if todo.Table != tc.todo {
				t.Errorf("Todo's table %q, want %q", todo.Table, tc.todo)
			}
			if got := ownersOf(project); len(got) != 1 || got[0] != (owner{"members", "sub::username", true, true, "", true}) {
				t.Errorf("Project's owners %+v", got)
			}
			if tc.warning != "" && !warningCodes(pl)[tc.warning] {
				t.Errorf("no %s warning", tc.warning)
			}
		})
	}
}

func TestOutputsGiveThePoolAndRegion(t *testing.T) {
	fsys := fstest.MapFS{
		"amplify/backend.ts":       {Data: []byte("export {}\n")},
		"amplify/auth/resource.ts": {Data: []byte("import { defineAuth } from '@aws-amplify/backend';\nexport const auth = defineAuth({ loginWith: { email: true }, triggers: { preSignUp: {} as any } });\n")},
		"amplify_outputs.json":     {Data: []byte(`{"version":"1.4","auth":{"user_pool_id":"eu-west-1_AbC","aws_region":"eu-west-1","username_attributes":["email"],"groups":[{"ADMINS":{"precedence":0}}]},"data":{"url":"https://x.appsync-api.eu-west-1.amazonaws.com/graphql","aws_region":"eu-west-1"}}`)},
	}
	p, err := Load(fsys, "/app")
	if err != nil {
		t.Fatal(err)
	}
	pl := BuildPlan(p, Options{})
	if pl.Region != "eu-west-1" || pl.Auth[0].UserPoolID != "eu-west-1_AbC" {
		t.Errorf("region %q pool %q", pl.Region, pl.Auth[0].UserPoolID)
	}
	if len(pl.Auth[0].Triggers) != 1 || pl.Auth[0].Triggers[0] != "preSignUp" || !warningCodes(pl)["AUTH_TRIGGERS"] {
		t.Errorf("triggers %v, warnings %v", pl.Auth[0].Triggers, warningCodes(pl))
	}
	if p.Outputs.DataURL == "" || len(p.Outputs.Groups) != 1 || p.Outputs.Groups[0] != "ADMINS" {
		t.Errorf("outputs %+v", p.Outputs)
	}
	if pl2 := BuildPlan(p, Options{Region: "us-west-2"}); pl2.Region != "us-west-2" {
		t.Errorf("--region did not win: %q", pl2.Region)
	}
}

func TestResourceFilesThatCannotBeRead(t *testing.T) {
	defer func(d time.Duration) { evalTimeout = d }(evalTimeout)
	evalTimeout = 300 * time.Millisecond
	for name, body := range map[string]string{
		"a syntax error":     "export const data = defineData({ schema: a.schema({ Todo: a.model({ }) }",
		"no defineData":      "export const x = 1;",
		"a missing import":   "import { s } from './nowhere';\nexport const data = s;",
		"a loop that hangs":  "while (true) {}",
		"a throwing builder": "throw new Error('boom');",
	} {
		t.Run(name, func(t *testing.T) {
			fsys := fstest.MapFS{
				"amplify/backend.ts":       {Data: []byte("export {}\n")},
				"amplify/data/resource.ts": {Data: []byte(body)},
			}
			if _, err := Load(fsys, "/app"); err == nil || !strings.Contains(err.Error(), DataPath) {
				t.Errorf("Load: %v, want an error naming %s", err, DataPath)
			}
		})
	}
}
