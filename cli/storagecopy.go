package cli

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cognitoidentity"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/spf13/pflag"
	"golang.org/x/time/rate"

	"github.com/poolmigrate/poolmigrate/amplifyproj"
	"github.com/poolmigrate/poolmigrate/cognito"
	"github.com/poolmigrate/poolmigrate/dynamo"
	"github.com/poolmigrate/poolmigrate/migration"
	"github.com/poolmigrate/poolmigrate/statedir"
	"github.com/poolmigrate/poolmigrate/storage/identitymap"
	"github.com/poolmigrate/poolmigrate/storage/s3move"
	"github.com/poolmigrate/poolmigrate/tokenmint"
	tmdeploy "github.com/poolmigrate/poolmigrate/tokenmint/deploy"
)

// storageFlags are what storage copy, verify and rollback share: the
// users (through the claims, checked against the backup), the identity
// pools, and the buckets.
type storageFlags struct {
	backup, target                   string
	oldIdentityPool, newIdentityPool string
	buckets, paths                   []string
	worker                           string
	share                            dynamo.Share
	workers                          int
	dryRun, mapOnly                  bool
}

func (f *storageFlags) registerUsers(fs *pflag.FlagSet) {
	fs.StringVar(&f.backup, "backup", "", "backup file of the old pool (its users are the only ones whose files move)")
	fs.StringVar(&f.target, "target-pool", "", "the new user pool's id")
	fs.StringVar(&f.oldIdentityPool, "old-identity-pool", "", "the identity pool of the old user pool (the users' identity ids today)")
	fs.StringVar(&f.newIdentityPool, "new-identity-pool", "", "the identity pool of the new user pool")
}

func (f *storageFlags) registerBuckets(fs *pflag.FlagSet) {
	fs.StringArrayVar(&f.buckets, "bucket", nil, "a `BUCKET` whose per-identity paths move (repeatable; default: the project's storage, see `storage plan`)")
	fs.StringArrayVar(&f.paths, "path", nil, "a per-identity path `TEMPLATE` of the --bucket buckets, with {entity_id} for the identity id (repeatable; default private/{entity_id}/ and protected/{entity_id}/)")
}

func (f *storageFlags) validateUsers() error {
	if f.backup == "" || f.target == "" || f.oldIdentityPool == "" || f.newIdentityPool == "" {
		return usagef("needs --backup FILE, --target-pool ID, --old-identity-pool ID and --new-identity-pool ID")
	}
	if err := amplifyproj.CheckPoolID("--target-pool", f.target); err != nil {
		return usagef("%v", err)
	}
	if f.oldIdentityPool == f.newIdentityPool {
		return usagef("--old-identity-pool and --new-identity-pool are the same: the identity pool survives the move, so nothing is copied (that is the link route)")
	}
	return nil
}

// storageBucket is a bucket and its per-identity paths.
type storageBucket struct {
	Name      string
	Templates []s3move.Template
}

// storageSetup is what the storage commands work on.
type storageSetup struct {
	stateDir string
	clients  *awsClients
	buckets  []storageBucket
}

// mapPath is the identity map, journalPath a bucket's copy journal.
func (s *storageSetup) mapPath() string {
	return filepath.Join(s.stateDir, "storage", "identity-map.jsonl")
}

func (s *storageSetup) journalPath(bucket string, share dynamo.Share) string {
	name := bucket + ".journal.jsonl"
	if !share.Whole() {
		name = fmt.Sprintf("%s.worker-%d-of-%d.journal.jsonl", bucket, share.Worker, share.Of)
	}
	return filepath.Join(s.stateDir, "storage", name)
}

// journals are every journal of a bucket (every worker's).
func (s *storageSetup) journals(bucket string) []string {
	var out []string
	for _, pat := range []string{bucket + ".journal.jsonl", bucket + ".worker-*-of-*.journal.jsonl"} {
		m, _ := filepath.Glob(filepath.Join(s.stateDir, "storage", pat))
		out = append(out, m...)
	}
	return out
}

