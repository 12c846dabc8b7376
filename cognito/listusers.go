package cognito

import (
	"context"
	"fmt"

	cip "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider"
	"golang.org/x/time/rate"
)

// UserLister is the part of the Cognito API that lists a pool's users.
type UserLister interface {
	ListUsers(ctx context.Context, in *cip.ListUsersInput, optFns ...func(*cip.Options)) (*cip.ListUsersOutput, error)
}

// EachUser lists every user of a pool as it is now, page by page under
// limit (ListUsers shares the account's UserList quota with the app's own
// traffic; nil: no limit), and calls fn for each.
func EachUser(ctx context.Context, api UserLister, pool string, limit *rate.Limiter, fn func(User) error) error {
	if limit == nil {
		limit = rate.NewLimiter(rate.Inf, 1)
	}
	in := &cip.ListUsersInput{UserPoolId: &pool, Limit: ptr(int32(pageSize))}
	for {
		if err := limit.Wait(ctx); err != nil {
			return err
		}
		page, err := api.ListUsers(ctx, in)
		if err != nil {
			return fmt.Errorf("list users of pool %s: %w", pool, err)
		}
		for _, u := range page.Users {
			if err := fn(userFromSDK(u)); err != nil {
				return err
			}
		}
		if page.PaginationToken == nil || *page.PaginationToken == "" {
			return nil
		}
		in.PaginationToken = page.PaginationToken
	}
}
