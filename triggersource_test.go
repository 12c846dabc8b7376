package main

import (
	"os"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/poolmigrate/poolmigrate/trigger"
)

// The binary carries every file the trigger is built from: what Unpack
// writes from the embedded copy is exactly what it writes from this
// source tree (so a file added to the trigger but not to the go:embed
// line fails here, not at a user's deploy).
func TestTriggerSourceIsComplete(t *testing.T) {
	files := func(src string) map[string]string {
		t.Helper()
		got := map[string]string{}
		err := filepath.WalkDir(src, func(p string, d os.DirEntry, err error) error {
			if err != nil || d.IsDir() {
				return err
			}
			data, err := os.ReadFile(p)
			rel, _ := filepath.Rel(src, p)
			got[filepath.ToSlash(rel)] = string(data)
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		return got
	}
	embedded, err := trigger.Unpack(triggerSource)
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(embedded)
	tree, err := trigger.Unpack(os.DirFS("."))
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(tree)
	a, b := files(embedded), files(tree)
	if !reflect.DeepEqual(a, b) {
		var names []string
		for n := range a {
			names = append(names, n)
		}
		t.Errorf("embedded %d files %v; the tree gives %d", len(a), names, len(b))
	}
	if _, ok := a["cmd/migration-trigger/main.go"]; !ok || a["go.sum"] == "" {
		t.Errorf("embedded: %d files, no command or no go.sum", len(a))
	}
	if fi, err := os.Stat(embedded); err != nil || fi.Mode().Perm() != 0o700 {
		t.Errorf("unpacked into %v (%v): want a private folder", fi.Mode(), err)
	}
}
