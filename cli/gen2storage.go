package cli

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cognitoidentity"

	"github.com/poolmigrate/poolmigrate/amplifygen2"
	"github.com/poolmigrate/poolmigrate/gen2patch"
	"github.com/poolmigrate/poolmigrate/statedir"
	"github.com/poolmigrate/poolmigrate/storage"
	"github.com/poolmigrate/poolmigrate/storage/link"
	"github.com/poolmigrate/poolmigrate/storage/s3move"
)

// The Gen 2 storage steps of `migrate` (route link, issue 22): the pool
// swap keeps the identity pool and switches its provider, so each user's
// files stay under the identity id they have; the new login must be
// linked to it. The link-window block (written with the patch block, so
// the same deploy makes it) keeps the old pool a provider beside the new
// one; `storage` links the users who can sign in after import (`sync`
// those who come later) and `link-close` removes the block at the end.

const linkWindowOp = "storage-link-backend"

// gen2LinkWindow decides the storage route and, when users have files
// under their identity ids, writes the link-window block naming the old
// pool and its app client (from amplify_outputs.json, before the swap).
func (a *App) gen2LinkWindow(ctx context.Context, g *globals, root, state string, st *gen2State) error {
	if st.Storage != nil && st.Storage.Route != storage.RouteLink {
		return nil // decided by an earlier run
	}
	pl, _, err := a.loadPlan(g, planOptions{allowUnknownEnv: true})
	if err != nil {
		return err
	}
	sp, err := readStorage(pl, root, nil)
	if err != nil {
		return err
	}
	if sp.Route == storage.RouteNone {
		st.Storage = &storageState{Route: storage.RouteNone}
		fmt.Fprintln(a.Stdout, "Storage: no per-identity path and no identity-id field (route none): no file has to move, no link window is written.")
		return nil
	}
	buckets := projectBuckets(pl, root)
	if len(buckets) == 0 {
		st.Storage = &storageState{Route: storage.RouteNone}
		fmt.Fprintf(a.Stdout, "Storage: no deployed bucket with per-identity paths is named in %s: no file has to move, no link window is written.\n", amplifygen2.OutputsPath)
		return nil
	}
	c, err := a.newAWSClients(ctx, pl.Region, pl.Profile)
	if err != nil {
		return err
	}
	files, err := anyIdentityFiles(ctx, a, &storageSetup{clients: c, buckets: buckets})
	if err != nil {
		return err
	}
	if !files {
		st.Storage = &storageState{Route: storage.RouteNone}
		fmt.Fprintln(a.Stdout, "Storage: no file under any per-identity path of the app's buckets: no file has to move, no link window is written.")
		return nil
	}
	p, err := amplifygen2.Load(statedir.FS(root), root)
	if err != nil {
		return err
	}
	if p.Outputs == nil || p.Outputs.IdentityPoolID == "" || p.Outputs.ClientID == "" {
		return fmt.Errorf("users have files under their identity ids, but %s names no identity pool or app client (auth.identity_pool_id, auth.user_pool_client_id): write it for the deployed old pool (`npx ampx generate outputs`), then run `poolmigrate migrate` again", amplifygen2.OutputsPath)
	}
	if p.Outputs.UserPoolID != st.OldPool {
		return fmt.Errorf("%s names pool %s, not the old pool %s: write the link-window block by hand (`poolmigrate storage link --backend --backup %s --old-client ID`, an app client of %s), then run `poolmigrate migrate` again", amplifygen2.OutputsPath, p.Outputs.UserPoolID, st.OldPool, st.Backup, st.OldPool)
	}
	region := strings.SplitN(st.OldPool, "_", 2)[0]
	if !gen2patch.RegionRE.MatchString(region) {
		region = c.cfg.Region
	}
	cs, err := gen2patch.LinkWindow(root, region, st.OldPool, p.Outputs.ClientID)
	if err != nil {
		return fmt.Errorf("write the link-window block: %w", err)
	}
	if _, err := a.writeChangeSet(cs, state, linkWindowOp, false, gen2patch.BackendPath+" already holds the link-window block."); err != nil {
		return err
	}
	st.Storage = &storageState{Route: storage.RouteLink, OldIdentityPool: p.Outputs.IdentityPoolID}
	st.LinkWindow = true
	fmt.Fprintf(a.Stdout, "Storage (link): wrote the link-window block into %s: after the deploy, identity pool %s lists the old pool %s (client %s) beside the new one; after import each user's new login is linked to the identity id holding their files, and the block is removed at the end.\n",
		gen2patch.BackendPath, p.Outputs.IdentityPoolID, st.OldPool, p.Outputs.ClientID)
	return nil
}

