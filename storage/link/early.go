package link

// Users who reached the new pool before their link was made (a sign-in
// between the deploy and the link, or the keep-passwords window) hold an
// identity of their new login's own, N, beside the one with their files,
// O; Cognito refuses to link a login already on another identity and does
// not merge user-pool identities. With Options.Copy, one finishes them in
// this order, each step journaled before (or, where it cannot be
// repeated, after) it is taken, so that a run killed at any point resumes
// without losing a file and the user always has a way in (a sign-in with
// the new login answers N, O, or, between the unlink and the link, a
// fresh identity the next run finds and treats as N):
//
//  1. step "unlink" (N named as the user's source), then UnlinkIdentity of
//     the new login from N, with that login's token (the identity's proof
//     of ownership), refused when N holds any other login; step
//     "unlinked";
//  2. GetId with both logins links the new login to O, and the new login
//     alone must answer O (the proof, as for every link);
//  3. every object under N's per-identity folders is copied to the same
//     key under O's (s3move: journaled per bucket, resumable, never
//     overwriting: a key O already holds with another object is kept and
//     named a conflict), then verified; step "copied";
//  4. DeleteIdentities N, only while it holds no login; step "deleted";
//  5. the user's line, outcome "copied", From naming every N: each is a
//     pair N → O for an identity-id field remap (Result.Remaps).
//
// The journal is not proof: an N read from it is used only while it holds
// no login (the unlink took it), so a line naming another user's identity
// copies nothing. N's objects stay in the bucket until retire.

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"slices"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cognitoidentity"
	"github.com/aws/aws-sdk-go-v2/service/cognitoidentity/types"

	"github.com/poolmigrate/poolmigrate/storage/identitymap"
	"github.com/poolmigrate/poolmigrate/storage/s3move"
)

// Steps of finishing a user who reached the new pool early.
const (
	stepUnlink   = "unlink"
	stepUnlinked = "unlinked"
	stepCopied   = "copied"
	stepDeleted  = "deleted"
)

// maxUnlinks bounds the unlinks of one user in one run (the user's app
// may make the new login another identity between an unlink and the link).
const maxUnlinks = 3

// CopyOptions say where the files of users who reached the new pool
// early are copied.
type CopyOptions struct {
	S3      s3move.API
	Buckets []Bucket
	// Dir holds the copy journals, one per bucket, under early/
	// (JournalPath).
	Dir string
	// Workers is how many copies run at once (s3move's default if 0).
	Workers int
	// Command names the copy runs in their journals' locks.
	Command string
}

// Bucket is a bucket and its per-identity path templates.
type Bucket struct {
	Name      string
	Templates []s3move.Template
}

// JournalPath is the copy journal of a bucket: s3move's, in a folder of
// its own (no bucket name makes it another journal's name);
// s3move.Rollback undoes it.
func (c *CopyOptions) JournalPath(bucket string) string {
	return filepath.Join(c.Dir, "early", bucket+".journal.jsonl")
}

// Remaps are the identity-id pairs the copied users' entries give: Old is
// the identity of the new login's own (what the user's app may have
// stored in its data since), New the identity the user has now.
func (r Result) Remaps() []s3move.Move {
	var out []s3move.Move
	for _, e := range r.Entries {
		if e.Outcome != Copied {
			continue
		}
		for _, from := range e.From {
			out = append(out, s3move.Move{User: e.OldUsername, Old: from, New: e.Old})
		}
	}
	return out
}

// Remaps reads the identity-id pairs of the copied users from the journal
// at path (see Result.Remaps); it makes no call. It refuses a journal
// that gives one identity to two users.
func Remaps(path string) ([]s3move.Move, error) {
	_, lines, err := readJournal(path)
	if err != nil {
		return nil, err
	}
	pairs := Result{Entries: lines}.Remaps()
	from := map[string]string{}
	for _, p := range pairs {
		if u, ok := from[p.Old]; ok && u != p.User {
			return nil, fmt.Errorf("link journal %s: identity %s is the new login's own of users %s and %s: fix or move the journal", path, p.Old, u, p.User)
		}
		from[p.Old] = p.User
	}
	return pairs, nil
}

