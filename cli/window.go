package cli

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"strings"

	cip "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider"
	ctypes "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider/types"
	"github.com/spf13/pflag"

	"github.com/poolmigrate/poolmigrate/cognito"
	"github.com/poolmigrate/poolmigrate/dynamo"
	"github.com/poolmigrate/poolmigrate/migration"
	"github.com/poolmigrate/poolmigrate/trigger/deploy"
)

// The commands of the migration window, while the user migration trigger
// brings users over as they sign in: sync catches their groups,
// memberships, disabled state and items up; verify --progress says how far
// it is; retire-old-pool ends it.

func syncCommand(a *App) command {
	return command{
		name:    "sync",
		summary: "for the users migrated so far (by the trigger or an import): restore their groups, memberships and disabled state and remap their items; idempotent, safe from cron",
		usage:   "sync --backup FILE --target-pool ID [--field Type.field:claim ...] [--dry-run] [--yes]",
		setup: func(fs *pflag.FlagSet, g *globals) func(context.Context, []string) error {
			f := &remapFlags{}
			f.register(fs)
			fs.IntVar(&f.workers, "workers", 32, "write calls in flight, shared by the tables")
			fs.IntVar(&f.batch, "batch", dynamo.BatchSize, "in-place updates per BatchExecuteStatement call")
			fs.BoolVar(&f.dryRun, "dry-run", false, "say what would change; write nothing")
			return func(ctx context.Context, args []string) error {
				if err := f.validate(args); err != nil {
					return err
				}
				return a.runSync(ctx, g, f)
			}
		},
	}
}

// SyncSummary is what sync did.
type SyncSummary struct {
	BackupUsers        int64                  `json:"backupUsers"`
	Migrated           int                    `json:"migrated"`
	GroupsCreated      int                    `json:"groupsCreated"`
	MembershipsAdded   int                    `json:"membershipsAdded"`
	UsersDisabled      int                    `json:"usersDisabled"`
	MembershipsWaiting int                    `json:"membershipsWaiting"` // of users not migrated yet
	DisabledWaiting    int                    `json:"disabledWaiting"`
	Remap              migration.RemapSummary `json:"remap"`
	DryRun             bool                   `json:"dryRun"`
}

func (a *App) runSync(ctx context.Context, g *globals, f *remapFlags) error {
	s, err := a.prepareRemap(ctx, g, f)
	if err != nil {
		return err
	}
	defer s.close()
	x, err := cognito.ReadBackupExtras(f.backup)
	if err != nil {
		return err
	}
	limits := cognito.DefaultLimits()
	rp, err := cognito.PlanRestore(ctx, s.clients.cognito, f.target, x, s.migrated, limits)
	if err != nil {
		return explainAWS(err)
	}
	sum := SyncSummary{BackupUsers: x.Footer.Users, Migrated: s.migrated.Len(), MembershipsWaiting: len(rp.MembershipsMissed), DisabledWaiting: len(rp.DisabledMissed), DryRun: f.dryRun}
	if !f.dryRun {
		if err := a.confirm(g, fmt.Sprintf("Sync the %d users migrated so far into pool %s (AWS account %s, region %s): %d groups to create, %d memberships, %d users to disable, and their items.",
			s.migrated.Len(), f.target, s.clients.account(ctx), s.region, len(rp.GroupsToCreate), len(rp.MembershipsToAdd), len(rp.UsersToDisable))); err != nil {
			return err
		}
		rr, err := cognito.Restore(ctx, s.clients.cognito, f.target, rp, limits)
		sum.GroupsCreated, sum.MembershipsAdded, sum.UsersDisabled = rr.GroupsCreated, rr.MembershipsAdded, rr.UsersDisabled
		if err != nil {
			return explainAWS(err)
		}
	} else {
		sum.GroupsCreated, sum.MembershipsAdded, sum.UsersDisabled = len(rp.GroupsToCreate), len(rp.MembershipsToAdd), len(rp.UsersToDisable)
	}
	if sum.Remap, err = a.remapWith(ctx, g, f, s, true); err != nil {
		return err
	}
	if g.json {
		if err := writeJSON(a.Stdout, sum); err != nil {
			return err
		}
	} else {
		verb := "Synced"
		if f.dryRun {
			verb = "Dry run, would sync"
		}
		fmt.Fprintf(a.Stdout, "%s %d of %d users: %d groups created, %d memberships added, %d users disabled (waiting for users not migrated yet: %d memberships, %d disabled states).\n",
			verb, sum.Migrated, sum.BackupUsers, sum.GroupsCreated, sum.MembershipsAdded, sum.UsersDisabled, sum.MembershipsWaiting, sum.DisabledWaiting)
		printRemap(a, sum.Remap)
	}
	return remapOutcome(sum.Remap)
}

// Progress is verify --progress's report.
type Progress struct {
	BackupUsers int64 `json:"backupUsers"`
	Migrated    int   `json:"migrated"`
	Remaining   int   `json:"remaining"`
	// OldValues are items that still name a migrated user by the old
	// identity (sync fixes them); WaitingValues name users not migrated
	// yet (they keep the old values until the user is).
	OldValues     int `json:"oldValues"`
	WaitingValues int `json:"waitingValues"`
	Tables        []struct {
		Table         string `json:"table"`
		OldValues     int    `json:"oldValues"`
		WaitingValues int    `json:"waitingValues"`
	} `json:"tables"`
}

