package statedir

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
)

func TestPathIn(t *testing.T) {
	outer := t.TempDir()
	root := filepath.Join(outer, "project")
	outside := filepath.Join(outer, "outside")
	for _, d := range []string{filepath.Join(root, "amplify", "backend", "api"), outside} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	link := func(target, name string) {
		if err := os.Symlink(target, filepath.Join(root, name)); err != nil {
			t.Fatal(err)
		}
	}
	link(outside, "amplify/backend/function")                     // a folder linked out of the project
	link(filepath.Join(outside, "victim.json"), "amplify/x.json") // a file linked out (dangling)
	link("backend/api", "amplify/apis")                           // a link that stays inside
	if err := os.WriteFile(filepath.Join(outside, "present.json"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	link(filepath.Join(outside, "present.json"), "amplify/y.json") // a file linked out (existing)
	rootLink := filepath.Join(outer, "via-link")
	if err := os.Symlink(root, rootLink); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		root, rel string
		ok        bool
	}{
		{root, "amplify/backend/backend-config.json", true},
		{root, "amplify/backend/api/notes/new/file.json", true}, // not there yet
		{root, "amplify/apis/notes/parameters.json", true},
		{root, ".gitignore", true},
		{rootLink, "amplify/backend/api/x.json", true}, // the root reached through a link
		{root, "../outside/victim.json", false},
		{root, "amplify/backend/auth/../../../../outside/victim.json", false},
		{root, "/etc/passwd", false},
		{root, "", false},
		{root, "amplify/backend/function/fn/src/index.js", false},
		{root, "amplify/backend/function", false},
		{root, "amplify/x.json", false},
		{root, "amplify/y.json", false},
		{rootLink, "amplify/backend/function/fn/file", false},
	} {
		got, err := PathIn(c.root, c.rel)
		var oe *OutsideError
		switch {
		case c.ok && err != nil:
			t.Errorf("PathIn(%s, %q): %v", c.root, c.rel, err)
		case c.ok && got != filepath.Join(c.root, filepath.FromSlash(c.rel)):
			t.Errorf("PathIn(%s, %q) = %s", c.root, c.rel, got)
		case !c.ok && !errors.As(err, &oe):
			t.Errorf("PathIn(%s, %q) = %q, %v; want it refused", c.root, c.rel, got, err)
		}
	}
}

// TestEnsureRefusesALinkedStateFolder: a project that ships .poolmigrate
// as a link would have backups written wherever it points.
func TestEnsureRefusesALinkedStateFolder(t *testing.T) {
	outer := t.TempDir()
	root, elsewhere := filepath.Join(outer, "project"), filepath.Join(outer, "elsewhere")
	for _, d := range []string{root, elsewhere} {
		if err := os.Mkdir(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Symlink(elsewhere, filepath.Join(root, Name)); err != nil {
		t.Fatal(err)
	}
	if _, err := Ensure(root); err == nil {
		t.Fatal("Ensure accepted a state folder that links out of the project")
	}
	if fi, err := os.Stat(elsewhere); err != nil || fi.Mode().Perm() != 0o755 {
		t.Errorf("the link's target was touched: %v %v", fi, err)
	}
	// A .gitignore linked out of the project is not appended to.
	root2 := filepath.Join(outer, "project2")
	victim := filepath.Join(outer, "victim")
	if err := os.Mkdir(root2, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(victim, []byte("keep\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(victim, filepath.Join(root2, ".gitignore")); err != nil {
		t.Fatal(err)
	}
	if _, err := Ensure(root2); err == nil {
		t.Error("Ensure appended to a .gitignore that links out of the project")
	}
	if data, _ := os.ReadFile(victim); string(data) != "keep\n" {
		t.Errorf("the file outside became %q", data)
	}
}
