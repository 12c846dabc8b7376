package cli

import (
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/cobra/doc"
)

// referenceDate is the date every man page's header shows. It is fixed
// so the same command tree always gives the same bytes (the reference is
// committed, and a test compares it with the tree); the pages carry no
// other date (DisableAutoGenTag).
var referenceDate = time.Date(2026, time.January, 1, 0, 0, 0, 0, time.UTC)

// WriteReference writes the command reference from the command tree
// with cobra's doc generator: a Markdown page per command into mdDir and
// a man page per command (section 1) into manDir. Hidden commands and
// flags stay out. The folders are created if missing; pages already there
// of commands that are gone are left for the caller to remove.
func WriteReference(mdDir, manDir string) error {
	return writeReference((&App{}).rootCommand(nil), mdDir, manDir)
}

func writeReference(root *cobra.Command, mdDir, manDir string) error {
	disableAutoGenTag(root)
	for _, dir := range []string{mdDir, manDir} {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return err
		}
	}
	if err := doc.GenMarkdownTree(root, mdDir); err != nil {
		return fmt.Errorf("write the Markdown reference: %w", err)
	}
	date := referenceDate
	header := &doc.GenManHeader{Section: "1", Date: &date, Source: "poolmigrate", Manual: "poolmigrate manual"}
	if err := doc.GenManTree(root, header, manDir); err != nil {
		return fmt.Errorf("write the man pages: %w", err)
	}
	return nil
}

// ReferenceDirs are where the committed reference lives, relative to the
// repository root.
var ReferenceDirs = struct{ Markdown, Man string }{
	Markdown: filepath.Join("docs", "reference"),
	Man:      filepath.Join("docs", "man"),
}

func disableAutoGenTag(c *cobra.Command) {
	c.DisableAutoGenTag = true
	for _, sub := range c.Commands() {
		disableAutoGenTag(sub)
	}
}
