package gen2sim

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cognitoidentity"
	cip "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/tidwall/gjson"

	"github.com/poolmigrate/poolmigrate/testbed/gen2synth"
	"github.com/poolmigrate/poolmigrate/testbed/testenv"
)

// assembly is a synthesized Gen 2 backend cut down to what the identity
// pool and storage need, as the Gen 2 toolchain writes them (the auth
// stack's pool, client and identity pool; the storage stack's bucket; the
// root stack's outputs), with the user pool under logical id pool.
func assembly(t *testing.T, pool string) *gen2synth.Assembly {
	t.Helper()
	auth := `{"Resources": {
  "POOL": {"Type": "AWS::Cognito::UserPool", "Properties": {"UsernameAttributes": ["email"]}, "DeletionPolicy": "Retain"},
  "amplifyAuthUserPoolAppClient2626C6F8": {"Type": "AWS::Cognito::UserPoolClient", "Properties": {"ExplicitAuthFlows": ["ALLOW_CUSTOM_AUTH", "ALLOW_USER_SRP_AUTH", "ALLOW_REFRESH_TOKEN_AUTH"], "UserPoolId": {"Ref": "POOL"}}},
  "amplifyAuthIdentityPool3FDE84CC": {"Type": "AWS::Cognito::IdentityPool", "Properties": {"AllowUnauthenticatedIdentities": true,
    "CognitoIdentityProviders": [{"ClientId": {"Ref": "amplifyAuthUserPoolAppClient2626C6F8"},
      "ProviderName": {"Fn::Join": ["", ["cognito-idp.", {"Ref": "AWS::Region"}, ".amazonaws.com/", {"Ref": "POOL"}]]}}]}}},
 "Outputs": {"authIdentityPoolRef": {"Value": {"Ref": "amplifyAuthIdentityPool3FDE84CC"}}}}`
	storage := `{"Resources": {"notesFilesBucket80CF4A99": {"Type": "AWS::S3::Bucket", "Properties": {}, "DeletionPolicy": "Delete"}},
 "Outputs": {"storagenotesFilesBucket93BD2AADRef": {"Value": {"Ref": "notesFilesBucket80CF4A99"}}}}`
	root := `{"Resources": {},
 "Outputs": {
  "bucketName": {"Value": {"Fn::GetAtt": ["storage0EC3F24A", "Outputs.storagenotesFilesBucket93BD2AADRef"]}},
  "storageRegion": {"Value": {"Ref": "AWS::Region"}},
  "buckets": {"Value": {"Fn::Join": ["", ["[\"{\\\"name\\\":\\\"notesFiles\\\",\\\"bucketName\\\":\\\"",
    {"Fn::GetAtt": ["storage0EC3F24A", "Outputs.storagenotesFilesBucket93BD2AADRef"]},
    "\\\",\\\"storageRegion\\\":\\\"", {"Ref": "AWS::Region"},
    "\\\",\\\"paths\\\":{\\\"private/${cognito-identity.amazonaws.com:sub}/*\\\":{\\\"entityidentity\\\":[\\\"get\\\",\\\"list\\\",\\\"write\\\",\\\"delete\\\"]}}}\"]"]]}}}}`
	asm := &gen2synth.Assembly{Dir: t.TempDir(), Templates: map[string]gen2synth.Template{}}
	for name, src := range map[string]string{"root.template.json": root, "auth.nested.template.json": strings.ReplaceAll(auth, "POOL", pool), "storage.nested.template.json": storage} {
		var tpl gen2synth.Template
		if err := json.Unmarshal([]byte(src), &tpl); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		asm.Templates[name] = tpl
	}
	return asm
}

