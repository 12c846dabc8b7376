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
	suffix := testenv.RandomSuffix()
	for i := 0; i < 27; i++ {
		id := fmt.Sprintf("decoy%s%013d", suffix, i)
		if err := testenv.PlantAppSyncAPI(id, "other", "https://"+id+".appsync-api.us-east-1.amazonaws.com/graphql", nil); err != nil {
			t.Fatal(err)
		}
	}
	apiID := "zz" + suffix + strings.Repeat("q", 16)
	url := "https://" + suffix + "endpoint.appsync-api.us-east-1.amazonaws.com/graphql"
	kept := "Board-" + suffix + "gen1-main"
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
