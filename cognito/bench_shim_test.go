package cognito

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	cip "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider"
	"golang.org/x/time/rate"

	"github.com/poolmigrate/poolmigrate/testbed/cognitoshim"
	"github.com/poolmigrate/poolmigrate/testbed/testenv"
)

// BenchmarkBackupRPS backs up a pool of 1,200 users planted in cognito-local
// through the Cognito shim, which enforces AWS's UserList quota of 30
// requests/s, at several --rps settings, and prints users/s next to the
// ceiling rps × 60 (a full page per request). Needs the test bed:
//
//	scripts/bench.sh
func BenchmarkBackupRPS(b *testing.B) {
	env := testenv.Require(b)
	const users = 1200
	pool := env.NewPool(b, testenv.PoolOptions{})
	var seed []testenv.SeedUser
	for i := 0; i < users; i++ {
		seed = append(seed, testenv.SeedUser{Username: fmt.Sprintf("bench%05d", i), Attrs: map[string]string{"email": fmt.Sprintf("bench%05d@example.com", i), "email_verified": "true"}})
	}
	env.Seed(b, pool, nil, seed)
	srv := httptest.NewServer(cognitoshim.New(env.LocalEndpoint, cognitoshim.WithUserListRPS(30), cognitoshim.WithLogger(func(string, ...any) {})))
	b.Cleanup(srv.Close)
	api := cip.NewFromConfig(env.Config, func(o *cip.Options) { o.BaseEndpoint = aws.String(srv.URL) })

	for _, rps := range []float64{5, 10, 30} {
		for _, shards := range []int{1, 16} {
			b.Run(fmt.Sprintf("rps=%g/shards=%d", rps, shards), func(b *testing.B) {
				for i := 0; i < b.N; i++ {
					out := filepath.Join(b.TempDir(), "b.jsonl")
					runtime.GC()
					stop := make(chan struct{})
					peak := testenv.PeakHeap(stop)
					start := time.Now()
					_, footer, err := Backup(context.Background(), api, BackupOptions{PoolID: pool, Out: out, Shards: shards, Limiter: rate.NewLimiter(rate.Limit(rps), 1)})
					elapsed := time.Since(start)
					close(stop)
					if err != nil {
						b.Fatal(err)
					}
					if footer.Users != users {
						b.Fatalf("backed up %d of %d users", footer.Users, users)
					}
					b.ReportMetric(float64(users)/elapsed.Seconds(), "users/s")
					b.ReportMetric(rps*pageSize, "ceiling-users/s")
					b.ReportMetric(float64(peak.Load())/(1<<20), "peak-heap-MiB")
				}
			})
		}
	}
}

