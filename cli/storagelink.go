package cli

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/pflag"

	"github.com/poolmigrate/poolmigrate/amplifyproj"
	"github.com/poolmigrate/poolmigrate/gen2patch"
	"github.com/poolmigrate/poolmigrate/migration"
	"github.com/poolmigrate/poolmigrate/statedir"
	"github.com/poolmigrate/poolmigrate/storage/identitymap"
	"github.com/poolmigrate/poolmigrate/storage/idfield"
	"github.com/poolmigrate/poolmigrate/storage/link"
	"github.com/poolmigrate/poolmigrate/storage/s3move"
	"github.com/poolmigrate/poolmigrate/tokenmint"
	tmdeploy "github.com/poolmigrate/poolmigrate/tokenmint/deploy"
)

// linkTestHooks, when set (tests only), stand in for the token trio (the
// test bed's password sign-in gives the same ID tokens) and wrap the
// identity client to record its calls.
var linkTestHooks struct {
	minters  func(oldPool, newPool string) (old, new identitymap.Minter, oldClient, newClient string)
	identity func(link.API) link.API
}

type storageLinkFlags struct {
	backup, target, identityPool string
	dryRun                       bool
	// --backend: the Gen 2 link-window block instead of the link.
	backend, close, undo bool
	oldClient            string
	tokenmint            tokenmintFlags
	// buckets and paths: where the files of users who signed in to the
	// new pool before the link are copied.
	buckets, paths []string
	workers        int
	// identityFields (Type.field) are rewritten from the new login's own
	// identity to the old one for the users copied.
	identityFields []string
	// signedInOnly (migrate, sync): link only the users who can sign in
	// to the new pool; the others wait.
	signedInOnly bool
}

func storageLinkCommand(a *App) command {
	return command{
		name:    "link",
		summary: "link each migrated user's new login to the identity id they have (the identity pool survives the move: Gen 2 always); no file moves",
		usage:   "link --backup FILE --target-pool ID --identity-pool ID [--bucket NAME [--path TEMPLATE]...] [--identity-field Type.field]... [--dry-run] [--yes] | link --backend --backup FILE --old-client ID [--close] [--undo] [--dry-run]",
		setup: func(fs *pflag.FlagSet, g *globals) func(context.Context, []string) error {
			f := &storageLinkFlags{}
			fs.StringVar(&f.backup, "backup", "", "backup file of the old pool (its users are the only ones linked)")
			fs.StringVar(&f.target, "target-pool", "", "the new user pool's id")
			fs.StringVar(&f.identityPool, "identity-pool", "", "the identity pool that survives the move; it must list both the old and the new user pool as providers while the link runs")
			fs.StringArrayVar(&f.buckets, "bucket", nil, "a `BUCKET` with per-identity paths: a user who signed in to the new pool before the link has an identity of their new login's own; its files are copied there to the identity the user keeps, and it is deleted (repeatable; default: the project's storage when its files name the buckets; with none, such users are reported as needing a copy)")
			fs.StringArrayVar(&f.paths, "path", nil, "a per-identity path `TEMPLATE` of the --bucket buckets, with {entity_id} for the identity id (repeatable; default private/{entity_id}/ and protected/{entity_id}/)")
			fs.IntVar(&f.workers, "workers", s3move.DefaultWorkers, "copies in flight")
			fs.StringArrayVar(&f.identityFields, "identity-field", nil, "a `FIELD` of the app's data, written Type.field (e.g. Profile.identityId), that stores Cognito identity ids (repeatable; checked against the schema): for each user copied (signed in to the new pool before the link), each value naming the identity of their new login's own is rewritten to the identity they keep, after their files (journaled; storage rollback undoes it); then no value may still name it")
			fs.BoolVar(&f.dryRun, "dry-run", false, "read the claims, the identity pool's providers and the link journal, and show who would be linked; mint no token, ask no identity")
			fs.BoolVar(&f.backend, "backend", false, "Gen 2: instead of linking, write the block into amplify/backend.ts that keeps the old user pool a provider of the identity pool beside the new one (deploy it before the link); with --close remove it (at retire); with --undo undo the last write. Gen 2 migrate writes it with the patch block and removes it in its link-close step")
			fs.StringVar(&f.oldClient, "old-client", "", "with --backend: an app client `ID` of the old pool, listed with it (the link itself lists the tool's own token client for its run)")
			fs.BoolVar(&f.close, "close", false, "with --backend: remove the block (the old pool is no provider any more)")
			fs.BoolVar(&f.undo, "undo", false, "with --backend: restore amplify/backend.ts as it was before the last storage link --backend")
			f.tokenmint.register(fs)
			return func(ctx context.Context, args []string) error {
				if len(args) > 0 {
					return usagef("unexpected arguments %q", strings.Join(args, " "))
				}
				if f.backend {
					return a.runStorageLinkBackend(g, f)
				}
				if err := f.tokenmint.validate(); err != nil {
					return err
				}
				if f.close || f.undo || f.oldClient != "" {
					return usagef("--close, --undo and --old-client go with --backend")
				}
				if len(f.paths) > 0 && len(f.buckets) == 0 {
					return usagef("--path needs --bucket")
				}
				if f.backup == "" || f.target == "" || f.identityPool == "" {
					return usagef("needs --backup FILE, --target-pool ID and --identity-pool ID")
				}
				if err := amplifyproj.CheckPoolID("--target-pool", f.target); err != nil {
					return usagef("%v", err)
				}
				return a.runStorageLink(ctx, g, f)
			}
		},
	}
}

