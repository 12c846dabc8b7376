package testenv

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	cip "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider"
	"github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider/types"
)

// SynthPool answers the calls of a backup (DescribeUserPool, ListUsers
// with sub ^= shards or without a filter, ListGroups, ListUsersInGroup) for
// n generated users without holding them: user i has a sub whose first 32
// bits grow with i, so a sub prefix is a contiguous range of i and a page
// token is the next i.
type SynthPool struct {
	N int
	// ShortEvery makes every ShortEvery-th page of a listing (the 1st,
	// (N+1)th…) hold half the Limit with a token after it, as AWS's pages
	// sometimes do. 0: pages are full but the last.
	ShortEvery int
}

// Sub is user i's sub: a canonical UUID, in order of i.
func (s SynthPool) Sub(i int) string {
	hi := uint32(uint64(i) * (1 << 32) / uint64(s.N))
	return fmt.Sprintf("%08x-%04x-4%03x-8%03x-%012x", hi, i&0xffff, i&0xfff, (i>>12)&0xfff, i)
}

func (s SynthPool) DescribeUserPool(ctx context.Context, in *cip.DescribeUserPoolInput, _ ...func(*cip.Options)) (*cip.DescribeUserPoolOutput, error) {
	return &cip.DescribeUserPoolOutput{UserPool: &types.UserPoolType{Id: in.UserPoolId, Name: ptr("synthetic"), EstimatedNumberOfUsers: int32(s.N)}}, nil
}

func (s SynthPool) ListUsers(ctx context.Context, in *cip.ListUsersInput, _ ...func(*cip.Options)) (*cip.ListUsersOutput, error) {
	var prefix string
	if in.Filter != nil && *in.Filter != "" {
		if !strings.HasPrefix(*in.Filter, `sub ^= "`) || !strings.HasSuffix(*in.Filter, `"`) {
			return nil, fmt.Errorf("synthetic pool: filter %q: only sub ^= \"prefix\"", *in.Filter)
		}
		prefix = strings.TrimSuffix(strings.TrimPrefix(*in.Filter, `sub ^= "`), `"`)
	}
	if len(prefix) > 8 {
		return nil, fmt.Errorf("synthetic pool: sub prefix %q: at most 8 hex digits", prefix)
	}
	lo, err := strconv.ParseUint(prefix+strings.Repeat("0", 8-len(prefix)), 16, 64)
	if err != nil {
		return nil, fmt.Errorf("synthetic pool: sub prefix %q: %w", prefix, err)
	}
	hi := lo + 1<<(32-4*len(prefix))
	first := int((lo*uint64(s.N) + (1<<32 - 1)) >> 32)
	end := int((hi*uint64(s.N) + (1<<32 - 1)) >> 32)
	page := 0
	if in.PaginationToken != nil {
		var ok bool
		if first, page, ok = parseSynthToken(*in.PaginationToken); !ok {
			return nil, fmt.Errorf("synthetic pool: pagination token %q is not one it gave", *in.PaginationToken)
		}
	}
	limit := 60
	if in.Limit != nil && *in.Limit > 0 {
		limit = int(*in.Limit)
	}
	if s.ShortEvery > 0 && page%s.ShortEvery == 0 {
		limit = max(1, limit/2)
	}
	last := min(first+limit, end, s.N)
	out := &cip.ListUsersOutput{}
	now := time.Unix(1700000000, 0)
	for i := first; i < last; i++ {
		sub := s.Sub(i)
		out.Users = append(out.Users, types.UserType{
			Username: ptr(fmt.Sprintf("user%07d", i)), Enabled: true, UserStatus: types.UserStatusTypeConfirmed,
			UserCreateDate: &now, UserLastModifiedDate: &now,
			Attributes: []types.AttributeType{
				{Name: ptr("sub"), Value: ptr(sub)},
				{Name: ptr("email"), Value: ptr(fmt.Sprintf("user%07d@example.com", i))},
				{Name: ptr("email_verified"), Value: ptr("true")},
				{Name: ptr("name"), Value: ptr(fmt.Sprintf("User Number %d", i))},
			},
		})
	}
	if last < end {
		out.PaginationToken = ptr(fmt.Sprintf("%d.%d", last, page+1))
	}
	return out, nil
}

// parseSynthToken reads a token ListUsers gave: the next user and the
// page's number in its listing.
func parseSynthToken(tok string) (next, page int, ok bool) {
	a, b, found := strings.Cut(tok, ".")
	if !found {
		return 0, 0, false
	}
	next, err1 := strconv.Atoi(a)
	page, err2 := strconv.Atoi(b)
	return next, page, err1 == nil && err2 == nil
}

func (s SynthPool) ListGroups(context.Context, *cip.ListGroupsInput, ...func(*cip.Options)) (*cip.ListGroupsOutput, error) {
	return &cip.ListGroupsOutput{}, nil
}

func (s SynthPool) ListUsersInGroup(context.Context, *cip.ListUsersInGroupInput, ...func(*cip.Options)) (*cip.ListUsersInGroupOutput, error) {
	return &cip.ListUsersInGroupOutput{}, nil
}

func ptr[T any](v T) *T { return &v }
