package dynamo

import (
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
)

// journalCheck checks a journal's records as they are read, so a rollback
// refuses a journal it could not undo whole before its first undo: each
// record of a kind rollback knows, with what its undo needs (a table, a
// key, the values before and after, the attributes changed), and
// sequence numbers each used once (concurrent writers append them a
// little out of order, so they need not increase), a void naming a write
// before it.
type journalCheck struct {
	// seqs remembers each sequence number read: a write, a voided write,
	// or another record.
	seqs map[int64]byte
}

const (
	seqWrite byte = iota + 1
	seqVoided
	seqOther
)

func newJournalCheck() *journalCheck { return &journalCheck{seqs: map[int64]byte{}} }

// tableName is DynamoDB's rule for table names.
var tableName = regexp.MustCompile(`^[a-zA-Z0-9_.-]{3,255}$`)

func (c *journalCheck) check(r JournalRecord) error {
	if r.Seq <= 0 {
		if r.Kind == "" {
			return errors.New("not a journal record (no sequence number, no kind)")
		}
		return fmt.Errorf("record without a sequence number (seq %d)", r.Seq)
	}
	if _, ok := c.seqs[r.Seq]; ok {
		return fmt.Errorf("record %d is there twice", r.Seq)
	}
	switch r.Kind {
	case "update", "move":
		if err := checkWrite(r); err != nil {
			return fmt.Errorf("%s record %d: %w", r.Kind, r.Seq, err)
		}
		c.seqs[r.Seq] = seqWrite
	case "void":
		switch c.seqs[r.Void] {
		case seqWrite:
			c.seqs[r.Void] = seqVoided
		case seqVoided:
			return fmt.Errorf("void record %d: record %d is voided twice", r.Seq, r.Void)
		default:
			return fmt.Errorf("void record %d: no write record %d before it to void", r.Seq, r.Void)
		}
		c.seqs[r.Seq] = seqOther
	case "start", "end":
		if r.Run == nil {
			return fmt.Errorf("%s record %d without its run", r.Kind, r.Seq)
		}
		c.seqs[r.Seq] = seqOther
	default:
		return fmt.Errorf("record %d of unknown kind %q", r.Seq, r.Kind)
	}
	return nil
}

// checkWrite checks that a write record holds what its undo needs.
func checkWrite(r JournalRecord) error {
	if !tableName.MatchString(r.Table) {
		return fmt.Errorf("table %q is not a DynamoDB table name", r.Table)
	}
	if err := checkKey("key", r.Key); err != nil {
		return err
	}
	before, err := DecodeItem(r.Before)
	if err != nil {
		return fmt.Errorf("before: %w", err)
	}
	after, err := DecodeItem(r.After)
	if err != nil {
		return fmt.Errorf("after: %w", err)
	}
	if len(r.Changed) == 0 {
		return errors.New("no attribute changed")
	}
	for _, a := range r.Changed {
		if _, ok := after[a]; !ok || a == "" {
			return fmt.Errorf("changed attribute %q has no value after", a)
		}
	}
	if r.Kind == "move" {
		if err := checkKey("newKey", r.NewKey); err != nil {
			return err
		}
		if len(before) == 0 {
			return errors.New("no item before")
		}
	}
	return nil
}

func checkKey(name string, raw json.RawMessage) error {
	if len(raw) == 0 || string(raw) == "null" {
		return fmt.Errorf("no %s", name)
	}
	key, err := DecodeItem(raw)
	if err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	if len(key) == 0 {
		return fmt.Errorf("%s names no attribute", name)
	}
	return nil
}
