package cli

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"

	"github.com/poolmigrate/poolmigrate/amplifyproj"
	"github.com/poolmigrate/poolmigrate/cognito"
	"github.com/poolmigrate/poolmigrate/statedir"
	"github.com/poolmigrate/poolmigrate/storage"
	"github.com/poolmigrate/poolmigrate/storage/identitymap"
	"github.com/poolmigrate/poolmigrate/storage/s3move"
)

// The storage steps of `migrate` keep each migrated user's files (issue
// 22). Gen 1's `amplify push` deletes the old identity pool, so the old
// side of the identity map is taken before it (storage-ids, after
// backup); the new side and the copy (storage, after remap; and each
// `sync`) can be done only for users who can sign in to the new pool, the
// others wait for a later `sync`.

// storageState is the storage part of a migration, in migrate.json.
type storageState struct {
	Route           string `json:"route"`
	OldIdentityPool string `json:"oldIdentityPool,omitempty"`
	NewIdentityPool string `json:"newIdentityPool,omitempty"`
}

// storageSyncReport is what the storage step or a sync did (sync --json
// "storage").
type storageSyncReport struct {
	Route string `json:"route"`
	// Moved counts the users whose files are under their new identity id
	// (every user with an old identity, mapped and copied).
	Moved int `json:"moved"`
	// Copied counts the objects this run copied.
	Copied int64 `json:"copied"`
	// Waiting are the users (old usernames) who cannot sign in to the new
	// pool yet (imported, no password reset): a later sync moves them.
	Waiting []string `json:"waiting"`
	// NotRecorded counts users whose old identity id was not taken before
	// the push (they could not sign in to the old pool).
	NotRecorded int `json:"notRecorded"`
	// Disabled and Federated (route link) are users no run links now:
	// disabled in the new pool (a sync after they are enabled in both
	// pools links them),
	// or signing in through a provider only (never: no token can be
	// minted for them; their files stay under their old login's identity).
	Disabled  []string `json:"disabled,omitempty"`
	Federated []string `json:"federated,omitempty"`
}

func oldIdentitiesPath(state string) string {
	return filepath.Join(state, "storage", "old-identities.jsonl")
}

// storagePlanOf reads the project's storage plan.
func (a *App) storagePlanOf(g *globals) (*storage.Plan, error) {
	pl, root, err := a.loadPlan(g, planOptions{allowUnknownEnv: true})
	if err != nil {
		return nil, err
	}
	return readStorage(pl, root, nil)
}

