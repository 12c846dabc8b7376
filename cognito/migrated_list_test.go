package cognito

import (
	"context"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	cip "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider"
	"github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider/types"
	"golang.org/x/time/rate"
)

// onePage answers ListUsers with its users, in one page.
type onePage struct {
	RestoreAPI
	users []types.UserType
}

func (p onePage) ListUsers(context.Context, *cip.ListUsersInput, ...func(*cip.Options)) (*cip.ListUsersOutput, error) {
	return &cip.ListUsersOutput{Users: p.users}, nil
}

func listedUser(name string, attrs ...string) types.UserType {
	u := types.UserType{Username: aws.String(name), Enabled: true}
	for i := 0; i+1 < len(attrs); i += 2 {
		u.Attributes = append(u.Attributes, types.AttributeType{Name: aws.String(attrs[i]), Value: aws.String(attrs[i+1])})
	}
	return u
}

// claimPrev takes every custom:prev_sub_id at its word (the check against
// the backup is migration.ListClaims's).
func claimPrev(u User) (string, bool) { return u.Attributes[PrevSubAttr], true }

// TestListMigratedRefusesAUserWithoutSub: a migrated user the pool lists
// without a sub (AWS never does; an emulator did) stops the listing
// instead of mapping an old identity to an empty one, which remap would
// write into the tables.
func TestListMigratedRefusesAUserWithoutSub(t *testing.T) {
	const old, newSub = "0a1b2c3d-0000-4000-8000-00000000000a", "1a1b2c3d-0000-4000-8000-00000000000a"
	ok := listedUser("alice", "sub", newSub, PrevSubAttr, old)
	m, err := ListMigrated(context.Background(), onePage{users: []types.UserType{ok, listedUser("bob", "sub", "", "email", "b@example.com")}}, "p", rate.NewLimiter(rate.Inf, 1), "", claimPrev)
	if err != nil {
		t.Fatalf("a user without custom:prev_sub_id is no migrated user: %v", err)
	}
	if tu, found := m.Get(old); !found || tu.Sub != newSub {
		t.Errorf("alice: %+v %v", tu, found)
	}
	m.Close()
	_, err = ListMigrated(context.Background(), onePage{users: []types.UserType{ok, listedUser("carol", PrevSubAttr, "0a1b2c3d-0000-4000-8000-00000000000c")}}, "p", rate.NewLimiter(rate.Inf, 1), "", claimPrev)
	if err == nil || !strings.Contains(err.Error(), "carol") || !strings.Contains(err.Error(), "no sub") {
		t.Errorf("a migrated user without a sub: %v", err)
	}
}
