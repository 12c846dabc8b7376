package cli

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/poolmigrate/poolmigrate/dynamo"
	"github.com/poolmigrate/poolmigrate/testbed/testenv"
)

// earlyBed is dave, who had an identity O with files through the old pool
// and signed in to the new pool before the link, so that his new login has
// an identity of its own, N, with a file saved since; storage link (run
// with the test bed's password minters) finishes him.
type earlyBed struct {
	*linkBed
	old, own string // dave's O and N
}

func newEarlyBed(t *testing.T, dir string, conflict bool) *earlyBed {
	b := &earlyBed{linkBed: newLinkBed(t, dir, "dave")}
	b.old = b.had["dave"]
	b.newUser(t, "dave", "dave")
	b.own = b.newID(t, "dave")
	testenv.PutObjects(t, b.s3, b.bucket, testenv.S3Object{Key: "private/" + b.own + "/since.txt", Body: []byte("dave since")})
	if conflict {
		testenv.PutObjects(t, b.s3, b.bucket, testenv.S3Object{Key: "private/" + b.own + "/doc.txt", Body: []byte("dave's other doc")})
	}
	b.useTool(t, nil)
	return b
}

// link runs storage link over the bed's bucket.
func (b *earlyBed) link(t *testing.T, args ...string) (string, string, error) {
	t.Helper()
	args = append([]string{"storage", "link", "--backup", b.backup, "--target-pool", b.newPool, "--identity-pool", b.ip, "--bucket", b.bucket, "--path", "private/{entity_id}/", "--yes"}, args...)
	return runApp(t, b.dir, nil, args...)
}

func exitCode(err error) int {
	var exit interface{ ExitCode() int }
	if errors.As(err, &exit) {
		return exit.ExitCode()
	}
	if err != nil {
		return -1
	}
	return 0
}

// TestStorageLinkExitsOneOnConflicts: dave's new login's own identity
// holds doc.txt, and so does his old identity, with another body: the
// link keeps the old one's and does not copy the other. storage link
// names him and exits 1, on this run and on the next (which asks nothing),
// as storage copy does for its conflicts, until the conflict is resolved
// by hand; the report keeps its fields.
func TestStorageLinkExitsOneOnConflicts(t *testing.T) {
	b := newEarlyBed(t, t.TempDir(), true)
	for run := 1; run <= 2; run++ {
		out, stderr, err := b.link(t)
		if exitCode(err) != 1 || !strings.Contains(err.Error(), "conflicts: dave") {
			t.Fatalf("run %d: %v, want exit 1 naming dave's conflict\n%s%s", run, err, out, stderr)
		}
		if !strings.Contains(out, "1 copied") || !strings.Contains(out, "conflict private/"+b.old+"/doc.txt") {
			t.Errorf("run %d text report:\n%s", run, out)
		}
	}
	if keys := testenv.ListKeys(t, b.env.S3(t), b.bucket, "private/"+b.old+"/"); len(keys) != 2 {
		t.Errorf("dave's identity holds %v, want his doc and since.txt", keys)
	}
	// Resolved by hand (the other version put over his doc): exit 0.
	testenv.PutObjects(t, b.env.S3(t), b.bucket, testenv.S3Object{Key: "private/" + b.old + "/doc.txt", Body: []byte("dave's other doc")})
	if out, stderr, err := b.link(t); err != nil {
		t.Fatalf("after the conflict was resolved: %v\n%s%s", err, out, stderr)
	}
	// Without a conflict the same link exits 0.
	clean := newEarlyBed(t, t.TempDir(), false)
	if out, stderr, err := clean.link(t); err != nil {
		t.Fatalf("clean link: %v\n%s%s", err, out, stderr)
	}
}