// gen2StorageLink is the storage step after remap (route link).
func (a *App) gen2StorageLink(ctx context.Context, g *globals, st *gen2State) error {
	ss := st.Storage
	switch {
	case ss == nil:
		fmt.Fprintln(a.Stdout, "Storage: this migration was past the patch before poolmigrate wrote the link window: link users with `poolmigrate storage link` (docs/storage.md).")
		return nil
	case ss.Route != storage.RouteLink:
		fmt.Fprintln(a.Stdout, "Storage: no file has to move (route none).")
		return nil
	}
	rep, err := a.linkForMigrate(ctx, g, st.Backup, st.TargetPool, ss.OldIdentityPool)
	if err != nil {
		return err
	}
	printStorageSync(a, rep)
	return nil
}

// linkForMigrate links the users who can sign in to the new pool (or are
// in the link journal); the others wait for a later sync.
func (a *App) linkForMigrate(ctx context.Context, g *globals, backup, target, identityPool string) (storageSyncReport, error) {
	sr := storageSyncReport{Route: storage.RouteLink, Waiting: []string{}}
	f := &storageLinkFlags{backup: backup, target: target, identityPool: identityPool, signedInOnly: true, workers: s3move.DefaultWorkers}
	rep, _, runErr, err := a.linkUsers(ctx, g, f)
	if err != nil {
		var mp *link.MissingProviderError
		if errors.As(err, &mp) {
			return sr, fmt.Errorf("%w (deploy the link-window block that `poolmigrate migrate` wrote into %s with the new pool, then run it again)", mp, gen2patch.BackendPath)
		}
		return sr, err
	}
	sr.Moved = rep.Link.Count(link.Linked) + rep.Link.Count(link.Copied)
	sr.Copied = rep.Link.CopiedObjects
	sr.Waiting = append(sr.Waiting, rep.Waiting...)
	sr.Disabled, sr.Federated = rep.Disabled, rep.Federated
	for _, fl := range rep.Link.Failures {
		fmt.Fprintf(a.Stderr, "  not linked %s: %s\n", fl.User, fl.Error)
	}
	if runErr != nil {
		return sr, fmt.Errorf("%d user(s) not linked: %s (%s; run again: a failed user is asked again)", len(rep.NotLinked), strings.Join(rep.NotLinked, ", "), rep.Link.Path)
	}
	return sr, nil
}

