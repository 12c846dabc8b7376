package cli

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	cogtypes "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider/types"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/poolmigrate/poolmigrate/testbed/testenv"
)

// copyProject copies an example project into a temporary folder so a test
// can change it.
func copyProject(t *testing.T, src string) string {
	t.Helper()
	dst := t.TempDir()
	defer func() {
		// The example's AWS profile exists on no test machine: the SDK's
		// default chain (the test bed's environment) must be used.
		_ = os.Remove(filepath.Join(dst, "amplify/.config/local-aws-info.json"))
	}()
	err := testenv.CopyTree(src, dst)
	if err != nil {
		t.Fatal(err)
	}
	return dst
}

func replaceInFile(t *testing.T, path, old, new string) {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(data), old) {
		t.Fatalf("%s does not contain %q", path, old)
	}
	if err := os.WriteFile(path, []byte(strings.ReplaceAll(string(data), old, new)), 0o644); err != nil {
		t.Fatal(err)
	}
}

func createTable(t *testing.T, env *testenv.Env, name, pk, sk string, gsi map[string][2]string) {
	t.Helper()
	attrs := map[string]bool{pk: true}
	in := &dynamodb.CreateTableInput{
		TableName:   &name,
		BillingMode: types.BillingModePayPerRequest,
		KeySchema:   []types.KeySchemaElement{{AttributeName: aws.String(pk), KeyType: types.KeyTypeHash}},
	}
	if sk != "" {
		attrs[sk] = true
		in.KeySchema = append(in.KeySchema, types.KeySchemaElement{AttributeName: aws.String(sk), KeyType: types.KeyTypeRange})
	}
	for ix, k := range gsi {
		g := types.GlobalSecondaryIndex{
			IndexName:  aws.String(ix),
			KeySchema:  []types.KeySchemaElement{{AttributeName: aws.String(k[0]), KeyType: types.KeyTypeHash}},
			Projection: &types.Projection{ProjectionType: types.ProjectionTypeAll},
		}
		attrs[k[0]] = true
		if k[1] != "" {
			attrs[k[1]] = true
			g.KeySchema = append(g.KeySchema, types.KeySchemaElement{AttributeName: aws.String(k[1]), KeyType: types.KeyTypeRange})
		}
		in.GlobalSecondaryIndexes = append(in.GlobalSecondaryIndexes, g)
	}
	for a := range attrs {
		in.AttributeDefinitions = append(in.AttributeDefinitions, types.AttributeDefinition{AttributeName: aws.String(a), AttributeType: types.ScalarAttributeTypeS})
	}
	if _, err := env.Dynamo.CreateTable(context.Background(), in); err != nil {
		t.Fatalf("create table %s: %v", name, err)
	}
	t.Cleanup(func() {
		_, _ = env.Dynamo.DeleteTable(context.Background(), &dynamodb.DeleteTableInput{TableName: &name})
	})
}

// notesTables creates the example project's tables for an API id, all but
// the Tag table, so a missing table is reported.
func notesTables(t *testing.T, env *testenv.Env, apiID string) {
	notesTablesIn(t, env, apiID, "dev")
}

// notesTablesIn makes the notes app's tables of API apiID in Amplify env
// envName.
func notesTablesIn(t *testing.T, env *testenv.Env, apiID, envName string) {
	createTable(t, env, "Note-"+apiID+"-"+envName, "id", "", nil)
	createTable(t, env, "Vehicle-"+apiID+"-"+envName, "id", "", map[string][2]string{"byUser": {"userID", "plate"}})
	createTable(t, env, "Notebook-"+apiID+"-"+envName, "id", "", nil)
	createTable(t, env, "UserProfile-"+apiID+"-"+envName, "userId", "", nil)
	createTable(t, env, "Task-"+apiID+"-"+envName, "id", "", map[string][2]string{"byProject": {"project", "status#owner"}})
}

// deployedNotesApp makes the example project copied to dir look deployed
// on the test bed: its amplify-meta.json names pool and a fresh API id
// starting with prefix, whose tables it creates. It returns the API id.
func deployedNotesApp(t *testing.T, env *testenv.Env, dir, pool, prefix string) string {
	apiID := prefix + testenv.RandomSuffix()
	meta := filepath.Join(dir, "amplify/backend/amplify-meta.json")
	replaceInFile(t, meta, "us-east-1_NotesOld1", pool)
	replaceInFile(t, meta, "n0tesapi1d", apiID)
	notesTables(t, env, apiID)
	return apiID
}

func warningCodes(p planJSON) map[string]string {
	codes := map[string]string{}
	for _, w := range p.Warnings {
		codes[w.Code] += w.Message + "\n"
	}
	return codes
}

