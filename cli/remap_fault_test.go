package cli

import (
	"bytes"
	"math/rand"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/poolmigrate/poolmigrate/testbed/testenv"
)

// buildBinary builds poolmigrate as users run it.
func buildBinary(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "poolmigrate")
	out, err := exec.Command("go", "build", "-o", bin, "..").CombinedOutput()
	if err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// TestRemapSurvivesSIGKILL kills the remap process at random moments,
// resumes it each time, and then checks that every item was remapped
// exactly once (DataStore's _version went up by one, not more), that
// verify is clean, and that rollback restores the original tables exactly.
func TestRemapSurvivesSIGKILL(t *testing.T) {
	env := testenv.Require(t)
	f := setupRemap(t, env)
	bin := buildBinary(t)
	seed := time.Now().UnixNano()
	rng := rand.New(rand.NewSource(seed))
	t.Logf("seed %d", seed)

	run := func(kill time.Duration) (killed bool, out string) {
		// Paced so that a full remap takes about six seconds and the kills
		// land in the middle of it.
		cmd := exec.Command(bin, "remap", "--backup", f.backup, "--target-pool", f.target, "--yes", "--workers", "4", "--wps", "400")
		cmd.Dir, cmd.Env = f.dir, os.Environ()
		var buf bytes.Buffer
		cmd.Stdout, cmd.Stderr = &buf, &buf
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		done := make(chan error, 1)
		go func() { done <- cmd.Wait() }()
		if kill > 0 {
			select {
			case err := <-done:
				if err != nil {
					t.Fatalf("remap failed before the kill: %v\n%s", err, buf.String())
				}
				return false, buf.String()
			case <-time.After(kill):
				_ = cmd.Process.Signal(syscall.SIGKILL)
				<-done
				return true, buf.String()
			}
		}
		if err := <-done; err != nil {
			t.Fatalf("remap: %v\n%s", err, buf.String())
		}
		return false, buf.String()
	}
	kills := 0
	for i := 0; i < 5; i++ {
		if killed, _ := run(time.Duration(200+rng.Intn(700)) * time.Millisecond); killed {
			kills++
		}
	}
	_, out := run(0)
	t.Logf("%d of 5 runs killed; the last run said:\n%s", kills, out)
	if kills < 3 {
		t.Fatalf("only %d runs were killed: the remap finished too fast for the test to mean anything", kills)
	}
	f.expectRemapped(t, env)

	_, vout, err := f.run(t, "verify")
	if err != nil || !strings.Contains(vout, `"ok": true`) {
		t.Errorf("verify after the kills: %v\n%s", err, vout)
	}
	if _, _, err := runApp(t, f.dir, nil, "rollback", "--yes"); err != nil {
		t.Fatalf("rollback: %v", err)
	}
	if got := snapshot(t, env, f.tables()); !reflect.DeepEqual(got, f.original) {
		t.Error("rollback after the kills did not restore the tables exactly")
	}
}