// storageOldIDs is the storage-ids step: before the push, each old user's
// identity id in the old identity pool.
func (a *App) storageOldIDs(ctx context.Context, g *globals, state string, st *migrateState) error {
	if st.TargetPool != "" && !st.KeepPasswords {
		fmt.Fprintln(a.Stdout, "Storage: this migration is past the push, which deleted the old identity pool: old identity ids can no longer be taken (docs/storage.md).")
		return nil
	}
	sp, err := a.storagePlanOf(g)
	if err != nil {
		return err
	}
	switch sp.Route {
	case storage.RouteNone:
		st.Storage = &storageState{Route: sp.Route}
		fmt.Fprintln(a.Stdout, "Storage: no per-identity path and no identity-id field (route none): no file has to move.")
		return nil
	case storage.RouteLink:
		st.Storage = &storageState{Route: sp.Route, OldIdentityPool: sp.IdentityPool.ID}
		fmt.Fprintln(a.Stdout, "Storage: the identity pool survives the move (route link): after import, run `poolmigrate storage link` (docs/storage.md).")
		return nil
	}
	if sp.IdentityPool.ID == "" {
		return errors.New("the app's identity pool id is unknown (amplify-meta.json names none; storage plan says why): run `amplify pull`, then `poolmigrate migrate` again, before `amplify push`")
	}
	s, err := a.setupStorage(ctx, g, &storageFlags{})
	if err != nil {
		return err
	}
	files, err := anyIdentityFiles(ctx, a, s)
	if err != nil {
		return err
	}
	if !files {
		st.Storage = &storageState{Route: storage.RouteNone}
		fmt.Fprintln(a.Stdout, "Storage: no file under any per-identity path of the app's buckets: no file has to move, no identity id is taken.")
		return nil
	}
	var users []identitymap.OldUser
	skipped := 0
	_, _, err = cognito.ReadBackupFile(st.Backup, cognito.BackupVisitor{User: func(u cognito.User) error {
		switch {
		case u.Enabled && u.Status == "CONFIRMED":
			users = append(users, identitymap.OldUser{Sub: u.Sub, Username: u.Username})
		case u.Status != "UNCONFIRMED" && u.Status != "FORCE_CHANGE_PASSWORD": // those never signed in
			skipped++
		}
		return nil
	}})
	if err != nil {
		return err
	}
	path := oldIdentitiesPath(state)
	_, have, err := identitymap.ReadOld(path)
	if err != nil && !identitymap.IsNotExist(err) {
		return err
	}
	pending := 0
	for _, u := range users {
		if e, ok := have[u.Sub]; !ok || e.OldUsername != u.Username {
			pending++
		}
	}
	o := identitymap.OldOptions{Users: users, Path: path, Command: "migrate",
		Side:  identitymap.Side{UserPool: st.OldPool, Region: s.clients.cfg.Region, IdentityPool: sp.IdentityPool.ID, Minter: unusedMinter{}},
		Holds: s.holds}
	if pending > 0 {
		if err := a.confirm(g, fmt.Sprintf("Before the push deletes them, take the identity ids of %d users of pool %s in identity pool %s (AWS account %s, region %s). %s",
			pending, st.OldPool, sp.IdentityPool.ID, s.clients.account(ctx), s.clients.cfg.Region, trioNote(pending))); err != nil {
			return err
		}
		side, err := a.tokenSides(ctx, s)
		if err != nil {
			return err
		}
		sd, remove, err := side(st.OldPool, sp.IdentityPool.ID)
		if err != nil {
			return err
		}
		defer remove()
		o.Side = sd
	}
	res, err := identitymap.BuildOld(ctx, s.clients.identity(), o)
	for _, fl := range res.Failures {
		fmt.Fprintf(a.Stderr, "  no old identity id: %s: %s\n", fl.User, fl.Error)
	}
	if err != nil {
		return fmt.Errorf("take the old identity ids: %w (before `amplify push`: after it they are lost)", explainAWS(err))
	}
	st.Storage = &storageState{Route: sp.Route, OldIdentityPool: sp.IdentityPool.ID}
	fmt.Fprintf(a.Stdout, "Storage (copy): the old identity ids of %d users are in %s (%d had none); their files are copied to their new ids once they can sign in to the new pool.\n",
		len(res.Entries)-res.Created, path, res.Created)
	if skipped > 0 {
		fmt.Fprintf(a.Stdout, "  %d users could not sign in to the old pool (disabled, federated, or a password reset pending): their files, if any, stay under their old ids.\n", skipped)
	}
	return nil
}

// anyIdentityFiles tells whether any bucket holds an object under the
// part of a per-identity path before the identity id (private/, …). A
// bucket that does not exist holds none (said on stderr).
func anyIdentityFiles(ctx context.Context, a *App, s *storageSetup) (bool, error) {
	api := s.clients.s3()
	for _, b := range s.buckets {
		for _, t := range b.Templates {
			before, _, _ := strings.Cut(t.String(), s3move.Placeholder)
			out, err := api.ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: aws.String(b.Name), Prefix: aws.String(before), MaxKeys: aws.Int32(1)})
			var nb *s3types.NoSuchBucket
			if errors.As(err, &nb) {
				fmt.Fprintf(a.Stderr, "warning: bucket %s does not exist: it holds no files\n", b.Name)
				break
			}
			if err != nil {
				return false, fmt.Errorf("look for files in bucket %s: %w", b.Name, explainAWS(err))
			}
			if len(out.Contents) > 0 {
				return true, nil
			}
		}
	}
	return false, nil
}

func trioNote(n int) string {
	return fmt.Sprintf("To sign in %d users without their passwords, the tool's token function (custom-auth trio) and app client are put on the pool and its identity pool for the run and removed after it.", n)
}

