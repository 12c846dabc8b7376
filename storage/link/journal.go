package link

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/poolmigrate/poolmigrate/linefile"
	"github.com/poolmigrate/poolmigrate/statedir"
	"github.com/poolmigrate/poolmigrate/storage/identitymap"
	"github.com/poolmigrate/poolmigrate/storage/s3move"
)

const (
	kindStart = "start"
	kindAsk   = "ask"
	kindUser  = "user"
	// kindStep is one step of finishing a user who reached the new pool
	// early (early.go): Step names it, Old is the user's identity, New the
	// identity of the new login's own whose files move to Old.
	kindStep = "step"
)

// Entry is one line of the journal; a user line is a user's outcome.
type Entry struct {
	Kind string `json:"kind"`
	// start
	OldUserPool  string `json:"oldUserPool,omitempty"`
	NewUserPool  string `json:"newUserPool,omitempty"`
	IdentityPool string `json:"identityPool,omitempty"`
	// user (ask: OldSub only)
	OldSub      string `json:"oldSub,omitempty"`
	OldUsername string `json:"oldUsername,omitempty"`
	NewSub      string `json:"newSub,omitempty"`
	NewUsername string `json:"newUsername,omitempty"`
	Outcome     string `json:"outcome,omitempty"`
	// Old is the user's identity id; New the one the new login answers
	// (the same once linked; its own identity when it needs a copy).
	Old string `json:"old,omitempty"`
	New string `json:"new,omitempty"`
	// Proven is when the new login alone answered the old id.
	Proven time.Time `json:"proven,omitzero"`
	Time   time.Time `json:"time,omitzero"`
	// step: which (stepUnlink, stepUnlinked, stepCopied, stepDeleted).
	Step string `json:"step,omitempty"`
	// From (a copied user) are the identities the new login had of its
	// own, whose files were copied to Old and which were then deleted:
	// each is a pair From[i] → Old for an identity-id field remap
	// (Result.Remaps).
	From []string `json:"from,omitempty"`
	// Conflicts (a copied user) are keys under Old that held another
	// object than the one under a From identity: both are kept.
	Conflicts []string `json:"conflicts,omitempty"`
}

func (e Entry) user() identitymap.User {
	return identitymap.User{OldSub: e.OldSub, OldUsername: e.OldUsername, NewSub: e.NewSub, NewUsername: e.NewUsername}
}

const maxLine = 64 << 10

var errNoJournal = errors.New("no journal")

type journal struct {
	f       *os.File
	lock    *statedir.Lock
	entries map[string]Entry
	asks    map[string]time.Time
	// had is, per old sub, the identity the old login answered that was
	// listed before the run (an ask line with Old).
	had map[string]string
	// sources are, per old and new sub, the identities of the new login's own
	// the run unlinked (or was about to), in order; done the steps
	// journaled per user and identity (step → true).
	sources   map[string][]string
	done      map[string]map[string]bool
	conflicts map[string][]string
}

func openJournal(path, command string, head Entry) (*journal, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, fmt.Errorf("create the link journal's folder: %w", err)
	}
	lock, err := statedir.LockFile(path, command)
	if err != nil {
		return nil, err
	}
	j := &journal{lock: lock, entries: map[string]Entry{}, asks: map[string]time.Time{}, had: map[string]string{}, sources: map[string][]string{}, done: map[string]map[string]bool{}, conflicts: map[string][]string{}}
	var start *Entry
	err = scan(path, func(e Entry) {
		switch e.Kind {
		case kindStart:
			if start == nil {
				s := e
				start = &s
			}
		case kindAsk:
			j.ask(e)
		case kindUser:
			j.entries[e.OldSub] = e
		case kindStep:
			j.step(e)
		}
	})
	if err != nil && !errors.Is(err, errNoJournal) {
		lock.Unlock()
		return nil, err
	}
	if start != nil {
		if err := start.sameRun(path, head); err != nil {
			lock.Unlock()
			return nil, err
		}
	}
	f, err := os.OpenFile(path, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o600)
	if err != nil {
		lock.Unlock()
		return nil, fmt.Errorf("open the link journal: %w", err)
	}
	j.f = f
	if start == nil {
		if err := j.append(head); err != nil {
			j.close()
			return nil, err
		}
	}
	return j, nil
}

