package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cognitoidentity"
	cip "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider"
	ctypes "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider/types"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/poolmigrate/poolmigrate/cognito"
	"github.com/poolmigrate/poolmigrate/testbed/testenv"
	"github.com/poolmigrate/poolmigrate/tokenmint/deploy"
	"github.com/poolmigrate/poolmigrate/trigger"
)

// storageBed is route 2 on the test bed: an old user pool and its identity
// pool, where alice, bob and dave signed in and keep files under
// private/{id}/ and protected/{id}/ and carol never did; a backup; a new
// user pool (sign-in by e-mail) with its own identity pool, into which
// carol and dave came as the import brings users, while alice's and bob's
// claims are swapped (each new user claims the other's old identity).
type storageBed struct {
	env            *testenv.Env
	dir, backup    string
	old, target    string
	oldIP, newIP   string
	bucket         string
	s3             *s3.Client
	oldIDs         map[string]string
	subs           map[string]string
	bootstrap, rie string
	newUsernames   map[string]string // old username -> new pool username
	onDeploy       func()
}

func newStorageBed(t *testing.T) *storageBed {
	t.Helper()
	rie := os.Getenv("POOLMIGRATE_TESTBED_RIE")
	if rie == "" {
		testenv.Skip(t, "the Lambda Runtime Interface Emulator is not installed: run testbed/testbed.sh up (or scripts/test.sh)")
	}
	env := testenv.Require(t)
	ctx := context.Background()
	b := &storageBed{env: env, dir: t.TempDir(), s3: testenv.S3Client(t), oldIDs: map[string]string{}, subs: map[string]string{}, rie: rie, newUsernames: map[string]string{}}
	b.old = env.NewPool(t, testenv.PoolOptions{AutoVerified: []ctypes.VerifiedAttributeType{ctypes.VerifiedAttributeTypeEmail}})
	appClient := env.NewSignInClient(t, b.old)
	b.oldIP = env.NewIdentityPool(t, false, testenv.UserPoolLogin{UserPoolID: b.old, ClientID: appClient})
	b.bucket = testenv.NewBucket(t, b.s3)
	provider := testenv.UserPoolProvider(env.Config.Region, b.old)
	for _, name := range []string{"alice", "bob", "carol", "dave"} {
		pw := "Pass-" + name + "-1!"
		b.subs[name] = env.NewSignInUser(t, b.old, name, pw, "email", name+"@example.com", "email_verified", "true")
		if name == "carol" {
			continue
		}
		id := env.IdentityID(t, b.oldIP, map[string]string{provider: env.IDToken(t, b.old, appClient, name, pw)})
		b.oldIDs[name] = id
		testenv.PutObjects(t, b.s3, b.bucket,
			testenv.S3Object{Key: "private/" + id + "/notes.txt", Body: []byte(name + "'s private notes"), ContentType: "text/plain", Tags: map[string]string{"owner": name}},
			testenv.S3Object{Key: "private/" + id + "/photos/1.jpg", Body: bytes.Repeat([]byte(name), 1000), ContentType: "image/jpeg", Metadata: map[string]string{"taken": "2024"}},
			testenv.S3Object{Key: "protected/" + id + "/avatar.png", Body: []byte(name + " avatar"), ContentType: "image/png"})
	}
	b.backup = filepath.Join(b.dir, "old.jsonl")
	if _, stderr, err := runApp(t, b.dir, nil, "backup", "--pool", b.old, "--out", b.backup); err != nil {
		t.Fatalf("backup: %v\n%s", err, stderr)
	}
	b.target = env.NewPool(t, testenv.PoolOptions{UsernameAttributes: []ctypes.UsernameAttributeType{ctypes.UsernameAttributeTypeEmail},
		AutoVerified: []ctypes.VerifiedAttributeType{ctypes.VerifiedAttributeTypeEmail}, Custom: []string{"prev_sub_id", "prev_username"}})
	b.newIP = env.NewIdentityPool(t, false, testenv.UserPoolLogin{UserPoolID: b.target, ClientID: env.NewSignInClient(t, b.target)})
	claimAs := map[string]string{"alice": "bob", "bob": "alice", "carol": "carol", "dave": "dave"}
	for _, name := range []string{"alice", "bob", "carol", "dave"} {
		as := claimAs[name]
		out, err := env.Local.AdminCreateUser(ctx, &cip.AdminCreateUserInput{UserPoolId: &b.target, Username: aws.String(name + "@example.com"),
			MessageAction: ctypes.MessageActionTypeSuppress, UserAttributes: []ctypes.AttributeType{
				{Name: aws.String("email"), Value: aws.String(name + "@example.com")}, {Name: aws.String("email_verified"), Value: aws.String("true")},
				{Name: aws.String(cognito.PrevSubAttr), Value: aws.String(b.subs[as])}, {Name: aws.String(cognito.PrevUsernameAttr), Value: aws.String(as)}}})
		if err != nil {
			t.Fatalf("create %s: %v", name, err)
		}
		b.newUsernames[name] = aws.ToString(out.User.Username)
	}
	// The function's code for this machine, which the test bed runs when
	// the trio is on a pool.
	src, err := trigger.FindSource(".")
	if err != nil {
		t.Fatal(err)
	}
	built, err := deploy.Build(ctx, src, t.TempDir(), runtime.GOARCH)
	if err != nil {
		t.Fatal(err)
	}
	b.bootstrap = built.Bootstrap
	return b
}

