package cognito

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	cip "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider"
	"github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider/types"
	"github.com/aws/aws-sdk-go-v2/service/iam"

	"github.com/poolmigrate/poolmigrate/testbed/cognitoshim"
	"github.com/poolmigrate/poolmigrate/testbed/testenv"
)

type testClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *testClock) now() time.Time      { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *testClock) add(d time.Duration) { c.mu.Lock(); c.t = c.t.Add(d); c.mu.Unlock() }

// roundTrip lets a test act on each upload request.
type roundTrip func(*http.Request) (*http.Response, error)

func (f roundTrip) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

func jobFixture(t *testing.T, rows int) (*cip.Client, *testClock, string, string) {
	t.Helper()
	env := testenv.Require(t)
	clk := &testClock{t: time.Now()}
	srv := httptest.NewServer(cognitoshim.New(env.LocalEndpoint, cognitoshim.WithClock(clk.now), cognitoshim.WithLogger(t.Logf)))
	t.Cleanup(srv.Close)
	// The tool's clients retry throttling patiently (cli's newAWSClients);
	// this one does too, since the shim holds AWS's quotas and two jobs
	// polling every 20 ms ask for more than DescribeUserImportJob's.
	api := cip.NewFromConfig(env.Config, func(o *cip.Options) {
		o.BaseEndpoint = aws.String(srv.URL)
		o.Retryer = testenv.PatientRetryer()
	})
	pool := env.NewPool(t, testenv.PoolOptions{AutoVerified: []types.VerifiedAttributeType{types.VerifiedAttributeTypeEmail}})
	h, err := api.GetCSVHeader(context.Background(), &cip.GetCSVHeaderInput{UserPoolId: &pool})
	if err != nil {
		t.Fatal(err)
	}
	tg := Target{Pool: Pool{ID: pool, MFA: "OFF", AutoVerifiedAttributes: []string{"email"}}, Header: h.CSVHeader}
	var b strings.Builder
	b.WriteString(tg.HeaderLine())
	for i := 0; i < rows; i++ {
		u := user(fmt.Sprintf("%04d", i), fmt.Sprintf("job%s%04d", testenv.RandomSuffix(), i), "email", fmt.Sprintf("j%d@example.com", i), "email_verified", "true")
		b.WriteString("\n" + tg.Line(tg.BuildRow(u, u.Username, false)))
	}
	file := filepath.Join(t.TempDir(), "users-001.csv")
	if err := os.WriteFile(file, []byte(b.String()+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	return api, clk, pool, file
}

// roleFor creates, through the in-process shim's IAM, a role the import
// job may use: like AWS, the shim accepts no role it does not know.
func roleFor(t *testing.T, api *cip.Client) string {
	t.Helper()
	env := testenv.Require(t)
	return testenv.ImportRoleAt(t, iam.NewFromConfig(env.Config, func(o *iam.Options) { o.BaseEndpoint = api.Options().BaseEndpoint }))
}

func TestImportJobGetsAFreshURLWhenItExpired(t *testing.T) {
	api, clk, pool, file := jobFixture(t, 3)
	role := roleFor(t, api)
	puts := 0
	client := &http.Client{Transport: roundTrip(func(r *http.Request) (*http.Response, error) {
		puts++
		if puts == 1 {
			clk.add(16 * time.Minute) // the first upload comes too late
		}
		return http.DefaultTransport.RoundTrip(r)
	})}
	res, err := RunImportJob(context.Background(), api, JobOptions{PoolID: pool, RoleARN: role, HTTP: client, Poll: 20 * time.Millisecond, Now: clk.now}, file, 3)
	if err != nil {
		t.Fatal(err)
	}
	if puts != 2 || res.Status != "Succeeded" || res.Imported != 3 {
		t.Errorf("after an expired URL: %d uploads, %+v", puts, res)
	}
}

func TestImportJobUploadRejected(t *testing.T) {
	api, _, pool, file := jobFixture(t, 1)
	role := roleFor(t, api)
	client := &http.Client{Transport: roundTrip(func(r *http.Request) (*http.Response, error) {
		r.Header.Set("Content-Type", "text/csv") // what a careless client adds
		return http.DefaultTransport.RoundTrip(r)
	})}
	_, err := RunImportJob(context.Background(), api, JobOptions{PoolID: pool, RoleARN: role, HTTP: client, Poll: 20 * time.Millisecond}, file, 1)
	if !errors.Is(err, ErrUploadRejected) || !strings.Contains(err.Error(), "SignatureDoesNotMatch") {
		t.Errorf("got %v", err)
	}
}

func TestImportJobWaitsForTheAccountsActiveJob(t *testing.T) {
	api, _, pool, big := jobFixture(t, 300)
	role := roleFor(t, api)
	ctx := context.Background()
	// Two jobs polling every 200 ms stay within the account's 15
	// DescribeUserImportJob and ListUserImportJobs calls a second (every
	// 20 ms they asked for 100, which AWS, and the shim, refuse).
	const poll = 200 * time.Millisecond
	// Another job of the account is running.
	var wg sync.WaitGroup
	wg.Add(1)
	var first JobResult
	go func() {
		defer wg.Done()
		first, _ = RunImportJob(ctx, api, JobOptions{PoolID: pool, RoleARN: role, Poll: poll}, big, 300)
	}()
	time.Sleep(300 * time.Millisecond)
	second, err := RunImportJob(ctx, api, JobOptions{PoolID: pool, RoleARN: role, Poll: poll, StartWait: time.Minute}, big, 300)
	wg.Wait()
	if err != nil {
		t.Fatalf("second job: %v", err)
	}
	if first.Status != "Succeeded" || first.Imported != 300 || second.Status != "Succeeded" || second.Skipped != 300 {
		t.Errorf("first %+v, second %+v", first, second)
	}
}

func TestImportJobStoppedOnInterrupt(t *testing.T) {
	api, _, pool, file := jobFixture(t, 400)
	role := roleFor(t, api)
	ctx, cancel := context.WithCancel(context.Background())
	var id string
	res, err := RunImportJob(ctx, api, JobOptions{PoolID: pool, RoleARN: role, Poll: 20 * time.Millisecond, Progress: func(p JobProgress) {
		id = p.JobID
		if p.Status == "InProgress" {
			cancel()
		}
	}}, file, 400)
	if !errors.Is(err, context.Canceled) || !strings.Contains(err.Error(), "re-run") {
		t.Fatalf("interrupted job: %v", err)
	}
	// The job was stopped, so the account's one active job is free.
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		out, err := api.DescribeUserImportJob(context.Background(), &cip.DescribeUserImportJobInput{UserPoolId: &pool, JobId: &id})
		if err != nil {
			t.Fatal(err)
		}
		if out.UserImportJob.Status == types.UserImportJobStatusTypeStopped {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Errorf("job %s not stopped after the interrupt (%+v)", id, res)
}