// setupStorage finds the buckets (--bucket, else the project's storage)
// and the state folder (the project's, else ./.poolmigrate), and makes the
// clients.
func (a *App) setupStorage(ctx context.Context, g *globals, f *storageFlags) (*storageSetup, error) {
	s := &storageSetup{}
	region, profile := g.region, g.profile
	pl, root, err := a.loadPlan(g, planOptions{allowUnknownEnv: true})
	switch {
	case err == nil:
		region, profile = firstNonEmpty(region, pl.Region), firstNonEmpty(profile, pl.Profile)
		if s.stateDir, err = statedir.Ensure(root); err != nil {
			return nil, err
		}
	case errors.Is(err, amplifyproj.ErrNoProject) && len(f.buckets) > 0:
		wd, werr := a.Getwd()
		if werr != nil {
			return nil, werr
		}
		s.stateDir = filepath.Join(wd, statedir.Name)
	default:
		return nil, err
	}
	if len(f.buckets) > 0 {
		paths := f.paths
		if len(paths) == 0 {
			paths = []string{"private/{entity_id}/", "protected/{entity_id}/"}
		}
		ts, err := s3move.ParseTemplates(paths)
		if err != nil {
			return nil, usagef("--path: %v", err)
		}
		for _, b := range f.buckets {
			s.buckets = append(s.buckets, storageBucket{Name: b, Templates: ts})
		}
	} else {
		if len(f.paths) > 0 {
			return nil, usagef("--path needs --bucket")
		}
		sp, err := readStorage(pl, root, nil)
		if err != nil {
			return nil, err
		}
		for _, b := range sp.Buckets {
			if len(b.IdentityPaths) == 0 {
				continue
			}
			if b.BucketName == "" {
				return nil, usagef("storage %s: no file names its deployed bucket (amplify-meta.json, amplify_outputs.json): pass --bucket NAME", b.Resource)
			}
			var paths []string
			for _, ip := range b.IdentityPaths {
				paths = append(paths, ip.Template)
			}
			ts, err := s3move.ParseTemplates(paths)
			if err != nil {
				return nil, fmt.Errorf("storage %s: %w", b.Resource, err)
			}
			s.buckets = append(s.buckets, storageBucket{Name: b.BucketName, Templates: ts})
		}
		if len(s.buckets) == 0 {
			return nil, usagef("the project's storage has no per-identity path (see `poolmigrate storage plan`): nothing to copy")
		}
	}
	if s.clients, err = a.newAWSClients(ctx, region, profile); err != nil {
		return nil, err
	}
	return s, nil
}

// claimedUsers are the migrated users, taken only through claims checked
// against the backup (migration.ListClaims), as remap and verify take them.
func (a *App) claimedUsers(ctx context.Context, s *storageSetup, f *storageFlags) ([]identitymap.User, migration.ClaimReport, error) {
	spill := filepath.Join(s.stateDir, "tmp")
	migrated, claims, err := migration.ListClaims(ctx, s.clients.cognito, f.target, f.backup, rate.NewLimiter(10, 1), spill)
	if err != nil {
		return nil, claims, explainAWS(err)
	}
	defer migrated.Close()
	a.printRefusedClaims(claims)
	m, err := migration.BuildSubMap(f.backup, migrated, spill)
	if err != nil {
		return nil, claims, err
	}
	defer m.Close()
	var users []identitymap.User
	migrated.Each(func(prev string, tu cognito.TargetUser) {
		if id, ok := m.Lookup(prev); ok && id.NewSub == tu.Sub {
			users = append(users, identitymap.User{OldSub: prev, OldUsername: id.OldUsername, NewSub: tu.Sub, NewUsername: tu.Username})
		}
	})
	return users, claims, nil
}

// backupPool is the old pool's id, from the backup's header.
func backupPool(path string) (string, error) {
	errStop := errors.New("stop")
	var pool string
	_, _, err := cognito.ReadBackupFile(path, cognito.BackupVisitor{Header: func(h cognito.BackupHeader) error { pool = h.PoolID; return errStop }})
	if err != nil && !errors.Is(err, errStop) {
		return "", err
	}
	if pool == "" {
		return "", fmt.Errorf("backup %s names no user pool", path)
	}
	return pool, nil
}