// run runs poolmigrate with the binary's token function source and the
// test bed running the function's code once it is deployed.
func (b *storageBed) run(t *testing.T, args ...string) (string, string, error) {
	t.Helper()
	var out, errb bytes.Buffer
	var mu sync.Mutex
	app := &App{Stdin: strings.NewReader(""), Stdout: &out, Stderr: &errb, Getenv: os.Getenv, Getwd: func() (string, error) { return b.dir, nil },
		TokenmintSource: os.DirFS(".."),
		trioDeployed: func(ctx context.Context, pool, function string) error {
			mu.Lock()
			defer mu.Unlock()
			if b.onDeploy != nil {
				b.onDeploy()
			}
			b.env.RunSharedFunction(t, b.rie, function, b.bootstrap)
			return nil
		}}
	args = append(args, "--bucket", b.bucket)
	err := app.Run(context.Background(), args)
	return out.String(), errb.String(), err
}

func (b *storageBed) users(args ...string) []string {
	return append(args, "--backup", b.backup, "--target-pool", b.target, "--old-identity-pool", b.oldIP, "--new-identity-pool", b.newIP)
}

// files lists a prefix's objects as key (relative to the prefix) → body.
func (b *storageBed) files(t *testing.T, prefix string) map[string]string {
	t.Helper()
	got := map[string]string{}
	for _, k := range testenv.ListKeys(t, b.s3, b.bucket, prefix) {
		o, err := b.s3.GetObject(context.Background(), &s3.GetObjectInput{Bucket: &b.bucket, Key: aws.String(k)})
		if err != nil {
			t.Fatal(err)
		}
		var buf bytes.Buffer
		_, _ = buf.ReadFrom(o.Body)
		o.Body.Close()
		got[strings.TrimPrefix(k, prefix)] = buf.String()
	}
	return got
}

func (b *storageBed) allKeys(t *testing.T) []string {
	keys := append(testenv.ListKeys(t, b.s3, b.bucket, "private/"), testenv.ListKeys(t, b.s3, b.bucket, "protected/")...)
	sort.Strings(keys)
	return keys
}

