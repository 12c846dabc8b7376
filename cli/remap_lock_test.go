package cli

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/poolmigrate/poolmigrate/statedir"
	"github.com/poolmigrate/poolmigrate/testbed/testenv"
)

// The same worker started twice (an operator's slip, or a Kubernetes Job
// retrying an index while its first pod still runs): the second run is
// refused while the first runs, naming it, and so are verify and
// rollback; the first finishes with a journal that reads, and then verify
// and rollback run.
func TestRemapRefusesASecondRunOfTheSameWorker(t *testing.T) {
	t.Parallel() // own pools, tables and folders
	env := testenv.Require(t)
	f := setupRemap(t, env)
	original := dumpTables(t, env, f.tables())
	bin := buildBinary(t)
	start := func() (*exec.Cmd, *bytes.Buffer, chan error) {
		cmd := exec.Command(bin, "remap", "--backup", f.backup, "--target-pool", f.target, "--yes", "--json",
			"--segments", "6", "--worker", "1/3", "--workers", "4", "--wps", "150")
		var buf bytes.Buffer
		cmd.Dir, cmd.Env, cmd.Stdout, cmd.Stderr = f.dir, os.Environ(), &buf, &buf
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		done := make(chan error, 1)
		go func() { done <- cmd.Wait() }()
		return cmd, &buf, done
	}
	journal := filepath.Join(f.dir, ".poolmigrate", "remap", f.target+".worker-1-of-3.journal.jsonl")
	first, firstOut, firstDone := start()
	defer func() { _ = first.Process.Kill() }()
	// The first run has its lock once its journal has a record.
	for deadline := time.Now().Add(2 * time.Minute); ; time.Sleep(20 * time.Millisecond) {
		if data, _ := os.ReadFile(journal); bytes.Contains(data, []byte(`"kind":"start"`)) {
			break
		}
		select {
		case err := <-firstDone:
			t.Fatalf("the first run ended (%v) before the test could start the second\n%s", err, firstOut)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("the first run wrote no journal\n%s", firstOut)
		}
	}
	second, secondOut, secondDone := start()
	var secondErr error
	select {
	case secondErr = <-secondDone:
	case err := <-firstDone:
		_ = second.Process.Kill()
		<-secondDone
		t.Fatalf("the first run ended (%v) while the second still ran: two writers shared the journal\nfirst:\n%s\nsecond:\n%s", err, firstOut, secondOut)
	}
	host, _ := os.Hostname()
	if ExitCode(secondErr) == 0 || secondErr == nil {
		t.Errorf("the second run of worker 1/3 was not refused\n%s", secondOut)
	}
	for _, want := range []string{"is in use by another poolmigrate run", "worker 1/3", "pid " + strconv.Itoa(first.Process.Pid), "host " + host, "started", statedir.LockPath(journal)} {
		if !strings.Contains(secondOut.String(), want) {
			t.Errorf("the refusal does not say %q:\n%s", want, secondOut)
		}
	}
	// verify and rollback are refused while the first runs.
	if _, out, err := f.run(t, "verify"); !statedir.IsLocked(err) {
		t.Errorf("verify while worker 1/3 runs: %v\n%s", err, out)
	}
	if _, _, err := runApp(t, f.dir, nil, "rollback", "--yes"); !statedir.IsLocked(err) {
		t.Errorf("rollback while worker 1/3 runs: %v", err)
	}
	if _, out, err := f.run(t, "verify", "--progress"); statedir.IsLocked(err) {
		t.Errorf("verify --progress (a report during the window, which never fails) while worker 1/3 runs: %v\n%s", err, out)
	}
	if _, _, err := runApp(t, f.dir, nil, "rollback", "--worker", "1/3", "--yes"); !statedir.IsLocked(err) {
		t.Errorf("rollback --worker 1/3 while it runs: %v", err)
	}
	if err := <-firstDone; err != nil {
		t.Fatalf("the first run: %v\n%s", err, firstOut)
	}
	writes, starts := journalWrites(t, journal)
	if starts != 1 || len(writes) == 0 {
		t.Errorf("the journal holds %d runs and %d writes, want the first run's only", starts, len(writes))
	}
	expectJournalExact(t, env, journal)
	// Once it has finished, rollback runs and restores the tables.
	if _, _, err := runApp(t, f.dir, nil, "rollback", "--yes"); err != nil {
		t.Fatalf("rollback after the run: %v", err)
	}
	if got := dumpTables(t, env, f.tables()); !reflect.DeepEqual(got, original) {
		t.Error("rollback did not restore the tables exactly")
	}
}

