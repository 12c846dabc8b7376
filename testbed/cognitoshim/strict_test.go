package cognitoshim_test

import (
	"errors"
	"fmt"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	cip "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider"
	"github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider/types"

	"github.com/poolmigrate/poolmigrate/testbed/cognitoshim"
	"github.com/poolmigrate/poolmigrate/testbed/testenv"
)

// pageSizes lists a listing page by page at Limit 60 and counts what it
// found.
func pageSizes(t *testing.T, next func(token *string) (int, *string, error)) (sizes []int, total int) {
	t.Helper()
	var token *string
	for {
		n, tok, err := next(token)
		if err != nil {
			t.Fatal(err)
		}
		sizes = append(sizes, n)
		total += n
		if tok == nil {
			return sizes, total
		}
		token = tok
	}
}

// Every listing the tool pages comes back short now and then, with a
// token, as AWS's may: the 2nd, 5th… page holds half the Limit.
func TestListingsComeBackShort(t *testing.T) {
	env := testenv.Require(t)
	pool := env.NewPool(t, testenv.PoolOptions{})
	plantUsers(t, env, pool, 250, func(i int) string { return fmt.Sprintf("u%03d", i) })
	for i := 0; i < 250; i++ {
		if i < 130 {
			if _, err := env.Local.CreateGroup(ctx, &cip.CreateGroupInput{UserPoolId: &pool, GroupName: aws.String(fmt.Sprintf("g%03d", i))}); err != nil {
				t.Fatal(err)
			}
		}
		if _, err := env.Local.AdminAddUserToGroup(ctx, &cip.AdminAddUserToGroupInput{UserPoolId: &pool, GroupName: aws.String("g000"), Username: aws.String(fmt.Sprintf("u%03d", i))}); err != nil {
			t.Fatal(err)
		}
	}
	listings := func(c *cip.Client) map[string]func(*string) (int, *string, error) {
		return map[string]func(*string) (int, *string, error){
			"ListUsers": func(tok *string) (int, *string, error) {
				out, err := c.ListUsers(ctx, &cip.ListUsersInput{UserPoolId: &pool, Limit: aws.Int32(60), PaginationToken: tok})
				if err != nil {
					return 0, nil, err
				}
				return len(out.Users), out.PaginationToken, nil
			},
			"ListUsersInGroup": func(tok *string) (int, *string, error) {
				out, err := c.ListUsersInGroup(ctx, &cip.ListUsersInGroupInput{UserPoolId: &pool, GroupName: aws.String("g000"), Limit: aws.Int32(60), NextToken: tok})
				if err != nil {
					return 0, nil, err
				}
				return len(out.Users), out.NextToken, nil
			},
			"ListGroups": func(tok *string) (int, *string, error) {
				out, err := c.ListGroups(ctx, &cip.ListGroupsInput{UserPoolId: &pool, Limit: aws.Int32(60), NextToken: tok})
				if err != nil {
					return 0, nil, err
				}
				return len(out.Groups), out.NextToken, nil
			},
		}
	}
	want := map[string]string{"ListUsers": "[60 30 60 60 40] 250", "ListUsersInGroup": "[60 30 60 60 40] 250", "ListGroups": "[60 30 40] 130"}
	for op, next := range listings(env.Cognito) {
		sizes, total := pageSizes(t, next)
		if got := fmt.Sprint(sizes, total); got != want[op] {
			t.Errorf("%s: pages and total %s, want %s", op, got, want[op])
		}
	}
	// WithShortPages(0) fills every page but the last.
	srv := httptest.NewServer(cognitoshim.New(env.LocalEndpoint, cognitoshim.WithLogger(t.Logf), cognitoshim.WithShortPages(0)))
	t.Cleanup(srv.Close)
	full := cip.NewFromConfig(env.Config, func(o *cip.Options) { o.BaseEndpoint = aws.String(srv.URL) })
	want = map[string]string{"ListUsers": "[60 60 60 60 10] 250", "ListUsersInGroup": "[60 60 60 60 10] 250", "ListGroups": "[60 60 10] 130"}
	for op, next := range listings(full) {
		sizes, total := pageSizes(t, next)
		if got := fmt.Sprint(sizes, total); got != want[op] {
			t.Errorf("WithShortPages(0): %s: pages and total %s, want %s", op, got, want[op])
		}
	}
}

