package dynamo

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/poolmigrate/poolmigrate/linefile"
)

// JournalRecord is one write, journaled before it is made.
type JournalRecord struct {
	Seq   int64  `json:"seq"`
	Table string `json:"table"`
	// Kind is "update" (attributes rewritten in place), "move" (a key
	// attribute changed: the item was put under its new key and the old one
	// deleted), "void" (the write of record Void was refused, so there is
	// nothing to undo), or "start" and "end", which open and close a run
	// (Run says which share of the tables it took and what it did) and
	// undo nothing.
	Kind   string          `json:"kind"`
	Void   int64           `json:"void,omitempty"`
	Key    json.RawMessage `json:"key"`
	NewKey json.RawMessage `json:"newKey,omitempty"`
	// Before and After are the changed attributes (update) or the whole
	// item (move).
	Before json.RawMessage `json:"before"`
	After  json.RawMessage `json:"after"`
	// Changed names the attributes the write changed; AbsentBefore those of
	// them the item did not have (rollback removes them).
	Changed      []string `json:"changed,omitempty"`
	AbsentBefore []string `json:"absentBefore,omitempty"`
	Run          *RunInfo `json:"run,omitempty"`
}

// RunInfo describes a remap run in its "start" and "end" records.
type RunInfo struct {
	Time time.Time `json:"time"`
	// Segments is how many scan segments each table was split into, Share
	// which of them the run took.
	Segments int      `json:"segments"`
	Share    Share    `json:"share"`
	Tables   []string `json:"tables,omitempty"`
	// What the run did (the "end" record).
	Changed   int64 `json:"changed,omitempty"`
	Failed    int64 `json:"failed,omitempty"`
	Conflicts int64 `json:"conflicts,omitempty"`
}

// IsWrite tells the records of writes (updates and moves) from voids and
// run markers.
func (r JournalRecord) IsWrite() bool { return r.Kind == "update" || r.Kind == "move" }

// Group commit: a batch closes after journalLinger or journalBatch records.
const (
	journalLinger = time.Millisecond
	journalBatch  = 128
)

// Journal is a write-ahead log of remap writes: every record is on disk
// (fsynced) before its write is sent, so a crash at any moment leaves a
// journal that rollback can undo exactly. Concurrent appends share one
// fsync (group commit), so the journal costs little throughput.
type Journal struct {
	path string
	f    *os.File
	reqs chan journalReq
	done chan struct{}
	mu   sync.Mutex
	seq  int64
	// first is the journal's first run, if it had one.
	first *RunInfo
}

type journalReq struct {
	rec JournalRecord
	ack chan error
}

// OpenJournal opens (creating, 0600) a journal for appending. Records of an
// earlier, interrupted run are kept: rollback undoes all of them.
func OpenJournal(path string) (*Journal, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, fmt.Errorf("create journal folder: %w", err)
	}
	var last int64
	var first *RunInfo
	err := ReadJournal(path, func(r JournalRecord) error {
		last = max(last, r.Seq)
		if first == nil && r.Kind == "start" {
			first = r.Run
		}
		return nil
	})
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, err
	}
	if err := dropTornTail(path); err != nil {
		return nil, err
	}
	f, err := os.OpenFile(path, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o600)
	if err != nil {
		return nil, fmt.Errorf("open journal: %w", err)
	}
	if err := f.Chmod(0o600); err != nil {
		f.Close()
		return nil, fmt.Errorf("open journal: %w", err)
	}
	j := &Journal{path: path, f: f, reqs: make(chan journalReq, 256), done: make(chan struct{}), seq: last, first: first}
	go j.commit()
	return j, nil
}

// Path is where the journal lives.
func (j *Journal) Path() string { return j.path }

// FirstRun is the run that started the journal (nil for a new journal, or
// one written before runs were recorded).
func (j *Journal) FirstRun() *RunInfo { return j.first }

// Append writes a record and returns its sequence number once it is
// durable.
func (j *Journal) Append(rec JournalRecord) (int64, error) {
	j.mu.Lock()
	j.seq++
	rec.Seq = j.seq
	j.mu.Unlock()
	ack := make(chan error, 1)
	j.reqs <- journalReq{rec: rec, ack: ack}
	return rec.Seq, <-ack
}

// AppendBatch writes records together and returns their sequence numbers
// once all are durable: they share one fsync.
func (j *Journal) AppendBatch(recs []JournalRecord) ([]int64, error) {
	seqs := make([]int64, len(recs))
	acks := make([]chan error, len(recs))
	j.mu.Lock()
	for i := range recs {
		j.seq++
		recs[i].Seq, seqs[i] = j.seq, j.seq
	}
	j.mu.Unlock()
	for i := range recs {
		acks[i] = make(chan error, 1)
		j.reqs <- journalReq{rec: recs[i], ack: acks[i]}
	}
	var first error
	for _, ack := range acks {
		if err := <-ack; err != nil && first == nil {
			first = err
		}
	}
	return seqs, first
}

