package dynamo

import (
	"errors"
	"fmt"
	"hash/fnv"
	"io/fs"
	"sort"
)

// Unsettled indexes the standing writes of a journal's unfinished runs:
// records journaled by a run that was killed (or lost its connection)
// before it learnt whether the write was made. Most were made, and a
// resume finds their items already new. The few whose write was never
// sent (journaled, then killed before the call went out) hold their old
// values still: a resume journals and writes them again, and then voids
// the dead run's record, so that the journal holds one standing record
// for each item written, the one whose values the item holds.
//
// Rollback would be exact without the void (it finds the item not holding
// the dead record's values and leaves it), but a journal claiming two
// writes of one item, one of them with a _lastChangedAt the item never
// held, is not a journal anyone can check.
//
// The index keeps 24 bytes a record (hashes of the item's key and of its
// values before the write), so a resume of millions of journaled writes
// costs tens of megabytes, not the records.
type Unsettled struct {
	entries []unsettledWrite // sorted by key
}

type unsettledWrite struct {
	key, before uint64
	seq         int64
}

// ReadUnsettled reads the standing writes journaled since the journal's
// last finished run (a run that reached its "end" record settled every
// write it journaled: made, or voided). A missing journal has none.
func ReadUnsettled(path string) (*Unsettled, error) {
	var writes []unsettledWrite
	voided := map[int64]bool{}
	err := ReadJournal(path, func(r JournalRecord) error {
		switch {
		case r.Kind == "end":
			writes, voided = writes[:0], map[int64]bool{}
		case r.Kind == "void":
			voided[r.Void] = true
		case r.IsWrite():
			writes = append(writes, unsettledWrite{key: recordKeyHash(r.Kind, r.Table, r.Key), before: hashBytes(r.Before), seq: r.Seq})
		}
		return nil
	})
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("read journal %s: %w", path, err)
	}
	u := &Unsettled{}
	for _, w := range writes {
		if !voided[w.seq] {
			u.entries = append(u.entries, w)
		}
	}
	sort.Slice(u.entries, func(i, j int) bool { return u.entries[i].key < u.entries[j].key })
	return u, nil
}

// Len is how many standing writes of unfinished runs the journal holds.
func (u *Unsettled) Len() int {
	if u == nil {
		return 0
	}
	return len(u.entries)
}

// superseded lists the standing records of earlier, unfinished runs that
// rec writes again: the same kind of write to the same item from the same
// values. The item still held those values when this run read it, so the
// earlier write was never made.
func (u *Unsettled) superseded(rec JournalRecord) []int64 {
	if u.Len() == 0 {
		return nil
	}
	key, before := recordKeyHash(rec.Kind, rec.Table, rec.Key), hashBytes(rec.Before)
	var seqs []int64
	for i := sort.Search(len(u.entries), func(i int) bool { return u.entries[i].key >= key }); i < len(u.entries) && u.entries[i].key == key; i++ {
		if u.entries[i].before == before {
			seqs = append(seqs, u.entries[i].seq)
		}
	}
	return seqs
}

func recordKeyHash(kind, table string, key []byte) uint64 {
	h := fnv.New64a()
	h.Write([]byte(kind))
	h.Write([]byte{0})
	h.Write([]byte(table))
	h.Write([]byte{0})
	h.Write(key)
	return h.Sum64()
}

func hashBytes(b []byte) uint64 {
	h := fnv.New64a()
	h.Write(b)
	return h.Sum64()
}

// supersede voids the earlier, unfinished runs' records of a write this
// run has just made (rec, made: its condition held, so none of them was).
// It is called after the write, not before: should a call of the dead run
// still reach the table, it lands either before this run's conditional
// write (which then fails, and nothing is voided) or after it (and its own
// condition fails).
func (r *remapRun) supersede(rec JournalRecord) error {
	for _, seq := range r.o.Unsettled.superseded(rec) {
		if _, err := r.o.Journal.Append(JournalRecord{Table: rec.Table, Kind: "void", Void: seq}); err != nil {
			return fmt.Errorf("%w: %v", errJournal, err)
		}
	}
	return nil
}
