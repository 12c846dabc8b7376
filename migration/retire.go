package migration

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"time"

	cip "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider"
	ctypes "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider/types"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	ltypes "github.com/aws/aws-sdk-go-v2/service/lambda/types"
	"github.com/aws/smithy-go"
	"golang.org/x/time/rate"

	"github.com/poolmigrate/poolmigrate/cognito"
)

// Retiring the old pool deletes every user it still holds, for good. It
// therefore fails closed: whatever it cannot read, it counts as a reason
// not to delete. Before deleting it proves that no user migration trigger
// still signs users in against the old pool (on either pool, whatever the
// function's name), that poolmigrate's trigger function is gone, and it
// lists the old pool as it is now, so users who signed up or changed after
// the backup are named rather than lost.

// RetireAPI is the part of the Cognito API retiring the old pool uses.
type RetireAPI interface {
	DescribeUserPool(ctx context.Context, in *cip.DescribeUserPoolInput, optFns ...func(*cip.Options)) (*cip.DescribeUserPoolOutput, error)
	ListUsers(ctx context.Context, in *cip.ListUsersInput, optFns ...func(*cip.Options)) (*cip.ListUsersOutput, error)
	DeleteUserPool(ctx context.Context, in *cip.DeleteUserPoolInput, optFns ...func(*cip.Options)) (*cip.DeleteUserPoolOutput, error)
}

// FunctionAPI is the part of the Lambda API retiring uses: whether the
// trigger's function still exists.
type FunctionAPI interface {
	GetFunction(ctx context.Context, in *lambda.GetFunctionInput, optFns ...func(*lambda.Options)) (*lambda.GetFunctionOutput, error)
}

// RetireOptions say which pool to retire and against what.
type RetireOptions struct {
	OldPool, TargetPool string
	// Backup is the verified backup of the old pool the migration used.
	Backup string
	// Function is the user migration trigger's function poolmigrate
	// deployed (`trigger deploy`'s name); it must be gone.
	Function string
	// Migrated are the new pool's users by old sub (custom:prev_sub_id).
	Migrated *cognito.MigratedUsers
	// Limiter paces the listing of the old pool (the UserList quota is
	// shared with the app).
	Limiter *rate.Limiter
	// SpillDir keeps the backup's index out of the heap (see
	// cognito.NewStore); "" keeps it in the heap.
	SpillDir string
	// MaxNamed is how many users each list of the report names (the
	// counts are always exact); 0 means DefaultMaxNamed.
	MaxNamed int
}

// DefaultMaxNamed bounds the users a retire report names per list.
const DefaultMaxNamed = 10000

// User changes since the backup.
const (
	ChangeCreated  = "created"  // not in the backup: signed up (or was created) after it
	ChangeModified = "modified" // in the backup, changed since (UserLastModifiedDate)
)

// RetireUser is a user of the old pool the report names.
type RetireUser struct {
	Username string    `json:"username"`
	Sub      string    `json:"sub"`
	Status   string    `json:"status"`
	Modified time.Time `json:"modified"`
	// Change is ChangeCreated, ChangeModified or "" (as in the backup).
	Change   string `json:"change,omitempty"`
	Migrated bool   `json:"migrated"`
}

// RetireBlocker is a reason retiring must wait, with what to do.
type RetireBlocker struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}

// Blocker codes.
const (
	BlockTriggerAttached    = "TRIGGER_ATTACHED"
	BlockFunctionExists     = "TRIGGER_FUNCTION_EXISTS"
	BlockDeletionProtection = "DELETION_PROTECTION"
)

// RetireReport is what retiring found: whether the old pool may go, and
// who would go with it.
type RetireReport struct {
	OldPool         string    `json:"oldPool"`
	OldPoolName     string    `json:"oldPoolName"`
	TargetPool      string    `json:"targetPool"`
	Backup          string    `json:"backup"`
	BackupStartedAt time.Time `json:"backupStartedAt"`
	BackupUsers     int64     `json:"backupUsers"`
	// Users is how many users the old pool holds now; Migrated how many of
	// them are in the new pool (by custom:prev_sub_id).
	Users    int64 `json:"users"`
	Migrated int64 `json:"migrated"`
	// Unmigrated are the old pool's users missing from the new pool:
	// deleting the pool loses them.
	UnmigratedCount int64        `json:"unmigratedCount"`
	Unmigrated      []RetireUser `json:"unmigrated"`
	// Changed are the users created or changed after the backup, migrated
	// or not (a migrated one keeps what the new pool has).
	ChangedCount int64        `json:"changedCount"`
	Changed      []RetireUser `json:"changed"`
	// Truncated tells that a list names fewer users than its count.
	Truncated bool            `json:"truncated"`
	Blockers  []RetireBlocker `json:"blockers"`
}

