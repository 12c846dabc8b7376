package dynamo

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/poolmigrate/poolmigrate/testbed/testenv"
)

// BenchmarkRemap remaps 100,000 items spread over four tables on DynamoDB
// Local, after a plain concurrent UpdateItem loop over the same items (the
// emulator's ceiling for one conditional write per item), both with 32
// writes in flight, and prints both rates, their ratio and the remap's peak
// heap. POOLMIGRATE_BENCH_ITEMS
// changes the size. Needs the test bed: scripts/bench.sh.
func BenchmarkRemap(b *testing.B) {
	env := testenv.Require(b)
	ctx := context.Background()
	total := 100000
	if s := os.Getenv("POOLMIGRATE_BENCH_ITEMS"); s != "" {
		total, _ = strconv.Atoi(s)
	}
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
	const workers = 32

	// The ceiling: one conditional UpdateItem per item, as many at a time
	// as the remap runs, measured before and after the remap (the machine's
	// 2 cores drift) and averaged.
	plainPass := func(mark string) time.Duration {
		start := time.Now()
		var wg sync.WaitGroup
		jobs := make(chan [2]string, 1024)
		for w := 0; w < workers; w++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for j := range jobs {
					_, err := env.Dynamo.UpdateItem(ctx, &dynamodb.UpdateItemInput{TableName: aws.String(j[0]), Key: Item{"id": &types.AttributeValueMemberS{Value: j[1]}},
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
	cpu0 := cpuTime()
	before := plainPass("1")
	plainCPU := cpuTime() - cpu0

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
	cpu1 := cpuTime()
	// As `poolmigrate remap` does: the tables at once, sharing 32 writes
	// in flight.
	var changed atomic.Int64
	var twg sync.WaitGroup
	slots := make(chan struct{}, workers)
	for _, name := range names {
		twg.Add(1)
		go func(name string) {
			defer twg.Done()
			res, err := RemapTable(ctx, env.Dynamo, Spec{Table: name, Owners: []OwnerAttr{{Attr: "userID", Claim: "sub"}}}, rw, RemapOptions{Journal: j, Workers: workers, Segments: 4, Slots: slots})
			if err != nil {
				b.Error(err)
			}
			changed.Add(res.Changed)
		}(name)
	}
	twg.Wait()
	elapsed := time.Since(start)
	remapCPU := cpuTime() - cpu1
	close(stop)
	if changed.Load() != int64(per*tables) {
		b.Fatalf("remapped %d of %d items", changed.Load(), per*tables)
	}
	after := plainPass("2")
	plain := float64(per*tables) / ((before + after) / 2).Seconds()
	remap := float64(changed.Load()) / elapsed.Seconds()
	b.ReportMetric(remap, "remap-items/s")
	b.ReportMetric(plain, "plain-updates/s")
	b.ReportMetric(remap/plain, "ratio")
	b.ReportMetric(float64(peak.Load())/(1<<20), "peak-heap-MiB")
	// The tool's own CPU per item: on a 2-core machine it is taken from
	// DynamoDB Local.
	b.ReportMetric(float64(plainCPU.Microseconds())/float64(per*tables), "plain-cpu-µs/item")
	b.ReportMetric(float64(remapCPU.Microseconds())/float64(changed.Load()), "remap-cpu-µs/item")
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
