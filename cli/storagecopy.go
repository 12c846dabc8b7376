package cli

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/cognitoidentity"
	"github.com/spf13/pflag"
	"golang.org/x/time/rate"

	"github.com/poolmigrate/poolmigrate/migration"
	"github.com/poolmigrate/poolmigrate/storage/identitymap"
	"github.com/poolmigrate/poolmigrate/storage/idfield"
	"github.com/poolmigrate/poolmigrate/storage/s3move"
	"github.com/poolmigrate/poolmigrate/tokenmint"
	tmdeploy "github.com/poolmigrate/poolmigrate/tokenmint/deploy"
)

func storageCopyCommand(a *App) command {
	return command{
		name:    "copy",
		summary: "copy each migrated user's files from their old identity id to their new one (the identity pool does not survive the move); old files stay",
		usage:   "copy --backup FILE --target-pool ID --old-identity-pool ID --new-identity-pool ID [--bucket NAME [--path TEMPLATE]...] [--identity-field Type.field]... [--map-only] [--worker K/M] [--dry-run] [--yes]",
		setup: func(fs *pflag.FlagSet, g *globals) func(context.Context, []string) error {
			f := &storageFlags{}
			f.registerUsers(fs)
			f.registerBuckets(fs)
			fs.IntVar(&f.workers, "workers", s3move.DefaultWorkers, "copies in flight")
			fs.BoolVar(&f.dryRun, "dry-run", false, "read the claims, the identity map as it is and the buckets, and show what would be copied; mint no token, ask no identity, copy nothing")
			fs.BoolVar(&f.mapOnly, "map-only", false, "build the identity map and stop (run it once before workers copy with --worker K/M)")
			f.tokenmint.register(fs)
			fs.StringVar(&f.worker, "worker", "", "be worker K of M (K from 0) of a copy split across processes or machines: take the users whose old identity id hashes to K, with a journal of this worker's own; the identity map must be built first (--map-only)")
			fields := fs.StringArray("identity-field", nil, "a `FIELD` of the app's data, written Type.field (e.g. Profile.identityId), that stores Cognito identity ids (repeatable; checked against the schema): after the files, each value naming a moved user's old id is rewritten to the new one (journaled; a run without --worker does it)")
			return func(ctx context.Context, args []string) error {
				f.identityFields = *fields
				if len(args) > 0 {
					return usagef("unexpected arguments %q", strings.Join(args, " "))
				}
				if err := f.validateUsers(); err != nil {
					return err
				}
				if err := f.tokenmint.validate(); err != nil {
					return err
				}
				if f.worker != "" {
					sh, err := parseWorker(f.worker, a.Getenv)
					if err != nil {
						return usagef("%v", err)
					}
					f.share = sh
					if f.mapOnly {
						return usagef("--map-only builds the whole map: run it without --worker")
					}
				}
				return a.runStorageCopy(ctx, g, f)
			}
		},
	}
}

// storageCopyReport is storage copy's result (--json).
type storageCopyReport struct {
	Map           *identitymap.Result      `json:"map"`
	Unmapped      []string                 `json:"unmapped"`
	Buckets       []storageBucketCopy      `json:"buckets"`
	DryRun        bool                     `json:"dryRun"`
	RefusedClaims []migration.ClaimRefusal `json:"refusedClaims"`
	// IdentityFields is the rewrite of the --identity-field fields (a dry
	// run's count); IdentityFieldsSkipped says why a run left them.
	IdentityFields        *idfield.Result `json:"identityFields,omitempty"`
	IdentityFieldsSkipped string          `json:"identityFieldsSkipped,omitempty"`
}

type storageBucketCopy struct {
	Bucket string         `json:"bucket"`
	Result *s3move.Result `json:"result,omitempty"`
	// Objects and Bytes are a dry run's survey.
	Objects int64 `json:"objects"`
	Bytes   int64 `json:"bytes"`
}

// storageIncomplete makes a copy that left users or objects behind exit 1.
type storageIncomplete struct{ what string }