// storageMoveStep is the storage step after remap: the new identity pool
// from the project, then moveFiles.
func (a *App) storageMoveStep(ctx context.Context, g *globals, state string, st *migrateState) error {
	ss := st.Storage
	if ss == nil {
		fmt.Fprintln(a.Stdout, "Storage: this migration began before poolmigrate took old identity ids (storage-ids step): keep users' files with `poolmigrate storage copy` while the old identity pool is there (docs/storage.md).")
		return nil
	}
	switch ss.Route {
	case storage.RouteNone:
		fmt.Fprintln(a.Stdout, "Storage: route none, no file has to move.")
		return nil
	case storage.RouteLink:
		fmt.Fprintf(a.Stdout, "Storage: route link: run `poolmigrate storage link --backup %s --target-pool %s --identity-pool %s` (docs/storage.md).\n", st.Backup, st.TargetPool, ss.OldIdentityPool)
		return nil
	}
	if ss.NewIdentityPool == "" {
		sp, err := a.storagePlanOf(g)
		if err != nil {
			return err
		}
		if sp.IdentityPool.ID == "" || sp.IdentityPool.ID == ss.OldIdentityPool {
			return fmt.Errorf("the new identity pool's id is unknown (amplify-meta.json names %q for the new auth resource): run `amplify pull` after the push, then `poolmigrate migrate` again", sp.IdentityPool.ID)
		}
		ss.NewIdentityPool = sp.IdentityPool.ID
	}
	rep, err := a.moveFiles(ctx, g, state, st.Backup, st.TargetPool, ss)
	if err != nil {
		return err
	}
	printStorageSync(a, rep)
	if len(rep.Waiting) > 0 {
		fmt.Fprintf(a.Stdout, "  Once they have set their passwords (or from cron): poolmigrate sync --backup %s --target-pool %s\n", st.Backup, st.TargetPool)
	}
	return nil
}

// moveFiles maps and copies the files of every migrated user who can sign
// in to the new pool (or is mapped already), from the old ids taken
// before the push; the others are named waiting.
func (a *App) moveFiles(ctx context.Context, g *globals, state, backup, target string, ss *storageState) (storageSyncReport, error) {
	rep := storageSyncReport{Route: ss.Route, Waiting: []string{}}
	f := &storageFlags{backup: backup, target: target, oldIdentityPool: ss.OldIdentityPool, newIdentityPool: ss.NewIdentityPool, workers: s3move.DefaultWorkers}
	s, err := a.setupStorage(ctx, g, &storageFlags{})
	if err != nil {
		return rep, err
	}
	start, known, err := identitymap.ReadOld(oldIdentitiesPath(state))
	if err != nil {
		return rep, fmt.Errorf("read the old identity ids (the storage-ids step wrote them): %w", err)
	}
	if start.OldIdentityPool != ss.OldIdentityPool {
		return rep, fmt.Errorf("%s is of identity pool %s, not %s: move it away only if you know why", oldIdentitiesPath(state), start.OldIdentityPool, ss.OldIdentityPool)
	}
	all, signIn, _, err := a.claimedUsersSignIn(ctx, s, f)
	if err != nil {
		return rep, err
	}
	_, unmapped, err := readMapFor(s.mapPath(), all)
	if err != nil {
		return rep, err
	}
	isUnmapped := map[string]bool{}
	for _, n := range unmapped {
		isUnmapped[n] = true
	}
	var users []identitymap.User
	tokens := 0
	for _, u := range all {
		k, ok := known[u.OldSub]
		switch {
		case !ok || k.OldUsername != u.OldUsername:
			rep.NotRecorded++
		case !isUnmapped[u.OldUsername] || k.Created:
			users = append(users, u)
		case signIn[u.NewSub] == signInNow:
			users = append(users, u)
			tokens++
		default:
			rep.Waiting = append(rep.Waiting, u.OldUsername)
		}
	}
	if tokens > 0 {
		if err := a.confirm(g, fmt.Sprintf("Copy the files of %d users who signed in to pool %s to their new identity ids in %s (AWS account %s, region %s); old files stay. %s",
			tokens, target, ss.NewIdentityPool, s.clients.account(ctx), s.clients.cfg.Region, trioNote(tokens))); err != nil {
			return rep, err
		}
	}
	oldPool, err := backupPool(backup)
	if err != nil {
		return rep, err
	}
	o := identitymap.Options{Users: users, Path: s.mapPath(), Command: "migrate", Known: known,
		Old: identitymap.Side{UserPool: oldPool, Region: s.clients.cfg.Region, IdentityPool: ss.OldIdentityPool, Minter: unusedMinter{}},
		New: identitymap.Side{UserPool: target, Region: s.clients.cfg.Region, IdentityPool: ss.NewIdentityPool, Minter: unusedMinter{}}}
	if tokens > 0 {
		side, err := a.tokenSides(ctx, s)
		if err != nil {
			return rep, err
		}
		sd, remove, err := side(target, ss.NewIdentityPool)
		if err != nil {
			return rep, err
		}
		defer remove()
		o.New = sd
	}
	res, mapErr := identitymap.Build(ctx, s.clients.identity(), o)
	for _, fl := range res.Failures {
		fmt.Fprintf(a.Stderr, "  not mapped: %s: %s\n", fl.User, fl.Error)
	}
	if mapErr != nil && !errors.As(mapErr, new(*identitymap.IncompleteError)) {
		return rep, explainAWS(mapErr)
	}
	moves := res.Moves()
	if len(moves) > 0 {
		if err := s3move.CheckMoves(moves); err != nil {
			return rep, err
		}
		for _, b := range s.buckets {
			bc, err := a.copyBucket(ctx, s, f, b, moves)
			if bc.Result != nil {
				rep.Copied += bc.Result.Copied
			}
			if err != nil {
				return rep, fmt.Errorf("copy the files in %s: %w (run again: the copy resumes)", b.Name, err)
			}
		}
	}
	rep.Moved = len(moves)
	if mapErr != nil {
		return rep, fmt.Errorf("%w: `poolmigrate storage status` shows the map", mapErr)
	}
	return rep, nil
}

