package cognito

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tidwall/gjson"

	"github.com/poolmigrate/poolmigrate/linefile"
)

// FuzzBackupLine: a backup line every reader takes the same way or no
// reader takes: decoded, its kind, username and sub are what a reader
// that takes exact keys (gjson, jq) sees. Seeds: testdata/fuzz.
func FuzzBackupLine(f *testing.F) {
	f.Add([]byte(`{"kind":"user","user":{"username":"alice","sub":"sub-a","attributes":{"sub":"sub-a"},"status":"CONFIRMED","enabled":true,"created":"2024-05-06T07:08:09Z","modified":"2024-05-06T07:08:09Z"}}` + "\n"))
	f.Fuzz(func(t *testing.T, line []byte) {
		var l backupLine
		if err := linefile.DecodeJSON(line, &l); err != nil {
			return
		}
		if got := gjson.GetBytes(line, "kind").String(); got != l.Kind {
			t.Fatalf("kind %q, an exact reader sees %q", l.Kind, got)
		}
		if l.User != nil {
			for path, v := range map[string]string{"user.sub": l.User.Sub, "user.username": l.User.Username} {
				if r := gjson.GetBytes(line, path); r.Exists() && r.Type == gjson.String && r.String() != v {
					t.Fatalf("%s %q, an exact reader sees %q", path, v, r.String())
				}
			}
		}
	})
}

// FuzzReadBackup: verify (no visitor) and a full read agree on every
// file, return without a panic, and accept only a backup whose users the
// full read handed on in ascending sub order. Seeds: testdata/fuzz.
func FuzzReadBackup(f *testing.F) {
	f.Fuzz(func(t *testing.T, data []byte) {
		_, vf, verr := ReadBackup(bytes.NewReader(data), BackupVisitor{})
		var subs []string
		_, rf, rerr := ReadBackup(bytes.NewReader(data), BackupVisitor{User: func(u User) error { subs = append(subs, u.Sub); return nil }})
		if (verr == nil) != (rerr == nil) {
			t.Fatalf("verify says %v, a full read %v", verr, rerr)
		}
		if verr != nil {
			return
		}
		if vf != rf || int64(len(subs)) != vf.Users {
			t.Fatalf("footers %+v and %+v, %d users read", vf, rf, len(subs))
		}
		for i := 1; i < len(subs); i++ {
			if subs[i] <= subs[i-1] {
				t.Fatalf("users out of order: %q after %q", subs[i], subs[i-1])
			}
		}
	})
}

// FuzzReadLineMap: a line map is read whole or refused with a file and a
// line; entries read are what the file's lines say. Seeds: testdata/fuzz.
func FuzzReadLineMap(f *testing.F) {
	f.Add([]byte(lineMapHeader + "\n1,sub-a,alice,alice\n2,sub-b,b\\,ob,b\\,ob\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		path := filepath.Join(t.TempDir(), "users-001.linemap.csv")
		if err := os.WriteFile(path, data, 0o600); err != nil {
			t.Fatal(err)
		}
		n := 0
		err := ReadLineMap(path, func(e LineMapEntry) error {
			n++
			if e.Line < 1 {
				t.Fatalf("entry with line %d", e.Line)
			}
			return nil
		})
		if err != nil {
			if !strings.Contains(err.Error(), path) {
				t.Fatalf("refusal without the file: %v", err)
			}
			return
		}
		if lines := bytes.Count(data, []byte{'\n'}); n != lines-1 {
			t.Fatalf("%d entries from %d lines", n, lines)
		}
	})
}
