package cli

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cognitoidentity"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/spf13/pflag"

	"github.com/poolmigrate/poolmigrate/migration"
	"github.com/poolmigrate/poolmigrate/storage/identitymap"
	"github.com/poolmigrate/poolmigrate/storage/s3move"
)

// Retiring the copy route's old side: the old objects `storage copy`
// copied (`storage retire`, and retire-old-pool --delete-old-files), and
// the old identity pool retain-pool kept (retire-old-pool
// --old-identity-pool). Both go only once the users' files verify under
// their new identity ids; the decision of what may go is s3move.Retire's.

// storageBucketRetire is one bucket's old objects to delete (or deleted).
type storageBucketRetire struct {
	Bucket  string              `json:"bucket"`
	Users   int                 `json:"users"`
	Objects int                 `json:"objects"`
	Bytes   int64               `json:"bytes"`
	Result  s3move.RetireResult `json:"result"`
}

// retireBuckets runs s3move.Retire on every bucket: each user's verify
// afresh, then (unless dryRun) the deletes.
func retireBuckets(ctx context.Context, s *storageSetup, moves []s3move.Move, dryRun bool) ([]storageBucketRetire, error) {
	out := []storageBucketRetire{}
	for _, b := range s.buckets {
		br := storageBucketRetire{Bucket: b.Name, Result: s3move.RetireResult{Deleted: []string{}, Users: []string{}, Kept: []s3move.RetireKept{}, Left: []string{}}}
		if len(moves) > 0 {
			res, err := s3move.Retire(ctx, s.clients.s3(), s3move.RetireOptions{DryRun: dryRun,
				VerifyOptions: s3move.VerifyOptions{Bucket: b.Name, Templates: b.Templates, Moves: moves, Journals: s.journals(b.Name)}})
			if err != nil {
				return out, explainAWS(err)
			}
			br.Result = res
		}
		br.Users, br.Objects, br.Bytes = len(br.Result.Users), len(br.Result.Deleted), br.Result.Bytes
		out = append(out, br)
	}
	return out, nil
}

// keptUsers are the users of any bucket whose verify was not clean.
func keptUsers(bs []storageBucketRetire) []string {
	seen := map[string]bool{}
	out := []string{}
	for _, b := range bs {
		for _, k := range b.Result.Kept {
			if !seen[k.User] {
				seen[k.User] = true
				out = append(out, k.User)
			}
		}
	}
	return out
}

func totals(bs []storageBucketRetire) (users map[string]bool, objects int, bytes int64) {
	users = map[string]bool{}
	for _, b := range bs {
		for _, u := range b.Result.Users {
			users[u] = true
		}
		objects += b.Objects
		bytes += b.Bytes
	}
	return users, objects, bytes
}

func printRetireBuckets(w io.Writer, bs []storageBucketRetire, verb string) {
	for _, b := range bs {
		fmt.Fprintf(w, "Bucket %s: %d old objects (%d bytes) of %d users %s", b.Bucket, b.Objects, b.Bytes, b.Users, verb)
		if n := len(b.Result.Left); n > 0 {
			fmt.Fprintf(w, "; %d kept (no journal records copying them as they are)", n)
		}
		fmt.Fprintln(w)
		for _, k := range b.Result.Kept {
			fmt.Fprintf(w, "  %s keeps every old file: %s\n", k.User, k.Reason)
		}
	}
}

func storageRetireCommand(a *App) command {
	var typed int64
	return command{
		name:    "retire",
		summary: "delete the old files `storage copy` copied, per user only after a fresh verify of their copies, only objects its journal records copying (asks for the number of objects typed)",
		usage:   "retire --backup FILE --target-pool ID --old-identity-pool ID --new-identity-pool ID [--bucket NAME [--path TEMPLATE]...] [--dry-run] [--confirm-objects N]",
		setup: func(fs *pflag.FlagSet, g *globals) func(context.Context, []string) error {
			f := &storageFlags{}
			f.registerUsers(fs)
			f.registerBuckets(fs)
			fs.BoolVar(&f.dryRun, "dry-run", false, "verify and name and count what would be deleted; delete nothing")
			fs.Int64Var(&typed, "confirm-objects", -1, "the number of old objects to delete, typed, for runs without a terminal (--yes does not stand for it)")
			return func(ctx context.Context, args []string) error {
				if len(args) > 0 {
					return usagef("unexpected arguments %q", strings.Join(args, " "))
				}
				if err := f.validateUsers(); err != nil {
					return err
				}
				if typed < -1 {
					return usagef("--confirm-objects takes a number of objects, 0 or more")
				}
				return a.runStorageRetire(ctx, g, f, typed)
			}
		},
	}
}

