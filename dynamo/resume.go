package dynamo

import (
	"context"
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
	entries []unsettledWrite // sorted by key, then seq
	// twice are the records of items journaled more than once from the
	// same values, grouped by item.
	twice [][]JournalRecord
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
		return nil, err // ReadJournal's errors name the journal and the line
	}
	u := &Unsettled{}
	for _, w := range writes {
		if !voided[w.seq] {
			u.entries = append(u.entries, w)
		}
	}
	sort.Slice(u.entries, func(i, j int) bool {
		a, b := u.entries[i], u.entries[j]
		return a.key < b.key || (a.key == b.key && a.seq < b.seq)
	})
	// Items journaled more than once from the same values (a resume wrote
	// one again, and was killed before it voided the earlier record): kept
	// whole, to be settled by Reconcile. They are few: at most the writes
	// in flight when a run was killed.
	again := map[int64]bool{}
	for i := 1; i < len(u.entries); i++ {
		if a, b := u.entries[i-1], u.entries[i]; a.key == b.key && a.before == b.before {
			again[a.seq], again[b.seq] = true, true
		}
	}
	if len(again) > 0 {
		groups := map[[2]uint64][]JournalRecord{}
		var order [][2]uint64
		err := ReadJournal(path, func(r JournalRecord) error {
			if r.IsWrite() && again[r.Seq] {
				k := [2]uint64{recordKeyHash(r.Kind, r.Table, r.Key), hashBytes(r.Before)}
				if groups[k] == nil {
					order = append(order, k)
				}
				groups[k] = append(groups[k], r)
			}
			return nil
		})
		if err != nil {
			return nil, err
		}
		for _, k := range order {
			u.twice = append(u.twice, groups[k])
		}
	}
	return u, nil
}

// Reconcile settles the items an unfinished run journaled more than once
// (each record from the same values): the record whose values the item
// holds is the write that was made, and every other can never be made (its
// condition wants the values the made write replaced), so it is voided.
// When the item holds none of them (the app changed it since), all stay:
// rollback checks each against the item.
func (u *Unsettled) Reconcile(ctx context.Context, api TableAPI, j *Journal) error {
	for _, recs := range u.twice {
		made := -1
		for i, r := range recs {
			ok, err := holdsWrite(ctx, api, r)
			if err != nil {
				return err
			}
			if ok {
				made = i // the last that matches: writes of items without _version are alike
			}
		}
		if made < 0 {
			continue
		}
		for i, r := range recs {
			if i == made {
				continue
			}
			if _, err := j.Append(JournalRecord{Table: r.Table, Kind: "void", Void: r.Seq}); err != nil {
				return fmt.Errorf("%w: %v", errJournal, err)
			}
		}
	}
	return nil
}

// holdsWrite tells whether the table holds what a journaled write wrote.
func holdsWrite(ctx context.Context, api TableAPI, r JournalRecord) (bool, error) {
	key := r.Key
	if r.Kind == "move" {
		key = r.NewKey
	}
	k, err := DecodeItem(key)
	if err != nil {
		return false, err
	}
	after, err := DecodeItem(r.After)
	if err != nil {
		return false, err
	}
	cur, err := getItem(ctx, api, r.Table, k)
	if err != nil {
		return false, err
	}
	return cur != nil && holds(cur, after, r.Changed), nil
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
