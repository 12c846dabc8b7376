package testenv

import (
	"bytes"
	"context"
	"net/url"
	"os"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"
)

// S3 returns an S3 client for the test bed's S3 server (SeaweedFS, at
// AWS_ENDPOINT_URL_S3), built the way the tool builds its clients:
// config.LoadDefaultConfig, then the service's options.
//
// The server is addressed by path (http://127.0.0.1:PORT/BUCKET/KEY): a
// loopback address has no per-bucket host names, so every S3 client
// pointed at the test bed must set UsePathStyle, as this one does. Code
// under test that builds its own S3 client takes an option for it (on AWS
// the default, virtual-hosted addressing, is right).
func (e *Env) S3(t testing.TB) *s3.Client {
	t.Helper()
	return S3Client(t)
}

// S3Client is Env.S3 for tests that need only S3: it skips (or, when
// Required, fails) the test when the test bed's S3 server is not running.
func S3Client(t testing.TB) *s3.Client {
	t.Helper()
	if os.Getenv("AWS_ENDPOINT_URL_S3") == "" {
		Skip(t, "the test bed's S3 server is not running: run `testbed/testbed.sh up` and `source .testbed/env` (or use scripts/test.sh)")
	}
	cfg, err := config.LoadDefaultConfig(context.Background())
	if err != nil {
		t.Fatalf("load AWS config: %v", err)
	}
	return s3.NewFromConfig(cfg, func(o *s3.Options) {
		o.UsePathStyle = true
		o.DisableLogOutputChecksumValidationSkipped = true // objects stored without a checksum
	})
}

// NewBucket creates a uniquely named bucket and, when the test ends,
// empties and deletes it.
func NewBucket(t testing.TB, c *s3.Client) string {
	t.Helper()
	ctx := context.Background()
	name := "t-" + RandomSuffix() + "-" + RandomSuffix()
	if _, err := c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: &name}); err != nil {
		t.Fatalf("create bucket %s: %v", name, err)
	}
	t.Cleanup(func() {
		EmptyBucket(t, c, name)
		_, _ = c.DeleteBucket(context.Background(), &s3.DeleteBucketInput{Bucket: &name})
	})
	return name
}

// EmptyBucket deletes every object of a bucket (its aborted multipart
// uploads are left to the server).
func EmptyBucket(t testing.TB, c *s3.Client, bucket string) {
	t.Helper()
	ctx := context.Background()
	for _, key := range ListKeys(t, c, bucket, "") {
		if _, err := c.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: &bucket, Key: aws.String(key)}); err != nil {
			t.Errorf("empty bucket %s: delete %s: %v", bucket, key, err)
		}
	}
}

// S3Object is an object to plant.
type S3Object struct {
	Key         string
	Body        []byte
	ContentType string
	Metadata    map[string]string
	// Tags become the object's tagging (x-amz-tagging).
	Tags map[string]string
}

// PutObjects plants objects in a bucket.
func PutObjects(t testing.TB, c *s3.Client, bucket string, objects ...S3Object) {
	t.Helper()
	ctx := context.Background()
	for _, o := range objects {
		in := &s3.PutObjectInput{Bucket: &bucket, Key: aws.String(o.Key), Body: bytes.NewReader(o.Body), Metadata: o.Metadata}
		if o.ContentType != "" {
			in.ContentType = aws.String(o.ContentType)
		}
		if len(o.Tags) > 0 {
			in.Tagging = aws.String(TagQuery(o.Tags))
		}
		if _, err := c.PutObject(ctx, in); err != nil {
			t.Fatalf("put s3://%s/%s: %v", bucket, o.Key, err)
		}
	}
}

// TagQuery encodes tags as the URL query PutObject's Tagging takes.
func TagQuery(tags map[string]string) string {
	v := url.Values{}
	for k, val := range tags {
		v.Set(k, val)
	}
	// Spaces as %20, not "+", which S3 would read as a literal plus.
	return strings.ReplaceAll(v.Encode(), "+", "%20")
}

// ListKeys lists every key under prefix, following ListObjectsV2's
// continuation tokens.
func ListKeys(t testing.TB, c *s3.Client, bucket, prefix string) []string {
	t.Helper()
	var keys []string
	for _, o := range ListObjects(t, c, bucket, prefix) {
		keys = append(keys, aws.ToString(o.Key))
	}
	return keys
}

// ListObjects lists every object under prefix, following ListObjectsV2's
// continuation tokens.
func ListObjects(t testing.TB, c *s3.Client, bucket, prefix string) []s3types.Object {
	t.Helper()
	var out []s3types.Object
	p := s3.NewListObjectsV2Paginator(c, &s3.ListObjectsV2Input{Bucket: &bucket, Prefix: aws.String(prefix)})
	for p.HasMorePages() {
		page, err := p.NextPage(context.Background())
		if err != nil {
			t.Fatalf("list s3://%s/%s: %v", bucket, prefix, err)
		}
		out = append(out, page.Contents...)
	}
	return out
}