// storageRetireReport is storage retire's result (--json).
type storageRetireReport struct {
	DryRun  bool `json:"dryRun"`
	Deleted bool `json:"deleted"`
	// Unmapped are migrated users the identity map does not hold: their
	// old files, if any, are not known and stay.
	Unmapped      []string                 `json:"unmapped"`
	Buckets       []storageBucketRetire    `json:"buckets"`
	RefusedClaims []migration.ClaimRefusal `json:"refusedClaims"`
}

// storageNotRetired makes a retire that kept some users' files exit 1.
type storageNotRetired struct{ kept, unmapped int }

func (e storageNotRetired) Error() string {
	return fmt.Sprintf("%d user(s) keep their old files because their copies do not verify, %d are not in the identity map (listed): run `storage copy` and `storage verify`, then retire again", e.kept, e.unmapped)
}
func (e storageNotRetired) ExitCode() int { return 1 }

func (a *App) runStorageRetire(ctx context.Context, g *globals, f *storageFlags, typed int64) error {
	s, claims, unmapped, moves, err := a.checkedMoves(ctx, g, f)
	if err != nil {
		return err
	}
	rep := storageRetireReport{DryRun: f.dryRun, Unmapped: append([]string{}, unmapped...), RefusedClaims: claims.Refused}
	if rep.Buckets, err = retireBuckets(ctx, s, moves, true); err != nil {
		return err
	}
	out := func() error {
		if g.json {
			return writeJSON(a.Stdout, rep)
		}
		for _, u := range rep.Unmapped {
			fmt.Fprintf(a.Stdout, "  %s: not in the identity map: their old files, if any, stay (run `storage copy`)\n", u)
		}
		verb := "to delete (dry run: nothing was deleted)"
		if rep.Deleted {
			verb = "deleted"
		} else if !rep.DryRun {
			verb = "to delete; nothing was deleted"
		}
		printRetireBuckets(a.Stdout, rep.Buckets, verb)
		return nil
	}
	outcome := func() error {
		if k := keptUsers(rep.Buckets); len(k) > 0 || len(rep.Unmapped) > 0 {
			return storageNotRetired{len(k), len(rep.Unmapped)}
		}
		return claimsOutcome(claims)
	}
	usersSet, objects, bytes := totals(rep.Buckets)
	if f.dryRun || objects == 0 {
		if err := out(); err != nil {
			return err
		}
		return outcome()
	}
	var lines []string
	for _, b := range rep.Buckets {
		lines = append(lines, fmt.Sprintf("  bucket %s: %d objects, %d bytes, %d users", b.Bucket, b.Objects, b.Bytes, b.Users))
	}
	fmt.Fprintf(a.Stderr, "Delete %d old objects (%d bytes) of %d users in AWS account %s, region %s? Their copies under the new identity ids stay; each user's copies are verified again first. This cannot be undone.\n%s\n",
		objects, bytes, len(usersSet), s.clients.account(ctx), s.clients.cfg.Region, strings.Join(lines, "\n"))
	if typed < 0 {
		fmt.Fprint(a.Stderr, "Type the number of objects to delete them: ")
		line, _ := bufio.NewReader(a.Stdin).ReadString('\n')
		if typed, err = strconv.ParseInt(strings.TrimSpace(line), 10, 64); err != nil {
			typed = -1
		}
	}
	if typed != int64(objects) {
		if err := out(); err != nil {
			return err
		}
		return retireRefused{fmt.Sprintf("the number typed is not the %d objects to delete: nothing was deleted", objects)}
	}
	if rep.Buckets, err = retireBuckets(ctx, s, moves, false); err != nil {
		return err
	}
	rep.Deleted = true
	if err := out(); err != nil {
		return err
	}
	return outcome()
}

