package testenv_test

import (
	"bytes"
	"context"
	"crypto/md5"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/smithy-go"

	"github.com/poolmigrate/poolmigrate/testbed/testenv"
)

// These tests pin what the storage commands need from the test bed's S3
// server, so a server that lacks one of them (s3rver has no UploadPartCopy,
// for one) cannot be swapped in unnoticed.

func body(t *testing.T, c *s3.Client, bucket, key string) []byte {
	t.Helper()
	out, err := c.GetObject(context.Background(), &s3.GetObjectInput{Bucket: &bucket, Key: &key})
	if err != nil {
		t.Fatalf("get %s: %v", key, err)
	}
	defer out.Body.Close()
	b, err := io.ReadAll(out.Body)
	if err != nil {
		t.Fatalf("read %s: %v", key, err)
	}
	return b
}

func tagsOf(t *testing.T, c *s3.Client, bucket, key string) map[string]string {
	t.Helper()
	out, err := c.GetObjectTagging(context.Background(), &s3.GetObjectTaggingInput{Bucket: &bucket, Key: &key})
	if err != nil {
		t.Fatalf("tags of %s: %v", key, err)
	}
	m := map[string]string{}
	for _, tag := range out.TagSet {
		m[aws.ToString(tag.Key)] = aws.ToString(tag.Value)
	}
	return m
}

func errCode(err error) string {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		return ae.ErrorCode()
	}
	return ""
}

func TestS3ListsByPrefixDelimiterAndPages(t *testing.T) {
	c := testenv.S3Client(t)
	ctx := context.Background()
	bucket := testenv.NewBucket(t, c)
	var objs []testenv.S3Object
	for _, k := range []string{"private/us-east-1:a/1.jpg", "private/us-east-1:a/2.jpg", "private/us-east-1:a/sub/3.jpg",
		"private/us-east-1:b/1.jpg", "private/us-east-1:c/1.jpg", "protected/us-east-1:a/p.txt", "public/x.txt"} {
		objs = append(objs, testenv.S3Object{Key: k, Body: []byte(k)})
	}
	testenv.PutObjects(t, c, bucket, objs...)

	// The identity-id folders under private/, one page of two at a time.
	var prefixes []string
	pages := 0
	p := s3.NewListObjectsV2Paginator(c, &s3.ListObjectsV2Input{Bucket: &bucket, Prefix: aws.String("private/"), Delimiter: aws.String("/"), MaxKeys: aws.Int32(2)})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			t.Fatalf("list: %v", err)
		}
		pages++
		if len(page.Contents) != 0 {
			t.Errorf("page %d: objects %v beside the folders, want none", pages, page.Contents)
		}
		if n := len(page.CommonPrefixes); n > 2 {
			t.Errorf("page %d: %d prefixes, MaxKeys 2", pages, n)
		}
		for _, cp := range page.CommonPrefixes {
			prefixes = append(prefixes, aws.ToString(cp.Prefix))
		}
	}
	want := []string{"private/us-east-1:a/", "private/us-east-1:b/", "private/us-east-1:c/"}
	if !slices.Equal(prefixes, want) || pages != 2 {
		t.Errorf("folders %v in %d pages, want %v in 2", prefixes, pages, want)
	}
	// Every key under one identity, sub-folders included, one per page.
	var keys []string
	p = s3.NewListObjectsV2Paginator(c, &s3.ListObjectsV2Input{Bucket: &bucket, Prefix: aws.String("private/us-east-1:a/"), MaxKeys: aws.Int32(1)})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			t.Fatalf("list: %v", err)
		}
		for _, o := range page.Contents {
			keys = append(keys, aws.ToString(o.Key))
			if aws.ToInt64(o.Size) != int64(len(aws.ToString(o.Key))) || aws.ToString(o.ETag) == "" {
				t.Errorf("%s: size %d etag %q", aws.ToString(o.Key), aws.ToInt64(o.Size), aws.ToString(o.ETag))
			}
		}
	}
	if want := []string{"private/us-east-1:a/1.jpg", "private/us-east-1:a/2.jpg", "private/us-east-1:a/sub/3.jpg"}; !slices.Equal(keys, want) {
		t.Errorf("keys %v, want %v", keys, want)
	}
	if all := testenv.ListKeys(t, c, bucket, ""); len(all) != len(objs) {
		t.Errorf("ListKeys: %d keys, want %d", len(all), len(objs))
	}
	// A bucket is never made by a write, nor deleted while it holds objects.
	missing := bucket + "-none"
	if _, err := c.PutObject(ctx, &s3.PutObjectInput{Bucket: &missing, Key: aws.String("k"), Body: strings.NewReader("x")}); errCode(err) != "NoSuchBucket" {
		t.Errorf("a write to a missing bucket: %v, want NoSuchBucket", err)
	}
	if _, err := c.DeleteBucket(ctx, &s3.DeleteBucketInput{Bucket: &bucket}); errCode(err) != "BucketNotEmpty" {
		t.Errorf("deleting a bucket with objects: %v, want BucketNotEmpty", err)
	}
}

