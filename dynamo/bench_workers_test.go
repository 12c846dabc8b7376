package dynamo

import (
	"context"
	"fmt"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/poolmigrate/poolmigrate/testbed/ddbproxy"
	"github.com/poolmigrate/poolmigrate/testbed/testenv"
)

// BenchmarkRemapWorkers splits one remap of 40,000 items in four tables
// (POOLMIGRATE_BENCH_ITEMS changes it) between 1, 2 and 4 workers, as
// `remap --segments 4M --worker K/M` on M machines does: each worker has a
// client (and connections) of its own, a journal of its own and 4 calls in
// flight (POOLMIGRATE_BENCH_INFLIGHT changes it), and all reach DynamoDB
// Local through the 5 ms latency proxy. It
// prints the items/s of the whole, and DynamoDB Local's CPU per item,
// which shares this machine's 2 cores with the workers. Needs the test
// bed: scripts/bench.sh.
func BenchmarkRemapWorkers(b *testing.B) {
	env := testenv.Require(b)
	total := 40000
	if s := os.Getenv("POOLMIGRATE_BENCH_ITEMS"); s != "" {
		total, _ = strconv.Atoi(s)
	}
	inflight := 4
	if s := os.Getenv("POOLMIGRATE_BENCH_INFLIGHT"); s != "" {
		inflight, _ = strconv.Atoi(s)
	}
	p, err := ddbproxy.New(os.Getenv("AWS_ENDPOINT_URL_DYNAMODB"), ddbproxy.WithLatency(5*time.Millisecond))
	if err != nil {
		b.Fatal(err)
	}
	srv := httptest.NewServer(p)
	b.Cleanup(srv.Close)
	rw := mapRewriter{}
	for u := 0; u < 1000; u++ {
		rw[fmt.Sprintf("old-%04d", u)] = fmt.Sprintf("new-%04d", u)
	}
	for _, workers := range []int{1, 2, 4} {
		b.Run(fmt.Sprintf("workers=%d", workers), func(b *testing.B) {
			const tables = 4
			per := total / tables
			var names []string
			for t := 0; t < tables; t++ {
				name := makeTable(b, env)
				names = append(names, name)
				fillTable(b, env, name, per)
			}
			segments := 4 * workers
			start, srv0 := time.Now(), serverCPU()
			var changed atomic.Int64
			var wg sync.WaitGroup
			for k := 0; k < workers; k++ {
				api := proxyClient(b, srv.URL)
				j, err := OpenJournal(filepath.Join(b.TempDir(), fmt.Sprintf("worker-%d-of-%d.journal.jsonl", k, workers)))
				if err != nil {
					b.Fatal(err)
				}
				defer j.Close()
				slots := make(chan struct{}, inflight)
				for _, name := range names {
					wg.Add(1)
					go func() {
						defer wg.Done()
						res, err := RemapTable(context.Background(), api, Spec{Table: name, Owners: []OwnerAttr{{Attr: "userID", Claim: "sub"}}}, rw,
							RemapOptions{Journal: j, Workers: 32, Segments: segments, Share: Share{Worker: k, Of: workers}, Slots: slots})
						if err != nil {
							b.Error(err)
						}
						changed.Add(res.Changed)
					}()
				}
			}
			wg.Wait()
			elapsed, server := time.Since(start), serverCPU()-srv0
			if changed.Load() != int64(per*tables) {
				b.Fatalf("remapped %d of %d items", changed.Load(), per*tables)
			}
			expectAllNew(b, env, names, per)
			b.ReportMetric(float64(changed.Load())/elapsed.Seconds(), "items/s")
			if server > 0 {
				b.ReportMetric(float64(server.Microseconds())/float64(per*tables), "ddblocal-cpu-µs/item")
			}
		})
	}
}
