package dynamo

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/poolmigrate/poolmigrate/testbed/ddbproxy"
	"github.com/poolmigrate/poolmigrate/testbed/testenv"
)

// BenchmarkRemap compares the remap with a plain loop of one conditional
// UpdateItem per item over the same items, both with the same number of
// calls in flight, in one run:
//
//   - local: on DynamoDB Local directly, 32 calls in flight; 100,000 items
//     in four tables (POOLMIGRATE_BENCH_ITEMS changes it). Besides the
//     rates it prints the tool's own CPU per item for both loops and
//     DynamoDB Local's (its process's CPU, from /proc), so the server's
//     share is visible.
//   - latency5ms: through a proxy that holds every request 5 ms (what a
//     call to AWS costs from a laptop), 4 calls in flight for both, 20,000
//     items: the plain loop is bound by latency, as it is against AWS.
//
// The plain loop runs before and after the remap and the two are
// averaged (the 2-core machine drifts). Needs the test bed: scripts/bench.sh.
func BenchmarkRemap(b *testing.B) {
	env := testenv.Require(b)
	total := 100000
	if s := os.Getenv("POOLMIGRATE_BENCH_ITEMS"); s != "" {
		total, _ = strconv.Atoi(s)
	}
	b.Run("local", func(b *testing.B) {
		remapBench(b, env, env.Dynamo, total, 32, true)
	})
	b.Run("latency5ms", func(b *testing.B) {
		remapBench(b, env, latencyClient(b, 5*time.Millisecond), 20000, 4, true)
	})
}

// BenchmarkRemapMemory remaps 100,000 and 1,000,000 items (remap only)
// and prints the peak heap: it must not grow with the tables.
func BenchmarkRemapMemory(b *testing.B) {
	env := testenv.Require(b)
	for _, n := range []int{100000, 1000000} {
		b.Run(strconv.Itoa(n), func(b *testing.B) { remapBench(b, env, env.Dynamo, n, 32, false) })
	}
}

