package identitymap

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/poolmigrate/poolmigrate/linefile"
	"github.com/poolmigrate/poolmigrate/statedir"
	"github.com/poolmigrate/poolmigrate/storage/s3move"
)

// Kinds of map lines.
const (
	// KindStart opens a run: the pools the map is of.
	KindStart = "start"
	// KindAsk is written before a user's old identity is asked for.
	KindAsk = "ask"
	// KindUser is a user's two ids.
	KindUser = "user"
	// KindDeleted is an old identity the run created and deleted.
	KindDeleted = "deleted"
)

// isUserLine: a user's line of a map (KindUser) or of an old-side file
// (KindOld), one per old sub, the last one counting.
func isUserLine(kind string) bool { return kind == KindUser || kind == KindOld }

// Entry is one line of the map.
type Entry struct {
	Kind string `json:"kind"`
	// start
	OldUserPool     string `json:"oldUserPool,omitempty"`
	OldIdentityPool string `json:"oldIdentityPool,omitempty"`
	NewUserPool     string `json:"newUserPool,omitempty"`
	NewIdentityPool string `json:"newIdentityPool,omitempty"`
	// user (ask: OldSub only)
	OldSub      string `json:"oldSub,omitempty"`
	OldUsername string `json:"oldUsername,omitempty"`
	NewSub      string `json:"newSub,omitempty"`
	NewUsername string `json:"newUsername,omitempty"`
	// Old and New are the identity ids (Old also of a deleted line).
	Old string `json:"old,omitempty"`
	New string `json:"new,omitempty"`
	// Created: the old identity was made by the run (the user had none);
	// it holds no files and is deleted.
	Created bool      `json:"created,omitempty"`
	Time    time.Time `json:"time,omitzero"`
}

func (e Entry) user() User {
	return User{OldSub: e.OldSub, OldUsername: e.OldUsername, NewSub: e.NewSub, NewUsername: e.NewUsername}
}

// writeError is a map line not written: the run stops (a user's failure
// does not).
type writeError struct{ err error }

func (e *writeError) Error() string { return "write the identity map: " + e.err.Error() }
func (e *writeError) Unwrap() error { return e.err }

// maxLine bounds a map line (a user line is a few hundred bytes).
const maxLine = 64 << 10

// mapFile is the map open for a run: what earlier runs wrote, and the
// file to append to, locked.
type mapFile struct {
	mu      sync.Mutex
	f       *os.File
	lock    *statedir.Lock
	entries []Entry
	byOld   map[string]int
	asks    map[string]time.Time
	deleted map[string]bool
}

// openMap locks and reads the map at path (a missing one is started with
// head) and opens it to append.
func openMap(path, command string, head Entry) (*mapFile, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, fmt.Errorf("create the identity map's folder: %w", err)
	}
	lock, err := statedir.LockFile(path, command)
	if err != nil {
		return nil, err
	}
	m := &mapFile{lock: lock, byOld: map[string]int{}, asks: map[string]time.Time{}, deleted: map[string]bool{}}
	var start *Entry
	err = readMap(path, func(e Entry) error {
		switch e.Kind {
		case KindStart:
			if start == nil {
				s := e
				start = &s
			}
		case KindAsk:
			m.asks[e.OldSub] = e.Time
		case KindUser, KindOld:
			if i, ok := m.byOld[e.OldSub]; ok {
				m.entries[i] = e
			} else {
				m.byOld[e.OldSub] = len(m.entries)
				m.entries = append(m.entries, e)
			}
		case KindDeleted:
			m.deleted[e.Old] = true
		}
		return nil
	})
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		lock.Unlock()
		return nil, err
	}
	if start != nil && (start.OldUserPool != head.OldUserPool || start.NewUserPool != head.NewUserPool ||
		start.OldIdentityPool != head.OldIdentityPool || start.NewIdentityPool != head.NewIdentityPool) {
		lock.Unlock()
		return nil, fmt.Errorf("the identity map %s is of user pools %s → %s and identity pools %s → %s, not of this run's (%s → %s, %s → %s): move it away to start another",
			path, start.OldUserPool, start.NewUserPool, start.OldIdentityPool, start.NewIdentityPool, head.OldUserPool, head.NewUserPool, head.OldIdentityPool, head.NewIdentityPool)
	}
	f, err := os.OpenFile(path, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o600)
	if err != nil {
		lock.Unlock()
		return nil, fmt.Errorf("open the identity map: %w", err)
	}
	m.f = f
	if start == nil {
		if err := m.append(head); err != nil {
			m.close()
			return nil, err
		}
	}
	return m, nil
}

