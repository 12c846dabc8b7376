package cli

import (
	"context"
	"fmt"
	"io"
	"path/filepath"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/poolmigrate/poolmigrate/storage/identitymap"
	"github.com/poolmigrate/poolmigrate/storage/link"
	"github.com/poolmigrate/poolmigrate/storage/s3move"
)

// storage verify on the link route (--identity-pool: the identity pool
// survives the move, Gen 2), and what both routes share: the identity
// folders that no verified user's identity explains.

// linkJournalPath is storage link's journal.
func (s *storageSetup) linkJournalPath() string {
	return filepath.Join(s.stateDir, "storage", "link.jsonl")
}

// runStorageVerifyLink verifies the link route from storage link's
// journal: each migrated user is linked (their new login answered the
// identity they had, so nothing moved), had no identity, or was copied
// (signed in to the new pool before the link), and then the files of each
// identity copied from are all under the one they keep, as storage copy's
// verify compares them. Users not in the journal pass only while no
// identity folder with files is left that no linked user has: otherwise
// those files could be theirs.
func (a *App) runStorageVerifyLink(ctx context.Context, g *globals, f *storageFlags, identityPool string) error {
	s, err := a.setupStorage(ctx, g, f)
	if err != nil {
		return err
	}
	users, claims, err := a.claimedUsers(ctx, s, f)
	if err != nil {
		return err
	}
	oldPool, err := backupPool(f.backup)
	if err != nil {
		return err
	}
	region := s.clients.cfg.Region
	res, pending, err := link.Read(s.linkJournalPath(), link.Options{IdentityPool: identityPool, Users: users,
		Old: identitymap.Side{UserPool: oldPool, Region: region}, New: identitymap.Side{UserPool: f.target, Region: region}})
	if err != nil {
		return err
	}
	rep := storageVerifyReport{Route: "link", Unmapped: append([]string{}, pending...), Buckets: []storageBucketVerify{}, NotLinked: []string{}, UnknownFolders: []string{}}
	known := map[string]bool{}
	var moves []s3move.Move
	for _, e := range res.Entries {
		switch e.Outcome {
		case link.Linked:
			rep.Linked++
			known[e.Old] = true
		case link.Copied:
			known[e.Old] = true
			for _, from := range e.From {
				known[from] = true
				moves = append(moves, s3move.Move{User: e.OldUsername, Old: from, New: e.Old})
			}
		case link.NeedsCopy:
			rep.NotLinked = append(rep.NotLinked, e.OldUsername)
			known[e.Old], known[e.New] = true, true
		}
	}
	failing := map[string]bool{}
	for _, b := range s.buckets {
		bv := storageBucketVerify{Bucket: b.Name, Failing: []s3move.UserCheck{}}
		journal := (&link.CopyOptions{Dir: filepath.Join(s.stateDir, "storage")}).JournalPath(b.Name)
		// One move at a time: a user copied from two identities of their
		// own has two moves to one identity, which one Verify refuses.
		for _, m := range moves {
			vr, err := s3move.Verify(ctx, s.clients.s3(), s3move.VerifyOptions{Bucket: b.Name, Templates: b.Templates, Moves: []s3move.Move{m}, Journals: existing(journal)})
			if err != nil {
				return explainAWS(err)
			}
			bv.Objects += vr.Objects
			for _, u := range vr.Users {
				bv.Users++
				if !u.OK() {
					bv.Failing = append(bv.Failing, u)
					failing[u.User] = true
				}
			}
		}
		rep.Buckets = append(rep.Buckets, bv)
	}
	if len(pending) > 0 {
		if rep.UnknownFolders, rep.Unknown, err = unknownFolders(ctx, s.clients.s3(), s.buckets, known); err != nil {
			return explainAWS(err)
		}
	}
	pairs, err := linkPairs(res)
	if err != nil {
		return err
	}
	checks, stale, err := verifyFields(ctx, s, pairs)
	if err != nil {
		return err
	}
	rep.IdentityFields = checks
	return a.finishStorageVerify(g, rep, claims, len(failing)+len(rep.NotLinked), stale)
}

