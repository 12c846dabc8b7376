package cognito

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http/httptest"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
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

// BenchmarkBackupQuota backs up a pool of 100,000 users (POOLMIGRATE_BENCH_USERS
// changes it) in 256 shards through the Cognito shim, which answers
// TooManyRequestsException above 30 ListUsers requests a second, at --rps
// 10 and 30, and prints users/s against the ceiling rps × 60. cognito-local
// loads pools only when it starts and rewrites a pool's file on every
// change, so the benchmark starts its own cognito-local on a free loopback
// port with the pool planted as a file (testenv.StartCognitoLocal).
func BenchmarkBackupQuota(b *testing.B) {
	users := 100000
	if s := os.Getenv("POOLMIGRATE_BENCH_USERS"); s != "" {
		users, _ = strconv.Atoi(s)
	}
	const pool = "local_quota100k"
	local := testenv.StartCognitoLocal(b, nil, map[string][]byte{pool: poolFile(b, pool, users)})
	srv := httptest.NewServer(cognitoshim.New(local, cognitoshim.WithUserListRPS(30), cognitoshim.WithLogger(func(string, ...any) {})))
	b.Cleanup(srv.Close)
	cfg, err := config.LoadDefaultConfig(context.Background())
	if err != nil {
		b.Fatal(err)
	}
	api := cip.NewFromConfig(cfg, func(o *cip.Options) { o.BaseEndpoint = aws.String(srv.URL) })
	for _, rps := range []float64{10, 30} {
		b.Run(fmt.Sprintf("rps=%g/shards=256", rps), func(b *testing.B) {
			for i := 0; i < b.N; i++ {
				out := filepath.Join(b.TempDir(), "b.jsonl")
				began := time.Now()
				_, footer, err := Backup(context.Background(), api, BackupOptions{PoolID: pool, Out: out, Shards: 256, Limiter: rate.NewLimiter(rate.Limit(rps), 1)})
				elapsed := time.Since(began)
				if err != nil {
					b.Fatal(err)
				}
				if footer.Users != int64(users) {
					b.Fatalf("backed up %d of %d users", footer.Users, users)
				}
				got := float64(users) / elapsed.Seconds()
				b.ReportMetric(got, "users/s")
				b.ReportMetric(rps*pageSize, "ceiling-users/s")
				b.ReportMetric(100*got/(rps*pageSize), "%-of-ceiling")
			}
		})
	}
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
