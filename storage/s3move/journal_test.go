package s3move

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/poolmigrate/poolmigrate/statedir"
)

func writeJournal(t *testing.T, lines ...string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "copy.journal.jsonl")
	if err := os.WriteFile(p, []byte(strings.Join(lines, "\n")+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func recLine(r Record) string {
	b, _ := json.Marshal(r)
	return string(b)
}

var (
	srcA  = "private/" + idA + "/a.jpg"
	destA = "private/" + idB + "/a.jpg"
	start = recLine(Record{Seq: 1, Kind: "start", Run: &RunInfo{Time: time.Unix(0, 0).UTC(), Bucket: "b"}})
	copyA = recLine(Record{Seq: 2, Kind: "copy", User: "alice", Old: idA, New: idB, Source: srcA, Dest: destA, Size: 3, SourceETag: `"e"`})
)

// A journal that would let rollback delete something the copy did not
// make is refused, naming the file and the line.
func TestReadJournalRefuses(t *testing.T) {
	for name, c := range map[string]struct {
		line, says string
	}{
		"dest under another id": {recLine(Record{Seq: 3, Kind: "copy", Old: idA, New: idB, Source: srcA, Dest: "private/" + idC + "/a.jpg"}), "is not source"},
		"dest another key":      {recLine(Record{Seq: 3, Kind: "copy", Old: idA, New: idB, Source: srcA, Dest: "private/" + idB + "/b.jpg"}), "is not source"},
		"bad id":                {recLine(Record{Seq: 3, Kind: "copy", Old: idA, New: "us-east-1:../x", Source: srcA, Dest: "private/us-east-1:../x/a.jpg"}), "not a Cognito identity id"},
		"done of nothing":       {recLine(Record{Seq: 3, Kind: "done", Ref: 1}), "no copy before it"},
		"seq going back":        {recLine(Record{Seq: 2, Kind: "done", Ref: 2}), "must rise"},
		"unknown kind":          {recLine(Record{Seq: 3, Kind: "delete", Dest: destA}), "unknown kind"},
		"duplicate key":         {`{"seq":3,"kind":"done","ref":2,"ref":5}`, "twice"},
		"key in another case":   {`{"seq":3,"kind":"done","Ref":2}`, "another case"},
		"not json":              {`{"seq":3,`, "not a copy journal record"},
	} {
		p := writeJournal(t, start, copyA, c.line)
		n := 0
		err := ReadJournal(p, func(Record) error { n++; return nil })
		if err == nil || !strings.Contains(err.Error(), c.says) || !strings.Contains(err.Error(), p) || !strings.Contains(err.Error(), "line 3") {
			t.Errorf("%s: %v, want a refusal saying %q at %s line 3", name, err, c.says, p)
		}
	}
}

// A line a crash cut short is dropped when the journal is opened again,
// and the journal is 0600.
func TestJournalTornTailAndMode(t *testing.T) {
	p := writeJournal(t, start, copyA)
	f, _ := os.OpenFile(p, os.O_APPEND|os.O_WRONLY, 0o644)
	f.WriteString(`{"seq":3,"kind":"do`)
	f.Close()
	os.Chmod(p, 0o644)
	st, err := readState(p)
	if err != nil {
		t.Fatal(err)
	}
	j, err := openJournal(p, st.last)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := j.append(Record{Kind: "done", Ref: 2, ETag: `"e"`}); err != nil {
		t.Fatal(err)
	}
	j.close()
	var kinds []string
	if err := ReadJournal(p, func(r Record) error { kinds = append(kinds, r.Kind); return nil }); err != nil {
		t.Fatal(err)
	}
	if strings.Join(kinds, ",") != "start,copy,done" {
		t.Errorf("records %v", kinds)
	}
	if fi, _ := os.Stat(p); fi.Mode().Perm() != 0o600 {
		t.Errorf("journal mode %v, want 0600", fi.Mode().Perm())
	}
}

// What a resume learns: a done copy is settled, a copy without its done
// is unsettled (with the ETag a multipart copy expected), an open upload
// is to be aborted.
func TestReadState(t *testing.T) {
	srcB, destB := "private/"+idA+"/b.bin", "private/"+idB+"/b.bin"
	srcC, destC := "private/"+idA+"/c.bin", "private/"+idB+"/c.bin"
	p := writeJournal(t, start, copyA,
		recLine(Record{Seq: 3, Kind: "copy", Old: idA, New: idB, Source: srcB, Dest: destB}),
		recLine(Record{Seq: 4, Kind: "upload", Ref: 3, UploadID: "u1"}),
		recLine(Record{Seq: 5, Kind: "parts", Ref: 3, ETag: `"x-2"`}),
		recLine(Record{Seq: 6, Kind: "done", Ref: 2, ETag: `"e"`}),
		recLine(Record{Seq: 7, Kind: "exists", Old: idA, New: idB, Source: srcC, Dest: destC}),
	)
	st, err := readState(p)
	if err != nil {
		t.Fatal(err)
	}
	defer st.close()
	isDone := func(dest string) bool {
		ok, err := st.isDone(dest)
		if err != nil {
			t.Fatal(err)
		}
		return ok
	}
	if !isDone(destA) || !isDone(destC) || isDone(destB) {
		t.Errorf("done: %v", st.done.mem)
	}
	if u, ok := st.unsettled[destB]; !ok || u.seq != 3 || u.expectETag != `"x-2"` || len(st.unsettled) != 1 {
		t.Errorf("unsettled: %v", st.unsettled)
	}
	if len(st.uploads) != 1 || st.uploads[0].UploadID != "u1" || st.uploads[0].Dest != destB {
		t.Errorf("uploads: %+v", st.uploads)
	}
	if st.last != 7 || st.first == nil || st.first.Bucket != "b" {
		t.Errorf("last %d first %+v", st.last, st.first)
	}
}

// One writer per journal: a copy or a rollback of a journal another run
// holds is refused before anything is read or sent.
func TestJournalIsLocked(t *testing.T) {
	p := writeJournal(t, start, copyA)
	held, err := statedir.LockFile(p, "storage copy --worker 0/2")
	if err != nil {
		t.Fatal(err)
	}
	defer held.Unlock()
	var api API // nil: any call panics
	ts, _ := ParseTemplates([]string{"private/{entity_id}/"})
	_, err = Copy(context.Background(), api, Options{Bucket: "b", Templates: ts, Moves: []Move{{User: "alice", Old: idA, New: idB}}, Journal: p})
	if !statedir.IsLocked(err) || !strings.Contains(err.Error(), "storage copy --worker 0/2") {
		t.Errorf("copy: %v, want refused as locked", err)
	}
	if _, err := Rollback(context.Background(), api, p, RollbackOptions{}); !statedir.IsLocked(err) {
		t.Errorf("rollback: %v, want refused as locked", err)
	}
}

func TestDropTornTail(t *testing.T) {
	long := strings.Repeat("x", 100<<10)
	for name, c := range map[string]struct{ in, want string }{
		"whole":               {"a\nb\n", "a\nb\n"},
		"torn":                {"a\nb", "a\n"},
		"only a torn line":    {"abc", ""},
		"long torn line":      {"a\n" + long, "a\n"},
		"long line then torn": {long + "\n" + long, long + "\n"},
		"empty":               {"", ""},
	} {
		p := filepath.Join(t.TempDir(), "j")
		os.WriteFile(p, []byte(c.in), 0o600)
		if err := dropTornTail(p); err != nil {
			t.Fatal(err)
		}
		if got, _ := os.ReadFile(p); string(got) != c.want {
			t.Errorf("%s: %d bytes left, want %d", name, len(got), len(c.want))
		}
	}
}