func TestS3HeadAndCopyKeepMetadataAndTags(t *testing.T) {
	c := testenv.S3Client(t)
	ctx := context.Background()
	bucket := testenv.NewBucket(t, c)
	data := []byte("a photo")
	testenv.PutObjects(t, c, bucket, testenv.S3Object{Key: "private/old/photo.jpg", Body: data, ContentType: "image/jpeg",
		Metadata: map[string]string{"owner": "alice"}, Tags: map[string]string{"kind": "photo", "a b": "c d+e"}})

	head, err := c.HeadObject(ctx, &s3.HeadObjectInput{Bucket: &bucket, Key: aws.String("private/old/photo.jpg")})
	if err != nil {
		t.Fatalf("head: %v", err)
	}
	sum := md5.Sum(data)
	if aws.ToString(head.ContentType) != "image/jpeg" || head.Metadata["owner"] != "alice" || aws.ToInt64(head.ContentLength) != int64(len(data)) ||
		aws.ToString(head.ETag) != `"`+hex.EncodeToString(sum[:])+`"` || aws.ToInt32(head.TagCount) != 2 {
		t.Errorf("head: type %q metadata %v length %d etag %s tags %d", aws.ToString(head.ContentType), head.Metadata, aws.ToInt64(head.ContentLength), aws.ToString(head.ETag), aws.ToInt32(head.TagCount))
	}
	if _, err := c.HeadObject(ctx, &s3.HeadObjectInput{Bucket: &bucket, Key: aws.String("private/old/none")}); errCode(err) != "NotFound" {
		t.Errorf("head of a missing key: %v, want NotFound", err)
	}

	// Default directives: metadata, content type and tags come along.
	if _, err := c.CopyObject(ctx, &s3.CopyObjectInput{Bucket: &bucket, Key: aws.String("private/new/photo.jpg"),
		CopySource: aws.String(bucket + "/private/old/photo.jpg")}); err != nil {
		t.Fatalf("copy: %v", err)
	}
	cp, err := c.HeadObject(ctx, &s3.HeadObjectInput{Bucket: &bucket, Key: aws.String("private/new/photo.jpg")})
	if err != nil {
		t.Fatalf("head copy: %v", err)
	}
	if aws.ToString(cp.ContentType) != "image/jpeg" || cp.Metadata["owner"] != "alice" || aws.ToString(cp.ETag) != aws.ToString(head.ETag) {
		t.Errorf("copy: type %q metadata %v etag %s, want the source's", aws.ToString(cp.ContentType), cp.Metadata, aws.ToString(cp.ETag))
	}
	if got := tagsOf(t, c, bucket, "private/new/photo.jpg"); len(got) != 2 || got["kind"] != "photo" || got["a b"] != "c d+e" {
		t.Errorf("copy's tags %v, want the source's", got)
	}
	if !bytes.Equal(body(t, c, bucket, "private/new/photo.jpg"), data) {
		t.Error("copy's body differs")
	}
	// TaggingDirective REPLACE takes the request's tags instead.
	if _, err := c.CopyObject(ctx, &s3.CopyObjectInput{Bucket: &bucket, Key: aws.String("private/new/retagged.jpg"),
		CopySource: aws.String(bucket + "/private/old/photo.jpg"), TaggingDirective: s3types.TaggingDirectiveReplace, Tagging: aws.String("moved=yes")}); err != nil {
		t.Fatalf("copy with new tags: %v", err)
	}
	if got := tagsOf(t, c, bucket, "private/new/retagged.jpg"); len(got) != 1 || got["moved"] != "yes" {
		t.Errorf("replaced tags %v, want moved=yes only", got)
	}
	// PutObjectTagging replaces the set.
	if _, err := c.PutObjectTagging(ctx, &s3.PutObjectTaggingInput{Bucket: &bucket, Key: aws.String("private/new/photo.jpg"),
		Tagging: &s3types.Tagging{TagSet: []s3types.Tag{{Key: aws.String("copied-by"), Value: aws.String("poolmigrate")}}}}); err != nil {
		t.Fatalf("put tagging: %v", err)
	}
	if got := tagsOf(t, c, bucket, "private/new/photo.jpg"); len(got) != 1 || got["copied-by"] != "poolmigrate" {
		t.Errorf("tags after PutObjectTagging %v", got)
	}
	// A copy conditioned on the source's ETag fails once it changed.
	if _, err := c.CopyObject(ctx, &s3.CopyObjectInput{Bucket: &bucket, Key: aws.String("private/new/cond.jpg"),
		CopySource: aws.String(bucket + "/private/old/photo.jpg"), CopySourceIfMatch: aws.String(`"0123456789abcdef0123456789abcdef"`)}); errCode(err) != "PreconditionFailed" {
		t.Errorf("copy with a stale If-Match: %v, want PreconditionFailed", err)
	}
}