func (e storageIncomplete) Error() string { return e.what }
func (e storageIncomplete) ExitCode() int { return 1 }

func (a *App) runStorageCopy(ctx context.Context, g *globals, f *storageFlags) error {
	s, err := a.setupStorage(ctx, g, f)
	if err != nil {
		return err
	}
	s.tokenmint = f.tokenmint
	users, claims, err := a.claimedUsers(ctx, s, f)
	if err != nil {
		return err
	}
	rep := storageCopyReport{DryRun: f.dryRun, Unmapped: []string{}, Buckets: []storageBucketCopy{}, RefusedClaims: claims.Refused}
	var mapErr error
	rep.Map, rep.Unmapped, err = readMapFor(s.mapPath(), users)
	if err != nil {
		return err
	}
	if rep.Unmapped == nil {
		rep.Unmapped = []string{}
	}
	if !f.dryRun && !f.share.Whole() && len(rep.Unmapped) > 0 {
		return usagef("%d migrated user(s) are not in the identity map %s (%s…): run `storage copy --map-only` (without --worker) first", len(rep.Unmapped), s.mapPath(), rep.Unmapped[0])
	}
	if !f.dryRun {
		if err := a.confirmStorageCopy(ctx, g, s, f, len(users), len(rep.Unmapped)); err != nil {
			return err
		}
	}
	if !f.dryRun && f.share.Whole() {
		res, err := a.buildIdentityMap(ctx, s, f, users, rep.Unmapped)
		if err != nil && !errors.As(err, new(*identitymap.IncompleteError)) {
			return err
		}
		mapErr = err
		rep.Map = &res
		rep.Unmapped = stillUnmapped(users, res)
	}
	moves := rep.Map.Moves()
	if len(moves) > 0 {
		if err := s3move.CheckMoves(moves); err != nil {
			return err
		}
	}
	leftOut := map[string]bool{} // users whose files are not all moved
	if !f.mapOnly {
		for _, b := range s.buckets {
			if len(moves) == 0 { // nobody (yet) has files to move
				rep.Buckets = append(rep.Buckets, storageBucketCopy{Bucket: b.Name})
				continue
			}
			bc, err := a.copyBucket(ctx, s, f, b, moves)
			rep.Buckets = append(rep.Buckets, bc)
			if bc.Result != nil {
				for _, fl := range bc.Result.Failures {
					leftOut[fl.User] = true
				}
			}
			var inc *s3move.IncompleteError
			if errors.As(err, &inc) {
				mapErr = errors.Join(mapErr, err)
			} else if err != nil {
				return err
			}
		}
	}
	switch {
	case len(s.fields) == 0 || f.mapOnly:
	case !f.share.Whole():
		rep.IdentityFieldsSkipped = "not rewritten by a worker: run storage copy without --worker after the workers (it copies nothing again) to rewrite them"
	case len(moves) == 0:
		rep.IdentityFieldsSkipped = "no user in the identity map had an old identity id (yet): no value to rewrite"
	default:
		rep.IdentityFields, err = a.rewriteFields(ctx, s, fieldPairs(moves, leftOut), f.dryRun)
		if err != nil {
			return err
		}
		if err := fieldsIncomplete(rep.IdentityFields); err != nil {
			mapErr = errors.Join(mapErr, err)
		}
	}
	if g.json {
		if err := writeJSON(a.Stdout, rep); err != nil {
			return err
		}
	} else {
		printStorageCopy(a, rep)
		printFieldRewrite(a.Stdout, rep.IdentityFields, rep.IdentityFieldsSkipped)
	}
	if mapErr != nil {
		return storageIncomplete{fmt.Sprintf("storage copy is not complete: %v", mapErr)}
	}
	return claimsOutcome(claims)
}