// gen2LinkClose removes the link-window block at the end of the flow and,
// like the deploy step, waits for the deploy that takes it out: until the
// identity pool no longer lists the old pool (asked live on each run),
// the flow does not go on (with the trigger, retire deletes the old pool
// next, which the provider entry would name). Without the trigger, the
// old pool stays: while users wait for their link the block stays too
// (sync links them), and this step says how to close it later.
func (a *App) gen2LinkClose(ctx context.Context, root, state string, g *globals, st *gen2State) (waiting bool, err error) {
	if !st.LinkWindow {
		fmt.Fprintln(a.Stdout, "Storage: no link-window block to remove.")
		return false, nil
	}
	open, err := gen2patch.LinkWindowOpen(root)
	if err != nil {
		return false, err
	}
	ip := st.Storage.OldIdentityPool
	if !open {
		// Removed by an earlier run (or by hand): is it deployed?
		listed, err := a.identityPoolLists(ctx, g, ip, st.OldPool)
		if err != nil {
			return false, err
		}
		if listed {
			fmt.Fprintf(a.Stdout, "Storage: identity pool %s still lists the old user pool %s as a provider: the deploy that removes the link-window block from %s has not run yet (or did not finish; if it did, `aws cognito-identity describe-identity-pool --identity-pool-id %s` shows the entry left, perhaps an app client of a stopped link run). Deploy, then run `poolmigrate migrate` again:\n%s",
				ip, st.OldPool, gen2patch.BackendPath, ip, gen2DeploySteps)
			return true, nil
		}
		fmt.Fprintf(a.Stdout, "Storage: identity pool %s no longer lists the old user pool %s: the link window is closed.\n", ip, st.OldPool)
		return false, nil
	}
	if !st.KeepPasswords {
		rep, _, _, err := a.linkUsers(ctx, g, &storageLinkFlags{backup: st.Backup, target: st.TargetPool, identityPool: ip, signedInOnly: true, dryRun: true})
		if err != nil {
			return false, err
		}
		if len(rep.Waiting) > 0 {
			fmt.Fprintf(a.Stdout, "Storage: %d users wait to be linked (%s): the link-window block stays; each `poolmigrate sync --backup %s --target-pool %s --yes` links those who came; then `poolmigrate storage link --backend --close` removes it (deploy after).\n",
				len(rep.Waiting), shortList(rep.Waiting, 5), st.Backup, st.TargetPool)
			return false, nil
		}
		var who []string
		if len(rep.Disabled) > 0 {
			who = append(who, "disabled: "+shortList(rep.Disabled, 5))
		}
		if len(rep.Federated) > 0 {
			who = append(who, "signing in through a provider only: "+shortList(rep.Federated, 5))
		}
		if len(who) > 0 {
			fmt.Fprintf(a.Stdout, "Storage: %d users are not linked, and the window closes without them (%s): no token can be minted for them, and their files stay under the identity ids their old logins had.\n",
				len(rep.Disabled)+len(rep.Federated), strings.Join(who, "; "))
		}
	}
	cs, err := gen2patch.LinkWindow(root, "", "", "")
	if err != nil {
		return false, err
	}
	if _, err := a.writeChangeSet(cs, state, linkWindowOp, false, gen2patch.BackendPath+" holds no link-window block."); err != nil {
		return false, err
	}
	fmt.Fprintf(a.Stdout, "Storage: removed the link-window block from %s. Now deploy it, then run `poolmigrate migrate` again (it goes on once identity pool %s no longer lists the old user pool %s):\n%s",
		gen2patch.BackendPath, ip, st.OldPool, gen2DeploySteps)
	return true, nil
}

// identityPoolLists asks the identity pool (live) whether it lists user
// pool pool as a provider, with any app client.
func (a *App) identityPoolLists(ctx context.Context, g *globals, identityPool, pool string) (bool, error) {
	region, _, _ := strings.Cut(identityPool, ":")
	if !gen2patch.RegionRE.MatchString(region) {
		region = ""
	}
	c, err := a.newAWSClients(ctx, region, g.profile)
	if err != nil {
		return false, err
	}
	out, err := c.identity().DescribeIdentityPool(ctx, &cognitoidentity.DescribeIdentityPoolInput{IdentityPoolId: aws.String(identityPool)})
	if err != nil {
		return false, fmt.Errorf("read identity pool %s (whether the deploy took the old pool's provider out): %w", identityPool, explainAWS(err))
	}
	for _, p := range out.CognitoIdentityProviders {
		if strings.HasSuffix(aws.ToString(p.ProviderName), "/"+pool) {
			return true, nil
		}
	}
	return false, nil
}

// linkForSync is sync's storage part for a Gen 2 migration (route link).
func (a *App) linkForSync(ctx context.Context, g *globals, root, backup, target string) (*storageSyncReport, error) {
	var st gen2State
	if _, err := loadMigrateState(filepath.Join(root, statedir.Name, "migrate.json"), &st); err != nil {
		return nil, err
	}
	if !st.LinkWindow || st.TargetPool != target || st.Storage == nil {
		return nil, nil
	}
	if pool, err := backupPool(backup); err != nil || pool != st.OldPool {
		return nil, err
	}
	open, err := gen2patch.LinkWindowOpen(root)
	if err != nil || !open {
		return nil, err
	}
	rep, err := a.linkForMigrate(ctx, g, backup, target, st.Storage.OldIdentityPool)
	if err != nil {
		return nil, fmt.Errorf("storage: %w", err)
	}
	return &rep, nil
}
