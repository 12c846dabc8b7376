package s3move

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/poolmigrate/poolmigrate/testbed/testenv"
)

// slowS3 is the test bed's S3 server behind a proxy that holds every
// request for latency (what a call to AWS costs from a laptop), and a
// client of it built as the tool builds its own.
func slowS3(b *testing.B, latency time.Duration) *s3.Client {
	b.Helper()
	target, err := url.Parse(os.Getenv("AWS_ENDPOINT_URL_S3"))
	if err != nil || target.Host == "" {
		testenv.Skip(b, "the test bed's S3 server is not running")
	}
	// The request keeps the Host the client signed.
	rp := &httputil.ReverseProxy{Rewrite: func(pr *httputil.ProxyRequest) { pr.SetURL(target); pr.Out.Host = pr.In.Host }}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		time.Sleep(latency)
		rp.ServeHTTP(w, r)
	}))
	b.Cleanup(srv.Close)
	cfg, err := config.LoadDefaultConfig(context.Background())
	if err != nil {
		b.Fatal(err)
	}
	return s3.NewFromConfig(cfg, func(o *s3.Options) { o.UsePathStyle = true; o.BaseEndpoint = aws.String(srv.URL) })
}

// BenchmarkCopyVsSequentialLoop copies 20 users' 25 files each through a
// 5 ms proxy twice: with a plain sequential ListObjectsV2 + CopyObject
// loop, and with Copy (journaled, checked, 16 at once). It reports both
// rates and their ratio (issue 22 asks for at least 8×), and the rate of
// a plain loop with 16 CopyObject calls in flight, no journal nor checks:
// what the server allows at that concurrency, the ceiling of Copy's.
func BenchmarkCopyVsSequentialLoop(b *testing.B) {
	bed := &bed{c: testenv.S3Client(b)}
	bed.bucket = testenv.NewBucket(b, bed.c)
	const users, files = 20, 25
	var moves []Move
	var objs []testenv.S3Object
	for u := range users {
		m := Move{User: fmt.Sprintf("u%d", u), Old: newID(1000 + u), New: newID(2000 + u)}
		moves = append(moves, m)
		for i := range files {
			k := fmt.Sprintf("private/%s/%03d.jpg", m.Old, i)
			objs = append(objs, testenv.S3Object{Key: k, Body: content(k, 2048)})
		}
	}
	testenv.PutObjects(b, bed.c, bed.bucket, objs...)
	slow := slowS3(b, 5*time.Millisecond)
	ts, _ := ParseTemplates([]string{"private/{entity_id}/"})
	ctx := context.Background()
	b.ResetTimer()
	for n := 0; n < b.N; n++ {
		// The loop: to a third id, so both copy all the files.
		start := time.Now()
		for _, m := range moves {
			prefix := ts[0].Prefix(m.Old)
			for p := s3.NewListObjectsV2Paginator(slow, &s3.ListObjectsV2Input{Bucket: &bed.bucket, Prefix: &prefix}); p.HasMorePages(); {
				page, err := p.NextPage(ctx)
				if err != nil {
					b.Fatal(err)
				}
				for _, o := range page.Contents {
					dest := ts[0].Prefix(newID(3000+n)) + aws.ToString(o.Key)[len(prefix):]
					if _, err := slow.CopyObject(ctx, &s3.CopyObjectInput{Bucket: &bed.bucket, Key: &dest, CopySource: aws.String(copySource(bed.bucket, aws.ToString(o.Key)))}); err != nil {
						b.Fatal(err)
					}
				}
			}
		}
		loop := time.Since(start)
		start = time.Now()
		plainLoop16(b, ctx, slow, bed.bucket, ts[0], moves, newID(4000+n))
		loop16 := time.Since(start)
		start = time.Now()
		res, err := Copy(ctx, slow, Options{Bucket: bed.bucket, Templates: ts, Moves: moves, Journal: fmt.Sprintf("%s/j%d.jsonl", b.TempDir(), n)})
		if err != nil || res.Copied != users*files {
			b.Fatalf("copy: %v, %d copied", err, res.Copied)
		}
		eng := time.Since(start)
		b.StopTimer()
		testenv.EmptyBucket(b, bed.c, bed.bucket)
		testenv.PutObjects(b, bed.c, bed.bucket, objs...)
		b.StartTimer()
		b.ReportMetric(users*files/loop.Seconds(), "loop-objects/s")
		b.ReportMetric(users*files/eng.Seconds(), "copy-objects/s")
		b.ReportMetric(loop.Seconds()/eng.Seconds(), "speedup")
		b.ReportMetric(users*files/loop16.Seconds(), "loop16-objects/s")
		b.ReportMetric(loop.Seconds()/loop16.Seconds(), "loop16-speedup")
	}
}

// plainLoop16 copies every file of the moves to dest's prefix with 16
// CopyObject calls in flight and nothing else.
func plainLoop16(b *testing.B, ctx context.Context, c *s3.Client, bucket string, t Template, moves []Move, dest string) {
	b.Helper()
	keys := make(chan [2]string)
	var wg sync.WaitGroup
	var failed atomic.Value
	for range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for k := range keys {
				if _, err := c.CopyObject(ctx, &s3.CopyObjectInput{Bucket: &bucket, Key: aws.String(k[1]), CopySource: aws.String(copySource(bucket, k[0]))}); err != nil {
					failed.Store(err)
				}
			}
		}()
	}
	for _, m := range moves {
		prefix := t.Prefix(m.Old)
		for p := s3.NewListObjectsV2Paginator(c, &s3.ListObjectsV2Input{Bucket: &bucket, Prefix: &prefix}); p.HasMorePages(); {
			page, err := p.NextPage(ctx)
			if err != nil {
				b.Fatal(err)
			}
			for _, o := range page.Contents {
				keys <- [2]string{aws.ToString(o.Key), t.Prefix(dest) + aws.ToString(o.Key)[len(prefix):]}
			}
		}
	}
	close(keys)
	wg.Wait()
	if err, ok := failed.Load().(error); ok {
		b.Fatal(err)
	}
}