// unlink takes the new login off its own identity own, journaling it
// first: a run killed after the call finds own in the journal.
func (o Options) unlink(ctx context.Context, api API, j *journal, u identitymap.User, old, own, newTok string) error {
	d, err := o.describe(ctx, api, own)
	if err != nil {
		return err
	}
	if d == nil || !slices.Equal(d.Logins, []string{o.New.Provider()}) {
		var logins []string
		if d != nil {
			logins = d.Logins
		}
		return fmt.Errorf("the new login's own identity %s holds the logins %v, not the new pool's alone: it is not unlinked (move its files to %s by hand)", own, logins, old)
	}
	step := Entry{Kind: kindStep, Step: stepUnlink, OldSub: u.OldSub, NewSub: u.NewSub, Old: old, New: own, Time: o.Now().UTC()}
	if err := j.append(step); err != nil {
		return err
	}
	if err := o.Limiter.Wait(ctx); err != nil {
		return err
	}
	_, err = api.UnlinkIdentity(ctx, &cognitoidentity.UnlinkIdentityInput{IdentityId: aws.String(own),
		Logins: map[string]string{o.New.Provider(): newTok}, LoginsToRemove: []string{o.New.Provider()}})
	if err != nil {
		return fmt.Errorf("unlink the new login from its own identity %s: %w", own, err)
	}
	step.Step, step.Time = stepUnlinked, o.Now().UTC()
	return j.append(step)
}

// finish copies the files of the user's own identities (sources, from the
// journal) to their old identity e.Old, which the new login now answers
// (proven), verifies the copies and deletes those identities.
func (o Options) finish(ctx context.Context, api API, j *journal, u identitymap.User, e Entry, sources []string, res *Result) (Entry, error) {
	var moves []s3move.Move
	for _, id := range sources {
		if other := j.sourceOfAnother(u, id); other != "" {
			return e, fmt.Errorf("the journal names the identity %s as the new login's own of two users (old subs %s and %s): nothing is copied from it", id, u.OldSub, other)
		}
		d, err := o.describe(ctx, api, id)
		if err != nil {
			return e, err
		}
		switch {
		case d != nil && len(d.Logins) > 0:
			return e, fmt.Errorf("the identity %s the journal names as the new login's own holds the logins %v: nothing is copied from it (the journal is not proof of whose it is)", id, d.Logins)
		case j.stepDone(u, id, stepDeleted):
			continue
		case d == nil && j.stepDone(u, id, stepCopied):
			// Deleted by a run killed before it wrote so.
			if err := j.append(Entry{Kind: kindStep, Step: stepDeleted, OldSub: u.OldSub, NewSub: u.NewSub, Old: e.Old, New: id, Time: o.Now().UTC()}); err != nil {
				return e, err
			}
			continue
		case d == nil:
			return e, fmt.Errorf("the identity %s the journal names as the new login's own is gone before its files were copied: copy its folders to %s by hand", id, e.Old)
		}
		if !j.stepDone(u, id, stepCopied) {
			moves = append(moves, s3move.Move{User: u.OldUsername, Old: id, New: e.Old})
		}
	}
	// One source at a time: s3move takes one move per destination.
	for _, m := range moves {
		if err := s3move.CheckMoves([]s3move.Move{m}); err != nil {
			return e, err
		}
		conflicts, err := o.copyFiles(ctx, []s3move.Move{m}, res)
		if err != nil {
			return e, err
		}
		step := Entry{Kind: kindStep, Step: stepCopied, OldSub: u.OldSub, NewSub: u.NewSub, Old: e.Old, New: m.Old, Conflicts: conflicts, Time: o.Now().UTC()}
		if err := j.append(step); err != nil {
			return e, err
		}
	}
	for _, id := range sources {
		if j.stepDone(u, id, stepDeleted) {
			continue
		}
		if err := o.deleteOwn(ctx, api, id); err != nil {
			return e, err
		}
		res.OwnDeleted++
		if err := j.append(Entry{Kind: kindStep, Step: stepDeleted, OldSub: u.OldSub, NewSub: u.NewSub, Old: e.Old, New: id, Time: o.Now().UTC()}); err != nil {
			return e, err
		}
	}
	e.Outcome, e.From = Copied, slices.Clone(sources)
	for _, id := range sources {
		e.Conflicts = append(e.Conflicts, j.conflictsOf(u, id)...)
	}
	return e, nil
}

