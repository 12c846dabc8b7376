package s3move

import (
	"context"
	"crypto/md5"
	"encoding/hex"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
)

// copyWhole copies an object up to 5 GB in one CopyObject: metadata,
// content type, cache control, content disposition and encoding and tags
// come with it (the COPY directives); the storage class is asked for. The
// copy is bound to the listed version (CopySourceIfMatch) and refused if
// the destination appeared meanwhile (IfNoneMatch).
func (c *copier) copyWhole(ctx context.Context, job copyJob, src object) (object, error) {
	in := &s3.CopyObjectInput{
		Bucket: &c.o.Bucket, Key: &job.dest, CopySource: aws.String(copySource(c.o.Bucket, job.src)),
		CopySourceIfMatch: aws.String(src.ETag), IfNoneMatch: aws.String("*"),
		MetadataDirective: types.MetadataDirectiveCopy, TaggingDirective: types.TaggingDirectiveCopy,
	}
	if sc := job.obj.StorageClass; sc != "" && sc != types.ObjectStorageClassStandard {
		in.StorageClass = types.StorageClass(sc)
	}
	out, err := c.api.CopyObject(ctx, in)
	if err != nil {
		return object{}, c.whenRefused(ctx, job, err)
	}
	dest := object{Key: job.dest, Size: src.Size, VersionID: deref(out.VersionId)}
	if out.CopyObjectResult != nil {
		dest.ETag = deref(out.CopyObjectResult.ETag)
	}
	if dest.ETag != src.ETag || dest.ETag == "" {
		// Not comparable (a multipart source, SSE-KMS): the size must be.
		return c.checkCopy(ctx, job, src, dest.VersionID)
	}
	return dest, nil
}

// checkCopy reads back a copy whose ETag cannot be compared with its
// source's: its size (and checksum, where both have one) must be the
// source's.
func (c *copier) checkCopy(ctx context.Context, job copyJob, src object, version string) (object, error) {
	h, err := headObject(ctx, c.api, c.o.Bucket, job.dest)
	if err != nil {
		return object{}, fmt.Errorf("check the copy s3://%s/%s: %w", c.o.Bucket, job.dest, err)
	}
	dest := fromHead(job.dest, h)
	if dest.VersionID == "" {
		dest.VersionID = version
	}
	if dest.Size != src.Size {
		return object{}, fmt.Errorf("the copy s3://%s/%s has %d bytes, its source %d: run the copy again (the journal names the copy: rollback deletes it)", c.o.Bucket, job.dest, dest.Size, src.Size)
	}
	if sh, err := headObject(ctx, c.api, c.o.Bucket, job.src); err == nil {
		if same, ok := sameChecksum(fromHead(job.src, sh), dest); ok && !same {
			return object{}, fmt.Errorf("the copy s3://%s/%s has another checksum than its source: run the copy again (the journal names the copy: rollback deletes it)", c.o.Bucket, job.dest)
		}
	}
	return dest, nil
}

// copyParts copies a large object with UploadPartCopy, each part bound
// to the listed version. The upload is journaled once created (so a
// resume or a rollback aborts it if the run dies), and the ETag S3 will
// give the whole before it is completed (so a resume knows the object as
// this run's copy).
func (c *copier) copyParts(ctx context.Context, job copyJob, src object, seq int64) (object, error) {
	h, err := c.api.HeadObject(ctx, &s3.HeadObjectInput{Bucket: &c.o.Bucket, Key: &job.src, IfMatch: aws.String(src.ETag)})
	if err != nil {
		return object{}, c.whenRefused(ctx, job, err)
	}
	tags, err := c.api.GetObjectTagging(ctx, &s3.GetObjectTaggingInput{Bucket: &c.o.Bucket, Key: &job.src})
	if err != nil {
		return object{}, fmt.Errorf("read the tags of s3://%s/%s: %w", c.o.Bucket, job.src, err)
	}
	in := &s3.CreateMultipartUploadInput{
		Bucket: &c.o.Bucket, Key: &job.dest,
		ContentType: h.ContentType, CacheControl: h.CacheControl, ContentDisposition: h.ContentDisposition,
		ContentEncoding: h.ContentEncoding, ContentLanguage: h.ContentLanguage, WebsiteRedirectLocation: h.WebsiteRedirectLocation,
		Metadata: h.Metadata,
	}
	if t, err := http.ParseTime(deref(h.ExpiresString)); err == nil {
		in.Expires = &t
	}
	if sc := h.StorageClass; sc != "" && sc != types.StorageClassStandard {
		in.StorageClass = sc
	}
	if len(tags.TagSet) > 0 {
		in.Tagging = aws.String(tagQuery(tags.TagSet))
	}
	up, err := c.api.CreateMultipartUpload(ctx, in)
	if err != nil {
		return object{}, fmt.Errorf("start the copy of s3://%s/%s: %w", c.o.Bucket, job.src, err)
	}
	id := deref(up.UploadId)
	if _, err := c.j.append(Record{Kind: "upload", Ref: seq, UploadID: id}); err != nil {
		c.abort(ctx, job.dest, id)
		return object{}, fmt.Errorf("%w: %v", errJournalWrite, err)
	}
	parts, etag, err := c.uploadParts(ctx, job, src, id)
	if err != nil {
		c.abort(ctx, job.dest, id)
		return object{}, err
	}
	if _, err := c.j.append(Record{Kind: "parts", Ref: seq, UploadID: id, ETag: etag}); err != nil {
		c.abort(ctx, job.dest, id)
		return object{}, fmt.Errorf("%w: %v", errJournalWrite, err)
	}
	faultPoint("parts")
	out, err := c.api.CompleteMultipartUpload(ctx, &s3.CompleteMultipartUploadInput{
		Bucket: &c.o.Bucket, Key: &job.dest, UploadId: &id, IfNoneMatch: aws.String("*"),
		MultipartUpload: &types.CompletedMultipartUpload{Parts: parts},
	})
	if err != nil {
		c.abort(ctx, job.dest, id)
		return object{}, c.whenRefused(ctx, job, err)
	}
	return c.checkCopy(ctx, job, src, deref(out.VersionId))
}

