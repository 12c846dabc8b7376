package s3move

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"testing"
)

// BenchmarkResumeState reads the journal of a finished copy of 200,000
// objects, as a resume does, and reports the heap it keeps.
func BenchmarkResumeState(b *testing.B) {
	const n = 200_000
	p := filepath.Join(b.TempDir(), "j.jsonl")
	f, _ := os.Create(p)
	w := bufio.NewWriter(f)
	enc := json.NewEncoder(w)
	enc.Encode(Record{Seq: 1, Kind: "start", Run: &RunInfo{Bucket: "b"}})
	for i := range n {
		name := fmt.Sprintf("photos/2025/%07d.jpg", i)
		enc.Encode(Record{Seq: int64(2*i + 2), Kind: "copy", User: "user", Old: idA, New: idB, Source: "private/" + idA + "/" + name, Dest: "private/" + idB + "/" + name, Size: 123456, SourceETag: `"0123456789abcdef0123456789abcdef"`})
		enc.Encode(Record{Seq: int64(2*i + 3), Kind: "done", Ref: int64(2*i + 2), ETag: `"0123456789abcdef0123456789abcdef"`})
	}
	w.Flush()
	fi, _ := f.Stat()
	f.Close()
	b.ResetTimer()
	for range b.N {
		var before, after runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)
		st, err := readState(p)
		if err != nil || st.done.n != n {
			b.Fatal(err)
		}
		runtime.GC()
		runtime.ReadMemStats(&after)
		b.ReportMetric(float64(after.HeapAlloc-before.HeapAlloc)/n, "heap-bytes/object")
		b.ReportMetric(float64(fi.Size())/n, "journal-bytes/object")
		runtime.KeepAlive(st)
		st.close()
	}
}
