package statedir

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestEnsureIgnoresTheFolderOnce(t *testing.T) {
	root := t.TempDir()
	if err := os.WriteFile(filepath.Join(root, ".gitignore"), []byte("node_modules"), 0o644); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 2; i++ {
		dir, err := Ensure(root)
		if err != nil {
			t.Fatal(err)
		}
		fi, err := os.Stat(dir)
		if err != nil || fi.Mode().Perm() != 0o700 {
			t.Fatalf("state folder mode %v, err %v", fi.Mode().Perm(), err)
		}
	}
	data, _ := os.ReadFile(filepath.Join(root, ".gitignore"))
	if got := strings.Count(string(data), "/.poolmigrate/"); got != 1 || !strings.HasPrefix(string(data), "node_modules\n") {
		t.Errorf(".gitignore:\n%s", data)
	}
}

func TestCreateCommitsPrivatelyAndAtomically(t *testing.T) {
	path := filepath.Join(t.TempDir(), "sub", "backup.jsonl")
	f, err := Create(path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.WriteString("data"); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(path); !os.IsNotExist(err) {
		t.Fatalf("file visible before Commit: %v", err)
	}
	if err := f.Commit(); err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(path)
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("mode %v, err %v", fi.Mode().Perm(), err)
	}
	g, _ := Create(path + ".2")
	g.Abort()
	entries, _ := os.ReadDir(filepath.Dir(path))
	if len(entries) != 1 {
		t.Errorf("aborted file left behind: %v", entries)
	}
}