// AdminAddUserToGroup names a missing group with AWS's 400
// ResourceNotFoundException (cognito-local answers 500, which the SDK
// retries as the service's fault).
func TestAddToMissingGroupIsNotFound(t *testing.T) {
	env := testenv.Require(t)
	pool := env.NewPool(t, testenv.PoolOptions{})
	plantUsers(t, env, pool, 1, func(int) string { return "solo" })
	_, err := env.Cognito.AdminAddUserToGroup(ctx, &cip.AdminAddUserToGroupInput{UserPoolId: &pool, GroupName: aws.String("nobody-made-me"), Username: aws.String("solo")})
	if apiCode(err) != "ResourceNotFoundException" {
		t.Fatalf("add to a missing group: %v, want ResourceNotFoundException", err)
	}
	var re interface{ HTTPStatusCode() int }
	if !errors.As(err, &re) || re.HTTPStatusCode() != 400 {
		t.Errorf("add to a missing group: status %v, want 400", err)
	}
	if _, err := env.Cognito.CreateGroup(ctx, &cip.CreateGroupInput{UserPoolId: &pool, GroupName: aws.String("made")}); err != nil {
		t.Fatal(err)
	}
	if _, err := env.Cognito.AdminAddUserToGroup(ctx, &cip.AdminAddUserToGroupInput{UserPoolId: &pool, GroupName: aws.String("made"), Username: aws.String("solo")}); err != nil {
		t.Fatalf("add to a group that exists: %v", err)
	}
	out, err := env.Cognito.ListUsersInGroup(ctx, &cip.ListUsersInGroupInput{UserPoolId: &pool, GroupName: aws.String("made")})
	if err != nil || len(out.Users) != 1 {
		t.Errorf("members: %v %v", out, err)
	}
}

// By default the shim holds AWS's quotas, in real time even when a test
// clock stands still: of 60 DescribeUserImportJob calls in a row (the
// UserPoolRead quota, 15 a second, answered by the shim itself) the first
// 15 pass and many of the rest are refused.
func TestAWSQuotasByDefault(t *testing.T) {
	env := testenv.Require(t)
	pool := env.NewPool(t, testenv.PoolOptions{})
	clk := &clock{t: time.Now()} // never moves
	srv := httptest.NewServer(cognitoshim.New(env.LocalEndpoint, cognitoshim.WithClock(clk.now), cognitoshim.WithLogger(func(string, ...any) {})))
	t.Cleanup(srv.Close)
	c := cip.NewFromConfig(env.Config, func(o *cip.Options) {
		o.BaseEndpoint = aws.String(srv.URL)
		o.RetryMaxAttempts = 1
	})
	var refused []int
	for i := 1; i <= 60; i++ {
		_, err := c.DescribeUserImportJob(ctx, &cip.DescribeUserImportJobInput{UserPoolId: &pool, JobId: aws.String("import-nosuchjob")})
		switch apiCode(err) {
		case "TooManyRequestsException":
			refused = append(refused, i)
		case "ResourceNotFoundException":
		default:
			t.Fatalf("call %d: %v", i, err)
		}
	}
	if len(refused) < 10 || refused[0] <= 15 {
		t.Errorf("60 calls in a row: refused %v, want the first 15 to pass and at least 10 of the rest refused", refused)
	}
	// The bucket refills in real time, though the test clock stands still.
	time.Sleep(time.Second)
	if _, err := c.DescribeUserImportJob(ctx, &cip.DescribeUserImportJobInput{UserPoolId: &pool, JobId: aws.String("import-nosuchjob")}); apiCode(err) != "ResourceNotFoundException" {
		t.Errorf("a second later: %v, want ResourceNotFoundException", err)
	}
}

// Only Cognito writes identities (a link, a sign-in through a provider):
// an administrator's write of it is refused, as one of sub is, since the
// claim check takes a federated user's linked login as proof of who they
// were.
func TestIdentitiesAreWrittenOnlyByCognito(t *testing.T) {
	env := testenv.Require(t)
	pool := env.NewPool(t, testenv.PoolOptions{})
	plantUsers(t, env, pool, 1, func(int) string { return "mallory" })
	forged := `[{"userId":"1001","providerName":"Google","providerType":"Google","primary":true}]`
	_, err := env.Cognito.AdminUpdateUserAttributes(ctx, &cip.AdminUpdateUserAttributesInput{UserPoolId: &pool, Username: aws.String("mallory"),
		UserAttributes: []types.AttributeType{{Name: aws.String("identities"), Value: aws.String(forged)}}})
	if apiCode(err) != "InvalidParameterException" {
		t.Errorf("writing identities: %v, want InvalidParameterException", err)
	}
	_, err = env.Cognito.AdminCreateUser(ctx, &cip.AdminCreateUserInput{UserPoolId: &pool, Username: aws.String("eve"), MessageAction: types.MessageActionTypeSuppress,
		UserAttributes: []types.AttributeType{{Name: aws.String("identities"), Value: aws.String(forged)}}})
	if apiCode(err) != "InvalidParameterException" {
		t.Errorf("creating a user with identities: %v, want InvalidParameterException", err)
	}
}
