package cognitoshim_test

import (
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	cip "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider"
	"github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider/types"

	"github.com/poolmigrate/poolmigrate/testbed/testenv"
)

// In a case-insensitive pool (what the console, `amplify add auth` and
// Gen 2 make) Alice and alice are one user: create, get, sign-in, group
// calls, filters and the CSV import all meet the one that exists. A
// case-sensitive pool keeps them apart.
func TestCaseInsensitivePoolsFoldUsernames(t *testing.T) {
	env := testenv.Require(t)
	c := env.Cognito
	pool := env.NewPool(t, testenv.PoolOptions{CaseInsensitive: true, AutoVerified: []types.VerifiedAttributeType{types.VerifiedAttributeTypeEmail}})
	app, err := c.CreateUserPoolClient(ctx, &cip.CreateUserPoolClientInput{UserPoolId: &pool, ClientName: aws.String("app"),
		ExplicitAuthFlows: []types.ExplicitAuthFlowsType{types.ExplicitAuthFlowsTypeAllowAdminUserPasswordAuth}})
	if err != nil {
		t.Fatal(err)
	}
	p := &authPool{t: t, c: c, id: pool, client: *app.UserPoolClient.ClientId}
	p.add("Alice", "Passw0rd!x", true, "email", "alice@example.com", "email_verified", "true")

	_, err = c.AdminCreateUser(ctx, &cip.AdminCreateUserInput{UserPoolId: &pool, Username: aws.String("alice"), MessageAction: types.MessageActionTypeSuppress})
	if apiCode(err) != "UsernameExistsException" {
		t.Errorf("create alice beside Alice: %v, want UsernameExistsException", err)
	}
	got, err := c.AdminGetUser(ctx, &cip.AdminGetUserInput{UserPoolId: &pool, Username: aws.String("ALICE")})
	if err != nil || aws.ToString(got.Username) != "Alice" {
		t.Errorf("get ALICE: %v %v, want Alice", got, err)
	}
	if out, err := p.signIn("alice", "Passw0rd!x"); err != nil || out.AuthenticationResult == nil {
		t.Errorf("sign in as alice: %v", err)
	}
	if _, err := p.signIn("alice", "passw0rd!x"); apiCode(err) != "NotAuthorizedException" {
		t.Errorf("a password in another case: %v, want NotAuthorizedException (passwords never fold)", err)
	}
	if _, err := c.CreateGroup(ctx, &cip.CreateGroupInput{UserPoolId: &pool, GroupName: aws.String("team")}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.AdminAddUserToGroup(ctx, &cip.AdminAddUserToGroupInput{UserPoolId: &pool, GroupName: aws.String("team"), Username: aws.String("aLiCe")}); err != nil {
		t.Errorf("add aLiCe to a group: %v", err)
	}
	for _, f := range []string{`username = "alice"`, `username ^= "ALI"`, `email = "Alice@Example.com"`} {
		out, err := c.ListUsers(ctx, &cip.ListUsersInput{UserPoolId: &pool, Filter: aws.String(f)})
		if err != nil || len(out.Users) != 1 || aws.ToString(out.Users[0].Username) != "Alice" {
			t.Errorf("ListUsers %s: %v %v, want Alice", f, out, err)
		}
	}
	// The CSV import meets her too: the row for alice is not a second user.
	data := csvFor(header(t, c, pool), row("alice"), row("bob"))
	job := runImport(t, c, pool, data)
	if job.ImportedUsers != 1 || job.SkippedUsers != 1 {
		t.Errorf("import of alice and bob: imported %d, skipped %d, failed %d; want 1, 1, 0", job.ImportedUsers, job.SkippedUsers, job.FailedUsers)
	}
	if all, err := c.ListUsers(ctx, &cip.ListUsersInput{UserPoolId: &pool}); err != nil || len(all.Users) != 2 {
		t.Errorf("the pool holds %v users (%v), want Alice and bob", len(all.Users), err)
	}

	// A case-sensitive pool keeps Alice and alice apart.
	strict := env.NewPool(t, testenv.PoolOptions{})
	for _, name := range []string{"Alice", "alice"} {
		if _, err := c.AdminCreateUser(ctx, &cip.AdminCreateUserInput{UserPoolId: &strict, Username: aws.String(name), MessageAction: types.MessageActionTypeSuppress}); err != nil {
			t.Errorf("case-sensitive pool: create %s: %v", name, err)
		}
	}
	if _, err := c.AdminGetUser(ctx, &cip.AdminGetUserInput{UserPoolId: &strict, Username: aws.String("ALICE")}); apiCode(err) != "UserNotFoundException" {
		t.Errorf("case-sensitive pool: get ALICE: %v, want UserNotFoundException", err)
	}
}

// A pool that signs in by email folds the email's case: Shared@ and
// shared@ are one user, to create and to import.
func TestCaseInsensitiveEmailSignIn(t *testing.T) {
	env := testenv.Require(t)
	c := env.Cognito
	pool := env.NewPool(t, testenv.PoolOptions{CaseInsensitive: true, UsernameAttributes: []types.UsernameAttributeType{types.UsernameAttributeTypeEmail},
		AutoVerified: []types.VerifiedAttributeType{types.VerifiedAttributeTypeEmail}})
	if _, err := c.AdminCreateUser(ctx, &cip.AdminCreateUserInput{UserPoolId: &pool, Username: aws.String("Shared@Example.com"), MessageAction: types.MessageActionTypeSuppress,
		UserAttributes: []types.AttributeType{{Name: aws.String("email"), Value: aws.String("Shared@Example.com")}, {Name: aws.String("email_verified"), Value: aws.String("true")}}}); err != nil {
		t.Fatal(err)
	}
	_, err := c.AdminCreateUser(ctx, &cip.AdminCreateUserInput{UserPoolId: &pool, Username: aws.String("shared@example.com"), MessageAction: types.MessageActionTypeSuppress})
	if apiCode(err) != "UsernameExistsException" {
		t.Errorf("create shared@ beside Shared@: %v, want UsernameExistsException", err)
	}
	if _, err := c.AdminGetUser(ctx, &cip.AdminGetUserInput{UserPoolId: &pool, Username: aws.String("SHARED@example.com")}); err != nil {
		t.Errorf("get SHARED@: %v", err)
	}
	h := header(t, c, pool)
	r := func(email string) map[string]string {
		return map[string]string{"cognito:username": email, "cognito:mfa_enabled": "false", "email": email, "email_verified": "true"}
	}
	job := runImport(t, c, pool, csvFor(h, r("shared@EXAMPLE.com"), r("other@example.com"), r("Other@example.com")))
	if job.ImportedUsers != 1 || job.SkippedUsers != 2 {
		t.Errorf("import: imported %d, skipped %d, failed %d; want 1, 2, 0", job.ImportedUsers, job.SkippedUsers, job.FailedUsers)
	}
}
