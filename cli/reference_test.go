package cli

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/spf13/cobra"
)

// TestReferenceIsGenerated: the command reference committed in
// docs/reference and docs/man is what the command tree gives today, page
// for page and byte for byte, so a changed flag or command without
// regenerated docs fails; and generating it twice gives the same bytes
// (no dates), with no page for a hidden command.
func TestReferenceIsGenerated(t *testing.T) {
	fresh := t.TempDir()
	md, man := filepath.Join(fresh, "md"), filepath.Join(fresh, "man")
	if err := WriteReference(md, man); err != nil {
		t.Fatal(err)
	}
	again := t.TempDir()
	if err := WriteReference(filepath.Join(again, "md"), filepath.Join(again, "man")); err != nil {
		t.Fatal(err)
	}
	for _, d := range []struct{ generated, second, committed string }{
		{md, filepath.Join(again, "md"), filepath.Join("..", ReferenceDirs.Markdown)},
		{man, filepath.Join(again, "man"), filepath.Join("..", ReferenceDirs.Man)},
	} {
		gen, sec, com := pages(t, d.generated), pages(t, d.second), pages(t, d.committed)
		if len(gen) < 15 {
			t.Fatalf("%s: only %d pages generated", d.generated, len(gen))
		}
		for name, body := range gen {
			if sec[name] != body {
				t.Errorf("%s: two runs of the generator differ", name)
			}
			switch c, ok := com[name]; {
			case !ok:
				t.Errorf("%s/%s is missing: run `go run ./cmd/gendocs` and commit docs/", d.committed, name)
			case c != body:
				t.Errorf("%s/%s differs from the command tree: run `go run ./cmd/gendocs` and commit docs/", d.committed, name)
			}
		}
		for name := range com {
			if _, ok := gen[name]; !ok {
				t.Errorf("%s/%s is of no command: run `go run ./cmd/gendocs` (it removes it) and commit docs/", d.committed, name)
			}
		}
	}
	// A hidden command (cobra's __complete, or one of ours some day) has
	// no page.
	root := (&App{}).rootCommand(nil)
	root.AddCommand(&cobra.Command{Use: "secret", Hidden: true, Run: func(*cobra.Command, []string) {}})
	withHidden := t.TempDir()
	if err := writeReference(root, withHidden, t.TempDir()); err != nil {
		t.Fatal(err)
	}
	if _, ok := pages(t, withHidden)["poolmigrate_secret.md"]; ok || len(pages(t, withHidden)) != len(pages(t, md)) {
		t.Errorf("the hidden command has a reference page")
	}
}

func pages(t *testing.T, dir string) map[string]string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatalf("read %s: %v (run `go run ./cmd/gendocs`)", dir, err)
	}
	out := map[string]string{}
	for _, e := range entries {
		if e.IsDir() {
			continue
		}
		b, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		out[e.Name()] = string(b)
	}
	return out
}