// existing is path alone if the file is there, else none.
func existing(path string) []string {
	if statOK(path) {
		return []string{path}
	}
	return nil
}

// maxUnknownNamed bounds the identity folders a report names.
const maxUnknownNamed = 20

// unknownFolders lists the identity folders under the buckets'
// per-identity paths that hold objects, for identity ids known does not
// hold (one delimited listing per path: a page names up to 1,000
// folders). It counts them all and names the first maxUnknownNamed
// (bucket/prefix); each unknown folder costs one more listing call. With
// none, a migrated user the map or the journal does not hold has no file
// anywhere under those paths: the files there are all of identities
// other users have.
func unknownFolders(ctx context.Context, api s3.ListObjectsV2APIClient, buckets []storageBucket, known map[string]bool) ([]string, int, error) {
	named, n := []string{}, 0
	for _, b := range buckets {
		for _, t := range b.Templates {
			before, after, _ := strings.Cut(t.String(), s3move.Placeholder)
			pages := s3.NewListObjectsV2Paginator(api, &s3.ListObjectsV2Input{Bucket: aws.String(b.Name), Prefix: aws.String(before), Delimiter: aws.String("/")})
			for pages.HasMorePages() {
				out, err := pages.NextPage(ctx)
				if err != nil {
					return nil, 0, fmt.Errorf("list the identity folders of s3://%s/%s: %w", b.Name, before, err)
				}
				for _, cp := range out.CommonPrefixes {
					id, ok := strings.CutSuffix(strings.TrimPrefix(aws.ToString(cp.Prefix), before), after)
					if !ok || id == "" || known[id] {
						continue
					}
					// A folder listed holds an object in S3; a server that
					// lists emptied folders too (SeaweedFS does) is asked.
					one, err := api.ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: aws.String(b.Name), Prefix: cp.Prefix, MaxKeys: aws.Int32(1)})
					if err != nil {
						return nil, 0, fmt.Errorf("list s3://%s/%s: %w", b.Name, aws.ToString(cp.Prefix), err)
					}
					if len(one.Contents) == 0 {
						continue
					}
					n++
					if len(named) < maxUnknownNamed {
						named = append(named, b.Name+"/"+aws.ToString(cp.Prefix))
					}
				}
			}
		}
	}
	return named, n, nil
}

// printUnmapped writes the migrated users the identity map (or the link
// journal) does not hold, and, when there are some, whether any files lie
// under an identity no verified user has.
func printUnmapped(w io.Writer, r storageVerifyReport) {
	if len(r.Unmapped) == 0 {
		return
	}
	where, todo := "the identity map", "no copy made: run `storage copy` (in a migration, `poolmigrate sync`)"
	if r.Route == "link" {
		where, todo = "the link journal", "not linked: run `storage link` (in a migration, `poolmigrate sync`) once they can sign in to the new pool"
	}
	if r.Unknown == 0 {
		fmt.Fprintf(w, "%d migrated user(s) not in %s (%s): no file lies under an identity that no user verified here has, so none of theirs is left behind\n",
			len(r.Unmapped), where, shortList(r.Unmapped, 10))
		return
	}
	for _, u := range r.Unmapped {
		fmt.Fprintf(w, "  %s: not in %s (%s)\n", u, where, todo)
	}
	fmt.Fprintf(w, "  %d identity folder(s) hold files of an identity that no user verified here has; they may be these users':\n", r.Unknown)
	for _, p := range r.UnknownFolders {
		fmt.Fprintf(w, "    %s\n", p)
	}
	if r.Unknown > len(r.UnknownFolders) {
		fmt.Fprintf(w, "    … and %d more\n", r.Unknown-len(r.UnknownFolders))
	}
}
