package cognitoshim_test

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"reflect"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	cip "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider"

	"github.com/poolmigrate/poolmigrate/testbed/cognitoshim"
	"github.com/poolmigrate/poolmigrate/testbed/testenv"
)

// throttledShim runs a shim with throttling rules and a test clock in front
// of the test bed's cognito-local; its client does not retry.
func throttledShim(t *testing.T, env *testenv.Env, rules ...cognitoshim.ThrottleRule) (*cognitoshim.Server, *cip.Client, *clock, string) {
	t.Helper()
	clk := &clock{t: time.Now()}
	shim := cognitoshim.New(env.LocalEndpoint, cognitoshim.WithClock(clk.now), cognitoshim.WithLogger(t.Logf), cognitoshim.WithThrottle(rules...))
	srv := httptest.NewServer(shim)
	t.Cleanup(srv.Close)
	c := cip.NewFromConfig(env.Config, func(o *cip.Options) {
		o.BaseEndpoint = aws.String(srv.URL)
		o.RetryMaxAttempts = 1
	})
	return shim, c, clk, srv.URL
}

// refusals calls op n times and lists which calls (from 1) were throttled.
func refusals(t *testing.T, n int, call func() error) []int {
	t.Helper()
	var got []int
	for i := 1; i <= n; i++ {
		err := call()
		switch apiCode(err) {
		case "":
			if err != nil {
				t.Fatalf("call %d: %v", i, err)
			}
		case "TooManyRequestsException":
			got = append(got, i)
		default:
			t.Fatalf("call %d: %v", i, err)
		}
	}
	return got
}

func TestThrottleInjectsEveryNth(t *testing.T) {
	env := testenv.Require(t)
	pool := env.NewPool(t, testenv.PoolOptions{})
	shim, c, _, _ := throttledShim(t, env, cognitoshim.ThrottleRule{Operations: []string{"ListGroups", "DescribeUserPool"}, Every: 3})
	listGroups := func() error {
		_, err := c.ListGroups(ctx, &cip.ListGroupsInput{UserPoolId: &pool})
		return err
	}
	describe := func() error {
		_, err := c.DescribeUserPool(ctx, &cip.DescribeUserPoolInput{UserPoolId: &pool})
		return err
	}
	if got := refusals(t, 7, listGroups); !reflect.DeepEqual(got, []int{1, 4, 7}) {
		t.Errorf("ListGroups refused at calls %v, want [1 4 7]", got)
	}
	// Counted by operation: DescribeUserPool's first call is refused too.
	if got := refusals(t, 2, describe); !reflect.DeepEqual(got, []int{1}) {
		t.Errorf("DescribeUserPool refused at calls %v, want [1]", got)
	}
	// Operations no rule names pass.
	if _, err := c.ListUsers(ctx, &cip.ListUsersInput{UserPoolId: &pool}); err != nil {
		t.Errorf("ListUsers: %v", err)
	}
	if got := shim.Throttled(); !reflect.DeepEqual(got, map[string]int{"ListGroups": 3, "DescribeUserPool": 1}) {
		t.Errorf("Throttled() = %v", got)
	}
}

func TestThrottleQuotaSharedByItsOperations(t *testing.T) {
	env := testenv.Require(t)
	pool := env.NewPool(t, testenv.PoolOptions{})
	_, c, clk, _ := throttledShim(t, env, cognitoshim.ThrottleRule{Operations: []string{"ListGroups", "DescribeUserPool"}, RPS: 2})
	listGroups := func() error {
		_, err := c.ListGroups(ctx, &cip.ListGroupsInput{UserPoolId: &pool})
		return err
	}
	describe := func() error {
		_, err := c.DescribeUserPool(ctx, &cip.DescribeUserPoolInput{UserPoolId: &pool})
		return err
	}
	// The clock stands still: a burst of 2, shared by the two operations.
	if got := refusals(t, 1, listGroups); got != nil {
		t.Errorf("first call refused")
	}
	if got := refusals(t, 2, describe); !reflect.DeepEqual(got, []int{2}) {
		t.Errorf("DescribeUserPool refused at calls %v, want [2] (the quota's burst is 2)", got)
	}
	clk.add(time.Second)
	if got := refusals(t, 3, listGroups); !reflect.DeepEqual(got, []int{3}) {
		t.Errorf("a second later: refused at calls %v, want [3]", got)
	}
}

func TestThrottleControlEndpoint(t *testing.T) {
	env := testenv.Require(t)
	pool := env.NewPool(t, testenv.PoolOptions{})
	_, c, _, url := throttledShim(t, env)
	listGroups := func() error {
		_, err := c.ListGroups(ctx, &cip.ListGroupsInput{UserPoolId: &pool})
		return err
	}
	post := func(body string) int {
		resp, err := http.Post(url+"/_testbed/throttle", "application/json", bytes.NewBufferString(body))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	counts := func() map[string]int {
		resp, err := http.Get(url + "/_testbed/throttle")
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var out struct{ Throttled map[string]int }
		if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
			t.Fatal(err)
		}
		return out.Throttled
	}
	if got := refusals(t, 2, listGroups); got != nil {
		t.Errorf("no rules, yet refused at %v", got)
	}
	if code := post(`{"rules":[{"operations":["ListGroups"],"every":2}]}`); code != http.StatusNoContent {
		t.Fatalf("set rules: %d", code)
	}
	if got := refusals(t, 4, listGroups); !reflect.DeepEqual(got, []int{1, 3}) {
		t.Errorf("refused at %v, want [1 3]", got)
	}
	if got := counts(); !reflect.DeepEqual(got, map[string]int{"ListGroups": 2}) {
		t.Errorf("counts %v", got)
	}
	for _, bad := range []string{`{"rules":[{"operations":["ListGroups"]}]}`, `{"rules":[{"every":2}]}`, `{"rules":[{"operations":["ListGroups"],"rps":-1}]}`, `not json`} {
		if code := post(bad); code != http.StatusBadRequest {
			t.Errorf("%s: %d, want 400", bad, code)
		}
	}
	if code := post(`{"rules":[]}`); code != http.StatusNoContent {
		t.Fatalf("clear rules: %d", code)
	}
	if got := refusals(t, 3, listGroups); got != nil {
		t.Errorf("rules cleared, yet refused at %v", got)
	}
}
