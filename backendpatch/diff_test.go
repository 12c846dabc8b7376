package backendpatch

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/poolmigrate/poolmigrate/testbed/testenv"
)

// TestUnifiedDiffOfA20kLineFile diffs a 20,000-line file (an amplify-meta
// or CloudFormation template of a big project) with edits spread through
// it: GNU patch applies the diff to the old text and gets the new one
// exactly, and the diff allocates megabytes, not the gigabytes a full LCS
// table of 20,000 × 20,000 lines would take.
func TestUnifiedDiffOfA20kLineFile(t *testing.T) {
	var a, b strings.Builder
	for i := 0; i < 20000; i++ {
		line := fmt.Sprintf(`    "Resource%05d": { "Type": "AWS::IAM::Role", "DependsOn": "auth%d" },`, i, i%7)
		a.WriteString(line + "\n")
		switch {
		case i%997 == 0:
			b.WriteString(strings.ReplaceAll(line, "IAM::Role", "IAM::Policy") + "\n")
		case i%1499 == 0: // deleted
		case i%1733 == 0:
			b.WriteString(line + "\n" + `    "Inserted": true,` + "\n")
		default:
			b.WriteString(line + "\n")
		}
	}
	old, new := a.String(), b.String()
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	diff := UnifiedDiff("a/template.json", "b/template.json", old, new)
	runtime.ReadMemStats(&after)
	if alloc := after.TotalAlloc - before.TotalAlloc; alloc > 200<<20 {
		t.Errorf("the diff allocated %d MB", alloc>>20)
	}
	if !strings.HasPrefix(diff, "--- a/template.json\n+++ b/template.json\n@@ ") {
		t.Fatalf("not a unified diff:\n%.300s", diff)
	}
	patch, err := exec.LookPath("patch")
	if err != nil {
		testenv.Skip(t, "GNU patch is not installed (apt-get install patch; .ci/run does)")
	}
	dir := t.TempDir()
	file := filepath.Join(dir, "template.json")
	if err := os.WriteFile(file, []byte(old), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(patch, "--silent", "--force", file)
	cmd.Stdin = strings.NewReader(diff)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("patch rejected the diff: %v\n%s", err, out)
	}
	got, _ := os.ReadFile(file)
	if string(got) != new {
		t.Error("the patched file differs from the new text")
	}
}