// TestDeployIdentityPoolAndStorage: the first deploy creates the identity
// pool with the user pool as its provider and the bucket, and
// amplify_outputs.json names both; the pool swap (a new pool logical id)
// keeps the identity pool's id and switches its provider to the new user
// pool, and keeps the bucket.
func TestDeployIdentityPoolAndStorage(t *testing.T) {
	env := testenv.Require(t)
	ctx := context.Background()
	c := Clients{Cognito: env.Local, Dynamo: env.Dynamo, Identity: env.CognitoIdentity(t), S3: env.S3(t)}
	root := t.TempDir()
	b := gen2synth.Backend{Namespace: "gen2simtest", Name: "main", Type: "branch"}
	d0, err := Deploy(ctx, c, assembly(t, "amplifyAuthUserPool4BA7F805"), root, b, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx := context.Background()
		_, _ = c.Identity.DeleteIdentityPool(ctx, &cognitoidentity.DeleteIdentityPoolInput{IdentityPoolId: &d0.IdentityPoolID})
		for _, n := range d0.Buckets {
			_, _ = c.S3.DeleteBucket(ctx, &s3.DeleteBucketInput{Bucket: aws.String(n)})
		}
	})
	providers := func(id string) []string {
		out, err := c.Identity.DescribeIdentityPool(ctx, &cognitoidentity.DescribeIdentityPoolInput{IdentityPoolId: &id})
		if err != nil {
			t.Fatalf("identity pool %s: %v", id, err)
		}
		var ps []string
		for _, p := range out.CognitoIdentityProviders {
			ps = append(ps, aws.ToString(p.ProviderName)+" "+aws.ToString(p.ClientId))
		}
		return ps
	}
	provider := func(d *Deployment) string {
		return "cognito-idp." + env.Config.Region + ".amazonaws.com/" + d.PoolID + " " + d.ClientID
	}
	if got := providers(d0.IdentityPoolID); len(got) != 1 || got[0] != provider(d0) {
		t.Errorf("identity pool providers %v, want [%s]", got, provider(d0))
	}
	bucket := d0.Buckets["notesFilesBucket80CF4A99"]
	if _, err := c.S3.HeadBucket(ctx, &s3.HeadBucketInput{Bucket: &bucket}); err != nil || len(bucket) > 63 {
		t.Errorf("bucket %q: %v", bucket, err)
	}
	outputs := func() gjson.Result {
		data, err := os.ReadFile(filepath.Join(root, "amplify_outputs.json"))
		if err != nil {
			t.Fatal(err)
		}
		return gjson.ParseBytes(data)
	}
	o := outputs()
	if o.Get("auth.identity_pool_id").String() != d0.IdentityPoolID || o.Get("storage.bucket_name").String() != bucket ||
		o.Get("storage.buckets.0.name").String() != "notesFiles" || o.Get("storage.buckets.0.bucket_name").String() != bucket ||
		!o.Get("storage.buckets.0.paths").Get(gjson.Escape("private/${cognito-identity.amazonaws.com:sub}/*")).Exists() {
		t.Errorf("amplify_outputs.json: auth.identity_pool_id %s, storage %s; want %s and bucket %s", o.Get("auth.identity_pool_id"), o.Get("storage").Raw, d0.IdentityPoolID, bucket)
	}

	d1, err := Deploy(ctx, c, assembly(t, "amplifyAuthUserPoolNew00000001"), root, b, d0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		for _, p := range []string{d0.PoolID, d1.PoolID} {
			_, _ = c.Cognito.DeleteUserPool(context.Background(), &cip.DeleteUserPoolInput{UserPoolId: aws.String(p)})
		}
	})
	if d1.PoolID == d0.PoolID || d1.IdentityPoolID != d0.IdentityPoolID {
		t.Fatalf("pool swap: user pool %s -> %s, identity pool %s -> %s; want a new user pool and the same identity pool", d0.PoolID, d1.PoolID, d0.IdentityPoolID, d1.IdentityPoolID)
	}
	if got := providers(d1.IdentityPoolID); len(got) != 1 || got[0] != provider(d1) {
		t.Errorf("after the swap the identity pool's providers are %v, want [%s]", got, provider(d1))
	}
	if d1.Buckets["notesFilesBucket80CF4A99"] != bucket || outputs().Get("auth.identity_pool_id").String() != d0.IdentityPoolID {
		t.Errorf("after the swap: bucket %s (was %s), outputs' identity pool %s", d1.Buckets["notesFilesBucket80CF4A99"], bucket, outputs().Get("auth.identity_pool_id"))
	}
}