func storageCopyCommand(a *App) command {
	return command{
		name:    "copy",
		summary: "copy each migrated user's files from their old identity id to their new one (the identity pool does not survive the move); old files stay",
		usage:   "copy --backup FILE --target-pool ID --old-identity-pool ID --new-identity-pool ID [--bucket NAME [--path TEMPLATE]...] [--map-only] [--worker K/M] [--dry-run] [--yes]",
		setup: func(fs *pflag.FlagSet, g *globals) func(context.Context, []string) error {
			f := &storageFlags{}
			f.registerUsers(fs)
			f.registerBuckets(fs)
			fs.IntVar(&f.workers, "workers", s3move.DefaultWorkers, "copies in flight")
			fs.BoolVar(&f.dryRun, "dry-run", false, "read the claims, the identity map as it is and the buckets, and show what would be copied; mint no token, ask no identity, copy nothing")
			fs.BoolVar(&f.mapOnly, "map-only", false, "build the identity map and stop (run it once before workers copy with --worker K/M)")
			fs.StringVar(&f.worker, "worker", "", "be worker K of M (K from 0) of a copy split across processes or machines: take the users whose old identity id hashes to K, with a journal of this worker's own; the identity map must be built first (--map-only)")
			return func(ctx context.Context, args []string) error {
				if len(args) > 0 {
					return usagef("unexpected arguments %q", strings.Join(args, " "))
				}
				if err := f.validateUsers(); err != nil {
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
	users, claims, err := a.claimedUsers(ctx, s, f)
	if err != nil {
		return err
	}
	rep := storageCopyReport{DryRun: f.dryRun, Unmapped: []string{}, Buckets: []storageBucketCopy{}, RefusedClaims: claims.Refused}
	var mapErr error
	if f.dryRun || !f.share.Whole() {
		rep.Map, rep.Unmapped, err = readMapFor(s.mapPath(), users)
		if err != nil {
			return err
		}
		if !f.dryRun && len(rep.Unmapped) > 0 {
			return usagef("%d migrated user(s) are not in the identity map %s (%s…): run `storage copy --map-only` (without --worker) first", len(rep.Unmapped), s.mapPath(), rep.Unmapped[0])
		}
	} else {
		res, err := a.buildIdentityMap(ctx, g, s, f, users)
		if err != nil && !errors.As(err, new(*identitymap.IncompleteError)) {
			return err
		}
		mapErr = err
		rep.Map = &res
	}
	moves := rep.Map.Moves()
	if err := s3move.CheckMoves(moves); err != nil {
		return err
	}
	if !f.mapOnly {
		for _, b := range s.buckets {
			bc, err := a.copyBucket(ctx, s, f, b, moves)
			rep.Buckets = append(rep.Buckets, bc)
			var inc *s3move.IncompleteError
			if errors.As(err, &inc) {
				mapErr = errors.Join(mapErr, err)
			} else if err != nil {
				return err
			}
		}
	}
	if g.json {
		if err := writeJSON(a.Stdout, rep); err != nil {
			return err
		}
	} else {
		printStorageCopy(a, rep)
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

// buildIdentityMap puts the token trio on both user pools for the run,
// builds the map, and takes the trio away again.
func (a *App) buildIdentityMap(ctx context.Context, g *globals, s *storageSetup, f *storageFlags, users []identitymap.User) (identitymap.Result, error) {
	oldPool, err := backupPool(f.backup)
	if err != nil {
		return identitymap.Result{}, err
	}
	c := s.clients
	var names []string
	for _, b := range s.buckets {
		names = append(names, b.Name)
	}
	if err := a.confirm(g, fmt.Sprintf("Copy the files of %d migrated users in AWS account %s, region %s, from their identities in %s (user pool %s) to those in %s (user pool %s), in buckets %s.\nA token function (custom-auth trio) is put on both user pools for the run and removed after it: %s.",
		len(users), c.account(ctx), c.cfg.Region, f.oldIdentityPool, oldPool, f.newIdentityPool, f.target, strings.Join(names, ", "), tmdeploy.SideEffects)); err != nil {
		return identitymap.Result{}, err
	}
	account, err := c.accountID(ctx)
	if err != nil {
		return identitymap.Result{}, fmt.Errorf("find the AWS account (sts:GetCallerIdentity) for the token function's permission: %w", err)
	}
	if a.TokenmintSource == nil {
		return identitymap.Result{}, errors.New("this binary carries no token function source: build poolmigrate from the repository (go build .)")
	}
	built, err := tmdeploy.BuildEmbedded(ctx, a.TokenmintSource, "", "arm64")
	if err != nil {
		return identitymap.Result{}, fmt.Errorf("build the token function: %w", err)
	}
	apis := tmdeploy.APIs{Cognito: c.cognito, Lambda: c.lambda(), IAM: c.iam(), Logs: c.logs()}
	side := func(pool, identityPool string) (identitymap.Side, func(), error) {
		run, err := tokenmint.NewRun(pool, 2*time.Hour)
		if err != nil {
			return identitymap.Side{}, nil, err
		}
		o := tmdeploy.Options{Pool: pool, Region: c.cfg.Region, Account: account, Zip: built.Package, Run: run,
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
		return identitymap.Side{UserPool: pool, Region: c.cfg.Region, IdentityPool: identityPool, Minter: identitymap.RunMinter{Run: run, API: c.cognito}}, remove, nil
	}
	oldSide, removeOld, err := side(oldPool, f.oldIdentityPool)
	if err != nil {
		return identitymap.Result{}, err
	}
	defer removeOld()
	newSide, removeNew, err := side(f.target, f.newIdentityPool)
	if err != nil {
		return identitymap.Result{}, err
	}
	defer removeNew()
	p := a.newProgress("identity map", "users", int64(len(users)))
	res, err := identitymap.Build(ctx, c.identity(), identitymap.Options{Old: oldSide, New: newSide, Users: users, Path: s.mapPath(), Command: "storage copy",
		Holds:    func(ctx context.Context, id string) (bool, error) { return s.holds(ctx, id) },
		Progress: func(done, total int) { p.set(int64(done), int64(total), "") }})
	p.done(fmt.Sprintf("%d users, %d asked", len(res.Entries), res.Asked))
	for _, fl := range res.Failures {
		fmt.Fprintf(a.Stderr, "  not mapped: %s: %s\n", fl.User, fl.Error)
	}
	return res, err
}

// holds tells whether an identity has files under any per-identity path.
func (s *storageSetup) holds(ctx context.Context, id string) (bool, error) {
	api := s.clients.s3()
	for _, b := range s.buckets {
		for _, t := range b.Templates {
			out, err := api.ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: aws.String(b.Name), Prefix: aws.String(t.Prefix(id)), MaxKeys: aws.Int32(1)})
			if err != nil {
				return false, err
			}
			if len(out.Contents) > 0 {
				return true, nil
			}
		}
	}
	return false, nil
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