// storageLinkReport is storage link's result (--json).
type storageLinkReport struct {
	Link          link.Result              `json:"link"`
	IdentityPool  string                   `json:"identityPool"`
	Pending       []string                 `json:"pending"`
	NotLinked     []string                 `json:"notLinked"`
	DryRun        bool                     `json:"dryRun"`
	RefusedClaims []migration.ClaimRefusal `json:"refusedClaims"`
	// Buckets are where the files of users who signed in to the new pool
	// before the link are copied; none: they are reported as needing a
	// copy.
	Buckets []string `json:"buckets"`
	// IdentityFields is the rewrite of the --identity-field fields for the
	// users copied (a dry run's count), IdentityFieldChecks the check that
	// no value still names an identity copied from.
	IdentityFields        *idfield.Result `json:"identityFields,omitempty"`
	IdentityFieldsSkipped string          `json:"identityFieldsSkipped,omitempty"`
	IdentityFieldChecks   []idfield.Check `json:"identityFieldChecks,omitempty"`
	// Waiting are the users (old usernames) who cannot sign in to the new
	// pool yet, left for a later run (migrate and sync only).
	Waiting []string `json:"waiting,omitempty"`
	// Disabled are users disabled in the new pool (as they were in the
	// old one): a run after an administrator enables them (in both pools:
	// the link signs in to each) links them. Federated users sign in
	// through a provider only: no token can be minted for them, so no run
	// links them, and their files stay under the identity id their old
	// login had (docs/storage.md). Neither keeps the link window open.
	Disabled  []string `json:"disabled,omitempty"`
	Federated []string `json:"federated,omitempty"`
	// left is what the run left to do although every user is linked: a
	// conflict not resolved, a field value still naming a copied identity.
	left error
}

// setupLink finds the state folder (the project's, else ./.poolmigrate),
// the buckets (--bucket, else the project's storage where its files name
// the buckets; none is no error: nothing is copied) and makes the clients.
func (a *App) setupLink(ctx context.Context, g *globals, f *storageLinkFlags) (*storageSetup, error) {
	s := &storageSetup{}
	region, profile := g.region, g.profile
	pl, root, err := a.loadPlan(g, planOptions{allowUnknownEnv: true})
	switch {
	case err == nil:
		if s.fields, err = identityFields(pl, f.identityFields); err != nil {
			return nil, err
		}
		region, profile = firstNonEmpty(region, pl.Region), firstNonEmpty(profile, pl.Profile)
		if s.stateDir, err = statedir.Ensure(root); err != nil {
			return nil, err
		}
		if len(f.buckets) == 0 {
			s.buckets = projectBuckets(pl, root)
		}
	case errors.Is(err, amplifyproj.ErrNoProject):
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
	}
	if s.clients, err = a.newAWSClients(ctx, region, profile); err != nil {
		return nil, err
	}
	return s, nil
}