// BenchmarkBackupQuota backs up a pool of 100,000 users
// (POOLMIGRATE_BENCH_USERS changes it) in 256 shards through the Cognito
// shim, which answers TooManyRequestsException above 30 ListUsers requests
// a second, at --rps 10 and 30, and prints users/s against the ceiling
// rps × 60 (a full page per request), with where the rest went:
//
//   - pages-%: users per request against a full page (each shard ends on a
//     partly filled page);
//   - pace-%: requests sent while listing against rps × the listing time
//     (the limiter's tokens the workers did not take in time);
//   - listing-%: the listing's share of the whole backup (the rest is
//     describing the pool, groups, merging the shards and verifying the
//     file);
//   - throttled: TooManyRequestsException answers (each costs the SDK's
//     backoff), latency-ms: a request's mean round trip, busy-%: the share of
//     the listing during which every worker was waiting for an answer.
//
// The shim's upstream is POOLMIGRATE_BENCH_UPSTREAM: "synthetic" (default), a
// generated pool served in-process with POOLMIGRATE_BENCH_LATENCY per answer
// (default 100ms, a Cognito round trip), or "cognito-local", a cognito-local
// of the benchmark's own with the pool planted as a file (it loads pools only
// when it starts). cognito-local filters its whole pool in JavaScript for
// every request, so on this machine it serves fewer requests a second than
// the quota: the benchmark first measures what the upstream serves with no
// limit (upstream-req/s), and its figures only mean something when that is
// well above 30.
func BenchmarkBackupQuota(b *testing.B) {
	users := 100000
	if s := os.Getenv("POOLMIGRATE_BENCH_USERS"); s != "" {
		users, _ = strconv.Atoi(s)
	}
	latency := 100 * time.Millisecond
	if s := os.Getenv("POOLMIGRATE_BENCH_LATENCY"); s != "" {
		latency, _ = time.ParseDuration(s)
	}
	const pool = "local_quota100k"
	var upstream string
	switch os.Getenv("POOLMIGRATE_BENCH_UPSTREAM") {
	case "cognito-local":
		upstream = testenv.StartCognitoLocal(b, nil, map[string][]byte{pool: poolFile(b, pool, users)})
	case "", "synthetic":
		srv := httptest.NewServer(testenv.SynthPool{N: users}.Upstream(pool, latency))
		b.Cleanup(srv.Close)
		upstream = srv.URL
	default:
		b.Fatalf("POOLMIGRATE_BENCH_UPSTREAM: synthetic or cognito-local")
	}
	cfg, err := config.LoadDefaultConfig(context.Background())
	if err != nil {
		b.Fatal(err)
	}
	b.Run("upstream", func(b *testing.B) {
		// What the shim and its upstream serve with no quota: 8 listings
		// of 16 pages at once.
		srv := httptest.NewServer(cognitoshim.New(upstream, cognitoshim.WithLogger(func(string, ...any) {})))
		defer srv.Close()
		api := cip.NewFromConfig(cfg, func(o *cip.Options) { o.BaseEndpoint = aws.String(srv.URL) })
		start := time.Now()
		var wg sync.WaitGroup
		for w := 0; w < 8; w++ {
			wg.Add(1)
			go func(w int) {
				defer wg.Done()
				for i := 0; i < 16; i++ {
					in := &cip.ListUsersInput{UserPoolId: aws.String(pool), Limit: aws.Int32(pageSize), Filter: aws.String(fmt.Sprintf("sub ^= %q", fmt.Sprintf("%02x", w*16+i)))}
					if _, err := api.ListUsers(context.Background(), in); err != nil {
						b.Error(err)
						return
					}
				}
			}(w)
		}
		wg.Wait()
		b.ReportMetric(8*16/time.Since(start).Seconds(), "upstream-req/s")
	})
	for _, rps := range []float64{10, 30} {
		b.Run(fmt.Sprintf("rps=%g/shards=256", rps), func(b *testing.B) {
			for i := 0; i < b.N; i++ {
				// A shim of the run's own: its quota starts full.
				srv := httptest.NewServer(cognitoshim.New(upstream, cognitoshim.WithUserListRPS(30), cognitoshim.WithLogger(func(string, ...any) {})))
				// Enough idle connections for the workers, as the SDK's own
				// client keeps (http.DefaultTransport keeps 2).
				next := http.DefaultTransport.(*http.Transport).Clone()
				next.MaxIdleConnsPerHost = 16
				tr := &countingTransport{next: next}
				api := &pageCounter{BackupAPI: cip.NewFromConfig(cfg, func(o *cip.Options) {
					o.BaseEndpoint = aws.String(srv.URL)
					o.HTTPClient = &http.Client{Transport: tr}
				})}
				out := filepath.Join(b.TempDir(), "b.jsonl")
				runtime.GC()
				stop := make(chan struct{})
				peak := testenv.PeakHeap(stop)
				var listed time.Time
				began := time.Now()
				o := BackupOptions{PoolID: pool, Out: out, Shards: 256, Limiter: rate.NewLimiter(rate.Limit(rps), 1),
					Progress: func(p BackupProgress) {
						if p.Phase == "writing" {
							listed = time.Now()
						}
					}}
				_, footer, err := Backup(context.Background(), api, o)
				elapsed := time.Since(began)
				close(stop)
				srv.Close()
				if err != nil {
					b.Fatal(err)
				}
				if footer.Users != int64(users) {
					b.Fatalf("backed up %d of %d users", footer.Users, users)
				}
				listing := listed.Sub(began)
				got := float64(users) / elapsed.Seconds()
				b.ReportMetric(got, "users/s")
				b.ReportMetric(rps*pageSize, "ceiling-users/s")
				b.ReportMetric(100*got/(rps*pageSize), "%-of-ceiling")
				b.ReportMetric(100*float64(users)/float64(api.pages.Load()*pageSize), "pages-%")
				b.ReportMetric(100*float64(api.pages.Load())/(rps*listing.Seconds()), "pace-%")
				b.ReportMetric(100*listing.Seconds()/elapsed.Seconds(), "listing-%")
				b.ReportMetric(float64(tr.throttled.Load()), "throttled")
				b.ReportMetric(float64(tr.latency.Load())/float64(max(tr.requests.Load(), 1))/1e6, "latency-ms")
				b.ReportMetric(100*tr.busy(autoWorkers(rate.Limit(rps)))/listing.Seconds(), "busy-%")
				b.ReportMetric(float64(peak.Load())/(1<<20), "peak-heap-MiB")
			}
		})
	}
}

