package cli

import (
	"context"
	"encoding/json"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/poolmigrate/poolmigrate/dynamo"
	"github.com/poolmigrate/poolmigrate/testbed/ddbproxy"
	"github.com/poolmigrate/poolmigrate/testbed/testenv"
)

// fieldsBed is the copy route's bed in the example project, whose Profile
// model stores identity ids in identityId (a String) and friendIds (a
// list), in its table on DynamoDB Local.
type fieldsBed struct {
	*storageBed
	table string
}

func newFieldsBed(t *testing.T) *fieldsBed {
	b := newStorageBed(t)
	dir := copyProject(t, "../examples/notes-app")
	replaceInFile(t, filepath.Join(dir, "amplify/backend/api/notesapi/schema.graphql"), "  userId: ID! @primaryKey\n  displayName: String\n",
		"  userId: ID! @primaryKey\n  displayName: String\n  identityId: String\n  friendIds: [String]\n")
	apiID := "idf" + testenv.RandomSuffix()
	replaceInFile(t, filepath.Join(dir, "amplify/backend/amplify-meta.json"), "n0tesapi1d", apiID)
	b.dir = dir
	f := &fieldsBed{storageBed: b, table: "UserProfile-" + apiID + "-dev"}
	createTable(t, b.env, f.table, "userId", "", nil)
	return f
}

func (f *fieldsBed) put(t *testing.T, items ...dynamo.Item) {
	t.Helper()
	for _, it := range items {
		if _, err := f.env.Dynamo.PutItem(context.Background(), &dynamodb.PutItemInput{TableName: &f.table, Item: it}); err != nil {
			t.Fatal(err)
		}
	}
}

