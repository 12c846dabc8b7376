package trigger

import (
	"archive/zip"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// Module is the Go module the trigger is built from.
const Module = "github.com/poolmigrate/poolmigrate"

// Built is what Build wrote.
type Built struct {
	Dir       string `json:"dir"`
	Bootstrap string `json:"bootstrap"`
	Zip       string `json:"zip"`
	SHA256    string `json:"sha256"` // of the zip, as Lambda reports CodeSha256 (base64 there)
	Arch      string `json:"arch"`
	// Source says what it was built from: this poolmigrate's own source,
	// or the --source folder named.
	Source string `json:"source,omitempty"`
	// Package is the zip's bytes, the ones hashed and written: deploy
	// uploads these, never a file read back from disk.
	Package []byte `json:"-"`
}

// FindSource returns the root of the poolmigrate module at or above dir.
// Only tests and tools of this repository use it: the commands never
// build the trigger from a folder they found (a go.mod planted in the
// working folder or a parent would get its code deployed); they build
// from the binary's own source (Unpack) or from a --source DIR the user
// names.
func FindSource(dir string) (string, error) {
	dir, err := filepath.Abs(dir)
	if err != nil {
		return "", err
	}
	for d := dir; ; d = filepath.Dir(d) {
		data, err := os.ReadFile(filepath.Join(d, "go.mod"))
		if err == nil && strings.HasPrefix(strings.TrimSpace(string(data)), "module "+Module) {
			return d, nil
		}
		if filepath.Dir(d) == d {
			return "", fmt.Errorf("no %s source at or above %s", Module, dir)
		}
	}
}

// SourceFiles are the files the trigger is built from, as patterns of
// path.Match: the module's go.mod and go.sum (which pins every
// dependency's hash), this package and the command. A binary carries
// them (go:embed in package main) so it builds the trigger from its own
// source and nothing else.
var SourceFiles = []string{"go.mod", "go.sum", "trigger/*.go", "cmd/migration-trigger/*.go"}

// Unpack writes the trigger's source files (SourceFiles, without tests)
// from src into a new private folder (os.MkdirTemp, 0700) and returns it;
// the caller removes it. src is the binary's own source (embedded).
func Unpack(src fs.FS) (dir string, err error) {
	return UnpackFiles(src, SourceFiles, "cmd/migration-trigger/main.go", "trigger")
}

// UnpackFiles is Unpack for another Lambda command (what names it in the
// folder's name and the errors): its source files (patterns, like
// SourceFiles), whose main file must be among them.
func UnpackFiles(src fs.FS, patterns []string, main, what string) (dir string, err error) {
	dir, err = os.MkdirTemp("", "poolmigrate-"+what+"-src-")
	if err != nil {
		return "", fmt.Errorf("make the source folder: %w", err)
	}
	defer func() {
		if err != nil {
			os.RemoveAll(dir)
			dir = ""
		}
	}()
	n := 0
	for _, pat := range patterns {
		names, err := fs.Glob(src, pat)
		if err != nil {
			return "", err
		}
		for _, name := range names {
			if strings.HasSuffix(name, "_test.go") {
				continue
			}
			data, err := fs.ReadFile(src, name)
			if err != nil {
				return "", fmt.Errorf("read the %s's source %s: %w", what, name, err)
			}
			to := filepath.Join(dir, filepath.FromSlash(name))
			if err := os.MkdirAll(filepath.Dir(to), 0o700); err != nil {
				return "", err
			}
			if err := os.WriteFile(to, data, 0o600); err != nil {
				return "", err
			}
			n++
		}
	}
	if _, err := os.Stat(filepath.Join(dir, filepath.FromSlash(main))); err != nil || n < 4 {
		return "", errors.New("this poolmigrate carries no complete " + what + " source")
	}
	return dir, nil
}

// Build compiles the trigger as the `bootstrap` of Lambda's provided.al2023
// runtime for arch (arm64 or amd64) from the source at src, with Go, and
// zips it (bootstrap at the root, executable), into out. With out empty it
// builds into a fresh private folder (os.MkdirTemp: mode 0700, a new name
// each time), so nobody else on the machine can swap the package between
// the build and an upload.
func Build(ctx context.Context, src, out, arch string) (b Built, err error) {
	return BuildCommand(ctx, src, out, arch, "./cmd/migration-trigger", "migration-trigger.zip")
}

// BuildCommand is Build for another Lambda command of the module (pkg,
// like ./cmd/tokenmint-lambda), zipped as zipName.
func BuildCommand(ctx context.Context, src, out, arch, pkg, zipName string) (b Built, err error) {
	b = Built{Arch: arch}
	if arch != "arm64" && arch != "amd64" {
		return b, fmt.Errorf("architecture %q: Lambda runs arm64 or amd64 (x86_64)", arch)
	}
	if _, err := exec.LookPath("go"); err != nil {
		return b, errors.New("building the trigger needs Go (https://go.dev/dl/)")
	}
	if out == "" {
		if out, err = os.MkdirTemp("", "poolmigrate-trigger-"); err == nil {
			defer func() {
				if err != nil {
					os.RemoveAll(out)
					b.Dir = ""
				}
			}()
		}
	} else {
		err = os.MkdirAll(out, 0o700)
	}
	if err != nil {
		return b, fmt.Errorf("make the build folder: %w", err)
	}
	b.Dir = out
	b.Bootstrap = filepath.Join(out, "bootstrap")
	// -mod=readonly: every dependency as go.sum pins it; no go.work from
	// around src; no VCS stamp, so the same source gives the same package
	// wherever it lies.
	cmd := exec.CommandContext(ctx, "go", "build", "-mod=readonly", "-buildvcs=false", "-tags", "lambda.norpc", "-trimpath", "-ldflags", "-s -w", "-o", b.Bootstrap, pkg)
	cmd.Dir = src
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux", "GOARCH="+arch, "GOWORK=off")
	if msg, err := cmd.CombinedOutput(); err != nil {
		return b, fmt.Errorf("go build %s: %w\n%s", pkg, err, msg)
	}
	if b.Package, err = zipBootstrap(b.Bootstrap); err != nil {
		return b, err
	}
	sum := sha256.Sum256(b.Package)
	b.SHA256 = hex.EncodeToString(sum[:])
	b.Zip = filepath.Join(out, zipName)
	if err := os.WriteFile(b.Zip, b.Package, 0o644); err != nil {
		return b, fmt.Errorf("write %s: %w", b.Zip, err)
	}
	return b, nil
}

// zipBootstrap zips the bootstrap, in memory.
func zipBootstrap(bootstrap string) ([]byte, error) {
	in, err := os.Open(bootstrap)
	if err != nil {
		return nil, err
	}
	defer in.Close()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	h := &zip.FileHeader{Name: "bootstrap", Method: zip.Deflate}
	h.SetMode(0o755) // Lambda runs bootstrap: it must be executable
	w, err := zw.CreateHeader(h)
	if err == nil {
		_, err = io.Copy(w, in)
	}
	if cerr := zw.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return nil, fmt.Errorf("zip %s: %w", bootstrap, err)
	}
	return buf.Bytes(), nil
}
