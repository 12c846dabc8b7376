package cognito

import (
	"context"
	"fmt"
	"sort"
	"strconv"
	"testing"

	cip "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider"
	"github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider/types"
	"github.com/aws/smithy-go"
	"golang.org/x/time/rate"
)

// memPool is a target pool in memory for PlanRestore and Restore: groups,
// members and disabled users, listed in pages of at most 7 with every
// other page short (fewer than asked, with a token after it), as AWS's
// may be.
type memPool struct {
	groups   map[string]types.GroupType
	members  map[string]map[string]bool // group -> username
	disabled map[string]bool
	calls    map[string]int
}

func newMemPool() *memPool {
	return &memPool{groups: map[string]types.GroupType{}, members: map[string]map[string]bool{}, disabled: map[string]bool{}, calls: map[string]int{}}
}

// page cuts names (sorted) after the token: 7 on even pages, 3 on odd.
func page(names []string, token *string) (out []string, next *string) {
	start, n := 0, 0
	if token != nil {
		fmt.Sscanf(*token, "%d/%d", &start, &n)
	}
	size := 7
	if n%2 == 1 {
		size = 3
	}
	end := min(start+size, len(names))
	if end < len(names) {
		next = ptr(fmt.Sprintf("%d/%d", end, n+1))
	}
	return names[start:end], next
}

func (p *memPool) ListUsers(context.Context, *cip.ListUsersInput, ...func(*cip.Options)) (*cip.ListUsersOutput, error) {
	panic("PlanRestore and Restore have the migrated users: they list none")
}

func (p *memPool) ListGroups(_ context.Context, in *cip.ListGroupsInput, _ ...func(*cip.Options)) (*cip.ListGroupsOutput, error) {
	p.calls["ListGroups"]++
	var names []string
	for n := range p.groups {
		names = append(names, n)
	}
	sort.Strings(names)
	cut, next := page(names, in.NextToken)
	out := &cip.ListGroupsOutput{NextToken: next}
	for _, n := range cut {
		out.Groups = append(out.Groups, p.groups[n])
	}
	return out, nil
}

func (p *memPool) ListUsersInGroup(_ context.Context, in *cip.ListUsersInGroupInput, _ ...func(*cip.Options)) (*cip.ListUsersInGroupOutput, error) {
	p.calls["ListUsersInGroup"]++
	var names []string
	for n := range p.members[*in.GroupName] {
		names = append(names, n)
	}
	sort.Strings(names)
	cut, next := page(names, in.NextToken)
	out := &cip.ListUsersInGroupOutput{NextToken: next}
	for _, n := range cut {
		out.Users = append(out.Users, types.UserType{Username: ptr(n)})
	}
	return out, nil
}

func (p *memPool) CreateGroup(_ context.Context, in *cip.CreateGroupInput, _ ...func(*cip.Options)) (*cip.CreateGroupOutput, error) {
	p.calls["CreateGroup"]++
	if _, ok := p.groups[*in.GroupName]; ok {
		return nil, &smithy.GenericAPIError{Code: "GroupExistsException", Message: "exists"}
	}
	p.groups[*in.GroupName] = types.GroupType{GroupName: in.GroupName, Description: in.Description, Precedence: in.Precedence, RoleArn: in.RoleArn}
	p.members[*in.GroupName] = map[string]bool{}
	return &cip.CreateGroupOutput{}, nil
}

func (p *memPool) AdminAddUserToGroup(_ context.Context, in *cip.AdminAddUserToGroupInput, _ ...func(*cip.Options)) (*cip.AdminAddUserToGroupOutput, error) {
	p.calls["AdminAddUserToGroup"]++
	if _, ok := p.groups[*in.GroupName]; !ok {
		return nil, &smithy.GenericAPIError{Code: "ResourceNotFoundException", Message: "Group not found."}
	}
	p.members[*in.GroupName][*in.Username] = true
	return &cip.AdminAddUserToGroupOutput{}, nil
}

func (p *memPool) AdminDisableUser(_ context.Context, in *cip.AdminDisableUserInput, _ ...func(*cip.Options)) (*cip.AdminDisableUserOutput, error) {
	p.calls["AdminDisableUser"]++
	p.disabled[*in.Username] = true
	return &cip.AdminDisableUserOutput{}, nil
}

func unlimited() Limits {
	inf := func() *rate.Limiter { return rate.NewLimiter(rate.Inf, 1) }
	return Limits{UserList: inf(), UserCreation: inf(), UserUpdate: inf(), Membership: inf(), GroupWrite: inf()}
}

