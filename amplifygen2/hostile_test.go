package amplifygen2

import (
	"bytes"
	"strings"
	"syscall"
	"testing"
	"testing/fstest"
	"time"
)

// gen2With is a Gen 2 project whose data/resource.ts is body.
func gen2With(body string) fstest.MapFS {
	return fstest.MapFS{
		"amplify/backend.ts":       {Data: []byte("export {}\n")},
		"amplify/data/resource.ts": {Data: []byte(body)},
	}
}

// TestResourceFilesThatExhaustMemoryAreStopped: built-ins that goja's
// interrupt cannot stop grew the process to 4-6 GB. They now end in the
// evaluator child at its memory limit (or, on a machine too slow to
// reach it in time, at the timeout), with a refusal naming the file, and
// neither this process nor the child grows past 1 GiB.
func TestResourceFilesThatExhaustMemoryAreStopped(t *testing.T) {
	defer func(d, g time.Duration) { evalTimeout, evalKillGrace = d, g }(evalTimeout, evalKillGrace)
	evalTimeout, evalKillGrace = 5*time.Second, 2*time.Second
	for name, body := range map[string]string{
		"repeat":       "const s = 'x'.repeat(2 ** 30 + 2 ** 29);\nexport const data = s.length;\n",
		"array fill":   "const a = new Array(2 ** 32 - 1).fill(0);\nexport const data = a.length;\n",
		"doubling":     "let s = 'x';\nfor (;;) { s += s; s.charCodeAt(s.length - 1); }\n",
		"many objects": "const a = [];\nfor (;;) { a.push({ a: 1, b: [1, 2, 3] }); }\n",
	} {
		t.Run(name, func(t *testing.T) {
			_, err := Load(gen2With(body), "/app")
			if err == nil || !strings.Contains(err.Error(), "run "+DataPath+": it needed more than 768 MiB of memory and was stopped") && !strings.Contains(err.Error(), "run "+DataPath+": it ran longer than 5s") {
				t.Fatalf("Load: %v, want a refusal of %s for its memory or its time", err, DataPath)
			}
			t.Log(err)
		})
	}
	for who, w := range map[string]int{"this process": syscall.RUSAGE_SELF, "the evaluator": syscall.RUSAGE_CHILDREN} {
		var ru syscall.Rusage
		if err := syscall.Getrusage(w, &ru); err != nil {
			t.Fatal(err)
		}
		if peak := ru.Maxrss << 10; peak > 1<<30 { // Maxrss is in KiB on Linux
			t.Errorf("%s peaked at %d MiB of memory", who, peak>>20)
		}
	}
}

// TestTimeoutNamesTheLineOfTheResourceFile: a run stopped for time names
// the line of the user's file, not one of the bundle.
func TestTimeoutNamesTheLineOfTheResourceFile(t *testing.T) {
	defer func(d time.Duration) { evalTimeout = d }(evalTimeout)
	evalTimeout = 300 * time.Millisecond
	fsys := gen2With("import { a } from '@aws-amplify/backend';\nimport { spin } from './spin';\n\nexport const data = spin(a);\n")
	fsys["amplify/data/spin.ts"] = &fstest.MapFile{Data: []byte("// Spins.\ninterface Never { x: string }\nexport function spin(x: unknown): number {\n  let i = 0;\n  while (true) { i++; }\n}\n")}
	_, err := Load(fsys, "/app")
	if err == nil || !strings.Contains(err.Error(), "run "+DataPath+": it ran longer than 300ms (at amplify/data/spin.ts:5:") {
		t.Fatalf("Load: %v, want a refusal naming amplify/data/spin.ts line 5", err)
	}
	fsys["amplify/data/spin.ts"] = &fstest.MapFile{Data: []byte("export function spin(x: unknown): number {\n  throw new Error('boom');\n}\n")}
	if _, err := Load(fsys, "/app"); err == nil || !strings.Contains(err.Error(), "Error: boom (at amplify/data/spin.ts:2:") {
		t.Fatalf("Load: %v, want an error naming amplify/data/spin.ts line 2", err)
	}
}

// TestAStuckBuiltinIsKilled: a built-in that neither returns nor
// allocates (a backtracking regular expression) ignores goja's
// interrupt; the child is killed after the timeout and its grace.
func TestAStuckBuiltinIsKilled(t *testing.T) {
	defer func(d, g time.Duration) { evalTimeout, evalKillGrace = d, g }(evalTimeout, evalKillGrace)
	evalTimeout, evalKillGrace = 300*time.Millisecond, 300*time.Millisecond
	_, err := Load(gen2With("export const data = /^(?=(a+)+b)/.test('a'.repeat(64));\n"), "/app")
	if err == nil || !strings.Contains(err.Error(), "run "+DataPath+": it ran longer than 300ms and was stopped") {
		t.Fatalf("Load: %v, want the run stopped", err)
	}
}

// TestTheEvaluationIsSandboxed: a resource file gets no file, no
// environment and no module of Node.js: require returns the recorder,
// process.env is empty, and the evaluator runs without the user's
// environment (AWS credentials).
func TestTheEvaluationIsSandboxed(t *testing.T) {
	t.Setenv("AWS_SECRET_ACCESS_KEY", "leaked-secret")
	body := `const fs = require('fs');
let read = 'none';
try { read = String(fs.readFileSync('/etc/passwd', 'utf8')); } catch (e) { read = 'threw ' + e; }
let spawned = 'none';
try { spawned = String(require('child_process').execSync('id')); } catch (e) { spawned = 'threw ' + e; }
export const data = { read, spawned, env: JSON.stringify(process.env), keys: Object.keys(globalThis).join(',') };
`
	js, err := bundle(gen2With(body), DataPath)
	if err != nil {
		t.Fatal(err)
	}
	out, err := runIsolated(DataPath, js)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(out, []byte(`"env"`)) {
		t.Fatalf("the file's exports were not recorded: %s", out)
	}
	for _, leak := range []string{"root:", "uid=", "leaked-secret"} {
		if bytes.Contains(out, []byte(leak)) {
			t.Errorf("the file saw %q: %s", leak, out)
		}
	}
	t.Logf("recorded: %.300s", out)
}

// TestDeeplyNestedOutputsAreRefused: ten million nested "[" in
// amplify_outputs.json overflowed gjson's validator and killed the
// process; they are refused by file and line.
func TestDeeplyNestedOutputsAreRefused(t *testing.T) {
	fsys := fstest.MapFS{
		"amplify/backend.ts": {Data: []byte("export {}\n")},
		OutputsPath:          {Data: bytes.Repeat([]byte("["), 10_000_000)},
	}
	_, err := Load(fsys, "/app")
	if err == nil || !strings.Contains(err.Error(), OutputsPath+": values nested more than 10,000 levels deep") || !strings.Contains(err.Error(), "at line 1, column 10001") {
		t.Fatalf("Load: %v, want a refusal naming %s and its line", err, OutputsPath)
	}
}