// retireStorage is retire-old-pool's storage part (--json "storage"):
// the old identity pool and the old files, and whether users' files are
// safe without them.
type retireStorage struct {
	OldIdentityPool     string `json:"oldIdentityPool,omitempty"`
	OldIdentityPoolName string `json:"oldIdentityPoolName,omitempty"`
	// OldIdentityPoolFrom is where it was named: "--old-identity-pool",
	// or the state file that recorded it.
	OldIdentityPoolFrom string `json:"oldIdentityPoolFrom,omitempty"`
	// Verified: every migrated user's files are under their new identity
	// id (storage verify is clean), or no per-identity file exists.
	Verified bool `json:"verified"`
	// PerIdentityFiles tells whether any object lies under a per-identity
	// path of the buckets.
	PerIdentityFiles bool `json:"perIdentityFiles"`
	// Unmapped are migrated users the identity map does not hold;
	// NotVerified those whose files are not all under their new id.
	Unmapped    []string `json:"unmapped"`
	NotVerified []string `json:"notVerified"`
	// Recorded are those of Unmapped whose old identity id migrate's
	// storage-ids step recorded (old-identities.jsonl, of this old user
	// pool and identity pool): a later sync moves their files without the
	// old pools, so they do not keep the pools.
	Recorded []string `json:"recorded"`
	// Buckets are the old files --delete-old-files deletes (or deleted).
	Buckets             []storageBucketRetire `json:"buckets"`
	DeleteOldFiles      bool                  `json:"deleteOldFiles"`
	IdentityPoolDeleted bool                  `json:"identityPoolDeleted"`
	FilesDeleted        bool                  `json:"filesDeleted"`
	Refusal             string                `json:"refusal,omitempty"`

	setup *storageSetup
	moves []s3move.Move
}

// planRetireStorage checks the old identity pool (it must be the old user
// pool's, not the new one's) and users' files, when retire was asked to
// delete either.
func (a *App) planRetireStorage(ctx context.Context, g *globals, s *remapSetup, r *retireFlags, ip retireIdentityPool, oldPool, target string) (*retireStorage, error) {
	if ip.ID == "" && !r.deleteOldFiles {
		return nil, nil
	}
	st := &retireStorage{OldIdentityPool: ip.ID, OldIdentityPoolFrom: ip.From, DeleteOldFiles: r.deleteOldFiles, Unmapped: []string{}, NotVerified: []string{}, Recorded: []string{}, Buckets: []storageBucketRetire{}}
	region := s.clients.cfg.Region
	if ip.ID != "" {
		d, err := s.clients.identity().DescribeIdentityPool(ctx, &cognitoidentity.DescribeIdentityPoolInput{IdentityPoolId: aws.String(ip.ID)})
		if err != nil {
			return nil, fmt.Errorf("read the old identity pool %s (from %s): %w; retire deletes nothing it cannot check", ip.ID, ip.From, explainAWS(err))
		}
		st.OldIdentityPoolName = aws.ToString(d.IdentityPoolName)
		listed := map[string]bool{}
		for _, p := range d.CognitoIdentityProviders {
			listed[aws.ToString(p.ProviderName)] = true
		}
		oldP := identitymap.Side{UserPool: oldPool, Region: region}.Provider()
		newP := identitymap.Side{UserPool: target, Region: region}.Provider()
		what, instead := "the identity pool "+ip.ID, "pass the old identity pool, or leave --old-identity-pool out"
		if ip.From != fromFlag {
			what = fmt.Sprintf("the identity pool %s, which %s records as the old one,", ip.ID, ip.From)
			instead = "the file is wrong or was changed: pass --old-identity-pool ID (the old identity pool), or --keep-old-identity-pool to leave it"
		}
		switch {
		case listed[newP]:
			st.Refusal = fmt.Sprintf("%s lists the new user pool %s: it is the one users sign in through now, not the old one; nothing was deleted (%s)", what, target, instead)
		case !listed[oldP]:
			st.Refusal = fmt.Sprintf("%s does not list the old user pool %s as a provider: it is not the old pool's identity pool; nothing was deleted (%s)", what, oldPool, instead)
		}
		if st.Refusal != "" {
			return st, nil
		}
	}
	ss, err := a.findStorage(ctx, g, &storageFlags{buckets: r.buckets, paths: r.paths})
	if err != nil {
		return nil, err
	}
	ss.clients = s.clients
	st.setup = ss
	users, _ := mappedUsers(s.migrated, s.subMap)
	m, unmapped, err := readMapFor(ss.mapPath(), users)
	if err != nil {
		return nil, err
	}
	st.Unmapped = append(st.Unmapped, unmapped...)
	if st.Recorded, err = recordedUsers(s.stateDir, oldPool, ip.ID, users, unmapped); err != nil {
		return nil, err
	}
	st.moves = m.Moves()
	if len(st.moves) > 0 {
		if err := s3move.CheckMoves(st.moves); err != nil {
			return nil, err
		}
	}
	if st.PerIdentityFiles, err = anyPerIdentityFile(ctx, ss); err != nil {
		return nil, explainAWS(err)
	}
	if r.deleteOldFiles {
		if st.Buckets, err = retireBuckets(ctx, ss, st.moves, true); err != nil {
			return nil, err
		}
		st.NotVerified = keptUsers(st.Buckets)
	} else {
		failing := map[string]bool{}
		for _, b := range ss.buckets {
			if len(st.moves) == 0 {
				break
			}
			res, err := s3move.Verify(ctx, ss.clients.s3(), s3move.VerifyOptions{Bucket: b.Name, Templates: b.Templates, Moves: st.moves, Journals: ss.journals(b.Name)})
			if err != nil {
				return nil, explainAWS(err)
			}
			for _, u := range res.Users {
				if !u.OK() && !failing[u.User] {
					failing[u.User] = true
					st.NotVerified = append(st.NotVerified, u.User)
				}
			}
		}
	}
	st.Verified = len(st.NotVerified) == 0 && (len(st.Unmapped) == 0 || !st.PerIdentityFiles)
	if unrecorded := len(st.Unmapped) - len(st.Recorded); len(st.NotVerified) > 0 || (unrecorded > 0 && st.PerIdentityFiles) {
		st.Refusal = fmt.Sprintf("users' files are not verified: %d user(s) do not have all their files under their new identity id, %d migrated user(s) are not in the identity map %s and have no old identity id recorded in %s (listed above). Deleting the old pools now could leave their files where they cannot reach them: finish `poolmigrate storage copy` until `storage verify` is clean (docs/storage.md); nothing was deleted",
			len(st.NotVerified), unrecorded, ss.mapPath(), oldIdentitiesPath(s.stateDir))
		if ip.ID != "" && ip.From != fromFlag {
			st.Refusal += " (or pass --keep-old-identity-pool to leave the old identity pool, which " + ip.From + " names, and delete the old user pool alone)"
		}
	}
	return st, nil
}

