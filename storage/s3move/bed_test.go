package s3move

import (
	"bytes"
	"context"
	"crypto/sha256"
	"fmt"
	"io"
	"path/filepath"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/poolmigrate/poolmigrate/testbed/testenv"
)

// bed is a bucket on the test bed's S3 server.
type bed struct {
	t      *testing.T
	c      *s3.Client
	bucket string
}

func newBed(t *testing.T) *bed {
	t.Helper()
	c := testenv.S3Client(t)
	return &bed{t: t, c: c, bucket: testenv.NewBucket(t, c)}
}

func (b *bed) put(objs ...testenv.S3Object) {
	b.t.Helper()
	testenv.PutObjects(b.t, b.c, b.bucket, objs...)
}

// snapshot is every object of the bucket: key → ETag and size.
func (b *bed) snapshot() map[string]string {
	b.t.Helper()
	out := map[string]string{}
	for _, o := range testenv.ListObjects(b.t, b.c, b.bucket, "") {
		out[aws.ToString(o.Key)] = fmt.Sprintf("%s/%d", aws.ToString(o.ETag), aws.ToInt64(o.Size))
	}
	return out
}

func (b *bed) body(key string) []byte {
	b.t.Helper()
	out, err := b.c.GetObject(context.Background(), &s3.GetObjectInput{Bucket: &b.bucket, Key: &key})
	if err != nil {
		b.t.Fatalf("get %s: %v", key, err)
	}
	defer out.Body.Close()
	data, err := io.ReadAll(out.Body)
	if err != nil {
		b.t.Fatal(err)
	}
	return data
}

func (b *bed) journal() string {
	return filepath.Join(b.t.TempDir(), ".poolmigrate", "storage", "copy.journal.jsonl")
}

// body makes n bytes of content unique to seed.
func content(seed string, n int) []byte {
	var buf bytes.Buffer
	for i := 0; buf.Len() < n; i++ {
		s := sha256.Sum256([]byte(fmt.Sprintf("%s/%d", seed, i)))
		buf.Write(s[:])
	}
	return buf.Bytes()[:n]
}

// calls counts and records the S3 calls made through it.
type calls struct {
	API
	mu     sync.Mutex
	n      map[string]int
	copied map[string]int // destination → CopyObject and CompleteMultipartUpload calls that succeeded
}

func counting(api API) *calls { return &calls{API: api, n: map[string]int{}, copied: map[string]int{}} }

func (c *calls) count(op, key string, err error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.n[op]++
	if key != "" && err == nil {
		c.copied[key]++
	}
}

func (c *calls) ListObjectsV2(ctx context.Context, in *s3.ListObjectsV2Input, f ...func(*s3.Options)) (*s3.ListObjectsV2Output, error) {
	c.count("ListObjectsV2", "", nil)
	return c.API.ListObjectsV2(ctx, in, f...)
}

func (c *calls) CopyObject(ctx context.Context, in *s3.CopyObjectInput, f ...func(*s3.Options)) (*s3.CopyObjectOutput, error) {
	out, err := c.API.CopyObject(ctx, in, f...)
	c.count("CopyObject", *in.Key, err)
	return out, err
}

func (c *calls) UploadPartCopy(ctx context.Context, in *s3.UploadPartCopyInput, f ...func(*s3.Options)) (*s3.UploadPartCopyOutput, error) {
	c.count("UploadPartCopy", "", nil)
	return c.API.UploadPartCopy(ctx, in, f...)
}

func (c *calls) CompleteMultipartUpload(ctx context.Context, in *s3.CompleteMultipartUploadInput, f ...func(*s3.Options)) (*s3.CompleteMultipartUploadOutput, error) {
	out, err := c.API.CompleteMultipartUpload(ctx, in, f...)
	c.count("CompleteMultipartUpload", *in.Key, err)
	return out, err
}

// newID makes the n-th identity id of a test.
func newID(n int) string {
	return fmt.Sprintf("us-east-1:%08x-0000-4000-8000-%012x", n, n)
}

func mustTemplates(t *testing.T, ss ...string) []Template {
	t.Helper()
	ts, err := ParseTemplates(ss)
	if err != nil {
		t.Fatal(err)
	}
	return ts
}
