package s3move

import (
	"context"
	"errors"
	"fmt"
	"io/fs"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
)

// RetireOptions configure a retire of old objects.
type RetireOptions struct {
	VerifyOptions
	// DryRun names and counts what would be deleted, deleting nothing.
	DryRun bool
}

// RetireResult names and counts what a retire deleted.
type RetireResult struct {
	// Deleted are the old objects deleted (or, in a dry run, to delete).
	Deleted []string `json:"deleted"`
	// Bytes is the size of the Deleted objects.
	Bytes int64 `json:"bytes"`
	// Users are the users whose old objects were deleted (or would be).
	Users []string `json:"users"`
	// Kept are users whose old objects all stay, with the reason.
	Kept []RetireKept `json:"kept"`
	// Left are old objects kept although their user's verify is clean:
	// no journal of VerifyOptions.Journals records copying them as they
	// are (a file the user put under the old id after the copy, a
	// destination that held the same object before the run, a conflict),
	// or their copy changed between the verify and the delete.
	Left []string `json:"left"`
}

// RetireKept is a user not retired.
type RetireKept struct {
	User   string `json:"user"`
	Reason string `json:"reason"`
}

// Retire deletes the old objects of the users whose verify is clean, and
// only those: a user with anything missing or different keeps every old
// object. Of those users, it deletes only the old objects a journal of
// o.Journals records copying (a "copy" settled "done") from the object as
// it still is (the same ETag); without a journal it deletes nothing. Each
// old object is checked against its copy again just before it is
// deleted, and deleted only while it is the object listed (If-Match).
// Copies are never touched.
func Retire(ctx context.Context, api API, o RetireOptions) (RetireResult, error) {
	res := RetireResult{Deleted: []string{}, Users: []string{}, Kept: []RetireKept{}, Left: []string{}}
	if err := CheckMoves(o.Moves); err != nil {
		return res, err
	}
	copies, err := journaledCopies(o.Journals)
	if err != nil {
		return res, err
	}
	copied, err := copiedSources(o.Journals)
	if err != nil {
		return res, err
	}
	for _, m := range o.Moves {
		vo := o.VerifyOptions
		vo.Moves, vo.Progress = []Move{m}, nil
		v, err := Verify(ctx, api, vo)
		if err != nil {
			return res, err
		}
		if u := v.Users[0]; !u.OK() {
			res.Kept = append(res.Kept, RetireKept{User: m.User, Reason: fmt.Sprintf("verify: %d missing, %d different under %s", len(u.Missing), len(u.Different), m.New)})
			continue
		}
		deleted := false
		for _, t := range o.Templates {
			oldp, newp := t.Prefix(m.Old), t.Prefix(m.New)
			l := newLister(api, o.Bucket, oldp, o.PageSize)
			for {
				rel, old, ok, err := l.next(ctx)
				if err != nil {
					return res, err
				}
				if !ok {
					break
				}
				if etag, ok := copied[old.Key]; !ok || etag != old.ETag {
					res.Left = append(res.Left, old.Key) // not copied, as it is, by a journaled run
					continue
				}
				h, err := headObject(ctx, api, o.Bucket, newp+rel)
				if err != nil && !notFound(err) {
					return res, fmt.Errorf("read s3://%s/%s: %w", o.Bucket, newp+rel, err)
				}
				if err != nil || differs(ctx, api, o.Bucket, old, fromHead(newp+rel, h), copies) != "" {
					res.Left = append(res.Left, old.Key)
					continue
				}
				if !o.DryRun {
					if _, err := api.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: &o.Bucket, Key: aws.String(old.Key), IfMatch: aws.String(old.ETag)}); err != nil {
						if preconditionFailed(err) {
							res.Left = append(res.Left, old.Key) // changed since it was listed
							continue
						}
						return res, fmt.Errorf("delete s3://%s/%s: %w", o.Bucket, old.Key, err)
					}
				}
				res.Deleted = append(res.Deleted, old.Key)
				res.Bytes += old.Size
				deleted = true
			}
		}
		if deleted {
			res.Users = append(res.Users, m.User)
		}
	}
	return res, nil
}

// copiedSources are the sources the journals record copying and settled
// ("copy" then "done"), with the source ETag each copy was bound to.
// "exists" and "conflict" records copied nothing: their sources are not
// here.
func copiedSources(paths []string) (map[string]string, error) {
	out := map[string]string{}
	for _, p := range paths {
		bySeq := map[int64]Record{}
		err := ReadJournal(p, func(r Record) error {
			switch r.Kind {
			case "copy":
				bySeq[r.Seq] = r
			case "done":
				if c, ok := bySeq[r.Ref]; ok {
					out[c.Source] = c.SourceETag
					delete(bySeq, r.Ref)
				}
			}
			return nil
		})
		if err != nil && !errors.Is(err, fs.ErrNotExist) {
			return nil, err
		}
	}
	return out, nil
}
