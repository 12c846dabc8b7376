package statedir

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestFSReadsOnlyInsideTheProject: reads through FS refuse a link out of
// the project (a folder, a file, a dangling one, a relative climb), name
// the link, and follow links that stay inside.
func TestFSReadsOnlyInsideTheProject(t *testing.T) {
	outer := t.TempDir()
	root := filepath.Join(outer, "project")
	outside := filepath.Join(outer, "outside")
	for _, d := range []string{filepath.Join(root, "amplify", "backend", "api"), outside} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	write := func(p, s string) {
		if err := os.WriteFile(p, []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write(filepath.Join(outside, "secret.json"), `{"secret":true}`)
	write(filepath.Join(root, "amplify", "backend", "api", "schema.graphql"), "type T { id: ID }")
	link := func(target, name string) {
		if err := os.Symlink(target, filepath.Join(root, filepath.FromSlash(name))); err != nil {
			t.Fatal(err)
		}
	}
	link(outside, "amplify/backend/function")
	link(filepath.Join(outside, "secret.json"), "amplify/backend/amplify-meta.json")
	link(filepath.Join(outside, "gone.json"), "amplify/dangling.json")
	link("../../../outside", "amplify/backend/climb")
	link("api", "amplify/backend/apis") // stays inside

	fsys := FS(root)
	for name, link := range map[string]string{
		"amplify/backend/function/secret.json": "amplify/backend/function",
		"amplify/backend/amplify-meta.json":    "amplify/backend/amplify-meta.json",
		"amplify/dangling.json":                "amplify/dangling.json",
		"amplify/backend/climb/secret.json":    "amplify/backend/climb",
	} {
		data, err := fs.ReadFile(fsys, name)
		var oe *OutsideError
		if !errors.As(err, &oe) || !strings.Contains(err.Error(), "refusing to read "+name+": "+link+" is a symbolic link to ") || strings.Contains(string(data), "secret") {
			t.Errorf("read %s: %q, %v; want a refusal naming the link %s", name, data, err, link)
		}
		if _, err := fs.Stat(fsys, name); !errors.As(err, &oe) {
			t.Errorf("stat %s: %v, want a refusal", name, err)
		}
	}
	if _, err := fs.ReadDir(fsys, "amplify/backend/function"); err == nil {
		t.Error("listing a folder linked out of the project was allowed")
	}
	if data, err := fs.ReadFile(fsys, "amplify/backend/apis/schema.graphql"); err != nil || string(data) != "type T { id: ID }" {
		t.Errorf("a link inside the project: %q, %v", data, err)
	}
	if _, err := fs.ReadFile(fsys, "amplify/missing.json"); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("a missing file: %v, want fs.ErrNotExist", err)
	}
	entries, err := fs.ReadDir(fsys, "amplify/backend")
	if err != nil || len(entries) != 5 {
		t.Errorf("ReadDir amplify/backend: %d entries, %v", len(entries), err)
	}
}
