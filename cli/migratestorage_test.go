package cli

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cognitoidentity"
	cip "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider"
	ctypes "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider/types"
	"github.com/tidwall/sjson"

	"github.com/poolmigrate/poolmigrate/storage/identitymap"
	"github.com/poolmigrate/poolmigrate/testbed/amplifycli"
	"github.com/poolmigrate/poolmigrate/testbed/amplifysim"
	"github.com/poolmigrate/poolmigrate/testbed/testenv"
	"github.com/poolmigrate/poolmigrate/tokenmint/deploy"
	"github.com/poolmigrate/poolmigrate/trigger"
)

// trioApp runs poolmigrate in dir with the binary's token function source,
// the test bed running the function's code once it is deployed.
func trioApp(t *testing.T, env *testenv.Env, dir string) func(args ...string) (string, error) {
	t.Helper()
	rie := os.Getenv("POOLMIGRATE_TESTBED_RIE")
	if rie == "" {
		testenv.Skip(t, "the Lambda Runtime Interface Emulator is not installed: run testbed/testbed.sh up (or scripts/test.sh)")
	}
	src, err := trigger.FindSource(".")
	if err != nil {
		t.Fatal(err)
	}
	built, err := deploy.Build(context.Background(), src, t.TempDir(), runtime.GOARCH)
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	return func(args ...string) (string, error) {
		var out, errb bytes.Buffer
		app := &App{Stdin: strings.NewReader(""), Stdout: &out, Stderr: &errb, Getenv: os.Getenv, Getwd: func() (string, error) { return dir, nil },
			TokenmintSource: os.DirFS(".."),
			trioDeployed: func(ctx context.Context, pool, function string) error {
				mu.Lock()
				defer mu.Unlock()
				env.RunSharedFunction(t, rie, function, built.Bootstrap)
				return nil
			}}
		err := app.Run(context.Background(), args)
		return out.String() + errb.String(), err
	}
}

