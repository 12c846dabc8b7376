package storage

import (
	"context"
	"sort"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/smithy-go"
)

// fakeBucket answers ListObjectsV2 like S3: keys in order, pages of
// pageSize with a continuation token.
type fakeBucket struct {
	name     string
	objects  map[string]int64
	pageSize int
	calls    int
}

func (f *fakeBucket) ListObjectsV2(_ context.Context, in *s3.ListObjectsV2Input, _ ...func(*s3.Options)) (*s3.ListObjectsV2Output, error) {
	f.calls++
	if aws.ToString(in.Bucket) == "denied-dev" {
		return nil, &smithy.GenericAPIError{Code: "AccessDenied", Message: "Access Denied"}
	}
	if aws.ToString(in.Bucket) != f.name {
		return nil, &smithy.GenericAPIError{Code: "NoSuchBucket", Message: "The specified bucket does not exist"}
	}
	var keys []string
	for k := range f.objects {
		if strings.HasPrefix(k, aws.ToString(in.Prefix)) && k > aws.ToString(in.ContinuationToken) {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	out := &s3.ListObjectsV2Output{}
	if len(keys) > f.pageSize {
		keys = keys[:f.pageSize]
		out.IsTruncated = aws.Bool(true)
		out.NextContinuationToken = aws.String(keys[len(keys)-1])
	}
	for _, k := range keys {
		out.Contents = append(out.Contents, types.Object{Key: aws.String(k), Size: aws.Int64(f.objects[k])})
	}
	return out, nil
}

func TestAddLiveCountsIdentitiesObjectsAndBytes(t *testing.T) {
	a, b := "us-east-1:aaaaaaaa-0000-0000-0000-000000000000", "us-east-1:bbbbbbbb-0000-0000-0000-000000000000"
	bucket := &fakeBucket{name: "files-dev", pageSize: 2, objects: map[string]int64{
		"private/" + a + "/one.jpg":      100,
		"private/" + a + "/two/deep.jpg": 50,
		"private/" + b + "/x":            7,
		"private/stray.txt":              1000, // not in an identity's folder
		"protected/" + a + "/p":          3,
		"public/z":                       9,
		"albums/u-" + b + "-x/1":         11,
		"albums/u-" + b + "-y/1":         13, // not the template's segment
		"albums/u-zz/q-x/1":              17, // the segment is "u-zz", not u-…-x
		"private//empty":                 19, // no identity id
	}}
	p := newPlan(2)
	p.Buckets = []Bucket{
		{Resource: "files", BucketName: "files-dev", IdentityPaths: []IdentityPath{{Template: "private/{entity_id}/"}, {Template: "protected/{entity_id}/"}, {Template: "albums/u-{entity_id}-x/"}}},
		{Resource: "gone", BucketName: "gone-dev", IdentityPaths: []IdentityPath{{Template: "private/{entity_id}/"}}},
		{Resource: "unknown", IdentityPaths: []IdentityPath{{Template: "private/{entity_id}/"}}},
		{Resource: "denied", BucketName: "denied-dev", IdentityPaths: []IdentityPath{{Template: "private/{entity_id}/"}}},
	}
	if err := p.AddLive(context.Background(), bucket); err != nil {
		t.Fatal(err)
	}
	want := map[string]PathCount{
		"private/{entity_id}/":    {Identities: 2, Objects: 3, Bytes: 157},
		"protected/{entity_id}/":  {Identities: 1, Objects: 1, Bytes: 3},
		"albums/u-{entity_id}-x/": {Identities: 1, Objects: 1, Bytes: 11},
	}
	for _, ip := range p.Buckets[0].IdentityPaths {
		if ip.Live == nil || *ip.Live != want[ip.Template] {
			t.Errorf("%s: %+v, want %+v", ip.Template, ip.Live, want[ip.Template])
		}
	}
	if bucket.calls < 4 {
		t.Errorf("%d calls: the listing did not page", bucket.calls)
	}
	var codes []string
	for _, w := range p.Warnings {
		codes = append(codes, w.Code)
	}
	if strings.Join(codes, ",") != "BUCKET_NOT_FOUND,BUCKET_NAME_UNKNOWN,BUCKET_NOT_COUNTED" {
		t.Errorf("warnings: %+v", p.Warnings)
	}
}
