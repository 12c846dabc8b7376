// Command gendocs regenerates the command reference committed in
// docs/reference (Markdown) and docs/man (man pages) from poolmigrate's
// command tree. Run it from the repository root after changing a command
// or a flag: `go run ./cmd/gendocs`. TestReferenceIsGenerated (package
// cli) fails while the committed pages differ from what it writes.
package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/poolmigrate/poolmigrate/cli"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "gendocs:", err)
		os.Exit(1)
	}
}

func run() error {
	if _, err := os.Stat("go.mod"); err != nil {
		return fmt.Errorf("run it from the repository root (no go.mod here): %w", err)
	}
	md, man := cli.ReferenceDirs.Markdown, cli.ReferenceDirs.Man
	// Pages of commands that are gone must go too: the folders hold only
	// generated pages.
	for _, d := range []struct{ dir, ext string }{{md, ".md"}, {man, ".1"}} {
		old, err := filepath.Glob(filepath.Join(d.dir, "*"+d.ext))
		if err != nil {
			return err
		}
		for _, f := range old {
			if err := os.Remove(f); err != nil {
				return err
			}
		}
	}
	if err := cli.WriteReference(md, man); err != nil {
		return err
	}
	pages, _ := filepath.Glob(filepath.Join(md, "*.md"))
	fmt.Printf("wrote %d commands' reference into %s and %s\n", len(pages), md, strings.TrimSuffix(man, "/"))
	return nil
}