func (a *App) runVerifyProgress(ctx context.Context, g *globals, f *remapFlags, s *remapSetup, x cognito.BackupExtras, rep migration.VerifyReport) error {
	p := Progress{BackupUsers: x.Footer.Users, Migrated: s.subMap.Mapped, Remaining: len(s.subMap.Unmatched)}
	for _, t := range rep.Tables {
		p.OldValues += len(t.OldValues)
		p.WaitingValues += len(t.Orphaned)
		p.Tables = append(p.Tables, struct {
			Table         string `json:"table"`
			OldValues     int    `json:"oldValues"`
			WaitingValues int    `json:"waitingValues"`
		}{t.Table, len(t.OldValues), len(t.Orphaned)})
	}
	if g.json {
		return writeJSON(a.Stdout, p)
	}
	pct := 0
	if p.BackupUsers > 0 {
		pct = int(int64(p.Migrated) * 100 / p.BackupUsers)
	}
	fmt.Fprintf(a.Stdout, "%d of %d users migrated (%d%%), %d not yet.\n", p.Migrated, p.BackupUsers, pct, p.Remaining)
	fmt.Fprintf(a.Stdout, "%d items still name migrated users by their old identity (`poolmigrate sync` fixes them); %d items belong to users not migrated yet.\n", p.OldValues, p.WaitingValues)
	return nil
}

func retireCommand(a *App) command {
	return command{
		name:    "retire-old-pool",
		summary: "delete the old user pool kept for the migration window, once the migration is verified and the trigger removed (asks for the pool id typed)",
		usage:   "retire-old-pool --old-pool ID --backup FILE --target-pool ID [--confirm-pool-id ID]",
		setup: func(fs *pflag.FlagSet, g *globals) func(context.Context, []string) error {
			f := &remapFlags{}
			f.register(fs)
			old := fs.String("old-pool", "", "the old user pool to delete")
			typed := fs.String("confirm-pool-id", "", "the old pool's id, typed, for runs without a terminal")
			return func(ctx context.Context, args []string) error {
				if err := f.validate(args); err != nil {
					return err
				}
				if *old == "" {
					return usagef("retire-old-pool needs --old-pool ID")
				}
				return a.runRetire(ctx, g, f, *old, *typed)
			}
		},
	}
}

func (a *App) runRetire(ctx context.Context, g *globals, f *remapFlags, oldPool, typed string) error {
	hdr, _, err := cognito.VerifyBackupFile(f.backup)
	if err != nil {
		return fmt.Errorf("the backup %s does not verify (%w): the old pool is deleted only with a whole backup of it", f.backup, err)
	}
	if hdr.PoolID != oldPool {
		return fmt.Errorf("the backup %s is of pool %s, not of %s", f.backup, hdr.PoolID, oldPool)
	}
	s, err := a.prepareRemap(ctx, g, f)
	if err != nil {
		return err
	}
	defer s.close()
	_, rep, err := a.verifyWith(ctx, f, s)
	if err != nil {
		return err
	}
	if !rep.OK {
		printVerify(a, rep)
		return errors.New("verify is not clean: finish the migration (import, sync or remap) before deleting the old pool")
	}
	account, err := s.clients.accountID(ctx)
	if err != nil {
		return explainAWS(err)
	}
	o := deploy.Options{OldPool: oldPool, TargetPool: f.target, Region: s.region, Account: account}
	if st, err := deploy.Check(ctx, s.clients.cognito, s.clients.lambda(), o); err == nil && st.Attached {
		return fmt.Errorf("the new pool %s still migrates users through %s, which signs them in against %s: run `poolmigrate trigger remove` first", f.target, st.FunctionArn, oldPool)
	}
	pool, err := s.clients.cognito.DescribeUserPool(ctx, &cip.DescribeUserPoolInput{UserPoolId: &oldPool})
	if err != nil {
		return explainAWS(err)
	}
	if pool.UserPool.DeletionProtection == ctypes.DeletionProtectionTypeActive {
		return fmt.Errorf("pool %s has deletion protection on: turn it off in the Cognito console (or UpdateUserPool DeletionProtection INACTIVE) and run this again", oldPool)
	}
	if len(rep.UnmatchedUsers) > 0 {
		fmt.Fprintf(a.Stdout, "Note: %d users of the backup never came to the new pool (%s); after this they exist only in the backup %s.\n", len(rep.UnmatchedUsers), sampleNames(rep.UnmatchedUsers, 5), f.backup)
	}
	fmt.Fprintf(a.Stdout, "Delete user pool %s (%s, %d users) in AWS account %s, region %s? This cannot be undone.\n", oldPool, deref(pool.UserPool.Name), pool.UserPool.EstimatedNumberOfUsers, account, s.region)
	if typed == "" {
		fmt.Fprint(a.Stdout, "Type the pool id to delete it: ")
		line, _ := bufio.NewReader(a.Stdin).ReadString('\n')
		typed = strings.TrimSpace(line)
	}
	if typed != oldPool {
		return errors.New("the id typed is not the pool's: nothing was deleted")
	}
	if _, err := s.clients.cognito.DeleteUserPool(ctx, &cip.DeleteUserPoolInput{UserPoolId: &oldPool}); err != nil {
		return explainAWS(err)
	}
	fmt.Fprintf(a.Stdout, "Deleted the old user pool %s. Its users remain in the backup %s.\n", oldPool, f.backup)
	return nil
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}
