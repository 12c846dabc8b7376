package s3move

import (
	"context"
	"fmt"
	"os"
	"slices"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/poolmigrate/poolmigrate/statedir"
)

// RollbackResult counts what a rollback did.
type RollbackResult struct {
	Journal string `json:"journal"`
	// Copies is how many destinations the journal says its runs created.
	Copies int `json:"copies"`
	// Deleted were deleted; NotApplied were never made (the run died
	// between journaling a copy and making it) or are gone already.
	Deleted    int `json:"deleted"`
	NotApplied int `json:"notApplied"`
	// Left are copies not deleted, each with the reason: changed since
	// the copy, or the only copy left of a retired old object.
	Left []string `json:"left"`
}

// RollbackOptions configure a rollback.
type RollbackOptions struct {
	// Command names the run in the journal's lock ("storage rollback").
	Command string
	// Progress, if set, is called after each copy.
	Progress func(done, total int)
}

// rollbackCopy is a destination a journal's runs created, with what they
// created there.
type rollbackCopy struct {
	rec    Record // the copy record
	etag   string // the destination's ETag, done (or expected: parts)
	done   bool
	verID  string
	upload string // a multipart upload not settled
}

// Rollback deletes exactly the objects a copy journal's runs created,
// never one that was there before: each is deleted only if the journal
// records its copy, and only while it still holds what the run copied
// (size and ETag) and its source is still the object copied (after a
// retire, or a change of the old object, the copy is the only one left:
// it stays). The journal is read whole and checked
// before the first delete. A copy journaled but never made is counted as
// not applied. When nothing is left, the journal is renamed
// (.rolled-back), so a second rollback has nothing to do.
func Rollback(ctx context.Context, api API, journalPath string, o RollbackOptions) (RollbackResult, error) {
	res := RollbackResult{Journal: journalPath, Left: []string{}}
	lock, err := statedir.LockFile(journalPath, o.Command)
	if err != nil {
		return res, err
	}
	defer lock.Unlock()
	var bucket string
	byDest := map[string]*rollbackCopy{}
	bySeq := map[int64]*rollbackCopy{}
	var order []string
	listed := map[string]bool{}
	err = ReadJournal(journalPath, func(r Record) error {
		switch r.Kind {
		case "start":
			if bucket == "" {
				bucket = r.Run.Bucket
			} else if bucket != r.Run.Bucket {
				return fmt.Errorf("journal %s holds runs of buckets %s and %s: it was altered; nothing was deleted", journalPath, bucket, r.Run.Bucket)
			}
		case "copy":
			if !listed[r.Dest] {
				listed[r.Dest], order = true, append(order, r.Dest)
			}
			c := &rollbackCopy{rec: r}
			byDest[r.Dest], bySeq[r.Seq] = c, c
		case "upload":
			if c := bySeq[r.Ref]; c != nil {
				c.upload = r.UploadID
			}
		case "parts":
			if c := bySeq[r.Ref]; c != nil && !c.done {
				c.etag = r.ETag
			}
		case "done":
			if c := bySeq[r.Ref]; c != nil && byDest[c.rec.Dest] == c {
				c.done, c.etag, c.verID, c.upload = true, r.ETag, r.VersionID, ""
			}
		case "exists", "conflict":
			// The destination held an object this run did not make:
			// whatever copy was journaled for it before was not made.
			if c, ok := byDest[r.Dest]; ok && !c.done {
				delete(byDest, r.Dest)
			}
		}
		return nil
	})
	if err != nil {
		return res, err
	}
	order = slices.DeleteFunc(order, func(d string) bool { return byDest[d] == nil })
	res.Copies = len(order)
	for i, dest := range order {
		if err := ctx.Err(); err != nil {
			return res, err
		}
		c := byDest[dest]
		if c.upload != "" {
			_, _ = api.AbortMultipartUpload(ctx, &s3.AbortMultipartUploadInput{Bucket: &bucket, Key: aws.String(dest), UploadId: aws.String(c.upload)})
		}
		outcome, err := undoCopy(ctx, api, bucket, c)
		if err != nil {
			return res, err
		}
		switch outcome {
		case "deleted":
			res.Deleted++
		case "not-applied":
			res.NotApplied++
		default:
			res.Left = append(res.Left, outcome)
		}
		if o.Progress != nil {
			o.Progress(i+1, len(order))
		}
	}
	if len(res.Left) == 0 {
		if err := os.Rename(journalPath, journalPath+".rolled-back"); err != nil {
			return res, fmt.Errorf("mark journal rolled back: %w", err)
		}
	}
	return res, nil
}

func undoCopy(ctx context.Context, api API, bucket string, c *rollbackCopy) (string, error) {
	dest := c.rec.Dest
	h, err := headObject(ctx, api, bucket, dest)
	if notFound(err) {
		return "not-applied", nil
	}
	if err != nil {
		return "", fmt.Errorf("read s3://%s/%s: %w", bucket, dest, err)
	}
	cur := fromHead(dest, h)
	want := c.etag
	if !c.done && want == "" && !multipartETag(c.rec.SourceETag) {
		// A one-part copy the run died before recording: a CopyObject
		// keeps the source's MD5 ETag.
		want = c.rec.SourceETag
	}
	switch {
	case want == "":
		return fmt.Sprintf("s3://%s/%s: the run stopped before it could record this copy, and its ETag cannot tell it from another object; left as it is (delete it by hand if it is the copy)", bucket, dest), nil
	case cur.Size != c.rec.Size || cur.ETag != want:
		if !c.done {
			return "not-applied", nil // another object, there since: the copy was never made
		}
		return fmt.Sprintf("s3://%s/%s changed since the copy (the user wrote it again); left as it is", bucket, dest), nil
	}
	sh, err := headObject(ctx, api, bucket, c.rec.Source)
	if notFound(err) {
		return fmt.Sprintf("s3://%s/%s: its old object s3://%s/%s is gone (retired?), so it is the only copy; left as it is", bucket, dest, bucket, c.rec.Source), nil
	} else if err != nil {
		return "", fmt.Errorf("read s3://%s/%s: %w", bucket, c.rec.Source, err)
	}
	if src := fromHead(c.rec.Source, sh); src.ETag != c.rec.SourceETag || src.Size != c.rec.Size {
		// The copy was bound to the source of that ETag (CopySourceIfMatch):
		// a source that is another object now leaves the copy the only one
		// of what was copied.
		return fmt.Sprintf("s3://%s/%s: its old object s3://%s/%s is not the object copied any more, so the copy is the only one; left as it is", bucket, dest, bucket, c.rec.Source), nil
	}
	in := &s3.DeleteObjectInput{Bucket: &bucket, Key: aws.String(dest)}
	if c.verID != "" && c.verID != "null" && cur.VersionID == c.verID {
		in.VersionId = aws.String(c.verID) // the copy's version itself, not a delete marker over it
	}
	if _, err := api.DeleteObject(ctx, in); err != nil {
		return "", fmt.Errorf("delete s3://%s/%s: %w", bucket, dest, err)
	}
	return "deleted", nil
}
