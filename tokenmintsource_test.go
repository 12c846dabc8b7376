package main

import (
	"io/fs"
	"os"
	"testing"

	"github.com/poolmigrate/poolmigrate/tokenmint/deploy"
)

// The binary carries every file the token function is built from
// (deploy.SourceFiles), as they are in this tree: a file added to the
// function but not to the go:embed line fails here, not at a user's copy.
func TestTokenmintSourceIsComplete(t *testing.T) {
	tree := os.DirFS(".")
	for _, pat := range deploy.SourceFiles {
		want, err := fs.Glob(tree, pat)
		if err != nil || len(want) == 0 {
			t.Fatalf("%s: %v %v", pat, want, err)
		}
		for _, name := range want {
			w, _ := fs.ReadFile(tree, name)
			got, err := fs.ReadFile(tokenmintSource, name)
			if err != nil || string(got) != string(w) {
				t.Errorf("%s: the embedded copy differs or is missing (%v)", name, err)
			}
		}
	}
}