// Three workers of an Indexed Job (Kubernetes) or an array job (AWS
// Batch), each told only --worker auto/3 and its index by the engine,
// journaling onto one shared --journal-dir, leave the tables as one remap
// does; verify and rollback read their journals there.
func TestRemapWorkersFromAnEngine(t *testing.T) {
	t.Parallel() // own pools, tables and folders
	env := testenv.Require(t)
	f := setupRemap(t, env)
	original := dumpTables(t, env, f.tables())
	twin := twinFixture(t, env, f)
	if out, stderr, err := runApp(t, twin.dir, nil, "remap", "--backup", f.backup, "--target-pool", f.target, "--yes"); err != nil {
		t.Fatalf("remap of the twin: %v\n%s%s", err, out, stderr)
	}
	want := dumpTables(t, env, twin.tables())
	for _, indexVar := range []string{"JOB_COMPLETION_INDEX", "AWS_BATCH_JOB_ARRAY_INDEX"} {
		t.Run(indexVar, func(t *testing.T) {
			shared := t.TempDir() // the volume every worker mounts
			var wg sync.WaitGroup
			errs := make([]error, 3)
			outs := make([]string, 3)
			for k := 0; k < 3; k++ {
				wg.Add(1)
				go func() {
					defer wg.Done()
					var stderr string
					outs[k], stderr, errs[k] = runApp(t, f.dir, map[string]string{indexVar: strconv.Itoa(k)},
						"remap", "--backup", f.backup, "--target-pool", f.target, "--yes", "--json", "--segments", "6", "--worker", "auto/3", "--journal-dir", shared)
					outs[k] += stderr
				}()
			}
			wg.Wait()
			for k := range errs {
				var sum struct{ Worker, Journal string }
				if errs[k] != nil || decodeInto(outs[k], &sum) != nil {
					t.Fatalf("worker with %s=%d: %v\n%s", indexVar, k, errs[k], outs[k])
				}
				if want := filepath.Join(shared, fmt.Sprintf("%s.worker-%d-of-3.journal.jsonl", f.target, k)); sum.Worker != fmt.Sprintf("%d/3", k) || sum.Journal != want {
					t.Errorf("worker with %s=%d was worker %s with journal %s, want %d/3 with %s", indexVar, k, sum.Worker, sum.Journal, k, want)
				}
			}
			got := dumpTables(t, env, f.tables())
			for i, tb := range f.tables() {
				if g, w := normalizeChanged(got[tb]), normalizeChanged(want[twin.tables()[i]]); !reflect.DeepEqual(g, w) {
					t.Errorf("%s differs from one remap's result (%d items, %d)", tb, len(g), len(w))
				}
			}
			if entries, _ := os.ReadDir(filepath.Join(f.dir, ".poolmigrate", "remap")); len(entries) > 0 {
				t.Errorf("the workers journaled into the project's state folder too: %v", entries)
			}
			var rep struct {
				OK       bool
				Journals []struct {
					Path, Worker string
					Finished     bool
				}
				JournalNotes []string
			}
			_, out, err := f.run(t, "verify", "--journal-dir", shared)
			if err != nil || decodeInto(out, &rep) != nil || !rep.OK || len(rep.Journals) != 3 || len(rep.JournalNotes) != 0 {
				t.Fatalf("verify --journal-dir: %v\n%s", err, out)
			}
			for k, j := range rep.Journals {
				if j.Worker != fmt.Sprintf("%d/3", k) || !j.Finished || filepath.Dir(j.Path) != shared {
					t.Errorf("verify's journal %d: %+v", k, j)
				}
			}
			if _, _, err := runApp(t, f.dir, nil, "rollback", "--journal-dir", shared, "--target-pool", f.target, "--yes"); err != nil {
				t.Fatalf("rollback --journal-dir: %v", err)
			}
			if got := dumpTables(t, env, f.tables()); !reflect.DeepEqual(got, original) {
				t.Error("rollback --journal-dir did not restore the tables exactly")
			}
		})
	}
}

