package identitymap

import (
	"context"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cognitoidentity"
	citypes "github.com/aws/aws-sdk-go-v2/service/cognitoidentity/types"
)

// PoolAPI is the part of Cognito Identity Admit calls.
type PoolAPI interface {
	DescribeIdentityPool(ctx context.Context, in *cognitoidentity.DescribeIdentityPoolInput, optFns ...func(*cognitoidentity.Options)) (*cognitoidentity.DescribeIdentityPoolOutput, error)
	UpdateIdentityPool(ctx context.Context, in *cognitoidentity.UpdateIdentityPoolInput, optFns ...func(*cognitoidentity.Options)) (*cognitoidentity.UpdateIdentityPoolOutput, error)
}

// Admit lets an identity pool take ID tokens of the tool's app client
// (tokenmint's): an identity pool accepts a user pool's token only when it
// lists the token's app client (its aud) with the pool's provider, and the
// app's own clients are not the tool's. It adds the entry (every other
// setting sent back as read) and returns the undo, which takes exactly
// that entry away again; the identity of a login does not depend on the
// client, so the ids found are the app's users' own.
func Admit(ctx context.Context, api PoolAPI, identityPool, provider, clientID string) (func(context.Context) error, error) {
	change := func(ctx context.Context, add bool) error {
		d, err := api.DescribeIdentityPool(ctx, &cognitoidentity.DescribeIdentityPoolInput{IdentityPoolId: aws.String(identityPool)})
		if err != nil {
			return fmt.Errorf("read identity pool %s: %w", identityPool, err)
		}
		var providers []citypes.CognitoIdentityProvider
		for _, p := range d.CognitoIdentityProviders {
			if aws.ToString(p.ProviderName) == provider && aws.ToString(p.ClientId) == clientID {
				if add {
					return nil // already there (a resumed run)
				}
				continue
			}
			providers = append(providers, p)
		}
		if add {
			providers = append(providers, citypes.CognitoIdentityProvider{ProviderName: aws.String(provider), ClientId: aws.String(clientID), ServerSideTokenCheck: aws.Bool(false)})
		}
		_, err = api.UpdateIdentityPool(ctx, &cognitoidentity.UpdateIdentityPoolInput{
			IdentityPoolId: d.IdentityPoolId, IdentityPoolName: d.IdentityPoolName,
			AllowUnauthenticatedIdentities: d.AllowUnauthenticatedIdentities, AllowClassicFlow: d.AllowClassicFlow,
			CognitoIdentityProviders: providers, DeveloperProviderName: d.DeveloperProviderName,
			OpenIdConnectProviderARNs: d.OpenIdConnectProviderARNs, SamlProviderARNs: d.SamlProviderARNs,
			SupportedLoginProviders: d.SupportedLoginProviders, IdentityPoolTags: d.IdentityPoolTags,
		})
		if err != nil {
			return fmt.Errorf("update identity pool %s: %w", identityPool, err)
		}
		return nil
	}
	if err := change(ctx, true); err != nil {
		return nil, fmt.Errorf("let identity pool %s take the tool's app client %s: %w", identityPool, clientID, err)
	}
	return func(ctx context.Context) error {
		if err := change(ctx, false); err != nil {
			return fmt.Errorf("take the tool's app client %s off identity pool %s: %w", clientID, identityPool, err)
		}
		return nil
	}, nil
}
