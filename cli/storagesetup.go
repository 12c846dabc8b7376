package cli

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/spf13/pflag"
	"golang.org/x/time/rate"

	"github.com/poolmigrate/poolmigrate/amplifyproj"
	"github.com/poolmigrate/poolmigrate/cognito"
	"github.com/poolmigrate/poolmigrate/dynamo"
	"github.com/poolmigrate/poolmigrate/migration"
	"github.com/poolmigrate/poolmigrate/statedir"
	"github.com/poolmigrate/poolmigrate/storage/identitymap"
	"github.com/poolmigrate/poolmigrate/storage/idfield"
	"github.com/poolmigrate/poolmigrate/storage/s3move"
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
	tokenmint                        tokenmintFlags // storage copy: the token function's code
	// identityFields are --identity-field Type.field.
	identityFields []string
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
	// tokenmint names the token function's code (storage copy, link).
	tokenmint tokenmintFlags
	// fields are the identity-id fields named, with their tables.
	fields []idfield.Field
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
	s, err := a.findStorage(ctx, g, f)
	if err != nil {
		return nil, err
	}
	if len(s.buckets) == 0 {
		return nil, usagef("the project's storage has no per-identity path (see `poolmigrate storage plan`): nothing to copy")
	}
	return s, nil
}

// findStorage is setupStorage that takes a project without per-identity
// paths as it is: no buckets.
func (a *App) findStorage(ctx context.Context, g *globals, f *storageFlags) (*storageSetup, error) {
	s := &storageSetup{}
	region, profile := g.region, g.profile
	pl, root, err := a.loadPlan(g, planOptions{allowUnknownEnv: true})
	switch {
	case err == nil:
		// The fields are checked before the state folder is made.
		if s.fields, err = identityFields(pl, f.identityFields); err != nil {
			return nil, err
		}
		region, profile = firstNonEmpty(region, pl.Region), firstNonEmpty(profile, pl.Profile)
		if s.stateDir, err = statedir.Ensure(root); err != nil {
			return nil, err
		}
	case errors.Is(err, amplifyproj.ErrNoProject) && len(f.buckets) > 0:
		if _, ferr := identityFields(nil, f.identityFields); ferr != nil {
			return nil, ferr
		}
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
	}
	if s.clients, err = a.newAWSClients(ctx, region, profile); err != nil {
		return nil, err
	}
	return s, nil
}

// claimedUsers are the migrated users, taken only through claims checked
// against the backup (migration.ListClaims), as remap and verify take them.
func (a *App) claimedUsers(ctx context.Context, s *storageSetup, f *storageFlags) ([]identitymap.User, migration.ClaimReport, error) {
	users, _, claims, err := a.claimedUsersSignIn(ctx, s, f)
	return users, claims, err
}

// newSignIn says whether a migrated user can be signed in to the new pool
// now, for a token (GetId needs one), and if not whether a later run can.
type newSignIn int

const (
	// signInNow: enabled and CONFIRMED.
	signInNow newSignIn = iota
	// signInLater: imported and not yet through their password reset (or
	// not yet confirmed): a later sync finds them signed in.
	signInLater
	// signInDisabled: disabled in the new pool (as in the old one); a sync
	// after an administrator enables them finds them.
	signInDisabled
	// signInFederated: signs in through a provider only (status
	// EXTERNAL_PROVIDER). Cognito signs no such user in through its API
	// (InitiateAuth: "You can't sign in a user with a federated IdP"), so
	// no token can be minted for them, now or later.
	signInFederated
)

func newSignInOf(tu cognito.TargetUser) newSignIn {
	switch {
	case tu.Status == "EXTERNAL_PROVIDER":
		return signInFederated
	case !tu.Enabled:
		return signInDisabled
	case tu.Status == "CONFIRMED":
		return signInNow
	}
	return signInLater
}

// claimedUsersSignIn is claimedUsers with, by new sub, whether each new
// user can sign in now (enabled and CONFIRMED: an imported user who has
// not reset their password cannot).
func (a *App) claimedUsersSignIn(ctx context.Context, s *storageSetup, f *storageFlags) ([]identitymap.User, map[string]newSignIn, migration.ClaimReport, error) {
	spill := filepath.Join(s.stateDir, "tmp")
	migrated, claims, err := migration.ListClaims(ctx, s.clients.cognito, f.target, f.backup, rate.NewLimiter(10, 1), spill)
	if err != nil {
		return nil, nil, claims, explainAWS(err)
	}
	defer migrated.Close()
	a.printRefusedClaims(claims)
	m, err := migration.BuildSubMap(f.backup, migrated, spill)
	if err != nil {
		return nil, nil, claims, err
	}
	defer m.Close()
	users, signIn := mappedUsers(migrated, m)
	return users, signIn, claims, nil
}

// mappedUsers are the migrated users whose claim the backup agrees with,
// and, by new sub, whether each can sign in.
func mappedUsers(migrated *cognito.MigratedUsers, m *migration.SubMap) ([]identitymap.User, map[string]newSignIn) {
	var users []identitymap.User
	signIn := map[string]newSignIn{}
	migrated.Each(func(prev string, tu cognito.TargetUser) {
		if id, ok := m.Lookup(prev); ok && id.NewSub == tu.Sub {
			users = append(users, identitymap.User{OldSub: prev, OldUsername: id.OldUsername, NewSub: tu.Sub, NewUsername: tu.Username})
			signIn[tu.Sub] = newSignInOf(tu)
		}
	})
	return users, signIn
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
