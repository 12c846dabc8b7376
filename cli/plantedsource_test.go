package cli

import (
	"archive/zip"
	"bytes"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/poolmigrate/poolmigrate/trigger"
)

// The functions poolmigrate deploys (the migration trigger, the token
// function) are built only from the binary's own source or a folder the
// operator names, never from code planted around the working folder:
// these helpers plant such code and check a package is not it
// (TestTriggerPlantedSource, TestTokenmintPackage).

// plantedMarker is in the code an attacker plants; the real functions
// never hold it.
const plantedMarker = "PLANTED-TRIGGER-SEES-EVERY-PASSWORD"

// plantSource writes what a hostile project (or anyone who can write to a
// parent folder) would: a go.mod naming poolmigrate's module and a
// cmd/<command> of its own (migration-trigger, tokenmint-lambda) that
// prints plantedMarker.
func plantSource(t *testing.T, dir, command string) {
	t.Helper()
	files := map[string]string{
		"go.mod":                      "module " + trigger.Module + "\n\ngo 1.22\n",
		"cmd/" + command + "/main.go": "package main\n\nimport \"os\"\n\nfunc main() { os.Stdout.WriteString(\"" + plantedMarker + "\") }\n",
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

// plantedProject plants command's code in a temporary folder and in its
// subfolder "project", the working folder, and returns this test's own
// source (the binary's own, as the tests see it), the parent and the
// project.
func plantedProject(t *testing.T, command string) (root, parent, project string) {
	t.Helper()
	root, err := trigger.FindSource(".")
	if err != nil {
		t.Fatal(err)
	}
	parent = t.TempDir()
	plantSource(t, parent, command)
	project = filepath.Join(parent, "project")
	plantSource(t, project, command)
	return root, parent, project
}

// sourceApp is an App working in wd with no environment, both its streams
// written to the buffer returned; the caller gives it its own source or
// not.
func sourceApp(wd string) (*App, *bytes.Buffer) {
	var out bytes.Buffer
	return &App{Stdin: strings.NewReader(""), Stdout: &out, Stderr: &out, Getenv: func(string) string { return "" },
		Getwd: func() (string, error) { return wd, nil }}, &out
}

// checkNeedsSource fails t unless err refuses a build that has neither a
// package nor its own source and names --source DIR; it tells whether it
// did.
func checkNeedsSource(t *testing.T, what string, err error) bool {
	t.Helper()
	if err == nil || !strings.Contains(err.Error(), "--source DIR") {
		t.Errorf("%s without a package or its own source: %v, want a refusal naming --source DIR", what, err)
		return false
	}
	return true
}

// checkOwnBootstrap fails t unless boot, a function's bootstrap, is built
// from this source: it holds own (a string only that function's code
// has) and not plantedMarker.
func checkOwnBootstrap(t *testing.T, what string, boot []byte, own string) {
	t.Helper()
	if bytes.Contains(boot, []byte(plantedMarker)) {
		t.Errorf("%s built the planted code", what)
	}
	if !bytes.Contains(boot, []byte(own)) {
		t.Errorf("%s: the bootstrap is not the function of this source (no %q)", what, own)
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