// items are the table's items as the journal writes them, by userId.
func (f *fieldsBed) items(t *testing.T) map[string]string {
	t.Helper()
	out := map[string]string{}
	p := dynamodb.NewScanPaginator(f.env.Dynamo, &dynamodb.ScanInput{TableName: &f.table, ConsistentRead: aws.Bool(true)})
	for p.HasMorePages() {
		page, err := p.NextPage(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		for _, it := range page.Items {
			data, err := dynamo.EncodeItem(it)
			if err != nil {
				t.Fatal(err)
			}
			out[it["userId"].(*types.AttributeValueMemberS).Value] = string(data)
		}
	}
	return out
}

func ls(v ...string) types.AttributeValue {
	out := &types.AttributeValueMemberL{Value: []types.AttributeValue{}}
	for _, e := range v {
		out.Value = append(out.Value, s(e))
	}
	return out
}

// TestStorageCopyRewritesIdentityFields: storage copy rewrites the
// identity-id fields (a String and a list) after the files, for the users
// whose files it moved and by the identity map alone: dave's old id
// becomes his new one in his profile, in carol's (another user's old id)
// and in a list beside other values; alice's and bob's ids stay where
// they are (their claims are refused: a forged claim moves no value), as
// do a guest's value and garbage. An item the app changed between the read
// and the write is left and named (exit 1), and the next run takes it; a
// run killed between the journal and the write resumes; verify is clean
// (and lists a value put back to an old id); status shows the journal;
// rollback puts every value back exactly, but one the app changed since,
// which it leaves and names.
func TestStorageCopyRewritesIdentityFields(t *testing.T) {
	f := newFieldsBed(t)
	ctx := context.Background()
	dave, alice, bob := f.oldIDs["dave"], f.oldIDs["alice"], f.oldIDs["bob"]
	f.put(t,
		dynamo.Item{"userId": s("p-dave"), "identityId": s(dave), "friendIds": ls(alice, dave, "guest"), "_version": &types.AttributeValueMemberN{Value: "3"}},
		dynamo.Item{"userId": s("p-carol"), "identityId": s(dave)},
		dynamo.Item{"userId": s("p-alice"), "identityId": s(alice), "friendIds": ls(bob)},
		dynamo.Item{"userId": s("p-bob"), "identityId": s(bob)},
		dynamo.Item{"userId": s("p-erin"), "identityId": s("us-east-1:not-anyones"), "friendIds": ls()},
		dynamo.Item{"userId": s("p-gina"), "identityId": s(dave), "displayName": s("Gina"), "_version": &types.AttributeValueMemberN{Value: "1"}},
	)
	fields := []string{"--identity-field", "Profile.identityId", "--identity-field", "Profile.friendIds"}
	original := f.items(t)

	// The map first (the trio runs here), then a dry run counts.
	if out, stderr, err := f.run(t, f.users("storage", "copy", "--map-only", "--yes")...); err == nil || !strings.Contains(err.Error(), "claim(s) to an old identity refused") {
		t.Fatalf("copy --map-only: %v\n%s%s", err, out, stderr)
	}
	out, stderr, err := f.run(t, f.users(append([]string{"storage", "copy", "--dry-run", "--json"}, fields...)...)...)
	var dry storageCopyReport
	if jerr := json.Unmarshal([]byte(out), &dry); jerr != nil || dry.IdentityFields == nil || len(dry.IdentityFields.Tables) != 1 || dry.IdentityFields.Tables[0].Changed != 3 || dry.IdentityFields.Pairs != 1 {
		t.Fatalf("dry run: %v %v\n%s%s", err, jerr, out, stderr)
	}
	if got := f.items(t); !sameItems(got, original) {
		t.Fatal("the dry run wrote the table")
	}

	// The app edits gina's profile after the rewrite read it: the proxy
	// lets it in just before the rewrite's first batch reaches the table.
	var once sync.Once
	var ginaByApp string
	proxy, err := ddbproxy.New(os.Getenv("AWS_ENDPOINT_URL_DYNAMODB"), ddbproxy.RefuseStatements(func(stmt string) *ddbproxy.Refusal {
		if strings.Contains(stmt, f.table) {
			once.Do(func() {
				_, err := f.env.Dynamo.UpdateItem(ctx, &dynamodb.UpdateItemInput{TableName: &f.table, Key: dynamo.Item{"userId": s("p-gina")},
					UpdateExpression: aws.String("SET displayName = :n, #v = :v"), ExpressionAttributeNames: map[string]string{"#v": "_version"},
					ExpressionAttributeValues: dynamo.Item{":n": s("Gina B."), ":v": &types.AttributeValueMemberN{Value: "2"}}})
				if err != nil {
					t.Error(err)
				}
				ginaByApp = f.items(t)["p-gina"]
			})
		}
		return nil
	}))
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(proxy)
	defer srv.Close()
	endpoint := os.Getenv("AWS_ENDPOINT_URL_DYNAMODB")
	t.Setenv("AWS_ENDPOINT_URL_DYNAMODB", srv.URL)
	out, stderr, err = f.run(t, f.users(append([]string{"storage", "copy", "--yes", "--json"}, fields...)...)...)
	os.Setenv("AWS_ENDPOINT_URL_DYNAMODB", endpoint)
	var rep storageCopyReport
	if jerr := json.Unmarshal([]byte(out), &rep); jerr != nil || rep.IdentityFields == nil || len(rep.IdentityFields.Tables) != 1 {
		t.Fatalf("copy: %v %v\n%s%s", err, jerr, out, stderr)
	}
	tr := rep.IdentityFields.Tables[0]
	if tr.Changed != 2 || tr.Conflicts != 1 || tr.Failed != 0 || !strings.Contains(strings.Join(tr.Problems, "\n"), "item userId=p-gina changed while the remap ran; left alone (run storage copy again") {
		t.Errorf("first run: %+v", tr)
	}
	if err == nil || !strings.Contains(err.Error(), "1 changed while the rewrite ran") || ExitCode(err) != 1 {
		t.Errorf("copy with gina changed meanwhile: %v, want exit 1 naming the rewrite", err)
	}
	var daveNew string
	for _, e := range rep.Map.Entries {
		if e.OldUsername == "dave" {
			daveNew = e.New
		}
	}
	got := f.items(t)
	if got["p-gina"] != ginaByApp || ginaByApp == "" {
		t.Errorf("gina's profile is not as the app left it: %s, the app wrote %s", got["p-gina"], ginaByApp)
	}
	for id, want := range map[string][]string{
		"p-dave":  {`"identityId":{"S":"` + daveNew + `"}`, `"friendIds":{"L":[{"S":"` + alice + `"},{"S":"` + daveNew + `"},{"S":"guest"}]}`, `"_version":{"N":"4"}`},
		"p-carol": {`"identityId":{"S":"` + daveNew + `"}`},
	} {
		for _, w := range want {
			if !strings.Contains(got[id], w) {
				t.Errorf("%s holds %s, want %s in it", id, got[id], w)
			}
		}
	}
	// Nothing else moved: the refused claims' ids stay, and no value
	// names a new id but dave's.
	for _, id := range []string{"p-alice", "p-bob", "p-erin"} {
		if got[id] != original[id] {
			t.Errorf("%s changed: %s, was %s", id, got[id], original[id])
		}
	}

	// The app creates a profile naming dave meanwhile; a run killed
	// between the journal and the write, then resumed, takes it and gina's.
	f.put(t, dynamo.Item{"userId": s("p-hank"), "friendIds": ls(dave, "x")})
	bin := buildFaultBinary(t)
	cmd := exec.Command(bin, append(f.users(append([]string{"storage", "copy", "--yes"}, fields...)...), "--bucket", f.bucket)...)
	cmd.Dir, cmd.Env = f.dir, append(os.Environ(), dynamoFaultEnv+"=journaled:batch:1")
	kout, _ := cmd.CombinedOutput()
	if ws, ok := cmd.ProcessState.Sys().(syscall.WaitStatus); !ok || !ws.Signaled() || ws.Signal() != syscall.SIGKILL {
		t.Fatalf("the run to be killed was not (%v)\n%s", cmd.ProcessState, kout)
	}
	if got := f.items(t); got["p-hank"] == "" || strings.Contains(got["p-hank"], daveNew) || strings.Contains(got["p-gina"], daveNew) {
		t.Fatalf("the killed run wrote before it was killed: %v", got)
	}
	out, stderr, err = f.run(t, f.users(append([]string{"storage", "copy", "--yes", "--json"}, fields...)...)...)
	var again storageCopyReport
	if jerr := json.Unmarshal([]byte(out), &again); jerr != nil || again.IdentityFields == nil || again.IdentityFields.Tables[0].Changed != 2 || again.IdentityFields.Tables[0].Conflicts != 0 ||
		!strings.Contains(err.Error(), "claim(s) to an old identity refused") {
		t.Fatalf("resume: %v %v\n%s%s", err, jerr, out, stderr)
	}
	got = f.items(t)
	if !strings.Contains(got["p-hank"], `{"S":"`+daveNew+`"},{"S":"x"}`) || !strings.Contains(got["p-gina"], `"identityId":{"S":"`+daveNew+`"}`) || !strings.Contains(got["p-gina"], `"_version":{"N":"3"}`) {
		t.Errorf("after the resume hank %s, gina %s", got["p-hank"], got["p-gina"])
	}
	expectJournalExact(t, f.env, filepath.Join(f.dir, ".poolmigrate", "storage", "identity-fields", "copy.journal.jsonl"))
	if fi, err := os.Stat(filepath.Join(f.dir, ".poolmigrate", "storage", "identity-fields", "copy.journal.jsonl")); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("the field journal: %v", err)
	}

	out, stderr, err = f.run(t, f.users(append([]string{"storage", "verify", "--json"}, fields...)...)...)
	var v storageVerifyReport
	if jerr := json.Unmarshal([]byte(out), &v); jerr != nil || !v.OK || len(v.IdentityFields) != 2 || v.IdentityFields[0].Scanned != 7 {
		t.Errorf("verify: %v %v\n%s%s", err, jerr, out, stderr)
	}
	out, stderr, err = runStatus(t, f.storageBed)
	if err != nil || !strings.Contains(out, "Identity-field journal ") || !strings.Contains(out, "3 runs") || !strings.Contains(out, "last run finished") {
		t.Errorf("status: %v\n%s%s", err, out, stderr)
	}

	// A worker copies its share of the files and leaves the fields, saying
	// so.
	out, stderr, err = f.run(t, f.users(append([]string{"storage", "copy", "--worker", "0/2", "--yes", "--json"}, fields...)...)...)
	var worker storageCopyReport
	if jerr := json.Unmarshal([]byte(out), &worker); jerr != nil || worker.IdentityFields != nil || !strings.Contains(worker.IdentityFieldsSkipped, "without --worker") {
		t.Errorf("copy --worker 0/2: %v %v\n%s%s", err, jerr, out, stderr)
	}

	// The app sets carol's profile back to dave's old id: verify lists it.
	f.put(t, dynamo.Item{"userId": s("p-carol"), "identityId": s(dave)})
	out, _, err = f.run(t, f.users(append([]string{"storage", "verify"}, fields...)...)...)
	if err == nil || !strings.Contains(err.Error(), "1 identity-field value(s) still name an old identity id") || !strings.Contains(out, "OLD  userId=p-carol  identityId = "+dave) {
		t.Errorf("verify with carol's old value back: %v\n%s", err, out)
	}

	// Rollback puts every value back exactly, but carol's (the app gives
	// it a value of its own after the rewrite), which it leaves and names.
	carolByApp := dynamo.Item{"userId": s("p-carol"), "identityId": s("us-east-1:set-by-the-app")}
	f.put(t, carolByApp)
	out, stderr, err = f.run(t, "storage", "rollback", "--dry-run")
	if err != nil || !strings.Contains(out, "copy.journal.jsonl: 4 identity-field writes would be undone") {
		t.Errorf("rollback --dry-run: %v\n%s%s", err, out, stderr)
	}
	out, stderr, err = f.run(t, "storage", "rollback", "--yes")
	if err == nil || ExitCode(err) != 1 || !strings.Contains(out, "left ") || !strings.Contains(out, "item userId=p-carol changed since") {
		t.Fatalf("rollback: %v\n%s%s", err, out, stderr)
	}
	want := map[string]string{}
	for id, it := range original {
		want[id] = it
	}
	want["p-gina"] = ginaByApp
	hank, _ := dynamo.EncodeItem(dynamo.Item{"userId": s("p-hank"), "friendIds": ls(dave, "x")})
	want["p-hank"] = string(hank)
	carol, _ := dynamo.EncodeItem(carolByApp)
	want["p-carol"] = string(carol)
	if got := f.items(t); !sameItems(got, want) {
		t.Errorf("after rollback\n%v\nwant\n%v", got, want)
	}
	if _, err := os.Stat(filepath.Join(f.dir, ".poolmigrate", "storage", "identity-fields", "copy.journal.jsonl")); err != nil {
		t.Errorf("the journal of a rollback that left a value must stay: %v", err)
	}
}

