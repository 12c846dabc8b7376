package statedir

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/gofrs/flock"
)

// Lock is a run's exclusive hold on a state file that a second run could
// append to at the same time (a remap journal, a backup's parts): an
// operator's slip, or a Kubernetes Job retrying an index while its first
// pod still runs, would otherwise interleave two writers in one file.
//
// The lock is flock(2) (LockFileEx on Windows) on <file>.lock, in the
// file's own folder, so it holds wherever the folder is shared (NFS, EFS,
// a Kubernetes volume) and across machines. The system frees it when the
// process ends, however it ends: a crash leaves no stale lock to clean up.
// The holder's host, pid and start time are written into the lock file as
// information for the run that is refused.
type Lock struct {
	fl   *flock.Flock
	path string
}

// LockHolder is what a lock file says of the run holding it.
type LockHolder struct {
	Host    string    `json:"host"`
	PID     int       `json:"pid"`
	Started time.Time `json:"started"`
	// Command is what the run was doing ("remap --worker 1/3").
	Command string `json:"command"`
}

// LockedError is the refusal of a file another run holds.
type LockedError struct {
	File, LockFile string
	// Holder is empty when the lock file says nothing (yet).
	Holder LockHolder
}

func (e *LockedError) Error() string {
	who := "another poolmigrate run"
	if h := e.Holder; h.PID != 0 {
		who = fmt.Sprintf("another poolmigrate run (%s: pid %d on host %s, started %s)", h.Command, h.PID, h.Host, h.Started.UTC().Format(time.RFC3339))
	}
	return fmt.Sprintf("%s is in use by %s: wait for it to finish, or stop it, and run again. "+
		"If that run is gone, its lock went with it (the system frees the lock when a process ends; on a network volume once the server notices, within a minute or two); "+
		"if this message stays with no such process running, delete %s and run again",
		e.File, who, e.LockFile)
}

// LockPath is the lock file of file.
func LockPath(file string) string { return file + ".lock" }

// LockFile takes the exclusive lock of file for this run, creating its
// lock file (0600) in file's folder, which must exist. It never waits: a
// file another run holds is refused at once with a *LockedError naming
// that run. command says what this run is doing, for the runs it refuses.
func LockFile(file, command string) (*Lock, error) {
	path := LockPath(file)
	fl := flock.New(path, flock.SetFlag(os.O_CREATE|os.O_RDWR), flock.SetPermissions(0o600))
	ok, err := fl.TryLock()
	if err != nil {
		return nil, fmt.Errorf("lock %s: %w", file, err)
	}
	if !ok {
		return nil, &LockedError{File: file, LockFile: path, Holder: readHolder(path)}
	}
	host, _ := os.Hostname()
	if err := writeHolder(path, LockHolder{Host: host, PID: os.Getpid(), Started: time.Now().UTC(), Command: command}); err != nil {
		_ = fl.Unlock()
		return nil, fmt.Errorf("lock %s: %w", file, err)
	}
	return &Lock{fl: fl, path: path}, nil
}

// LockFiles takes the locks of files, in order; on a refusal it frees
// those it took.
func LockFiles(files []string, command string) (*Locks, error) {
	ls := &Locks{}
	for _, f := range files {
		l, err := LockFile(f, command)
		if err != nil {
			ls.Unlock()
			return nil, err
		}
		ls.held = append(ls.held, l)
	}
	return ls, nil
}

// Locks are several files' locks, freed together.
type Locks struct{ held []*Lock }

// Unlock frees every lock held.
func (ls *Locks) Unlock() {
	for _, l := range ls.held {
		_ = l.Unlock()
	}
	ls.held = nil
}

// Unlock frees the lock. The lock file stays: removing it would let a run
// that opened it before the removal and one that creates it anew both
// hold "the" lock.
func (l *Lock) Unlock() error {
	if l == nil || l.fl == nil {
		return nil
	}
	err := l.fl.Unlock()
	l.fl = nil
	return err
}

// holderOffset is where the holder's record starts in a lock file: byte 0
// is the one Windows locks, which no other handle may read or write.
const holderOffset = 1

func writeHolder(path string, h LockHolder) error {
	data, err := json.Marshal(h)
	if err != nil {
		return err
	}
	f, err := os.OpenFile(path, os.O_WRONLY, 0o600)
	if err != nil {
		return err
	}
	defer f.Close()
	data = append(data, '\n')
	if _, err := f.WriteAt(data, holderOffset); err != nil {
		return err
	}
	return f.Truncate(int64(holderOffset + len(data)))
}

// readHolder reads what a held lock file says of its holder; nothing when
// it says nothing readable (the holder has not written it yet).
func readHolder(path string) LockHolder {
	f, err := os.Open(path)
	if err != nil {
		return LockHolder{}
	}
	defer f.Close()
	buf := make([]byte, 4096)
	n, err := f.ReadAt(buf, holderOffset)
	if err != nil && n == 0 {
		return LockHolder{}
	}
	var h LockHolder
	line, _, _ := bytes.Cut(buf[:n], []byte("\n"))
	if json.Unmarshal(line, &h) != nil {
		return LockHolder{}
	}
	h.Command = strings.TrimSpace(h.Command)
	return h
}

// IsLocked tells a refusal of a locked file.
func IsLocked(err error) bool {
	var le *LockedError
	return errors.As(err, &le)
}
