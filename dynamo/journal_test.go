package dynamo

import (
	"os"
	"path/filepath"
	"sync"
	"testing"
)

func TestJournalSurvivesATornLastLine(t *testing.T) {
	path := filepath.Join(t.TempDir(), "j.jsonl")
	j, err := OpenJournal(path)
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for i := 0; i < 50; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := j.Append(JournalRecord{Table: "Todo", Kind: "update", Key: []byte(`{"id":{"S":"a"}}`), Before: []byte(`{}`), After: []byte(`{"owner":{"S":"new"}}`), Changed: []string{"owner"}}); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	j.Close()
	if fi, _ := os.Stat(path); fi.Mode().Perm() != 0o600 {
		t.Errorf("journal mode %v", fi.Mode().Perm())
	}
	// A crash in the middle of a record.
	f, _ := os.OpenFile(path, os.O_APPEND|os.O_WRONLY, 0)
	f.WriteString(`{"seq":51,"table":"T","ki`)
	f.Close()

	j, err = OpenJournal(path)
	if err != nil {
		t.Fatal(err)
	}
	seq, err := j.Append(JournalRecord{Table: "Todo", Kind: "void", Void: 3})
	j.Close()
	if err != nil || seq != 51 {
		t.Fatalf("append after the torn line: seq %d, %v", seq, err)
	}
	var n int
	var seqs = map[int64]bool{}
	if err := ReadJournal(path, func(r JournalRecord) error { n++; seqs[r.Seq] = true; return nil }); err != nil {
		t.Fatal(err)
	}
	if n != 51 || len(seqs) != 51 {
		t.Errorf("read %d records (%d distinct), want 51", n, len(seqs))
	}
}