// projectBuckets are the project's buckets with per-identity paths whose
// deployed name its files give; any it cannot read are left out.
func projectBuckets(pl *migration.Plan, root string) []storageBucket {
	sp, err := readStorage(pl, root, nil)
	if err != nil {
		return nil
	}
	var out []storageBucket
	for _, b := range sp.Buckets {
		if len(b.IdentityPaths) == 0 || b.BucketName == "" {
			continue
		}
		var paths []string
		for _, ip := range b.IdentityPaths {
			paths = append(paths, ip.Template)
		}
		if ts, err := s3move.ParseTemplates(paths); err == nil {
			out = append(out, storageBucket{Name: b.BucketName, Templates: ts})
		}
	}
	return out
}

func (a *App) runStorageLink(ctx context.Context, g *globals, f *storageLinkFlags) error {
	rep, claims, runErr, err := a.linkUsers(ctx, g, f)
	if err != nil {
		return err
	}
	if g.json {
		if err := writeJSON(a.Stdout, rep); err != nil {
			return err
		}
	} else {
		printStorageLink(a, rep)
		printLinkFields(a.Stdout, rep)
	}
	if runErr != nil {
		return storageIncomplete{fmt.Sprintf("storage link is not complete: %d user(s) not linked: %s (listed above; a user who needs a copy signed in to the new pool before the link and has an identity of their own: run storage link again with --bucket NAME (and --path TEMPLATE) to copy that identity's files to their old identity; a failed user is asked again by the next run)",
			len(rep.NotLinked), strings.Join(rep.NotLinked, ", "))}
	}
	if rep.left != nil && !f.dryRun {
		return storageIncomplete{rep.left.Error()}
	}
	return claimsOutcome(claims)
}