// Restore brings over what the import does not: it creates the groups the
// target lacks (leaving one that is there as it is), adds every missing
// membership, including those of members listed on a group's last page,
// and disables the users who were disabled; users who are not in the
// target are reported, not guessed. A second run finds nothing to do.
func TestRestoreBringsGroupsMembersAndDisabledUsers(t *testing.T) {
	ctx := context.Background()
	pool := newMemPool()
	// The target already holds "readers", with members u00…u19 of the 30
	// the backup names (the last page of its listing holds u16…u19).
	pool.groups["readers"] = types.GroupType{GroupName: ptr("readers"), Description: ptr("set by hand")}
	pool.members["readers"] = map[string]bool{}
	migrated := map[string]TargetUser{}
	var x BackupExtras
	x.Disabled = map[string]string{}
	sub := func(i int) string { return fmt.Sprintf("0000%04d-0000-4000-8000-000000000000", i) }
	for i := 0; i < 40; i++ {
		if i != 39 { // user 39 never reached the target
			migrated[sub(i)] = TargetUser{Username: fmt.Sprintf("u%02d", i), Sub: "new-" + strconv.Itoa(i), Enabled: true}
		}
		if i < 30 {
			x.Memberships = append(x.Memberships, Membership{Group: "readers", Username: fmt.Sprintf("old%02d", i), Sub: sub(i)})
		}
		if i < 20 {
			pool.members["readers"][fmt.Sprintf("u%02d", i)] = true
		}
		if i%10 == 5 {
			x.Memberships = append(x.Memberships, Membership{Group: "admins", Username: fmt.Sprintf("old%02d", i), Sub: sub(i)})
		}
	}
	x.Memberships = append(x.Memberships, Membership{Group: "admins", Username: "old39", Sub: sub(39)})
	x.Groups = []Group{{Name: "admins", Description: "the admins", Precedence: ptr(int32(1)), RoleArn: "arn:aws:iam::123456789012:role/admins"}, {Name: "readers", Description: "from the backup"}}
	x.Disabled[sub(7)] = "old07"
	x.Disabled[sub(39)] = "old39"
	m := MigratedFromMap(migrated)
	defer m.Close()

	plan, err := PlanRestore(ctx, pool, "p", x, m, unlimited())
	if err != nil {
		t.Fatal(err)
	}
	if len(plan.GroupsToCreate) != 1 || plan.GroupsToCreate[0].Name != "admins" || fmt.Sprint(plan.GroupsExisting) != "[readers]" {
		t.Errorf("groups: create %+v, existing %v", plan.GroupsToCreate, plan.GroupsExisting)
	}
	if plan.MembershipsThere != 20 || len(plan.MembershipsToAdd) != 14 || len(plan.MembershipsMissed) != 1 || plan.MembershipsMissed[0].Username != "old39" {
		t.Errorf("memberships: there %d, to add %d, missed %+v", plan.MembershipsThere, len(plan.MembershipsToAdd), plan.MembershipsMissed)
	}
	if len(plan.UsersToDisable) != 1 || plan.UsersToDisable[0].Username != "u07" || fmt.Sprint(plan.DisabledMissed) != "[old39]" {
		t.Errorf("disable: %+v, missed %v", plan.UsersToDisable, plan.DisabledMissed)
	}
	res, err := Restore(ctx, pool, "p", plan, unlimited())
	if err != nil {
		t.Fatal(err)
	}
	if res != (RestoreResult{GroupsCreated: 1, MembershipsAdded: 14, UsersDisabled: 1}) {
		t.Errorf("restore: %+v", res)
	}
	// The pool now holds every membership of a migrated user, and only
	// those.
	for i := 0; i < 39; i++ {
		name := fmt.Sprintf("u%02d", i)
		if got, want := pool.members["readers"][name], i < 30; got != want {
			t.Errorf("%s in readers: %v, want %v", name, got, want)
		}
		if got, want := pool.members["admins"][name], i%10 == 5; got != want {
			t.Errorf("%s in admins: %v, want %v", name, got, want)
		}
		if got, want := pool.disabled[name], i == 7; got != want {
			t.Errorf("%s disabled: %v, want %v", name, got, want)
		}
	}
	g := pool.groups["admins"]
	if deref(g.Description) != "the admins" || g.Precedence == nil || *g.Precedence != 1 || deref(g.RoleArn) == "" {
		t.Errorf("admins made as %+v", g)
	}
	if deref(pool.groups["readers"].Description) != "set by hand" {
		t.Error("an existing group was changed")
	}

	// Run again (and the migrated user 7 is disabled now): nothing to do.
	migrated[sub(7)] = TargetUser{Username: "u07", Sub: "new-7"}
	m2 := MigratedFromMap(migrated)
	defer m2.Close()
	again, err := PlanRestore(ctx, pool, "p", x, m2, unlimited())
	if err != nil {
		t.Fatal(err)
	}
	if len(again.GroupsToCreate)+len(again.MembershipsToAdd)+len(again.UsersToDisable) != 0 || again.MembershipsThere != 34 || again.DisabledThere != 1 {
		t.Errorf("second plan: %+v", again)
	}
}