// TestStorageRollbackUndoesLinkCopies: storage link copied since.txt and
// since2.txt from dave's new login's own identity to his old one, where
// doc.txt was before. Then dave changed since2.txt and saved after.txt
// there. storage rollback deletes exactly since.txt (the copy as made),
// leaves since2.txt (changed since: named), doc.txt (there before) and
// after.txt (put there since), says what it cannot undo (the link), and
// dave's new login still answers his old identity. A second rollback
// deletes nothing more.
func TestStorageRollbackUndoesLinkCopies(t *testing.T) {
	b := newEarlyBed(t, t.TempDir(), false)
	s3c := b.env.S3(t)
	testenv.PutObjects(t, s3c, b.bucket, testenv.S3Object{Key: "private/" + b.own + "/since2.txt", Body: []byte("dave since 2")})
	if out, stderr, err := b.link(t); err != nil {
		t.Fatalf("link: %v\n%s%s", err, out, stderr)
	}
	at := "private/" + b.old + "/"
	if keys := testenv.ListKeys(t, s3c, b.bucket, at); len(keys) != 3 {
		t.Fatalf("after the link dave's identity holds %v", keys)
	}
	testenv.PutObjects(t, s3c, b.bucket, testenv.S3Object{Key: at + "since2.txt", Body: []byte("changed by dave")}, testenv.S3Object{Key: at + "after.txt", Body: []byte("new")})
	rb := []string{"storage", "rollback", "--bucket", b.bucket, "--path", "private/{entity_id}/", "--yes"}
	dry, stderr, err := runApp(t, b.dir, nil, append(rb, "--dry-run")...)
	if err != nil || !strings.Contains(dry, "early/"+b.bucket+".journal.jsonl: 2 copies would be deleted") {
		t.Fatalf("dry run: %v\n%s%s", err, dry, stderr)
	}
	out, stderr, err := runApp(t, b.dir, nil, rb...)
	if err != nil {
		t.Fatalf("rollback: %v\n%s%s", err, out, stderr)
	}
	if !strings.Contains(out, "2 copies, 1 deleted") || !strings.Contains(out, "since2.txt") || !strings.Contains(out, "Not undone:") || !strings.Contains(out, "a login cannot be moved back") {
		t.Errorf("rollback report:\n%s", out)
	}
	got := strings.Join(testenv.ListKeys(t, s3c, b.bucket, at), ",")
	if want := at + "after.txt," + at + "doc.txt," + at + "since2.txt"; got != want {
		t.Errorf("dave's identity holds %s, want %s", got, want)
	}
	if keys := testenv.ListKeys(t, s3c, b.bucket, "private/"+b.own+"/"); len(keys) != 2 {
		t.Errorf("the identity copied from holds %v, want both files (kept until retire)", keys)
	}
	if id := b.env.IdentityID(t, b.ip, map[string]string{b.newProv: b.env.IDToken(t, b.newPool, b.newClient, "dave", "Link-Pass-1!")}); id != b.old {
		t.Errorf("dave's new login answers %s, want %s (the link stays)", id, b.old)
	}
	out, stderr, err = runApp(t, b.dir, nil, rb...)
	if strings.Contains(out, "1 deleted") || len(testenv.ListKeys(t, s3c, b.bucket, at)) != 3 {
		t.Errorf("second rollback: %v\n%s%s", err, out, stderr)
	}
}

// profileBed is the notes-app project whose Profile model stores identity
// ids in identityId (a String) and friendIds (a list), its table on
// DynamoDB Local.
func profileBed(t *testing.T) (dir, table string) {
	dir = copyProject(t, "../examples/notes-app")
	replaceInFile(t, filepath.Join(dir, "amplify/backend/api/notesapi/schema.graphql"), "  userId: ID! @primaryKey\n  displayName: String\n",
		"  userId: ID! @primaryKey\n  displayName: String\n  identityId: String\n  friendIds: [String]\n")
	apiID := "lnk" + testenv.RandomSuffix()
	replaceInFile(t, filepath.Join(dir, "amplify/backend/amplify-meta.json"), "n0tesapi1d", apiID)
	return dir, "UserProfile-" + apiID + "-dev"
}

// profile is an item's identityId and friendIds, as "id|f1,f2".
func profile(t *testing.T, env *testenv.Env, table, userID string) string {
	t.Helper()
	out, err := env.Dynamo.GetItem(context.Background(), &dynamodb.GetItemInput{TableName: &table, Key: dynamo.Item{"userId": s(userID)}, ConsistentRead: aws.Bool(true)})
	if err != nil {
		t.Fatal(err)
	}
	id, _ := out.Item["identityId"].(*types.AttributeValueMemberS)
	v := ""
	if id != nil {
		v = id.Value
	}
	var fs []string
	if l, ok := out.Item["friendIds"].(*types.AttributeValueMemberL); ok {
		for _, e := range l.Value {
			fs = append(fs, e.(*types.AttributeValueMemberS).Value)
		}
	}
	return v + "|" + strings.Join(fs, ",")
}

