package gen2e2e

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	cip "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/poolmigrate/poolmigrate/cli"
	"github.com/poolmigrate/poolmigrate/testbed/gen2sim"
	"github.com/poolmigrate/poolmigrate/testbed/gen2synth"
	"github.com/poolmigrate/poolmigrate/testbed/testenv"
)

// gen2User is a user of the old username pool.
type gen2User struct{ username, sub, email string }

// TestMigrateGen2WholeFlow migrates the Gen 2 example on the test bed with
// the real toolchain synthesizing every step; only the deploys are
// simulated (testbed/gen2sim). The old pool signs in by username; its
// users own items in every form the example's owner rules store
// (sub::username, the username alone, the sub as a primary key, lists,
// e-mails). After migrate: the new pool signs in by e-mail, the old pool
// was kept (orphaned, not deleted), every owner field names the new
// identities (newsub::newusername, the new username, the new sub; the
// e-mail untouched), verify is clean, and rollback restores every table
// exactly.
func TestMigrateGen2WholeFlow(t *testing.T) {
	t.Parallel() // own pools, tables and folders
	env := testenv.Require(t)
	testenv.RequireAppSync(t)
	tc := gen2synth.Require(t)
	ctx := context.Background()
	bed := newGen2Bed(t, env, tc, "gen2notes", "", gen2sim.Clients{Cognito: env.Local, Dynamo: env.Dynamo})
	dir := bed.dir
	d0 := bed.deploy(nil)
	oldPool := d0.PoolID

	// The old pool's users: usernames, verified e-mails, groups, one disabled.
	var seed []testenv.SeedUser
	for i := 0; i < 12; i++ {
		u := testenv.SeedUser{Username: fmt.Sprintf("writer%02d", i), Attrs: map[string]string{"email": fmt.Sprintf("writer%02d@example.com", i), "email_verified": "true"}}
		if i%4 == 0 {
			u.Groups = []string{"EDITORS"}
		}
		if i == 0 {
			u.Groups = append(u.Groups, "ADMINS")
		}
		u.Disabled = i == 11
		seed = append(seed, u)
	}
	env.Seed(t, oldPool, nil, seed)
	users := gen2Users(t, env.Local, oldPool)
	table, tables := exampleTables(d0)
	fillGen2Tables(t, env, table, users)
	before := snapshot(t, env, tables)
	migrate := bed.migrate
	// plan, backup, then the retain block, and a wait for its deploy.
	out := migrate()
	backendTS := func() string {
		data, err := os.ReadFile(filepath.Join(dir, "amplify", "backend.ts"))
		if err != nil {
			t.Fatal(err)
		}
		return string(data)
	}
	if !strings.Contains(out, "npx ampx sandbox") || !strings.Contains(backendTS(), "poolmigrate:begin retain") {
		t.Fatalf("after the first run:\n%s", out)
	}
	if backups, _ := filepath.Glob(filepath.Join(dir, ".poolmigrate", "backups", oldPool+"-*.jsonl")); len(backups) != 1 {
		t.Fatalf("backups of %s: %v", oldPool, backups)
	}
	// Not deployed yet: the check keeps the flow waiting, and writes no
	// new pool.
	out = migrate()
	if !strings.Contains(out, "does not keep user pool") || strings.Contains(backendTS(), "poolmigrate:begin new-pool") {
		t.Fatalf("before the retain deploy:\n%s", out)
	}
	d1 := bed.deploy(d0)
	if d1.PoolID != oldPool {
		t.Fatalf("the retain deploy replaced the pool: %s", d1.PoolID)
	}
	out = migrate()
	if !strings.Contains(backendTS(), "poolmigrate:begin new-pool") || !strings.Contains(out, "Now deploy the new pool") {
		t.Fatalf("after the retain deploy:\n%s", out)
	}
	d2 := bed.deploy(d1)
	if d2.PoolID == oldPool || len(d2.Orphaned) != 1 || d2.Orphaned[0] != oldPool || len(d2.Deleted) != 0 {
		t.Fatalf("the new-pool deploy: new %s, orphaned %v, deleted %v", d2.PoolID, d2.Orphaned, d2.Deleted)
	}
	newPool := d2.PoolID
	np, err := env.Local.DescribeUserPool(ctx, &cip.DescribeUserPoolInput{UserPoolId: &newPool})
	if err != nil || len(np.UserPool.UsernameAttributes) != 1 || np.UserPool.UsernameAttributes[0] != "email" {
		t.Fatalf("the new pool: %v %+v", err, np)
	}
	out = migrate()
	if !strings.Contains(out, "Migration complete") || !strings.Contains(out, "OK: the migration is complete") {
		t.Fatalf("the last run:\n%s", out)
	}
	// The old pool is still there with its users.
	if u, err := env.Local.AdminGetUser(ctx, &cip.AdminGetUserInput{UserPoolId: &oldPool, Username: aws.String("writer01")}); err != nil || aws.ToString(u.Username) != "writer01" {
		t.Errorf("the old pool lost writer01: %v", err)
	}

	// Every owner field names the new identity.
	newBySub := map[string]gen2User{}
	for _, nu := range gen2Users(t, env.Cognito, newPool) {
		newBySub[nu.email] = nu
	}
	after := snapshot(t, env, tables)
	if len(after[table("Note")]) != len(users) || len(after[table("Profile")]) != len(users) {
		t.Fatalf("items after: %d notes, %d profiles", len(after[table("Note")]), len(after[table("Profile")]))
	}
	for _, u := range users {
		nu, ok := newBySub[u.email]
		if !ok {
			t.Fatalf("%s is not in the new pool", u.username)
		}
		if nu.sub == u.sub {
			t.Fatalf("%s has the same sub in the new pool", u.username)
		}
		want := map[string]map[string]any{
			table("Note"):    {"id": "note-" + u.username, "owner": nu.sub + "::" + nu.username},
			table("Comment"): {"id": "comment-" + u.username, "owner": nu.username, "author": nu.username},
			table("Profile"): {"userId": nu.sub, "displayName": "Profile of " + u.username},
			table("Board"):   {"id": "board-" + u.username, "owner": nu.sub + "::" + nu.username},
			table("Invite"):  {"id": "invite-" + u.username, "email": u.email},
		}
		for tb, fields := range want {
			if !hasItem(after[tb], fields) {
				t.Errorf("%s: no item %v; items: %v", tb, fields, after[tb])
			}
		}
	}
	all := fmt.Sprint(after)
	for _, u := range users {
		if strings.Contains(all, u.sub) {
			t.Errorf("%s's old sub is still in the tables", u.username)
		}
	}
	t.Logf("Note.owner of writer01 is now %v", after[table("Note")][1]["owner"])
	if fmt.Sprint(after[table("Tag")]) != fmt.Sprint(before[table("Tag")]) {
		t.Errorf("the model without an owner changed")
	}

	// Rollback restores every table exactly.
	if out, stderr, err := runApp(t, dir, nil, "rollback", "--yes"); err != nil {
		t.Fatalf("rollback: %v\n%s%s", err, out, stderr)
	}
	if got := snapshot(t, env, tables); fmt.Sprint(got) != fmt.Sprint(before) {
		t.Errorf("after rollback the tables differ from before the remap:\n%v\n%v", got, before)
	}
}

