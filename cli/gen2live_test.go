package cli

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/poolmigrate/poolmigrate/testbed/testenv"
)

// TestPlanGen2Live finds what the files cannot say from AWS: the API by
// amplify_outputs.json's data.url among more APIs than one page lists,
// each model's table from AppSync's data sources (a table kept from Gen 1
// under another name included), the tables' keys, and the pool.
func TestPlanGen2Live(t *testing.T) {
	env := testenv.Require(t)
	testenv.RequireAppSync(t)
	dir := copyGen2App(t)
	pool := env.NewPool(t, testenv.PoolOptions{})
	apiID, url, kept := plantGen2Backend(t, env)
	outputs := strings.NewReplacer("eu-central-1_Q7bW3nL2x", pool, "https://u3nq4lrpwbbzzmhwdxqvhbq7ue.appsync-api.eu-central-1.amazonaws.com/graphql", url, "eu-central-1", "us-east-1").Replace(gen2Outputs)
	if err := os.WriteFile(filepath.Join(dir, "amplify_outputs.json"), []byte(outputs), 0o644); err != nil {
		t.Fatal(err)
	}

	out, stderr, err := runApp(t, dir, nil, "plan", "--json", "--live")
	if err != nil {
		t.Fatalf("plan --live: %v\n%s", err, stderr)
	}
	p := decodePlan(t, out)
	if p.APIs[0].APIID != apiID {
		t.Fatalf("API id %q, want %q", p.APIs[0].APIID, apiID)
	}
	for _, m := range p.APIs[0].Models {
		want := m.Type + "-" + apiID + "-NONE"
		if m.Type == "Board" {
			want = kept
		}
		if m.Table != want {
			t.Errorf("%s: table %s, want %s", m.Type, m.Table, want)
		}
	}
	codes := warningCodes(p)
	for _, c := range []string{"API_ID_DISCOVERED", "TABLE_FROM_APPSYNC"} {
		if codes[c] == "" {
			t.Errorf("no %s warning: %v", c, codes)
		}
	}
	for _, c := range []string{"API_ID_UNKNOWN", "TABLE_NOT_FOUND", "TABLE_KEY_MISMATCH", "INDEX_NOT_FOUND", "POOL_NOT_FOUND"} {
		if codes[c] != "" {
			t.Errorf("%s: %s", c, codes[c])
		}
	}
	if !strings.Contains(out, `"pools": [`) || !strings.Contains(out, pool) {
		t.Errorf("the pool was not read:\n%s", out)
	}

	// An API id AppSync does not know is reported, not guessed around.
	out, _, err = runApp(t, dir, nil, "plan", "--json", "--live", "--api-id", "nosuchapi0000000000000000a")
	if err != nil {
		t.Fatal(err)
	}
	if codes := warningCodes(decodePlan(t, out)); codes["API_NOT_FOUND"] == "" {
		t.Errorf("no API_NOT_FOUND: %v", codes)
	}
}

// plantGen2Backend plants what a Gen 2 deploy leaves for AppSync: 27 other
// APIs (more than a page), the app's API with a <Model>Table data source
// per model of examples/gen2-app, and their tables (Board's kept from
// Gen 1). It returns the API's id and GraphQL URL, and Board's table.
func plantGen2Backend(t *testing.T, env *testenv.Env) (apiID, url, kept string) {
	t.Helper()
	suffix := testenv.RandomSuffix()
	for i := 0; i < 27; i++ {
		id := fmt.Sprintf("decoy%s%013d", suffix, i)
		if err := testenv.PlantAppSyncAPI(id, "other", "https://"+id+".appsync-api.us-east-1.amazonaws.com/graphql", nil); err != nil {
			t.Fatal(err)
		}
	}
	apiID = "zz" + suffix + strings.Repeat("q", 16)
	url = "https://" + suffix + "endpoint.appsync-api.us-east-1.amazonaws.com/graphql"
	kept = "Board-" + suffix + "gen1-main"
	var sources []testenv.AppSyncDataSource
	for _, m := range []string{"Note", "Comment", "Profile", "Board", "Invite", "Tag"} {
		table := m + "-" + apiID + "-NONE"
		if m == "Board" {
			table = kept
		}
		pk, gsi := "id", map[string][2]string(nil)
		switch m {
		case "Profile":
			pk = "userId"
		case "Comment":
			gsi = map[string][2]string{"byNote": {"noteId", "postedAt"}}
		case "Invite":
			gsi = map[string][2]string{"invitesByEmail": {"email", ""}}
		}
		createTable(t, env, table, pk, "", gsi)
		sources = append(sources, testenv.AppSyncDataSource{Name: m + "Table", Type: "AMAZON_DYNAMODB", TableName: table})
	}
	if err := testenv.PlantAppSyncAPI(apiID, "amplifyData", url, sources); err != nil {
		t.Fatal(err)
	}
	return apiID, url, kept
}

