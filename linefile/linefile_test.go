package linefile

import (
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

func TestOpenRefusesWhatIsNotARegularFile(t *testing.T) {
	dir := t.TempDir()
	fifo := filepath.Join(dir, "fifo")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	for name, path := range map[string]string{"folder": dir, "device": "/dev/zero", "pipe": fifo} {
		f, err := Open(path, "journal")
		if err == nil {
			f.Close()
		}
		if !errors.Is(err, ErrNotRegular) || !strings.Contains(err.Error(), path) {
			t.Errorf("%s: %v", name, err)
		}
	}
}

func TestReaderBoundsLines(t *testing.T) {
	in := "one\n" + strings.Repeat("x", 3<<20) + "\nthree"
	r := NewReader(strings.NewReader(in), 2<<20)
	if l, err := r.Next(); err != nil || string(l) != "one\n" || r.Line() != 1 {
		t.Fatalf("line 1: %q %v", l, err)
	}
	var tl *TooLongError
	if _, err := r.Next(); !errors.As(err, &tl) || r.Line() != 2 {
		t.Fatalf("line 2: %v (line %d)", err, r.Line())
	}

	r = NewReader(strings.NewReader(strings.Repeat("y", 3<<20)+"\ntorn"), 0)
	if l, err := r.Next(); err != nil || len(l) != 3<<20+1 {
		t.Fatalf("long line: %d %v", len(l), err)
	}
	if l, err := r.Next(); !errors.Is(err, ErrTornLine) || string(l) != "torn" || r.Line() != 2 {
		t.Fatalf("torn line: %q %v", l, err)
	}
	if _, err := r.Next(); err != io.EOF {
		t.Fatalf("end: %v", err)
	}
}

func TestReaderStopsAtAnEndlessLine(t *testing.T) {
	f, err := os.Open("/dev/zero")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var tl *TooLongError
	if _, err := NewReader(f, 0).Next(); !errors.As(err, &tl) {
		t.Fatal(err)
	}
}

func TestDecodeJSONRefusesKeysReadersDisagreeOn(t *testing.T) {
	type inner struct {
		Sub   string            `json:"sub"`
		Attrs map[string]string `json:"attributes"`
	}
	type rec struct {
		Kind string `json:"kind"`
		User *inner `json:"user"`
		Raw  []byte `json:"-"`
	}
	for name, c := range map[string]struct {
		in string
		ok bool
	}{
		"plain":                 {`{"kind":"user","user":{"sub":"a","attributes":{"email":"x","Email":"y"}}}`, true},
		"unknown keys":          {`{"kind":"user","extra":{"a":1},"user":{"sub":"a"}}`, true},
		"sub twice":             {`{"kind":"user","user":{"sub":"a","sub":"b"}}`, false},
		"sub escaped twice":     {`{"kind":"user","user":{"sub":"a","s\u0075b":"b"}}`, false},
		"user and USER":         {`{"kind":"user","user":{"sub":"a"},"USER":{"sub":"b"}}`, false},
		"SUB alone":             {`{"kind":"user","user":{"SUB":"b"}}`, false},
		"long s":                {`{"kind":"user","user":{"ſub":"b"}}`, false},
		"attribute twice":       {`{"kind":"user","user":{"sub":"a","attributes":{"email":"x","email":"y"}}}`, false},
		"twice in unknown":      {`{"kind":"user","x":[{"a":1,"a":2}],"user":{"sub":"a"}}`, false},
		"deep":                  {strings.Repeat("[", 20000) + strings.Repeat("]", 20000), false},
		"two values":            {`{"kind":"user"} {}`, false},
		"not UTF-8":             {"{\"kind\":\"user\",\"user\":{\"sub\":\"\xa9\"}}", false},
		"not an object but ok?": {`null`, true},
	} {
		var r rec
		err := DecodeJSON([]byte(c.in), &r)
		if (err == nil) != c.ok {
			t.Errorf("%s: %v", name, err)
		}
	}
}
