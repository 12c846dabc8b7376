package cli

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestTriggerPlantedSource: code planted in the working folder or a parent
// is never built into the trigger, neither by `trigger build` nor by
// `trigger deploy` (amd64, which no release package covers in a source
// build); without its own source a build says so and builds nothing.
func TestTriggerPlantedSource(t *testing.T) {
	root, parent, project := plantedProject(t, "migration-trigger")
	below := filepath.Join(parent, "other", "app")
	if err := os.MkdirAll(below, 0o755); err != nil {
		t.Fatal(err)
	}
	app := func(wd string, own bool) (*App, *bytes.Buffer) {
		a, out := sourceApp(wd)
		if own {
			a.TriggerSource = os.DirFS(root)
		}
		return a, out
	}
	ctx := context.Background()
	for _, wd := range []string{project, below} {
		// No source of its own: nothing is built, whatever lies around.
		a, out := app(wd, false)
		outDir := filepath.Join(t.TempDir(), "out")
		if !checkNeedsSource(t, "in "+wd+", trigger build", a.Run(ctx, []string{"trigger", "build", "--arch", "amd64", "--out", outDir})) {
			t.Logf("%s", out)
		}
		if _, err := os.Stat(filepath.Join(outDir, "bootstrap")); err == nil {
			t.Errorf("in %s without its own source, trigger build built something", wd)
		}
		if _, _, err := a.triggerPackage(ctx, "", "", "amd64"); err == nil {
			t.Errorf("in %s without its own source, deploy got a package", wd)
		}
	}
	// With its own source: that is what is built, for deploy and build.
	a, out := app(project, true)
	pkg, from, err := a.triggerPackage(ctx, "", "", "x86_64")
	if err != nil {
		t.Fatalf("deploy's package: %v", err)
	}
	checkOwnBootstrap(t, "deploy (package from "+from+")", bootstrapOf(t, pkg), "OLD_USER_POOL_ID")
	if !strings.Contains(from, "own source") {
		t.Errorf("deploy's package is from %q", from)
	}
	outDir := filepath.Join(t.TempDir(), "out")
	if err := a.Run(ctx, []string{"trigger", "build", "--arch", "amd64", "--out", outDir}); err != nil {
		t.Fatalf("trigger build: %v\n%s", err, out)
	}
	boot, err := os.ReadFile(filepath.Join(outDir, "bootstrap"))
	if err != nil {
		t.Fatalf("trigger build wrote no bootstrap: %v\n%s", err, out)
	}
	checkOwnBootstrap(t, "trigger build", boot, "OLD_USER_POOL_ID")
	if !strings.Contains(out.String(), "own source") || !strings.Contains(out.String(), "sha256 ") {
		t.Errorf("trigger build does not name its source and hash:\n%s", out)
	}
	// A folder the user names is built, and named with the hash.
	out.Reset()
	if err := a.Run(ctx, []string{"trigger", "build", "--arch", "amd64", "--source", project, "--out", filepath.Join(t.TempDir(), "named")}); err != nil {
		t.Fatalf("trigger build --source: %v\n%s", err, out)
	}
	if !strings.Contains(out.String(), "--source "+project) || !strings.Contains(out.String(), "sha256 ") {
		t.Errorf("trigger build --source does not name the folder and hash:\n%s", out)
	}
}