// TestStorageCopyRoute: storage copy puts dave's files under his new
// identity id (the one the new pool's login gets), carol (no old
// identity) gets none and the identity GetId made her in the old pool is
// deleted, alice and bob (swapped claims) are refused and nothing of
// theirs is copied anywhere; verify is clean, rollback leaves the bucket
// exactly as it was, and the trio and the tool's client are gone.
func TestStorageCopyRoute(t *testing.T) {
	b := newStorageBed(t)
	ctx := context.Background()
	before := b.allKeys(t)
	idAPI := b.env.CognitoIdentity(t)
	oldCount := func() int {
		out, err := idAPI.ListIdentities(ctx, &cognitoidentity.ListIdentitiesInput{IdentityPoolId: &b.oldIP, MaxResults: aws.Int32(60)})
		if err != nil {
			t.Fatal(err)
		}
		return len(out.Identities)
	}
	identitiesBefore := oldCount()

	out, stderr, err := b.run(t, b.users("storage", "copy", "--dry-run", "--json")...)
	var dry storageCopyReport
	if err == nil || json.Unmarshal([]byte(out), &dry) != nil || !dry.DryRun || len(dry.Unmapped) != 2 {
		t.Errorf("copy --dry-run: %v (want exit 1 for the refused claims), carol and dave unmapped\n%s%s", err, out, stderr)
	}
	if got := b.allKeys(t); strings.Join(got, ",") != strings.Join(before, ",") {
		t.Fatalf("the dry run changed the bucket: %v", got)
	}

	out, stderr, err = b.run(t, b.users("storage", "copy", "--yes", "--json")...)
	var rep storageCopyReport
	if jerr := json.Unmarshal([]byte(out), &rep); jerr != nil {
		t.Fatalf("copy: %v %v\n%s\n%s", err, jerr, out, stderr)
	}
	if err == nil || !strings.Contains(err.Error(), "claim(s) to an old identity refused") {
		t.Errorf("copy: %v, want exit 1 for the refused claims\n%s", err, stderr)
	}
	refused := map[string]bool{}
	for _, r := range rep.RefusedClaims {
		refused[r.Username] = true
	}
	if len(refused) != 2 || !refused[b.newUsernames["alice"]] || !refused[b.newUsernames["bob"]] {
		t.Errorf("refused %v, want alice's and bob's new users", rep.RefusedClaims)
	}
	if rep.Map == nil || len(rep.Map.Entries) != 2 || rep.Map.Created != 1 || rep.Map.Deleted != 1 {
		t.Fatalf("map %+v, want carol (created, deleted) and dave\n%s", rep.Map, stderr)
	}
	// The run mapped both: none is left "not mapped yet" (the list was
	// once read before the run and never refreshed).
	if len(rep.Unmapped) != 0 {
		t.Errorf("unmapped %v after the run mapped carol and dave", rep.Unmapped)
	}
	var daveNew string
	for _, e := range rep.Map.Entries {
		if e.OldUsername == "dave" {
			daveNew = e.New
			if e.Old != b.oldIDs["dave"] {
				t.Errorf("dave's old id %s, he had %s", e.Old, b.oldIDs["dave"])
			}
		}
	}
	if oldCount() != identitiesBefore {
		t.Errorf("the old identity pool has %d identities, had %d", oldCount(), identitiesBefore)
	}
	// Dave's files are under his new id, as they were.
	for _, p := range []string{"private/", "protected/"} {
		want, got := b.files(t, p+b.oldIDs["dave"]+"/"), b.files(t, p+daveNew+"/")
		if len(want) == 0 || strings.Join(keysOf(want), ",") != strings.Join(keysOf(got), ",") {
			t.Errorf("%s: dave had %v, has %v under his new id", p, keysOf(want), keysOf(got))
		}
		for k, v := range want {
			if got[k] != v {
				t.Errorf("%s%s: %q, want %q", p, k, got[k], v)
			}
		}
	}
	// Nothing else was written: alice's and bob's files are only where
	// they were.
	after := b.allKeys(t)
	if len(after) != len(before)+3 {
		t.Errorf("%d objects after the copy, %d before: only dave's 3 should be new\n%v", len(after), len(before), after)
	}
	for _, k := range after {
		if strings.Contains(k, b.oldIDs["alice"]) || strings.Contains(k, b.oldIDs["bob"]) || strings.Contains(k, b.oldIDs["dave"]) || strings.Contains(k, daveNew) {
			continue
		}
		t.Errorf("unexpected object %s", k)
	}

	mapFile, _ := os.ReadFile(rep.Map.Path)
	if fi, err := os.Stat(rep.Map.Path); err != nil || fi.Mode().Perm() != 0o600 || strings.Contains(out+stderr+string(mapFile), "eyJ") {
		t.Errorf("the map is not 0600 (%v) or a token was written out", err)
	}
	out, stderr, err = b.run(t, b.users("storage", "verify", "--json")...)
	var v storageVerifyReport
	if jerr := json.Unmarshal([]byte(out), &v); jerr != nil || !v.OK {
		t.Errorf("verify: %v %v\n%s\n%s", err, jerr, out, stderr)
	}

	// Again: the map is reused (no token, no trio) and nothing is copied twice.
	deployed := 0
	b.onDeploy = func() { deployed++ }
	out, stderr, err = b.run(t, b.users("storage", "copy", "--yes", "--json")...)
	var again storageCopyReport
	if json.Unmarshal([]byte(out), &again) != nil || again.Map.Asked != 0 || deployed != 0 || len(again.Buckets) != 1 || again.Buckets[0].Result == nil ||
		again.Buckets[0].Result.Copied != 0 || again.Buckets[0].Result.Done != 3 {
		t.Errorf("copy again: %v, deployed %d times\n%s%s", err, deployed, out, stderr)
	}

	// The trio and the tool's app client are gone from both pools.
	out, stderr, err = runStatus(t, b)
	if err != nil || strings.Contains(out, "attached (") {
		t.Errorf("status: %v\n%s%s", err, out, stderr)
	}
	for _, ip := range []string{b.oldIP, b.newIP} {
		d, err := idAPI.DescribeIdentityPool(ctx, &cognitoidentity.DescribeIdentityPoolInput{IdentityPoolId: &ip})
		if err != nil || len(d.CognitoIdentityProviders) != 1 {
			t.Errorf("identity pool %s keeps %d providers (%v)", ip, len(d.CognitoIdentityProviders), err)
		}
	}

	// A copy missing under the new id fails verify, naming it.
	missing := "private/" + daveNew + "/notes.txt"
	obj, _ := b.s3.GetObject(ctx, &s3.GetObjectInput{Bucket: &b.bucket, Key: &missing})
	var keep bytes.Buffer
	_, _ = keep.ReadFrom(obj.Body)
	obj.Body.Close()
	if _, err := b.s3.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: &b.bucket, Key: &missing}); err != nil {
		t.Fatal(err)
	}
	out, _, err = b.run(t, b.users("storage", "verify")...)
	if err == nil || !strings.Contains(out, "missing private/") {
		t.Errorf("verify with dave's notes gone: %v\n%s", err, out)
	}
	if _, err := b.s3.PutObject(ctx, &s3.PutObjectInput{Bucket: &b.bucket, Key: &missing, Body: bytes.NewReader(keep.Bytes()), ContentType: aws.String("text/plain")}); err != nil {
		t.Fatal(err)
	}

	out, stderr, err = b.run(t, "storage", "rollback", "--yes")
	if err != nil {
		t.Fatalf("rollback: %v\n%s%s", err, out, stderr)
	}
	// Exactly as before (the notes put back hold what the copy made, so
	// they go too).
	if got := b.allKeys(t); strings.Join(got, ",") != strings.Join(before, ",") {
		t.Errorf("after rollback %v, want %v", got, before)
	}

	// Two workers, each its share with a journal of its own, on the map
	// built before; verify reads both journals, rollback undoes both.
	for _, w := range []string{"0/2", "1/2"} {
		if out, stderr, err := b.run(t, b.users("storage", "copy", "--worker", w, "--yes")...); err == nil || !strings.Contains(err.Error(), "claim(s) to an old identity refused") {
			t.Fatalf("copy --worker %s: %v\n%s%s", w, err, out, stderr)
		}
	}
	if out, stderr, err := b.run(t, b.users("storage", "verify")...); err == nil || !strings.Contains(out, "OK: every migrated user's files") {
		t.Errorf("verify after the workers: %v (want exit 1 only for the refused claims)\n%s%s", err, out, stderr)
	}
	if out, stderr, err := b.run(t, "storage", "rollback", "--yes"); err != nil || strings.Count(out, "journal.jsonl") != 2 {
		t.Fatalf("rollback of the workers: %v\n%s%s", err, out, stderr)
	}
	if got := b.allKeys(t); strings.Join(got, ",") != strings.Join(before, ",") {
		t.Errorf("after the workers' rollback %v, want %v", got, before)
	}
}

