package cognitoshim_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"reflect"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	cip "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider"
	"github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider/types"

	"github.com/poolmigrate/poolmigrate/testbed/cognitoshim"
	"github.com/poolmigrate/poolmigrate/testbed/testenv"
)

// as is c signing with another access key id, so another account.
func as(c *cip.Client, key string) *cip.Client {
	return cip.New(c.Options(), func(o *cip.Options) {
		o.Credentials = credentials.NewStaticCredentialsProvider(key, "testbed", "")
	})
}

func TestAccountOf(t *testing.T) {
	cases := map[string]string{
		"":          cognitoshim.TestbedAccount,
		"testbed":   cognitoshim.TestbedAccount,
		"testbed1":  "000000000001",
		"testbed32": "000000000032",
	}
	for key, want := range cases {
		if got := cognitoshim.AccountOf(key); got != want {
			t.Errorf("AccountOf(%q) = %s, want %s", key, got, want)
		}
	}
	a, b := cognitoshim.AccountOf("AKIAEXAMPLEA"), cognitoshim.AccountOf("AKIAEXAMPLEB")
	if a == b || len(a) != 12 || a < "000001000000" {
		t.Errorf("other keys: %s and %s, want two accounts of their own", a, b)
	}
}

// TestQuotasArePerAccount: like AWS's, the shim's request quotas and
// injected throttling count per account, the account of the access key
// id that signed the call; the control endpoint can set one account's.
func TestQuotasArePerAccount(t *testing.T) {
	env := testenv.Require(t)
	pool := env.NewPool(t, testenv.PoolOptions{})
	shim, c, _, url := throttledShim(t, env,
		cognitoshim.ThrottleRule{Operations: []string{"ListGroups"}, RPS: 2},
		cognitoshim.ThrottleRule{Operations: []string{"DescribeUserPool"}, Every: 2})
	// (The test process may sign with a testbedN key of its own: name each.)
	c, one, two := as(c, "testbed"), as(c, "testbed1"), as(c, "testbed2")
	for name, c := range map[string]*cip.Client{"testbed": c, "testbed1": one, "testbed2": two} {
		// The clock stands still: each account's bucket holds 2 calls.
		if got := refusals(t, 3, func() error {
			_, err := c.ListGroups(ctx, &cip.ListGroupsInput{UserPoolId: &pool})
			return err
		}); !reflect.DeepEqual(got, []int{3}) {
			t.Errorf("%s: ListGroups refused at calls %v, want [3]", name, got)
		}
		if got := refusals(t, 3, func() error {
			_, err := c.DescribeUserPool(ctx, &cip.DescribeUserPoolInput{UserPoolId: &pool})
			return err
		}); !reflect.DeepEqual(got, []int{1, 3}) {
			t.Errorf("%s: DescribeUserPool refused at calls %v, want [1 3]", name, got)
		}
	}
	if got := shim.Throttled(); !reflect.DeepEqual(got, map[string]int{"ListGroups": 3, "DescribeUserPool": 6}) {
		t.Errorf("Throttled() = %v, want every account's refusals", got)
	}

	// One account's own rules (none) leave the others' alone.
	account1 := cognitoshim.AccountOf("testbed1")
	control := func(method, account string, body any) map[string]int {
		var rd *bytes.Reader
		if body != nil {
			b, _ := json.Marshal(body)
			rd = bytes.NewReader(b)
		} else {
			rd = bytes.NewReader(nil)
		}
		req, _ := http.NewRequest(method, url+"/_testbed/throttle?account="+account, rd)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		if method == http.MethodPost {
			if resp.StatusCode != http.StatusNoContent {
				t.Fatalf("POST throttle for %s: %s", account, resp.Status)
			}
			return nil
		}
		var out struct{ Throttled map[string]int }
		if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
			t.Fatal(err)
		}
		return out.Throttled
	}
	if got := control(http.MethodGet, account1, nil); !reflect.DeepEqual(got, map[string]int{"ListGroups": 1, "DescribeUserPool": 2}) {
		t.Errorf("testbed1's refusals: %v", got)
	}
	control(http.MethodPost, account1, map[string]any{"rules": []any{}})
	if got := refusals(t, 3, func() error {
		_, err := one.DescribeUserPool(ctx, &cip.DescribeUserPoolInput{UserPoolId: &pool})
		return err
	}); got != nil {
		t.Errorf("testbed1 without rules: refused at calls %v", got)
	}
	if got := refusals(t, 2, func() error {
		_, err := two.DescribeUserPool(ctx, &cip.DescribeUserPoolInput{UserPoolId: &pool})
		return err
	}); !reflect.DeepEqual(got, []int{2}) {
		t.Errorf("testbed2 after testbed1's rules changed: refused at calls %v, want [2] (its 5th call)", got)
	}
	control(http.MethodPost, account1, map[string]any{"aws": true})
	if got := refusals(t, 1, func() error {
		_, err := one.DescribeUserPool(ctx, &cip.DescribeUserPoolInput{UserPoolId: &pool})
		return err
	}); !reflect.DeepEqual(got, []int{1}) {
		t.Errorf("testbed1 back on the default rules: refused at calls %v, want [1] (counts start again)", got)
	}
	req, _ := http.NewRequest(http.MethodPost, url+"/_testbed/throttle?account=12", bytes.NewReader([]byte(`{"aws":true}`)))
	if resp, err := http.DefaultClient.Do(req); err != nil || resp.StatusCode != http.StatusBadRequest {
		t.Errorf("a malformed account: %v %v, want 400", resp, err)
	}
}

