package cli

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/time/rate"

	"github.com/poolmigrate/poolmigrate/cognito"
	"github.com/poolmigrate/poolmigrate/testbed/testenv"
)

func TestBackupIsComplete(t *testing.T) {
	t.Parallel() // own pools, tables and folders
	env := testenv.Require(t)
	sp := plantSourcePool(t, env)
	dir := t.TempDir()
	out := filepath.Join(dir, "b.jsonl")

	stdout, stderr, err := runApp(t, dir, nil, "backup", "--pool", sp.id, "--out", out, "--json", "--rps", "1000", "--shards", "16")
	if err != nil {
		t.Fatalf("backup: %v\n%s", err, stderr)
	}
	var res struct {
		Users, Groups, Memberships int64
		File                       string
	}
	if err := decodeInto(stdout, &res); err != nil {
		t.Fatal(err)
	}
	if res.Users != int64(len(sp.users)) || res.Groups != 3 || res.Memberships != int64(sp.memberships()) {
		t.Errorf("backup counts: %+v, want %d users, 3 groups, %d memberships", res, len(sp.users), sp.memberships())
	}
	if fi, err := os.Stat(out); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("backup file mode: %v %v", fi, err)
	}
	if _, err := os.Stat(out + ".parts"); !os.IsNotExist(err) {
		t.Errorf("parts folder left behind: %v", err)
	}

	// Every planted user is there once, with its attributes by name, its
	// status and enabled flag; groups keep description, precedence, role.
	users := map[string]cognito.User{}
	var groups []cognito.Group
	members := map[string][]string{}
	_, _, err = cognito.ReadBackup(mustOpen(t, out), cognito.BackupVisitor{
		User:  func(u cognito.User) error { users[u.Username] = u; return nil },
		Group: func(g cognito.Group) error { groups = append(groups, g); return nil },
		Member: func(m cognito.Membership) error {
			members[m.Username] = append(members[m.Username], m.Group)
			return nil
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	disabled := sp.disabled()
	for _, want := range sp.users {
		got, ok := users[want.Username]
		if !ok {
			t.Errorf("user %s missing", want.Username)
			continue
		}
		for k, v := range want.Attrs {
			if got.Attributes[k] != v {
				t.Errorf("%s: %s = %q, want %q", want.Username, k, got.Attributes[k], v)
			}
		}
		if got.Enabled == disabled[want.Username] {
			t.Errorf("%s: enabled %v", want.Username, got.Enabled)
		}
		if got.Sub == "" || got.Created.IsZero() {
			t.Errorf("%s: sub %q created %v", want.Username, got.Sub, got.Created)
		}
		if strings.Join(members[want.Username], ",") != strings.Join(sortedCopy(want.Groups), ",") {
			t.Errorf("%s: groups %v, want %v", want.Username, members[want.Username], want.Groups)
		}
	}
	if users["signedup"].Status != "UNCONFIRMED" {
		t.Errorf("signed-up user status %q", users["signedup"].Status)
	}
	if len(groups) != 3 || groups[0].Name != "Admin" || groups[0].Description != "Admins, all of them" || groups[0].Precedence == nil || *groups[0].Precedence != 1 || groups[0].RoleArn == "" {
		t.Errorf("groups: %+v", groups)
	}

	// verify proves the file whole, and catches any change to it.
	if _, _, err := runApp(t, dir, nil, "backup", "verify", out); err != nil {
		t.Errorf("verify: %v", err)
	}
	data, _ := os.ReadFile(out)
	damaged := map[string]string{
		"altered":   strings.Replace(string(data), "user123@example.com", "user124@example.com", 1),
		"truncated": string(data[:len(data)/2]),
		"no footer": string(data[:strings.LastIndex(strings.TrimRight(string(data), "\n"), "\n")+1]),
		"duplicated user": func() string {
			lines := strings.SplitAfter(string(data), "\n")
			for i, l := range lines {
				if strings.Contains(l, `"kind":"user"`) {
					return strings.Join(append(append(append([]string{}, lines[:i+1]...), l), lines[i+1:]...), "")
				}
			}
			return ""
		}(),
	}
	for name, body := range damaged {
		p := filepath.Join(dir, strings.ReplaceAll(name, " ", "-")+".jsonl")
		if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
		_, _, err := runApp(t, dir, nil, "backup", "verify", p)
		if !errors.Is(err, cognito.ErrBackupDamaged) {
			t.Errorf("%s backup: verify said %v", name, err)
		}
	}
}

func TestBackupResumesAfterInterruption(t *testing.T) {
	t.Parallel() // own pools, tables and folders
	env := testenv.Require(t)
	pool := env.NewPool(t, testenv.PoolOptions{})
	var users []testenv.SeedUser
	for i := 0; i < 200; i++ {
		users = append(users, testenv.SeedUser{Username: "r" + testenv.RandomSuffix(), Attrs: map[string]string{"email": "r@example.com"}})
	}
	env.Seed(t, pool, nil, users)
	out := filepath.Join(t.TempDir(), "r.jsonl")

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	_, _, err := cognito.Backup(ctx, env.Cognito, cognito.BackupOptions{
		PoolID: pool, Out: out, Workers: 1, Shards: 16, Limiter: rate.NewLimiter(rate.Inf, 1),
		Progress: func(p cognito.BackupProgress) {
			if p.ShardsDone >= 5 {
				cancel() // Ctrl-C after five shards
			}
		},
	})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("interrupted backup: %v", err)
	}
	if _, err := os.Stat(out); !os.IsNotExist(err) {
		t.Fatal("an interrupted backup must not leave a backup file")
	}
	done, _ := filepath.Glob(out + ".parts/users-*.jsonl")
	if len(done) < 5 || len(done) == 16 {
		t.Fatalf("committed shards after the interruption: %d", len(done))
	}
	if _, _, err := runApp(t, filepath.Dir(out), nil, "backup", "--pool", pool, "--out", out); err == nil || !strings.Contains(err.Error(), "--resume") {
		t.Errorf("a second backup over unfinished parts: %v", err)
	}
	if _, stderr, err := runApp(t, filepath.Dir(out), nil, "backup", "--pool", pool, "--out", out, "--resume"); err != nil {
		t.Fatalf("resume: %v\n%s", err, stderr)
	}
	_, footer, err := cognito.VerifyBackupFile(out)
	if err != nil || footer.Users != 200 {
		t.Fatalf("resumed backup: %d users, %v", footer.Users, err)
	}
}

func TestBackupOfProjectPoolGoesToStateFolder(t *testing.T) {
	env := testenv.Require(t)
	dir := copyProject(t, "../examples/notes-app")
	pool := env.NewPool(t, testenv.PoolOptions{})
	env.Seed(t, pool, nil, []testenv.SeedUser{{Username: "only", Attrs: map[string]string{"email": "only@example.com"}}})
	replaceInFile(t, filepath.Join(dir, "amplify/backend/amplify-meta.json"), "us-east-1_NotesOld1", pool)

	stdout, stderr, err := runApp(t, filepath.Join(dir, "src"), nil, "backup", "--json")
	if err != nil {
		t.Fatalf("backup: %v\n%s", err, stderr)
	}
	var res struct{ File string }
	if err := decodeInto(stdout, &res); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(res.File, filepath.Join(dir, ".poolmigrate", "backups", pool+"-")) {
		t.Errorf("backup written to %s, want under the project's .poolmigrate/backups", res.File)
	}
	gi, _ := os.ReadFile(filepath.Join(dir, ".gitignore"))
	if !strings.Contains(string(gi), "/.poolmigrate/") {
		t.Errorf(".gitignore does not ignore the state folder:\n%s", gi)
	}
	if _, _, err := runApp(t, t.TempDir(), nil, "backup"); err == nil || !strings.Contains(err.Error(), "--pool") {
		t.Errorf("backup outside a project without --pool: %v", err)
	}
}

func mustOpen(t *testing.T, path string) *os.File {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	return f
}

func sortedCopy(s []string) []string {
	out := append([]string(nil), s...)
	for i := range out {
		for j := i + 1; j < len(out); j++ {
			if out[j] < out[i] {
				out[i], out[j] = out[j], out[i]
			}
		}
	}
	return out
}
