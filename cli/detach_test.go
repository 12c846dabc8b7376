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
	"github.com/tidwall/gjson"

	"github.com/poolmigrate/poolmigrate/testbed/testenv"
)

// TestDetachProvesThePool: in a fresh clone (no amplify-meta.json) detach
// accepts a backup only when it is provably of this env's pool, from the
// auth stack's UserPoolId output or from --pool checked with
// DescribeUserPool against Amplify's pool name; it refuses a verified
// backup of any other pool and names both ids.
func TestDetachProvesThePool(t *testing.T) {
	t.Parallel() // own pools, tables and folders
	env := testenv.Require(t)
	ctx := context.Background()
	dir := copyProject(t, "../examples/notes-app")
	if err := os.Remove(filepath.Join(dir, "amplify/backend/amplify-meta.json")); err != nil {
		t.Fatal(err)
	}
	stack := "amplify-notesapp-dev-" + testenv.RandomSuffix()
	replaceInFile(t, filepath.Join(dir, "amplify/team-provider-info.json"), `"StackName": "amplify-notesapp-dev-10101"`, `"StackName": "`+stack+`"`)

	madeUp := env.NewPool(t, testenv.PoolOptions{})
	// The env's real pool carries the name Amplify gives it: <userPoolName>-<env>.
	inputs, _ := os.ReadFile(filepath.Join(dir, "amplify/backend/auth/notesappauth/cli-inputs.json"))
	poolName := gjson.GetBytes(inputs, "cognitoConfig.userPoolName").String() + "-dev"
	out, err := env.Local.CreateUserPool(ctx, &cip.CreateUserPoolInput{PoolName: aws.String(poolName), LambdaConfig: &cogtypes.LambdaConfigType{
		PostConfirmation:   aws.String("arn:aws:lambda:us-east-1:111122223333:function:notesappauthPostConfirmation-dev"),
		PreTokenGeneration: aws.String("arn:aws:lambda:us-east-1:111122223333:function:addClaimsByHand"),
	}})
	if err != nil {
		t.Fatal(err)
	}
	real := *out.UserPool.Id
	t.Cleanup(func() {
		_, _ = env.Local.DeleteUserPool(context.Background(), &cip.DeleteUserPoolInput{UserPoolId: &real})
	})
	backup := func(pool string) string {
		f := filepath.Join(t.TempDir(), pool+".jsonl")
		if _, stderr, err := runApp(t, dir, nil, "backup", "--pool", pool, "--out", f); err != nil {
			t.Fatalf("backup %s: %v\n%s", pool, err, stderr)
		}
		return f
	}
	madeUpBackup, realBackup := backup(madeUp), backup(real)
	detach := func(args ...string) (string, error) {
		stdout, stderr, err := runApp(t, dir, nil, append([]string{"detach"}, args...)...)
		return stdout + stderr, err
	}
	refuse := func(name string, want []string, args ...string) {
		t.Helper()
		out, err := detach(args...)
		if err == nil {
			t.Fatalf("%s: detach accepted it:\n%s", name, out)
		}
		for _, w := range want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("%s: the error does not name %q: %v", name, w, err)
			}
		}
		if data, _ := os.ReadFile(filepath.Join(dir, "amplify/backend/backend-config.json")); !strings.Contains(string(data), `"resourceName": "notesappauth"`) {
			t.Fatalf("%s: detach changed the files although it refused", name)
		}
	}

	// No amplify-meta.json, no deployed stack, no --pool: nothing proves it.
	refuse("made-up pool, nothing to prove it", []string{madeUp, "cannot be proved", "--pool"}, "--backup", madeUpBackup)
	// --pool names a pool, but not one Amplify made for this env.
	refuse("made-up pool named in --pool", []string{madeUp, poolName}, "--backup", madeUpBackup, "--pool", madeUp)
	refuse("--pool and backup disagree", []string{madeUp, real}, "--backup", madeUpBackup, "--pool", real)
	// The pool's name comes from cli-inputs.json: a file that cannot be
	// read refuses, it does not skip the name check (which let a made-up
	// --pool through).
	inputsPath := filepath.Join(dir, "amplify/backend/auth/notesappauth/cli-inputs.json")
	if err := os.WriteFile(inputsPath, inputs[:len(inputs)/2], 0o644); err != nil {
		t.Fatal(err)
	}
	refuse("made-up pool, cli-inputs.json broken", []string{"cli-inputs.json", "line"}, "--backup", madeUpBackup, "--pool", madeUp)
	if err := os.WriteFile(inputsPath, inputs, 0o644); err != nil {
		t.Fatal(err)
	}

	// The env's deployed auth stack says which pool it is.
	nested := "arn:aws:cloudformation:us-east-1:000000000000:stack/" + stack + "-authnotesappauth-X/1"
	env.PlantStack(t, stack, "arn:aws:cloudformation:us-east-1:000000000000:stack/"+stack+"/0", nil, map[string]string{"authnotesappauth": nested})
	env.PlantStack(t, stack+"-authnotesappauth-X", nested, map[string]string{"UserPoolId": real}, nil)
	refuse("made-up pool, the stack says otherwise", []string{madeUp, real, "UserPoolId output"}, "--backup", madeUpBackup)
	if out, err := detach("--backup", realBackup); err != nil || !strings.Contains(out, "Detached auth notesappauth") {
		t.Fatalf("the stack proves the backup: %v\n%s", err, out)
	}
	if _, err := detach("--undo"); err != nil {
		t.Fatal(err)
	}
	// --pool with the env's pool name proves it too; --live reports the
	// trigger attached by hand (the declared one is carried by patch).
	out2, err := detach("--backup", realBackup, "--pool", real, "--live")
	if err != nil || !strings.Contains(out2, "Detached auth notesappauth") {
		t.Fatalf("--pool of the env's pool: %v\n%s", err, out2)
	}
	if !strings.Contains(out2, "invokes addClaimsByHand for PreTokenGeneration") || strings.Contains(out2, "invokes notesappauthPostConfirmation") {
		t.Errorf("detach --live should report the hand-attached trigger only:\n%s", out2)
	}
}

