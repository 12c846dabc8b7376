package s3move

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
)

// smallSpills makes the sets spill every n numbers for one test.
func smallSpills(t *testing.T, n int) {
	old := spillChunk
	spillChunk = n
	t.Cleanup(func() { spillChunk = old })
}

// The on-disk sets answer exactly as a map would, whatever the chunk:
// in memory only, one run, many runs merged over levels, repeats across
// runs, evenly spread hashes and clustered numbers (which defeat the
// interpolation), and leave no file behind.
func TestSpillSets(t *testing.T) {
	for _, chunk := range []int{3, 7, 64, 1 << 20} {
		for _, spread := range []string{"hashes", "clustered"} {
			t.Run(fmt.Sprintf("chunk=%d/%s", chunk, spread), func(t *testing.T) {
				smallSpills(t, chunk)
				journal := filepath.Join(t.TempDir(), "j.jsonl")
				rng := rand.New(rand.NewPCG(1, uint64(chunk)))
				want := map[uint64]bool{}
				h := &hashSet{journal: journal}
				defer h.close()
				for range 3000 {
					v := rng.Uint64()
					if spread == "clustered" {
						v = rng.Uint64N(50) + 1<<40*rng.Uint64N(3)
					}
					want[v] = true
					if err := h.add(v); err != nil {
						t.Fatal(err)
					}
				}
				if err := h.finish(); err != nil {
					t.Fatal(err)
				}
				if h.n != int64(len(want)) {
					t.Errorf("%d numbers, want %d", h.n, len(want))
				}
				probes := []uint64{0, 1, 1<<64 - 1}
				for v := range want {
					probes = append(probes, v, v-1, v+1)
				}
				for range 3000 {
					probes = append(probes, rng.Uint64())
				}
				for _, v := range probes {
					if ok, err := h.has(v); err != nil || ok != want[v] {
						t.Fatalf("has(%d) = %v, %v; want %v", v, ok, err, want[v])
					}
				}
				if h.file != nil {
					if fi, err := h.file.f.Stat(); err != nil || fi.Mode().Perm() != 0o600 {
						t.Errorf("index file: %v, %v; want 0600", fi.Mode(), err)
					}
				}
				h.close()
				if left, _ := filepath.Glob(filepath.Join(filepath.Dir(journal), "*")); len(left) != 0 {
					t.Errorf("files left: %v", left)
				}
			})
		}
	}
}

func TestRisingSet(t *testing.T) {
	for _, chunk := range []int{1, 5, 1 << 20} {
		smallSpills(t, chunk)
		r := &risingSet{journal: filepath.Join(t.TempDir(), "j.jsonl")}
		var added []uint64
		for v := uint64(2); v < 2000; v += 1 + v%7 {
			added = append(added, v)
			if err := r.add(v); err != nil {
				t.Fatal(err)
			}
		}
		for v := uint64(0); v < 2100; v++ {
			_, want := slices.BinarySearch(added, v)
			if ok, err := r.has(v); err != nil || ok != want {
				t.Fatalf("chunk %d: has(%d) = %v, %v; want %v", chunk, v, ok, err, want)
			}
		}
		r.close()
	}
}

// recordingS3 is syntheticS3 that names the destinations it copies to.
type recordingS3 struct {
	syntheticS3
	mu     sync.Mutex
	copied []string
}

func (f *recordingS3) CopyObject(ctx context.Context, in *s3.CopyObjectInput, o ...func(*s3.Options)) (*s3.CopyObjectOutput, error) {
	f.mu.Lock()
	f.copied = append(f.copied, aws.ToString(in.Key))
	f.mu.Unlock()
	return f.syntheticS3.CopyObject(ctx, in, o...)
}

