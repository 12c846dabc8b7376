package dynamo

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
)

// FuzzReadJournal: whatever a journal file holds, ReadJournal returns (no
// panic, no unbounded read), hands on only records rollback can undo, and
// the tail repair leaves whole lines only. Seeds: testdata/fuzz.
func FuzzReadJournal(f *testing.F) {
	f.Add([]byte(recStart + "\n" + recUpdate + "\n" + recMove + "\n" + recVoid + "\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		path := filepath.Join(t.TempDir(), "j.journal.jsonl")
		if err := os.WriteFile(path, data, 0o600); err != nil {
			t.Fatal(err)
		}
		c := newJournalCheck()
		err := ReadJournal(path, func(r JournalRecord) error {
			if r.IsWrite() {
				if _, err := undoable(r); err != nil {
					t.Fatalf("record %d handed on, yet its undo fails: %v", r.Seq, err)
				}
			}
			// Records handed on pass a fresh check in the same order.
			if err := c.check(r); err != nil {
				t.Fatalf("record %d handed on, yet: %v", r.Seq, err)
			}
			return nil
		})
		_ = err
		if err := dropTornTail(path); err != nil {
			t.Fatal(err)
		}
		got, _ := os.ReadFile(path)
		if !bytes.HasPrefix(data, got) || (len(got) > 0 && got[len(got)-1] != '\n') || bytes.IndexByte(data[len(got):], '\n') >= 0 {
			t.Fatalf("tail repair left %q of %q", got, data)
		}
	})
}

// undoable decodes what undo decodes, without calling DynamoDB.
func undoable(r JournalRecord) (string, error) {
	for _, raw := range []([]byte){r.Key, r.Before, r.After} {
		if _, err := DecodeItem(raw); err != nil {
			return "", err
		}
	}
	key, _ := DecodeItem(r.Key)
	if r.Kind == "move" {
		if _, err := DecodeItem(r.NewKey); err != nil {
			return "", err
		}
	}
	return firstKeyName(key), nil
}