func TestS3MultipartCopyByRanges(t *testing.T) {
	c := testenv.S3Client(t)
	ctx := context.Background()
	bucket := testenv.NewBucket(t, c)
	const part = 5 << 20 // S3's smallest part but the last
	data := make([]byte, 2*part+1234)
	for i := range data {
		data[i] = byte(i*7 + i/part)
	}
	testenv.PutObjects(t, c, bucket, testenv.S3Object{Key: "private/old/video.mp4", Body: data, ContentType: "video/mp4",
		Metadata: map[string]string{"owner": "bob"}})

	up, err := c.CreateMultipartUpload(ctx, &s3.CreateMultipartUploadInput{Bucket: &bucket, Key: aws.String("private/new/video.mp4"),
		ContentType: aws.String("video/mp4"), Metadata: map[string]string{"owner": "bob"}, Tagging: aws.String("kind=video")})
	if err != nil {
		t.Fatalf("create multipart upload: %v", err)
	}
	var parts []s3types.CompletedPart
	for i, start := int32(1), 0; start < len(data); i, start = i+1, start+part {
		end := min(start+part, len(data)) - 1
		out, err := c.UploadPartCopy(ctx, &s3.UploadPartCopyInput{Bucket: &bucket, Key: aws.String("private/new/video.mp4"), UploadId: up.UploadId,
			PartNumber: aws.Int32(i), CopySource: aws.String(bucket + "/private/old/video.mp4"), CopySourceRange: aws.String(fmt.Sprintf("bytes=%d-%d", start, end))})
		if err != nil {
			t.Fatalf("upload part copy %d: %v", i, err)
		}
		parts = append(parts, s3types.CompletedPart{PartNumber: aws.Int32(i), ETag: out.CopyPartResult.ETag})
	}
	if _, err := c.CompleteMultipartUpload(ctx, &s3.CompleteMultipartUploadInput{Bucket: &bucket, Key: aws.String("private/new/video.mp4"), UploadId: up.UploadId,
		MultipartUpload: &s3types.CompletedMultipartUpload{Parts: parts}}); err != nil {
		t.Fatalf("complete multipart upload: %v", err)
	}
	if got := body(t, c, bucket, "private/new/video.mp4"); !bytes.Equal(got, data) {
		t.Errorf("the multipart copy has %d bytes, differing from the %d of the source", len(got), len(data))
	}
	head, err := c.HeadObject(ctx, &s3.HeadObjectInput{Bucket: &bucket, Key: aws.String("private/new/video.mp4")})
	if err != nil {
		t.Fatalf("head: %v", err)
	}
	// A multipart object's ETag is the MD5 of its parts' MD5s, "-" and
	// their count.
	var md5s []byte
	for start := 0; start < len(data); start += part {
		s := md5.Sum(data[start:min(start+part, len(data))])
		md5s = append(md5s, s[:]...)
	}
	whole := md5.Sum(md5s)
	if want := fmt.Sprintf(`"%s-3"`, hex.EncodeToString(whole[:])); aws.ToString(head.ETag) != want {
		t.Errorf("multipart ETag %s, want %s", aws.ToString(head.ETag), want)
	}
	if aws.ToString(head.ContentType) != "video/mp4" || head.Metadata["owner"] != "bob" || tagsOf(t, c, bucket, "private/new/video.mp4")["kind"] != "video" {
		t.Errorf("multipart copy: type %q metadata %v", aws.ToString(head.ContentType), head.Metadata)
	}
	// A part below 5 MiB that is not the last is refused at completion.
	up2, err := c.CreateMultipartUpload(ctx, &s3.CreateMultipartUploadInput{Bucket: &bucket, Key: aws.String("small")})
	if err != nil {
		t.Fatalf("create multipart upload: %v", err)
	}
	parts = nil
	for i := int32(1); i <= 2; i++ {
		out, err := c.UploadPartCopy(ctx, &s3.UploadPartCopyInput{Bucket: &bucket, Key: aws.String("small"), UploadId: up2.UploadId,
			PartNumber: aws.Int32(i), CopySource: aws.String(bucket + "/private/old/video.mp4"), CopySourceRange: aws.String("bytes=0-99")})
		if err != nil {
			t.Fatalf("upload part copy %d: %v", i, err)
		}
		parts = append(parts, s3types.CompletedPart{PartNumber: aws.Int32(i), ETag: out.CopyPartResult.ETag})
	}
	_, err = c.CompleteMultipartUpload(ctx, &s3.CompleteMultipartUploadInput{Bucket: &bucket, Key: aws.String("small"), UploadId: up2.UploadId,
		MultipartUpload: &s3types.CompletedMultipartUpload{Parts: parts}})
	if errCode(err) != "EntityTooSmall" {
		t.Errorf("completing with a 100-byte first part: %v, want EntityTooSmall", err)
	}
	_, _ = c.AbortMultipartUpload(ctx, &s3.AbortMultipartUploadInput{Bucket: &bucket, Key: aws.String("small"), UploadId: up2.UploadId})
}

