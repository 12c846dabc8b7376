package cognito

import (
	"context"
	"fmt"
	"sort"

	cip "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider"
	"golang.org/x/time/rate"
)

// RestoreAPI is the part of the Cognito API that restores what the import
// does not carry: groups, memberships and disabled state.
type RestoreAPI interface {
	ListUsers(ctx context.Context, in *cip.ListUsersInput, optFns ...func(*cip.Options)) (*cip.ListUsersOutput, error)
	ListGroups(ctx context.Context, in *cip.ListGroupsInput, optFns ...func(*cip.Options)) (*cip.ListGroupsOutput, error)
	ListUsersInGroup(ctx context.Context, in *cip.ListUsersInGroupInput, optFns ...func(*cip.Options)) (*cip.ListUsersInGroupOutput, error)
	CreateGroup(ctx context.Context, in *cip.CreateGroupInput, optFns ...func(*cip.Options)) (*cip.CreateGroupOutput, error)
	AdminAddUserToGroup(ctx context.Context, in *cip.AdminAddUserToGroupInput, optFns ...func(*cip.Options)) (*cip.AdminAddUserToGroupOutput, error)
	AdminDisableUser(ctx context.Context, in *cip.AdminDisableUserInput, optFns ...func(*cip.Options)) (*cip.AdminDisableUserOutput, error)
}

// Limits pace each kind of call below its Cognito quota (per account and
// Region, shared with the app's own traffic).
type Limits struct {
	UserList     *rate.Limiter // ListUsers, ListUsersInGroup: 30/s
	UserCreation *rate.Limiter // AdminCreateUser: 50/s
	UserUpdate   *rate.Limiter // AdminSetUserPassword, AdminDisableUser: 25/s
	Membership   *rate.Limiter // AdminAddUserToGroup: 25/s
	GroupWrite   *rate.Limiter // CreateGroup: 5/s per pool
}

// DefaultLimits stay at about a third to a half of each quota.
func DefaultLimits() Limits {
	return Limits{
		UserList:     rate.NewLimiter(10, 1),
		UserCreation: rate.NewLimiter(20, 1),
		UserUpdate:   rate.NewLimiter(10, 1),
		Membership:   rate.NewLimiter(10, 1),
		GroupWrite:   rate.NewLimiter(2, 1),
	}
}

// TargetUser is a user of the new pool that came from the old one.
type TargetUser struct {
	Username string
	Sub      string
	Enabled  bool
	Status   string
}

// BackupExtras are the parts of a backup the import job does not carry.
type BackupExtras struct {
	Header      BackupHeader
	Footer      BackupFooter
	Groups      []Group
	Memberships []Membership
	Disabled    map[string]string // old sub -> old username
}

// ReadBackupExtras reads groups, memberships and disabled users.
func ReadBackupExtras(path string) (BackupExtras, error) {
	x := BackupExtras{Disabled: map[string]string{}}
	var err error
	x.Header, x.Footer, err = ReadBackupFile(path, BackupVisitor{
		Group:  func(g Group) error { x.Groups = append(x.Groups, g); return nil },
		Member: func(m Membership) error { x.Memberships = append(x.Memberships, m); return nil },
		User: func(u User) error {
			if !u.Enabled {
				x.Disabled[u.Sub] = u.Username
			}
			return nil
		},
	})
	return x, err
}

// RestorePlan is what Restore does (or, in a dry run, would do).
type RestorePlan struct {
	GroupsToCreate    []Group
	GroupsExisting    []string
	MembershipsToAdd  []Membership // Username is the new username
	MembershipsThere  int
	MembershipsMissed []Membership // the user is not in the target
	UsersToDisable    []TargetUser
	DisabledThere     int
	DisabledMissed    []string // old usernames not in the target
}

