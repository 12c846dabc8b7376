package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"runtime"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cognitoidentity"

	"github.com/poolmigrate/poolmigrate/cognito"
	"github.com/poolmigrate/poolmigrate/storage/link"
	"github.com/poolmigrate/poolmigrate/testbed/testenv"
	"github.com/poolmigrate/poolmigrate/tokenmint/deploy"
	"github.com/poolmigrate/poolmigrate/trigger"
)

// TestStorageLinkWithTheTrio runs `storage link` as the README does, the
// tokens minted by the token trio deployed on both user pools (the test
// bed runs its code): one identity pool lists both user pools (the Gen 2
// window). alice and bob, who had identities with files, are linked (their
// new logins answer their old ids); dave, who signed in to the new pool
// before the link, is reported "needs copy" with both ids and the command
// exits 1 naming him; carol, who never had an identity, has none left
// made; the identity pool lists what it listed before.
func TestStorageLinkWithTheTrio(t *testing.T) {
	rie := os.Getenv("POOLMIGRATE_TESTBED_RIE")
	if rie == "" {
		testenv.Skip(t, "the Lambda Runtime Interface Emulator is not installed: run testbed/testbed.sh up (or scripts/test.sh)")
	}
	env := testenv.Require(t)
	ctx := context.Background()
	const pw = "Link-Pass-1!"
	oldPool := env.NewPool(t, testenv.PoolOptions{})
	newPool := env.NewPool(t, testenv.PoolOptions{Custom: []string{"prev_sub_id", "prev_username"}})
	oldClient, newClient := env.NewSignInClient(t, oldPool), env.NewSignInClient(t, newPool)
	ip := env.NewIdentityPool(t, false, testenv.UserPoolLogin{UserPoolID: oldPool, ClientID: oldClient}, testenv.UserPoolLogin{UserPoolID: newPool, ClientID: newClient})
	oldProvider, newProvider := testenv.UserPoolProvider(env.Config.Region, oldPool), testenv.UserPoolProvider(env.Config.Region, newPool)
	idOf := func(provider, pool, client, name string) string {
		return env.IdentityID(t, ip, map[string]string{provider: env.IDToken(t, pool, client, name, pw)})
	}
	names := []string{"alice", "bob", "carol", "dave"}
	subs, had := map[string]string{}, map[string]string{}
	s3c := env.S3(t)
	bucket := testenv.NewBucket(t, s3c)
	for _, name := range names {
		subs[name] = env.NewSignInUser(t, oldPool, name, pw)
		if name != "carol" {
			had[name] = idOf(oldProvider, oldPool, oldClient, name)
			testenv.PutObjects(t, s3c, bucket, testenv.S3Object{Key: "private/" + had[name] + "/doc.txt", Body: []byte(name)})
		}
	}
	dir := t.TempDir()
	backup := dir + "/old.jsonl"
	if _, stderr, err := runApp(t, dir, nil, "backup", "--pool", oldPool, "--out", backup); err != nil {
		t.Fatalf("backup: %v\n%s", err, stderr)
	}
	for _, name := range names {
		env.NewSignInUser(t, newPool, name, pw, cognito.PrevSubAttr, subs[name], cognito.PrevUsernameAttr, name)
	}
	daveOwn := idOf(newProvider, newPool, newClient, "dave")
	before := identitiesOf(t, env, ip)

	src, err := trigger.FindSource(".")
	if err != nil {
		t.Fatal(err)
	}
	built, err := deploy.Build(ctx, src, t.TempDir(), runtime.GOARCH)
	if err != nil {
		t.Fatal(err)
	}
	var out, errb bytes.Buffer
	var mu sync.Mutex
	app := &App{Stdin: strings.NewReader(""), Stdout: &out, Stderr: &errb, Getenv: os.Getenv, Getwd: func() (string, error) { return dir, nil },
		TokenmintSource: os.DirFS(".."),
		trioDeployed: func(ctx context.Context, pool, function string) error {
			mu.Lock()
			defer mu.Unlock()
			env.RunSharedFunction(t, rie, function, built.Bootstrap)
			return nil
		}}
	err = app.Run(ctx, []string{"storage", "link", "--backup", backup, "--target-pool", newPool, "--identity-pool", ip, "--yes", "--json"})
	var exit interface{ ExitCode() int }
	if !errors.As(err, &exit) || exit.ExitCode() != 1 || !strings.Contains(err.Error(), "dave") {
		t.Fatalf("storage link: %v, want exit 1 naming dave\n%s", err, errb.String())
	}
	var rep storageLinkReport
	if err := json.Unmarshal(out.Bytes(), &rep); err != nil {
		t.Fatalf("--json: %v\n%s", err, out.String())
	}
	if rep.Link.Count(link.Linked) != 2 || rep.Link.Count(link.NeedsCopy) != 1 || rep.Link.Count(link.NoIdentity) != 1 || strings.Join(rep.NotLinked, ",") != "dave" {
		t.Fatalf("report %+v\n%s", rep, errb.String())
	}
	for _, name := range []string{"alice", "bob"} {
		got := idOf(newProvider, newPool, newClient, name)
		if got != had[name] {
			t.Errorf("%s's new login answers %s, not her identity %s", name, got, had[name])
		}
		if keys := testenv.ListKeys(t, s3c, bucket, "private/"+got+"/"); len(keys) != 1 {
			t.Errorf("%s's files under %s: %v", name, got, keys)
		}
	}
	for _, e := range rep.Link.Entries {
		if e.OldUsername == "dave" && (e.Outcome != link.NeedsCopy || e.Old != had["dave"] || e.New != daveOwn) {
			t.Errorf("dave: %+v, want needs copy from %s to %s", e, daveOwn, had["dave"])
		}
	}
	if after := identitiesOf(t, env, ip); len(after) != len(before) {
		t.Errorf("the identity pool had %d identities and has %d: carol's was left made", len(before), len(after))
	}
	d, err := env.CognitoIdentity(t).DescribeIdentityPool(ctx, &cognitoidentity.DescribeIdentityPoolInput{IdentityPoolId: &ip})
	if err != nil || len(d.CognitoIdentityProviders) != 2 {
		t.Errorf("the identity pool lists %v after the run, want its 2 providers (%v)", d.CognitoIdentityProviders, err)
	}
}

func identitiesOf(t *testing.T, env *testenv.Env, ip string) map[string]bool {
	t.Helper()
	out, err := env.CognitoIdentity(t).ListIdentities(context.Background(), &cognitoidentity.ListIdentitiesInput{IdentityPoolId: &ip, MaxResults: aws.Int32(60)})
	if err != nil {
		t.Fatal(err)
	}
	ids := map[string]bool{}
	for _, d := range out.Identities {
		ids[aws.ToString(d.IdentityId)] = true
	}
	return ids
}
