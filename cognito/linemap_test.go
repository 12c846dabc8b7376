package cognito

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/poolmigrate/poolmigrate/linefile"
)

func readLineMapFile(t *testing.T, body string) (string, []LineMapEntry, error) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "users-001.linemap.csv")
	if err := os.WriteFile(path, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	var got []LineMapEntry
	err := ReadLineMap(path, func(e LineMapEntry) error { got = append(got, e); return nil })
	return path, got, err
}

func TestLineMapIsReadWholeOrRefused(t *testing.T) {
	long := strings.Repeat("u", 2<<20) // a 2 MiB username: over bufio.Scanner's 1 MiB
	_, got, err := readLineMapFile(t, lineMapHeader+"\n1,sub-a,alice,alice\n2,sub-b,"+long+","+long+"\n")
	if err != nil || len(got) != 2 || got[1].OldUsername != long || got[0].Line != 1 {
		t.Errorf("a long line: %d entries, %v", len(got), err)
	}

	for name, c := range map[string]struct {
		body, want string
		line       int
	}{
		// The first row was taken for a header and lost.
		"no header":   {"1,sub-a,alice,alice\n2,sub-b,bob,bob\n", "no header", 1},
		"empty":       {"", "empty", 1},
		"malformed":   {lineMapHeader + "\n1,sub-a,alice,alice\nx,sub-b\n", "malformed entry", 3},
		"line zero":   {lineMapHeader + "\n0,sub-a,alice,alice\n", "malformed entry", 2},
		"cut short":   {lineMapHeader + "\n1,sub-a,alice,alice\n2,sub-b,bo", "middle of a line", 3},
		"endless row": {lineMapHeader + "\n1,sub-a," + strings.Repeat("x", linefile.MaxLine+1) + "\n", "longer than 64 MiB", 2},
	} {
		path, got, err := readLineMapFile(t, c.body)
		var le *linefile.Error
		if !errors.As(err, &le) || le.Line != c.line || !strings.Contains(err.Error(), c.want) || !strings.Contains(err.Error(), path) || !strings.Contains(err.Error(), "poolmigrate export") {
			t.Errorf("%s: %d entries, %v", name, len(got), err)
		}
	}

	if err := ReadLineMap(t.TempDir(), func(LineMapEntry) error { return nil }); !errors.Is(err, linefile.ErrNotRegular) {
		t.Errorf("a folder: %v", err)
	}
}
