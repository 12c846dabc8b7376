package cli

import (
	"context"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	cip "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider"
	cogtypes "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider/types"

	"github.com/poolmigrate/poolmigrate/testbed/testenv"
)

// TestMigrateGen2KeepPasswords drives `migrate --keep-passwords` on a Gen 2
// app through every step. The deploys are planted directly (the stacks'
// templates, amplify_outputs.json); what each block synthesizes to is
// proved with the real toolchain in gen2patch. The trigger block goes in
// after `trigger deploy`; while the window waits, a user signs in to the
// new pool through the function that block's ARN names (the trigger, built
// for this machine, run by the Lambda Runtime Interface Emulator), and
// closing it imports the rest, syncs, verifies, takes the trigger and its
// block away and retires the old pool.
func TestMigrateGen2KeepPasswords(t *testing.T) {
	shared := testenv.Require(t)
	testenv.RequireAppSync(t)
	rie := os.Getenv("POOLMIGRATE_TESTBED_RIE")
	testenv.SkipUnless(t, rie != "", "the Lambda Runtime Interface Emulator is not installed: run testbed/testbed.sh up (or scripts/test.sh)")
	ctx := context.Background()
	built := buildTriggerHere(t)
	bed := shared.TriggerBed(t, rie)
	env := bed.Env
	dir := copyGen2App(t)
	sp := plantSourcePool(t, env)
	const password = "Old-Secret-003!"
	var email string
	for _, u := range sp.users {
		if u.Username == "user003" {
			email = u.Attrs["email"]
		}
	}
	if _, err := env.Local.AdminSetUserPassword(ctx, &cip.AdminSetUserPasswordInput{UserPoolId: &sp.id, Username: aws.String("user003"), Password: aws.String(password), Permanent: true}); err != nil {
		t.Fatal(err)
	}
	suffix := testenv.RandomSuffix()
	apiID := "kp" + suffix + strings.Repeat("k", 16)
	url := "https://" + suffix + "keep.appsync-api.us-east-1.amazonaws.com/graphql"
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
	outputs := func(pool string) {
		t.Helper()
		o := strings.NewReplacer("eu-central-1_Q7bW3nL2x", pool, "https://u3nq4lrpwbbzzmhwdxqvhbq7ue.appsync-api.eu-central-1.amazonaws.com/graphql", url, "eu-central-1", "us-east-1").Replace(gen2Outputs)
		if err := os.WriteFile(filepath.Join(dir, "amplify_outputs.json"), []byte(o), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	outputs(sp.id)
	authStack := "amplify-gen2notes-main-branch-" + suffix + "-auth179371D7-KEEP"
	deployed := func(policy string) {
		env.PlantStackTemplate(t, authStack, "arn:aws:cloudformation:us-east-1:000000000000:stack/"+authStack+"/1", nil,
			map[string]string{"amplifyAuthUserPool4BA7F805": sp.id},
			`{"Resources":{"amplifyAuthUserPool4BA7F805":{"Type":"AWS::Cognito::UserPool","DeletionPolicy":"`+policy+`","UpdateReplacePolicy":"`+policy+`"}}}`)
	}
	deployed("Delete")
	zipFile := built.Zip
	policies := []string{"--on-duplicate", "keep-newest", "--on-unverified", "skip", "--skip", "INVALID_PHONE,INVALID_USERNAME"}
	migrate := func(extra ...string) string {
		t.Helper()
		args := append([]string{"migrate", "--yes", "--method", "admin", "--rate-scale", "1000", "--zip", zipFile}, extra...)
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
	if out := migrate("--keep-passwords"); !strings.Contains(backendTS(), "poolmigrate:begin retain") {
		t.Fatalf("retain:\n%s", out)
	}
	// Without a whole backup the flow does not go on to the deploys.
	backups, _ := filepath.Glob(filepath.Join(dir, ".poolmigrate", "backups", sp.id+"-*.jsonl"))
	if len(backups) != 1 {
		t.Fatalf("backups: %v", backups)
	}
	whole, err := os.ReadFile(backups[0])
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(backups[0], whole[:len(whole)/2], 0o600); err != nil {
		t.Fatal(err)
	}
	if out, stderr, err := runApp(t, dir, nil, "migrate", "--yes"); err == nil || !strings.Contains(err.Error(), "does not verify") {
		t.Fatalf("migrate with a cut backup: %v\n%s%s", err, out, stderr)
	}
	if err := os.WriteFile(backups[0], whole, 0o600); err != nil {
		t.Fatal(err)
	}
	if out := migrate(); !strings.Contains(out, "does not keep user pool") {
		t.Fatalf("before deploy 1:\n%s", out)
	}
	deployed("Retain")
	if out := migrate(); !strings.Contains(backendTS(), "poolmigrate:begin new-pool") || !strings.Contains(out, "Now deploy the new pool") {
		t.Fatalf("patch:\n%s", out)
	}
	target := env.NewPool(t, emailSignInPool())
	outputs(target)
	out := migrate(policies...)
	m := regexp.MustCompile(`'LambdaConfig\.UserMigration', '(arn:aws:lambda:us-east-1:000000000000:function:([A-Za-z0-9_-]+))'`).FindStringSubmatch(backendTS())
	if m == nil || !strings.Contains(out, "authFlowType: 'USER_PASSWORD_AUTH'") {
		t.Fatalf("the trigger block:\n%s\n%s", out, backendTS())
	}
	// The next deploy sets the ARN of the block: it must be the function
	// `trigger deploy` made and attached, and a user signs in through it.
	desc := must2[*cip.DescribeUserPoolOutput](t)(env.Local.DescribeUserPool(ctx, &cip.DescribeUserPoolInput{UserPoolId: &target}))
	if lc := desc.UserPool.LambdaConfig; lc == nil || aws.ToString(lc.UserMigration) != m[1] {
		t.Errorf("backend.ts wires %s; trigger deploy attached %v", m[1], lc)
	}
	logs := bed.StartFunction(t, m[2], built.Bootstrap)
	app := must2[*cip.CreateUserPoolClientOutput](t)(env.Local.CreateUserPoolClient(ctx, &cip.CreateUserPoolClientInput{UserPoolId: &target, ClientName: aws.String("web"),
		ExplicitAuthFlows: []cogtypes.ExplicitAuthFlowsType{cogtypes.ExplicitAuthFlowsTypeAllowUserPasswordAuth}})).UserPoolClient.ClientId
	signIn, err := env.Local.InitiateAuth(ctx, &cip.InitiateAuthInput{ClientId: app, AuthFlow: cogtypes.AuthFlowTypeUserPasswordAuth,
		AuthParameters: map[string]string{"USERNAME": email, "PASSWORD": password}})
	if err != nil || signIn.AuthenticationResult == nil || aws.ToString(signIn.AuthenticationResult.AccessToken) == "" {
		t.Fatalf("user003 signing in to the new pool through %s: %v\n%s", m[2], err, logs())
	}
	if out := migrate(policies...); !strings.Contains(out, "migration window is open") {
		t.Fatalf("the window:\n%s", out)
	}
	// The export's policies left five users out: retire names them and
	// deletes nothing until their number is accepted and typed.
	closing := append(policies, "--close-window", "--confirm-pool-id", sp.id)
	o, e, err := runApp(t, dir, nil, append([]string{"migrate", "--yes", "--method", "admin", "--rate-scale", "1000", "--zip", zipFile}, closing...)...)
	if err == nil || !strings.Contains(err.Error(), "--accept-unmigrated 5") || !strings.Contains(o+e, "  badphone  sub ") {
		t.Fatalf("closing the window with five users left out: %v\n%s%s", err, o, e)
	}
	if _, err := env.Local.DescribeUserPool(ctx, &cip.DescribeUserPoolInput{UserPoolId: aws.String(sp.id)}); err != nil {
		t.Fatalf("the old pool went with five users not accepted: %v", err)
	}
	out = migrate(append(closing, "--accept-unmigrated", "5", "--confirm-unmigrated", "5")...)
	if !strings.Contains(out, "Migration complete") || !strings.Contains(out, "Deleted the old user pool") {
		t.Fatalf("closing the window:\n%s", out)
	}
	if strings.Contains(backendTS(), "migration-trigger") || !strings.Contains(backendTS(), "poolmigrate:begin new-pool") {
		t.Errorf("after the window, backend.ts:\n%s", backendTS())
	}
	if _, err := env.Local.DescribeUserPool(ctx, &cip.DescribeUserPoolInput{UserPoolId: aws.String(sp.id)}); err == nil {
		t.Error("the old pool is still there")
	}
}
