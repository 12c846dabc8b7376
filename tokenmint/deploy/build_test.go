package deploy

import (
	"archive/zip"
	"bytes"
	"context"
	"os"
	"runtime"
	"testing"

	"github.com/poolmigrate/poolmigrate/trigger"
)

// TestBuildEmbeddedBuildsTheFunction: from the module's own files (as a
// binary embeds them), a zip with an executable bootstrap; a source
// without the command is refused.
func TestBuildEmbeddedBuildsTheFunction(t *testing.T) {
	root, err := trigger.FindSource(".")
	if err != nil {
		t.Fatal(err)
	}
	b, err := BuildEmbedded(context.Background(), os.DirFS(root), t.TempDir(), runtime.GOARCH)
	if err != nil {
		t.Fatal(err)
	}
	z, err := zip.NewReader(bytes.NewReader(b.Package), int64(len(b.Package)))
	if err != nil || len(z.File) != 1 || z.File[0].Name != "bootstrap" || z.File[0].Mode().Perm()&0o111 == 0 {
		t.Fatalf("the package: %v", err)
	}
	if _, err := BuildEmbedded(context.Background(), os.DirFS(t.TempDir()), t.TempDir(), runtime.GOARCH); err == nil {
		t.Error("built from an empty source")
	}
}