func TestS3DeleteObjectsAndChecksums(t *testing.T) {
	c := testenv.S3Client(t)
	ctx := context.Background()
	bucket := testenv.NewBucket(t, c)
	data := []byte("a document")
	sum := sha256.Sum256(data)
	if _, err := c.PutObject(ctx, &s3.PutObjectInput{Bucket: &bucket, Key: aws.String("a"), Body: bytes.NewReader(data),
		ChecksumAlgorithm: s3types.ChecksumAlgorithmSha256}); err != nil {
		t.Fatalf("put with a checksum: %v", err)
	}
	head, err := c.HeadObject(ctx, &s3.HeadObjectInput{Bucket: &bucket, Key: aws.String("a"), ChecksumMode: s3types.ChecksumModeEnabled})
	if err != nil {
		t.Fatalf("head: %v", err)
	}
	if got, want := aws.ToString(head.ChecksumSHA256), base64.StdEncoding.EncodeToString(sum[:]); got != want {
		t.Errorf("stored SHA-256 %q, want %q", got, want)
	}
	// A body that does not match its declared checksum is refused.
	wrong := sha256.Sum256([]byte("another document"))
	_, err = c.PutObject(ctx, &s3.PutObjectInput{Bucket: &bucket, Key: aws.String("bad"), Body: bytes.NewReader(data),
		ChecksumSHA256: aws.String(base64.StdEncoding.EncodeToString(wrong[:]))})
	if err == nil {
		t.Error("a body with a wrong x-amz-checksum-sha256 was stored")
	}
	testenv.PutObjects(t, c, bucket, testenv.S3Object{Key: "b", Body: data}, testenv.S3Object{Key: "c", Body: data})
	out, err := c.DeleteObjects(ctx, &s3.DeleteObjectsInput{Bucket: &bucket, Delete: &s3types.Delete{Objects: []s3types.ObjectIdentifier{
		{Key: aws.String("a")}, {Key: aws.String("b")}, {Key: aws.String("never-there")}}}})
	if err != nil {
		t.Fatalf("delete objects: %v", err)
	}
	// S3 reports a key that was not there as deleted too.
	var deleted []string
	for _, d := range out.Deleted {
		deleted = append(deleted, aws.ToString(d.Key))
	}
	slices.Sort(deleted)
	if !slices.Equal(deleted, []string{"a", "b", "never-there"}) || len(out.Errors) != 0 {
		t.Errorf("deleted %v errors %v, want a, b, never-there and no errors", deleted, out.Errors)
	}
	if keys := testenv.ListKeys(t, c, bucket, ""); !slices.Equal(keys, []string{"c"}) {
		t.Errorf("left %v, want c", keys)
	}
}

// The server checks signatures: a client with a wrong secret key is
// refused, as AWS refuses it.
func TestS3ChecksSignatures(t *testing.T) {
	c := testenv.S3Client(t)
	bucket := testenv.NewBucket(t, c)
	cfg, err := config.LoadDefaultConfig(context.Background(), config.WithCredentialsProvider(credentials.NewStaticCredentialsProvider("testbed", "not-the-secret", "")))
	if err != nil {
		t.Fatal(err)
	}
	bad := s3.NewFromConfig(cfg, func(o *s3.Options) { o.UsePathStyle = true })
	_, err = bad.ListObjectsV2(context.Background(), &s3.ListObjectsV2Input{Bucket: &bucket})
	if code := errCode(err); code != "SignatureDoesNotMatch" {
		t.Errorf("a wrong secret key: %v, want SignatureDoesNotMatch", err)
	}
}
