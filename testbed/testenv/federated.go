package testenv

import (
	"context"
	"os"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	cip "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider"
	"github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider/types"

	"github.com/poolmigrate/poolmigrate/testbed/cognitoshim"
)

// ProviderDetails are test details (client id and made-up secrets) for a
// provider type, as CreateIdentityProvider requires them.
func ProviderDetails(typ types.IdentityProviderTypeType, clientID string) map[string]string {
	switch typ {
	case types.IdentityProviderTypeTypeSignInWithApple:
		return map[string]string{"client_id": clientID, "team_id": "TEAM123456", "key_id": "KEY1234567", "private_key": "test-private-key", "authorize_scopes": "email name"}
	case types.IdentityProviderTypeTypeOidc:
		return map[string]string{"client_id": clientID, "client_secret": "test-secret", "attributes_request_method": "GET", "oidc_issuer": "https://issuer.example.com", "authorize_scopes": "openid email"}
	case types.IdentityProviderTypeTypeSaml:
		return map[string]string{"MetadataURL": "https://idp.example.com/metadata"}
	case types.IdentityProviderTypeTypeFacebook:
		return map[string]string{"client_id": clientID, "client_secret": "test-secret", "authorize_scopes": "public_profile,email"}
	}
	return map[string]string{"client_id": clientID, "client_secret": "test-secret", "authorize_scopes": "openid email profile"}
}

// AddProvider configures an identity provider on a pool, through the shim.
func (e *Env) AddProvider(t testing.TB, pool, name string, typ types.IdentityProviderTypeType, clientID string, mapping map[string]string) {
	t.Helper()
	_, err := e.Cognito.CreateIdentityProvider(context.Background(), &cip.CreateIdentityProviderInput{
		UserPoolId: &pool, ProviderName: aws.String(name), ProviderType: typ,
		ProviderDetails: ProviderDetails(typ, clientID), AttributeMapping: mapping,
	})
	if err != nil {
		t.Fatalf("add provider %s to pool %s: %v", name, pool, err)
	}
}

// SignInThroughProvider signs a subject in to a pool through one of its
// providers (the shim's FederatedSignInPath): the first sign-in of an
// unlinked subject creates its EXTERNAL_PROVIDER user, which is how tests
// plant federated users.
func SignInThroughProvider(ctx context.Context, pool, provider, subject string, claims map[string]string) (cognitoshim.FederatedSession, error) {
	return cognitoshim.SignInThroughProvider(ctx, os.Getenv("AWS_ENDPOINT_URL_COGNITO_IDENTITY_PROVIDER"), cognitoshim.FederatedSignIn{
		UserPoolId: pool, ProviderName: provider, Subject: subject, Claims: claims})
}