// linkUsers links the migrated users whose claims are checked (with
// f.signedInOnly, only those who can sign in to the new pool or are in
// the journal already; the others are named in Waiting). runErr is a
// *link.IncompleteError when a user is not linked.
func (a *App) linkUsers(ctx context.Context, g *globals, f *storageLinkFlags) (rep storageLinkReport, claims migration.ClaimReport, runErr, err error) {
	s, err := a.setupLink(ctx, g, f)
	if err != nil {
		return rep, claims, nil, err
	}
	s.tokenmint = f.tokenmint
	oldPool, err := backupPool(f.backup)
	if err != nil {
		return rep, claims, nil, err
	}
	users, signIn, claims, err := a.claimedUsersSignIn(ctx, s, &storageFlags{backup: f.backup, target: f.target})
	if err != nil {
		return rep, claims, nil, err
	}
	var api link.API = s.clients.identity()
	if linkTestHooks.identity != nil {
		api = linkTestHooks.identity(api)
	}
	region := s.clients.cfg.Region
	o := link.Options{IdentityPool: f.identityPool, Users: users, Command: "storage link",
		Path: s.linkJournalPath(),
		Old:  identitymap.Side{UserPool: oldPool, Region: region},
		New:  identitymap.Side{UserPool: f.target, Region: region}}
	rep = storageLinkReport{IdentityPool: f.identityPool, DryRun: f.dryRun, Pending: []string{}, NotLinked: []string{}, RefusedClaims: claims.Refused, Buckets: []string{}, Waiting: []string{}}
	if f.signedInOnly {
		// Only users who can sign in to the new pool can be minted a token;
		// the others wait for a later run (sync).
		have, _, err := link.Read(o.Path, o)
		if err != nil {
			return rep, claims, nil, err
		}
		in := map[string]bool{}
		for _, e := range have.Entries {
			in[e.OldSub] = true
		}
		var keep []identitymap.User
		for _, u := range users {
			switch {
			case signIn[u.NewSub] == signInNow || in[u.OldSub]:
				keep = append(keep, u)
			case signIn[u.NewSub] == signInFederated:
				rep.Federated = append(rep.Federated, u.OldUsername)
			case signIn[u.NewSub] == signInDisabled:
				rep.Disabled = append(rep.Disabled, u.OldUsername)
			default:
				rep.Waiting = append(rep.Waiting, u.OldUsername)
			}
		}
		users, o.Users = keep, keep
	}
	if len(s.buckets) > 0 {
		o.Copy = &link.CopyOptions{S3: s.clients.s3(), Dir: filepath.Join(s.stateDir, "storage"), Workers: f.workers, Command: "storage link"}
		for _, b := range s.buckets {
			o.Copy.Buckets = append(o.Copy.Buckets, link.Bucket{Name: b.Name, Templates: b.Templates})
			rep.Buckets = append(rep.Buckets, b.Name)
		}
	}
	// The providers first: nothing is minted or asked for a pool that
	// cannot link.
	if err := link.CheckProviders(ctx, api, f.identityPool, o.Old, o.New); err != nil {
		if errors.As(err, new(*link.MissingProviderError)) {
			return rep, claims, nil, fmt.Errorf("%w. In a Gen 2 project `poolmigrate storage link --backend --backup %s --old-client ID` writes that block", err, f.backup)
		}
		return rep, claims, nil, explainAWS(err)
	}
	cur, pending, err := link.Read(o.Path, o)
	if err != nil {
		return rep, claims, nil, err
	}
	if f.dryRun || len(pending) == 0 {
		// A dry run, or every user is in the journal: no trio, no call.
		rep.Link, rep.Pending = cur, append(rep.Pending, pending...)
		if nl := cur.NotLinked(); !f.dryRun && len(nl) > 0 {
			runErr = &link.IncompleteError{Users: nl}
		}
	} else {
		early := "A user whose new login already has an identity of its own (signed in to the new pool before the link) is reported as needing a copy (pass --bucket to copy)."
		if o.Copy != nil {
			early = fmt.Sprintf("A user whose new login already has an identity of its own (signed in to the new pool before the link) has that login unlinked from it and linked to their old identity, the files of that identity copied to their old identity's folders in bucket(s) %s (never overwriting), and that identity deleted once the copy is verified (its files stay until retire).", strings.Join(rep.Buckets, ", "))
		}
		if err := a.confirm(g, fmt.Sprintf("Link the new logins of %d migrated users (user pool %s) to the identities their old logins have (user pool %s) in identity pool %s, AWS account %s, region %s.\n%s\nA token function (custom-auth trio) with an app client of the tool's own is put on both user pools for the run and removed after it (%s); the identity pool lists those two app clients beside its providers for the run, and not after it.",
			len(users), f.target, oldPool, f.identityPool, s.clients.account(ctx), region, early, tmdeploy.SideEffects)); err != nil {
			return rep, claims, nil, err
		}
		cleanup, clients, err := a.linkMinters(ctx, s, &o)
		if err != nil {
			return rep, claims, nil, err
		}
		defer cleanup()
		// The trio's tokens carry the tool's app clients (aud): Cognito
		// Identity takes them only from clients the pool lists, so the pool
		// lists them for the run (identitymap.Admit, as storage copy does).
		for _, c := range clients {
			undo, err := identitymap.Admit(ctx, s.clients.identity(), f.identityPool, c.Provider, c.ClientID)
			if err != nil {
				return rep, claims, nil, explainAWS(err)
			}
			defer func() {
				if err := undo(context.WithoutCancel(ctx)); err != nil {
					fmt.Fprintf(a.Stderr, "warning: %v: remove that provider entry from identity pool %s by hand (aws cognito-identity update-identity-pool)\n", err, f.identityPool)
				}
			}()
		}
		p := a.newProgress("link", "users", int64(len(users)))
		o.Progress = func(done, total int) { p.set(int64(done), int64(total), "") }
		rep.Link, runErr = link.Run(ctx, api, o)
		p.done(fmt.Sprintf("%d users, %d asked", len(rep.Link.Entries), rep.Link.Asked))
		if runErr != nil && !errors.As(runErr, new(*link.IncompleteError)) {
			return rep, claims, nil, runErr
		}
	}
	if nl := rep.Link.NotLinked(); nl != nil {
		rep.NotLinked = nl
	}
	fieldsErr, err := a.linkFields(ctx, s, &rep, f.dryRun)
	if err != nil {
		return rep, claims, nil, err
	}
	var conflicted []string
	if !f.dryRun {
		if conflicted, err = linkConflicted(ctx, o.Copy, rep.Link); err != nil {
			return rep, claims, nil, err
		}
	}
	rep.left = errors.Join(linkConflictsError(conflicted), fieldsErr)
	return rep, claims, runErr, nil
}

