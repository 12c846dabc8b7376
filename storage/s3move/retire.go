package s3move

import (
	"context"
	"fmt"

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
	// Kept are users whose old objects all stay, with the reason.
	Kept []RetireKept `json:"kept"`
	// Left are old objects kept because their copy changed between the
	// verify and the delete.
	Left []string `json:"left"`
}

// RetireKept is a user not retired.
type RetireKept struct {
	User   string `json:"user"`
	Reason string `json:"reason"`
}

// Retire deletes the old objects of the users whose verify is clean, and
// only those: a user with anything missing or different keeps every old
// object. Each old object is checked against its copy again just before
// it is deleted. Copies are never touched.
func Retire(ctx context.Context, api API, o RetireOptions) (RetireResult, error) {
	res := RetireResult{Deleted: []string{}, Kept: []RetireKept{}, Left: []string{}}
	if err := CheckMoves(o.Moves); err != nil {
		return res, err
	}
	copies, err := journaledCopies(o.Journals)
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
			}
		}
	}
	return res, nil
}