func sameItems(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}

// TestStorageIdentityFieldUsage: --identity-field is checked against the
// schema before any call, and needs a project.
func TestStorageIdentityFieldUsage(t *testing.T) {
	users := []string{"--backup", "b.jsonl", "--target-pool", "us-east-1_abc", "--old-identity-pool", "us-east-1:00000000-0000-0000-0000-000000000001", "--new-identity-pool", "us-east-1:00000000-0000-0000-0000-000000000002"}
	for name, c := range map[string]struct {
		dir  string
		args []string
		want string
	}{
		"not a field":  {"../examples/notes-app", append([]string{"storage", "copy", "--identity-field", "Profile.nope"}, users...), "model Profile declares no field nope"},
		"owner field":  {"../examples/notes-app", append([]string{"storage", "verify", "--identity-field", "Profile.userId"}, users...), "is an owner field"},
		"no project":   {t.TempDir(), append([]string{"storage", "copy", "--bucket", "b", "--identity-field", "Profile.identityId"}, users...), "needs the project's schema"},
		"not Type.fld": {"../examples/notes-app", append([]string{"storage", "copy", "--identity-field", "identityId"}, users...), "write it as Type.field"},
	} {
		_, _, err := runApp(t, c.dir, nil, c.args...)
		if err == nil || !strings.Contains(err.Error(), c.want) || ExitCode(err) != 2 {
			t.Errorf("%s: %v, want a usage error containing %q", name, err, c.want)
		}
	}
}
