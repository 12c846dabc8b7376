package link

import (
	"context"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cognitoidentity"
	"github.com/aws/aws-sdk-go-v2/service/cognitoidentity/types"
)

// PoolAPI is what AddClients and RemoveClients call.
type PoolAPI interface {
	DescribeIdentityPool(ctx context.Context, in *cognitoidentity.DescribeIdentityPoolInput, optFns ...func(*cognitoidentity.Options)) (*cognitoidentity.DescribeIdentityPoolOutput, error)
	UpdateIdentityPool(ctx context.Context, in *cognitoidentity.UpdateIdentityPoolInput, optFns ...func(*cognitoidentity.Options)) (*cognitoidentity.UpdateIdentityPoolOutput, error)
}

// Client is one provider entry of an identity pool: a user pool's
// provider name and an app client of that pool.
type Client struct {
	Provider, ClientID string
}

// AddClients lists the tool's own app clients (the token trio's, whose ID
// tokens carry their client id as `aud`) beside the providers the
// identity pool lists, for the run: Cognito Identity takes a token only
// from a client the pool lists for its provider. Each client's provider
// must be listed already (CheckProviders): this never adds a user pool.
// It returns the entries it added (not those already there), for
// RemoveClients; every other setting of the pool is sent back as read.
func AddClients(ctx context.Context, api PoolAPI, pool string, clients []Client) ([]Client, error) {
	d, err := api.DescribeIdentityPool(ctx, &cognitoidentity.DescribeIdentityPoolInput{IdentityPoolId: aws.String(pool)})
	if err != nil {
		return nil, fmt.Errorf("describe identity pool %s: %w", pool, err)
	}
	have, providers := map[Client]bool{}, map[string]bool{}
	for _, p := range d.CognitoIdentityProviders {
		have[Client{aws.ToString(p.ProviderName), aws.ToString(p.ClientId)}] = true
		providers[aws.ToString(p.ProviderName)] = true
	}
	var added []Client
	list := d.CognitoIdentityProviders
	for _, c := range clients {
		if !providers[c.Provider] {
			return nil, fmt.Errorf("identity pool %s does not list provider %s: nothing added", pool, c.Provider)
		}
		if have[c] {
			continue
		}
		added = append(added, c)
		list = append(list, types.CognitoIdentityProvider{ProviderName: aws.String(c.Provider), ClientId: aws.String(c.ClientID), ServerSideTokenCheck: aws.Bool(false)})
	}
	if len(added) == 0 {
		return nil, nil
	}
	if err := update(ctx, api, d, list); err != nil {
		return nil, fmt.Errorf("list the tool's app clients in identity pool %s for the run: %w", pool, err)
	}
	return added, nil
}

// RemoveClients takes exactly the entries AddClients added out of the
// identity pool again, the rest as read now.
func RemoveClients(ctx context.Context, api PoolAPI, pool string, added []Client) error {
	if len(added) == 0 {
		return nil
	}
	d, err := api.DescribeIdentityPool(ctx, &cognitoidentity.DescribeIdentityPoolInput{IdentityPoolId: aws.String(pool)})
	if err != nil {
		return fmt.Errorf("describe identity pool %s: %w", pool, err)
	}
	drop := map[Client]bool{}
	for _, c := range added {
		drop[c] = true
	}
	var list []types.CognitoIdentityProvider
	for _, p := range d.CognitoIdentityProviders {
		if !drop[Client{aws.ToString(p.ProviderName), aws.ToString(p.ClientId)}] {
			list = append(list, p)
		}
	}
	if len(list) == len(d.CognitoIdentityProviders) {
		return nil
	}
	if err := update(ctx, api, d, list); err != nil {
		return fmt.Errorf("take the tool's app clients out of identity pool %s: %w", pool, err)
	}
	return nil
}

func update(ctx context.Context, api PoolAPI, d *cognitoidentity.DescribeIdentityPoolOutput, list []types.CognitoIdentityProvider) error {
	_, err := api.UpdateIdentityPool(ctx, &cognitoidentity.UpdateIdentityPoolInput{
		IdentityPoolId: d.IdentityPoolId, IdentityPoolName: d.IdentityPoolName,
		AllowUnauthenticatedIdentities: d.AllowUnauthenticatedIdentities, AllowClassicFlow: d.AllowClassicFlow,
		CognitoIdentityProviders: list, DeveloperProviderName: d.DeveloperProviderName, IdentityPoolTags: d.IdentityPoolTags,
		OpenIdConnectProviderARNs: d.OpenIdConnectProviderARNs, SamlProviderARNs: d.SamlProviderARNs, SupportedLoginProviders: d.SupportedLoginProviders,
	})
	return err
}
