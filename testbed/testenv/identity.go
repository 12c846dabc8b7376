package testenv

import (
	"context"
	"os"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cognitoidentity"
	citypes "github.com/aws/aws-sdk-go-v2/service/cognitoidentity/types"
	cip "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider"
	"github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider/types"
)

// CognitoIdentity returns a Cognito Identity client for the test bed (the
// shim, at AWS_ENDPOINT_URL_COGNITO_IDENTITY), retrying throttling as the
// tool's clients do.
func (e *Env) CognitoIdentity(t testing.TB) *cognitoidentity.Client {
	t.Helper()
	if os.Getenv("AWS_ENDPOINT_URL_COGNITO_IDENTITY") == "" {
		Skip(t, "the test bed's Cognito Identity is not running: run `testbed/testbed.sh up` and `source .testbed/env` (or use scripts/test.sh)")
	}
	return cognitoidentity.NewFromConfig(e.Config, func(o *cognitoidentity.Options) { o.Retryer = PatientRetryer() })
}

// UserPoolProvider is a user pool's provider name in an identity pool
// (and the key of its logins): cognito-idp.<region>.amazonaws.com/<poolId>.
func UserPoolProvider(region, pool string) string {
	return "cognito-idp." + region + ".amazonaws.com/" + pool
}

// UserPoolLogin is a user pool and one of its app clients whose ID tokens
// an identity pool accepts.
type UserPoolLogin struct {
	UserPoolID string
	ClientID   string
}

// NewIdentityPool creates an identity pool accepting logins from the given
// user pools and clients (allowGuests: unauthenticated identities too) and
// deletes it when the test ends. It returns the identity pool id.
func (e *Env) NewIdentityPool(t testing.TB, allowGuests bool, logins ...UserPoolLogin) string {
	t.Helper()
	c := e.CognitoIdentity(t)
	in := &cognitoidentity.CreateIdentityPoolInput{IdentityPoolName: aws.String("t_" + RandomSuffix()), AllowUnauthenticatedIdentities: allowGuests}
	for _, l := range logins {
		in.CognitoIdentityProviders = append(in.CognitoIdentityProviders, citypes.CognitoIdentityProvider{
			ProviderName: aws.String(UserPoolProvider(e.Config.Region, l.UserPoolID)), ClientId: aws.String(l.ClientID)})
	}
	out, err := c.CreateIdentityPool(context.Background(), in)
	if err != nil {
		t.Fatalf("create identity pool: %v", err)
	}
	id := aws.ToString(out.IdentityPoolId)
	t.Cleanup(func() {
		_, _ = c.DeleteIdentityPool(context.Background(), &cognitoidentity.DeleteIdentityPoolInput{IdentityPoolId: &id})
	})
	return id
}

// NewSignInClient creates an app client of a pool that allows the admin
// password sign-in (ADMIN_USER_PASSWORD_AUTH) and returns its id.
func (e *Env) NewSignInClient(t testing.TB, pool string) string {
	t.Helper()
	out, err := e.Cognito.CreateUserPoolClient(context.Background(), &cip.CreateUserPoolClientInput{UserPoolId: &pool, ClientName: aws.String("signin-" + RandomSuffix()),
		ExplicitAuthFlows: []types.ExplicitAuthFlowsType{types.ExplicitAuthFlowsTypeAllowAdminUserPasswordAuth, types.ExplicitAuthFlowsTypeAllowRefreshTokenAuth}})
	if err != nil {
		t.Fatalf("create app client of %s: %v", pool, err)
	}
	return aws.ToString(out.UserPoolClient.ClientId)
}

// NewSignInUser creates a confirmed user with a permanent password
// (attrs: name, value, name, value…) and returns its sub.
func (e *Env) NewSignInUser(t testing.TB, pool, username, password string, attrs ...string) string {
	t.Helper()
	ctx := context.Background()
	in := &cip.AdminCreateUserInput{UserPoolId: &pool, Username: aws.String(username), MessageAction: types.MessageActionTypeSuppress, TemporaryPassword: aws.String(password)}
	for i := 0; i+1 < len(attrs); i += 2 {
		in.UserAttributes = append(in.UserAttributes, types.AttributeType{Name: aws.String(attrs[i]), Value: aws.String(attrs[i+1])})
	}
	out, err := e.Cognito.AdminCreateUser(ctx, in)
	if err != nil {
		t.Fatalf("create user %s: %v", username, err)
	}
	if _, err := e.Cognito.AdminSetUserPassword(ctx, &cip.AdminSetUserPasswordInput{UserPoolId: &pool, Username: aws.String(username), Password: aws.String(password), Permanent: true}); err != nil {
		t.Fatalf("set %s's password: %v", username, err)
	}
	for _, a := range out.User.Attributes {
		if aws.ToString(a.Name) == "sub" {
			return aws.ToString(a.Value)
		}
	}
	t.Fatalf("user %s has no sub", username)
	return ""
}

// IDToken signs a user in through an app client made by NewSignInClient
// and returns the ID token cognito-local minted, as an app would send it
// to GetId. Tests only: a token is never logged.
func (e *Env) IDToken(t testing.TB, pool, client, username, password string) string {
	t.Helper()
	out, err := e.Cognito.AdminInitiateAuth(context.Background(), &cip.AdminInitiateAuthInput{UserPoolId: &pool, ClientId: &client,
		AuthFlow: types.AuthFlowTypeAdminUserPasswordAuth, AuthParameters: map[string]string{"USERNAME": username, "PASSWORD": password}})
	if err != nil {
		t.Fatalf("sign %s in to %s: %v", username, pool, err)
	}
	if out.AuthenticationResult == nil || aws.ToString(out.AuthenticationResult.IdToken) == "" {
		t.Fatalf("sign %s in to %s: a challenge (%s), not tokens", username, pool, out.ChallengeName)
	}
	return aws.ToString(out.AuthenticationResult.IdToken)
}

// IdentityID answers GetId for the logins (provider name -> ID token; none:
// a guest identity).
func (e *Env) IdentityID(t testing.TB, identityPool string, logins map[string]string) string {
	t.Helper()
	out, err := e.CognitoIdentity(t).GetId(context.Background(), &cognitoidentity.GetIdInput{IdentityPoolId: &identityPool, Logins: logins})
	if err != nil {
		t.Fatalf("GetId in %s: %v", identityPool, err)
	}
	return aws.ToString(out.IdentityId)
}
