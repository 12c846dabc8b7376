package linefile

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

type scanLine struct {
	N int `json:"n"`
}

func scanAll(t *testing.T, body string) ([]int, error) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "f.jsonl")
	if err := os.WriteFile(path, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	var got []int
	err := ScanJSON(path, "test file", "do this", 0, func(l *scanLine) error {
		if l.N < 0 {
			return errors.New("negative")
		}
		return nil
	}, func(l scanLine) error {
		got = append(got, l.N)
		return nil
	})
	return got, err
}

func TestScanJSON(t *testing.T) {
	got, err := scanAll(t, "{\"n\":1}\n{\"n\":2}\n{\"n\":3")
	if err != nil || len(got) != 2 || got[0] != 1 || got[1] != 2 {
		t.Errorf("a torn last line: got %v, %v; want [1 2] and no error", got, err)
	}
	for _, tc := range []struct{ name, body, want string }{
		{"a failed check", "{\"n\":1}\n{\"n\":-1}\n", "line 2: negative; do this"},
		{"a duplicate key", "{\"n\":1,\"n\":2}\n", "line 1:"},
		{"not JSON", "{\"n\":1}\nnope\n", "line 2:"},
	} {
		_, err := scanAll(t, tc.body)
		var le *Error
		if !errors.As(err, &le) || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), "test file") {
			t.Errorf("%s: %v, want an *Error with %q", tc.name, err, tc.want)
		}
	}
	stop := errors.New("stop")
	path := filepath.Join(t.TempDir(), "f.jsonl")
	os.WriteFile(path, []byte("{\"n\":1}\n{\"n\":2}\n"), 0o600)
	calls := 0
	err = ScanJSON(path, "test file", "", 0, func(*scanLine) error { return nil }, func(scanLine) error { calls++; return stop })
	if err != stop || calls != 1 {
		t.Errorf("fn's error: %v after %d calls, want it as it is after 1", err, calls)
	}
	if err := ScanJSON(filepath.Join(t.TempDir(), "none"), "test file", "", 0, func(*scanLine) error { return nil }, func(scanLine) error { return nil }); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("a missing file: %v, want os.ErrNotExist", err)
	}
}

func TestScanRecordsNamesTheRecordKind(t *testing.T) {
	path := filepath.Join(t.TempDir(), "f.jsonl")
	os.WriteFile(path, []byte("{\"n\":1}\n{\"n\":\n"), 0o600)
	none := func(*scanLine) error { return nil }
	err := ScanRecords(path, "test file", "test record", "", 0, none, func(scanLine) error { return nil })
	if err == nil || !strings.Contains(err.Error(), "line 2: not a test record: ") {
		t.Errorf("a line that does not decode: %v, want it named not a test record", err)
	}
	if err := ScanRecords(path, "test file", "test record", "", 0, func(*scanLine) error { return errors.New("bad") }, func(scanLine) error { return nil }); err == nil || strings.Contains(err.Error(), "not a test record") {
		t.Errorf("a failed check: %v, want check's error alone", err)
	}
}
