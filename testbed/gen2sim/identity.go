package gen2sim

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cognitoidentity"
	citypes "github.com/aws/aws-sdk-go-v2/service/cognitoidentity/types"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/poolmigrate/poolmigrate/testbed/gen2synth"
)

// refs resolves the intrinsics of the template a deploy needs: Ref of the
// user pool, its app client, the region and the buckets, and
// Fn::GetAtt of a nested stack's outputs.
type refs struct {
	asm    *gen2synth.Assembly
	values map[string]string // logical id (or AWS::Region) -> physical id
}

func (d *Deployment) refs(asm *gen2synth.Assembly) refs {
	r := refs{asm: asm, values: map[string]string{"AWS::Region": d.Region, d.PoolLogicalID: d.PoolID}}
	for _, c := range asm.OfType("AWS::Cognito::UserPoolClient") {
		r.values[c.LogicalID] = d.ClientID
	}
	for l, b := range d.Buckets {
		r.values[l] = b
	}
	return r
}

// resolve gives v's value as a deploy would, or false for an intrinsic
// it does not model.
func (r refs) resolve(v any) (string, bool) {
	switch x := v.(type) {
	case string:
		return x, true
	case bool:
		return fmt.Sprint(x), true
	case map[string]any:
		if ref, ok := x["Ref"].(string); ok {
			s, ok := r.values[ref]
			return s, ok
		}
		if j, ok := x["Fn::Join"].([]any); ok && len(j) == 2 {
			sep, _ := j[0].(string)
			var parts []string
			for _, p := range list(j[1]) {
				s, ok := r.resolve(p)
				if !ok {
					return "", false
				}
				parts = append(parts, s)
			}
			return strings.Join(parts, sep), true
		}
		if g, ok := x["Fn::GetAtt"].([]any); ok && len(g) == 2 {
			attr, _ := g[1].(string)
			if name, ok := strings.CutPrefix(attr, "Outputs."); ok {
				for _, t := range r.asm.Templates {
					if o, ok := t.Outputs[name].(map[string]any); ok {
						return r.resolve(o["Value"])
					}
				}
			}
		}
	}
	return "", false
}

// deployIdentityPool creates the template's identity pool, or updates the
// one deployed before under the same logical id in place (its id stays;
// its providers become the template's, so a pool swap switches the
// provider to the new user pool, as CloudFormation's update does).
func (d *Deployment) deployIdentityPool(ctx context.Context, c *cognitoidentity.Client, asm *gen2synth.Assembly, prev *Deployment) error {
	pools := asm.OfType("AWS::Cognito::IdentityPool")
	if c == nil || len(pools) != 1 {
		return nil
	}
	ip := pools[0]
	r := d.refs(asm)
	var providers []citypes.CognitoIdentityProvider
	for _, p := range list(ip.Properties["CognitoIdentityProviders"]) {
		m, _ := p.(map[string]any)
		name, ok1 := r.resolve(m["ProviderName"])
		client, ok2 := r.resolve(m["ClientId"])
		if !ok1 || !ok2 {
			return fmt.Errorf("identity pool %s: a provider the test bed cannot resolve: %v", ip.LogicalID, p)
		}
		check, _ := m["ServerSideTokenCheck"].(bool)
		providers = append(providers, citypes.CognitoIdentityProvider{ProviderName: aws.String(name), ClientId: aws.String(client), ServerSideTokenCheck: aws.Bool(check)})
	}
	guests, _ := ip.Properties["AllowUnauthenticatedIdentities"].(bool)
	d.IdentityPoolLogicalID = ip.LogicalID
	if prev != nil && prev.IdentityPoolID != "" && prev.IdentityPoolLogicalID == ip.LogicalID {
		d.IdentityPoolID = prev.IdentityPoolID
		cur, err := c.DescribeIdentityPool(ctx, &cognitoidentity.DescribeIdentityPoolInput{IdentityPoolId: &d.IdentityPoolID})
		if err != nil {
			return fmt.Errorf("read identity pool %s: %w", d.IdentityPoolID, err)
		}
		if _, err := c.UpdateIdentityPool(ctx, &cognitoidentity.UpdateIdentityPoolInput{IdentityPoolId: cur.IdentityPoolId, IdentityPoolName: cur.IdentityPoolName,
			AllowUnauthenticatedIdentities: guests, CognitoIdentityProviders: providers, IdentityPoolTags: cur.IdentityPoolTags}); err != nil {
			return fmt.Errorf("update identity pool %s: %w", d.IdentityPoolID, err)
		}
		return nil
	}
	out, err := c.CreateIdentityPool(ctx, &cognitoidentity.CreateIdentityPoolInput{IdentityPoolName: aws.String(ip.LogicalID + "_" + randomID(8)),
		AllowUnauthenticatedIdentities: guests, CognitoIdentityProviders: providers})
	if err != nil {
		return fmt.Errorf("create identity pool %s: %w", ip.LogicalID, err)
	}
	d.IdentityPoolID = aws.ToString(out.IdentityPoolId)
	return nil
}