// TestPlanGen2LiveFindsTheAPIByItsStacks: when data.url names no API (an
// amplify_outputs.json from before the API was replaced, or none of its
// data section), --live follows the pool to the stack that holds it, that
// stack to its root, and takes the root's awsAppsyncApiId output; a pool
// no stack holds leaves the id unknown, saying why.
func TestPlanGen2LiveFindsTheAPIByItsStacks(t *testing.T) {
	env := testenv.Require(t)
	testenv.RequireAppSync(t)
	dir := copyGen2App(t)
	pool := env.NewPool(t, testenv.PoolOptions{})
	apiID, _, kept := plantGen2Backend(t, env)
	stale := "https://" + testenv.RandomSuffix() + "gone.appsync-api.us-east-1.amazonaws.com/graphql"
	outputs := strings.NewReplacer("eu-central-1_Q7bW3nL2x", pool, "https://u3nq4lrpwbbzzmhwdxqvhbq7ue.appsync-api.eu-central-1.amazonaws.com/graphql", stale, "eu-central-1", "us-east-1").Replace(gen2Outputs)
	if err := os.WriteFile(filepath.Join(dir, "amplify_outputs.json"), []byte(outputs), 0o644); err != nil {
		t.Fatal(err)
	}
	plan := func() (planJSON, map[string]string) {
		t.Helper()
		out, stderr, err := runApp(t, dir, nil, "plan", "--json", "--live")
		if err != nil {
			t.Fatalf("plan --live: %v\n%s", err, stderr)
		}
		p := decodePlan(t, out)
		return p, warningCodes(p)
	}

	// No stack holds the pool yet: the id stays unknown, and both ways
	// say why.
	p, codes := plan()
	if p.APIs[0].APIID != "" {
		t.Errorf("API id %q with no API at the URL and no stack", p.APIs[0].APIID)
	}
	if w := codes["API_ID_NOT_FOUND"]; !strings.Contains(w, stale) || !strings.Contains(w, "no CloudFormation stack holds user pool "+pool) {
		t.Errorf("API_ID_NOT_FOUND: %q", w)
	}

	// The stacks of a Gen 2 deploy: the root, with the API id among its
	// outputs, and the nested auth stack holding the pool.
	suffix := testenv.RandomSuffix()
	root := "amplify-app" + suffix + "-main-branch-" + suffix
	auth := root + "-auth179371D7-" + strings.ToUpper(suffix)
	arn := func(name string) string {
		return "arn:aws:cloudformation:us-east-1:000000000000:stack/" + name + "/" + suffix + "-0000-4000-8000-000000000000"
	}
	tmpl := `{"Resources":{"amplifyAuthUserPool4BA7F805":{"Type":"AWS::Cognito::UserPool","DeletionPolicy":"Delete"}}}`
	if err := testenv.PlantStackBody(auth, arn(auth), nil, map[string]string{"amplifyAuthUserPool4BA7F805": pool}, tmpl); err != nil {
		t.Fatal(err)
	}
	if err := testenv.PlantStackBody(root, arn(root), map[string]string{"awsAppsyncApiId": apiID, "userPoolId": pool}, map[string]string{"auth179371D7": arn(auth)}, ""); err != nil {
		t.Fatal(err)
	}
	p, codes = plan()
	if p.APIs[0].APIID != apiID {
		t.Fatalf("API id %q, want %q from the root stack (warnings %v)", p.APIs[0].APIID, apiID, codes)
	}
	if w := codes["API_ID_DISCOVERED"]; !strings.Contains(w, root) || !strings.Contains(w, "awsAppsyncApiId") {
		t.Errorf("API_ID_DISCOVERED: %q", w)
	}
	for _, c := range []string{"API_ID_NOT_FOUND", "API_ID_UNKNOWN", "TABLE_NOT_FOUND"} {
		if codes[c] != "" {
			t.Errorf("%s: %s", c, codes[c])
		}
	}
	for _, m := range p.APIs[0].Models {
		want := m.Type + "-" + apiID + "-NONE"
		if m.Type == "Board" {
			want = kept
		}
		if m.Table != want {
			t.Errorf("%s: table %s, want %s", m.Type, m.Table, want)
		}
	}
}