// anyPerIdentityFile tells whether any object lies under a per-identity
// path (the part of its template before the identity id).
func anyPerIdentityFile(ctx context.Context, s *storageSetup) (bool, error) {
	api := s.clients.s3()
	for _, b := range s.buckets {
		for _, t := range b.Templates {
			parent, _, _ := strings.Cut(t.String(), s3move.Placeholder)
			out, err := api.ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: aws.String(b.Name), Prefix: aws.String(parent), MaxKeys: aws.Int32(1)})
			if err != nil {
				return false, fmt.Errorf("list s3://%s/%s: %w", b.Name, parent, err)
			}
			if len(out.Contents) > 0 {
				return true, nil
			}
		}
	}
	return false, nil
}

// confirmText names what the storage part deletes, for the confirmation.
func (st *retireStorage) confirmText() string {
	if st == nil {
		return ""
	}
	var b strings.Builder
	if st.OldIdentityPool != "" {
		fmt.Fprintf(&b, "\nWith it: the old identity pool %s (%s, named by %s) and every identity id in it.", st.OldIdentityPool, st.OldIdentityPoolName, st.OldIdentityPoolFrom)
	}
	if st.DeleteOldFiles {
		users, objects, bytes := totals(st.Buckets)
		fmt.Fprintf(&b, "\nWith it: %d old files (%d bytes) of %d users that `storage copy` copied, each user's copies verified again first:", objects, bytes, len(users))
		for _, bk := range st.Buckets {
			fmt.Fprintf(&b, "\n  bucket %s: %d objects, %d bytes, %d users", bk.Bucket, bk.Objects, bk.Bytes, bk.Users)
		}
	}
	return b.String()
}

