package cognito

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/poolmigrate/poolmigrate/testbed/testenv"
)

// BenchmarkBackupMemory backs up generated pools of growing size with no
// rate limit, to show that memory stays flat as the pool grows (the tool's
// own cost; the network is not in it). Run:
//
//	go test ./cognito -run '^$' -bench BackupMemory -benchtime 1x
func BenchmarkBackupMemory(b *testing.B) {
	sizes := []int{10000, 100000, 1000000}
	if s := os.Getenv("POOLMIGRATE_BENCH_SIZES"); s != "" {
		sizes = nil
		for _, f := range strings.Split(s, ",") {
			n, _ := strconv.Atoi(f)
			sizes = append(sizes, n)
		}
	}
	for _, n := range sizes {
		b.Run(fmt.Sprintf("users=%d", n), func(b *testing.B) {
			for i := 0; i < b.N; i++ {
				out := filepath.Join(b.TempDir(), "b.jsonl")
				runtime.GC()
				stop := make(chan struct{})
				peak := testenv.PeakHeap(stop)
				start := time.Now()
				_, footer, err := Backup(context.Background(), testenv.SynthPool{N: n}, BackupOptions{PoolID: "us-east-1_Synth", Out: out})
				elapsed := time.Since(start)
				close(stop)
				if err != nil {
					b.Fatal(err)
				}
				if footer.Users != int64(n) {
					b.Fatalf("backed up %d of %d users", footer.Users, n)
				}
				fi, _ := os.Stat(out)
				b.ReportMetric(float64(n)/elapsed.Seconds(), "users/s")
				b.ReportMetric(float64(peak.Load())/(1<<20), "peak-heap-MiB")
				b.ReportMetric(float64(fi.Size())/(1<<20), "file-MiB")
			}
		})
	}
}
