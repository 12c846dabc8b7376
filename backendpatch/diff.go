package backendpatch

import (
	udiff "github.com/aymanbagabas/go-udiff"
)

// UnifiedDiff renders a line diff with three lines of context, like
// `diff -u`. It uses go-udiff, a maintained export of the Go team's own
// diff (gopls), whose memory grows with the size of the files and of the
// change, not with their product: a 20,000-line amplify-meta.json or
// CloudFormation template diffs in a few MB.
func UnifiedDiff(nameA, nameB, a, b string) string {
	if a == b {
		return ""
	}
	// A file created or deleted is diffed against /dev/null, as diff -u and
	// git show it.
	if a == "" {
		nameA = "/dev/null"
	}
	if b == "" {
		nameB = "/dev/null"
	}
	out, err := udiff.ToUnified(nameA, nameB, a, udiff.Lines(a, b), 3)
	if err != nil {
		// Only edits that do not fit the text fail; udiff made them from it.
		return "--- " + nameA + "\n+++ " + nameB + "\n(diff failed: " + err.Error() + ")\n"
	}
	return out
}