// readMapFor reads the map for users: the lines whose old and new user
// the claims give now, and the users without one.
func readMapFor(path string, users []identitymap.User) (*identitymap.Result, []string, error) {
	res := &identitymap.Result{Path: path, Entries: []identitymap.Entry{}, Failures: []identitymap.Failure{}}
	_, lines, err := identitymap.Read(path)
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return nil, nil, err
	}
	byOld := map[string]identitymap.Entry{}
	for _, e := range lines {
		byOld[e.OldSub] = e
	}
	var unmapped []string
	for _, u := range users {
		e, ok := byOld[u.OldSub]
		if !ok || e.NewSub != u.NewSub || e.NewUsername != u.NewUsername || e.OldUsername != u.OldUsername {
			unmapped = append(unmapped, u.OldUsername)
			continue
		}
		res.Entries = append(res.Entries, e)
	}
	res.Stale = len(lines) - len(res.Entries)
	return res, unmapped, nil
}

// stillUnmapped are the users (old usernames) the map res has no entry
// for: after a run, those it could not map (the report's unmapped list is
// read before the run).
func stillUnmapped(users []identitymap.User, res identitymap.Result) []string {
	mapped := map[string]bool{}
	for _, e := range res.Entries {
		mapped[e.OldSub] = true
	}
	out := []string{}
	for _, u := range users {
		if !mapped[u.OldSub] {
			out = append(out, u.OldUsername)
		}
	}
	return out
}

// confirmStorageCopy shows what the copy writes and asks, unless --yes.
func (a *App) confirmStorageCopy(ctx context.Context, g *globals, s *storageSetup, f *storageFlags, users, unmapped int) error {
	var names []string
	for _, b := range s.buckets {
		names = append(names, b.Name)
	}
	trio := ""
	if unmapped > 0 && f.share.Whole() {
		trio = fmt.Sprintf("\nTo find the identity ids of %d users, a token function (custom-auth trio) and an app client of the tool's are put on both user pools and both identity pools for the run and removed after it: %s.", unmapped, tmdeploy.SideEffects)
	}
	if len(s.fields) > 0 && f.share.Whole() && !f.mapOnly {
		var fs []string
		for _, fl := range s.fields {
			fs = append(fs, fmt.Sprintf("%s (table %s)", fl, fl.Table))
		}
		trio += "\nThen each old identity id of a moved user in the fields " + strings.Join(fs, ", ") + " is rewritten to the new one (journaled; `storage rollback` undoes it)."
	}
	c := s.clients
	return a.confirm(g, fmt.Sprintf("Copy the files of %d migrated users in AWS account %s, region %s, from their identities in %s to those in %s (user pool %s), in buckets %s; old files stay.%s",
		users, c.account(ctx), c.cfg.Region, f.oldIdentityPool, f.newIdentityPool, f.target, strings.Join(names, ", "), trio))
}

// unusedMinter stands for the trio when every user is mapped already.
type unusedMinter struct{}

func (unusedMinter) Mint(context.Context, string) (string, error) {
	return "", errors.New("no token function on the pool")
}