// --worker auto/M reads the engine's index, numbered from 0 as K is, and
// says what to do when it cannot.
func TestParseWorkerAuto(t *testing.T) {
	for _, tc := range []struct {
		name, flag string
		env        map[string]string
		want       string // "K/M", or a part of the error
	}{
		{"Kubernetes index 0 is worker 0", "auto/3", map[string]string{"JOB_COMPLETION_INDEX": "0"}, "0/3"},
		{"Kubernetes index 2 is worker 2", "auto/3", map[string]string{"JOB_COMPLETION_INDEX": "2"}, "2/3"},
		{"Batch index 1 is worker 1", "auto/3", map[string]string{"AWS_BATCH_JOB_ARRAY_INDEX": "1"}, "1/3"},
		{"both, agreeing", "auto/4", map[string]string{"JOB_COMPLETION_INDEX": "3", "AWS_BATCH_JOB_ARRAY_INDEX": "3"}, "3/4"},
		{"K/M as before", "1/3", map[string]string{"JOB_COMPLETION_INDEX": "2"}, "1/3"},
		{"neither", "auto/3", nil, "neither JOB_COMPLETION_INDEX"},
		{"out of range", "auto/3", map[string]string{"JOB_COMPLETION_INDEX": "3"}, "JOB_COMPLETION_INDEX=3 is not a worker of 3 (0 to 2)"},
		{"negative", "auto/3", map[string]string{"AWS_BATCH_JOB_ARRAY_INDEX": "-1"}, "AWS_BATCH_JOB_ARRAY_INDEX=-1 is not a worker of 3"},
		{"not a number", "auto/3", map[string]string{"JOB_COMPLETION_INDEX": "one"}, "JOB_COMPLETION_INDEX=one is not a worker"},
		{"disagreeing", "auto/3", map[string]string{"JOB_COMPLETION_INDEX": "0", "AWS_BATCH_JOB_ARRAY_INDEX": "1"}, "disagree"},
		{"no M", "auto/", map[string]string{"JOB_COMPLETION_INDEX": "0"}, "want auto/M"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sh, err := parseWorker(tc.flag, func(k string) string { return tc.env[k] })
			got := sh.String()
			if err != nil {
				got = err.Error()
			}
			if (err == nil && got != tc.want) || (err != nil && !strings.Contains(got, tc.want)) {
				t.Errorf("parseWorker(%q, %v) = %q, want %q", tc.flag, tc.env, got, tc.want)
			}
		})
	}
	// The CLI says it as a usage error.
	dir := copyProject(t, "../examples/notes-app")
	_, _, err := runApp(t, dir, nil, "remap", "--segments", "6", "--worker", "auto/3", "--backup", "b.jsonl", "--target-pool", "us-east-1_AbC123xyZ")
	if ExitCode(err) != 2 || !strings.Contains(fmt.Sprint(err), "AWS_BATCH_JOB_ARRAY_INDEX") {
		t.Errorf("remap --worker auto/3 with no index: %v (exit %d)", err, ExitCode(err))
	}
	var le *statedir.LockedError
	if errors.As(err, &le) {
		t.Error("a usage error is not a lock")
	}
}