// partWorkers is how many parts of one object are copied at once: a
// 5 TB object is copied in minutes, not hours.
const partWorkers = 8

// uploadParts copies the parts, several at once, and returns them with
// the ETag S3 gives their whole: the MD5 of the parts' MD5s, "-" and
// their count.
func (c *copier) uploadParts(ctx context.Context, job copyJob, src object, id string) ([]types.CompletedPart, string, error) {
	size := max(c.o.PartSize, (src.Size+maxParts-1)/maxParts)
	n := int((src.Size + size - 1) / size)
	parts := make([]types.CompletedPart, n)
	sums := make([][]byte, n)
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var (
		wg    sync.WaitGroup
		mu    sync.Mutex
		first error
		next  atomic.Int64
	)
	for range min(partWorkers, n) {
		wg.Go(func() {
			for {
				k := int(next.Add(1) - 1)
				if k >= n || ctx.Err() != nil {
					return
				}
				sum, err := c.copyPart(ctx, job, src, id, int32(k+1), int64(k)*size, min(int64(k+1)*size, src.Size)-1)
				if err != nil {
					mu.Lock()
					first = cmpOr(first, err)
					mu.Unlock()
					cancel()
					return
				}
				parts[k] = types.CompletedPart{ETag: aws.String(`"` + hex.EncodeToString(sum) + `"`), PartNumber: aws.Int32(int32(k + 1))}
				sums[k] = sum
			}
		})
	}
	wg.Wait()
	if first != nil {
		return nil, "", first
	}
	if err := ctx.Err(); err != nil {
		return nil, "", err
	}
	whole := md5.New()
	for _, s := range sums {
		whole.Write(s)
	}
	return parts, fmt.Sprintf(`"%s-%d"`, hex.EncodeToString(whole.Sum(nil)), n), nil
}

// copyPart copies bytes first–last of the source as part n, bound to the
// listed version, and returns the part's MD5.
func (c *copier) copyPart(ctx context.Context, job copyJob, src object, id string, n int32, first, last int64) ([]byte, error) {
	out, err := c.api.UploadPartCopy(ctx, &s3.UploadPartCopyInput{
		Bucket: &c.o.Bucket, Key: &job.dest, UploadId: &id, PartNumber: aws.Int32(n),
		CopySource: aws.String(copySource(c.o.Bucket, job.src)), CopySourceIfMatch: aws.String(src.ETag),
		CopySourceRange: aws.String(fmt.Sprintf("bytes=%d-%d", first, last)),
	})
	if err != nil {
		return nil, c.whenRefused(ctx, job, err)
	}
	etag := ""
	if out.CopyPartResult != nil {
		etag = deref(out.CopyPartResult.ETag)
	}
	sum, err := hex.DecodeString(strings.Trim(etag, `"`))
	if err != nil || len(sum) != md5.Size {
		return nil, fmt.Errorf("copy part %d of s3://%s/%s: the server answered the ETag %q, not an MD5", n, c.o.Bucket, job.src, etag)
	}
	return sum, nil
}

// abort drops a multipart upload, ignoring one already gone.
func (c *copier) abort(ctx context.Context, key, id string) {
	_, _ = c.api.AbortMultipartUpload(context.WithoutCancel(ctx), &s3.AbortMultipartUploadInput{Bucket: &c.o.Bucket, Key: &key, UploadId: &id})
}

func tagQuery(tags []types.Tag) string {
	var b strings.Builder
	for i, t := range tags {
		if i > 0 {
			b.WriteByte('&')
		}
		b.WriteString(queryEscape(deref(t.Key)) + "=" + queryEscape(deref(t.Value)))
	}
	return b.String()
}