// buildIdentityMap builds (or resumes) the identity map. When some users
// are not mapped yet, it puts the token trio on the new user pool for the
// run, and on the old one for those whose old identity id migrate's
// storage-ids step did not record (after the push deleted the old pools,
// the recorded ids are the only ones left), and takes it away again.
func (a *App) buildIdentityMap(ctx context.Context, s *storageSetup, f *storageFlags, users []identitymap.User, unmapped []string) (identitymap.Result, error) {
	oldPool, err := backupPool(f.backup)
	if err != nil {
		return identitymap.Result{}, err
	}
	known, err := recordedOldIDs(s.stateDir, oldPool, f.oldIdentityPool)
	if err != nil {
		return identitymap.Result{}, err
	}
	c := s.clients
	o := identitymap.Options{Users: users, Path: s.mapPath(), Command: "storage copy", Known: known,
		Old:   identitymap.Side{UserPool: oldPool, Region: c.cfg.Region, IdentityPool: f.oldIdentityPool, Minter: unusedMinter{}},
		New:   identitymap.Side{UserPool: f.target, Region: c.cfg.Region, IdentityPool: f.newIdentityPool, Minter: unusedMinter{}},
		Holds: func(ctx context.Context, id string) (bool, error) { return s.holds(ctx, id) }}
	if len(unmapped) == 0 {
		return identitymap.Build(ctx, c.identity(), o)
	}
	isUnmapped := map[string]bool{}
	for _, n := range unmapped {
		isUnmapped[n] = true
	}
	needOld := false
	for _, u := range users {
		if k, ok := known[u.OldSub]; isUnmapped[u.OldUsername] && (!ok || k.OldUsername != u.OldUsername) {
			needOld = true
		}
	}
	side, err := a.tokenSides(ctx, s)
	if err != nil {
		return identitymap.Result{}, err
	}
	if needOld {
		oldSide, removeOld, err := side(oldPool, f.oldIdentityPool)
		if err != nil {
			return identitymap.Result{}, err
		}
		defer removeOld()
		o.Old = oldSide
	}
	newSide, removeNew, err := side(f.target, f.newIdentityPool)
	if err != nil {
		return identitymap.Result{}, err
	}
	defer removeNew()
	p := a.newProgress("identity map", "users", int64(len(users)))
	o.New = newSide
	o.Progress = func(done, total int) { p.set(int64(done), int64(total), "") }
	res, err := identitymap.Build(ctx, c.identity(), o)
	p.done(fmt.Sprintf("%d users, %d asked", len(res.Entries), res.Asked))
	for _, fl := range res.Failures {
		fmt.Fprintf(a.Stderr, "  not mapped: %s: %s\n", fl.User, fl.Error)
	}
	return res, err
}

// recordedOldIDs are the old identity ids migrate's storage-ids step
// recorded (by old sub), when it recorded them for these old pools; nil
// when it did not run.
func recordedOldIDs(state, oldPool, oldIdentityPool string) (map[string]identitymap.Entry, error) {
	start, known, err := identitymap.ReadOld(oldIdentitiesPath(state))
	if identitymap.IsNotExist(err) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	if start.OldIdentityPool != oldIdentityPool || start.OldUserPool != oldPool {
		return nil, nil // another migration's: its ids are not these pools'
	}
	return known, nil
}

// copyBucket copies (or, in a dry run, surveys) one bucket.
func (a *App) copyBucket(ctx context.Context, s *storageSetup, f *storageFlags, b storageBucket, moves []s3move.Move) (storageBucketCopy, error) {
	bc := storageBucketCopy{Bucket: b.Name}
	api := s.clients.s3()
	objects, bytes, err := s3move.Survey(ctx, api, b.Name, b.Templates, moves, f.share, 0)
	if err != nil {
		return bc, explainAWS(err)
	}
	bc.Objects, bc.Bytes = objects, bytes
	if f.dryRun {
		return bc, nil
	}
	p := a.newProgress("copy "+b.Name, "objects", objects)
	res, err := s3move.Copy(ctx, api, s3move.Options{Bucket: b.Name, Templates: b.Templates, Moves: moves, Journal: s.journalPath(b.Name, f.share),
		Share: f.share, Workers: f.workers, Command: "storage copy",
		Progress: func(pr s3move.Progress) { p.set(pr.Copied+pr.Done+pr.Identical+pr.Conflicts+pr.Failed, objects, "") }})
	p.done(fmt.Sprintf("%d copied, %d done before, %d already there", res.Copied, res.Done, res.Identical))
	bc.Result = &res
	return bc, err
}

// identity is the Cognito Identity client.
func (c *awsClients) identity() *cognitoidentity.Client { return cognitoidentity.NewFromConfig(c.cfg) }