// NeedsFreshBackup tells whether some unmigrated user is not in the backup
// as they are now, so only a new backup carries them over.
func (r RetireReport) NeedsFreshBackup() bool {
	for _, u := range r.Unmigrated {
		if u.Change != "" {
			return true
		}
	}
	return false
}

// RetireBlockers reads both pools and the trigger's function and returns
// what stops the old pool from going: a user migration trigger on either
// pool (any function: one attached by hand or by an override signs users
// in against the old pool just the same), poolmigrate's trigger function
// still in place, deletion protection. Anything it cannot read is an
// error, never a pass.
func RetireBlockers(ctx context.Context, api RetireAPI, fn FunctionAPI, o RetireOptions) (old *ctypes.UserPoolType, blockers []RetireBlocker, err error) {
	blockers = []RetireBlocker{}
	read := func(pool, which string) (*ctypes.UserPoolType, error) {
		out, err := api.DescribeUserPool(ctx, &cip.DescribeUserPoolInput{UserPoolId: &pool})
		if err == nil && out.UserPool == nil {
			err = errors.New("the answer has no pool")
		}
		if err != nil {
			return nil, fmt.Errorf("read the %s pool %s (cognito-idp:DescribeUserPool): %w: without it retire cannot tell whether a user migration trigger still signs users in against the old pool, so it deletes nothing; check the credentials' permissions and the region, and run it again", which, pool, err)
		}
		return out.UserPool, nil
	}
	old, err = read(o.OldPool, "old")
	if err != nil {
		return nil, nil, err
	}
	target, err := read(o.TargetPool, "new")
	if err != nil {
		return nil, nil, err
	}
	for _, p := range []struct {
		which, id string
		pool      *ctypes.UserPoolType
	}{{"new", o.TargetPool, target}, {"old", o.OldPool, old}} {
		if lc := p.pool.LambdaConfig; lc != nil && lc.UserMigration != nil && *lc.UserMigration != "" {
			blockers = append(blockers, RetireBlocker{BlockTriggerAttached, fmt.Sprintf(
				"the %s pool %s still has a user migration trigger, %s: while it is attached, users who have not come over yet sign in through it against the old pool. Remove it first: `poolmigrate trigger remove --old-pool %s --target-pool %s` when poolmigrate deployed it, otherwise in the Cognito console (User pool properties, Lambda triggers) or from the auth resource's override, then push",
				p.which, p.id, *lc.UserMigration, o.OldPool, o.TargetPool)})
		}
	}
	if o.Function != "" {
		_, err := fn.GetFunction(ctx, &lambda.GetFunctionInput{FunctionName: &o.Function})
		var nf *ltypes.ResourceNotFoundException
		switch {
		case errors.As(err, &nf):
		case err != nil:
			return nil, nil, fmt.Errorf("read the trigger's function %s (lambda:GetFunction): %w: without it retire cannot tell whether the migration trigger is still deployed, so it deletes nothing; check the credentials' permissions and the region (or run `poolmigrate trigger remove --old-pool %s --target-pool %s`), and run it again", o.Function, err, o.OldPool, o.TargetPool)
		default:
			blockers = append(blockers, RetireBlocker{BlockFunctionExists, fmt.Sprintf(
				"the user migration trigger's function %s still exists: run `poolmigrate trigger remove --old-pool %s --target-pool %s`, which detaches it, deletes it and the old pool's app client",
				o.Function, o.OldPool, o.TargetPool)})
		}
	}
	if old.DeletionProtection == ctypes.DeletionProtectionTypeActive {
		blockers = append(blockers, deletionProtected(o.OldPool))
	}
	return old, blockers, nil
}

func deletionProtected(pool string) RetireBlocker {
	return RetireBlocker{BlockDeletionProtection, fmt.Sprintf(
		"the old pool %s has deletion protection on, so AWS refuses to delete it: turn it off in the Cognito console (User pool properties → Deletion protection → Deactivate), then run this again. (`aws cognito-idp update-user-pool --deletion-protection INACTIVE` also does, but resets every setting it is not given.)", pool)}
}