// commit writes whatever records are waiting, fsyncs once, and
// acknowledges them all.
func (j *Journal) commit() {
	defer close(j.done)
	w := bufio.NewWriter(j.f)
	for req := range j.reqs {
		batch := []journalReq{req}
		// Linger a moment for more records: one fsync for many writes
		// costs each a little latency and saves most of the fsyncs.
		linger := time.NewTimer(journalLinger)
	more:
		for len(batch) < journalBatch {
			select {
			case r, ok := <-j.reqs:
				if !ok {
					break more
				}
				batch = append(batch, r)
			case <-linger.C:
				break more
			}
		}
		linger.Stop()
		var err error
		for _, r := range batch {
			data, merr := json.Marshal(r.rec)
			if merr != nil {
				err = merr
				break
			}
			if _, werr := w.Write(append(data, '\n')); werr != nil {
				err = werr
				break
			}
		}
		if err == nil {
			err = w.Flush()
		}
		if err == nil {
			err = syncData(j.f)
		}
		if err != nil {
			err = fmt.Errorf("write journal %s: %w", j.path, err)
		}
		for _, r := range batch {
			r.ack <- err
		}
	}
}

// Close stops the journal.
func (j *Journal) Close() error {
	close(j.reqs)
	<-j.done
	return j.f.Close()
}

// ReadJournal streams a journal's records in order, once each is checked
// (checkRecord): a journal that is not whole, or holds a record rollback
// could not undo, is refused at its first bad line, so a rollback that
// reads the whole journal before its first undo undoes all of it or
// nothing. A last line cut short by a crash is ignored: its write was
// never sent. Every error but the file's absence names the file and the
// line.
func ReadJournal(path string, fn func(JournalRecord) error) error {
	f, err := linefile.Open(path, "journal")
	if err != nil {
		return err
	}
	defer f.Close()
	r := linefile.NewReader(f, 0)
	c := newJournalCheck()
	for {
		line, err := r.Next()
		switch {
		case err == io.EOF, errors.Is(err, linefile.ErrTornLine):
			return nil
		case err != nil:
			var tl *linefile.TooLongError
			if !errors.As(err, &tl) {
				return journalError(path, r.Line()+1, fmt.Errorf("read: %w", err), "the disk or file system failed to read it: copy the journal to a healthy disk and run again")
			}
			return journalError(path, r.Line(), err, journalHint)
		}
		var rec JournalRecord
		if err := linefile.DecodeJSON(line, &rec); err != nil {
			return journalError(path, r.Line(), fmt.Errorf("not a journal record: %w", err), journalHint)
		}
		if err := c.check(rec); err != nil {
			return journalError(path, r.Line(), err, journalHint)
		}
		if err := fn(rec); err != nil {
			return err
		}
	}
}

// journalHint says what to do with a journal poolmigrate did not write as
// it is.
const journalHint = "nothing was changed; the journal was altered or is not a remap journal: restore it from a copy, or pass the journal remap wrote"

func journalError(path string, line int, err error, hint string) error {
	return &linefile.Error{What: "journal", Path: path, Line: line, Err: err, Hint: hint}
}

// dropTornTail cuts a last line that a crash left half-written, so new
// records start on a line of their own. Its write was never sent: the
// record is fsynced before the write goes out.
func dropTornTail(path string) error { return linefile.DropTornTail(path, "journal") }

// JournalRuns reads what a journal says of its runs without reading its
// writes: the share of its first run (its first record) and the outcome of
// its last (its last record, an "end" when that run finished). A journal of
// millions of writes is read in two short reads. first or last is nil when
// the journal has no such record.
func JournalRuns(path string) (first, last *RunInfo, finished bool, err error) {
	f, err := linefile.Open(path, "journal")
	if err != nil {
		return nil, nil, false, err
	}
	defer f.Close()
	line, err := linefile.NewReader(f, 0).Next()
	if err == io.EOF || errors.Is(err, linefile.ErrTornLine) {
		return nil, nil, false, nil // empty, or one torn line: no run recorded
	}
	if err != nil {
		return nil, nil, false, journalError(path, 1, err, journalHint)
	}
	var rec JournalRecord
	if err := linefile.DecodeJSON(line, &rec); err != nil {
		return nil, nil, false, journalError(path, 1, fmt.Errorf("not a journal record: %w", err), journalHint)
	}
	if rec.Kind == "start" {
		first = rec.Run
	}
	line, err = lastLine(f)
	if err == nil {
		rec = JournalRecord{}
		err = linefile.DecodeJSON(line, &rec)
	}
	if err != nil {
		return first, nil, false, fmt.Errorf("journal %s, last line: %w; %s", path, err, journalHint)
	}
	if rec.Kind == "end" {
		return first, rec.Run, true, nil
	}
	return first, nil, false, nil
}

// lastLine returns the last complete line of a file, reading backwards;
// a line longer than linefile.MaxLine is refused.
func lastLine(f *os.File) ([]byte, error) {
	fi, err := f.Stat()
	if err != nil {
		return nil, err
	}
	end := fi.Size()
	for chunk := int64(4096); ; chunk *= 2 {
		start := max(end-chunk, 0)
		tail := make([]byte, end-start)
		if _, err := f.ReadAt(tail, start); err != nil {
			return nil, err
		}
		// Drop a torn last line (no newline yet), then look for the line
		// before the last newline.
		if i := bytes.LastIndexByte(tail, '\n'); i >= 0 {
			complete := tail[:i]
			if j := bytes.LastIndexByte(complete, '\n'); j >= 0 || start == 0 {
				return complete[j+1:], nil
			}
		}
		if start == 0 {
			return nil, errors.New("no complete line")
		}
		if chunk > 2*linefile.MaxLine {
			return nil, &linefile.TooLongError{Max: linefile.MaxLine}
		}
	}
}