// linkMinters puts the token trio on both user pools for the run; the
// cleanup removes them.
func (a *App) linkMinters(ctx context.Context, s *storageSetup, o *link.Options) (func(), []link.Client, error) {
	if linkTestHooks.minters != nil {
		var oc, nc string
		o.Old.Minter, o.New.Minter, oc, nc = linkTestHooks.minters(o.Old.UserPool, o.New.UserPool)
		return func() {}, []link.Client{{Provider: o.Old.Provider(), ClientID: oc}, {Provider: o.New.Provider(), ClientID: nc}}, nil
	}
	c := s.clients
	account, err := c.accountID(ctx)
	if err != nil {
		return nil, nil, fmt.Errorf("find the AWS account (sts:GetCallerIdentity) for the token function's permission: %w", err)
	}
	pkg, err := a.tokenmintPackage(ctx, s.tokenmint, "arm64")
	if err != nil {
		return nil, nil, err
	}
	apis := tmdeploy.APIs{Cognito: c.cognito, Lambda: c.lambda(), IAM: c.iam(), Logs: c.logs()}
	var removes []func()
	var clients []link.Client
	cleanup := func() {
		for i := len(removes) - 1; i >= 0; i-- {
			removes[i]()
		}
	}
	for _, side := range []*identitymap.Side{&o.Old, &o.New} {
		pool := side.UserPool
		run, err := tokenmint.NewRun(pool, 2*time.Hour)
		if err != nil {
			cleanup()
			return nil, nil, err
		}
		do := tmdeploy.Options{Pool: pool, Region: c.cfg.Region, Account: account, Zip: pkg, Run: run,
			Logf: func(format string, args ...any) { fmt.Fprintf(a.Stderr, format+"\n", args...) }}
		removes = append(removes, func() {
			if _, err := tmdeploy.Remove(context.WithoutCancel(ctx), apis, do); err != nil {
				fmt.Fprintf(a.Stderr, "warning: remove the token function from %s: %v (run `poolmigrate storage status` and remove what it lists)\n", pool, err)
			}
		})
		res, err := tmdeploy.Deploy(ctx, apis, do)
		if err != nil {
			cleanup()
			return nil, nil, fmt.Errorf("put the token function on %s: %w", pool, explainAWS(err))
		}
		if a.trioDeployed != nil {
			if err := a.trioDeployed(ctx, pool, tmdeploy.FunctionName(pool)); err != nil {
				cleanup()
				return nil, nil, err
			}
		}
		side.Minter = identitymap.RunMinter{Run: run, API: c.cognito}
		clients = append(clients, link.Client{Provider: side.Provider(), ClientID: res.ClientID})
	}
	return cleanup, clients, nil
}

