package s3move

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strings"

	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/smithy-go"
)

// API lists the S3 calls this package makes, with the SDK's own
// signatures: *s3.Client satisfies it.
type API interface {
	ListObjectsV2(context.Context, *s3.ListObjectsV2Input, ...func(*s3.Options)) (*s3.ListObjectsV2Output, error)
	HeadObject(context.Context, *s3.HeadObjectInput, ...func(*s3.Options)) (*s3.HeadObjectOutput, error)
	CopyObject(context.Context, *s3.CopyObjectInput, ...func(*s3.Options)) (*s3.CopyObjectOutput, error)
	GetObjectTagging(context.Context, *s3.GetObjectTaggingInput, ...func(*s3.Options)) (*s3.GetObjectTaggingOutput, error)
	CreateMultipartUpload(context.Context, *s3.CreateMultipartUploadInput, ...func(*s3.Options)) (*s3.CreateMultipartUploadOutput, error)
	UploadPartCopy(context.Context, *s3.UploadPartCopyInput, ...func(*s3.Options)) (*s3.UploadPartCopyOutput, error)
	CompleteMultipartUpload(context.Context, *s3.CompleteMultipartUploadInput, ...func(*s3.Options)) (*s3.CompleteMultipartUploadOutput, error)
	AbortMultipartUpload(context.Context, *s3.AbortMultipartUploadInput, ...func(*s3.Options)) (*s3.AbortMultipartUploadOutput, error)
	DeleteObject(context.Context, *s3.DeleteObjectInput, ...func(*s3.Options)) (*s3.DeleteObjectOutput, error)
}

// NewClient builds an S3 client from the SDK's default chain
// (config.LoadDefaultConfig: credentials, region, AWS_ENDPOINT_URL_S3).
// pathStyle addresses buckets by path, as a local S3 server needs; on AWS
// leave it false.
func NewClient(ctx context.Context, pathStyle bool) (*s3.Client, error) {
	cfg, err := config.LoadDefaultConfig(ctx)
	if err != nil {
		return nil, fmt.Errorf("load AWS config: %w", err)
	}
	return s3.NewFromConfig(cfg, func(o *s3.Options) { o.UsePathStyle = pathStyle }), nil
}

// copySource is the x-amz-copy-source of a key: bucket/key, URL-encoded
// with its slashes kept.
func copySource(bucket, key string) string {
	return strings.ReplaceAll(url.PathEscape(bucket+"/"+key), "%2F", "/")
}

// notFound tells a missing object (HeadObject answers 404 without a
// body, so NotFound; other calls NoSuchKey).
func notFound(err error) bool {
	var nf *types.NotFound
	var nk *types.NoSuchKey
	if errors.As(err, &nf) || errors.As(err, &nk) {
		return true
	}
	var ae smithy.APIError
	return errors.As(err, &ae) && (ae.ErrorCode() == "NotFound" || ae.ErrorCode() == "NoSuchKey")
}

// preconditionFailed tells a refused If-Match or If-None-Match.
func preconditionFailed(err error) bool {
	var ae smithy.APIError
	return errors.As(err, &ae) && (ae.ErrorCode() == "PreconditionFailed" || ae.ErrorCode() == "412")
}

// object is what the package compares of an object.
type object struct {
	Key       string
	Size      int64
	ETag      string
	Checksums map[string]string // algorithm → full-object checksum
	VersionID string
	Class     types.ObjectStorageClass // from a listing
}

func headObject(ctx context.Context, api API, bucket, key string) (*s3.HeadObjectOutput, error) {
	return api.HeadObject(ctx, &s3.HeadObjectInput{Bucket: &bucket, Key: &key, ChecksumMode: types.ChecksumModeEnabled})
}

func fromHead(key string, h *s3.HeadObjectOutput) object {
	o := object{Key: key, ETag: deref(h.ETag), VersionID: deref(h.VersionId), Checksums: map[string]string{}}
	if h.ContentLength != nil {
		o.Size = *h.ContentLength
	}
	if h.ChecksumType == types.ChecksumTypeComposite {
		return o // a checksum of part checksums: another part layout gives another
	}
	for alg, v := range map[string]*string{"CRC32": h.ChecksumCRC32, "CRC32C": h.ChecksumCRC32C, "CRC64NVME": h.ChecksumCRC64NVME, "SHA1": h.ChecksumSHA1, "SHA256": h.ChecksumSHA256} {
		if s := deref(v); s != "" && !strings.Contains(s, "-") {
			o.Checksums[alg] = s
		}
	}
	return o
}

// multipartETag tells an ETag S3 gave a multipart upload ("…-N"): not
// the MD5 of the content, so not comparable with a one-part object's.
func multipartETag(etag string) bool { return strings.Contains(etag, "-") }

// sameChecksum tells whether two objects share a full-object checksum.
func sameChecksum(a, b object) (same, comparable bool) {
	for alg, v := range a.Checksums {
		if w, ok := b.Checksums[alg]; ok {
			if v != w {
				return false, true
			}
			same = true
		}
	}
	return same, same
}

func deref[T any](p *T) T {
	var zero T
	if p == nil {
		return zero
	}
	return *p
}

// queryEscape encodes a tag's key or value for x-amz-tagging.
func queryEscape(s string) string { return url.QueryEscape(s) }
