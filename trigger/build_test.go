package trigger

import (
	"archive/zip"
	"context"
	"debug/elf"
	"testing"
)

// Build makes a linux/arm64 bootstrap (Lambda's provided.al2023 on
// Graviton) and a zip holding only it, executable.
func TestBuild(t *testing.T) {
	src, err := FindSource(".")
	if err != nil {
		t.Fatal(err)
	}
	b, err := Build(context.Background(), src, t.TempDir(), "arm64")
	if err != nil {
		t.Fatal(err)
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