func runStatus(t *testing.T, b *storageBed) (string, string, error) {
	return b.run(t, "storage", "status", "--backup", b.backup, "--target-pool", b.target)
}

func keysOf(m map[string]string) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// TestStorageCommandsReadTheProject: without --bucket, the storage
// commands take the project's buckets and per-identity paths (the
// example's notes bucket) and keep their state in its .poolmigrate.
func TestStorageCommandsReadTheProject(t *testing.T) {
	dir := copyProject(t, "../examples/notes-app")
	out, stderr, err := runApp(t, dir, nil, "storage", "status", "--json")
	var st storageStatusReport
	if err != nil || json.Unmarshal([]byte(out), &st) != nil {
		t.Fatalf("status: %v\n%s%s", err, out, stderr)
	}
	if st.Map.Exists || st.Map.Path != filepath.Join(dir, ".poolmigrate", "storage", "identity-map.jsonl") || len(st.Journals) != 0 || len(st.Tokenmint) != 0 {
		t.Errorf("status %+v", st)
	}
	if _, _, err := runApp(t, dir, nil, "storage", "rollback", "--yes"); err == nil || !strings.Contains(err.Error(), "no copy journal") {
		t.Errorf("rollback with nothing copied: %v", err)
	}
}

// TestStorageCopyUsage: what storage copy and verify refuse before any call.
func TestStorageCopyUsage(t *testing.T) {
	users := []string{"--backup", "b.jsonl", "--target-pool", "us-east-1_abc", "--old-identity-pool", "us-east-1:00000000-0000-0000-0000-000000000001", "--new-identity-pool", "us-east-1:00000000-0000-0000-0000-000000000002"}
	for name, c := range map[string]struct {
		args []string
		want string
	}{
		"no users":        {[]string{"storage", "copy"}, "needs --backup FILE"},
		"same pools":      {[]string{"storage", "verify", "--backup", "b", "--target-pool", "us-east-1_abc", "--old-identity-pool", "x", "--new-identity-pool", "x"}, "link route"},
		"map-only worker": {append([]string{"storage", "copy", "--map-only", "--worker", "0/2"}, users...), "--map-only builds the whole map"},
		"bad worker":      {append([]string{"storage", "copy", "--worker", "3/2"}, users...), "worker"},
		"extra":           {[]string{"storage", "copy", "x"}, "unexpected arguments"},
	} {
		_, _, err := runApp(t, "../examples/notes-app", nil, c.args...)
		if err == nil || !strings.Contains(err.Error(), c.want) || ExitCode(err) != 2 {
			t.Errorf("%s: %v, want a usage error containing %q", name, err, c.want)
		}
	}
}