// pageCounter counts the ListUsers pages a backup reads.
type pageCounter struct {
	BackupAPI
	pages atomic.Int64
}

func (p *pageCounter) ListUsers(ctx context.Context, in *cip.ListUsersInput, optFns ...func(*cip.Options)) (*cip.ListUsersOutput, error) {
	out, err := p.BackupAPI.ListUsers(ctx, in, optFns...)
	if err == nil {
		p.pages.Add(1)
	}
	return out, err
}

// countingTransport counts requests, throttled answers, the time spent
// waiting for answers, and how long each number of requests was in flight.
type countingTransport struct {
	next                         http.RoundTripper
	requests, throttled, latency atomic.Int64
	mu                           sync.Mutex
	inFlight                     int
	since                        time.Time
	byInFlight                   map[int]time.Duration
}

func (c *countingTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	c.step(+1)
	start := time.Now()
	resp, err := c.next.RoundTrip(r)
	c.latency.Add(int64(time.Since(start)))
	c.step(-1)
	c.requests.Add(1)
	if err == nil && resp.Header.Get("X-Amzn-ErrorType") == "TooManyRequestsException" {
		c.throttled.Add(1)
	}
	return resp, err
}

func (c *countingTransport) step(d int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	now := time.Now()
	if c.byInFlight == nil {
		c.byInFlight = map[int]time.Duration{}
	} else {
		c.byInFlight[c.inFlight] += now.Sub(c.since)
	}
	c.inFlight += d
	c.since = now
}

// busy is how long (seconds) at least n requests were in flight.
func (c *countingTransport) busy(n int) float64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	var d time.Duration
	for k, v := range c.byInFlight {
		if k >= n {
			d += v
		}
	}
	return d.Seconds()
}

// poolFile is a cognito-local pool file with n users.
func poolFile(b *testing.B, id string, n int) []byte {
	b.Helper()
	type attr struct{ Name, Value string }
	type user struct {
		Username             string
		Attributes           []attr
		Enabled              bool
		UserStatus           string
		UserCreateDate       string
		UserLastModifiedDate string
		RefreshTokens        []string
	}
	pool := testenv.SynthPool{N: n}
	users := make(map[string]user, n)
	for i := 0; i < n; i++ {
		name := fmt.Sprintf("user%07d", i)
		users[name] = user{Username: name, Enabled: true, UserStatus: "CONFIRMED", UserCreateDate: "2026-01-02T03:04:05.000Z", UserLastModifiedDate: "2026-01-02T03:04:05.000Z", RefreshTokens: []string{},
			Attributes: []attr{{"sub", pool.Sub(i)}, {"email", name + "@example.com"}, {"email_verified", "true"}}}
	}
	data, err := json.Marshal(map[string]any{
		"Users":  users,
		"Groups": map[string]any{},
		"Options": map[string]any{"Id": id, "Name": "quota", "UsernameAttributes": []string{}, "EstimatedNumberOfUsers": n, "MfaConfiguration": "OFF",
			"SchemaAttributes": []map[string]any{{"Name": "sub", "AttributeDataType": "String", "Mutable": false, "Required": true}, {"Name": "email", "AttributeDataType": "String", "Mutable": true, "Required": false}}},
	})
	if err != nil {
		b.Fatal(err)
	}
	return data
}
