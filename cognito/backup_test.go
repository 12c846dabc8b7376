package cognito

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	cip "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider"
	"github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider/types"
	"golang.org/x/time/rate"

	"github.com/poolmigrate/poolmigrate/statedir"
	"github.com/poolmigrate/poolmigrate/testbed/testenv"
)

// groupedPool is a generated pool with two groups, whose listings can be
// made to fail.
type groupedPool struct {
	testenv.SynthPool
	failGroups bool
	stranger   bool         // a member who is not among the users
	failUsers  atomic.Int32 // fail the nth ListUsers call (0: never)
	calls      atomic.Int32
}

func (g *groupedPool) ListUsers(ctx context.Context, in *cip.ListUsersInput, o ...func(*cip.Options)) (*cip.ListUsersOutput, error) {
	if n := g.calls.Add(1); n == g.failUsers.Load() {
		return nil, errors.New("the pool refused a page")
	}
	return g.SynthPool.ListUsers(ctx, in, o...)
}

func (g *groupedPool) ListGroups(context.Context, *cip.ListGroupsInput, ...func(*cip.Options)) (*cip.ListGroupsOutput, error) {
	if g.failGroups {
		return nil, errors.New("the pool refused the groups")
	}
	return &cip.ListGroupsOutput{Groups: []types.GroupType{{GroupName: ptr("admins")}, {GroupName: ptr("editors"), Precedence: ptr(int32(2))}}}, nil
}

func (g *groupedPool) ListUsersInGroup(_ context.Context, in *cip.ListUsersInGroupInput, _ ...func(*cip.Options)) (*cip.ListUsersInGroupOutput, error) {
	i := map[string]int{"admins": 3, "editors": 70}[*in.GroupName]
	if g.stranger && *in.GroupName == "editors" {
		return &cip.ListUsersInGroupOutput{Users: []types.UserType{{Username: ptr("stranger"), Attributes: []types.AttributeType{{Name: ptr("sub"), Value: ptr("0000")}}}}}, nil
	}
	return &cip.ListUsersInGroupOutput{Users: []types.UserType{{Username: ptr(fmt.Sprintf("user%07d", i)), Attributes: []types.AttributeType{{Name: ptr("sub"), Value: ptr(g.Sub(i))}}}}}, nil
}

// The backup file is merged while shards are still being listed: however
// many workers list them, in whatever order they finish, the file is the
// same, byte for byte, and whole.
func TestBackupFileDoesNotDependOnWorkers(t *testing.T) {
	now := func() time.Time { return time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC) }
	var files [][]byte
	for _, workers := range []int{1, 10} {
		out := filepath.Join(t.TempDir(), "b.jsonl")
		_, footer, err := Backup(context.Background(), &groupedPool{SynthPool: testenv.SynthPool{N: 5000}}, BackupOptions{PoolID: "us-east-1_T", Out: out, Shards: 256, Workers: workers, Now: now})
		if err != nil {
			t.Fatal(err)
		}
		if footer.Users != 5000 || footer.Groups != 2 || footer.Memberships != 2 {
			t.Fatalf("%d workers: footer %+v", workers, footer)
		}
		if _, err := os.Stat(out + ".parts"); !os.IsNotExist(err) {
			t.Errorf("%d workers: the parts folder is still there: %v", workers, err)
		}
		data, err := os.ReadFile(out)
		if err != nil {
			t.Fatal(err)
		}
		files = append(files, data)
	}
	if !bytes.Equal(files[0], files[1]) {
		t.Error("the backup files of 1 and 10 workers differ")
	}
}

// A failed listing, of the users or of the groups, ends the backup with
// that error (not the shards it left unlisted), leaves no backup file and
// keeps what was committed for --resume, without spill files.
func TestBackupFailureIsTheListingsOwn(t *testing.T) {
	for name, pool := range map[string]*groupedPool{
		"users":  {SynthPool: testenv.SynthPool{N: 5000}},
		"groups": {SynthPool: testenv.SynthPool{N: 5000}, failGroups: true},
	} {
		t.Run(name, func(t *testing.T) {
			if name == "users" {
				pool.failUsers.Store(40)
			}
			out := filepath.Join(t.TempDir(), "b.jsonl")
			_, _, err := Backup(context.Background(), pool, BackupOptions{PoolID: "us-east-1_T", Out: out, Shards: 256, Workers: 8})
			if err == nil || !strings.Contains(err.Error(), "the pool refused") {
				t.Fatalf("backup: %v", err)
			}
			if _, err := os.Stat(out); !os.IsNotExist(err) {
				t.Error("a failed backup left a backup file")
			}
			if _, err := os.Stat(filepath.Join(out+".parts", "state.json")); err != nil {
				t.Errorf("the parts to resume from are gone: %v", err)
			}
			leftovers, _ := filepath.Glob(filepath.Join(out+".parts", ".*"))
			tmp, _ := filepath.Glob(filepath.Join(filepath.Dir(out), ".*"))
			leftovers = append(leftovers, tmp...)
			if len(leftovers) > 0 {
				t.Errorf("temporary files left: %v", leftovers)
			}
			// --resume completes it.
			pool.failGroups = false
			pool.failUsers.Store(0)
			if _, footer, err := Backup(context.Background(), pool, BackupOptions{PoolID: "us-east-1_T", Out: out, Resume: true, Workers: 8}); err != nil || footer.Users != 5000 {
				t.Fatalf("resume: %d users, %v", footer.Users, err)
			}
		})
	}
}