// PlanRetire decides whether the old pool may be deleted. It checks the
// blockers, reads the backup (proving it whole, and of the old pool), and
// lists the old pool as it is now: every user must be in the new pool, or
// is named as one the deletion would lose; users created or changed since
// the backup are named too.
func PlanRetire(ctx context.Context, api RetireAPI, fn FunctionAPI, o RetireOptions) (RetireReport, error) {
	if o.MaxNamed <= 0 {
		o.MaxNamed = DefaultMaxNamed
	}
	rep := RetireReport{OldPool: o.OldPool, TargetPool: o.TargetPool, Backup: o.Backup, Unmigrated: []RetireUser{}, Changed: []RetireUser{}}
	idx, hdr, err := readBackupIndex(o.Backup, o.SpillDir)
	if err != nil {
		return rep, fmt.Errorf("the backup %s does not verify (%w): the old pool is deleted only with a whole backup of it", o.Backup, err)
	}
	defer idx.close()
	if hdr.PoolID != o.OldPool {
		return rep, fmt.Errorf("the backup %s is of pool %s, not of %s: pass the backup of the pool to retire", o.Backup, hdr.PoolID, o.OldPool)
	}
	rep.BackupStartedAt, rep.BackupUsers = hdr.StartedAt, idx.users
	old, blockers, err := RetireBlockers(ctx, api, fn, o)
	if err != nil {
		return rep, err
	}
	rep.OldPoolName, rep.Blockers = deref(old.Name), blockers
	name := func(list *[]RetireUser, u RetireUser) {
		if len(*list) < o.MaxNamed {
			*list = append(*list, u)
		} else {
			rep.Truncated = true
		}
	}
	err = cognito.EachUser(ctx, api, o.OldPool, o.Limiter, func(u cognito.User) error {
		rep.Users++
		ru := RetireUser{Username: u.Username, Sub: u.Sub, Status: u.Status, Modified: u.Modified}
		_, ru.Migrated = o.Migrated.Index(u.Sub)
		switch backedUp, ok := idx.modified(u.Sub); {
		case !ok:
			ru.Change = ChangeCreated
		case u.Modified.After(backedUp):
			// A date the backup lacks counts as changed: it cannot tell.
			ru.Change = ChangeModified
		}
		if ru.Migrated {
			rep.Migrated++
		} else {
			rep.UnmigratedCount++
			name(&rep.Unmigrated, ru)
		}
		if ru.Change != "" {
			rep.ChangedCount++
			name(&rep.Changed, ru)
		}
		return nil
	})
	if err != nil {
		return rep, fmt.Errorf("list the old pool %s as it is now: %w: without it retire cannot tell who the deletion would lose, so it deletes nothing; run it again (cognito-idp:ListUsers is needed)", o.OldPool, err)
	}
	for _, l := range [][]RetireUser{rep.Unmigrated, rep.Changed} {
		sort.Slice(l, func(i, j int) bool { return l[i].Username < l[j].Username })
	}
	return rep, nil
}

// RetireOldPool deletes the old pool. It checks the blockers once more,
// right before DeleteUserPool (a push or a colleague may have attached a
// trigger while the operator was typing), and deletes nothing when any
// is left or cannot be read.
func RetireOldPool(ctx context.Context, api RetireAPI, fn FunctionAPI, o RetireOptions) error {
	_, blockers, err := RetireBlockers(ctx, api, fn, o)
	if err != nil {
		return err
	}
	if len(blockers) > 0 {
		return &RetireBlockedError{Blockers: blockers}
	}
	if _, err := api.DeleteUserPool(ctx, &cip.DeleteUserPoolInput{UserPoolId: &o.OldPool}); err != nil {
		var ae smithy.APIError
		if errors.As(err, &ae) && ae.ErrorCode() == "InvalidParameterException" && containsFold(ae.ErrorMessage(), "deletion protection") {
			return &RetireBlockedError{Blockers: []RetireBlocker{deletionProtected(o.OldPool)}}
		}
		return fmt.Errorf("delete user pool %s: %w", o.OldPool, err)
	}
	return nil
}

// RetireBlockedError says why the old pool was not deleted.
type RetireBlockedError struct{ Blockers []RetireBlocker }

func (e *RetireBlockedError) Error() string {
	msg := "the old pool was not deleted:"
	for _, b := range e.Blockers {
		msg += "\n  - " + b.Message
	}
	return msg
}

// ExitCode makes a refusal exit 1.
func (e *RetireBlockedError) ExitCode() int { return 1 }