func printStorageSync(a *App, r storageSyncReport) {
	if r.Route == storage.RouteLink {
		fmt.Fprintf(a.Stdout, "Storage (link): %d users' new logins answer the identity ids holding their files (%d objects copied by this run for users who signed in early)", r.Moved, r.Copied)
	} else {
		fmt.Fprintf(a.Stdout, "Storage (copy): the files of %d users are under their new identity ids (%d objects copied by this run)", r.Moved, r.Copied)
	}
	if len(r.Waiting) > 0 {
		verb := "moves"
		if r.Route == storage.RouteLink {
			verb = "links"
		}
		fmt.Fprintf(a.Stdout, "; %d users wait until they sign in to the new pool (%s): `poolmigrate sync` %s them then", len(r.Waiting), shortList(r.Waiting, 5), verb)
	}
	fmt.Fprintln(a.Stdout, ".")
	if len(r.Disabled) > 0 {
		fmt.Fprintf(a.Stdout, "  %d users are disabled (%s): no token can be minted for a disabled user; enable them in both pools and a later `poolmigrate sync` links them.\n", len(r.Disabled), shortList(r.Disabled, 5))
	}
	if len(r.Federated) > 0 {
		fmt.Fprintf(a.Stdout, "  %d users sign in through a provider only (%s): Cognito signs no such user in through its API, so no token can be minted to link them; their files stay under the identity id their old login had (docs/storage.md).\n", len(r.Federated), shortList(r.Federated, 5))
	}
	if r.NotRecorded > 0 {
		fmt.Fprintf(a.Stdout, "  %d users' old identity ids were not taken before the push: their files, if any, stay under their old ids.\n", r.NotRecorded)
	}
}

func shortList(names []string, n int) string {
	if len(names) <= n {
		return strings.Join(names, ", ")
	}
	return strings.Join(names[:n], ", ") + fmt.Sprintf(", … %d more", len(names)-n)
}

// storageForSync is sync's storage part: when the project's migration
// (migrate.json) is of this backup's pool and target and took the old
// identity ids, it moves the files of the users who came since.
func (a *App) storageForSync(ctx context.Context, g *globals, backup, target string) (*storageSyncReport, error) {
	root, _, err := a.findProject(g)
	if errors.Is(err, amplifyproj.ErrNoProject) {
		return nil, nil // not in a project: nothing known of its storage
	}
	if err != nil {
		return nil, err
	}
	state := filepath.Join(root, statedir.Name)
	var st migrateState
	if _, err := loadMigrateState(filepath.Join(state, "migrate.json"), &st); err != nil {
		return nil, err
	}
	ss := st.Storage
	if ss != nil && ss.Route == storage.RouteLink {
		return a.linkForSync(ctx, g, root, backup, target)
	}
	if ss == nil || ss.Route != storage.RouteCopy || st.TargetPool != target {
		return nil, nil
	}
	if pool, err := backupPool(backup); err != nil || pool != st.OldPool {
		return nil, err
	}
	if ss.NewIdentityPool == "" {
		sp, err := a.storagePlanOf(g)
		if err != nil {
			return nil, err
		}
		if sp.IdentityPool.ID == "" || sp.IdentityPool.ID == ss.OldIdentityPool {
			return nil, fmt.Errorf("storage: the new identity pool's id is unknown (amplify-meta.json names %q): run `amplify pull` after the push, then sync again", sp.IdentityPool.ID)
		}
		ss.NewIdentityPool = sp.IdentityPool.ID
	}
	rep, err := a.moveFiles(ctx, g, state, backup, target, ss)
	if err != nil {
		return nil, fmt.Errorf("storage: %w", err)
	}
	return &rep, nil
}
