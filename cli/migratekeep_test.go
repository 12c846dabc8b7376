package cli

import (
	"context"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	cip "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider"
	cogtypes "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider/types"

	"github.com/poolmigrate/poolmigrate/testbed/amplifycli"
	"github.com/poolmigrate/poolmigrate/testbed/amplifysim"
	"github.com/poolmigrate/poolmigrate/testbed/testenv"
	"github.com/poolmigrate/poolmigrate/trigger"
)

// TestMigrateKeepPasswords drives `migrate --keep-passwords` through every
// step, with the real Amplify CLI between them (only `amplify push` is
// simulated): it waits until the deployed auth stack keeps the old pool,
// deploys the trigger, holds the window open while users sign in to the
// new pool with their old passwords (the trigger, as deployed, run by the
// Lambda Runtime Interface Emulator for a cognito-local of the test's own,
// creates them), and on --close-window imports the rest, syncs, verifies,
// removes the trigger and retires the old pool. The outcome is then read
// from Cognito and DynamoDB.
func TestMigrateKeepPasswords(t *testing.T) {
	shared := testenv.Require(t)
	amp := amplifycli.Require(t)
	rie := os.Getenv("POOLMIGRATE_TESTBED_RIE")
	testenv.SkipUnless(t, rie != "", "the Lambda Runtime Interface Emulator is not installed: run testbed/testbed.sh up (or scripts/test.sh)")
	ctx := context.Background()
	built := buildTriggerHere(t)
	bed := shared.TriggerBed(t, rie)
	env := bed.Env

	dir := copyProject(t, "../examples/notes-app")
	sp := plantSourcePool(t, env)
	// The users who sign in during the window, with the passwords they had.
	passwords := map[string]string{"user001": "Old-Secret-001!", "user012": "Old-Secret-012!"}
	email := map[string]string{}
	for _, u := range sp.users {
		email[u.Username] = u.Attrs["email"]
	}
	for name, pw := range passwords {
		if _, err := env.Local.AdminSetUserPassword(ctx, &cip.AdminSetUserPasswordInput{UserPoolId: &sp.id, Username: aws.String(name), Password: aws.String(pw), Permanent: true}); err != nil {
			t.Fatal(err)
		}
	}
	apiID := deployedNotesApp(t, env, dir, sp.id, "kp")
	owners := sourceOwners(t, env, sp.id)[:40]
	fillNotes(t, env, func(m string) string { return m + "-" + apiID + "-dev" }, owners)
	tables := migratedTables(apiID, owners, snapshot(t, env, (&remapFixture{apiID: apiID}).tables()))

	stack := "amplify-notesapp-dev-" + testenv.RandomSuffix()
	replaceInFile(t, filepath.Join(dir, "amplify/team-provider-info.json"), `"StackName": "amplify-notesapp-dev-10101"`, `"StackName": "`+stack+`"`)
	if err := amp.Pull(ctx, dir, "dev"); err != nil {
		t.Fatal(err)
	}
	arn := func(s string) string { return "arn:aws:cloudformation:us-east-1:000000000000:stack/" + s + "/1" }
	deployed := func(template string) {
		env.PlantStack(t, stack, arn(stack), nil, map[string]string{"authnotesappauth": arn(stack + "-auth")})
		env.PlantStackTemplate(t, stack+"-auth", arn(stack+"-auth"), map[string]string{"UserPoolId": sp.id}, nil, template)
	}
	deployed(`{"Resources":{"UserPool":{"Type":"AWS::Cognito::UserPool"}}}`)
	policies := []string{"--on-duplicate", "keep-newest", "--on-unverified", "skip", "--skip", "INVALID_PHONE,INVALID_USERNAME"}
	migrate := func(extra ...string) (string, error) {
		args := append([]string{"migrate", "--yes", "--method", "admin", "--rate-scale", "1000", "--zip", built.Zip}, extra...)
		out, stderr, err := runApp(t, dir, nil, args...)
		return out + stderr, err
	}
	// retain: writes the override and waits for the push.
	out, err := migrate("--keep-passwords")
	if err != nil || !strings.Contains(out, "amplify build") || !strings.Contains(out, "amplify push") {
		t.Fatalf("retain: %v\n%s", err, out)
	}
	if _, err := os.Stat(filepath.Join(dir, "amplify/backend/auth/notesappauth/override.ts")); err != nil {
		t.Fatal(err)
	}
	// Not pushed yet: the deployed stack does not keep the pool.
	if out, err := migrate(); err != nil || !strings.Contains(out, "does not keep its user pool yet") {
		t.Fatalf("before the push: %v\n%s", err, out)
	}
	deployed(`{"Resources":{"UserPool":{"Type":"AWS::Cognito::UserPool","DeletionPolicy":"Retain"}}}`)
	if out, err := migrate(); err != nil || !strings.Contains(out, "amplify remove auth userPoolGroups") {
		t.Fatalf("after the push, up to the auth replacement: %v\n%s", err, out)
	}
	payload, err := os.ReadFile(filepath.Join(dir, ".poolmigrate", "add-auth.json"))
	if err != nil {
		t.Fatal(err)
	}
	amplifyOK(t, amp, dir, "", "remove", "auth", "userPoolGroups", "--yes")
	amplifyOK(t, amp, dir, "", "remove", "auth", "notesappauth", "--yes")
	amplifyOK(t, amp, dir, string(payload), "add", "auth", "--headless")
	if out, err := migrate(); err != nil || !strings.Contains(out, "amplify push") {
		t.Fatalf("patch, then the push: %v\n%s", err, out)
	} else if strings.Contains(out, "deletes the old user pool") || !strings.Contains(out, "stays (retained)") {
		t.Errorf("the push keeps the old pool on this route; migrate says:\n%s", out)
	}
	target := env.NewPool(t, emailSignInPool())
	if err := amplifysim.Push(dir, "notesappauthv2", target); err != nil {
		t.Fatal(err)
	}
	// check (adds the old-identity attributes), the trigger, then the
	// window stays open.
	if out, err := migrate(policies...); err != nil || !strings.Contains(out, "migration window is open") {
		t.Fatalf("up to the window: %v\n%s", err, out)
	}
	if out, _, err := runApp(t, dir, nil, "trigger", "status", "--old-pool", sp.id, "--target-pool", target); err != nil {
		t.Fatalf("the trigger after deploy: %v %s", err, out)
	}

	// Users sign in to the new pool (by e-mail, as it signs in) with their
	// old passwords: the trigger, as deployed, brings them over.
	logs := bed.StartTrigger(t, target, built.Bootstrap)
	app := must2[*cip.CreateUserPoolClientOutput](t)(env.Local.CreateUserPoolClient(ctx, &cip.CreateUserPoolClientInput{UserPoolId: &target, ClientName: aws.String("notes-web"),
		ExplicitAuthFlows: []cogtypes.ExplicitAuthFlowsType{cogtypes.ExplicitAuthFlowsTypeAllowUserPasswordAuth}})).UserPoolClient.ClientId
	signIn := func(user, password string) error {
		out, err := env.Local.InitiateAuth(ctx, &cip.InitiateAuthInput{ClientId: app, AuthFlow: cogtypes.AuthFlowTypeUserPasswordAuth,
			AuthParameters: map[string]string{"USERNAME": user, "PASSWORD": password}})
		if err == nil && (out.AuthenticationResult == nil || aws.ToString(out.AuthenticationResult.AccessToken) == "") {
			t.Fatalf("%s signed in without tokens", user)
		}
		return err
	}
	inTarget := func() map[string]bool { // old usernames in the new pool
		got := map[string]bool{}
		for _, u := range must2[*cip.ListUsersOutput](t)(env.Local.ListUsers(ctx, &cip.ListUsersInput{UserPoolId: &target})).Users {
			for _, a := range u.Attributes {
				if *a.Name == "custom:prev_username" {
					got[*a.Value] = true
				}
			}
		}
		return got
	}
	if err := signIn(email["user003"], "not-the-password"); err == nil {
		t.Error("user003 signed in with a wrong password")
	}
	for name, pw := range passwords {
		if err := signIn(email[name], pw); err != nil {
			t.Fatalf("%s with the old password: %v\n%s", name, err, logs())
		}
	}
	if got := inTarget(); len(got) != len(passwords) || !got["user001"] || !got["user012"] {
		t.Fatalf("after the sign-ins the new pool holds %v, want the two who signed in", got)
	}
	if out, err := migrate(policies...); err != nil || !strings.Contains(out, "migration window is open") {
		t.Fatalf("the window stays open without --close-window: %v\n%s", err, out)
	}
	// Closing it: import the rest, sync, verify, remove the trigger,
	// retire the old pool (its id typed). The export's policies left five
	// users out: retire names them and deletes nothing until their number
	// is accepted and typed.
	out, err = migrate(append(policies, "--close-window", "--confirm-pool-id", sp.id)...)
	if err == nil || !strings.Contains(err.Error(), "--accept-unmigrated 5") {
		t.Fatalf("closing the window with five users left out: %v\n%s", err, out)
	}
	for _, name := range []string{"badphone", "nocontact", "signedup", "unverified"} {
		if !strings.Contains(out, "  "+name+"  sub ") {
			t.Errorf("retire does not name %s, whom the export left out:\n%s", name, out)
		}
	}
	if strings.Contains(out, "  dup.a  sub ") == strings.Contains(out, "  dup.b  sub ") {
		t.Errorf("retire should name the one of dup.a and dup.b that the export left out:\n%s", out)
	}
	if _, err := env.Local.DescribeUserPool(ctx, &cip.DescribeUserPoolInput{UserPoolId: &sp.id}); err != nil {
		t.Fatalf("the old pool went with five users not accepted: %v", err)
	}
	out, err = migrate(append(policies, "--close-window", "--confirm-pool-id", sp.id, "--accept-unmigrated", "5", "--confirm-unmigrated", "5")...)
	if err != nil || !strings.Contains(out, "Migration complete") || !strings.Contains(out, "Deleted the old user pool") {
		t.Fatalf("closing the window: %v\n%s", err, out)
	}
	if _, err := env.Local.DescribeUserPool(ctx, &cip.DescribeUserPoolInput{UserPoolId: &sp.id}); err == nil {
		t.Error("the old pool is still there")
	}
	if out, _, err := runApp(t, dir, nil, "trigger", "status", "--old-pool", sp.id, "--target-pool", target); err == nil || !strings.Contains(out, "does not exist") {
		t.Errorf("the trigger after the window: %v %s", err, out)
	}
	// The users the trigger brought over still sign in with their old
	// passwords, now the old pool is gone; and the independent checks:
	// every user export kept is in the new pool (CONFIRMED: the trigger's
	// users, and the admin import's), with groups, memberships and disabled
	// state, and every item names its owner's new identity.
	for name, pw := range passwords {
		if err := signIn(email[name], pw); err != nil {
			t.Errorf("%s after the old pool was retired: %v", name, err)
		}
	}
	m := migratedSetup(t, dir, sp)
	m.viaTrigger = map[string]bool{}
	for name := range passwords {
		m.viaTrigger[name] = true
	}
	if m.target != target {
		t.Fatalf("migrate.json's target pool %s, want the pushed %s", m.target, target)
	}
	m.verifyTarget(t, env, cogtypes.UserStatusTypeConfirmed)
	tables.expectRemappedTo(t, env, target)
	for name, pw := range passwords {
		if strings.Contains(logs(), pw) {
			t.Errorf("the trigger's log holds %s's password", name)
		}
	}
}

// buildTriggerHere builds the trigger from this source, for this machine
// (the emulator runs it here).
func buildTriggerHere(t *testing.T) trigger.Built {
	t.Helper()
	src, err := trigger.FindSource(".")
	if err != nil {
		t.Fatal(err)
	}
	built, err := trigger.Build(context.Background(), src, t.TempDir(), runtime.GOARCH)
	if err != nil {
		t.Fatal(err)
	}
	return built
}
