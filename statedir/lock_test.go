package statedir

import (
	"bufio"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// A second run is refused at once, told who holds the file; the lock file
// is 0600 and the lock can be taken again once it is freed.
func TestLockRefusesASecondRun(t *testing.T) {
	file := filepath.Join(t.TempDir(), "p.journal.jsonl")
	l, err := LockFile(file, "remap --worker 1/3")
	if err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(LockPath(file))
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("lock file: %v %v, want 0600", fi, err)
	}
	_, err = LockFile(file, "verify")
	var le *LockedError
	if !errors.As(err, &le) {
		t.Fatalf("second lock: %v, want a LockedError", err)
	}
	host, _ := os.Hostname()
	if le.Holder.PID != os.Getpid() || le.Holder.Host != host || le.Holder.Command != "remap --worker 1/3" || time.Since(le.Holder.Started) > time.Minute {
		t.Errorf("holder %+v", le.Holder)
	}
	for _, want := range []string{file, "remap --worker 1/3", "pid", host, "started", "delete " + LockPath(file)} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("the refusal does not say %q: %v", want, err)
		}
	}
	if err := l.Unlock(); err != nil {
		t.Fatal(err)
	}
	l2, err := LockFile(file, "verify")
	if err != nil {
		t.Fatalf("lock after unlock: %v", err)
	}
	_ = l2.Unlock()
}

// A lock is taken in a folder that exists: a mistyped path makes no folder.
func TestLockMakesNoFolder(t *testing.T) {
	file := filepath.Join(t.TempDir(), "typo", "p.journal.jsonl")
	if _, err := LockFile(file, "rollback"); err == nil || IsLocked(err) {
		t.Fatalf("lock in a missing folder: %v", err)
	}
	if _, err := os.Stat(filepath.Dir(file)); !os.IsNotExist(err) {
		t.Errorf("the lock made the folder %s", filepath.Dir(file))
	}
}

// LockFiles takes all or none.
func TestLockFilesTakesAllOrNone(t *testing.T) {
	dir := t.TempDir()
	a, b := filepath.Join(dir, "a"), filepath.Join(dir, "b")
	held, err := LockFile(b, "remap")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := LockFiles([]string{a, b}, "rollback"); !IsLocked(err) {
		t.Fatalf("LockFiles with b held: %v", err)
	}
	la, err := LockFile(a, "verify")
	if err != nil {
		t.Fatalf("a stayed locked after LockFiles was refused: %v", err)
	}
	_ = la.Unlock()
	_ = held.Unlock()
}

// A run killed with SIGKILL leaves no stale lock: the next run takes it.
func TestLockOfAKilledRunIsFree(t *testing.T) {
	if file := os.Getenv("POOLMIGRATE_LOCK_HOLDER"); file != "" {
		if _, err := LockFile(file, "remap"); err != nil {
			os.Stdout.WriteString("error " + err.Error() + "\n")
			os.Exit(1)
		}
		os.Stdout.WriteString("locked\n")
		time.Sleep(time.Minute)
		os.Exit(0)
	}
	file := filepath.Join(t.TempDir(), "p.journal.jsonl")
	cmd := exec.Command(os.Args[0], "-test.run=^TestLockOfAKilledRunIsFree$")
	cmd.Env = append(os.Environ(), "POOLMIGRATE_LOCK_HOLDER="+file)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	line, _ := bufio.NewReader(out).ReadString('\n')
	if line != "locked\n" {
		_ = cmd.Process.Kill()
		t.Fatalf("the holder said %q", line)
	}
	_, err = LockFile(file, "remap")
	var le *LockedError
	if !errors.As(err, &le) || le.Holder.PID != cmd.Process.Pid {
		t.Errorf("lock held by pid %d: %v", cmd.Process.Pid, err)
	}
	_ = cmd.Process.Kill() // SIGKILL
	_ = cmd.Wait()
	l, err := LockFile(file, "remap")
	if err != nil {
		t.Fatalf("the killed run's lock was not freed: %v", err)
	}
	_ = l.Unlock()
}