func (j *journal) close() {
	_ = j.f.Close()
	_ = j.lock.Unlock()
}

// append writes one line and syncs it.
func (j *journal) append(e Entry) error {
	data, err := json.Marshal(e)
	if err != nil {
		return err
	}
	if _, err := j.f.Write(append(data, '\n')); err != nil {
		return fmt.Errorf("write the link journal: %w", err)
	}
	if err := j.f.Sync(); err != nil {
		return fmt.Errorf("write the link journal: %w", err)
	}
	switch e.Kind {
	case kindUser:
		j.entries[e.OldSub] = e
	case kindAsk:
		j.ask(e)
	case kindStep:
		j.step(e)
	}
	return nil
}

// ask records an ask line: its time, or (Old set) the identity the old
// login had before the run that asked.
func (j *journal) ask(e Entry) {
	if e.Old != "" {
		j.had[e.OldSub] = e.Old
		return
	}
	j.asks[e.OldSub] = e.Time
}

// step records a step line: an unlink names a source of the user's.
func (j *journal) step(e Entry) {
	k := e.OldSub + "/" + e.NewSub
	if e.Step == stepUnlink && !slices.Contains(j.sources[k], e.New) {
		j.sources[k] = append(j.sources[k], e.New)
	}
	k += "/" + e.New
	if j.done[k] == nil {
		j.done[k] = map[string]bool{}
	}
	j.done[k][e.Step] = true
	if e.Step == stepCopied {
		j.conflicts[k] = e.Conflicts
	}
}

// pending are the users without a line of the same old and new user, and
// the count of lines no user agrees with.
// With copying, a user recorded as needing a copy (by a run that could
// not copy) is pending again.
func (j *journal) pending(users []identitymap.User, copying bool) ([]identitymap.User, int) {
	var todo []identitymap.User
	agree := 0
	for _, u := range users {
		e, ok := j.lookup(u)
		if ok {
			agree++
		}
		if !ok || copying && e.Outcome == NeedsCopy {
			todo = append(todo, u)
		}
	}
	return todo, len(j.entries) - agree
}

// sourcesOf are the identities of u's new login's own that a run
// unlinked, or was about to.
func (j *journal) sourcesOf(u identitymap.User) []string {
	return j.sources[u.OldSub+"/"+u.NewSub]
}

// sourceOfAnother is the old sub of another user whose source id is too.
func (j *journal) sourceOfAnother(u identitymap.User, id string) string {
	mine := u.OldSub + "/" + u.NewSub
	for k, ids := range j.sources {
		if k != mine && slices.Contains(ids, id) {
			old, _, _ := strings.Cut(k, "/")
			return old
		}
	}
	return ""
}

// stepDone tells whether the step was journaled for u's identity id.
func (j *journal) stepDone(u identitymap.User, id, step string) bool {
	return j.done[u.OldSub+"/"+u.NewSub+"/"+id][step]
}

// conflictsOf are the conflicts journaled with the copy of u's identity id.
func (j *journal) conflictsOf(u identitymap.User, id string) []string {
	return j.conflicts[u.OldSub+"/"+u.NewSub+"/"+id]
}

func (j *journal) lookup(u identitymap.User) (Entry, bool) {
	e, ok := j.entries[u.OldSub]
	if !ok || e.user() != u {
		return Entry{}, false
	}
	return e, true
}

func (j *journal) askedAt(oldSub string) (time.Time, bool) {
	t, ok := j.asks[oldSub]
	return t, ok
}