func TestPlanLive(t *testing.T) {
	env := testenv.Require(t)
	dir := copyProject(t, "../examples/notes-app")
	// One trigger the project declares (its function, as Amplify deploys
	// it for env dev), one attached by hand.
	const fnARN = "arn:aws:lambda:us-east-1:111122223333:function:"
	pool := env.NewPool(t, testenv.PoolOptions{Custom: []string{"prev_sub_id"}, Lambda: &cogtypes.LambdaConfigType{
		PostConfirmation:   aws.String(fnARN + "notesappauthPostConfirmation-dev"),
		PreTokenGeneration: aws.String(fnARN + "addClaimsByHand"),
	}})
	apiID := deployedNotesApp(t, env, dir, pool, "live")

	out, stderr, err := runApp(t, dir, nil, "plan", "--live", "--json")
	if err != nil {
		t.Fatalf("plan --live: %v\n%s", err, stderr)
	}
	p := decodePlan(t, out)
	var live struct {
		Live struct {
			Pools []struct {
				ID         string `json:"userPoolId"`
				Attributes []struct {
					Name string `json:"name"`
				} `json:"attributes"`
			} `json:"pools"`
			Tables []struct {
				Table  string `json:"table"`
				Exists bool   `json:"exists"`
			} `json:"tables"`
		} `json:"live"`
	}
	if err := decodeInto(out, &live); err != nil {
		t.Fatal(err)
	}
	if len(live.Live.Pools) != 1 || live.Live.Pools[0].ID != pool {
		t.Errorf("live pools: %+v, want %s", live.Live.Pools, pool)
	}
	exists := map[string]bool{}
	for _, tb := range live.Live.Tables {
		exists[tb.Table] = tb.Exists
	}
	if !exists["Vehicle-"+apiID+"-dev"] || exists["Tag-"+apiID+"-dev"] || len(exists) != 6 {
		t.Errorf("table existence: %v", exists)
	}
	codes := warningCodes(p)
	if !strings.Contains(codes["TABLE_NOT_FOUND"], "Tag-"+apiID+"-dev") {
		t.Errorf("missing Tag table not reported: %v", codes)
	}
	if codes["INDEX_NOT_FOUND"] != "" || codes["TABLE_KEY_MISMATCH"] != "" {
		t.Errorf("unexpected key warnings: %v", codes)
	}
	if w := codes["TRIGGER_NOT_IN_PROJECT"]; !strings.Contains(w, "addClaimsByHand") || !strings.Contains(w, "PreTokenGeneration") || strings.Contains(w, "notesappauthPostConfirmation") {
		t.Errorf("TRIGGER_NOT_IN_PROJECT should name the hand-attached trigger only: %q", w)
	}
}

func TestPlanLiveFindsAPIIDWithoutMeta(t *testing.T) {
	env := testenv.Require(t)
	dir := copyProject(t, "../examples/notes-app")
	if err := os.Remove(filepath.Join(dir, "amplify/backend/amplify-meta.json")); err != nil {
		t.Fatal(err)
	}
	// Discovery reads every table name in the account, and other tests
	// (in this process and beside it) make notes-app tables of their own
	// API ids: an env of this test's own keeps theirs out of the match.
	envName := ownEnv(t, dir)
	apiID := "disc" + testenv.RandomSuffix()
	notesTablesIn(t, env, apiID, envName)

	out, stderr, err := runApp(t, dir, nil, "plan", "--live", "--json")
	if err != nil {
		t.Fatalf("plan --live: %v\n%s", err, stderr)
	}
	p := decodePlan(t, out)
	if p.APIs[0].APIID != apiID {
		t.Fatalf("API id %q, want %q discovered from table names; warnings %v", p.APIs[0].APIID, apiID, p.Warnings)
	}
	for _, m := range p.APIs[0].Models {
		if !strings.HasSuffix(m.Table, "-"+apiID+"-"+envName) {
			t.Errorf("model %s table %q", m.Type, m.Table)
		}
	}
	codes := warningCodes(p)
	if codes["API_ID_DISCOVERED"] == "" || codes["POOL_ID_UNKNOWN"] == "" {
		t.Errorf("warnings: %v", codes)
	}
}

// ownEnv renames the copied project's env ("dev") to one of this test's
// own (lowercase letters, as Amplify env names are) and returns it.
func ownEnv(t *testing.T, dir string) string {
	t.Helper()
	var b strings.Builder
	for _, c := range testenv.RandomSuffix() {
		b.WriteRune('a' + c%26)
	}
	name := "t" + b.String()[:7]
	replaceInFile(t, filepath.Join(dir, "amplify/.config/local-env-info.json"), `"envName": "dev"`, `"envName": "`+name+`"`)
	replaceInFile(t, filepath.Join(dir, "amplify/team-provider-info.json"), `"dev":`, `"`+name+`":`)
	return name
}
