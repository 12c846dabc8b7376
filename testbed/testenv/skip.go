package testenv

import (
	"os"
	"path/filepath"
	"testing"
)

// Every skip in the repository goes through this file (a test,
// TestNoBareSkips, fails on a t.Skip anywhere else), so a run that must be
// complete cannot pass by skipping what it should have tested.

// Required reports whether a missing part must fail the test instead of
// skipping it: under CI (CI=true) or POOLMIGRATE_REQUIRE_TESTBED=1, as
// scripts/test.sh sets.
func Required() bool {
	return os.Getenv("CI") == "true" || os.Getenv("POOLMIGRATE_REQUIRE_TESTBED") == "1"
}

// Skip skips the test because something it needs is missing; reason says
// what and how to get it. When Required, it fails the test instead.
func Skip(t testing.TB, reason string) {
	t.Helper()
	if Required() {
		t.Fatal(reason + " (required: CI=true or POOLMIGRATE_REQUIRE_TESTBED=1)")
		return
	}
	t.Skip(reason)
}

// SkipUnless skips (or, when Required, fails) the test unless ok.
func SkipUnless(t testing.TB, ok bool, reason string) {
	t.Helper()
	if !ok {
		Skip(t, reason)
	}
}

// Corpus returns the folder of real Amplify projects the corpus tests
// read: POOLMIGRATE_CORPUS, or ../shared/corpus/amplify-projects beside
// the clone. It is not part of the repository (others' projects, never
// copied in), so a clone without it skips those tests, even when
// Required (scripts/allowed-skips.txt names them); but a POOLMIGRATE_CORPUS
// that is set must exist (scripts/test.sh sets it whenever the corpus is
// there, and then allows no skip at all).
func Corpus(t testing.TB) string {
	t.Helper()
	if dir := os.Getenv("POOLMIGRATE_CORPUS"); dir != "" {
		if _, err := os.Stat(dir); err != nil {
			t.Fatalf("POOLMIGRATE_CORPUS: %v", err)
		}
		return dir
	}
	dir := filepath.Join(repoRoot(), "..", "shared", "corpus", "amplify-projects")
	if _, err := os.Stat(dir); err != nil {
		t.Skip("the research corpus is not beside this clone (" + dir + "; set POOLMIGRATE_CORPUS to run these tests)")
	}
	return dir
}
