package cognito

import (
	"context"
	"fmt"
	"net/http/httptest"
	"path/filepath"
	"runtime"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
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