// TestOneActiveJobPerAccountNotPerTestBed: another account's active job
// does not hold a job back; the same account's does.
func TestOneActiveJobPerAccountNotPerTestBed(t *testing.T) {
	env := testenv.Require(t)
	shared, _ := inProcess(t, env)
	c, other := as(shared, "AKIASHIMJOBSA"), as(shared, "AKIASHIMJOBSB")
	pool := env.NewPool(t, testenv.PoolOptions{AutoVerified: []types.VerifiedAttributeType{types.VerifiedAttributeTypeEmail}})
	h := header(t, c, pool)
	var rows []map[string]string
	for i := 0; i < 400; i++ {
		rows = append(rows, row(fmt.Sprintf("acct%03d", i)))
	}
	create := func(c *cip.Client, name string, data []byte) *string {
		job, err := c.CreateUserImportJob(ctx, &cip.CreateUserImportJobInput{UserPoolId: &pool, JobName: aws.String(name), CloudWatchLogsRoleArn: aws.String(roleFor(t, c))})
		if err != nil {
			t.Fatal(err)
		}
		if r := upload(t, *job.UserImportJob.PreSignedUrl, data, nil); r.StatusCode != 200 {
			t.Fatal(r.Status)
		}
		return job.UserImportJob.JobId
	}
	a := create(c, "a", csvFor(h, rows...))
	b := create(other, "b", csvFor(h, row("other-account")))
	c2 := create(c, "c", csvFor(h, row("same-account")))
	if _, err := c.StartUserImportJob(ctx, &cip.StartUserImportJobInput{UserPoolId: &pool, JobId: a}); err != nil {
		t.Fatal(err)
	}
	if _, err := other.StartUserImportJob(ctx, &cip.StartUserImportJobInput{UserPoolId: &pool, JobId: b}); err != nil {
		t.Errorf("another account's job while the first runs: %v", err)
	}
	if _, err := c.StartUserImportJob(ctx, &cip.StartUserImportJobInput{UserPoolId: &pool, JobId: c2}); apiCode(err) != "LimitExceededException" {
		t.Errorf("the same account's second active job: got %v, want LimitExceededException", err)
	}
	if _, err := c.StopUserImportJob(ctx, &cip.StopUserImportJobInput{UserPoolId: &pool, JobId: a}); err != nil {
		t.Fatal(err)
	}
	waitJob(t, c, pool, *a)
	waitJob(t, other, pool, *b)
}