func (m *mapFile) close() {
	if m.f != nil {
		_ = m.f.Close()
	}
	m.lock.Unlock()
}

// append writes one line and syncs it: a line is on disk before the next
// call depends on it.
func (m *mapFile) append(e Entry) error {
	data, err := json.Marshal(e)
	if err != nil {
		return err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, err := m.f.Write(append(data, '\n')); err != nil {
		return &writeError{err}
	}
	if err := m.f.Sync(); err != nil {
		return &writeError{err}
	}
	switch {
	case isUserLine(e.Kind):
		if i, ok := m.byOld[e.OldSub]; ok {
			m.entries[i] = e
		} else {
			m.byOld[e.OldSub] = len(m.entries)
			m.entries = append(m.entries, e)
		}
	case e.Kind == KindDeleted:
		m.deleted[e.Old] = true
	}
	return nil
}

// line is the last user or old line of oldSub (Options.lookup tells
// whether it is the user's the run asks for).
func (m *mapFile) line(oldSub string) (Entry, bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	i, ok := m.byOld[oldSub]
	if !ok {
		return Entry{}, false
	}
	return m.entries[i], true
}

// askedAt is when an earlier run asked for the user's old identity.
func (m *mapFile) askedAt(oldSub string) (time.Time, bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	t, ok := m.asks[oldSub]
	return t, ok
}

// Read reads a map's user lines (the last line of each old user), each
// checked: ids of the form REGION:GUID, every field a user line needs.
// A last line cut short by a crash is ignored.
func Read(path string) (start Entry, users []Entry, err error) {
	byOld := map[string]int{}
	err = readMap(path, func(e Entry) error {
		switch e.Kind {
		case KindStart:
			if start.Kind == "" {
				start = e
			}
		case KindUser:
			if i, ok := byOld[e.OldSub]; ok {
				users[i] = e
			} else {
				byOld[e.OldSub] = len(users)
				users = append(users, e)
			}
		}
		return nil
	})
	return start, users, err
}

// readMap streams the map's lines, each checked, refusing the first bad
// one by file and line.
func readMap(path string, fn func(Entry) error) error {
	return linefile.ScanJSON(path, "identity map", "move the file away and run `storage copy` again to rebuild it", maxLine,
		func(e *Entry) error { return e.check() }, fn)
}

func (e Entry) check() error {
	switch e.Kind {
	case KindStart:
		// An old-side file's start line names only the old pools.
		if e.OldUserPool == "" || e.OldIdentityPool == "" || (e.NewUserPool == "") != (e.NewIdentityPool == "") {
			return errors.New("a start line names both user pools and both identity pools (an old-side file's: the old ones)")
		}
	case KindAsk:
		if e.OldSub == "" {
			return errors.New("an ask line names the old sub")
		}
	case KindUser:
		if e.OldSub == "" || e.OldUsername == "" || e.NewSub == "" || e.NewUsername == "" {
			return errors.New("a user line names the old and new sub and username")
		}
		if err := s3move.CheckIdentityID(e.Old); err != nil {
			return fmt.Errorf("old identity: %w", err)
		}
		if e.New == "" && e.Created {
			break // no old identity: nothing moves, the new id is not asked
		}
		if err := s3move.CheckIdentityID(e.New); err != nil {
			return fmt.Errorf("new identity: %w", err)
		}
	case KindOld:
		if e.OldSub == "" || e.OldUsername == "" {
			return errors.New("an old line names the old sub and username")
		}
		if err := s3move.CheckIdentityID(e.Old); err != nil {
			return fmt.Errorf("old identity: %w", err)
		}
	case KindDeleted:
		if err := s3move.CheckIdentityID(e.Old); err != nil {
			return err
		}
	default:
		return fmt.Errorf("unknown kind %q", e.Kind)
	}
	return nil
}