// TestRetainPoolCheck reads the deployed auth stack's template: the flow
// that keeps passwords goes on only once the old pool is retained.
func TestRetainPoolCheck(t *testing.T) {
	env := testenv.Require(t)
	dir := copyProject(t, "../examples/notes-app")
	stack := "amplify-notesapp-dev-" + testenv.RandomSuffix()
	replaceInFile(t, filepath.Join(dir, "amplify/team-provider-info.json"), `"StackName": "amplify-notesapp-dev-10101"`, `"StackName": "`+stack+`"`)
	arn := func(s string) string { return "arn:aws:cloudformation:us-east-1:000000000000:stack/" + s + "/1" }
	plant := func(template string) {
		env.PlantStack(t, stack, arn(stack), nil, map[string]string{"authnotesappauth": arn(stack + "-auth")})
		env.PlantStackTemplate(t, stack+"-auth", arn(stack+"-auth"), nil, nil, template)
	}
	plant(`{"Resources":{"UserPool":{"Type":"AWS::Cognito::UserPool","Properties":{}}}}`)
	out, _, err := runApp(t, dir, nil, "retain-pool", "--check")
	if err == nil || ExitCode(err) != 1 || !strings.Contains(out, "does not keep its user pool yet") {
		t.Errorf("before the push: %v %s", err, out)
	}
	plant(`{"Resources":{"UserPool":{"Type":"AWS::Cognito::UserPool","DeletionPolicy":"Retain","UpdateReplacePolicy":"Retain","Properties":{}}}}`)
	if out, _, err := runApp(t, dir, nil, "retain-pool", "--check"); err != nil || !strings.Contains(out, "keeps its user pool") {
		t.Errorf("after the push: %v %s", err, out)
	}
}
