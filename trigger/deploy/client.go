package deploy

import (
	"context"
	"fmt"
	"slices"
	"strings"

	cip "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider"
	ctypes "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider/types"

	"github.com/poolmigrate/poolmigrate/lambdaown"
)

// The app client deploy makes on the old pool: no secret, no OAuth, no
// flow but ADMIN_USER_PASSWORD_AUTH (which only callers with IAM
// permission to AdminInitiateAuth can use: the trigger's role) and the
// refresh Cognito requires, and short-lived tokens, which the trigger
// discards at once.
var clientFlows = []ctypes.ExplicitAuthFlowsType{ctypes.ExplicitAuthFlowsTypeAllowAdminUserPasswordAuth, ctypes.ExplicitAuthFlowsTypeAllowRefreshTokenAuth}

const (
	clientTokenMinutes   = 5  // access and ID tokens: Cognito's minimum
	clientRefreshMinutes = 60 // refresh token: Cognito's minimum
)

func createClient(ctx context.Context, c Cognito, pool string) (string, error) {
	out, err := c.CreateUserPoolClient(ctx, &cip.CreateUserPoolClientInput{UserPoolId: &pool, ClientName: lambdaown.Ptr(ClientName), GenerateSecret: false,
		ExplicitAuthFlows: clientFlows, AccessTokenValidity: lambdaown.Ptr(int32(clientTokenMinutes)), IdTokenValidity: lambdaown.Ptr(int32(clientTokenMinutes)),
		RefreshTokenValidity: clientRefreshMinutes,
		TokenValidityUnits: &ctypes.TokenValidityUnitsType{AccessToken: ctypes.TimeUnitsTypeMinutes, IdToken: ctypes.TimeUnitsTypeMinutes,
			RefreshToken: ctypes.TimeUnitsTypeMinutes}})
	if err != nil {
		return "", fmt.Errorf("create an app client on the old pool %s: %w", pool, err)
	}
	return *out.UserPoolClient.ClientId, nil
}

// clientProblem says how an app client differs from what createClient
// makes; "" when it does not.
func clientProblem(cl *ctypes.UserPoolClientType) string {
	var p []string
	if lambdaown.Deref(cl.ClientSecret) != "" {
		p = append(p, "it has a secret")
	}
	flows := slices.Clone(cl.ExplicitAuthFlows)
	slices.Sort(flows)
	want := slices.Clone(clientFlows)
	slices.Sort(want)
	if !slices.Equal(flows, want) {
		p = append(p, fmt.Sprintf("it allows the auth flows %v, not only %v", cl.ExplicitAuthFlows, clientFlows))
	}
	if (cl.AllowedOAuthFlowsUserPoolClient != nil && *cl.AllowedOAuthFlowsUserPoolClient) || len(cl.AllowedOAuthFlows) > 0 || len(cl.AllowedOAuthScopes) > 0 || len(cl.CallbackURLs) > 0 || len(cl.LogoutURLs) > 0 {
		p = append(p, "it allows OAuth")
	}
	if len(cl.SupportedIdentityProviders) > 0 {
		p = append(p, fmt.Sprintf("it signs in through %v", cl.SupportedIdentityProviders))
	}
	u := cl.TokenValidityUnits
	if u == nil || cl.AccessTokenValidity == nil || cl.IdTokenValidity == nil ||
		minutes(*cl.AccessTokenValidity, u.AccessToken) > clientTokenMinutes || minutes(*cl.IdTokenValidity, u.IdToken) > clientTokenMinutes ||
		minutes(cl.RefreshTokenValidity, u.RefreshToken) > clientRefreshMinutes {
		p = append(p, fmt.Sprintf("its tokens live longer than %d minutes (refresh: %d)", clientTokenMinutes, clientRefreshMinutes))
	}
	return strings.Join(p, "; ")
}

func minutes(v int32, unit ctypes.TimeUnitsType) int64 {
	switch unit {
	case ctypes.TimeUnitsTypeSeconds:
		return int64(v) / 60
	case ctypes.TimeUnitsTypeMinutes:
		return int64(v)
	case ctypes.TimeUnitsTypeHours:
		return int64(v) * 60
	}
	return int64(v) * 24 * 60 // days
}

// ourClient returns the id of the old pool's app client named ClientName,
// "" when there is none. App clients cannot be tagged: one of that name
// is reused only when its settings are exactly createClient's; any other
// (or two of them) is refused, since the trigger would sign users in
// through whatever it allows.
func ourClient(ctx context.Context, c Cognito, pool string) (string, error) {
	ids, err := namedClients(ctx, c, pool)
	if err != nil {
		return "", fmt.Errorf("list the app clients of %s: %w", pool, err)
	}
	switch len(ids) {
	case 0:
		return "", nil
	case 1:
	default:
		return "", fmt.Errorf("the old pool %s has %d app clients named %s (%s): deploy makes one; delete the others (or all, and deploy again)", pool, len(ids), ClientName, strings.Join(ids, ", "))
	}
	cl, err := describeClient(ctx, c, pool, ids[0])
	if err != nil {
		return "", err
	}
	if why := clientProblem(cl); why != "" {
		return "", fmt.Errorf("the old pool %s has an app client %s named %s that deploy did not make as it makes it: %s. Delete it (`poolmigrate trigger remove` does not touch it) and deploy again", pool, ids[0], ClientName, why)
	}
	return ids[0], nil
}

func describeClient(ctx context.Context, c Cognito, pool, id string) (*ctypes.UserPoolClientType, error) {
	out, err := c.DescribeUserPoolClient(ctx, &cip.DescribeUserPoolClientInput{UserPoolId: &pool, ClientId: &id})
	if err != nil {
		return nil, fmt.Errorf("read app client %s of %s: %w", id, pool, err)
	}
	return out.UserPoolClient, nil
}

// namedClients lists the ids of the pool's app clients named ClientName.
func namedClients(ctx context.Context, c Cognito, pool string) ([]string, error) {
	return lambdaown.NamedClients(ctx, c, pool, ClientName)
}
