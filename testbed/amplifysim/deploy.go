package amplifysim

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cognitoidentity"
	citypes "github.com/aws/aws-sdk-go-v2/service/cognitoidentity/types"
	cip "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider"
	ctypes "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider/types"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/tidwall/gjson"
	"github.com/tidwall/sjson"
)

// Clients reach the test bed, where a push creates what CloudFormation
// would: Cognito is where the user pools are (their app clients are made
// there), Identity the shim's Cognito Identity, S3 the test bed's S3 server
// (path-style).
type Clients struct {
	Cognito  *cip.Client
	Identity *cognitoidentity.Client
	S3       *s3.Client
}

// Auth is an auth resource as a push leaves it deployed.
type Auth struct {
	UserPoolID     string
	WebClientID    string
	NativeClientID string
	// IdentityPoolID is "" when the resource has no identity pool.
	IdentityPoolID string
}

// Provider is the user pool's provider name in an identity pool.
func (a Auth) Provider(region string) string {
	return "cognito-idp." + region + ".amazonaws.com/" + a.UserPoolID
}

// PushAuth does what `amplify push` does for the auth resource auth, whose
// user pool poolID the caller created from the resource's settings: the
// auth stack's two app clients (web and native, no secret, reading and
// writing the attributes the resource lists), the identity
// pool when the resource's cli-inputs.json selects identityPoolAndUserPool
// (its identityPoolName and allowUnauthenticatedIdentities, both clients
// listed with the user pool as providers, as the stack's template lists
// them), and the outputs recorded in amplify-meta.json.
func PushAuth(ctx context.Context, c Clients, root, auth, poolID, region string) (Auth, error) {
	in, err := os.ReadFile(filepath.Join(root, "amplify/backend/auth", auth, "cli-inputs.json"))
	if err != nil {
		return Auth{}, fmt.Errorf("read auth %s: %w", auth, err)
	}
	cfg := gjson.GetBytes(in, "cognitoConfig")
	a := Auth{UserPoolID: poolID}
	// The Amplify CLI's clients: SRP and refresh. (cognito-local, like the
	// Amplify Gen 2 demo's, takes USER_PASSWORD_AUTH through them, which
	// the demos use in place of the SRP exchange.)
	flows := []ctypes.ExplicitAuthFlowsType{ctypes.ExplicitAuthFlowsTypeAllowUserSrpAuth, ctypes.ExplicitAuthFlowsTypeAllowRefreshTokenAuth}
	attrs := func(key string) []string {
		var out []string
		for _, a := range cfg.Get(key).Array() {
			out = append(out, a.String())
		}
		return out
	}
	for _, cl := range []struct {
		name string
		id   *string
	}{{"_app_clientWeb", &a.WebClientID}, {"_app_client", &a.NativeClientID}} {
		name := cfg.Get("resourceNameTruncated").String() + cl.name
		out, err := c.Cognito.CreateUserPoolClient(ctx, &cip.CreateUserPoolClientInput{UserPoolId: &poolID, ClientName: &name, ExplicitAuthFlows: flows,
			ReadAttributes: attrs("userpoolClientReadAttributes"), WriteAttributes: attrs("userpoolClientWriteAttributes")})
		if err != nil {
			return Auth{}, fmt.Errorf("create app client %s: %w", name, err)
		}
		*cl.id = aws.ToString(out.UserPoolClient.ClientId)
	}
	set := map[string]string{"UserPoolId": poolID, "AppClientIDWeb": a.WebClientID, "AppClientID": a.NativeClientID}
	if cfg.Get("authSelections").String() == "identityPoolAndUserPool" {
		name := cfg.Get("identityPoolName").String()
		provider := a.Provider(region)
		out, err := c.Identity.CreateIdentityPool(ctx, &cognitoidentity.CreateIdentityPoolInput{IdentityPoolName: &name,
			AllowUnauthenticatedIdentities: cfg.Get("allowUnauthenticatedIdentities").Bool(),
			CognitoIdentityProviders: []citypes.CognitoIdentityProvider{
				{ProviderName: &provider, ClientId: aws.String(a.NativeClientID), ServerSideTokenCheck: aws.Bool(false)},
				{ProviderName: &provider, ClientId: aws.String(a.WebClientID), ServerSideTokenCheck: aws.Bool(false)}}})
		if err != nil {
			return Auth{}, fmt.Errorf("create identity pool %s: %w", name, err)
		}
		a.IdentityPoolID = aws.ToString(out.IdentityPoolId)
		set["IdentityPoolId"], set["IdentityPoolName"] = a.IdentityPoolID, name
	}
	return a, setMeta(root, "auth."+gjson.Escape(auth)+".output", set)
}

// IdentityPoolRetained tells whether the auth resource's override.ts keeps
// its identity pool when the stack goes (DeletionPolicy Retain, as
// `poolmigrate retain-pool` writes it). Read it before `amplify remove
// auth`, which deletes the file: CloudFormation follows the template
// deployed before.
func IdentityPoolRetained(root, auth string) (bool, error) {
	data, err := os.ReadFile(filepath.Join(root, "amplify/backend/auth", auth, "override.ts"))
	if errors.Is(err, os.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	return strings.Contains(string(data), "identityPool.cfnOptions.deletionPolicy = 'Retain'"), nil
}

// RemoveAuth does to the identity pool what `amplify push` does after
// `amplify remove auth`: the auth stack is deleted and the identity pool
// with it, unless the deployed template retained it. It reports whether
// the pool is still there.
func RemoveAuth(ctx context.Context, c Clients, identityPoolID string, retained bool) (bool, error) {
	if retained || identityPoolID == "" {
		return identityPoolID != "", nil
	}
	if _, err := c.Identity.DeleteIdentityPool(ctx, &cognitoidentity.DeleteIdentityPoolInput{IdentityPoolId: &identityPoolID}); err != nil {
		return false, fmt.Errorf("delete identity pool %s: %w", identityPoolID, err)
	}
	return false, nil
}

// PushStorage creates the bucket of each S3 storage resource of
// amplify-meta.json (output.BucketName) that does not exist yet, as the
// storage stack does, and returns the bucket names by resource.
func PushStorage(ctx context.Context, c Clients, root string) (map[string]string, error) {
	meta, err := os.ReadFile(filepath.Join(root, "amplify/backend/amplify-meta.json"))
	if err != nil {
		return nil, err
	}
	buckets := map[string]string{}
	var ferr error
	gjson.GetBytes(meta, "storage").ForEach(func(name, r gjson.Result) bool {
		bucket := r.Get("output.BucketName").String()
		if r.Get("service").String() != "S3" || bucket == "" {
			return true
		}
		buckets[name.String()] = bucket
		if _, err := c.S3.HeadBucket(ctx, &s3.HeadBucketInput{Bucket: &bucket}); err == nil {
			return true
		}
		if _, err := c.S3.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: &bucket}); err != nil {
			ferr = fmt.Errorf("create bucket %s of storage %s: %w", bucket, name, err)
			return false
		}
		return true
	})
	return buckets, ferr
}

func setMeta(root, path string, values map[string]string) error {
	p := filepath.Join(root, "amplify/backend/amplify-meta.json")
	data, err := os.ReadFile(p)
	if err != nil {
		return err
	}
	s := string(data)
	for k, v := range values {
		if s, err = sjson.Set(s, path+"."+gjson.Escape(k), v); err != nil {
			return err
		}
	}
	return os.WriteFile(p, []byte(s), 0o644)
}
