package trigger

import (
	"archive/zip"
	"bytes"
	"context"
	"crypto/sha256"
	"debug/elf"
	"encoding/hex"
	"os"
	"path/filepath"
	"testing"
)

// Build makes a linux/arm64 bootstrap (Lambda's provided.al2023 on
// Graviton) and a zip holding only it, executable.
func TestBuild(t *testing.T) {
	src, err := FindSource(".")
	if err != nil {
		t.Fatal(err)
	}
	// Without a folder: a fresh private one, never a fixed shared path.
	b, err := Build(context.Background(), src, "", "arm64")
	if b.Dir != "" {
		t.Cleanup(func() { os.RemoveAll(b.Dir) })
	}
	if err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Stat(b.Dir); err != nil || fi.Mode().Perm() != 0o700 || filepath.Dir(b.Bootstrap) != b.Dir || filepath.Dir(b.Zip) != b.Dir {
		t.Errorf("built into %s (%v, %v): want a private folder of its own", b.Dir, fi.Mode(), err)
	}
	// The bytes deploy uploads are the ones hashed and written.
	onDisk, err := os.ReadFile(b.Zip)
	sum := sha256.Sum256(b.Package)
	if err != nil || !bytes.Equal(onDisk, b.Package) || hex.EncodeToString(sum[:]) != b.SHA256 {
		t.Errorf("package in memory (%d bytes, sha256 %s) and on disk (%d bytes, %v) differ", len(b.Package), b.SHA256, len(onDisk), err)
	}
	again, err := Build(context.Background(), src, "", "arm64")
	if again.Dir != "" {
		t.Cleanup(func() { os.RemoveAll(again.Dir) })
	}
	if err != nil || again.Dir == b.Dir {
		t.Errorf("a second build went to %s (%v), the first to %s: each needs a new folder", again.Dir, err, b.Dir)
	}
	f, err := elf.Open(b.Bootstrap)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if f.Machine != elf.EM_AARCH64 || f.Type != elf.ET_EXEC {
		t.Errorf("bootstrap is %v %v, want an aarch64 executable", f.Machine, f.Type)
	}
	z, err := zip.OpenReader(b.Zip)
	if err != nil {
		t.Fatal(err)
	}
	defer z.Close()
	if len(z.File) != 1 || z.File[0].Name != "bootstrap" || z.File[0].Mode().Perm() != 0o755 {
		t.Errorf("zip entries: %v", z.File)
	}
	if len(b.SHA256) != 64 {
		t.Errorf("sha256 %q", b.SHA256)
	}
	if _, err := Build(context.Background(), src, t.TempDir(), "x86"); err == nil {
		t.Error("an architecture Lambda does not run was accepted")
	}
}
