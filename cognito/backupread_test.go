package cognito

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/poolmigrate/poolmigrate/linefile"
)

// rewriteWhole writes the lines as the body of a backup and adds the
// footer the writer would, so the file is whole by its checksum and counts
// whatever its lines hold: what a careless or hostile editor can make.
func rewriteWhole(t *testing.T, path string, body []string, users int64) {
	t.Helper()
	var buf bytes.Buffer
	bw := newBackupWriter(&buf)
	for _, l := range body {
		if err := bw.raw([]byte(l)); err != nil {
			t.Fatal(err)
		}
	}
	bw.footer.Users = users
	if _, err := bw.finish(1, time.Unix(0, 0)); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, buf.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
}

// A user line whose keys readers could take differently ("user" and
// "USER", "sub" twice) was proved whole by verify (gjson: the first, exact
// key) and exported as someone else (encoding/json: the last key, any
// case). Both read one way now, and refuse such a line, naming the file
// and the line.
func TestBackupLineReadersCouldDisagreeOnIsRefused(t *testing.T) {
	dir := t.TempDir()
	path := writeBackup(t, dir, []User{user("sub-a", "alice")}, nil, nil)
	lines := strings.SplitAfter(string(must(os.ReadFile(path))), "\n")
	hdr, alice := lines[0], lines[1]
	for name, line := range map[string]string{
		"user and USER": strings.TrimSuffix(alice, "}\n") + `,"USER":{"username":"mallory","sub":"sub-m"}}` + "\n",
		"sub twice":     strings.Replace(alice, `"sub":"sub-a"`, `"sub":"sub-a","sub":"sub-m"`, 1),
		"Sub":           strings.Replace(alice, `"sub":"sub-a"`, `"Sub":"sub-a"`, 1),
		"kind twice":    strings.Replace(alice, `"kind":"user"`, `"kind":"user","kind":"group"`, 1),
	} {
		t.Run(name, func(t *testing.T) {
			p := filepath.Join(t.TempDir(), "b.jsonl")
			rewriteWhole(t, p, []string{hdr, line}, 1)
			_, _, verr := VerifyBackupFile(p)
			var exported []string
			_, _, rerr := ReadBackupFile(p, BackupVisitor{User: func(u User) error { exported = append(exported, u.Username+"/"+u.Sub); return nil }})
			for _, err := range []error{verr, rerr} {
				if !errors.Is(err, ErrBackupDamaged) || !strings.Contains(err.Error(), p+" line 2: ") {
					t.Errorf("verify %v; read %v (users %v)", verr, rerr, exported)
					break
				}
			}
		})
	}
}

// The footer's own fields are covered by the checksum; a backup written
// before they were (no footer format) is still read.
func TestBackupChecksumCoversTheFooter(t *testing.T) {
	dir := t.TempDir()
	path := writeBackup(t, dir, []User{user("sub-a", "alice")}, nil, nil)
	data := string(must(os.ReadFile(path)))
	if _, _, err := VerifyBackupFile(path); err != nil {
		t.Fatal(err)
	}
	for name, edit := range map[string][2]string{
		"completion time": {`"completedAt":"1970-01-01T00:00:00Z"`, `"completedAt":"2030-01-01T00:00:00Z"`},
		"estimated users": {`"estimatedUsers":1`, `"estimatedUsers":9999`},
	} {
		p := filepath.Join(dir, "edited.jsonl")
		os.WriteFile(p, []byte(strings.Replace(data, edit[0], edit[1], 1)), 0o600)
		if _, _, err := VerifyBackupFile(p); !errors.Is(err, ErrBackupDamaged) || !strings.Contains(err.Error(), "checksum") {
			t.Errorf("%s edited: verify said %v", name, err)
		}
	}

	// A footer of before: no format, the checksum of the lines before it.
	body := data[:strings.LastIndex(strings.TrimSuffix(data, "\n"), "\n")+1]
	sum := sha256.Sum256([]byte(body))
	old := body + `{"kind":"footer","footer":{"users":1,"groups":0,"memberships":0,"estimatedUsers":1,"completedAt":"2024-01-01T00:00:00Z","sha256":"` + hex.EncodeToString(sum[:]) + `"}}` + "\n"
	p := filepath.Join(dir, "old.jsonl")
	os.WriteFile(p, []byte(old), 0o600)
	if _, f, err := VerifyBackupFile(p); err != nil || f.Users != 1 {
		t.Errorf("a backup with an old footer: %v", err)
	}
	os.WriteFile(p, []byte(strings.Replace(old, `"completedAt"`, `"format":3,"completedAt"`, 1)), 0o600)
	if _, _, err := VerifyBackupFile(p); err == nil || !strings.Contains(err.Error(), "update poolmigrate") {
		t.Errorf("a footer of a newer format: %v", err)
	}
}

// What is not a backup file is refused at once, a line too long to be a
// record without reading it whole, a deeply nested line without a crash;
// each refusal names the file (and the line).
func TestBackupReadIsBounded(t *testing.T) {
	dir := t.TempDir()
	fifo := filepath.Join(dir, "pipe.jsonl")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	for name, path := range map[string]string{"folder": dir, "pipe": fifo, "device": "/dev/zero"} {
		t.Run(name, func(t *testing.T) {
			if _, _, err := VerifyBackupFile(path); !errors.Is(err, linefile.ErrNotRegular) || !strings.Contains(err.Error(), path) {
				t.Errorf("verify %s: %v", path, err)
			}
		})
	}
	hdr := strings.SplitAfter(string(must(os.ReadFile(writeBackup(t, dir, nil, nil, nil)))), "\n")[0]
	t.Run("long line", func(t *testing.T) {
		p := filepath.Join(dir, "long.jsonl")
		os.WriteFile(p, []byte(hdr), 0o600)
		os.Truncate(p, int64(len(hdr))+linefile.MaxLine+1) // a line of zeros, no newline
		if _, _, err := VerifyBackupFile(p); !strings.Contains(fmt.Sprint(err), "longer than 64 MiB") || !errors.Is(err, ErrBackupDamaged) || !strings.Contains(err.Error(), p+" line 2") {
			t.Errorf("verify: %v", err)
		}
	})
	t.Run("deep nesting", func(t *testing.T) {
		p := filepath.Join(dir, "deep.jsonl")
		deep := `{"kind":"user","user":` + strings.Repeat("[", 10_000_000) + strings.Repeat("]", 10_000_000) + "}\n"
		os.WriteFile(p, []byte(hdr+deep), 0o600)
		if _, _, err := VerifyBackupFile(p); !errors.Is(err, ErrBackupDamaged) || !strings.Contains(err.Error(), p+" line 2") {
			t.Errorf("verify: %v", err)
		}
	})
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}
