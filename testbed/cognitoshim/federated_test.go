package cognitoshim_test

import (
	"encoding/json"
	"fmt"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	cip "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider"
	"github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider/types"

	"github.com/poolmigrate/poolmigrate/testbed/testenv"
)

// A pool's identity providers are kept and described as AWS does, and
// what AWS refuses is refused: a social provider not named by its type,
// missing details, a name taken.
func TestIdentityProviders(t *testing.T) {
	env := testenv.Require(t)
	pool := env.NewPool(t, testenv.PoolOptions{})
	env.AddProvider(t, pool, "Google", types.IdentityProviderTypeTypeGoogle, "google-client", map[string]string{"email": "email"})
	d, err := env.Cognito.DescribeIdentityProvider(ctx, &cip.DescribeIdentityProviderInput{UserPoolId: &pool, ProviderName: aws.String("Google")})
	if err != nil {
		t.Fatal(err)
	}
	if p := d.IdentityProvider; p.ProviderType != types.IdentityProviderTypeTypeGoogle || p.AttributeMapping["email"] != "email" || p.AttributeMapping["username"] != "sub" || p.ProviderDetails["client_id"] != "google-client" {
		t.Errorf("described %+v", p)
	}
	for name, in := range map[string]*cip.CreateIdentityProviderInput{
		"taken":              {ProviderName: aws.String("Google"), ProviderType: types.IdentityProviderTypeTypeGoogle, ProviderDetails: testenv.ProviderDetails("Google", "x")},
		"social, other name": {ProviderName: aws.String("MyGoogle"), ProviderType: types.IdentityProviderTypeTypeGoogle, ProviderDetails: testenv.ProviderDetails("Google", "x")},
		"no client secret":   {ProviderName: aws.String("Facebook"), ProviderType: types.IdentityProviderTypeTypeFacebook, ProviderDetails: map[string]string{"client_id": "x", "authorize_scopes": "email"}},
		"no SAML metadata":   {ProviderName: aws.String("Corp"), ProviderType: types.IdentityProviderTypeTypeSaml, ProviderDetails: map[string]string{}},
		"underscore in name": {ProviderName: aws.String("Co_rp"), ProviderType: types.IdentityProviderTypeTypeSaml, ProviderDetails: testenv.ProviderDetails("SAML", "")},
	} {
		in.UserPoolId = &pool
		if _, err := env.Cognito.CreateIdentityProvider(ctx, in); err == nil {
			t.Errorf("%s: created", name)
		}
	}
	if _, err := env.Cognito.DescribeIdentityProvider(ctx, &cip.DescribeIdentityProviderInput{UserPoolId: &pool, ProviderName: aws.String("Facebook")}); apiCode(err) != "ResourceNotFoundException" {
		t.Errorf("describe a missing provider: %v", err)
	}
	env.AddProvider(t, pool, "Corp", types.IdentityProviderTypeTypeSaml, "", nil)
	l, err := env.Cognito.ListIdentityProviders(ctx, &cip.ListIdentityProvidersInput{UserPoolId: &pool, MaxResults: aws.Int32(1)})
	if err != nil || len(l.Providers) != 1 || l.NextToken == nil {
		t.Fatalf("first page: %+v, %v", l, err)
	}
	l2, err := env.Cognito.ListIdentityProviders(ctx, &cip.ListIdentityProvidersInput{UserPoolId: &pool, MaxResults: aws.Int32(1), NextToken: l.NextToken})
	if err != nil || len(l2.Providers) != 1 || *l2.Providers[0].ProviderName == *l.Providers[0].ProviderName || l2.NextToken != nil {
		t.Fatalf("second page: %+v, %v", l2, err)
	}
}

func identitiesOf(t *testing.T, c *cip.Client, pool, username string) []map[string]any {
	t.Helper()
	u, err := c.AdminGetUser(ctx, &cip.AdminGetUserInput{UserPoolId: &pool, Username: &username})
	if err != nil {
		t.Fatal(err)
	}
	var ids []map[string]any
	for _, a := range u.UserAttributes {
		if *a.Name == "identities" {
			if err := json.Unmarshal([]byte(*a.Value), &ids); err != nil {
				t.Fatal(err)
			}
		}
	}
	return ids
}

