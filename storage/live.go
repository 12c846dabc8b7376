package storage

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/smithy-go"
)

// ObjectLister is the part of S3 that AddLive reads; *s3.Client
// satisfies it.
type ObjectLister interface {
	ListObjectsV2(ctx context.Context, in *s3.ListObjectsV2Input, optFns ...func(*s3.Options)) (*s3.ListObjectsV2Output, error)
}

// AddLive counts, for each bucket and per-identity path, the identity
// folders, objects and bytes stored under it. One paginated listing of
// the path's prefix gives all three: each key's segment at the
// template's {entity_id} names its identity, which a listing with
// Delimiter "/" would give too, but without the sizes (a second listing
// per folder). A bucket whose name is unknown or that does not exist is
// a warning, and so is a listing S3 refuses (the plan shows the rest).
func (p *Plan) AddLive(ctx context.Context, api ObjectLister) error {
	for i := range p.Buckets {
		b := &p.Buckets[i]
		if len(b.IdentityPaths) == 0 {
			continue
		}
		if b.BucketName == "" {
			p.warn("BUCKET_NAME_UNKNOWN", "storage %s: the deployed bucket is unknown, so its files were not counted", b.Resource)
			continue
		}
		for j := range b.IdentityPaths {
			c, err := countPath(ctx, api, b.BucketName, b.IdentityPaths[j].Template)
			var ae smithy.APIError
			if errors.As(err, &ae) && ae.ErrorCode() == "NoSuchBucket" {
				p.warn("BUCKET_NOT_FOUND", "storage %s: bucket %s does not exist (not pushed yet, deleted, or another region or account?)", b.Resource, b.BucketName)
				break
			}
			if err != nil && ctx.Err() != nil {
				return ctx.Err()
			}
			if err != nil {
				// A plan reports what it cannot read; it does not stop.
				p.warn("BUCKET_NOT_COUNTED", "storage %s: could not list %s in bucket %s: %v; check the region, that the credentials may s3:ListBucket, and AWS_ENDPOINT_URL_S3 if you use one", b.Resource, b.IdentityPaths[j].Template, b.BucketName, err)
				break
			}
			b.IdentityPaths[j].Live = &c
		}
	}
	return nil
}

// countPath lists every key under template's folder and groups them by
// the identity id in it.
func countPath(ctx context.Context, api ObjectLister, bucket, template string) (PathCount, error) {
	var c PathCount
	at := strings.Index(template, EntityID)
	if at < 0 {
		return c, fmt.Errorf("template %q holds no %s", template, EntityID)
	}
	prefix := template[:at]               // "media/" (and any text before the id in its segment)
	suffix := template[at+len(EntityID):] // "/" (or the rest of the segment and "/")
	seen := map[string]bool{}
	pages := s3.NewListObjectsV2Paginator(api, &s3.ListObjectsV2Input{Bucket: aws.String(bucket), Prefix: aws.String(prefix)})
	for pages.HasMorePages() {
		out, err := pages.NextPage(ctx)
		if err != nil {
			return c, err
		}
		for _, o := range out.Contents {
			rest := strings.TrimPrefix(aws.ToString(o.Key), prefix)
			id, _, ok := strings.Cut(rest, suffix)
			if !ok || id == "" || strings.Contains(id, "/") {
				continue // not in an identity's folder
			}
			if !seen[id] {
				seen[id] = true
				c.Identities++
			}
			c.Objects++
			c.Bytes += aws.ToInt64(o.Size)
		}
	}
	return c, nil
}
