package s3move

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/poolmigrate/poolmigrate/dynamo"
	"github.com/poolmigrate/poolmigrate/linefile"
)

// Record is one line of a copy journal.
//
// A copy is journaled before it is sent ("copy": the destination was
// absent when the run looked), and settled after it ("done", with the
// destination's ETag). A multipart copy journals its upload ("upload")
// once created and the ETag it expects ("parts") before completing it.
// "exists" records a destination that already held the same object (the
// run did not create it, so rollback never deletes it); "conflict" one
// that held another object. "start" and "end" open and close a run.
type Record struct {
	Seq  int64  `json:"seq"`
	Kind string `json:"kind"`
	// Ref is the "copy" record that a "done", "upload" or "parts" settles.
	Ref    int64  `json:"ref,omitempty"`
	User   string `json:"user,omitempty"`
	Old    string `json:"old,omitempty"`
	New    string `json:"new,omitempty"`
	Source string `json:"source,omitempty"`
	Dest   string `json:"dest,omitempty"`
	Size   int64  `json:"size,omitempty"`
	// SourceETag is the source's ETag the copy was bound to
	// (CopySourceIfMatch); ETag is the destination's (done, exists) or the
	// one a multipart copy expects (parts).
	SourceETag string `json:"sourceETag,omitempty"`
	ETag       string `json:"etag,omitempty"`
	UploadID   string `json:"uploadId,omitempty"`
	// VersionID is the version a copy made (done), in a versioned bucket.
	VersionID string   `json:"versionId,omitempty"`
	Reason    string   `json:"reason,omitempty"`
	Run       *RunInfo `json:"run,omitempty"`
}

// RunInfo describes a run in its "start" and "end" records.
type RunInfo struct {
	Time      time.Time    `json:"time"`
	Bucket    string       `json:"bucket"`
	Templates []string     `json:"templates,omitempty"`
	Share     dynamo.Share `json:"share"`
	// What the run did (the "end" record).
	Copied    int64 `json:"copied,omitempty"`
	Conflicts int64 `json:"conflicts,omitempty"`
	Failed    int64 `json:"failed,omitempty"`
}

var recordKinds = map[string]bool{"start": true, "end": true, "copy": true, "done": true, "upload": true, "parts": true, "exists": true, "conflict": true}

// journal is a write-ahead log of copies: a record is on disk (fsynced)
// before the call it announces is sent. Concurrent appends share one
// fsync (group commit).
type journal struct {
	path string
	f    *os.File
	reqs chan journalReq
	done chan struct{}
	mu   sync.Mutex
	seq  int64
}

type journalReq struct {
	rec Record
	ack chan error
}

// openJournal opens (creating, 0600) a journal for appending after its
// last record; a last line a crash cut short is dropped (its call was
// never sent).
func openJournal(path string, last int64) (*journal, error) {
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
	j := &journal{path: path, f: f, reqs: make(chan journalReq, 256), done: make(chan struct{}), seq: last}
	go j.commit()
	return j, nil
}

// append writes a record and returns its sequence number once durable.
func (j *journal) append(rec Record) (int64, error) {
	j.mu.Lock()
	j.seq++
	rec.Seq = j.seq
	ack := make(chan error, 1)
	// Sent under the lock, so records reach the file in seq order.
	j.reqs <- journalReq{rec: rec, ack: ack}
	j.mu.Unlock()
	return rec.Seq, <-ack
}

func (j *journal) commit() {
	defer close(j.done)
	w := bufio.NewWriter(j.f)
	for req := range j.reqs {
		batch := []journalReq{req}
	more:
		for len(batch) < 128 {
			select {
			case r, ok := <-j.reqs:
				if !ok {
					break more
				}
				batch = append(batch, r)
			default:
				break more
			}
		}
		var err error
		for _, r := range batch {
			data, merr := json.Marshal(r.rec)
			if merr != nil {
				err = merr
				break
			}
			if _, err = w.Write(append(data, '\n')); err != nil {
				break
			}
		}
		if err == nil {
			err = w.Flush()
		}
		if err == nil {
			err = j.f.Sync()
		}
		if err != nil {
			err = fmt.Errorf("write journal %s: %w", j.path, err)
		}
		for _, r := range batch {
			r.ack <- err
		}
	}
}

func (j *journal) close() error {
	close(j.reqs)
	<-j.done
	return j.f.Close()
}

// ReadJournal streams a copy journal's records in order, each checked: a
// journal that is not whole, or holds a record a rollback could not trust
// (a destination that is not its source under the new id, a reference to
// no copy), is refused at its first bad line, naming the file and the
// line. A last line cut short by a crash is ignored: its call was never
// sent.
func ReadJournal(path string, fn func(Record) error) error {
	// The copies' sequence numbers, rising: the last ones in memory, the
	// rest on disk (risingSet), so a journal of any length is read in
	// the same memory.
	copies := &risingSet{journal: path}
	defer copies.close()
	var last int64
	var ioErr error
	err := linefile.ScanRecords(path, "journal", "copy journal record", journalHint, 1<<20, func(rec *Record) error {
		isCopy := func(seq int64) bool {
			ok, err := copies.has(uint64(seq))
			ioErr = cmpOr(ioErr, err)
			return ok
		}
		if err := checkRecord(*rec, last, isCopy); err != nil {
			return err
		}
		if ioErr != nil {
			return ioErr
		}
		last = rec.Seq
		if rec.Kind == "copy" {
			if err := copies.add(uint64(rec.Seq)); err != nil {
				ioErr = err
				return err
			}
		}
		return nil
	}, fn)
	if ioErr != nil {
		// The index beside the journal failed, not the journal.
		return ioErr
	}
	return err
}

