package cli

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	cip "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider"
	cogtypes "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider/types"

	"github.com/poolmigrate/poolmigrate/testbed/amplifycli"
	"github.com/poolmigrate/poolmigrate/testbed/amplifysim"
	"github.com/poolmigrate/poolmigrate/testbed/testenv"
)

// TestMigrateKeepPasswords drives `migrate --keep-passwords` through every
// step, with the real Amplify CLI between them (only `amplify push` is
// simulated): it waits until the deployed auth stack keeps the old pool,
// deploys the trigger, holds the window open while users sign in (here:
// created as the trigger creates them), and on --close-window imports the
// rest, syncs, verifies, removes the trigger and retires the old pool.
func TestMigrateKeepPasswords(t *testing.T) {
	env := testenv.Require(t)
	testenv.SkipUnless(t, os.Getenv("AWS_ENDPOINT_URL_LAMBDA") != "", "restart the test bed (testbed/testbed.sh down; up): it predates the Lambda endpoint")
	amp := amplifycli.Require(t)
	ctx := context.Background()
	dir := copyProject(t, "../examples/notes-app")
	sp := plantSourcePool(t, env)
	deployedNotesApp(t, env, dir, sp.id, "kp")
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
	zipFile := filepath.Join(t.TempDir(), "trigger.zip")
	writeBootstrapZip(t, zipFile)
	policies := []string{"--on-duplicate", "keep-newest", "--on-unverified", "skip", "--skip", "INVALID_PHONE,INVALID_USERNAME"}
	migrate := func(extra ...string) (string, error) {
		args := append([]string{"migrate", "--yes", "--method", "admin", "--rate-scale", "1000", "--zip", zipFile}, extra...)
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
	// Two users sign in during the window: the trigger creates them.
	for _, u := range sp.users[:2] {
		var sub string
		for _, su := range must2[*cip.ListUsersOutput](t)(env.Local.ListUsers(ctx, &cip.ListUsersInput{UserPoolId: &sp.id, Filter: aws.String(`username = "` + u.Username + `"`)})).Users {
			for _, a := range su.Attributes {
				if *a.Name == "sub" {
					sub = *a.Value
				}
			}
		}
		if _, err := env.Local.AdminCreateUser(ctx, &cip.AdminCreateUserInput{UserPoolId: &target, Username: aws.String(u.Attrs["email"]), MessageAction: cogtypes.MessageActionTypeSuppress,
			UserAttributes: []cogtypes.AttributeType{{Name: aws.String("email"), Value: aws.String(u.Attrs["email"])}, {Name: aws.String("email_verified"), Value: aws.String("true")},
				{Name: aws.String("custom:prev_sub_id"), Value: aws.String(sub)}, {Name: aws.String("custom:prev_username"), Value: aws.String(u.Username)}}}); err != nil {
			t.Fatal(err)
		}
	}
	if out, err := migrate(policies...); err != nil || !strings.Contains(out, "migration window is open") {
		t.Fatalf("the window stays open without --close-window: %v\n%s", err, out)
	}
	// Closing it: import the rest, sync, verify, remove the trigger,
	// retire the old pool (its id typed).
	out, err = migrate(append(policies, "--close-window", "--confirm-pool-id", sp.id)...)
	if err != nil || !strings.Contains(out, "Migration complete") || !strings.Contains(out, "Deleted the old user pool") {
		t.Fatalf("closing the window: %v\n%s", err, out)
	}
	if _, err := env.Local.DescribeUserPool(ctx, &cip.DescribeUserPoolInput{UserPoolId: &sp.id}); err == nil {
		t.Error("the old pool is still there")
	}
	if out, _, err := runApp(t, dir, nil, "trigger", "status", "--old-pool", sp.id, "--target-pool", target); err == nil || !strings.Contains(out, "does not exist") {
		t.Errorf("the trigger after the window: %v %s", err, out)
	}
}
