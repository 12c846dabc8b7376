package cli

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	cip "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider"
	cogtypes "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider/types"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/poolmigrate/poolmigrate/cognito"
	"github.com/poolmigrate/poolmigrate/testbed/testenv"
)

// remapFixture is the example project with its tables filled with items
// owned by the old pool's users, and a new pool holding most of them.
type remapFixture struct {
	dir, backup, target, apiID string
	old                        []cognito.User              // the backup's users
	newOf                      map[string][2]string        // old sub -> new sub, new username
	unmatched                  map[string]bool             // old subs not in the new pool
	original                   map[string][]map[string]any // table -> items
}

const (
	remapUsers     = 40
	remapUnmatched = 5
	noteItems      = 2400 // with padding, more than one 1 MB scan page
)

func (f *remapFixture) table(model string) string { return model + "-" + f.apiID + "-dev" }

func setupRemap(t *testing.T, env *testenv.Env) *remapFixture {
	t.Helper()
	ctx := context.Background()
	f := &remapFixture{dir: copyProject(t, "../examples/notes-app"), apiID: "rm" + testenv.RandomSuffix(), newOf: map[string][2]string{}, unmatched: map[string]bool{}}
	source := env.NewPool(t, testenv.PoolOptions{AutoVerified: []cogtypes.VerifiedAttributeType{cogtypes.VerifiedAttributeTypeEmail}})
	var seed []testenv.SeedUser
	for i := 0; i < remapUsers; i++ {
		seed = append(seed, testenv.SeedUser{Username: fmt.Sprintf("owner%02d", i), Attrs: map[string]string{"email": fmt.Sprintf("owner%02d@example.com", i), "email_verified": "true"}})
	}
	env.Seed(t, source, nil, seed)
	f.backup = filepath.Join(f.dir, "old.jsonl")
	if _, stderr, err := runApp(t, f.dir, nil, "backup", "--pool", source, "--out", f.backup, "--rps", "25"); err != nil {
		t.Fatalf("backup: %v\n%s", err, stderr)
	}
	if _, _, err := cognito.ReadBackup(mustOpen(t, f.backup), cognito.BackupVisitor{User: func(u cognito.User) error { f.old = append(f.old, u); return nil }}); err != nil {
		t.Fatal(err)
	}
	sort.Slice(f.old, func(i, j int) bool { return f.old[i].Username < f.old[j].Username })

	// The new pool signs in by email, so usernames change too. The last
	// users are not brought over (as if export had rejected them).
	f.target = env.NewPool(t, testenv.PoolOptions{UsernameAttributes: []cogtypes.UsernameAttributeType{cogtypes.UsernameAttributeTypeEmail}, Custom: []string{"prev_sub_id", "prev_username"}})
	var newUsers []testenv.SeedUser
	for i, u := range f.old {
		if i >= remapUsers-remapUnmatched {
			f.unmatched[u.Sub] = true
			continue
		}
		// As the import brings them: the address verified, which is what
		// makes the claim agree with the backup.
		newUsers = append(newUsers, testenv.SeedUser{Username: u.Attributes["email"], Attrs: map[string]string{"email": u.Attributes["email"], "email_verified": "true", "custom:prev_sub_id": u.Sub, "custom:prev_username": u.Username}})
	}
	env.Seed(t, f.target, nil, newUsers)
	p := cip.NewListUsersPaginator(env.Cognito, &cip.ListUsersInput{UserPoolId: &f.target})
	for p.HasMorePages() {
		out, err := p.NextPage(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for _, u := range out.Users {
			attrs := map[string]string{}
			for _, a := range u.Attributes {
				attrs[*a.Name] = *a.Value
			}
			f.newOf[attrs["custom:prev_sub_id"]] = [2]string{attrs["sub"], *u.Username}
		}
	}

	replaceInFile(t, filepath.Join(f.dir, "amplify/backend/amplify-meta.json"), "n0tesapi1d", f.apiID)
	notesTables(t, env, f.apiID)
	fillNotes(t, env, f.table, f.old)
	f.original = snapshot(t, env, f.tables())
	return f
}

func (f *remapFixture) tables() []string {
	return []string{f.table("Note"), f.table("Vehicle"), f.table("Notebook"), f.table("UserProfile"), f.table("Task")}
}

func s(v string) types.AttributeValue { return &types.AttributeValueMemberS{Value: v} }

// fill writes items in every owner format: sub::username, bare sub and
// bare username in a v2 default field, sub fields, a list of usernames,
// the owner as primary key and inside a composite index key, DataStore
// _version, and owners that are not in the new pool or nobody at all.
func fillNotes(t *testing.T, env *testenv.Env, table func(string) string, old []cognito.User) {
	t.Helper()
	f := struct {
		old   []cognito.User
		table func(string) string
	}{old, table}
	remapUsers := len(old)
	ctx := context.Background()
	put := func(table string, it map[string]types.AttributeValue) {
		if _, err := env.Dynamo.PutItem(ctx, &dynamodb.PutItemInput{TableName: &table, Item: it}); err != nil {
			t.Fatal(err)
		}
	}
	pad := strings.Repeat("x", 600)
	for i := 0; i < noteItems; i++ {
		u := f.old[i%remapUsers]
		owner := u.Sub + "::" + u.Username
		switch i % 10 {
		case 7:
			owner = u.Sub // v2 accepts a bare sub
		case 8:
			owner = u.Username // or a bare username
		}
		it := map[string]types.AttributeValue{"id": s(fmt.Sprintf("note%05d", i)), "owner": s(owner), "title": s("Note " + strconv.Itoa(i)), "pad": s(pad)}
		if i%3 == 0 {
			it["_version"] = &types.AttributeValueMemberN{Value: "1"}
			it["_lastChangedAt"] = &types.AttributeValueMemberN{Value: "1700000000000"}
		}
		if i == noteItems-1 {
			it["owner"] = s("nobody::nobody")
		}
		put(f.table("Note"), it)
	}
	for i, u := range f.old {
		put(f.table("Vehicle"), map[string]types.AttributeValue{"id": s(fmt.Sprintf("car%02d", i)), "userID": s(u.Sub), "plate": s(fmt.Sprintf("P-%02d", i))})
		put(f.table("UserProfile"), map[string]types.AttributeValue{"userId": s(u.Sub), "displayName": s("Profile of " + u.Username), "_version": &types.AttributeValueMemberN{Value: "4"}})
		other := f.old[(i+1)%remapUsers]
		put(f.table("Notebook"), map[string]types.AttributeValue{"id": s(fmt.Sprintf("nb%02d", i)), "owner": s(u.Sub + "::" + u.Username), "name": s("Book"),
			"editors": &types.AttributeValueMemberL{Value: []types.AttributeValue{s(u.Username), s(other.Username), s("outsider")}}})
		owner := u.Sub + "::" + u.Username
		put(f.table("Task"), map[string]types.AttributeValue{"id": s(fmt.Sprintf("task%02d", i)), "project": s("p1"), "status": s("open"), "owner": s(owner), "status#owner": s("open#" + owner)})
	}
}

// snapshot reads every item of the tables, as plain values, sorted.
func snapshot(t *testing.T, env *testenv.Env, tables []string) map[string][]map[string]any {
	t.Helper()
	out := map[string][]map[string]any{}
	for _, tb := range tables {
		p := dynamodb.NewScanPaginator(env.Dynamo, &dynamodb.ScanInput{TableName: aws.String(tb), ConsistentRead: aws.Bool(true)})
		var items []map[string]any
		for p.HasMorePages() {
			page, err := p.NextPage(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			for _, it := range page.Items {
				items = append(items, plain(it))
			}
		}
		sort.Slice(items, func(i, j int) bool { return fmt.Sprint(items[i]) < fmt.Sprint(items[j]) })
		out[tb] = items
	}
	return out
}

func plain(it map[string]types.AttributeValue) map[string]any {
	m := map[string]any{}
	for k, v := range it {
		switch x := v.(type) {
		case *types.AttributeValueMemberS:
			m[k] = x.Value
		case *types.AttributeValueMemberN:
			m[k] = "N:" + x.Value
		case *types.AttributeValueMemberL:
			var l []string
			for _, e := range x.Value {
				l = append(l, e.(*types.AttributeValueMemberS).Value)
			}
			m[k] = strings.Join(l, "|")
		default:
			m[k] = fmt.Sprintf("%T", v)
		}
	}
	return m
}

// expectRemapped checks every item against the original: each identity
// replaced once by the new one, in the form it had, and the rest intact.
func (f *remapFixture) expectRemapped(t *testing.T, env *testenv.Env) {
	t.Helper()
	byOld := map[string]cognito.User{}
	byOldName := map[string]cognito.User{}
	for _, u := range f.old {
		byOld[u.Sub], byOldName[u.Username] = u, u
	}
	mapValue := func(v string) string {
		if sub, _, ok := strings.Cut(v, "::"); ok {
			if n, ok := f.newOf[sub]; ok {
				return n[0] + "::" + n[1]
			}
			return v
		}
		if n, ok := f.newOf[v]; ok {
			return n[0]
		}
		if u, ok := byOldName[v]; ok {
			if n, ok := f.newOf[u.Sub]; ok {
				return n[1]
			}
		}
		return v
	}
	now := snapshot(t, env, f.tables())
	for _, tb := range f.tables() {
		want := []map[string]any{}
		for _, it := range f.original[tb] {
			w := map[string]any{}
			changed := false
			for k, v := range it {
				w[k] = v
			}
			for _, k := range []string{"owner", "userID", "userId"} {
				if v, ok := it[k].(string); ok && mapValue(v) != v {
					w[k], changed = mapValue(v), true
				}
			}
			if v, ok := it["editors"].(string); ok {
				parts := strings.Split(v, "|")
				for i := range parts {
					if m := mapValue(parts[i]); m != parts[i] {
						parts[i], changed = m, true
					}
				}
				w["editors"] = strings.Join(parts, "|")
			}
			if v, ok := it["status#owner"].(string); ok {
				w["status#owner"] = "open#" + w["owner"].(string)
				_ = v
			}
			if ver, ok := it["_version"].(string); ok && changed {
				n, _ := strconv.Atoi(strings.TrimPrefix(ver, "N:"))
				w["_version"] = fmt.Sprintf("N:%d", n+1)
				w["_lastChangedAt"] = "(bumped)"
			}
			want = append(want, w)
		}
		got := now[tb]
		for _, g := range got {
			if lc, ok := g["_lastChangedAt"].(string); ok && lc != "N:1700000000000" {
				g["_lastChangedAt"] = "(bumped)"
			}
		}
		sort.Slice(want, func(i, j int) bool { return fmt.Sprint(want[i]) < fmt.Sprint(want[j]) })
		sort.Slice(got, func(i, j int) bool { return fmt.Sprint(got[i]) < fmt.Sprint(got[j]) })
		if len(got) != len(want) {
			t.Errorf("%s: %d items, want %d", tb, len(got), len(want))
			continue
		}
		bad := 0
		for i := range want {
			if !reflect.DeepEqual(got[i], want[i]) {
				if bad < 3 {
					t.Errorf("%s item:\n got %v\nwant %v", tb, got[i], want[i])
				}
				bad++
			}
		}
		if bad > 0 {
			t.Errorf("%s: %d items differ", tb, bad)
		}
	}
}

type remapJSON struct {
	DryRun bool `json:"dryRun"`
	Tables []struct {
		Table                                                 string
		Scanned, Changed, AlreadyNew, Unmapped, Failed, Moved int64
		Conflicts                                             int64
	} `json:"tables"`
}

func (r remapJSON) byTable() map[string]string {
	out := map[string]string{}
	for _, t := range r.Tables {
		out[t.Table] = fmt.Sprintf("scanned=%d changed=%d alreadyNew=%d unmapped=%d failed=%d", t.Scanned, t.Changed, t.AlreadyNew, t.Unmapped, t.Failed)
	}
	return out
}

func (f *remapFixture) run(t *testing.T, args ...string) (remapJSON, string, error) {
	t.Helper()
	out, stderr, err := runApp(t, f.dir, nil, append(args, "--backup", f.backup, "--target-pool", f.target, "--json")...)
	var r remapJSON
	if out != "" && strings.HasPrefix(args[0], "remap") {
		if derr := decodeInto(out, &r); derr != nil {
			t.Fatalf("decode %s: %v\n%s", args[0], derr, out)
		}
	}
	return r, out + stderr, err
}

func TestRemapEveryFormat(t *testing.T) {
	t.Parallel() // own pools, tables and folders
	env := testenv.Require(t)
	f := setupRemap(t, env)
	mapped := remapUsers - remapUnmatched

	dry, _, err := f.run(t, "remap", "--dry-run")
	if err != nil || !dry.DryRun {
		t.Fatalf("dry run: %v", err)
	}
	if got := snapshot(t, env, f.tables()); !reflect.DeepEqual(got, f.original) {
		t.Fatal("the dry run changed the tables")
	}
	for _, tb := range dry.Tables {
		if tb.Table == f.table("UserProfile") && tb.Moved != int64(mapped) {
			t.Errorf("dry run: UserProfile would move %d items, it says %d", mapped, tb.Moved)
		}
	}
	noteChanged := int64(0)
	for i := 0; i < noteItems-1; i++ {
		if i%remapUsers < mapped {
			noteChanged++
		}
	}
	want := map[string]string{
		f.table("Note"):        fmt.Sprintf("scanned=%d changed=%d alreadyNew=0 unmapped=%d failed=0", noteItems, noteChanged, noteItems-noteChanged),
		f.table("Vehicle"):     fmt.Sprintf("scanned=%d changed=%d alreadyNew=0 unmapped=%d failed=0", remapUsers, mapped, remapUnmatched),
		f.table("UserProfile"): fmt.Sprintf("scanned=%d changed=%d alreadyNew=0 unmapped=%d failed=0", remapUsers, mapped, remapUnmatched),
		// A notebook changes when its owner or one of its editors (itself
		// and the next user) is in the new pool: all but four.
		f.table("Notebook"): fmt.Sprintf("scanned=%d changed=%d alreadyNew=0 unmapped=%d failed=0", remapUsers, mapped+1, remapUnmatched-1),
		f.table("Task"):     fmt.Sprintf("scanned=%d changed=%d alreadyNew=0 unmapped=%d failed=0", remapUsers, mapped, remapUnmatched),
	}
	if got := dry.byTable(); !reflect.DeepEqual(got, want) {
		t.Errorf("dry run:\n got %v\nwant %v", got, want)
	}

	// Without --yes nothing is written.
	if _, _, err := runApp(t, f.dir, nil, "remap", "--backup", f.backup, "--target-pool", f.target); err == nil || !strings.Contains(err.Error(), "--yes") {
		t.Fatalf("remap without confirmation: %v", err)
	}

	res, out, err := f.run(t, "remap", "--yes")
	if err != nil {
		t.Fatalf("remap: %v\n%s", err, out)
	}
	if got := res.byTable(); !reflect.DeepEqual(got, want) {
		t.Errorf("remap:\n got %v\nwant %v", got, want)
	}
	for _, tb := range res.Tables {
		if tb.Table == f.table("UserProfile") && tb.Moved != int64(mapped) {
			t.Errorf("UserProfile: %d items moved to a new key, want %d", tb.Moved, mapped)
		}
	}
	f.expectRemapped(t, env)

	again, _, err := f.run(t, "remap", "--yes")
	if err != nil {
		t.Fatal(err)
	}
	for _, tb := range again.Tables {
		if tb.Changed != 0 {
			t.Errorf("second remap changed %d items of %s", tb.Changed, tb.Table)
		}
	}

	_, out, err = f.run(t, "verify")
	if err != nil || !strings.Contains(out, `"ok": true`) {
		t.Errorf("verify: %v\n%s", err, out)
	}
	_, out, err = f.run(t, "verify", "--strict")
	if ExitCode(err) != 1 || !strings.Contains(out, `"ok": false`) || !strings.Contains(out, "owner39") {
		t.Errorf("verify --strict must fail on the unmatched users' items: %v\n%s", err, out)
	}

	if _, _, err := runApp(t, f.dir, nil, "rollback", "--yes"); err != nil {
		t.Fatalf("rollback: %v", err)
	}
	if got := snapshot(t, env, f.tables()); !reflect.DeepEqual(got, f.original) {
		t.Error("rollback did not restore the tables exactly")
	}
	_, out, err = f.run(t, "verify")
	if ExitCode(err) != 1 || !strings.Contains(out, `"oldValues": [`) {
		t.Errorf("verify after the rollback must fail: %v", err)
	}
	if _, err := os.Stat(filepath.Join(f.dir, ".poolmigrate", "remap", f.target+".journal.jsonl.rolled-back")); err != nil {
		t.Errorf("journal not marked rolled back: %v", err)
	}
}