func hasItem(items []map[string]any, fields map[string]any) bool {
	for _, it := range items {
		match := true
		for k, v := range fields {
			if fmt.Sprint(it[k]) != fmt.Sprint(v) {
				match = false
			}
		}
		if match {
			return true
		}
	}
	return false
}

// gen2Users lists a pool's users through c: env.Local reads cognito-local
// directly, env.Cognito through the shim (as poolmigrate sees them).
func gen2Users(t *testing.T, c *cip.Client, pool string) []gen2User {
	t.Helper()
	var out []gen2User
	p := cip.NewListUsersPaginator(c, &cip.ListUsersInput{UserPoolId: &pool})
	for p.HasMorePages() {
		page, err := p.NextPage(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		for _, u := range page.Users {
			gu := gen2User{username: aws.ToString(u.Username)}
			for _, a := range u.Attributes {
				switch aws.ToString(a.Name) {
				case "sub":
					gu.sub = aws.ToString(a.Value)
				case "email":
					gu.email = aws.ToString(a.Value)
				}
			}
			out = append(out, gu)
		}
	}
	return out
}

// fillGen2Tables writes what the example's resolvers write for each user.
func fillGen2Tables(t *testing.T, env *testenv.Env, table func(string) string, users []gen2User) {
	t.Helper()
	put := func(tb string, it map[string]types.AttributeValue) {
		if _, err := env.Dynamo.PutItem(context.Background(), &dynamodb.PutItemInput{TableName: aws.String(table(tb)), Item: it}); err != nil {
			t.Fatal(err)
		}
	}
	for i, u := range users {
		other := users[(i+1)%len(users)]
		put("Note", map[string]types.AttributeValue{"id": s("note-" + u.username), "title": s("Note of " + u.username), "owner": s(u.sub + "::" + u.username)})
		put("Comment", map[string]types.AttributeValue{"id": s("comment-" + u.username), "noteId": s("note-" + other.username), "postedAt": s("2026-01-02T03:04:05.000Z"), "text": s("hi"), "owner": s(u.username), "author": s(u.username)})
		put("Profile", map[string]types.AttributeValue{"userId": s(u.sub), "displayName": s("Profile of " + u.username)})
		put("Board", map[string]types.AttributeValue{"id": s("board-" + u.username), "name": s("Board"), "owner": s(u.sub + "::" + u.username),
			"editors": &types.AttributeValueMemberL{Value: []types.AttributeValue{s(u.sub + "::" + u.username), s(other.sub + "::" + other.username)}}})
		put("Invite", map[string]types.AttributeValue{"id": s("invite-" + u.username), "email": s(u.email), "boardId": s("board-" + other.username)})
	}
	put("Tag", map[string]types.AttributeValue{"id": s("tag-1"), "label": s("urgent")})
}

// runApp runs poolmigrate in-process from dir.
func runApp(t *testing.T, dir string, env map[string]string, args ...string) (string, string, error) {
	t.Helper()
	var out, errb bytes.Buffer
	app := &cli.App{
		Stdin:  strings.NewReader(""),
		Stdout: &out,
		Stderr: &errb,
		Getenv: func(k string) string {
			// Only the AWS SDK's variables (the test bed's endpoints) come
			// from the environment: a POOLMIGRATE_* of the person running
			// the tests must not change what is tested.
			if v, ok := env[k]; ok || !strings.HasPrefix(k, "AWS_") {
				return v
			}
			return os.Getenv(k)
		},
		Getwd: func() (string, error) { return filepath.Abs(dir) },
	}
	err := app.Run(context.Background(), args)
	return out.String(), errb.String(), err
}

func s(v string) types.AttributeValue { return &types.AttributeValueMemberS{Value: v} }

// snapshot reads every item of the tables as plain values, sorted.
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
			var l []any
			for _, e := range x.Value {
				l = append(l, plain(map[string]types.AttributeValue{"": e})[""])
			}
			m[k] = l
		default:
			m[k] = fmt.Sprintf("%T", v)
		}
	}
	return m
}
