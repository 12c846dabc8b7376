package cli

import (
	"bytes"
	"math/rand"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/poolmigrate/poolmigrate/testbed/ddbproxy"
	"github.com/poolmigrate/poolmigrate/testbed/testenv"
)

// buildBinary builds poolmigrate as users run it.
func buildBinary(t *testing.T) string {
	t.Helper()
	return testBinaries.build(t)
}

// TestRemapSurvivesSIGKILL kills the remap process at random moments,
// resumes it each time, and then checks that every item was remapped
// exactly once (DataStore's _version went up by one, not more), that
// verify is clean, and that rollback restores the original tables exactly.
func TestRemapSurvivesSIGKILL(t *testing.T) {
	t.Parallel() // own pools, tables and folders
	env := testenv.Require(t)
	f := setupRemap(t, env)
	bin := buildBinary(t)
	seed := time.Now().UnixNano()
	rng := rand.New(rand.NewSource(seed))
	t.Logf("seed %d", seed)

	// run reports whether the remap stopped short: killed, or (the last run)
	// leaving items that changed while it ran.
	run := func(kill time.Duration) (short bool, out string) {
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
			if ExitCode(err) == 1 && strings.Contains(buf.String(), "poolmigrate: 0 item(s) failed and") {
				// A killed run's last calls can reach a loaded table after
				// this run read the items: it leaves them, and says to
				// run again.
				t.Logf("the resume met items a killed run's last calls wrote after it read them:\n%s", buf.String())
				return true, buf.String()
			}
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
	changed, out := run(0)
	for i := 0; changed && i < 2; i++ {
		changed, out = run(0)
	}
	if changed {
		t.Fatalf("remap run three times after the kills still met changed items:\n%s", out)
	}
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

// buildFaultBinary builds poolmigrate with its fault points
// (dynamo.FaultEnv kills it at a chosen step).
func buildFaultBinary(t *testing.T) string {
	t.Helper()
	return testBinaries.build(t, "-tags", "faultinject")
}

// A remap killed at chosen steps of its writes, each run resumed by the
// next: before and after the journal append, before and after the write,
// in the middle of a batch; for batched updates, updates written one
// UpdateItem each (an engine refusing batches) and moves (a key changed).
// Then every item is remapped once, the journal holds one standing record
// for each item written (the values the item holds), verify is clean and
// rollback restores the tables exactly.
func TestRemapKilledAtEachStep(t *testing.T) {
	t.Parallel() // own pools, tables and folders
	env := testenv.Require(t)
	bin := buildFaultBinary(t)
	refuseAll := ddbproxy.RefuseBatchCalls(ddbproxy.Refusal{Status: 500, Code: "InternalServerError", Message: "line 1:8: mismatched input"})
	for _, tc := range []struct {
		name  string
		proxy []ddbproxy.Option // the engine's answers (nil: DynamoDB Local as it is)
		kills []string          // dynamo.FaultEnv of each run but the last
	}{
		{"batched updates and moves", nil, []string{
			"before-journal:batch:3", "journaled:batch:2", "written:batch:2", "mid-batch:settle:30",
			"before-journal:move:2", "journaled:move:3", "written:move:2",
		}},
		{"one UpdateItem an update (batches refused)", []ddbproxy.Option{refuseAll}, []string{
			"mid-batch:fallback:7", "journaled:update:5", "written:update:5", "before-journal:update:3",
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := setupRemap(t, env)
			original := dumpTables(t, env, f.tables())
			endpoint := os.Getenv("AWS_ENDPOINT_URL_DYNAMODB")
			if tc.proxy != nil {
				p, err := ddbproxy.New(endpoint, tc.proxy...)
				if err != nil {
					t.Fatal(err)
				}
				srv := httptest.NewServer(p)
				defer srv.Close()
				endpoint = srv.URL
			}
			run := func(kill string) (*os.ProcessState, string) {
				cmd := exec.Command(bin, "remap", "--backup", f.backup, "--target-pool", f.target, "--yes", "--workers", "4")
				cmd.Dir = f.dir
				cmd.Env = append(os.Environ(), "AWS_ENDPOINT_URL_DYNAMODB="+endpoint, dynamoFaultEnv+"="+kill)
				out, _ := cmd.CombinedOutput()
				return cmd.ProcessState, string(out)
			}
			for _, kill := range tc.kills {
				st, out := run(kill)
				if ws, ok := st.Sys().(syscall.WaitStatus); !ok || !ws.Signaled() || ws.Signal() != syscall.SIGKILL {
					t.Fatalf("the run to be killed at %s was not (%v): the step was never reached\n%s", kill, st, out)
				}
			}
			st, out := run("")
			if st.ExitCode() == 1 && strings.Contains(out, "changed while the remap ran") {
				// A killed run's last call can reach a loaded table after
				// the resume read the item: the resume leaves it, and says
				// to run again.
				t.Logf("the resume met items a killed run's last calls wrote after it read them; running it again:\n%s", out)
				st, out = run("")
			}
			if st.ExitCode() != 0 {
				t.Fatalf("the resume after the kills: %v\n%s", st, out)
			}
			f.expectRemapped(t, env)
			expectJournalExact(t, env, filepath.Join(f.dir, ".poolmigrate", "remap", f.target+".journal.jsonl"))
			if _, vout, err := f.run(t, "verify"); err != nil || !strings.Contains(vout, `"ok": true`) {
				t.Errorf("verify after the kills: %v\n%s", err, vout)
			}
			if _, _, err := runApp(t, f.dir, nil, "rollback", "--yes"); err != nil {
				t.Fatalf("rollback: %v", err)
			}
			if got := dumpTables(t, env, f.tables()); !reflect.DeepEqual(got, original) {
				t.Error("rollback after the kills did not restore the tables exactly")
			}
		})
	}
}

// dynamoFaultEnv is dynamo.FaultEnv, which only a faultinject build has.
const dynamoFaultEnv = "POOLMIGRATE_TEST_KILL_AT"
