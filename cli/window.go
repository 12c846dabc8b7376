package cli

import (
	"context"
	"errors"
	"fmt"

	"github.com/spf13/pflag"

	"github.com/poolmigrate/poolmigrate/cognito"
	"github.com/poolmigrate/poolmigrate/dynamo"
	"github.com/poolmigrate/poolmigrate/federated"
	"github.com/poolmigrate/poolmigrate/migration"
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
				if err := f.validate(args, a.Getenv); err != nil {
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
	// RefusedClaims are users of the new pool whose claim to an old
	// identity the backup does not confirm: nothing was granted for them.
	RefusedClaims []migration.ClaimRefusal `json:"refusedClaims"`
	// Federated is what sync did for the federated users (created and
	// linked, or adopted from an early sign-in), with those it could not.
	Federated *federated.Result `json:"federated,omitempty"`
	// Storage is what sync did for the users' files (docs/storage.md),
	// when the project's migration keeps them by the copy route.
	Storage *storageSyncReport `json:"storage,omitempty"`
}

// syncFederated brings the backup's federated users over and, when it
// created or adopted any, reads the new pool's migrated users again.
func (a *App) syncFederated(ctx context.Context, g *globals, f *remapFlags, s **remapSetup, users []federated.User, limits cognito.Limits) (*federated.Result, error) {
	tg, err := cognito.ReadTarget(ctx, (*s).clients.cognito, f.target)
	if err != nil {
		return nil, explainAWS(err)
	}
	res, err := federated.Import(ctx, (*s).clients.cognito, tg, users, (*s).migrated, limits)
	if err != nil {
		return &res, explainAWS(err)
	}
	for _, fu := range res.Failed {
		fmt.Fprintf(a.Stderr, "Federated user %s not brought over: %s\n", fu.Username, fu.Reason)
	}
	for _, fu := range res.Unlinked {
		fmt.Fprintf(a.Stderr, "Login of %s not linked: %s\n", fu.Username, fu.Reason)
	}
	if res.Created+res.Adopted+res.Linked > 0 { // a password user named by login is found once linked
		fresh, err := a.prepareRemap(ctx, g, f)
		if err != nil {
			return &res, err
		}
		(*s).close()
		*s = fresh
	}
	return &res, nil
}

func (a *App) runSync(ctx context.Context, g *globals, f *remapFlags) error {
	s, err := a.prepareRemap(ctx, g, f)
	if err != nil {
		return err
	}
	defer func() { s.close() }()
	x, err := cognito.ReadBackupExtras(f.backup)
	if err != nil {
		return err
	}
	limits := cognito.DefaultLimits()
	fedUsers, _, err := federated.Read(f.backup)
	if err != nil {
		return err
	}
	rp, err := cognito.PlanRestore(ctx, s.clients.cognito, f.target, x, s.migrated, limits)
	if err != nil {
		return explainAWS(err)
	}
	sum := SyncSummary{BackupUsers: x.Footer.Users, Migrated: s.migrated.Len(), MembershipsWaiting: len(rp.MembershipsMissed), DisabledWaiting: len(rp.DisabledMissed), DryRun: f.dryRun, RefusedClaims: s.claims.Refused}
	if !f.dryRun {
		pending := 0
		for _, u := range fedUsers {
			if _, ok := s.migrated.Get(u.Old.Sub); !ok && u.External() {
				pending++
			}
		}
		if err := a.confirm(g, fmt.Sprintf("Sync the %d users migrated so far into pool %s (AWS account %s, region %s): %d groups to create, %d memberships, %d users to disable, and their items; %d federated users to create there and link to their provider identity.",
			s.migrated.Len(), f.target, s.clients.account(ctx), s.region, len(rp.GroupsToCreate), len(rp.MembershipsToAdd), len(rp.UsersToDisable), pending)); err != nil {
			return err
		}
		// Federated users never reach the trigger: they are created and
		// linked to their provider identity ahead of their sign-in, or,
		// when they signed in through the provider already, that user is
		// given their old identity; then they are synced like the others.
		if len(fedUsers) > 0 {
			if sum.Federated, err = a.syncFederated(ctx, g, f, &s, fedUsers, limits); err != nil {
				return err
			}
			if rp, err = cognito.PlanRestore(ctx, s.clients.cognito, f.target, x, s.migrated, limits); err != nil {
				return explainAWS(err)
			}
			sum.Migrated, sum.MembershipsWaiting, sum.DisabledWaiting = s.migrated.Len(), len(rp.MembershipsMissed), len(rp.DisabledMissed)
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
	var storageErr error
	if !f.dryRun {
		sum.Storage, storageErr = a.storageForSync(ctx, g, f.backup, f.target)
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
		if sum.Storage != nil {
			printStorageSync(a, *sum.Storage)
		}
	}
	if err := remapOutcome(sum.Remap); err != nil {
		return errors.Join(err, storageErr)
	}
	if storageErr != nil {
		return storageErr
	}
	return claimsOutcome(s.claims)
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