func remapBench(b *testing.B, env *testenv.Env, api TableAPI, total, inflight int, plainLoop bool) {
	ctx := context.Background()
	const tables = 4
	per := total / tables
	rw := mapRewriter{}
	for u := 0; u < 1000; u++ {
		rw[fmt.Sprintf("old-%04d", u)] = fmt.Sprintf("new-%04d", u)
	}
	var names []string
	for t := 0; t < tables; t++ {
		name := makeTable(b, env)
		names = append(names, name)
		fillTable(b, env, name, per)
	}

	// The plain loop: one conditional UpdateItem per item, inflight at a
	// time.
	plainPass := func(mark string) time.Duration {
		start := time.Now()
		var wg sync.WaitGroup
		jobs := make(chan [2]string, 1024)
		for w := 0; w < inflight; w++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for j := range jobs {
					_, err := api.UpdateItem(ctx, &dynamodb.UpdateItemInput{TableName: aws.String(j[0]), Key: Item{"id": &types.AttributeValueMemberS{Value: j[1]}},
						UpdateExpression: aws.String("SET touched = :t"), ConditionExpression: aws.String("attribute_exists(id)"),
						ExpressionAttributeValues: Item{":t": &types.AttributeValueMemberN{Value: mark}}})
					if err != nil {
						b.Error(err)
					}
				}
			}()
		}
		for _, name := range names {
			for i := 0; i < per; i++ {
				jobs <- [2]string{name, fmt.Sprintf("i%07d", i)}
			}
		}
		close(jobs)
		wg.Wait()
		return time.Since(start)
	}
	var before, plainCPU, plainServer time.Duration
	if plainLoop {
		cpu0, srv0 := cpuTime(), serverCPU()
		before = plainPass("1")
		plainCPU, plainServer = cpuTime()-cpu0, serverCPU()-srv0
	}

	jdir := b.TempDir()
	if d := os.Getenv("POOLMIGRATE_BENCH_JOURNAL_DIR"); d != "" {
		jdir = d
	}
	j, err := OpenJournal(filepath.Join(jdir, fmt.Sprintf("bench-%d.journal.jsonl", time.Now().UnixNano())))
	if err != nil {
		b.Fatal(err)
	}
	defer j.Close()
	runtime.GC()
	stop := make(chan struct{})
	peak := testenv.PeakHeap(stop)
	start := time.Now()
	cpu1, srv1 := cpuTime(), serverCPU()
	// As `poolmigrate remap` does: the tables at once, sharing the calls
	// in flight.
	var changed atomic.Int64
	var twg sync.WaitGroup
	slots := make(chan struct{}, inflight)
	for _, name := range names {
		twg.Add(1)
		go func(name string) {
			defer twg.Done()
			res, err := RemapTable(ctx, api, Spec{Table: name, Owners: []OwnerAttr{{Attr: "userID", Claim: "sub"}}}, rw, RemapOptions{Journal: j, Workers: 32, Segments: 4, Slots: slots})
			if err != nil {
				b.Error(err)
			}
			changed.Add(res.Changed)
		}(name)
	}
	twg.Wait()
	elapsed := time.Since(start)
	remapCPU, remapServer := cpuTime()-cpu1, serverCPU()-srv1
	close(stop)
	if changed.Load() != int64(per*tables) {
		b.Fatalf("remapped %d of %d items", changed.Load(), per*tables)
	}
	// The remap's own count is not proof: read every item back.
	expectAllNew(b, env, names, per)
	n := float64(per * tables)
	remap := float64(changed.Load()) / elapsed.Seconds()
	b.ReportMetric(remap, "remap-items/s")
	b.ReportMetric(float64(peak.Load())/(1<<20), "peak-heap-MiB")
	b.ReportMetric(float64(remapCPU.Microseconds())/n, "remap-cpu-µs/item")
	if srv := remapServer.Microseconds(); srv > 0 {
		b.ReportMetric(float64(srv)/n, "remap-ddblocal-cpu-µs/item")
	}
	if !plainLoop {
		return
	}
	after := plainPass("2")
	plain := n / ((before + after) / 2).Seconds()
	b.ReportMetric(plain, "plain-updates/s")
	b.ReportMetric(remap/plain, "ratio")
	b.ReportMetric(float64(plainCPU.Microseconds())/n, "plain-cpu-µs/item")
	if srv := plainServer.Microseconds(); srv > 0 {
		b.ReportMetric(float64(srv)/n, "plain-ddblocal-cpu-µs/item")
	}
}

// serverCPU is DynamoDB Local's CPU time so far (user + system, from
// /proc/<pid>/stat; the pid is in the test bed's state folder), or 0 where
// that cannot be read.
func serverCPU() time.Duration {
	dir := os.Getenv("POOLMIGRATE_TESTBED_DIR")
	if dir == "" {
		dir = filepath.Join("..", ".testbed")
	}
	pid, err := os.ReadFile(filepath.Join(dir, "dynamodb-local.pid"))
	if err != nil {
		return 0
	}
	// The pid is the launcher's; the JVM may be its child: sum both.
	var total time.Duration
	for _, p := range append([]string{strings.TrimSpace(string(pid))}, children(strings.TrimSpace(string(pid)))...) {
		stat, err := os.ReadFile("/proc/" + p + "/stat")
		if err != nil {
			continue
		}
		// Fields after the command (which may hold spaces): utime is the
		// 14th field, stime the 15th, in clock ticks (100 a second here).
		f := strings.Fields(string(stat[strings.LastIndexByte(string(stat), ')')+2:]))
		if len(f) < 13 {
			continue
		}
		ut, _ := strconv.ParseInt(f[11], 10, 64)
		st, _ := strconv.ParseInt(f[12], 10, 64)
		total += time.Duration(ut+st) * 10 * time.Millisecond
	}
	return total
}