// TestMigrateKeepsFilesGen1: `migrate` takes the old identity ids before
// the push (which deletes the old identity pool: the test deletes it, as
// the simulated push does not), copies the files of a user who can sign in
// to the new pool after import to their new identity id, names the one
// who cannot yet as waiting, and a later `sync` moves that one once they
// have reset their password. The new pool's identity pool and the bucket
// are made by the test (the simulated push makes neither).
func TestMigrateKeepsFilesGen1(t *testing.T) {
	env := testenv.Require(t)
	amp := amplifycli.Require(t)
	ctx := context.Background()
	s3c := testenv.S3Client(t)
	dir := copyProject(t, "../examples/notes-app")
	run := trioApp(t, env, dir)

	old := env.NewPool(t, testenv.PoolOptions{AutoVerified: []ctypes.VerifiedAttributeType{ctypes.VerifiedAttributeTypeEmail}})
	oldClient := env.NewSignInClient(t, old)
	oldIP := env.NewIdentityPool(t, false, testenv.UserPoolLogin{UserPoolID: old, ClientID: oldClient})
	bucket := testenv.NewBucket(t, s3c)
	passwords, oldIDs := map[string]string{}, map[string]string{}
	for _, name := range []string{"alice", "bob", "carol"} {
		passwords[name] = "Pass-" + name + "-1!"
		env.NewSignInUser(t, old, name, passwords[name], "email", name+"@example.com", "email_verified", "true")
		if name == "carol" {
			continue // never signed in to the identity pool: no files
		}
		id := env.IdentityID(t, oldIP, map[string]string{testenv.UserPoolProvider(env.Config.Region, old): env.IDToken(t, old, oldClient, name, passwords[name])})
		oldIDs[name] = id
		testenv.PutObjects(t, s3c, bucket,
			testenv.S3Object{Key: "private/" + id + "/notes.txt", Body: []byte(name + "'s notes"), ContentType: "text/plain"},
			testenv.S3Object{Key: "protected/" + id + "/avatar.png", Body: []byte(name + " avatar"), ContentType: "image/png"})
	}
	deployedNotesApp(t, env, dir, old, "sf")
	meta := filepath.Join(dir, "amplify/backend/amplify-meta.json")
	replaceInFile(t, meta, "us-east-1:00000000-0000-0000-0000-000000000001", oldIP)
	replaceInFile(t, meta, "notesappfiles10101-dev", bucket)
	if err := amp.Pull(ctx, dir, "dev"); err != nil {
		t.Fatal(err)
	}
	role := env.ImportRole(t)
	migrate := func(extra ...string) string {
		t.Helper()
		out, err := run(append([]string{"migrate", "--yes", "--role-arn", role, "--rate-scale", "1000", "--poll", "50ms"}, extra...)...)
		if err != nil {
			t.Fatalf("migrate %v: %v\n%s", extra, err, out)
		}
		return out
	}

	out := migrate("--stop-after", "storage-ids")
	if !strings.Contains(out, "Storage (copy): the old identity ids of 2 users") {
		t.Fatalf("storage-ids:\n%s", out)
	}
	oldFile := filepath.Join(dir, ".poolmigrate", "storage", "old-identities.jsonl")
	if fi, err := os.Stat(oldFile); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("old-side file: %v %v", fi, err)
	}
	_, known, err := identitymap.ReadOld(oldFile)
	if err != nil || len(known) != 3 {
		t.Fatalf("old-side file: %v %v", err, known)
	}
	for _, e := range known {
		if want, ok := oldIDs[e.OldUsername]; ok && e.Old != want || !ok && !e.Created {
			t.Errorf("old line %+v, want %s's id %q", e, e.OldUsername, want)
		}
	}

	migrate() // waits for the Amplify CLI
	payload, err := os.ReadFile(filepath.Join(dir, ".poolmigrate", "add-auth.json"))
	if err != nil {
		t.Fatal(err)
	}
	amplifyOK(t, amp, dir, "", "remove", "auth", "userPoolGroups", "--yes")
	amplifyOK(t, amp, dir, "", "remove", "auth", "notesappauth", "--yes")
	amplifyOK(t, amp, dir, string(payload), "add", "auth", "--headless")
	if out := migrate(); !strings.Contains(out, "amplify push") {
		t.Fatalf("waiting for push:\n%s", out)
	}
	// The push: a new pool with its identity pool; the old identity pool
	// is deleted with the old auth stack.
	target := env.NewPool(t, emailSignInPool())
	newClient := env.NewSignInClient(t, target)
	newIP := env.NewIdentityPool(t, false, testenv.UserPoolLogin{UserPoolID: target, ClientID: newClient})
	if err := amplifysim.Push(dir, "notesappauthv2", target); err != nil {
		t.Fatal(err)
	}
	data, _ := os.ReadFile(meta)
	s, _ := sjson.Set(string(data), "auth.notesappauthv2.output.IdentityPoolId", newIP)
	if err := os.WriteFile(meta, []byte(s), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := env.CognitoIdentity(t).DeleteIdentityPool(ctx, &cognitoidentity.DeleteIdentityPoolInput{IdentityPoolId: &oldIP}); err != nil {
		t.Fatal(err)
	}

	migrate("--stop-after", "import")
	// alice resets her password after the import; bob has not yet.
	newName := map[string]string{}
	users, err := env.Cognito.ListUsers(ctx, &cip.ListUsersInput{UserPoolId: &target})
	if err != nil {
		t.Fatal(err)
	}
	for _, u := range users.Users {
		for _, at := range u.Attributes {
			if aws.ToString(at.Name) == "email" {
				newName[strings.TrimSuffix(aws.ToString(at.Value), "@example.com")] = aws.ToString(u.Username)
			}
		}
	}
	signIn := func(name string) string {
		t.Helper()
		if _, err := env.Cognito.AdminSetUserPassword(ctx, &cip.AdminSetUserPasswordInput{UserPoolId: &target, Username: aws.String(newName[name]),
			Password: aws.String(passwords[name]), Permanent: true}); err != nil {
			t.Fatal(err)
		}
		return env.IdentityID(t, newIP, map[string]string{testenv.UserPoolProvider(env.Config.Region, target): env.IDToken(t, target, newClient, newName[name], passwords[name])})
	}
	files := func(id string) string {
		var got []string
		for _, p := range []string{"private/", "protected/"} {
			for _, k := range testenv.ListKeys(t, s3c, bucket, p+id+"/") {
				got = append(got, strings.TrimPrefix(k, p+id+"/"))
			}
		}
		return strings.Join(got, ",")
	}
	aliceNew := signIn("alice")
	out = migrate()
	if !strings.Contains(out, "Storage (copy): the files of 1 users are under their new identity ids (2 objects copied") ||
		!strings.Contains(out, "1 users wait until they sign in to the new pool (bob)") || !strings.Contains(out, "Migration complete") {
		t.Fatalf("storage step:\n%s", out)
	}
	if got := files(aliceNew); got != "notes.txt,avatar.png" {
		t.Errorf("alice's files under her new id %s: %q", aliceNew, got)
	}

	// bob comes later: storage copy (or sync) moves his files.
	bobNew := signIn("bob")
	var st migrateState
	if _, err := loadMigrateState(filepath.Join(dir, ".poolmigrate", "migrate.json"), &st); err != nil {
		t.Fatal(err)
	}
	// `storage copy` maps him too, from the old id storage-ids recorded:
	// the old identity pool is gone, so it must not sign him in there.
	out, err = run("storage", "copy", "--backup", st.Backup, "--target-pool", target, "--old-identity-pool", oldIP, "--new-identity-pool", newIP, "--yes")
	if err != nil || !strings.Contains(out, "3 users mapped (1 asked by this run)") {
		t.Fatalf("storage copy after the push: %v\n%s", err, out)
	}
	out, err = run("sync", "--backup", st.Backup, "--target-pool", target, "--yes")
	if err != nil || !strings.Contains(out, "Storage (copy): the files of 2 users") {
		t.Fatalf("sync: %v\n%s", err, out)
	}
	if got := files(bobNew); got != "notes.txt,avatar.png" {
		t.Errorf("bob's files under his new id %s: %q", bobNew, got)
	}
	if got := files(oldIDs["bob"]); got != "notes.txt,avatar.png" {
		t.Errorf("bob's old files must stay: %q", got)
	}
}
