package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/poolmigrate/poolmigrate/dynamo"
	"github.com/poolmigrate/poolmigrate/testbed/ddbproxy"
	"github.com/poolmigrate/poolmigrate/testbed/testenv"
)

// remap through an engine that refuses BatchExecuteStatement (always, or
// the statements naming an attribute it cannot parse): the remap
// completes, every format is remapped exactly, the journal holds each
// write made once, the fallback is said once, and rollback restores the
// tables exactly.
func TestRemapFallsBackThroughARefusingEngine(t *testing.T) {
	env := testenv.Require(t)
	cases := []struct {
		name, reason string
		opt          ddbproxy.Option
	}{
		{"every call refused", "BatchExecuteStatement refused: InternalServerError: line 1:8: mismatched input",
			ddbproxy.RefuseBatchCalls(ddbproxy.Refusal{Status: 500, Code: "InternalServerError", Message: "line 1:8: mismatched input"})},
		{"statements naming status#owner refused", "BatchExecuteStatement refused a statement: ValidationError: Unsupported identifier",
			ddbproxy.RefuseStatements(func(stmt string) *ddbproxy.Refusal {
				if strings.Contains(stmt, `"status#owner"`) {
					return &ddbproxy.Refusal{Code: "ValidationError", Message: "Unsupported identifier"}
				}
				return nil
			})},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f := setupRemap(t, env)
			original := dumpTables(t, env, f.tables())
			p, err := ddbproxy.New(os.Getenv("AWS_ENDPOINT_URL_DYNAMODB"), tc.opt)
			if err != nil {
				t.Fatal(err)
			}
			srv := httptest.NewServer(p)
			defer srv.Close()
			t.Setenv("AWS_ENDPOINT_URL_DYNAMODB", srv.URL)

			out, stderr, err := runApp(t, f.dir, nil, "remap", "--backup", f.backup, "--target-pool", f.target, "--yes")
			if err != nil {
				t.Fatalf("remap: %v\n%s%s", err, out, stderr)
			}
			if n := strings.Count(out+stderr, "Fell back to one UpdateItem"); n != 1 || strings.Count(out+stderr, tc.reason) != 1 {
				t.Errorf("the fallback must be said once, with its reason %q:\n%s%s", tc.reason, out, stderr)
			}
			if p.Calls("BatchExecuteStatement") == 0 {
				t.Error("no BatchExecuteStatement call went through the proxy: the test tests nothing")
			}
			if _, stmts := p.Refused(); tc.name != "every call refused" && stmts == 0 {
				t.Error("the proxy refused no statement: the test tests nothing")
			}
			f.expectRemapped(t, env)
			expectJournalExact(t, env, filepath.Join(f.dir, ".poolmigrate", "remap", f.target+".journal.jsonl"))

			if _, _, err := runApp(t, f.dir, nil, "rollback", "--yes"); err != nil {
				t.Fatalf("rollback: %v", err)
			}
			if got := dumpTables(t, env, f.tables()); !reflect.DeepEqual(got, original) {
				t.Error("rollback did not restore the tables exactly")
			}
		})
	}
}