func printStorageCopy(a *App, r storageCopyReport) {
	w := a.Stdout
	m := r.Map
	if r.DryRun {
		fmt.Fprintf(w, "Dry run: nothing was minted, asked or copied.\n")
	}
	fmt.Fprintf(w, "Identity map %s: %d users mapped (%d asked by this run), %d had no old identity", m.Path, len(m.Entries), m.Asked, m.Created)
	if m.Deleted > 0 {
		fmt.Fprintf(w, " (%d identities the run made deleted again)", m.Deleted)
	}
	fmt.Fprintln(w)
	if len(r.Unmapped) > 0 {
		fmt.Fprintf(w, "  %d users not mapped yet (a run without --dry-run maps them)\n", len(r.Unmapped))
	}
	if len(m.Failures) > 0 {
		fmt.Fprintf(w, "  %d users could not be mapped (listed on stderr): their files were not copied\n", len(m.Failures))
	}
	for _, b := range r.Buckets {
		if b.Result == nil {
			fmt.Fprintf(w, "Bucket %s: %d objects, %d bytes would be copied\n", b.Bucket, b.Objects, b.Bytes)
			continue
		}
		res := b.Result
		fmt.Fprintf(w, "Bucket %s: %d objects of %d users: %d copied, %d copied before, %d already there; %d conflicts, %d failed (journal %s)\n",
			b.Bucket, res.Objects, len(res.Users), res.Copied, res.Done, res.Identical, len(res.Conflicts), len(res.Failures), res.Journal)
		for _, c := range res.Conflicts {
			fmt.Fprintf(w, "  conflict %s: %s → %s: %s\n", c.User, c.Source, c.Dest, c.Reason)
		}
		for _, fl := range res.Failures {
			fmt.Fprintf(w, "  failed %s %s: %s\n", fl.User, fl.Key, fl.Error)
		}
	}
}

// tokenSides builds the token function once and returns what puts it on
// one user pool (with the tool's app client admitted to that pool's
// identity pool) for the run: the side, and the function that takes both
// away again.
func (a *App) tokenSides(ctx context.Context, s *storageSetup) (func(pool, identityPool string) (identitymap.Side, func(), error), error) {
	c := s.clients
	account, err := c.accountID(ctx)
	if err != nil {
		return nil, fmt.Errorf("find the AWS account (sts:GetCallerIdentity) for the token function's permission: %w", err)
	}
	pkg, err := a.tokenmintPackage(ctx, s.tokenmint, "arm64")
	if err != nil {
		return nil, err
	}
	apis := tmdeploy.APIs{Cognito: c.cognito, Lambda: c.lambda(), IAM: c.iam(), Logs: c.logs()}
	side := func(pool, identityPool string) (identitymap.Side, func(), error) {
		run, err := tokenmint.NewRun(pool, 2*time.Hour)
		if err != nil {
			return identitymap.Side{}, nil, err
		}
		run.Limiter = rate.NewLimiter(identitymap.MintRate, 1)
		o := tmdeploy.Options{Pool: pool, Region: c.cfg.Region, Account: account, Zip: pkg, Run: run,
			Logf: func(format string, args ...any) { fmt.Fprintf(a.Stderr, format+"\n", args...) }}
		remove := func() {
			if _, err := tmdeploy.Remove(context.WithoutCancel(ctx), apis, o); err != nil {
				fmt.Fprintf(a.Stderr, "warning: remove the token function from %s: %v (run `poolmigrate storage status` and remove what it lists)\n", pool, err)
			}
		}
		if _, err := tmdeploy.Deploy(ctx, apis, o); err != nil {
			return identitymap.Side{}, nil, fmt.Errorf("put the token function on %s: %w", pool, explainAWS(err))
		}
		if a.trioDeployed != nil {
			if err := a.trioDeployed(ctx, pool, tmdeploy.FunctionName(pool)); err != nil {
				remove()
				return identitymap.Side{}, nil, err
			}
		}
		sd := identitymap.Side{UserPool: pool, Region: c.cfg.Region, IdentityPool: identityPool, Minter: identitymap.RunMinter{Run: run, API: c.cognito}}
		undo, err := identitymap.Admit(ctx, c.identity(), identityPool, sd.Provider(), run.Client)
		if err != nil {
			remove()
			return identitymap.Side{}, nil, explainAWS(err)
		}
		return sd, func() {
			if err := undo(context.WithoutCancel(ctx)); err != nil {
				fmt.Fprintf(a.Stderr, "warning: %v: remove it by hand (the Cognito console's identity pool, user access)\n", err)
			}
			remove()
		}, nil
	}
	return side, nil
}