// deployBuckets names each bucket the root stack's storage outputs list
// as CloudFormation names a bucket without BucketName (the same across
// deploys), creates it on the test bed's S3 when missing, and resolves
// the storage outputs.
func (d *Deployment) deployBuckets(ctx context.Context, c *s3.Client, asm *gen2synth.Assembly, prev *Deployment) error {
	if c == nil {
		return nil
	}
	d.Buckets = map[string]string{}
	for _, b := range asm.OfType("AWS::S3::Bucket") {
		if n, ok := prev.bucket(b.LogicalID); ok {
			d.Buckets[b.LogicalID] = n
			continue
		}
		prefix := strings.ToLower(d.RootStack)
		if len(prefix) > 26 {
			prefix = prefix[:26]
		}
		d.Buckets[b.LogicalID] = strings.ToLower(prefix + "-" + b.LogicalID + "-" + randomID(12))
		if len(d.Buckets[b.LogicalID]) > 63 {
			d.Buckets[b.LogicalID] = d.Buckets[b.LogicalID][:50] + randomID(13)
		}
	}
	ro := asm.Templates[asm.RootTemplate()].Outputs
	r := d.refs(asm)
	value := func(name string) string {
		o, _ := ro[name].(map[string]any)
		s, _ := r.resolve(o["Value"])
		return s
	}
	raw := value("buckets")
	if raw == "" {
		return nil
	}
	// "buckets" is a list of JSON documents, one a bucket.
	var docs []string
	if err := json.Unmarshal([]byte(raw), &docs); err != nil {
		return fmt.Errorf("the root stack's buckets output: %w", err)
	}
	var buckets []any
	for _, doc := range docs {
		var b struct {
			Name          string         `json:"name"`
			BucketName    string         `json:"bucketName"`
			StorageRegion string         `json:"storageRegion"`
			Paths         map[string]any `json:"paths"`
		}
		if err := json.Unmarshal([]byte(doc), &b); err != nil {
			return fmt.Errorf("the root stack's buckets output: %w", err)
		}
		if _, err := c.HeadBucket(ctx, &s3.HeadBucketInput{Bucket: &b.BucketName}); err != nil {
			if _, err := c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: &b.BucketName}); err != nil {
				return fmt.Errorf("create bucket %s (%s): %w", b.BucketName, b.Name, err)
			}
		}
		buckets = append(buckets, map[string]any{"name": b.Name, "bucket_name": b.BucketName, "aws_region": b.StorageRegion, "paths": b.Paths})
	}
	d.Storage = map[string]any{"aws_region": value("storageRegion"), "bucket_name": value("bucketName"), "buckets": buckets}
	return nil
}

func (d *Deployment) bucket(logicalID string) (string, bool) {
	if d == nil {
		return "", false
	}
	n, ok := d.Buckets[logicalID]
	return n, ok
}