// A federated sign-in does what Cognito does: an unlinked subject becomes
// an EXTERNAL_PROVIDER user named Provider_subject, which has no password
// to sign in with; a linked subject signs in as the user it is linked to;
// AdminLinkProviderForUser refuses what AWS refuses.
func TestFederatedSignInAndLinks(t *testing.T) {
	env := testenv.Require(t)
	pool := env.NewPool(t, testenv.PoolOptions{})
	env.AddProvider(t, pool, "Google", types.IdentityProviderTypeTypeGoogle, "google-client", map[string]string{"email": "email", "name": "name"})
	env.AddProvider(t, pool, "Facebook", types.IdentityProviderTypeTypeFacebook, "fb-app", map[string]string{"email": "email"})

	s, err := testenv.SignInThroughProvider(ctx, pool, "Google", "1001", map[string]string{"sub": "1001", "email": "g@example.com", "name": "Gee"})
	if err != nil || !s.Created || s.Username != "Google_1001" || s.Sub == "" {
		t.Fatalf("first sign-in: %+v, %v", s, err)
	}
	u, err := env.Cognito.AdminGetUser(ctx, &cip.AdminGetUserInput{UserPoolId: &pool, Username: aws.String("Google_1001")})
	if err != nil || u.UserStatus != types.UserStatusTypeExternalProvider {
		t.Fatalf("the federated user: %+v, %v", u, err)
	}
	if ids := identitiesOf(t, env.Cognito, pool, "Google_1001"); len(ids) != 1 || ids[0]["userId"] != "1001" || ids[0]["providerName"] != "Google" {
		t.Errorf("identities: %v", ids)
	}
	list, err := env.Cognito.ListUsers(ctx, &cip.ListUsersInput{UserPoolId: &pool})
	if err != nil || len(list.Users) != 1 || list.Users[0].UserStatus != types.UserStatusTypeExternalProvider {
		t.Fatalf("listed: %+v, %v", list, err)
	}
	again, err := testenv.SignInThroughProvider(ctx, pool, "Google", "1001", nil)
	if err != nil || again.Created || again.Sub != s.Sub {
		t.Errorf("second sign-in: %+v, %v", again, err)
	}
	if _, err := testenv.SignInThroughProvider(ctx, pool, "Apple", "1", nil); err == nil {
		t.Error("signed in through a provider the pool lacks")
	}

	// A native user, and links to it.
	client, err := env.Cognito.CreateUserPoolClient(ctx, &cip.CreateUserPoolClientInput{UserPoolId: &pool, ClientName: aws.String("c"),
		ExplicitAuthFlows: []types.ExplicitAuthFlowsType{types.ExplicitAuthFlowsTypeAllowAdminUserPasswordAuth}})
	if err != nil {
		t.Fatal(err)
	}
	created, err := env.Cognito.AdminCreateUser(ctx, &cip.AdminCreateUserInput{UserPoolId: &pool, Username: aws.String("nat"), MessageAction: types.MessageActionTypeSuppress,
		UserAttributes: []types.AttributeType{{Name: aws.String("email"), Value: aws.String("n@example.com")}}})
	if err != nil {
		t.Fatal(err)
	}
	var natSub string
	for _, a := range created.User.Attributes {
		if *a.Name == "sub" {
			natSub = *a.Value
		}
	}
	linkTo := func(dest, provider, attr, subject string) error {
		_, err := env.Cognito.AdminLinkProviderForUser(ctx, &cip.AdminLinkProviderForUserInput{UserPoolId: &pool,
			DestinationUser: &types.ProviderUserIdentifierType{ProviderName: aws.String("Cognito"), ProviderAttributeValue: aws.String(dest)},
			SourceUser:      &types.ProviderUserIdentifierType{ProviderName: aws.String(provider), ProviderAttributeName: aws.String(attr), ProviderAttributeValue: aws.String(subject)}})
		return err
	}
	for _, c := range []struct {
		name, dest, provider, attr, subject, code string
	}{
		{"unknown provider", "nat", "Apple", "Cognito_Subject", "9", "InvalidParameterException"},
		{"social provider, other attribute", "nat", "Facebook", "email", "9", "InvalidParameterException"},
		{"missing destination", "nobody", "Facebook", "Cognito_Subject", "9", "UserNotFoundException"},
		{"source signed in already", "nat", "Google", "Cognito_Subject", "1001", "InvalidParameterException"},
		{"source is a Cognito user", "nat", "Cognito", "Cognito_Subject", "x", "InvalidParameterException"},
		{"linked", "nat", "Facebook", "Cognito_Subject", "2002", ""},
		{"linked again", "nat", "Facebook", "Cognito_Subject", "2002", "InvalidParameterException"},
		{"linked to another", "Google_1001", "Facebook", "Cognito_Subject", "2002", "AliasExistsException"},
	} {
		if err := linkTo(c.dest, c.provider, c.attr, c.subject); apiCode(err) != c.code {
			t.Errorf("%s: got %v, want %s", c.name, err, c.code)
		}
	}
	if ids := identitiesOf(t, env.Cognito, pool, "nat"); len(ids) != 1 || ids[0]["userId"] != "2002" || ids[0]["providerName"] != "Facebook" {
		t.Errorf("nat's identities: %v", ids)
	}
	fb, err := testenv.SignInThroughProvider(ctx, pool, "Facebook", "2002", map[string]string{"id": "2002"})
	if err != nil || !fb.Linked || fb.Created || fb.Username != "nat" || fb.Sub != natSub {
		t.Errorf("linked sign-in: %+v, %v", fb, err)
	}
	// The cap: five links a user.
	for i := 0; i < 4; i++ {
		if err := linkTo("nat", "Facebook", "Cognito_Subject", fmt.Sprint(3000+i)); err != nil {
			t.Fatalf("link %d: %v", i+2, err)
		}
	}
	if err := linkTo("nat", "Facebook", "Cognito_Subject", "3999"); apiCode(err) != "LimitExceededException" {
		t.Errorf("sixth link: %v", err)
	}
	// A federated user's name typed into the password sign-in gets nothing.
	_, err = env.Cognito.AdminInitiateAuth(ctx, &cip.AdminInitiateAuthInput{UserPoolId: &pool, ClientId: client.UserPoolClient.ClientId,
		AuthFlow: types.AuthFlowTypeAdminUserPasswordAuth, AuthParameters: map[string]string{"USERNAME": "Google_1001", "PASSWORD": "Anything-1!"}})
	if apiCode(err) != "NotAuthorizedException" {
		t.Errorf("password sign-in as Google_1001: %v", err)
	}
}
