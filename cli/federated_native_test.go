package cli

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	cip "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider"
	cogtypes "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider/types"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/poolmigrate/poolmigrate/testbed/testenv"
	"github.com/poolmigrate/poolmigrate/trigger"
)

// TestLinkedPasswordUserKeepsBothWaysInThroughTheTrigger: keep-passwords.
// carol (a password user whose Google login the old pool had linked to
// her) migrates by password through the trigger; the next sync links her
// Google login to that account, found hers by the backup (name and
// verified e-mail). She then signs in either way as one user, with her
// group and her notes. Before that, an account someone made under her
// name gets neither her login nor her data, whether it holds her e-mail
// unverified or an address of its own verified.
func TestLinkedPasswordUserKeepsBothWaysInThroughTheTrigger(t *testing.T) {
	t.Parallel() // own pools, tables and folders
	env := testenv.Require(t)
	ctx := context.Background()
	f := setupFederated(t, env)
	const carolPassword = "Carol-Old-Pass-1!"
	if _, err := env.Cognito.AdminSetUserPassword(ctx, &cip.AdminSetUserPasswordInput{UserPoolId: &f.old, Username: aws.String("carol"), Password: aws.String(carolPassword), Permanent: true}); err != nil {
		t.Fatal(err)
	}
	oldClient, err := env.Cognito.CreateUserPoolClient(ctx, &cip.CreateUserPoolClientInput{UserPoolId: &f.old, ClientName: aws.String("trigger"),
		ExplicitAuthFlows: []cogtypes.ExplicitAuthFlowsType{cogtypes.ExplicitAuthFlowsTypeAllowAdminUserPasswordAuth, cogtypes.ExplicitAuthFlowsTypeAllowRefreshTokenAuth}})
	if err != nil {
		t.Fatal(err)
	}
	target, _ := f.newTarget(t, env, testenv.PoolOptions{AutoVerified: []cogtypes.VerifiedAttributeType{cogtypes.VerifiedAttributeTypeEmail}})
	sync := func() string {
		t.Helper()
		out, stderr, err := runApp(t, f.dir, nil, "sync", "--backup", f.backup, "--target-pool", target, "--yes", "--json")
		if ExitCode(err) > 1 {
			t.Fatalf("sync: %v\n%s\n%s", err, out, stderr)
		}
		return out + stderr
	}
	carolNotes := func() []string {
		t.Helper()
		scan, err := env.Dynamo.Scan(ctx, &dynamodb.ScanInput{TableName: aws.String("Note-" + f.apiID + "-dev")})
		if err != nil {
			t.Fatal(err)
		}
		var owners []string
		for _, it := range scan.Items {
			if it["title"].(*types.AttributeValueMemberS).Value == "Note of carol" {
				owners = append(owners, it["owner"].(*types.AttributeValueMemberS).Value)
			}
		}
		return owners
	}

	// Someone made an account under carol's name before she came over.
	squat := func(attrs ...string) string {
		t.Helper()
		var as []cogtypes.AttributeType
		for i := 0; i < len(attrs); i += 2 {
			as = append(as, cogtypes.AttributeType{Name: aws.String(attrs[i]), Value: aws.String(attrs[i+1])})
		}
		out, err := env.Cognito.AdminCreateUser(ctx, &cip.AdminCreateUserInput{UserPoolId: &target, Username: aws.String("carol"), UserAttributes: as, MessageAction: cogtypes.MessageActionTypeSuppress})
		if err != nil {
			t.Fatal(err)
		}
		return attrOf(out.User.Attributes, "sub")
	}
	for _, attrs := range [][]string{{"email", "carol@example.com", "email_verified", "false"}, {"email", "mallory@example.com", "email_verified", "true"}} {
		sub := squat(attrs...)
		out := sync()
		u, err := env.Cognito.AdminGetUser(ctx, &cip.AdminGetUserInput{UserPoolId: &target, Username: aws.String("carol")})
		if err != nil {
			t.Fatal(err)
		}
		if ids := attrOf(u.UserAttributes, "identities"); ids != "" {
			t.Errorf("an account under carol's name (%v) got her login: %s\n%s", attrs, ids, out)
		}
		for _, owner := range carolNotes() {
			if strings.HasPrefix(owner, sub) {
				t.Errorf("an account under carol's name (%v) got her note: %s", attrs, owner)
			}
		}
		if _, err := env.Cognito.AdminDeleteUser(ctx, &cip.AdminDeleteUserInput{UserPoolId: &target, Username: aws.String("carol")}); err != nil {
			t.Fatal(err)
		}
	}

	// carol signs in to the new pool with her old password: the trigger
	// (its code, run here against the old pool) answers what Cognito
	// creates her with.
	h := &trigger.Handler{Pool: env.Cognito, Config: trigger.Config{OldPoolID: f.old, OldClientID: *oldClient.UserPoolClient.ClientId, Attributes: trigger.DefaultAttributes},
		Logf: func(string, ...any) {}, Sleep: func(context.Context, time.Duration) {}}
	ev := events.CognitoEventUserPoolsMigrateUser{}
	ev.TriggerSource, ev.UserName, ev.UserPoolID = trigger.SourceAuthentication, "carol", target
	ev.CognitoEventUserPoolsMigrateUserRequest.Password = carolPassword
	resp, err := h.Handle(ctx, ev)
	if err != nil {
		t.Fatalf("the trigger refused carol: %v", err)
	}
	attrs := resp.CognitoEventUserPoolsMigrateUserResponse.UserAttributes
	if attrs[trigger.PrevSubAttr] != "" || attrs[trigger.PrevUsernameAttr] != "" || attrs["email_verified"] != "true" {
		t.Fatalf("the trigger creates carol with %v", attrs)
	}
	var as []cogtypes.AttributeType
	for k, v := range attrs {
		as = append(as, cogtypes.AttributeType{Name: aws.String(k), Value: aws.String(v)})
	}
	if _, err := env.Cognito.AdminCreateUser(ctx, &cip.AdminCreateUserInput{UserPoolId: &target, Username: aws.String("carol"), UserAttributes: as, MessageAction: cogtypes.MessageActionTypeSuppress}); err != nil {
		t.Fatal(err)
	}
	if _, err := env.Cognito.AdminSetUserPassword(ctx, &cip.AdminSetUserPasswordInput{UserPoolId: &target, Username: aws.String("carol"), Password: aws.String(carolPassword), Permanent: true}); err != nil {
		t.Fatal(err)
	}

	// The next sync links her Google login to her, and maps her.
	if out := sync(); strings.Contains(out, "Federated user carol") || strings.Contains(out, "Login of carol") {
		t.Fatalf("sync after carol came over:\n%s", out)
	}
	carol, err := env.Cognito.AdminGetUser(ctx, &cip.AdminGetUserInput{UserPoolId: &target, Username: aws.String("carol")})
	if err != nil {
		t.Fatal(err)
	}
	sub := attrOf(carol.UserAttributes, "sub")
	s, err := testenv.SignInThroughProvider(ctx, target, "Google", "1003", map[string]string{"email": "carol@example.com"})
	if err != nil || s.Created || s.Sub != sub || strings.Join(s.Groups, ",") != "Admin" {
		t.Fatalf("carol through Google: %+v %v (want sub %s, group Admin)", s, err, sub)
	}
	app, err := env.Cognito.CreateUserPoolClient(ctx, &cip.CreateUserPoolClientInput{UserPoolId: &target, ClientName: aws.String("app"),
		ExplicitAuthFlows: []cogtypes.ExplicitAuthFlowsType{cogtypes.ExplicitAuthFlowsTypeAllowAdminUserPasswordAuth, cogtypes.ExplicitAuthFlowsTypeAllowRefreshTokenAuth}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := env.Cognito.AdminInitiateAuth(ctx, &cip.AdminInitiateAuthInput{UserPoolId: &target, ClientId: app.UserPoolClient.ClientId, AuthFlow: cogtypes.AuthFlowTypeAdminUserPasswordAuth,
		AuthParameters: map[string]string{"USERNAME": "carol", "PASSWORD": carolPassword}}); err != nil {
		t.Errorf("carol's password sign-in: %v", err)
	}
	owners := carolNotes()
	if len(owners) != 3 {
		t.Fatalf("carol's notes: %v", owners)
	}
	for _, o := range owners {
		if o != sub+"::carol" {
			t.Errorf("a note of carol names %s, want %s::carol", o, sub)
		}
	}
}