// dumpTables reads every item of the tables, each as its full JSON
// (attribute types and all), sorted.
func dumpTables(t *testing.T, env *testenv.Env, tables []string) map[string][]string {
	t.Helper()
	out := map[string][]string{}
	for _, tb := range tables {
		items := []string{}
		p := dynamodb.NewScanPaginator(env.Dynamo, &dynamodb.ScanInput{TableName: aws.String(tb), ConsistentRead: aws.Bool(true)})
		for p.HasMorePages() {
			page, err := p.NextPage(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			for _, it := range page.Items {
				data, err := dynamo.EncodeItem(it)
				if err != nil {
					t.Fatal(err)
				}
				items = append(items, string(data))
			}
		}
		sort.Strings(items)
		out[tb] = items
	}
	return out
}

// journalWrites reads a journal's standing writes (not voided) and its
// run records.
func journalWrites(t *testing.T, path string) (writes []dynamo.JournalRecord, starts int) {
	t.Helper()
	voided := map[int64]bool{}
	var all []dynamo.JournalRecord
	if err := dynamo.ReadJournal(path, func(r dynamo.JournalRecord) error {
		switch {
		case r.Kind == "void":
			voided[r.Void] = true
		case r.Kind == "start":
			starts++
		case r.IsWrite():
			all = append(all, r)
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	for _, r := range all {
		if !voided[r.Seq] {
			writes = append(writes, r)
		}
	}
	return writes, starts
}

// writtenKey is where a journaled write left its item: its new key for a
// move.
func writtenKey(r dynamo.JournalRecord) string {
	k := r.Key
	if r.Kind == "move" {
		k = r.NewKey
	}
	return r.Table + " " + string(k)
}

// expectJournalExact checks a journal against the tables: one standing
// record per item written, and each item holds what its record wrote (a
// moved item is gone from its old key and whole under its new one).
func expectJournalExact(t *testing.T, env *testenv.Env, path string) {
	t.Helper()
	writes, _ := journalWrites(t, path)
	if len(writes) == 0 {
		t.Fatalf("%s holds no write", path)
	}
	seen := map[string]bool{}
	for _, w := range writes {
		if seen[writtenKey(w)] {
			t.Errorf("two standing journal records for %s", writtenKey(w))
		}
		seen[writtenKey(w)] = true
		after, err := dynamo.DecodeItem(w.After)
		if err != nil {
			t.Fatal(err)
		}
		key := w.Key
		if w.Kind == "move" {
			key = w.NewKey
			old, _ := dynamo.DecodeItem(w.Key)
			if cur := getItem(t, env, w.Table, old); cur != nil {
				t.Errorf("%s: moved, but the old item is still there", writtenKey(w))
			}
		}
		k, _ := dynamo.DecodeItem(key)
		cur := getItem(t, env, w.Table, k)
		for _, a := range w.Changed {
			if cur == nil || !reflect.DeepEqual(cur[a], after[a]) {
				t.Errorf("%s: the journal says %s was written, the item holds %v", writtenKey(w), a, cur[a])
			}
		}
	}
}

func getItem(t *testing.T, env *testenv.Env, table string, key map[string]types.AttributeValue) map[string]types.AttributeValue {
	t.Helper()
	out, err := env.Dynamo.GetItem(context.Background(), &dynamodb.GetItemInput{TableName: &table, Key: key, ConsistentRead: aws.Bool(true)})
	if err != nil {
		t.Fatal(err)
	}
	return out.Item
}

// Three workers started at once, each on its share of the tables' scan
// segments (one of them killed and started again), leave the tables
// exactly as one remap leaves an identical copy; verify reads every
// worker's journal; rollback --worker undoes one worker's writes and
// rollback the rest, byte for byte.
func TestRemapWorkersSplitTheTables(t *testing.T) {
	t.Parallel() // own pools, tables and folders
	env := testenv.Require(t)
	f := setupRemap(t, env)
	original := dumpTables(t, env, f.tables())
	twin := twinFixture(t, env, f)
	bin := buildBinary(t)

	// The twin: one remap, as usual.
	if out, stderr, err := runApp(t, twin.dir, nil, "remap", "--backup", f.backup, "--target-pool", f.target, "--yes"); err != nil {
		t.Fatalf("remap of the twin: %v\n%s%s", err, out, stderr)
	}

	worker := func(k int) (*exec.Cmd, *bytes.Buffer) {
		// Paced so that a worker takes a few seconds and a kill lands in
		// the middle of it.
		cmd := exec.Command(bin, "remap", "--backup", f.backup, "--target-pool", f.target, "--yes", "--json",
			"--segments", "6", "--worker", fmt.Sprintf("%d/3", k), "--workers", "4", "--wps", "250")
		var buf bytes.Buffer // the JSON summary; progress and the prompt's text go to the test's log
		cmd.Dir, cmd.Env, cmd.Stdout, cmd.Stderr = f.dir, os.Environ(), &buf, testWriter{t}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		return cmd, &buf
	}
	var cmds []*exec.Cmd
	var outs []*bytes.Buffer
	for k := 0; k < 3; k++ {
		c, o := worker(k)
		cmds, outs = append(cmds, c), append(outs, o)
	}
	journal := func(k int) string {
		return filepath.Join(f.dir, ".poolmigrate", "remap", fmt.Sprintf("%s.worker-%d-of-3.journal.jsonl", f.target, k))
	}
	// Worker 1 is killed once it has journaled some writes.
	done := make(chan error, 1)
	go func() { done <- cmds[1].Wait() }()
	for killed := false; !killed; {
		select {
		case err := <-done:
			t.Fatalf("worker 1/3 finished (%v) before the kill: the test would mean nothing\n%s", err, outs[1])
		case <-time.After(20 * time.Millisecond):
			if data, _ := os.ReadFile(journal(1)); bytes.Count(data, []byte(`"kind":"update"`)) >= 50 {
				_ = cmds[1].Process.Signal(syscall.SIGKILL)
				<-done
				killed = true
			}
		}
	}
	for _, k := range []int{0, 2} {
		if err := cmds[k].Wait(); err != nil {
			t.Fatalf("worker %d/3: %v\n%s", k, err, outs[k])
		}
	}
	killedWrites, _ := journalWrites(t, journal(1))
	if len(killedWrites) == 0 {
		t.Fatal("worker 1/3 was killed before it wrote anything: the test would not show a resume")
	}
	// Worker 1 again: it resumes its own share.
	c, o := worker(1)
	if err := c.Wait(); err != nil {
		t.Fatalf("worker 1/3 again: %v\n%s", err, o)
	}
	var again struct {
		Worker   string
		Segments int
		Tables   []struct {
			Scanned, Changed int64
		}
	}
	if err := decodeInto(o.String(), &again); err != nil {
		t.Fatalf("worker 1/3 again: %v\n%s", err, o)
	}
	var scanned int64
	for _, tb := range again.Tables {
		scanned += tb.Scanned
	}
	var total int
	for _, items := range original {
		total += len(items)
	}
	if again.Worker != "1/3" || again.Segments != 6 || scanned == 0 || scanned >= int64(total) {
		t.Errorf("worker 1/3 again scanned %d of the %d items (worker %q of %d segments): it must take its own share", scanned, total, again.Worker, again.Segments)
	}

	// The tables are as the twin's.
	got, want := dumpTables(t, env, f.tables()), dumpTables(t, env, twin.tables())
	for i, tb := range f.tables() {
		if g, w := normalizeChanged(got[tb]), normalizeChanged(want[twin.tables()[i]]); !reflect.DeepEqual(g, w) {
			t.Errorf("%s differs from one remap's result (%d items, %d)", tb, len(g), len(w))
		}
	}
	f.expectRemapped(t, env)

	// Each worker wrote only its own items; worker 1 ran twice.
	owner := map[string]int{}
	perWorker := make([][]dynamo.JournalRecord, 3)
	for k := 0; k < 3; k++ {
		writes, starts := journalWrites(t, journal(k))
		perWorker[k] = writes
		if wantStarts := map[bool]int{true: 2, false: 1}[k == 1]; starts != wantStarts {
			t.Errorf("worker %d/3: %d runs in its journal, want %d", k, starts, wantStarts)
		}
		for _, w := range writes {
			if other, ok := owner[writtenKey(w)]; ok {
				t.Errorf("%s written by workers %d and %d", writtenKey(w), other, k)
			}
			owner[writtenKey(w)] = k
		}
		expectJournalExact(t, env, journal(k))
	}

	var rep struct {
		OK       bool
		Journals []struct {
			Worker   string
			Segments int
			Finished bool
		}
		JournalNotes []string
	}
	_, out, err := f.run(t, "verify")
	if err != nil || decodeInto(out, &rep) != nil || !rep.OK || len(rep.Journals) != 3 || len(rep.JournalNotes) != 0 {
		t.Fatalf("verify after the workers: %v\n%s", err, out)
	}
	for k, j := range rep.Journals {
		if j.Worker != fmt.Sprintf("%d/3", k) || j.Segments != 6 || !j.Finished {
			t.Errorf("verify's journal %d: %+v", k, j)
		}
	}

	// rollback --worker 1/3 undoes worker 1's writes only.
	remapped := dumpTables(t, env, f.tables())
	if _, _, err := runApp(t, f.dir, nil, "rollback", "--worker", "1/3", "--yes"); err != nil {
		t.Fatalf("rollback --worker 1/3: %v", err)
	}
	expectOneWorkerRolledBack(t, env, f, original, remapped, perWorker[1])
	_, out, err = f.run(t, "verify")
	if ExitCode(err) != 1 || decodeInto(out, &rep) != nil || len(rep.Journals) != 2 || len(rep.JournalNotes) != 1 || !strings.Contains(rep.JournalNotes[0], "1/3") {
		t.Errorf("verify after rolling back worker 1/3 must fail and miss its journal: %v\n%s", err, out)
	}

	// rollback undoes every journal left.
	if _, _, err := runApp(t, f.dir, nil, "rollback", "--yes"); err != nil {
		t.Fatalf("rollback: %v", err)
	}
	if got := dumpTables(t, env, f.tables()); !reflect.DeepEqual(got, original) {
		t.Error("rolling back the three workers did not restore the tables exactly")
	}
}

// testWriter sends a process's stderr to the test's log.
type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

// twinFixture is a second project whose tables hold copies of f's items:
// the same backup and target pool, other table names.
func twinFixture(t *testing.T, env *testenv.Env, f *remapFixture) *remapFixture {
	t.Helper()
	twin := &remapFixture{dir: copyProject(t, "../examples/notes-app"), apiID: "tw" + testenv.RandomSuffix()}
	replaceInFile(t, filepath.Join(twin.dir, "amplify/backend/amplify-meta.json"), "n0tesapi1d", twin.apiID)
	notesTables(t, env, twin.apiID)
	for i, tb := range f.tables() {
		dst := twin.tables()[i]
		p := dynamodb.NewScanPaginator(env.Dynamo, &dynamodb.ScanInput{TableName: aws.String(tb), ConsistentRead: aws.Bool(true)})
		for p.HasMorePages() {
			page, err := p.NextPage(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			for _, it := range page.Items {
				if _, err := env.Dynamo.PutItem(context.Background(), &dynamodb.PutItemInput{TableName: &dst, Item: it}); err != nil {
					t.Fatal(err)
				}
			}
		}
	}
	return twin
}

// normalizeChanged hides the one value two remaps of the same items do not
// share: the time DataStore's _lastChangedAt was set to.
func normalizeChanged(items []string) []string {
	out := make([]string, len(items))
	for i, s := range items {
		var it map[string]json.RawMessage
		_ = json.Unmarshal([]byte(s), &it)
		if v, ok := it["_lastChangedAt"]; ok && string(v) != `{"N":"1700000000000"}` {
			it["_lastChangedAt"] = json.RawMessage(`"(set by the remap)"`)
		}
		data, _ := json.Marshal(it)
		out[i] = string(data)
	}
	sort.Strings(out)
	return out
}

// expectOneWorkerRolledBack checks that the items worker's writes left are
// back as they were, and every other item as the remap left it.
func expectOneWorkerRolledBack(t *testing.T, env *testenv.Env, f *remapFixture, original, remapped map[string][]string, writes []dynamo.JournalRecord) {
	t.Helper()
	keyOf := func(table, item string) string {
		it, _ := dynamo.DecodeItem([]byte(item))
		k := map[string]types.AttributeValue{}
		for _, a := range []string{"id", "userId"} {
			if v, ok := it[a]; ok {
				k[a] = v
			}
		}
		data, _ := dynamo.EncodeItem(k)
		return table + " " + string(data)
	}
	undone, restored := map[string]bool{}, map[string]bool{}
	for _, w := range writes {
		undone[writtenKey(w)] = true
		restored[w.Table+" "+string(w.Key)] = true
	}
	want := map[string][]string{}
	for _, tb := range f.tables() {
		items := []string{}
		for _, it := range remapped[tb] {
			if !undone[keyOf(tb, it)] {
				items = append(items, it)
			}
		}
		for _, it := range original[tb] {
			if restored[keyOf(tb, it)] {
				items = append(items, it)
			}
		}
		sort.Strings(items)
		want[tb] = items
	}
	if got := dumpTables(t, env, f.tables()); !reflect.DeepEqual(got, want) {
		t.Errorf("after rollback --worker 1/3 the tables are not the remap's with worker 1/3's %d writes undone", len(writes))
	}
}

func TestRemapWorkerFlagsAreChecked(t *testing.T) {
	dir := copyProject(t, "../examples/notes-app")
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"remap", "--worker", "3/3"}, "K must be at least 0 and less than M"},
		{[]string{"remap", "--worker", "one/3"}, "want K/M"},
		{[]string{"remap", "--worker", "1/8"}, "8 workers need --segments of at least 8"},
		{[]string{"remap", "--segments", "8", "--worker", "1/9"}, "9 workers need --segments of at least 9"},
		{[]string{"rollback", "--journal", "j.jsonl", "--worker", "1/3"}, "--journal names one journal"},
	} {
		args := tc.args
		if args[0] == "remap" {
			args = append(args, "--backup", "b.jsonl", "--target-pool", "us-east-1_AbC123xyZ")
		}
		_, _, err := runApp(t, dir, nil, args...)
		if ExitCode(err) != 2 || !strings.Contains(fmt.Sprint(err), tc.want) {
			t.Errorf("%v: %v (exit %d), want a usage error saying %q", tc.args, err, ExitCode(err), tc.want)
		}
	}
	if err := os.MkdirAll(filepath.Join(dir, ".poolmigrate", "remap"), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, ".poolmigrate", "remap", "p.worker-0-of-2.journal.jsonl"), nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if _, _, err := runApp(t, dir, nil, "rollback", "--worker", "1/2", "--yes"); err == nil || !strings.Contains(err.Error(), "no journal of worker 1/2 of the remap to pool p") {
		t.Errorf("rollback of a worker whose journal is not here: %v", err)
	}
}