// PlanRestore compares the backup's groups, memberships and disabled users
// with the target pool.
func PlanRestore(ctx context.Context, api RestoreAPI, pool string, x BackupExtras, migrated *MigratedUsers, l Limits) (RestorePlan, error) {
	var p RestorePlan
	existing := map[string]bool{}
	gin := &cip.ListGroupsInput{UserPoolId: &pool, Limit: ptr(int32(pageSize))}
	for {
		out, err := api.ListGroups(ctx, gin)
		if err != nil {
			return p, fmt.Errorf("list groups of pool %s: %w", pool, err)
		}
		for _, g := range out.Groups {
			existing[deref(g.GroupName)] = true
		}
		if out.NextToken == nil || *out.NextToken == "" {
			break
		}
		gin.NextToken = out.NextToken
	}
	for _, g := range x.Groups {
		if existing[g.Name] {
			p.GroupsExisting = append(p.GroupsExisting, g.Name)
		} else {
			p.GroupsToCreate = append(p.GroupsToCreate, g)
		}
	}
	members := map[string]map[string]bool{} // group -> new username
	for _, g := range x.Groups {
		members[g.Name] = map[string]bool{}
		if !existing[g.Name] {
			continue
		}
		in := &cip.ListUsersInGroupInput{UserPoolId: &pool, GroupName: ptr(g.Name), Limit: ptr(int32(pageSize))}
		for {
			if err := l.UserList.Wait(ctx); err != nil {
				return p, err
			}
			out, err := api.ListUsersInGroup(ctx, in)
			if err != nil {
				return p, fmt.Errorf("list members of group %s: %w", g.Name, err)
			}
			for _, u := range out.Users {
				members[g.Name][deref(u.Username)] = true
			}
			if out.NextToken == nil || *out.NextToken == "" {
				break
			}
			in.NextToken = out.NextToken
		}
	}
	for _, m := range x.Memberships {
		tu, ok := migrated.Get(m.Sub)
		switch {
		case !ok:
			p.MembershipsMissed = append(p.MembershipsMissed, m)
		case members[m.Group][tu.Username]:
			p.MembershipsThere++
		default:
			p.MembershipsToAdd = append(p.MembershipsToAdd, Membership{Group: m.Group, Username: tu.Username, Sub: tu.Sub})
		}
	}
	subs := make([]string, 0, len(x.Disabled))
	for s := range x.Disabled {
		subs = append(subs, s)
	}
	sort.Strings(subs)
	for _, s := range subs {
		tu, ok := migrated.Get(s)
		switch {
		case !ok:
			p.DisabledMissed = append(p.DisabledMissed, x.Disabled[s])
		case !tu.Enabled:
			p.DisabledThere++
		default:
			p.UsersToDisable = append(p.UsersToDisable, tu)
		}
	}
	return p, nil
}

// RestoreResult counts what Restore did.
type RestoreResult struct {
	GroupsCreated    int
	MembershipsAdded int
	UsersDisabled    int
}

// Restore creates the missing groups (an existing group is left as it is),
// adds the missing memberships and disables the users that were disabled,
// each paced by its own quota.
func Restore(ctx context.Context, api RestoreAPI, pool string, p RestorePlan, l Limits) (RestoreResult, error) {
	var r RestoreResult
	for _, g := range p.GroupsToCreate {
		if err := l.GroupWrite.Wait(ctx); err != nil {
			return r, err
		}
		in := &cip.CreateGroupInput{UserPoolId: &pool, GroupName: ptr(g.Name), Precedence: g.Precedence}
		if g.Description != "" {
			in.Description = ptr(g.Description)
		}
		if g.RoleArn != "" {
			in.RoleArn = ptr(g.RoleArn)
		}
		_, err := api.CreateGroup(ctx, in)
		switch {
		case apiCode(err) == "GroupExistsException":
		case err != nil:
			return r, fmt.Errorf("create group %s: %w", g.Name, err)
		default:
			r.GroupsCreated++
		}
	}
	for _, m := range p.MembershipsToAdd {
		if err := l.Membership.Wait(ctx); err != nil {
			return r, err
		}
		if _, err := api.AdminAddUserToGroup(ctx, &cip.AdminAddUserToGroupInput{UserPoolId: &pool, GroupName: ptr(m.Group), Username: ptr(m.Username)}); err != nil {
			return r, fmt.Errorf("add %s to group %s: %w", m.Username, m.Group, err)
		}
		r.MembershipsAdded++
	}
	for _, u := range p.UsersToDisable {
		if err := l.UserUpdate.Wait(ctx); err != nil {
			return r, err
		}
		if _, err := api.AdminDisableUser(ctx, &cip.AdminDisableUserInput{UserPoolId: &pool, Username: ptr(u.Username)}); err != nil {
			return r, fmt.Errorf("disable user %s: %w", u.Username, err)
		}
		r.UsersDisabled++
	}
	return r, nil
}