// TestStorageLinkRewritesIdentityFields: dave signed in to the new pool
// early and his app stored his new login's own identity N in his profile
// and in carol's friend list. storage link copies his files; then, with
// --identity-field, a dry run counts the two items and writes nothing; a
// run (every user in the journal: no one is asked) rewrites N to his old
// identity O, by the link journal's pairs alone: erin's value (an id the
// journal does not name, though it sits in the same field) and the guest
// entry are left; the values are journaled in
// identity-fields/link.journal.jsonl and checked (no value names N); a
// value the app puts back to N is found by the next run and rewritten;
// storage rollback puts the values back.
func TestStorageLinkRewritesIdentityFields(t *testing.T) {
	dir, table := profileBed(t)
	b := newEarlyBed(t, dir, false)
	createTable(t, b.env, table, "userId", "", nil)
	put := func(items ...dynamo.Item) {
		for _, it := range items {
			if _, err := b.env.Dynamo.PutItem(context.Background(), &dynamodb.PutItemInput{TableName: &table, Item: it}); err != nil {
				t.Fatal(err)
			}
		}
	}
	const stranger = "us-east-1:00000000-0000-4000-8000-00000000e1e1"
	put(dynamo.Item{"userId": s("p-dave"), "identityId": s(b.own)},
		dynamo.Item{"userId": s("p-carol"), "friendIds": ls(b.own, "guest")},
		dynamo.Item{"userId": s("p-erin"), "identityId": s(stranger)})
	fields := []string{"--identity-field", "Profile.identityId", "--identity-field", "Profile.friendIds"}
	if out, stderr, err := b.link(t); err != nil {
		t.Fatalf("link: %v\n%s%s", err, out, stderr)
	}
	out, stderr, err := b.link(t, append(fields, "--dry-run", "--json")...)
	var dry storageLinkReport
	if jerr := json.Unmarshal([]byte(out), &dry); err != nil || jerr != nil || dry.IdentityFields == nil || !dry.IdentityFields.DryRun ||
		len(dry.IdentityFields.Tables) != 1 || dry.IdentityFields.Tables[0].Changed != 2 || dry.IdentityFields.Pairs != 1 {
		t.Fatalf("dry run: %v %v\n%s%s", err, jerr, out, stderr)
	}
	if got := profile(t, b.env, table, "p-dave"); got != b.own+"|" {
		t.Fatalf("the dry run wrote: %s", got)
	}
	out, stderr, err = b.link(t, fields...)
	if err != nil {
		t.Fatalf("link --identity-field: %v\n%s%s", err, out, stderr)
	}
	want := map[string]string{"p-dave": b.old + "|", "p-carol": "|" + b.old + ",guest", "p-erin": stranger + "|"}
	for k, w := range want {
		if got := profile(t, b.env, table, k); got != w {
			t.Errorf("%s: %s, want %s", k, got, w)
		}
	}
	journal := filepath.Join(dir, ".poolmigrate/storage/identity-fields/link.journal.jsonl")
	if fi, err := os.Stat(journal); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("field journal %s: %v", journal, err)
	}
	if !strings.Contains(out, "2 changed") || !strings.Contains(out, "0 values still name an old identity id") {
		t.Errorf("text report:\n%s", out)
	}
	// The app writes N back (a cached value): the next run finds and
	// rewrites it.
	put(dynamo.Item{"userId": s("p-dave"), "identityId": s(b.own)})
	if out, stderr, err := b.link(t, fields...); err != nil || profile(t, b.env, table, "p-dave") != b.old+"|" {
		t.Fatalf("re-run: %v\n%s%s", err, out, stderr)
	}
	out, stderr, err = runApp(t, dir, nil, "storage", "rollback", "--bucket", b.bucket, "--path", "private/{entity_id}/", "--yes")
	if err != nil || !strings.Contains(out, "link.journal.jsonl") {
		t.Fatalf("rollback: %v\n%s%s", err, out, stderr)
	}
	if got := profile(t, b.env, table, "p-carol"); got != "|"+b.own+",guest" {
		t.Errorf("rollback left p-carol %s", got)
	}
}
