package dynamo

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/poolmigrate/poolmigrate/linefile"
)

// Records of a journal as remap writes them.
const (
	recStart  = `{"seq":1,"table":"","kind":"start","key":null,"before":null,"after":null,"run":{"time":"2026-12-01T10:00:00Z","segments":1,"share":{"worker":1,"of":1}}}`
	recUpdate = `{"seq":2,"table":"Todo-abc-dev","kind":"update","key":{"id":{"S":"1"}},"before":{"owner":{"S":"old"}},"after":{"owner":{"S":"new"}},"changed":["owner"]}`
	recMove   = `{"seq":3,"table":"Todo-abc-dev","kind":"move","key":{"owner":{"S":"old"}},"newKey":{"owner":{"S":"new"}},"before":{"owner":{"S":"old"}},"after":{"owner":{"S":"new"}},"changed":["owner"]}`
	recVoid   = `{"seq":4,"table":"Todo-abc-dev","kind":"void","void":3,"key":null,"before":null,"after":null}`
)

func writeJournal(t *testing.T, lines ...string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "us-east-1_New.journal.jsonl")
	if err := os.WriteFile(path, []byte(strings.Join(lines, "\n")+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestReadJournalAcceptsWhatRemapWrites(t *testing.T) {
	path := writeJournal(t, recStart, recUpdate, recMove, recVoid)
	os.WriteFile(path, append(must(os.ReadFile(path)), `{"seq":5,"ta`...), 0o600) // torn by a crash
	var kinds []string
	if err := ReadJournal(path, func(r JournalRecord) error { kinds = append(kinds, r.Kind); return nil }); err != nil {
		t.Fatal(err)
	}
	if strings.Join(kinds, ",") != "start,update,move,void" {
		t.Errorf("read %v", kinds)
	}
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

// A journal rollback could not undo whole is refused at its first bad
// line, naming the file and the line, before the first undo (an API that
// fails the test on any call proves none was made), and it is not marked
// rolled back.
func TestRollbackRefusesABadJournalBeforeItsFirstUndo(t *testing.T) {
	upd7 := strings.Replace(recUpdate, `"seq":2`, `"seq":7`, 1)
	cases := map[string]struct {
		line string
		want string
	}{
		"null":               {`null`, "not a journal record"},
		"empty object":       {`{}`, "not a journal record"},
		"unknown kind":       {strings.Replace(upd7, `"update"`, `"upsert"`, 1), `unknown kind "upsert"`},
		"write without key":  {strings.Replace(upd7, `"key":{"id":{"S":"1"}}`, `"key":null`, 1), "no key"},
		"empty key":          {strings.Replace(upd7, `"key":{"id":{"S":"1"}}`, `"key":{}`, 1), "key names no attribute"},
		"no table":           {strings.Replace(upd7, `"Todo-abc-dev"`, `""`, 1), "not a DynamoDB table name"},
		"nothing changed":    {strings.Replace(upd7, `,"changed":["owner"]`, ``, 1), "no attribute changed"},
		"move without key":   {strings.Replace(strings.Replace(recMove, `"seq":3`, `"seq":9`, 1), `"newKey":{"owner":{"S":"new"}},`, ``, 1), "no newKey"},
		"void of nothing":    {strings.Replace(strings.Replace(recVoid, `"void":3`, `"void":77`, 1), `"seq":4`, `"seq":7`, 1), "no write record 77"},
		"void twice":         {strings.Replace(recVoid, `"seq":4`, `"seq":8`, 1), "voided twice"},
		"duplicated record":  {recMove, "record 3 is there twice"},
		"seq zero":           {strings.Replace(recUpdate, `"seq":2`, `"seq":0`, 1), "without a sequence number"},
		"case-variant key":   {strings.Replace(recUpdate, `"kind":"update"`, `"kind":"update","KIND":"start"`, 1), "in another case"},
		"key twice":          {strings.Replace(recUpdate, `"kind":"update"`, `"kind":"update","kind":"start"`, 1), "twice"},
		"start without run":  {`{"seq":8,"kind":"start"}`, "without its run"},
		"not JSON":           {`{"seq":8,`, "not a journal record"},
		"deeply nested JSON": {strings.Repeat("[", 100000) + strings.Repeat("]", 100000), "not a journal record"},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			path := writeJournal(t, recStart, recUpdate, recMove, recVoid, c.line, strings.Replace(recUpdate, `"seq":2`, `"seq":10`, 1))
			_, err := Rollback(context.Background(), noCalls{t: t}, path, nil)
			if err == nil || !strings.Contains(err.Error(), c.want) || !strings.Contains(err.Error(), path+" line 5:") {
				t.Fatalf("rollback said %v; want %q at %s line 5", err, c.want, path)
			}
			if !strings.HasPrefix(err.Error(), "journal "+path+" line 5: ") || strings.Count(err.Error(), path) != 1 {
				t.Errorf("the prefix is not there once: %v", err)
			}
			if _, err := os.Stat(path); err != nil {
				t.Errorf("the journal was renamed: %v", err)
			}
		})
	}
}

// noCalls is a TableAPI that fails the test when an undo is tried.
type noCalls struct {
	TableAPI
	t *testing.T
}

func (n noCalls) UpdateItem(context.Context, *dynamodb.UpdateItemInput, ...func(*dynamodb.Options)) (*dynamodb.UpdateItemOutput, error) {
	n.t.Fatal("the journal was refused, yet rollback undid a write")
	return nil, nil
}

func (n noCalls) TransactWriteItems(context.Context, *dynamodb.TransactWriteItemsInput, ...func(*dynamodb.Options)) (*dynamodb.TransactWriteItemsOutput, error) {
	n.t.Fatal("the journal was refused, yet rollback undid a move")
	return nil, nil
}

// A rollback handed something other than a journal file (a folder, an
// endless device, a pipe) refuses it at once and renames nothing.
func TestRollbackRefusesWhatIsNotAFile(t *testing.T) {
	dir := t.TempDir()
	folder := filepath.Join(dir, "us-east-1_New.journal.jsonl")
	if err := os.Mkdir(folder, 0o700); err != nil {
		t.Fatal(err)
	}
	fifo := filepath.Join(dir, "pipe.journal.jsonl")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	for _, path := range []string{folder, "/dev/zero", fifo} {
		res, err := Rollback(context.Background(), noCalls{t: t}, path, nil)
		if !errors.Is(err, linefile.ErrNotRegular) || !strings.Contains(err.Error(), path) {
			t.Errorf("rollback of %s: %+v, %v", path, res, err)
		}
		if _, err := os.Stat(path + ".rolled-back"); err == nil {
			t.Errorf("%s was marked rolled back", path)
		}
	}
}

// A journal line longer than any remap writes is refused without reading
// it into memory.
func TestReadJournalBoundsItsLines(t *testing.T) {
	path := writeJournal(t, recStart, recUpdate)
	f, _ := os.OpenFile(path, os.O_APPEND|os.O_WRONLY, 0)
	if err := f.Truncate(int64(len(recStart)+len(recUpdate)+2) + linefile.MaxLine + 10); err != nil { // a hole of zeros, no newline
		t.Fatal(err)
	}
	f.WriteString("\n")
	f.Close()
	err := ReadJournal(path, func(JournalRecord) error { return nil })
	var tl *linefile.TooLongError
	if !errors.As(err, &tl) || !strings.Contains(err.Error(), path+" line 3") {
		t.Fatalf("read: %v", err)
	}
}

// The tail repair reads back from the end, and leaves a whole journal as
// it is.
func TestDropTornTail(t *testing.T) {
	for name, c := range map[string]struct{ in, want string }{
		"whole":           {"a\nb\n", "a\nb\n"},
		"torn":            {"a\nb\n{\"seq", "a\nb\n"},
		"only torn":       {"{\"seq", ""},
		"empty":           {"", ""},
		"long torn tail":  {"a\n" + strings.Repeat("x", 200<<10), "a\n"},
		"long whole line": {strings.Repeat("x", 200<<10) + "\n", strings.Repeat("x", 200<<10) + "\n"},
	} {
		path := filepath.Join(t.TempDir(), "j")
		os.WriteFile(path, []byte(c.in), 0o600)
		if err := dropTornTail(path); err != nil {
			t.Fatal(err)
		}
		if got := string(must(os.ReadFile(path))); got != c.want {
			t.Errorf("%s: %q", name, got)
		}
	}
}
