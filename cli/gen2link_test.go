package cli

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cognitoidentity"
	citypes "github.com/aws/aws-sdk-go-v2/service/cognitoidentity/types"
	cip "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider"
	ctypes "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider/types"

	"github.com/poolmigrate/poolmigrate/gen2patch"
	"github.com/poolmigrate/poolmigrate/statedir"
	"github.com/poolmigrate/poolmigrate/storage/identitymap"
	"github.com/poolmigrate/poolmigrate/testbed/testenv"
)

// TestMigrateGen2LinksFiles drives the Gen 2 `migrate` (deploys planted,
// as in TestMigrateGen2KeepPasswords) for an app whose users have files
// under their identity ids. The patch step writes the link-window block
// with the new-pool block; after the deploy (the identity pool kept, the
// new pool its provider, the old one kept beside it by the block) and the
// import, the storage step links alice's new login to her identity (her
// new login alone answers it, her files are there), finishes bob, who
// signed in to the new pool early (his new login's own identity's file
// copied to his identity), and names carol as waiting; link-close keeps
// the block while she waits, and a later `sync` links her.
func TestMigrateGen2LinksFiles(t *testing.T) {
	env := testenv.Require(t)
	testenv.RequireAppSync(t)
	ctx := context.Background()
	const pw = "Link-Pass-1!"
	dir := copyGen2App(t)
	s3c := env.S3(t)
	idc := env.CognitoIdentity(t)
	oldPool := env.NewPool(t, testenv.PoolOptions{AutoVerified: []ctypes.VerifiedAttributeType{ctypes.VerifiedAttributeTypeEmail}})
	oldClient := env.NewSignInClient(t, oldPool)
	oldProvider := testenv.UserPoolProvider(env.Config.Region, oldPool)
	ip := env.NewIdentityPool(t, false, testenv.UserPoolLogin{UserPoolID: oldPool, ClientID: oldClient})
	bucket := testenv.NewBucket(t, s3c)
	had := map[string]string{}
	for _, name := range []string{"alice", "bob", "carol"} {
		env.NewSignInUser(t, oldPool, name, pw, "email", name+"@example.com", "email_verified", "true")
		had[name] = env.IdentityID(t, ip, map[string]string{oldProvider: env.IDToken(t, oldPool, oldClient, name, pw)})
		testenv.PutObjects(t, s3c, bucket, testenv.S3Object{Key: "private/" + had[name] + "/notes.txt", Body: []byte(name + "'s notes")})
	}
	// dave had files, then was disabled: he comes over disabled, no token
	// can be minted for him, and he must not hold the link window open as
	// a user who will come.
	env.NewSignInUser(t, oldPool, "dave", pw, "email", "dave@example.com", "email_verified", "true")
	had["dave"] = env.IdentityID(t, ip, map[string]string{oldProvider: env.IDToken(t, oldPool, oldClient, "dave", pw)})
	testenv.PutObjects(t, s3c, bucket, testenv.S3Object{Key: "private/" + had["dave"] + "/notes.txt", Body: []byte("dave's notes")})
	if _, err := env.Cognito.AdminDisableUser(ctx, &cip.AdminDisableUserInput{UserPoolId: &oldPool, Username: aws.String("dave")}); err != nil {
		t.Fatal(err)
	}

	suffix := testenv.RandomSuffix()
	apiID := "lk" + suffix + strings.Repeat("l", 16)
	url := "https://" + suffix + "link.appsync-api.us-east-1.amazonaws.com/graphql"
	var sources []testenv.AppSyncDataSource
	for _, m := range []string{"Note", "Comment", "Profile", "Board", "Invite", "Tag"} {
		pk := "id"
		if m == "Profile" {
			pk = "userId"
		}
		createTable(t, env, m+"-"+apiID+"-NONE", pk, "", nil)
		sources = append(sources, testenv.AppSyncDataSource{Name: m + "Table", Type: "AMAZON_DYNAMODB", TableName: m + "-" + apiID + "-NONE"})
	}
	if err := testenv.PlantAppSyncAPI(apiID, "amplifyData", url, sources); err != nil {
		t.Fatal(err)
	}
	outputs := func(pool, client string) {
		t.Helper()
		o := strings.NewReplacer("eu-central-1_Q7bW3nL2x", pool, "5k3j2h1g0f9e8d7c6b5a4z3y2x", client, "eu-central-1:0b5c2d3e-4f5a-6b7c-8d9e-0f1a2b3c4d5e", ip,
			"https://u3nq4lrpwbbzzmhwdxqvhbq7ue.appsync-api.eu-central-1.amazonaws.com/graphql", url, "eu-central-1", "us-east-1").Replace(gen2Outputs)
		var m map[string]any
		if err := json.Unmarshal([]byte(o), &m); err != nil {
			t.Fatal(err)
		}
		m["storage"] = map[string]any{"aws_region": "us-east-1", "bucket_name": bucket,
			"buckets": []any{map[string]any{"name": "notesFiles", "bucket_name": bucket, "aws_region": "us-east-1"}}}
		data, _ := json.Marshal(m)
		if err := os.WriteFile(filepath.Join(dir, "amplify_outputs.json"), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	outputs(oldPool, oldClient)
	authStack := "amplify-gen2notes-main-branch-" + suffix + "-auth179371D7-LINK"
	env.PlantStackTemplate(t, authStack, "arn:aws:cloudformation:us-east-1:000000000000:stack/"+authStack+"/1", nil,
		map[string]string{"amplifyAuthUserPool4BA7F805": oldPool},
		`{"Resources":{"amplifyAuthUserPool4BA7F805":{"Type":"AWS::Cognito::UserPool","DeletionPolicy":"Retain","UpdateReplacePolicy":"Retain"}}}`)

	// The token trio's stand-in: password sign-ins through clients of the
	// tool's own (storagelink_test.go).
	oldTool := env.NewSignInClient(t, oldPool)
	var target, newTool string
	linkTestHooks.minters = func(o, n string) (identitymap.Minter, identitymap.Minter, string, string) {
		return linkBedMinter{t, env, o, oldTool}, linkBedMinter{t, env, n, newTool}, oldTool, newTool
	}
	t.Cleanup(func() { linkTestHooks.minters = nil })

	role := env.ImportRole(t)
	migrate := func(extra ...string) string {
		t.Helper()
		// The import job: users wait in RESET_REQUIRED until they set a
		// password, so carol cannot be linked before she comes.
		args := append([]string{"migrate", "--yes", "--role-arn", role, "--rate-scale", "1000", "--poll", "50ms"}, extra...)
		out, stderr, err := runApp(t, dir, nil, args...)
		if err != nil {
			t.Fatalf("migrate %v: %v\n%s%s", extra, err, out, stderr)
		}
		return out + stderr
	}
	backendTS := func() string {
		data, _ := os.ReadFile(filepath.Join(dir, "amplify", "backend.ts"))
		return string(data)
	}
	migrate() // plan, backup, the retain block
	out := migrate("--retained")
	if b := backendTS(); !strings.Contains(b, "poolmigrate:begin new-pool") || !strings.Contains(b, "poolmigrate:begin link-window") ||
		!strings.Contains(b, "'"+oldProvider+"'") || !strings.Contains(b, "clientId: '"+oldClient+"'") ||
		!strings.Contains(out, "Storage (link): wrote the link-window block") || !strings.Contains(out, "Now deploy the new pool") {
		t.Fatalf("patch:\n%s\n%s", out, b)
	}

	// The deploy: a new pool; the identity pool kept, its provider
	// switched to the new pool, the old one kept beside it by the block.
	target = env.NewPool(t, emailSignInPool())
	newClient := env.NewSignInClient(t, target)
	newTool = env.NewSignInClient(t, target)
	newProvider := testenv.UserPoolProvider(env.Config.Region, target)
	desc := must2[*cognitoidentity.DescribeIdentityPoolOutput](t)(idc.DescribeIdentityPool(ctx, &cognitoidentity.DescribeIdentityPoolInput{IdentityPoolId: &ip}))
	if _, err := idc.UpdateIdentityPool(ctx, &cognitoidentity.UpdateIdentityPoolInput{IdentityPoolId: &ip, IdentityPoolName: desc.IdentityPoolName,
		AllowUnauthenticatedIdentities: desc.AllowUnauthenticatedIdentities, CognitoIdentityProviders: []citypes.CognitoIdentityProvider{
			{ProviderName: &newProvider, ClientId: &newClient}, {ProviderName: &oldProvider, ClientId: &oldClient}}}); err != nil {
		t.Fatal(err)
	}
	outputs(target, newClient)
	migrate("--stop-after", "import")

	// alice and bob set their passwords after the import; bob signs in to
	// the identity pool before the link and saves a file under his new
	// login's own identity. carol has not come yet.
	newName := map[string]string{}
	users := must2[*cip.ListUsersOutput](t)(env.Cognito.ListUsers(ctx, &cip.ListUsersInput{UserPoolId: &target}))
	for _, u := range users.Users {
		for _, at := range u.Attributes {
			if aws.ToString(at.Name) == "email" {
				newName[strings.TrimSuffix(aws.ToString(at.Value), "@example.com")] = aws.ToString(u.Username)
			}
		}
	}
	come := func(name string) {
		t.Helper()
		if _, err := env.Cognito.AdminSetUserPassword(ctx, &cip.AdminSetUserPasswordInput{UserPoolId: &target, Username: aws.String(newName[name]), Password: aws.String(pw), Permanent: true}); err != nil {
			t.Fatal(err)
		}
	}
	answers := func(name string) string {
		t.Helper()
		return env.IdentityID(t, ip, map[string]string{newProvider: env.IDToken(t, target, newClient, newName[name], pw)})
	}
	come("alice")
	come("bob")
	bobOwn := answers("bob")
	if bobOwn == had["bob"] {
		t.Fatal("bob's new login answered his identity before the link")
	}
	testenv.PutObjects(t, s3c, bucket, testenv.S3Object{Key: "private/" + bobOwn + "/since.txt", Body: []byte("bob since")})

	// A deploy without the block: the identity pool lists the new pool
	// alone. The storage step stops, says what to do, and the next run
	// continues from it.
	setProviders := func(ps ...citypes.CognitoIdentityProvider) {
		t.Helper()
		desc := must2[*cognitoidentity.DescribeIdentityPoolOutput](t)(idc.DescribeIdentityPool(ctx, &cognitoidentity.DescribeIdentityPoolInput{IdentityPoolId: &ip}))
		if _, err := idc.UpdateIdentityPool(ctx, &cognitoidentity.UpdateIdentityPoolInput{IdentityPoolId: &ip, IdentityPoolName: desc.IdentityPoolName,
			AllowUnauthenticatedIdentities: desc.AllowUnauthenticatedIdentities, CognitoIdentityProviders: ps}); err != nil {
			t.Fatal(err)
		}
	}
	setProviders(citypes.CognitoIdentityProvider{ProviderName: &newProvider, ClientId: &newClient})
	o, e, err := runApp(t, dir, nil, "migrate", "--yes", "--role-arn", role)
	if err == nil || !strings.Contains(err.Error(), "step storage") || !strings.Contains(err.Error(), "deploy the link-window block") || !strings.Contains(err.Error(), "continues from this step") {
		t.Fatalf("storage without the old provider: %v\n%s%s", err, o, e)
	}
	setProviders(citypes.CognitoIdentityProvider{ProviderName: &newProvider, ClientId: &newClient}, citypes.CognitoIdentityProvider{ProviderName: &oldProvider, ClientId: &oldClient})

	out = migrate()
	if !strings.Contains(out, "Storage (link): 2 users' new logins answer the identity ids holding their files (1 objects copied") ||
		!strings.Contains(out, "1 users wait until they sign in to the new pool (carol)") ||
		!strings.Contains(out, "1 users are disabled (dave): no token can be minted") ||
		!strings.Contains(out, "the link-window block stays") || !strings.Contains(out, "Migration complete") {
		t.Fatalf("storage and link-close:\n%s", out)
	}
	files := func(id string) string {
		return strings.Join(testenv.ListKeys(t, s3c, bucket, "private/"+id+"/"), ",")
	}
	for name, want := range map[string]string{"alice": "private/" + had["alice"] + "/notes.txt", "bob": "private/" + had["bob"] + "/notes.txt,private/" + had["bob"] + "/since.txt"} {
		if got := answers(name); got != had[name] {
			t.Errorf("%s's new login answers %s, not the identity %s holding her files", name, got, had[name])
		}
		if got := files(had[name]); got != want {
			t.Errorf("%s's identity holds %q, want %q", name, got, want)
		}
	}
	if !strings.Contains(backendTS(), "poolmigrate:begin link-window") {
		t.Error("link-close removed the block while carol waits")
	}

	// carol comes later: sync links her.
	come("carol")
	var st gen2State
	if _, err := loadMigrateState(filepath.Join(dir, ".poolmigrate", "migrate.json"), &st); err != nil {
		t.Fatal(err)
	}
	so, stderr, err := runApp(t, dir, map[string]string{"POOLMIGRATE_API_ID": apiID}, "sync", "--backup", st.Backup, "--target-pool", target, "--yes", "--json")
	if err != nil {
		t.Fatalf("sync: %v\n%s%s", err, so, stderr)
	}
	var sum SyncSummary
	if err := json.Unmarshal([]byte(so), &sum); err != nil || sum.Storage == nil || sum.Storage.Route != "link" || sum.Storage.Moved != 3 || len(sum.Storage.Waiting) != 0 ||
		strings.Join(sum.Storage.Disabled, ",") != "dave" {
		t.Fatalf("sync --json: %v %+v\n%s%s", err, sum.Storage, so, stderr)
	}
	if got := answers("carol"); got != had["carol"] {
		t.Errorf("carol's new login answers %s, not her identity %s", got, had["carol"])
	}
	// Every user is linked: the block can go.
	if o, e, err := runApp(t, dir, nil, "storage", "link", "--backend", "--close"); err != nil || strings.Contains(backendTS(), "poolmigrate:begin link-window") {
		t.Fatalf("storage link --backend --close: %v\n%s%s", err, o, e)
	}
}

// TestMigrateGen2LinkCloseWaitsForDeploy: Gen 2 `migrate --keep-passwords`
// at its link-close step (the flow planted there: every user linked, the
// link-window block in backend.ts and deployed, so the identity pool lists
// both user pools) removes the block and stops for the deploy, as the
// deploy step does, instead of going on to retire while the identity
// pool names the old pool; run again before the deploy, it asks the
// identity pool and stops again; once the deploy took the old provider
// out (played here as the link test plays its deploys), it goes on.
func TestMigrateGen2LinkCloseWaitsForDeploy(t *testing.T) {
	env := testenv.Require(t)
	ctx := context.Background()
	idc := env.CognitoIdentity(t)
	dir := copyGen2App(t)
	oldPool := env.NewPool(t, testenv.PoolOptions{})
	oldClient := env.NewSignInClient(t, oldPool)
	target := env.NewPool(t, emailSignInPool())
	newClient := env.NewSignInClient(t, target)
	ip := env.NewIdentityPool(t, false, testenv.UserPoolLogin{UserPoolID: target, ClientID: newClient}, testenv.UserPoolLogin{UserPoolID: oldPool, ClientID: oldClient})

	state, err := statedir.Ensure(dir)
	if err != nil {
		t.Fatal(err)
	}
	cs, err := gen2patch.LinkWindow(dir, env.Config.Region, oldPool, oldClient)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := cs.Apply(state, linkWindowOp, nil); err != nil {
		t.Fatal(err)
	}
	var done []string
	for _, s := range gen2KeepSteps {
		if s == "link-close" {
			break
		}
		done = append(done, s)
	}
	st := gen2State{Generation: 2, LinkWindow: true, PatchWritten: true, TriggerKept: true, migrateState: migrateState{Done: done, OldAuth: "amplifyAuth", OldPool: oldPool,
		TargetPool: target, Backup: filepath.Join(state, "backups", oldPool+".jsonl"), KeepPasswords: true, Storage: &storageState{Route: "link", OldIdentityPool: ip}}}
	data, _ := json.Marshal(st)
	if err := os.WriteFile(filepath.Join(state, "migrate.json"), data, 0o600); err != nil {
		t.Fatal(err)
	}
	migrate := func() (string, gen2State) {
		t.Helper()
		out, stderr, err := runApp(t, dir, nil, "migrate", "--yes", "--stop-after", "link-close")
		if err != nil {
			t.Fatalf("migrate: %v\n%s%s", err, out, stderr)
		}
		var st gen2State
		if _, err := loadMigrateState(filepath.Join(state, "migrate.json"), &st); err != nil {
			t.Fatal(err)
		}
		return out + stderr, st
	}
	backendTS := func() string {
		data, _ := os.ReadFile(filepath.Join(dir, "amplify", "backend.ts"))
		return string(data)
	}

	out, st := migrate()
	if strings.Contains(backendTS(), "poolmigrate:begin link-window") || !strings.Contains(out, "removed the link-window block") || !strings.Contains(out, "npx ampx sandbox") ||
		st.done("link-close") || strings.Contains(out, "Stopped after") {
		t.Fatalf("link-close did not stop for the deploy that removes the block (done %v):\n%s", st.Done, out)
	}
	// Not deployed yet: the identity pool still lists the old pool.
	out, st = migrate()
	if !strings.Contains(out, "still lists the old user pool "+oldPool) || !strings.Contains(out, "npx ampx sandbox") || st.done("link-close") {
		t.Fatalf("before the deploy (done %v):\n%s", st.Done, out)
	}
	// The deploy: the identity pool lists the new pool alone.
	newProvider := testenv.UserPoolProvider(env.Config.Region, target)
	desc := must2[*cognitoidentity.DescribeIdentityPoolOutput](t)(idc.DescribeIdentityPool(ctx, &cognitoidentity.DescribeIdentityPoolInput{IdentityPoolId: &ip}))
	if _, err := idc.UpdateIdentityPool(ctx, &cognitoidentity.UpdateIdentityPoolInput{IdentityPoolId: &ip, IdentityPoolName: desc.IdentityPoolName,
		AllowUnauthenticatedIdentities: desc.AllowUnauthenticatedIdentities, CognitoIdentityProviders: []citypes.CognitoIdentityProvider{{ProviderName: &newProvider, ClientId: &newClient}}}); err != nil {
		t.Fatal(err)
	}
	out, st = migrate()
	if !strings.Contains(out, "no longer lists the old user pool") || !strings.Contains(out, "Stopped after link-close") || !st.done("link-close") {
		t.Fatalf("after the deploy (done %v):\n%s", st.Done, out)
	}
}
