package cli

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestTokenmintPackage: storage copy and storage link upload the token
// function from the release's own package when the binary carries one,
// else build it from the binary's own source, never from code planted
// around the working folder; --zip and --source override, and the output
// names where the package came from and its SHA-256. A build with neither
// a package nor its source says so and uploads nothing.
func TestTokenmintPackage(t *testing.T) {
	root, _, project := plantedProject(t, "tokenmint-lambda")
	app := func(own bool) (*App, *bytes.Buffer) {
		a, errb := sourceApp(project)
		if own {
			a.TokenmintSource = os.DirFS(root)
		}
		return a, errb
	}
	sha := func(b []byte) string { s := sha256.Sum256(b); return hex.EncodeToString(s[:]) }
	ctx := context.Background()
	defer func(f func(string) []byte) { tokenmintPrebuilt = f }(tokenmintPrebuilt)

	// A build from source without its own source: nothing.
	tokenmintPrebuilt = func(string) []byte { return nil }
	a, _ := app(false)
	_, err := a.tokenmintPackage(ctx, tokenmintFlags{}, "arm64")
	checkNeedsSource(t, "the token function's package", err)

	// A release: its own package, named with its hash, without Go.
	release := map[string][]byte{"arm64": []byte("release arm64 package"), "amd64": []byte("release amd64 package")}
	tokenmintPrebuilt = func(arch string) []byte { return release[goArch(arch)] }
	a, errb := app(true)
	for _, arch := range []string{"arm64", "x86_64"} {
		errb.Reset()
		pkg, err := a.tokenmintPackage(ctx, tokenmintFlags{}, arch)
		if err != nil || !bytes.Equal(pkg, release[goArch(arch)]) || !strings.Contains(errb.String(), "built into this release, sha256 "+sha(pkg)) {
			t.Errorf("%s: %d bytes, not the release package (%v)\n%s", arch, len(pkg), err, errb)
		}
	}
	// --zip: that file, named with its hash.
	zipFile := filepath.Join(t.TempDir(), "mine.zip")
	if err := os.WriteFile(zipFile, []byte("operator's package"), 0o600); err != nil {
		t.Fatal(err)
	}
	errb.Reset()
	pkg, err := a.tokenmintPackage(ctx, tokenmintFlags{zip: zipFile}, "arm64")
	if err != nil || string(pkg) != "operator's package" || !strings.Contains(errb.String(), "--zip "+zipFile+", sha256 "+sha(pkg)) {
		t.Errorf("--zip: %d bytes (%v)\n%s", len(pkg), err, errb)
	}

	// No release package: built from the binary's own source, not from
	// the go.mod around the working folder.
	tokenmintPrebuilt = func(string) []byte { return nil }
	errb.Reset()
	pkg, err = a.tokenmintPackage(ctx, tokenmintFlags{}, "amd64")
	if err != nil {
		t.Fatalf("own source: %v\n%s", err, errb)
	}
	checkOwnBootstrap(t, "the token function's package", bootstrapOf(t, pkg), "tokenmint")
	if !strings.Contains(errb.String(), "own source") || !strings.Contains(errb.String(), "sha256 "+sha(pkg)) {
		t.Errorf("the output does not name the source and hash:\n%s", errb)
	}

	// --source: the folder the operator names (relative to the working
	// folder), even in a release; named with the hash.
	tokenmintPrebuilt = func(arch string) []byte { return release[goArch(arch)] }
	errb.Reset()
	pkg, err = a.tokenmintPackage(ctx, tokenmintFlags{source: "."}, "amd64")
	if err != nil || !bytes.Contains(bootstrapOf(t, pkg), []byte(plantedMarker)) || !strings.Contains(errb.String(), "--source "+project+", sha256 "+sha(pkg)) {
		t.Errorf("--source: %v\n%s", err, errb)
	}
	if _, _, err := runApp(t, project, nil, "storage", "copy", "--zip", zipFile, "--source", ".", "--backup", "b", "--target-pool", "us-east-1_abc",
		"--old-identity-pool", "us-east-1:00000000-0000-0000-0000-000000000001", "--new-identity-pool", "us-east-1:00000000-0000-0000-0000-000000000002"); err == nil || ExitCode(err) != 2 || !strings.Contains(err.Error(), "not both") {
		t.Errorf("storage copy --zip --source: %v", err)
	}
	if _, _, err := runApp(t, project, nil, "storage", "link", "--zip", zipFile, "--source", ".", "--backup", "b", "--target-pool", "us-east-1_abc", "--identity-pool", "us-east-1:00000000-0000-0000-0000-000000000001"); err == nil || ExitCode(err) != 2 || !strings.Contains(err.Error(), "not both") {
		t.Errorf("storage link --zip --source: %v", err)
	}
}
