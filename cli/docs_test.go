package cli

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// TestREADMEFirstScreen: the README stays a front page a newcomer reads
// in one go: its first screen says what poolmigrate is and gives the two
// commands (the demo, the tests), the install follows, and the guides
// live in docs/.
func TestREADMEFirstScreen(t *testing.T) {
	b, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(string(b), "\n")
	first := strings.Join(lines[:min(len(lines), 30)], "\n")
	for _, want := range []string{"new Cognito user pool", "scripts/demo.sh ", "scripts/test.sh ", "Gen 2"} {
		if !strings.Contains(first, want) {
			t.Errorf("the README's first 30 lines lack %q", want)
		}
	}
	install := strings.Index(string(b), "npm install -g amplify-poolmigrate")
	if install < 0 || strings.Count(string(b[:install]), "\n") > 45 {
		t.Errorf("the install command is not near the top of the README (line %d)", strings.Count(string(b[:max(install, 0)]), "\n")+1)
	}
	if len(lines) > 150 {
		t.Errorf("the README has %d lines: guides belong in docs/ (link them from its table)", len(lines))
	}
}

// TestDocLinksResolve: every relative link of the README, SECURITY.md,
// BENCHMARKS.md and the guides in docs/ names a file that exists, and a
// #fragment names a heading of it.
func TestDocLinksResolve(t *testing.T) {
	files := []string{"README.md", "SECURITY.md", "BENCHMARKS.md"}
	guides, err := filepath.Glob("../docs/*.md")
	if err != nil {
		t.Fatal(err)
	}
	for _, g := range guides {
		files = append(files, strings.TrimPrefix(g, "../"))
	}
	link := regexp.MustCompile(`\]\(([^)\s]+)\)`)
	checked := 0
	for _, f := range files {
		b, err := os.ReadFile(filepath.Join("..", f))
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range link.FindAllStringSubmatch(string(b), -1) {
			target := m[1]
			if strings.Contains(target, "://") || strings.HasPrefix(target, "mailto:") {
				continue
			}
			path, frag, _ := strings.Cut(target, "#")
			resolved := f
			if path != "" {
				resolved = filepath.ToSlash(filepath.Join(filepath.Dir(f), path))
			}
			checked++
			body, err := os.ReadFile(filepath.Join("..", resolved))
			if err != nil {
				t.Errorf("%s links %s: %v", f, target, err)
				continue
			}
			if frag != "" && !hasHeading(string(body), frag) {
				t.Errorf("%s links %s: %s has no heading #%s", f, target, resolved, frag)
			}
		}
	}
	if checked < 20 {
		t.Fatalf("only %d links checked", checked)
	}
}

// hasHeading says whether a Markdown text has a heading whose GitHub
// anchor is frag.
func hasHeading(text, frag string) bool {
	drop := regexp.MustCompile(`[^a-z0-9 _-]`)
	for _, line := range strings.Split(text, "\n") {
		if !strings.HasPrefix(line, "#") {
			continue
		}
		h := strings.ToLower(strings.TrimSpace(strings.TrimLeft(line, "#")))
		if strings.ReplaceAll(drop.ReplaceAllString(h, ""), " ", "-") == frag {
			return true
		}
	}
	return false
}