func TestAutoWorkersKeepThePace(t *testing.T) {
	for rps, want := range map[float64]int{1: 4, 8: 4, 10: 5, 13: 7, 30: 15, 100: 16} {
		if got := autoWorkers(rate.Limit(rps)); got != want {
			t.Errorf("--rps %g: %d workers, want %d", rps, got, want)
		}
	}
}

// The file is proved whole while it is written, and a file that is not
// (here a membership names a user the listing did not find) is never
// committed.
func TestBackupNotWholeIsNotCommitted(t *testing.T) {
	out := filepath.Join(t.TempDir(), "b.jsonl")
	_, _, err := Backup(context.Background(), &groupedPool{SynthPool: testenv.SynthPool{N: 3000}, stranger: true}, BackupOptions{PoolID: "us-east-1_T", Out: out, Shards: 16})
	if err == nil || !strings.Contains(err.Error(), "verify the written backup") || !strings.Contains(err.Error(), "stranger") {
		t.Fatalf("backup: %v", err)
	}
	if _, err := os.Stat(out); !os.IsNotExist(err) {
		t.Error("a backup that is not whole was committed")
	}
}

// A backup holds every user of a pool whose listings need many pages: 16
// shards of ~190 users (4 pages each) and one shard of 3,000 (50 pages),
// with full pages and with short pages that still carry a token, as AWS's
// sometimes do. Every user is there by name, once, with its attributes.
func TestBackupKeepsEveryPage(t *testing.T) {
	const n = 3000
	for _, c := range []struct {
		name   string
		shards int
		short  int
	}{
		{"16 shards", 16, 0},
		{"1 shard", 1, 0},
		{"16 shards, short pages", 16, 3},
		{"1 shard, short pages", 1, 4},
	} {
		t.Run(c.name, func(t *testing.T) {
			pool := &groupedPool{SynthPool: testenv.SynthPool{N: n, ShortEvery: c.short}}
			out := filepath.Join(t.TempDir(), "b.jsonl")
			hdr, footer, err := Backup(context.Background(), pool, BackupOptions{PoolID: "us-east-1_T", Out: out, Shards: c.shards, Workers: 4})
			if err != nil {
				t.Fatal(err)
			}
			if len(hdr.Shards) != c.shards {
				t.Errorf("%d shards listed, want %d", len(hdr.Shards), c.shards)
			}
			if pages, least := int(pool.calls.Load()), c.shards*((n/c.shards+pageSize-1)/pageSize); pages < least {
				t.Errorf("%d pages listed, want at least %d: the test does not page", pages, least)
			}
			seen := map[string]User{}
			_, _, err = ReadBackupFile(out, BackupVisitor{User: func(u User) error {
				if _, dup := seen[u.Username]; dup {
					t.Errorf("user %s is in the backup twice", u.Username)
				}
				seen[u.Username] = u
				return nil
			}})
			if err != nil {
				t.Fatal(err)
			}
			for i := 0; i < n; i++ {
				name := fmt.Sprintf("user%07d", i)
				u, ok := seen[name]
				if !ok {
					t.Errorf("user %s (sub %s) is missing from the backup", name, pool.Sub(i))
					continue
				}
				if u.Sub != pool.Sub(i) || u.Attributes["email"] != name+"@example.com" || u.Attributes["name"] != fmt.Sprintf("User Number %d", i) {
					t.Errorf("user %s: %+v", name, u)
				}
			}
			if len(seen) != n || footer.Users != n {
				t.Errorf("backup holds %d users (footer %d), want %d", len(seen), footer.Users, n)
			}
		})
	}
}

// A backup another run is writing is refused at once, before any call.
func TestBackupRefusesASecondRun(t *testing.T) {
	out := filepath.Join(t.TempDir(), "b.jsonl")
	held, err := statedir.LockFile(out, "backup --pool us-east-1_T")
	if err != nil {
		t.Fatal(err)
	}
	defer held.Unlock()
	_, _, err = Backup(context.Background(), nil, BackupOptions{PoolID: "us-east-1_T", Out: out})
	if !statedir.IsLocked(err) || !strings.Contains(err.Error(), "backup --pool us-east-1_T") {
		t.Fatalf("a second backup to %s: %v", out, err)
	}
	if _, err := os.Stat(out + ".parts"); !os.IsNotExist(err) {
		t.Error("the refused backup made a parts folder")
	}
}
