package trigger

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"
	cip "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider"
	"github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider/types"

	"github.com/poolmigrate/poolmigrate/testbed/testenv"
)

// TestSignInWithTheOldPassword runs the trigger for real: built from
// cmd/migration-trigger, served by the AWS Lambda Runtime Interface
// Emulator, and invoked by a cognito-local whose UserMigration trigger
// points at it. Users sign in to the NEW pool with their OLD passwords.
//
// cognito-local's own ways, which are not AWS's and which the test does
// not rely on: a refused migration comes back as NotAuthorizedException
// (or HTTP 500) and the migrated user's username is a random UUID (AWS
// uses the name typed), so migrated users are found by custom:prev_sub_id.
func TestSignInWithTheOldPassword(t *testing.T) {
	rie := os.Getenv("POOLMIGRATE_TESTBED_RIE")
	if rie == "" {
		testenv.Skip(t, "the Lambda Runtime Interface Emulator is not installed: run testbed/testbed.sh up (or scripts/test.sh)")
	}
	defer func() {
		if r := recover(); r != nil {
			t.Fatal(r)
		}
	}()
	ctx := context.Background()
	dir := t.TempDir()
	// What `poolmigrate trigger build` makes, for this machine's
	// architecture (the emulator runs it here).
	src, err := FindSource(".")
	if err != nil {
		t.Fatal(err)
	}
	built, err := Build(ctx, src, dir, runtime.GOARCH)
	if err != nil {
		t.Fatal(err)
	}
	bootstrap := built.Bootstrap

	// cognito-local, with its UserMigration trigger at the emulator.
	riePort, apiPort := testenv.FreePort(t), testenv.FreePort(t)
	rieURL := fmt.Sprintf("http://127.0.0.1:%d", riePort)
	local := testenv.StartCognitoLocal(t, map[string]any{
		"TriggerFunctions": map[string]string{"UserMigration": "function"},
		"LambdaClient":     map[string]any{"endpoint": rieURL, "region": "us-east-1", "credentials": map[string]string{"accessKeyId": "local", "secretAccessKey": "local"}},
	}, nil)
	cfg, err := config.LoadDefaultConfig(ctx, config.WithRegion("us-east-1"),
		config.WithCredentialsProvider(credentials.NewStaticCredentialsProvider("local", "local", "")))
	if err != nil {
		t.Fatal(err)
	}
	idp := cip.NewFromConfig(cfg, func(o *cip.Options) { o.BaseEndpoint = aws.String(local) })

	// The old pool: username sign-in; alice and bob, dave disabled,
	// frank and frank2 sharing an e-mail.
	oldPool := *must(idp.CreateUserPool(ctx, &cip.CreateUserPoolInput{PoolName: aws.String("old")})).UserPool.Id
	oldClient := *must(idp.CreateUserPoolClient(ctx, &cip.CreateUserPoolClientInput{UserPoolId: &oldPool, ClientName: aws.String("trigger"),
		ExplicitAuthFlows: []types.ExplicitAuthFlowsType{types.ExplicitAuthFlowsTypeAllowAdminUserPasswordAuth}})).UserPoolClient.ClientId
	oldSub := map[string]string{}
	for _, u := range []struct{ name, email, password string }{
		{"alice", "alice@example.com", "Old-Secret-1a!"}, {"bob", "bob@example.com", "Old-Secret-1b!"},
		{"dave", "dave@example.com", "Old-Secret-1d!"}, {"frank", "shared@example.com", "Old-Secret-1f!"}, {"frank2", "shared@example.com", "Old-Secret-1g!"},
	} {
		out := must(idp.AdminCreateUser(ctx, &cip.AdminCreateUserInput{UserPoolId: &oldPool, Username: aws.String(u.name), MessageAction: types.MessageActionTypeSuppress,
			UserAttributes: []types.AttributeType{{Name: aws.String("email"), Value: aws.String(u.email)}, {Name: aws.String("email_verified"), Value: aws.String("true")}}}))
		for _, a := range out.User.Attributes {
			if *a.Name == "sub" {
				oldSub[u.name] = *a.Value
			}
		}
		must(idp.AdminSetUserPassword(ctx, &cip.AdminSetUserPasswordInput{UserPoolId: &oldPool, Username: aws.String(u.name), Password: aws.String(u.password), Permanent: true}))
	}
	must(idp.AdminDisableUser(ctx, &cip.AdminDisableUserInput{UserPoolId: &oldPool, Username: aws.String("dave")}))

	// The trigger under the emulator, pointed at the old pool.
	rieCmd := exec.Command(rie, "--runtime-interface-emulator-address", fmt.Sprintf("127.0.0.1:%d", riePort), "--runtime-api-address", fmt.Sprintf("127.0.0.1:%d", apiPort), bootstrap)
	rieCmd.Env = append(os.Environ(), "OLD_USER_POOL_ID="+oldPool, "OLD_APP_CLIENT_ID="+oldClient,
		"AWS_ENDPOINT_URL_COGNITO_IDENTITY_PROVIDER="+local, "AWS_REGION=us-east-1", "AWS_ACCESS_KEY_ID=local", "AWS_SECRET_ACCESS_KEY=local")
	var rieLogs bytes.Buffer
	rieCmd.Stdout, rieCmd.Stderr = &rieLogs, &rieLogs
	if err := rieCmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = rieCmd.Process.Kill(); _ = rieCmd.Wait() })
	testenv.WaitHTTP(t, rieURL+"/", 20*time.Second, rieLogs.String)

	// The new pool, with the old-identity attributes.
	newPool := *must(idp.CreateUserPool(ctx, &cip.CreateUserPoolInput{PoolName: aws.String("new"), Schema: []types.SchemaAttributeType{
		{Name: aws.String("prev_sub_id"), AttributeDataType: types.AttributeDataTypeString, Mutable: aws.Bool(true)},
		{Name: aws.String("prev_username"), AttributeDataType: types.AttributeDataTypeString, Mutable: aws.Bool(true)}}})).UserPool.Id
	newClient := *must(idp.CreateUserPoolClient(ctx, &cip.CreateUserPoolClientInput{UserPoolId: &newPool, ClientName: aws.String("app"),
		ExplicitAuthFlows: []types.ExplicitAuthFlowsType{types.ExplicitAuthFlowsTypeAllowUserPasswordAuth}})).UserPoolClient.ClientId
	signIn := func(user, password string) (*cip.InitiateAuthOutput, error) {
		return idp.InitiateAuth(ctx, &cip.InitiateAuthInput{ClientId: &newClient, AuthFlow: types.AuthFlowTypeUserPasswordAuth,
			AuthParameters: map[string]string{"USERNAME": user, "PASSWORD": password}})
	}
	migrated := func() map[string]map[string]string { // old sub -> attributes
		out := map[string]map[string]string{}
		for _, u := range must(idp.ListUsers(ctx, &cip.ListUsersInput{UserPoolId: &newPool})).Users {
			attrs := map[string]string{}
			for _, a := range u.Attributes {
				attrs[*a.Name] = *a.Value
			}
			out[attrs[PrevSubAttr]] = attrs
		}
		return out
	}

	// Right password: tokens, and alice now exists in the new pool.
	out, err := signIn("alice", "Old-Secret-1a!")
	if err != nil || out.AuthenticationResult == nil || out.AuthenticationResult.AccessToken == nil {
		t.Fatalf("alice with her old password: %v\n%s", err, rieLogs.String())
	}
	if a := migrated()[oldSub["alice"]]; a == nil || a[PrevUsernameAttr] != "alice" || a["email"] != "alice@example.com" || a["email_verified"] != "true" {
		t.Errorf("alice in the new pool: %v", a)
	}
	// Wrong password, unknown user, a disabled user, an e-mail two old
	// users share: refused, and nobody is created.
	for _, c := range [][2]string{{"bob", "not-his-password"}, {"mallory", "Old-Secret-1a!"}, {"dave", "Old-Secret-1d!"}, {"shared@example.com", "Old-Secret-1f!"}} {
		if _, err := signIn(c[0], c[1]); err == nil {
			t.Errorf("%s signed in", c[0])
		}
	}
	if got := migrated(); len(got) != 1 {
		t.Errorf("refused sign-ins created users: %v", got)
	}
	// The e-mail, for a username-based old pool.
	if out, err := signIn("bob@example.com", "Old-Secret-1b!"); err != nil || out.AuthenticationResult == nil {
		t.Fatalf("bob by e-mail: %v\n%s", err, rieLogs.String())
	}
	if a := migrated()[oldSub["bob"]]; a == nil || a[PrevUsernameAttr] != "bob" {
		t.Errorf("bob in the new pool: %v", a)
	}
	// Forgot password (cognito-local does not send this source): the
	// handler through the emulator, directly.
	ev := events.CognitoEventUserPoolsMigrateUser{}
	ev.TriggerSource, ev.UserName, ev.UserPoolID = SourceForgotPassword, "alice@example.com", newPool
	body, _ := json.Marshal(ev)
	resp, err := http.Post(rieURL+"/2015-03-31/functions/function/invocations", "application/json", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	data, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	var fp events.CognitoEventUserPoolsMigrateUser
	if err := json.Unmarshal(data, &fp); err != nil || fp.CognitoEventUserPoolsMigrateUserResponse.UserAttributes[PrevSubAttr] != oldSub["alice"] || fp.CognitoEventUserPoolsMigrateUserResponse.MessageAction != "SUPPRESS" {
		t.Errorf("forgot password: %v %s", err, data)
	}
	for _, secret := range []string{"Old-Secret", "not-his-password"} {
		if strings.Contains(rieLogs.String(), secret) {
			t.Errorf("the trigger's log holds a password:\n%s", rieLogs.String())
		}
	}
}

// must panics on an error; the test turns the panic into a failure.
func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}
