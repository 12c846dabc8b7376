package s3move

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
)

// syntheticS3 answers the listing of perUser objects under each old
// prefix (generated, nothing stored) and an empty new prefix, and takes
// every CopyObject: the engine's own cost, no server.
type syntheticS3 struct {
	API
	perUser int
}

const synthETag = `"0123456789abcdef0123456789abcdef"`

func (f *syntheticS3) ListObjectsV2(_ context.Context, in *s3.ListObjectsV2Input, _ ...func(*s3.Options)) (*s3.ListObjectsV2Output, error) {
	prefix := aws.ToString(in.Prefix)
	out := &s3.ListObjectsV2Output{}
	if !strings.Contains(prefix, "00000000-0000-0000-0000-00000001") { // a new prefix: empty
		return out, nil
	}
	start, _ := strconv.Atoi(aws.ToString(in.ContinuationToken))
	end := min(start+1000, f.perUser)
	for i := start; i < end; i++ {
		out.Contents = append(out.Contents, types.Object{Key: aws.String(fmt.Sprintf("%sphotos/2025/%07d.jpg", prefix, i)), Size: aws.Int64(123456), ETag: aws.String(synthETag)})
	}
	if end < f.perUser {
		out.IsTruncated, out.NextContinuationToken = aws.Bool(true), aws.String(strconv.Itoa(end))
	}
	return out, nil
}

func (f *syntheticS3) CopyObject(context.Context, *s3.CopyObjectInput, ...func(*s3.Options)) (*s3.CopyObjectOutput, error) {
	return &s3.CopyObjectOutput{CopyObjectResult: &types.CopyObjectResult{ETag: aws.String(synthETag)}}, nil
}

// BenchmarkCopyMemory copies 10,000 and 100,000 objects (1,000,000 with
// POOLMIGRATE_BENCH_OBJECTS=1000000), 100 users' worth, from a synthetic
// listing, then runs the copy again on its journal (a resume with
// everything done). It reports the peak Go heap of each (sampled every
// 10 ms), the rate of each and the journal's size per object.
func BenchmarkCopyMemory(b *testing.B) {
	sizes := []int{10_000, 100_000}
	if s := os.Getenv("POOLMIGRATE_BENCH_OBJECTS"); s != "" {
		if n, err := strconv.Atoi(s); err == nil && n > 0 {
			sizes = append(sizes, n)
		}
	}
	ts, _ := ParseTemplates([]string{"private/{entity_id}/"})
	for _, n := range sizes {
		b.Run(fmt.Sprintf("objects=%d", n), func(b *testing.B) {
			const users = 100
			var moves []Move
			for u := range users {
				moves = append(moves, Move{User: fmt.Sprintf("u%d", u), Old: fmt.Sprintf("us-east-1:00000000-0000-0000-0000-00000001%04d", u), New: fmt.Sprintf("us-east-1:00000000-0000-0000-0000-00000002%04d", u)})
			}
			api := &syntheticS3{perUser: n / users}
			for range b.N {
				journal := filepath.Join(b.TempDir(), "j.jsonl")
				var peak uint64
				run := func() (Result, time.Duration, uint64) {
					runtime.GC()
					var stop atomic.Bool
					done := make(chan uint64)
					go func() {
						var max uint64
						var ms runtime.MemStats
						for !stop.Load() {
							runtime.ReadMemStats(&ms)
							max = maxU(max, ms.HeapAlloc)
							time.Sleep(10 * time.Millisecond)
						}
						done <- max
					}()
					start := time.Now()
					res, err := Copy(context.Background(), api, Options{Bucket: "b", Templates: ts, Moves: moves, Journal: journal})
					took := time.Since(start)
					stop.Store(true)
					peak = <-done
					if err != nil {
						b.Fatal(err)
					}
					return res, took, peak
				}
				res, took, copyPeak := run()
				if res.Copied != int64(n) {
					b.Fatalf("copied %d of %d", res.Copied, n)
				}
				fi, _ := os.Stat(journal)
				again, resumeTook, resumePeak := run()
				if again.Copied != 0 {
					b.Fatalf("the resume copied %d again", again.Copied)
				}
				b.ReportMetric(float64(n)/took.Seconds(), "objects/s")
				b.ReportMetric(float64(n)/resumeTook.Seconds(), "resume-objects/s")
				b.ReportMetric(float64(copyPeak)/(1<<20), "copy-peak-MiB")
				b.ReportMetric(float64(resumePeak)/(1<<20), "resume-peak-MiB")
				b.ReportMetric(float64(fi.Size())/float64(n), "journal-B/object")
			}
		})
	}
}

func maxU(a, b uint64) uint64 {
	if a > b {
		return a
	}
	return b
}