// copyFiles copies the moves in every bucket and verifies them: every
// object under each source is under the destination, the same, but for
// the conflicts (keys of the destination), which it returns.
func (o Options) copyFiles(ctx context.Context, moves []s3move.Move, res *Result) ([]string, error) {
	c := o.Copy
	var conflicts []string
	for _, b := range c.Buckets {
		journal := c.JournalPath(b.Name)
		cr, err := s3move.Copy(ctx, c.S3, s3move.Options{Bucket: b.Name, Templates: b.Templates, Moves: moves,
			Journal: journal, Workers: c.Workers, Command: c.Command})
		res.CopiedObjects += cr.Copied
		var inc *s3move.IncompleteError
		switch {
		case errors.As(err, &inc) && inc.Failed == 0:
		case err != nil:
			return nil, fmt.Errorf("copy the files of the new login's own identity in bucket %s: %w", b.Name, err)
		}
		kept := map[string]bool{}
		for _, cf := range cr.Conflicts {
			res.Conflicts = append(res.Conflicts, cf)
			kept[cf.Dest] = true
			conflicts = append(conflicts, cf.Dest)
		}
		vr, err := s3move.Verify(ctx, c.S3, s3move.VerifyOptions{Bucket: b.Name, Templates: b.Templates, Moves: moves, Journals: []string{journal}})
		if err != nil {
			return nil, fmt.Errorf("verify the copy in bucket %s: %w", b.Name, err)
		}
		for _, uc := range vr.Users {
			if len(uc.Missing) > 0 {
				return nil, fmt.Errorf("verify the copy in bucket %s: %d object(s) of %s are not under %s (%s…); run again", b.Name, len(uc.Missing), uc.Old, uc.New, uc.Missing[0])
			}
			for _, d := range uc.Different {
				if !kept[d.Key] {
					return nil, fmt.Errorf("verify the copy in bucket %s: %s differs from its source (%s); run again", b.Name, d.Key, d.Reason)
				}
			}
		}
	}
	return conflicts, nil
}

// describe is DescribeIdentity; nil when there is no such identity.
func (o Options) describe(ctx context.Context, api API, id string) (*cognitoidentity.DescribeIdentityOutput, error) {
	if err := o.Limiter.Wait(ctx); err != nil {
		return nil, err
	}
	out, err := api.DescribeIdentity(ctx, &cognitoidentity.DescribeIdentityInput{IdentityId: aws.String(id)})
	if errors.As(err, new(*types.ResourceNotFoundException)) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("describe identity %s: %w", id, err)
	}
	return out, nil
}

// deleteOwn deletes an identity of the new login's own after its copy,
// only while it holds no login.
func (o Options) deleteOwn(ctx context.Context, api API, id string) error {
	d, err := o.describe(ctx, api, id)
	if err != nil || d == nil {
		return err
	}
	if len(d.Logins) > 0 {
		return fmt.Errorf("the new login's own identity %s holds the logins %v again: not deleted", id, d.Logins)
	}
	if err := o.Limiter.Wait(ctx); err != nil {
		return err
	}
	out, err := api.DeleteIdentities(ctx, &cognitoidentity.DeleteIdentitiesInput{IdentityIdsToDelete: []string{id}})
	if err == nil && len(out.UnprocessedIdentityIds) > 0 {
		err = fmt.Errorf("unprocessed (%s)", out.UnprocessedIdentityIds[0].ErrorCode)
	}
	if err != nil {
		return fmt.Errorf("delete the new login's own identity %s after its copy: %w", id, err)
	}
	return nil
}