// sameRun refuses a journal of other pools than head's.
func (start Entry) sameRun(path string, head Entry) error {
	if start.OldUserPool != head.OldUserPool || start.NewUserPool != head.NewUserPool || start.IdentityPool != head.IdentityPool {
		return fmt.Errorf("the link journal %s is of user pools %s → %s in identity pool %s, not of this run's (%s → %s in %s): move it away to start another",
			path, start.OldUserPool, start.NewUserPool, start.IdentityPool, head.OldUserPool, head.NewUserPool, head.IdentityPool)
	}
	return nil
}

// readJournal is the start line and the last user line of each old user.
func readJournal(path string) (Entry, []Entry, error) {
	by := map[string]int{}
	var out []Entry
	var start Entry
	err := scan(path, func(e Entry) {
		if e.Kind == kindStart && start.Kind == "" {
			start = e
		}
		if e.Kind != kindUser {
			return
		}
		if i, ok := by[e.OldSub]; ok {
			out[i] = e
			return
		}
		by[e.OldSub] = len(out)
		out = append(out, e)
	})
	return start, out, err
}

// scan streams the journal's lines, each checked, refusing the first bad
// one by file and line; a last line cut short by a crash is ignored.
func scan(path string, fn func(Entry)) error {
	err := linefile.ScanJSON(path, "link journal", "move the file away and run `storage link` again (a user linked before is found linked again)", maxLine,
		func(e *Entry) error { return e.check() }, func(e Entry) error { fn(e); return nil })
	if errors.Is(err, os.ErrNotExist) {
		return errNoJournal
	}
	return err
}

func (e Entry) check() error {
	switch e.Kind {
	case kindStart:
		if e.OldUserPool == "" || e.NewUserPool == "" || e.IdentityPool == "" {
			return errors.New("a start line names both user pools and the identity pool")
		}
	case kindAsk:
		if e.OldSub == "" {
			return errors.New("an ask line names the old sub")
		}
		if e.Old != "" {
			if err := s3move.CheckIdentityID(e.Old); err != nil {
				return fmt.Errorf("old identity: %w", err)
			}
		}
	case kindUser:
		if e.OldSub == "" || e.OldUsername == "" || e.NewSub == "" || e.NewUsername == "" {
			return errors.New("a user line names the old and new sub and username")
		}
		switch e.Outcome {
		case NoIdentity:
		case Linked, NeedsCopy, Copied:
			if err := s3move.CheckIdentityID(e.Old); err != nil {
				return fmt.Errorf("old identity: %w", err)
			}
			if err := s3move.CheckIdentityID(e.New); err != nil {
				return fmt.Errorf("new identity: %w", err)
			}
			if (e.Outcome == Linked || e.Outcome == Copied) && e.Old != e.New {
				return errors.New("a linked user's old and new identity differ")
			}
			if e.Outcome == Copied && len(e.From) == 0 {
				return errors.New("a copied user line names no identity copied from")
			}
			for _, id := range e.From {
				if err := s3move.CheckIdentityID(id); err != nil || id == e.Old {
					return fmt.Errorf("copied from: %q is not another identity id", id)
				}
			}
		default:
			return fmt.Errorf("unknown outcome %q", e.Outcome)
		}
	case kindStep:
		switch e.Step {
		case stepUnlink, stepUnlinked, stepCopied, stepDeleted:
		default:
			return fmt.Errorf("unknown step %q", e.Step)
		}
		if e.OldSub == "" || e.NewSub == "" {
			return errors.New("a step line names the old and new sub")
		}
		if err := s3move.CheckIdentityID(e.Old); err != nil {
			return fmt.Errorf("old identity: %w", err)
		}
		if err := s3move.CheckIdentityID(e.New); err != nil || e.New == e.Old {
			return fmt.Errorf("a step line's identity %q is not another identity id", e.New)
		}
	default:
		return fmt.Errorf("unknown kind %q", e.Kind)
	}
	return nil
}
