package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/poolmigrate/poolmigrate/storage/link"
	"github.com/poolmigrate/poolmigrate/storage/s3move"
)

// What storage link leaves to the operator, beside users not linked:
// copied users with conflicts (a key their old identity already held with
// another object: the version of the new login's own identity was not
// copied over it).

// linkConflicted names the copied users who still have a conflict. Their
// journal line records the conflicts the copy met; with buckets, each such
// user's files are compared again (s3move.Verify, as storage verify
// compares): a conflict resolved by hand since (the version of the
// identity copied from put over the old identity's, or removed) no longer
// counts, so that storage link exits 1 only while one is left.
func linkConflicted(ctx context.Context, c *link.CopyOptions, r link.Result) ([]string, error) {
	var out []string
	for _, e := range r.Entries {
		if e.Outcome != link.Copied || len(e.Conflicts) == 0 {
			continue
		}
		left := c == nil
		for _, b := range bucketsOf(c) {
			for _, from := range e.From {
				vr, err := s3move.Verify(ctx, c.S3, s3move.VerifyOptions{Bucket: b.Name, Templates: b.Templates,
					Moves: []s3move.Move{{User: e.OldUsername, Old: from, New: e.Old}}, Journals: []string{c.JournalPath(b.Name)}})
				if err != nil {
					return nil, fmt.Errorf("compare %s's conflicts in bucket %s: %w", e.OldUsername, b.Name, explainAWS(err))
				}
				for _, u := range vr.Users {
					left = left || !u.OK()
				}
			}
		}
		if left {
			out = append(out, e.OldUsername)
		}
	}
	return out, nil
}

func bucketsOf(c *link.CopyOptions) []link.Bucket {
	if c == nil {
		return nil
	}
	return c.Buckets
}

// linkConflictsError makes storage link exit 1 while a copied user has a
// conflict, as storage copy does for its conflicts (the caller makes it
// exit 1).
func linkConflictsError(users []string) error {
	if len(users) == 0 {
		return nil
	}
	return fmt.Errorf("storage link copied %d user(s) with conflicts: %s (listed above: a file their old identity already held under the same name was kept and the version of their new login's own identity was not copied over it; its object stays in the bucket until retire: compare the two and put the one to keep under the old identity, or remove the other: each run compares them again)",
		len(users), strings.Join(users, ", "))
}

// linkNotUndone is what storage rollback cannot undo of storage link.
const linkNotUndone = "storage link's links stay: each user's new login stays linked to their old identity (a login cannot be moved back, and the identity of the new login's own that it copied from was deleted); the files copied from stay in the bucket under that deleted identity until retire, where the user no longer reaches them"

// linkCopyJournals are storage link's copy journals of the buckets (users
// who signed in to the new pool early: link.CopyOptions.JournalPath).
func (s *storageSetup) linkCopyJournals() []string {
	var out []string
	for _, b := range s.buckets {
		o := link.CopyOptions{Dir: filepath.Join(s.stateDir, "storage")}
		if j := o.JournalPath(b.Name); statOK(j) {
			out = append(out, j)
		}
	}
	return out
}

func statOK(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}

// linkFieldJournal is storage link's identity-field journal (beside
// storage copy's: storage rollback and status read both).
func (s *storageSetup) linkFieldJournal() string {
	return filepath.Join(s.fieldJournalDir(), "link.journal.jsonl")
}

// linkPairs are the identity-id pairs of the copied users: the identity
// of the new login's own → the identity the user keeps. They come from
// the link journal's user lines only (each checked when read, and only
// those the current claims agree with: rep.Link's entries), never from
// the app's data; a journal giving one identity to two users is refused.
func linkPairs(r link.Result) (map[string]string, error) {
	moves := r.Remaps()
	if len(moves) == 0 {
		return nil, nil
	}
	if _, err := link.Remaps(r.Path); err != nil {
		return nil, err
	}
	pairs := map[string]string{}
	for _, m := range moves {
		pairs[m.Old] = m.New
	}
	return pairs, nil
}

// linkFields rewrites (in a dry run, counts) the --identity-field values
// of the users copied, after their files, then checks that no value
// still names an identity copied from. The check is made by every
// storage link run that is not a dry run (and by storage verify
// --identity-pool): the link route's pairs live in the link journal, and
// a re-run of storage link, which asks no one already done, is how that
// route finishes. left is what makes the run exit 1 (items that
// failed or changed meanwhile, values still naming an identity copied
// from); err stops it.
func (a *App) linkFields(ctx context.Context, s *storageSetup, rep *storageLinkReport, dryRun bool) (left, err error) {
	if len(s.fields) == 0 {
		return nil, nil
	}
	pairs, err := linkPairs(rep.Link)
	if err != nil {
		return nil, err
	}
	if len(pairs) == 0 {
		rep.IdentityFieldsSkipped = "no user was copied (none signed in to the new pool before the link, or not yet): no value to rewrite"
		return nil, nil
	}
	if rep.IdentityFields, err = a.rewriteFieldsIn(ctx, s, pairs, dryRun, s.linkFieldJournal(), "storage link"); err != nil {
		return nil, err
	}
	if dryRun {
		return nil, nil
	}
	if failed, conflicts := rep.IdentityFields.Left(); failed+conflicts > 0 {
		left = fmt.Errorf("identity fields: %d item(s) failed and %d changed while the rewrite ran (left alone, named above): run storage link again to finish them", failed, conflicts)
	}
	checks, stale, err := verifyFields(ctx, s, pairs)
	if err != nil {
		return nil, err
	}
	rep.IdentityFieldChecks = checks
	if stale > 0 {
		left = errors.Join(left, fmt.Errorf("%d identity-field value(s) still name the identity of a copied user's new login's own (listed): run storage link again", stale))
	}
	return left, nil
}

func printLinkFields(w io.Writer, r storageLinkReport) {
	printFieldRewrite(w, r.IdentityFields, r.IdentityFieldsSkipped)
	if len(r.IdentityFieldChecks) > 0 {
		fmt.Fprintln(w, "Check (an old identity id here is the identity of a copied user's new login's own, deleted by the link):")
		printFieldChecks(w, r.IdentityFieldChecks)
	}
}