// print writes the storage part of retire's decision for people.
func (st *retireStorage) print(w io.Writer, dryRun bool) {
	if st == nil {
		return
	}
	list := func(users []string, why string) {
		for i, u := range users {
			if i == retireNamesShown {
				fmt.Fprintf(w, "  … and %d more (--json lists them all)\n", len(users)-i)
				break
			}
			fmt.Fprintf(w, "  %s: %s\n", u, why)
		}
	}
	if !st.Verified {
		recorded := map[string]bool{}
		for _, u := range st.Recorded {
			recorded[u] = true
		}
		var unrecorded []string
		for _, u := range st.Unmapped {
			if !recorded[u] {
				unrecorded = append(unrecorded, u)
			}
		}
		list(unrecorded, "not in the identity map "+st.setupMap()+" (no copy made)")
		list(st.NotVerified, "files not all under their new identity id (see `storage verify`)")
		if len(st.Recorded) > 0 {
			fmt.Fprintf(w, "%d migrated users are not in the identity map yet (they cannot sign in to the new pool yet); their old identity ids are recorded, so `poolmigrate sync` moves their files once they can, without the old pools.\n", len(st.Recorded))
		}
	}
	if st.OldIdentityPool != "" {
		what := "is deleted with the old user pool"
		switch {
		case st.IdentityPoolDeleted:
			what = "was deleted"
		case st.Refusal != "":
			what = "stays"
		case dryRun:
			what = "would be deleted with the old user pool"
		}
		from := ""
		if st.OldIdentityPoolFrom != fromFlag {
			from = " (found in " + st.OldIdentityPoolFrom + ")"
		}
		fmt.Fprintf(w, "Old identity pool %s (%s)%s %s.\n", st.OldIdentityPool, st.OldIdentityPoolName, from, what)
	}
	if st.DeleteOldFiles && st.Refusal == "" {
		verb := "to delete after the pool"
		if st.FilesDeleted {
			verb = "deleted"
		} else if dryRun {
			verb = "would be deleted (dry run)"
		}
		printRetireBuckets(w, st.Buckets, verb)
	}
}

func (st *retireStorage) setupMap() string {
	if st.setup == nil {
		return ""
	}
	return st.setup.mapPath()
}

// retireStorageAfterPool deletes, once the old user pool is gone, the old
// identity pool and (with --delete-old-files) the old files, each user's
// copies verified again first.
func (a *App) retireStorageAfterPool(ctx context.Context, st *retireStorage, oldPool string) error {
	if st == nil {
		return nil
	}
	if st.OldIdentityPool != "" {
		if _, err := st.setup.clients.identity().DeleteIdentityPool(ctx, &cognitoidentity.DeleteIdentityPoolInput{IdentityPoolId: aws.String(st.OldIdentityPool)}); err != nil {
			return fmt.Errorf("the old user pool %s was deleted, but not its identity pool %s: %w; delete it with `aws cognito-identity delete-identity-pool --identity-pool-id %s`", oldPool, st.OldIdentityPool, explainAWS(err), st.OldIdentityPool)
		}
		st.IdentityPoolDeleted = true
	}
	if !st.DeleteOldFiles {
		return nil
	}
	bs, err := retireBuckets(ctx, st.setup, st.moves, false)
	if err != nil {
		return fmt.Errorf("delete the old files: %w; the old pools are gone: run `poolmigrate storage retire` to finish", err)
	}
	st.Buckets, st.FilesDeleted = bs, true
	if k := keptUsers(bs); len(k) > 0 {
		return retireRefused{fmt.Sprintf("%d user(s) keep their old files: their copies no longer verify (%s); run `poolmigrate storage verify`, then `storage retire`", len(k), strings.Join(k, ", "))}
	}
	return nil
}

// recordedUsers are the users of unmapped (old usernames) whose old
// identity id migrate's storage-ids step recorded for these old pools:
// the old sub and username must be the migrated user's, whose claim the
// backup agreed with. None without an old identity pool.
func recordedUsers(state, oldPool, identityPool string, users []identitymap.User, unmapped []string) ([]string, error) {
	out := []string{}
	if len(unmapped) == 0 || identityPool == "" {
		return out, nil
	}
	known, err := recordedOldIDs(state, oldPool, identityPool)
	if err != nil {
		return nil, fmt.Errorf("read the old identity ids %s: %w", oldIdentitiesPath(state), err)
	}
	byName := map[string]identitymap.User{}
	for _, u := range users {
		byName[u.OldUsername] = u
	}
	for _, name := range unmapped {
		u, ok := byName[name]
		if e, rec := known[u.OldSub]; ok && rec && e.OldUsername == u.OldUsername {
			out = append(out, name)
		}
	}
	return out, nil
}