func printStorageLink(a *App, r storageLinkReport) {
	w := a.Stdout
	l := r.Link
	if r.DryRun {
		fmt.Fprintf(w, "Dry run: nothing was minted or asked. Identity pool %s lists both user pools.\n", r.IdentityPool)
		fmt.Fprintf(w, "%d users would be linked (not in the journal %s yet)\n", len(r.Pending), l.Path)
	}
	fmt.Fprintf(w, "Link journal %s: %d linked (the new login answers the old identity id), %d had no identity (none was left made), %d need a copy (%d asked by this run)\n",
		l.Path, l.Count(link.Linked), l.Count(link.NoIdentity), l.Count(link.NeedsCopy), l.Asked)
	if n := l.Count(link.Copied); n > 0 || l.Unlinked > 0 {
		fmt.Fprintf(w, "%d copied (signed in to the new pool before the link: linked now, the files of their own identity copied to their old one, that identity deleted; its objects stay until retire); this run: %d unlinked, %d objects copied, %d own identities deleted, %d conflicts\n",
			n, l.Unlinked, l.CopiedObjects, l.OwnDeleted, len(l.Conflicts))
	}
	for _, e := range l.Entries {
		switch e.Outcome {
		case link.NeedsCopy:
			fmt.Fprintf(w, "  needs copy %s: signed in to the new pool before the link; identity %s holds what they saved since, their files are under %s: run again with --bucket to copy them\n", e.OldUsername, e.New, e.Old)
		case link.Copied:
			fmt.Fprintf(w, "  copied %s: from %s to %s\n", e.OldUsername, strings.Join(e.From, ", "), e.Old)
			for _, k := range e.Conflicts {
				fmt.Fprintf(w, "    conflict %s: kept; the file of the same name under the new login's own identity was not copied over it (resolve by hand)\n", k)
			}
		}
	}
	for _, fl := range l.Failures {
		fmt.Fprintf(w, "  not linked %s: %s\n", fl.User, fl.Error)
	}
}

// runStorageLinkBackend writes (or, with --close, removes) the Gen 2
// link-window block, or undoes the last write.
func (a *App) runStorageLinkBackend(g *globals, f *storageLinkFlags) error {
	root, ok := a.gen2Root(g)
	if !ok {
		return usagef("--backend writes a block into a Gen 2 project's amplify/backend.ts and this is not one: for Gen 1 with a kept identity pool, add the old pool's provider with an override of the auth stack's identity pool, or `aws cognito-identity update-identity-pool`, for the window")
	}
	state, err := statedir.Ensure(root)
	if err != nil {
		return err
	}
	const op = "storage-link-backend"
	if f.undo {
		return a.undo(root, state, op)
	}
	oldPool := ""
	if !f.close {
		if f.backup == "" || f.oldClient == "" {
			return usagef("--backend needs --backup FILE (the old pool) and --old-client ID (an app client of the old pool); --close removes the block")
		}
		if oldPool, err = backupPool(f.backup); err != nil {
			return err
		}
	}
	// The provider names the pool's region: its id's prefix in AWS, else
	// --region or the project's.
	region := strings.SplitN(oldPool, "_", 2)[0]
	if oldPool != "" && !gen2patch.RegionRE.MatchString(region) {
		region = g.region
		if region == "" {
			if pl, _, err := a.loadPlan(g, planOptions{allowUnknownEnv: true}); err == nil {
				region = pl.Region
			}
		}
		if region == "" {
			return usagef("the old pool's region is unknown: pass --region NAME")
		}
	}
	cs, err := gen2patch.LinkWindow(root, region, oldPool, f.oldClient)
	if err != nil {
		return err
	}
	already := gen2patch.BackendPath + " already holds the link-window block as asked."
	if f.close {
		already = gen2patch.BackendPath + " holds no link-window block."
	}
	if written, err := a.writeChangeSet(cs, state, op, f.dryRun, already); !written {
		return err
	}
	if f.close {
		fmt.Fprintf(a.Stdout, "Removed the link-window block from %s: deploy, and the identity pool lists the new user pool alone.\n%s\n", gen2patch.BackendPath, gen2DeploySteps)
		return nil
	}
	fmt.Fprintf(a.Stdout, `Wrote the link-window block into %s: the identity pool lists user pool %s (client %s) beside the new one.
Deploy it, then run `+"`poolmigrate storage link`"+`:
%s
`+"`poolmigrate storage link --backend --close`"+` removes it at retire; `+"`--undo`"+` undoes this write.
`, gen2patch.BackendPath, oldPool, f.oldClient, gen2DeploySteps)
	return nil
}