// A resume whose done set spans many spilled runs copies again exactly
// the objects its journal does not settle: not the ones copied and done
// (one of them settled at the journal's very end, its copy long spilled),
// not the ones found already there, but the ones journaled without their
// done and the ones never reached. A done of a record that is no copy,
// far back in the spilled numbers, is still refused.
func TestResumeOverSpilledJournal(t *testing.T) {
	smallSpills(t, 4)
	const n = 300
	old, new := "us-east-1:00000000-0000-0000-0000-000000010000", "us-east-1:00000000-0000-0000-0000-000000020000"
	key := func(id string, i int) string { return fmt.Sprintf("private/%s/photos/2025/%07d.jpg", id, i) }
	journal := filepath.Join(t.TempDir(), "copy.journal.jsonl")
	f, err := os.OpenFile(journal, os.O_CREATE|os.O_WRONLY, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	w := bufio.NewWriter(f)
	enc := json.NewEncoder(w)
	seq := int64(1)
	enc.Encode(Record{Seq: seq, Kind: "start", Run: &RunInfo{Time: time.Unix(0, 0).UTC(), Bucket: "b"}})
	var want []string
	firstCopy := int64(0)
	for i := range n {
		rec := Record{User: "u0", Old: old, New: new, Source: key(old, i), Dest: key(new, i), Size: 123456}
		switch {
		case i%3 == 0: // copied and done
			seq++
			rec.Seq, rec.Kind, rec.SourceETag = seq, "copy", synthETag
			enc.Encode(rec)
			if i == 0 {
				firstCopy = seq // its done comes last
				continue
			}
			seq++
			enc.Encode(Record{Seq: seq, Kind: "done", Ref: seq - 1, ETag: synthETag})
		case i%3 == 1: // found already there
			seq++
			rec.Seq, rec.Kind, rec.ETag = seq, "exists", synthETag
			enc.Encode(rec)
		case i%2 == 0: // journaled, killed before its done: not there
			seq++
			rec.Seq, rec.Kind, rec.SourceETag = seq, "copy", synthETag
			enc.Encode(rec)
			want = append(want, key(new, i))
		default: // never reached
			want = append(want, key(new, i))
		}
	}
	seq++
	enc.Encode(Record{Seq: seq, Kind: "done", Ref: firstCopy, ETag: synthETag})
	w.Flush()
	f.Close()

	api := &recordingS3{syntheticS3: syntheticS3{perUser: n}}
	ts, _ := ParseTemplates([]string{"private/{entity_id}/"})
	res, err := Copy(context.Background(), api, Options{Bucket: "b", Templates: ts, Journal: journal,
		Moves: []Move{{User: "u0", Old: old, New: new}}, Workers: 4})
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(api.copied)
	if !slices.Equal(api.copied, want) {
		t.Errorf("copied again %d objects, want %d:\n got %v\nwant %v", len(api.copied), len(want), api.copied, want)
	}
	if res.Done != int64(2*n/3) || res.Identical != 0 || res.Copied != int64(len(want)) {
		t.Errorf("done %d, identical %d, copied %d; want %d, 0, %d", res.Done, res.Identical, res.Copied, 2*n/3, len(want))
	}
	if left, _ := filepath.Glob(filepath.Join(filepath.Dir(journal), "*.spill-*")); len(left) != 0 {
		t.Errorf("index files left: %v", left)
	}

	// A done of an "exists" record, which is no copy, far back.
	data, _ := os.ReadFile(journal)
	lines := strings.Split(strings.TrimSuffix(string(data), "\n"), "\n")
	var last Record
	json.Unmarshal([]byte(lines[len(lines)-1]), &last)
	forged := recLine(Record{Seq: last.Seq + 1, Kind: "done", Ref: 3, ETag: synthETag}) // seq 3: object 1's "exists"
	os.WriteFile(journal, []byte(string(data)+forged+"\n"), 0o600)
	err = ReadJournal(journal, func(Record) error { return nil })
	if err == nil || !strings.Contains(err.Error(), "record 3, which is no copy before it") {
		t.Errorf("forged done: %v, want a refusal", err)
	}
}

// A spill file a killed run left beside the journal is not read and is
// removed by the next run.
func TestLeftoverSpillIgnored(t *testing.T) {
	smallSpills(t, 2)
	journal := writeJournal(t, start, copyA)
	leftover := filepath.Join(filepath.Dir(journal), filepath.Base(journal)+".spill-123")
	// Were it trusted, it would say every destination is done.
	os.WriteFile(leftover, make([]byte, 8*1024), 0o600)
	api := &recordingS3{syntheticS3: syntheticS3{perUser: 10}}
	ts, _ := ParseTemplates([]string{"private/{entity_id}/"})
	old, new := "us-east-1:00000000-0000-0000-0000-000000010000", "us-east-1:00000000-0000-0000-0000-000000020000"
	if _, err := Copy(context.Background(), api, Options{Bucket: "b", Templates: ts, Journal: journal, Moves: []Move{{User: "u0", Old: old, New: new}}}); err != nil {
		t.Fatal(err)
	}
	if len(api.copied) != 10 {
		t.Errorf("copied %d, want 10", len(api.copied))
	}
	if _, err := os.Stat(leftover); !os.IsNotExist(err) {
		t.Errorf("leftover index: %v, want removed", err)
	}
}