// checkRecord checks a record that follows record last; isCopy tells
// whether an earlier record of the journal is a copy.
func checkRecord(r Record, last int64, isCopy func(seq int64) bool) error {
	switch {
	case r.Seq <= last:
		return fmt.Errorf("record %d follows record %d: sequence numbers must rise", r.Seq, last)
	case !recordKinds[r.Kind]:
		return fmt.Errorf("record %d: unknown kind %q", r.Seq, r.Kind)
	case (r.Kind == "start" || r.Kind == "end") && r.Run == nil:
		return fmt.Errorf("record %d: a %s record without its run", r.Seq, r.Kind)
	case (r.Kind == "done" || r.Kind == "upload" || r.Kind == "parts") && (r.Ref <= 0 || !isCopy(r.Ref)):
		return fmt.Errorf("record %d: %s of record %d, which is no copy before it", r.Seq, r.Kind, r.Ref)
	}
	if r.Kind == "copy" || r.Kind == "exists" || r.Kind == "conflict" {
		for _, id := range []string{r.Old, r.New} {
			if err := CheckIdentityID(id); err != nil {
				return fmt.Errorf("record %d: %w", r.Seq, err)
			}
		}
		if !rewrites(r.Source, r.Dest, r.Old, r.New) {
			return fmt.Errorf("record %d: destination %q is not source %q under the new identity id", r.Seq, r.Dest, r.Source)
		}
	}
	return nil
}

// rewrites tells whether dest is source with one identity-id segment
// changed from old to new (the id followed by "/", as Template.Prefix
// puts it).
func rewrites(source, dest, old, new string) bool {
	for i := 0; ; i++ {
		j := strings.Index(source[i:], old)
		if j < 0 {
			return false
		}
		i += j
		rest := source[i+len(old):]
		if strings.HasPrefix(rest, "/") && dest == source[:i]+new+rest {
			return true
		}
	}
}

// journalHint says what to do with a journal the copy did not write as it
// is.
const journalHint = "nothing was changed; the journal was altered or is not a storage copy journal: restore it from a copy, or pass the journal the copy wrote"

// dropTornTail cuts a last line a crash left half-written (its call was
// never sent).
func dropTornTail(path string) error { return linefile.DropTornTail(path, "journal") }

// journalState is what a run needs to know of a journal's earlier runs.
type journalState struct {
	last  int64
	first *RunInfo
	// done are destinations settled: copied by an earlier run, or found
	// holding the same object (their keyHash; isDone). On disk past
	// spillChunk of them: close removes the file.
	done *hashSet
	// unsettled are copies journaled and not settled, by destination.
	unsettled map[string]pendingCopy
	// uploads are multipart uploads created and not settled.
	uploads []Record
}

type pendingCopy struct {
	seq        int64
	expectETag string // the "parts" record's ETag, once journaled
}

// readState reads a journal's state; the caller closes it.
func readState(path string) (*journalState, error) {
	st := &journalState{unsettled: map[string]pendingCopy{}, done: &hashSet{journal: path}}
	byseq := map[int64]Record{}
	uploads := map[int64]Record{}
	err := ReadJournal(path, func(r Record) error {
		st.last = r.Seq
		switch r.Kind {
		case "start":
			if st.first == nil {
				st.first = r.Run
			}
		case "copy":
			byseq[r.Seq] = r
			st.unsettled[r.Dest] = pendingCopy{seq: r.Seq}
		case "parts":
			c := byseq[r.Ref]
			if p, ok := st.unsettled[c.Dest]; ok && p.seq == r.Ref {
				p.expectETag = r.ETag
				st.unsettled[c.Dest] = p
			}
		case "upload":
			uploads[r.Ref] = r
		case "done":
			c := byseq[r.Ref]
			if err := st.done.add(keyHash(c.Dest)); err != nil {
				return err
			}
			if p, ok := st.unsettled[c.Dest]; ok && p.seq == r.Ref {
				delete(st.unsettled, c.Dest)
			}
			delete(byseq, r.Ref)
			delete(uploads, r.Ref)
		case "exists":
			if err := st.done.add(keyHash(r.Dest)); err != nil {
				return err
			}
		}
		return nil
	})
	if err == nil || errors.Is(err, fs.ErrNotExist) {
		err = st.done.finish()
	}
	if err != nil {
		st.close()
		return nil, err
	}
	for _, u := range uploads {
		c := byseq[u.Ref]
		u.Dest = c.Dest
		st.uploads = append(st.uploads, u)
	}
	return st, nil
}

// isDone tells whether dest is settled. An error is the index's on disk.
func (st *journalState) isDone(dest string) (bool, error) {
	return st.done.has(keyHash(dest))
}

// close removes the state's files.
func (st *journalState) close() { st.done.close() }

// keyHash keeps a settled destination in 8 bytes: a resume of millions
// of copies holds their hashes, not their keys.
func keyHash(key string) uint64 {
	h := fnv.New64a()
	h.Write([]byte(key))
	return h.Sum64()
}

// prepareJournalDir makes the journal's folder (0700).
func prepareJournalDir(path string) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return fmt.Errorf("create journal folder: %w", err)
	}
	return nil
}
