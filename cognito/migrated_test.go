package cognito

import (
	"os"
	"path/filepath"
	"testing"
)

// In the heap, and in files of a folder (mapped into memory).
func TestMigratedUsers(t *testing.T) {
	t.Run("heap", func(t *testing.T) { testMigratedUsers(t, "") })
	t.Run("files", func(t *testing.T) {
		dir := filepath.Join(t.TempDir(), "tmp")
		testMigratedUsers(t, dir)
		if left, _ := os.ReadDir(dir); len(left) != 0 {
			t.Errorf("Close left %d files in %s", len(left), dir)
		}
	})
}

func testMigratedUsers(t *testing.T, dir string) {
	const (
		a  = "0a1b2c3d-0000-4000-8000-00000000000a"
		b  = "0a1b2c3d-0000-4000-8000-00000000000b"
		na = "1a1b2c3d-0000-4000-8000-00000000000a"
		nb = "1a1b2c3d-0000-4000-8000-00000000000b"
	)
	bld, err := NewMigratedBuilder(dir)
	if err != nil {
		t.Fatal(err)
	}
	bld.Add(b, TargetUser{Sub: nb, Username: nb, Enabled: false, Status: "RESET_REQUIRED"}) // e-mail pool: username = sub
	bld.Add(a, TargetUser{Sub: na, Username: "alice@example.com", Enabled: true, Status: "CONFIRMED"})
	bld.Add("legacy-7", TargetUser{Sub: "not-a-uuid", Username: "seven", Enabled: true, Status: "CONFIRMED"})
	bld.Add(a, TargetUser{Sub: na, Username: "alice@example.com", Enabled: true, Status: "RESET_REQUIRED"}) // listed twice: the last wins
	m, err := bld.Build()
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	if dir != "" {
		files, _ := os.ReadDir(dir)
		if len(files) == 0 {
			t.Fatal("no spill files in the folder")
		}
		for _, f := range files {
			if fi, _ := f.Info(); fi.Mode().Perm() != 0o600 {
				t.Errorf("%s is %v, want 0600 (personal data)", f.Name(), fi.Mode().Perm())
			}
		}
	}
	if m.Len() != 3 {
		t.Fatalf("Len = %d, want 3", m.Len())
	}
	cases := map[string]TargetUser{
		a:          {Sub: na, Username: "alice@example.com", Enabled: true, Status: "RESET_REQUIRED"},
		b:          {Sub: nb, Username: nb, Enabled: false, Status: "RESET_REQUIRED"},
		"legacy-7": {Sub: "not-a-uuid", Username: "seven", Enabled: true, Status: "CONFIRMED"},
	}
	for prev, want := range cases {
		if got, ok := m.Get(prev); !ok || got != want {
			t.Errorf("Get(%s) = %+v %v, want %+v", prev, got, ok, want)
		}
	}
	if _, ok := m.Get(na); ok {
		t.Error("a new sub found as an old one")
	}
	for _, s := range []string{na, nb, "not-a-uuid"} {
		if !m.HasSub(s) {
			t.Errorf("HasSub(%s) = false", s)
		}
	}
	for _, u := range []string{"alice@example.com", nb, "seven"} {
		if !m.HasUsername(u) {
			t.Errorf("HasUsername(%s) = false", u)
		}
	}
	if m.HasSub(a) || m.HasUsername("bob") || m.HasUsername(a) {
		t.Error("found what is not there")
	}
	seen := map[string]bool{}
	m.Each(func(prev string, tu TargetUser) { seen[prev] = cases[prev] == tu })
	if len(seen) != 3 || !seen[a] || !seen[b] || !seen["legacy-7"] {
		t.Errorf("Each: %v", seen)
	}
	for _, s := range []string{a, "A0000000-0000-4000-8000-000000000000", "{" + a[1:] + "}"} {
		k, ok := ParseUUID(s)
		if ok != (s == a) || (ok && k.String() != s) {
			t.Errorf("ParseUUID(%q) = %v, %v", s, k, ok)
		}
	}
}
