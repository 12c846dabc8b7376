package linefile

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestDropTornTail(t *testing.T) {
	long := strings.Repeat("x", 100<<10)
	for name, c := range map[string]struct{ in, want string }{
		"whole":               {"a\nb\n", "a\nb\n"},
		"torn":                {"a\nb", "a\n"},
		"only a torn line":    {"abc", ""},
		"long torn line":      {"a\n" + long, "a\n"},
		"long line then torn": {long + "\n" + long, long + "\n"},
		"empty":               {"", ""},
	} {
		p := filepath.Join(t.TempDir(), "j")
		os.WriteFile(p, []byte(c.in), 0o600)
		if err := DropTornTail(p, "journal"); err != nil {
			t.Fatal(err)
		}
		if got, _ := os.ReadFile(p); string(got) != c.want {
			t.Errorf("%s: %d bytes left, want %d", name, len(got), len(c.want))
		}
	}
	if err := DropTornTail(filepath.Join(t.TempDir(), "none"), "journal"); err != nil {
		t.Errorf("a missing file: %v, want no error", err)
	}
}
