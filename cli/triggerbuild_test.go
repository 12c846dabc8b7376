package cli

import (
	"archive/zip"
	"bytes"
	"context"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/poolmigrate/poolmigrate/trigger"
)

// plantedMarker is in the code an attacker plants; the real trigger never
// holds it.
const plantedMarker = "PLANTED-TRIGGER-SEES-EVERY-PASSWORD"

// plantTrigger writes what a hostile project (or anyone who can write to a
// parent folder) would: a go.mod naming poolmigrate's module and a
// cmd/migration-trigger of its own.
func plantTrigger(t *testing.T, dir string) {
	t.Helper()
	files := map[string]string{
		"go.mod":                        "module " + trigger.Module + "\n\ngo 1.22\n",
		"cmd/migration-trigger/main.go": "package main\n\nimport \"os\"\n\nfunc main() { os.Stdout.WriteString(\"" + plantedMarker + "\") }\n",
	}
	for name, body := range files {
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// bootstrapOf is the bootstrap inside a deployment package.
func bootstrapOf(t *testing.T, pkg []byte) []byte {
	t.Helper()
	z, err := zip.NewReader(bytes.NewReader(pkg), int64(len(pkg)))
	if err != nil || len(z.File) != 1 {
		t.Fatalf("package: %v (%d entries)", err, len(z.File))
	}
	r, err := z.File[0].Open()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	data, err := io.ReadAll(r)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// TestTriggerPlantedSource: code planted in the working folder or a parent
// is never built into the trigger, neither by `trigger build` nor by
// `trigger deploy` (amd64, which no release package covers in a source
// build); without its own source a build says so and builds nothing.
func TestTriggerPlantedSource(t *testing.T) {
	root, err := trigger.FindSource(".") // this test's own source
	if err != nil {
		t.Fatal(err)
	}
	parent := t.TempDir()
	plantTrigger(t, parent)
	project := filepath.Join(parent, "project")
	plantTrigger(t, project)
	below := filepath.Join(parent, "other", "app")
	if err := os.MkdirAll(below, 0o755); err != nil {
		t.Fatal(err)
	}
	app := func(wd string, own bool) (*App, *bytes.Buffer) {
		var out bytes.Buffer
		a := &App{Stdin: strings.NewReader(""), Stdout: &out, Stderr: &out, Getenv: func(string) string { return "" },
			Getwd: func() (string, error) { return wd, nil }}
		if own {
			a.TriggerSource = os.DirFS(root)
		}
		return a, &out
	}
	ctx := context.Background()
	for _, wd := range []string{project, below} {
		// No source of its own: nothing is built, whatever lies around.
		a, out := app(wd, false)
		outDir := filepath.Join(t.TempDir(), "out")
		if err := a.Run(ctx, []string{"trigger", "build", "--arch", "amd64", "--out", outDir}); err == nil || !strings.Contains(err.Error(), "--source DIR") {
			t.Errorf("in %s without its own source, trigger build: %v\n%s", wd, err, out)
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
	if boot := bootstrapOf(t, pkg); bytes.Contains(boot, []byte(plantedMarker)) || !bytes.Contains(boot, []byte("OLD_USER_POOL_ID")) {
		t.Errorf("deploy packaged the planted code (from %s)", from)
	}
	if !strings.Contains(from, "own source") {
		t.Errorf("deploy's package is from %q", from)
	}
	outDir := filepath.Join(t.TempDir(), "out")
	if err := a.Run(ctx, []string{"trigger", "build", "--arch", "amd64", "--out", outDir}); err != nil {
		t.Fatalf("trigger build: %v\n%s", err, out)
	}
	boot, err := os.ReadFile(filepath.Join(outDir, "bootstrap"))
	if err != nil || bytes.Contains(boot, []byte(plantedMarker)) {
		t.Errorf("trigger build built the planted code (%v)\n%s", err, out)
	}
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
