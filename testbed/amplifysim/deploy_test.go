package amplifysim

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cognitoidentity"
	cip "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider"
	ctypes "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider/types"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/tidwall/gjson"

	"github.com/poolmigrate/poolmigrate/testbed/testenv"
)

// TestPushAuthAndStorage: the push of the example's auth creates its app
// clients and an identity pool that takes the user pool's ID tokens,
// recorded in amplify-meta.json; the storage push creates the bucket the
// meta names; removing the auth deletes the identity pool unless the
// override retained it.
func TestPushAuthAndStorage(t *testing.T) {
	env := testenv.Require(t)
	ctx := context.Background()
	c := Clients{Cognito: env.Cognito, Identity: env.CognitoIdentity(t), S3: env.S3(t)}
	root := filepath.Join(t.TempDir(), "notes-app")
	if err := testenv.CopyTree("../../examples/notes-app", root); err != nil {
		t.Fatal(err)
	}
	pool := env.NewPool(t, testenv.PoolOptions{})
	a, err := PushAuth(ctx, c, root, "notesappauth", pool, env.Config.Region)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_, _ = c.Identity.DeleteIdentityPool(context.Background(), &cognitoidentity.DeleteIdentityPoolInput{IdentityPoolId: &a.IdentityPoolID})
	})
	meta, err := os.ReadFile(filepath.Join(root, "amplify/backend/amplify-meta.json"))
	if err != nil {
		t.Fatal(err)
	}
	out := gjson.GetBytes(meta, "auth.notesappauth.output")
	if a.IdentityPoolID == "" || out.Get("IdentityPoolId").String() != a.IdentityPoolID || out.Get("UserPoolId").String() != pool ||
		out.Get("AppClientIDWeb").String() != a.WebClientID || out.Get("AppClientID").String() != a.NativeClientID {
		t.Fatalf("amplify-meta.json auth output %s, want %+v", out.Raw, a)
	}
	d, err := c.Identity.DescribeIdentityPool(ctx, &cognitoidentity.DescribeIdentityPoolInput{IdentityPoolId: &a.IdentityPoolID})
	if err != nil {
		t.Fatal(err)
	}
	if len(d.CognitoIdentityProviders) != 2 || aws.ToString(d.IdentityPoolName) != "notesappauth_identitypool_e0f9b9a3" {
		t.Errorf("identity pool %s with providers %+v, want the two app clients of %s", aws.ToString(d.IdentityPoolName), d.CognitoIdentityProviders, pool)
	}
	env.NewSignInUser(t, pool, "alice", "Alice-Pass-1!")
	// As the app signs in through the web client (cognito-local takes a
	// password in place of the SRP exchange).
	tok, err := env.Local.InitiateAuth(ctx, &cip.InitiateAuthInput{ClientId: &a.WebClientID, AuthFlow: ctypes.AuthFlowTypeUserPasswordAuth,
		AuthParameters: map[string]string{"USERNAME": "alice", "PASSWORD": "Alice-Pass-1!"}})
	if err != nil || tok.AuthenticationResult == nil {
		t.Fatalf("alice signs in through the web client: %v", err)
	}
	id := env.IdentityID(t, a.IdentityPoolID, map[string]string{a.Provider(env.Config.Region): aws.ToString(tok.AuthenticationResult.IdToken)})
	if id == "" {
		t.Error("GetId with alice's ID token of the web client answered no identity")
	}

	buckets, err := PushStorage(ctx, c, root)
	if err != nil {
		t.Fatal(err)
	}
	bucket := buckets["notesfiles"]
	t.Cleanup(func() { _, _ = c.S3.DeleteBucket(context.Background(), &s3.DeleteBucketInput{Bucket: &bucket}) })
	if _, err := c.S3.HeadBucket(ctx, &s3.HeadBucketInput{Bucket: aws.String("notesappfiles10101-dev")}); err != nil || bucket != "notesappfiles10101-dev" {
		t.Errorf("storage push: buckets %v, head: %v", buckets, err)
	}
	if _, err := PushStorage(ctx, c, root); err != nil {
		t.Errorf("a second push with the bucket there: %v", err)
	}

	retained, err := IdentityPoolRetained(root, "notesappauth")
	if err != nil || retained {
		t.Fatalf("the example's override retains the identity pool: %v %v", retained, err)
	}
	override := "resources.identityPool.cfnOptions.deletionPolicy = 'Retain' as any;\n"
	if err := os.WriteFile(filepath.Join(root, "amplify/backend/auth/notesappauth/override.ts"), []byte(override), 0o644); err != nil {
		t.Fatal(err)
	}
	if retained, err = IdentityPoolRetained(root, "notesappauth"); err != nil || !retained {
		t.Fatalf("override with Retain: retained %v %v", retained, err)
	}
	if kept, err := RemoveAuth(ctx, c, a.IdentityPoolID, true); err != nil || !kept {
		t.Fatalf("remove a retained identity pool: kept %v %v", kept, err)
	}
	if _, err := c.Identity.DescribeIdentityPool(ctx, &cognitoidentity.DescribeIdentityPoolInput{IdentityPoolId: &a.IdentityPoolID}); err != nil {
		t.Fatalf("the retained identity pool is gone: %v", err)
	}
	if kept, err := RemoveAuth(ctx, c, a.IdentityPoolID, false); err != nil || kept {
		t.Fatalf("remove the identity pool: kept %v %v", kept, err)
	}
	if _, err := c.Identity.DescribeIdentityPool(ctx, &cognitoidentity.DescribeIdentityPoolInput{IdentityPoolId: &a.IdentityPoolID}); err == nil {
		t.Error("the identity pool is still there after its stack was deleted")
	}
}