func children(pid string) []string {
	data, err := os.ReadFile("/proc/" + pid + "/task/" + pid + "/children")
	if err != nil {
		return nil
	}
	return strings.Fields(string(data))
}

// latencyClient talks to DynamoDB Local through a proxy on loopback that
// holds each request for d before passing it on.
func latencyClient(b *testing.B, d time.Duration) *dynamodb.Client {
	p, err := ddbproxy.New(os.Getenv("AWS_ENDPOINT_URL_DYNAMODB"), ddbproxy.WithLatency(d))
	if err != nil {
		b.Fatal(err)
	}
	srv := httptest.NewServer(p)
	b.Cleanup(srv.Close)
	return proxyClient(b, srv.URL)
}

// proxyClient is a client of its own (its own connections, as a process
// on another machine has) to a proxy's URL.
func proxyClient(b *testing.B, url string) *dynamodb.Client {
	cfg, err := config.LoadDefaultConfig(context.Background())
	if err != nil {
		b.Fatal(err)
	}
	return dynamodb.NewFromConfig(cfg, func(o *dynamodb.Options) {
		o.BaseEndpoint = aws.String(url)
		o.DisableValidateResponseChecksum = true
		// Enough connections for the calls in flight.
		o.HTTPClient = &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}}
	})
}

// expectAllNew scans the tables and fails unless every item's owner is
// the new identity of its old one (fillTable: item i was old-(i mod 1000)).
func expectAllNew(b *testing.B, env *testenv.Env, names []string, per int) {
	b.Helper()
	for _, name := range names {
		n, bad := 0, 0
		p := dynamodb.NewScanPaginator(env.Dynamo, &dynamodb.ScanInput{TableName: aws.String(name), ProjectionExpression: aws.String("id, userID")})
		for p.HasMorePages() {
			page, err := p.NextPage(context.Background())
			if err != nil {
				b.Fatal(err)
			}
			for _, it := range page.Items {
				n++
				i, _ := strconv.Atoi(strings.TrimPrefix(it["id"].(*types.AttributeValueMemberS).Value, "i"))
				if owner, _ := it["userID"].(*types.AttributeValueMemberS); owner == nil || owner.Value != fmt.Sprintf("new-%04d", i%1000) {
					bad++
				}
			}
		}
		if n != per || bad > 0 {
			b.Fatalf("%s: %d items, %d of them not owned by the new identity", name, n, bad)
		}
	}
}

// cpuTime is the process's user and system CPU time so far.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// fillTable writes n items owned by the old users, 25 per BatchWriteItem.
func fillTable(b *testing.B, env *testenv.Env, table string, n int) {
	b.Helper()
	var wg sync.WaitGroup
	batches := make(chan []types.WriteRequest, 64)
	for w := 0; w < 8; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for reqs := range batches {
				for len(reqs) > 0 {
					out, err := env.Dynamo.BatchWriteItem(context.Background(), &dynamodb.BatchWriteItemInput{RequestItems: map[string][]types.WriteRequest{table: reqs}})
					if err != nil {
						b.Error(err)
						return
					}
					reqs = out.UnprocessedItems[table]
				}
			}
		}()
	}
	var batch []types.WriteRequest
	for i := 0; i < n; i++ {
		batch = append(batch, types.WriteRequest{PutRequest: &types.PutRequest{Item: Item{
			"id":     &types.AttributeValueMemberS{Value: fmt.Sprintf("i%07d", i)},
			"userID": &types.AttributeValueMemberS{Value: fmt.Sprintf("old-%04d", i%1000)},
			"title":  &types.AttributeValueMemberS{Value: fmt.Sprintf("item %d with some text to make it a realistic size", i)},
		}}})
		if len(batch) == 25 {
			batches <- batch
			batch = nil
		}
	}
	if len(batch) > 0 {
		batches <- batch
	}
	close(batches)
	wg.Wait()
}
