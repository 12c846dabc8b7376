package migration

import (
	"context"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/poolmigrate/poolmigrate/dynamo"
)

// A worker's journal remembers its split: the worker started again with
// other --segments (which would leave segments to no worker) is refused
// before it writes.
func TestWorkerJournalRefusesAnotherSplit(t *testing.T) {
	path := filepath.Join(t.TempDir(), "p.worker-1-of-3.journal.jsonl")
	run := func(segments int) error {
		j, err := dynamo.OpenJournal(path)
		if err != nil {
			t.Fatal(err)
		}
		defer j.Close()
		_, err = Remap(context.Background(), nil, nil, &SubMap{}, dynamo.RemapOptions{Journal: j, Segments: segments, Share: dynamo.Share{Worker: 1, Of: 3}})
		return err
	}
	if err := run(6); err != nil {
		t.Fatal(err)
	}
	if err := run(6); err != nil {
		t.Fatalf("the same split again: %v", err)
	}
	err := run(9)
	if err == nil || !strings.Contains(err.Error(), "--segments 6 --worker 1/3") {
		t.Fatalf("another split: %v", err)
	}
	starts := 0
	if err := dynamo.ReadJournal(path, func(r dynamo.JournalRecord) error {
		if r.Kind == "start" {
			starts++
		}
		return nil
	}); err != nil || starts != 2 {
		t.Errorf("%d runs recorded (%v), want 2: the refused run must write nothing", starts, err)
	}
}

// verify's reading of journals: what each worker's says of its last run,
// and the workers of a split with no journal found.
func TestJournalStatesSayWhatIsLeft(t *testing.T) {
	dir := t.TempDir()
	journal := func(name string, recs ...dynamo.JournalRecord) string {
		p := filepath.Join(dir, name)
		j, err := dynamo.OpenJournal(p)
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range recs {
			if _, err := j.Append(r); err != nil {
				t.Fatal(err)
			}
		}
		j.Close()
		return p
	}
	start := func(k int) dynamo.JournalRecord {
		return dynamo.JournalRecord{Kind: "start", Run: &dynamo.RunInfo{Segments: 8, Share: dynamo.Share{Worker: k, Of: 4}}}
	}
	write := dynamo.JournalRecord{Table: "T", Kind: "update", Key: []byte(`{"id":{"S":"a"}}`), Before: []byte(`{}`), After: []byte(`{}`)}
	end := func(failed int64) dynamo.JournalRecord {
		return dynamo.JournalRecord{Kind: "end", Run: &dynamo.RunInfo{Changed: 5, Failed: failed}}
	}
	paths := []string{
		journal("p.worker-0-of-4.journal.jsonl", start(0), write, end(0)),
		journal("p.worker-1-of-4.journal.jsonl", start(1), write, end(2)),
		journal("p.worker-3-of-4.journal.jsonl", start(3), write, end(0), start(3), write),
	}
	// A crash tore worker 3's last line: its last complete record counts.
	f, _ := os.OpenFile(paths[2], os.O_APPEND|os.O_WRONLY, 0)
	f.WriteString(`{"seq":9,"kind":"upd`)
	f.Close()
	states, notes, err := JournalStates(paths)
	if err != nil {
		t.Fatal(err)
	}
	got := []string{}
	for _, s := range states {
		got = append(got, s.Worker+" "+map[bool]string{true: "finished", false: "not finished"}[s.Finished])
	}
	if want := []string{"0/4 finished", "1/4 finished", "3/4 not finished"}; !reflect.DeepEqual(got, want) || states[1].Failed != 2 || states[0].Changed != 5 {
		t.Errorf("states %v: %+v", got, states)
	}
	joined := strings.Join(notes, "\n")
	for _, want := range []string{"worker 1/4 (" + paths[1] + "): the last run left 2 failed", "worker 3/4 (" + paths[2] + "): the last run did not finish", "no journal here of worker [2/4]"} {
		if !strings.Contains(joined, want) {
			t.Errorf("notes lack %q:\n%s", want, joined)
		}
	}
	if len(notes) != 3 {
		t.Errorf("%d notes, want 3:\n%s", len(notes), joined)
	}
}
