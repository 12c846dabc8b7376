package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	cip "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider"
	ctypes "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider/types"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	dtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/poolmigrate/poolmigrate/testbed/testenv"
)

// TestMigrationWindow: while the trigger brings users over as they sign
// in, sync gives the ones migrated so far their groups, memberships,
// disabled state and items (checked here against Cognito and DynamoDB, not
// the tool's report), and a second run changes nothing; verify --progress
// counts; the bulk import then skips them and brings the rest; and
// retire-old-pool deletes the old pool only for its id typed.
func TestMigrationWindow(t *testing.T) {
	t.Parallel() // own pools, tables and folders
	env := testenv.Require(t)
	ctx := context.Background()
	oldPool := env.NewPool(t, testenv.PoolOptions{AutoVerified: []ctypes.VerifiedAttributeType{ctypes.VerifiedAttributeTypeEmail}})
	var seed []testenv.SeedUser
	for i := 0; i < 6; i++ {
		u := testenv.SeedUser{Username: fmt.Sprintf("w%d", i), Attrs: map[string]string{"email": fmt.Sprintf("w%d@example.com", i), "email_verified": "true"}}
		switch i {
		case 0, 3:
			u.Groups = []string{"Admin"}
		case 1:
			u.Disabled = true
		case 2:
			u.Groups = []string{"Editors"}
		}
		seed = append(seed, u)
	}
	env.Seed(t, oldPool, []testenv.SeedGroup{{Name: "Admin", Precedence: aws.Int32(1)}, {Name: "Editors"}}, seed)
	old := map[string]string{} // username -> old sub
	for _, u := range must2[*cip.ListUsersOutput](t)(env.Local.ListUsers(ctx, &cip.ListUsersInput{UserPoolId: &oldPool})).Users {
		for _, a := range u.Attributes {
			if *a.Name == "sub" {
				old[*u.Username] = *a.Value
			}
		}
	}
	dir := copyProject(t, "../examples/notes-app")
	apiID := deployedNotesApp(t, env, dir, oldPool, "win")
	note := "Note-" + apiID + "-dev"
	for name, sub := range old {
		if _, err := env.Dynamo.PutItem(ctx, &dynamodb.PutItemInput{TableName: &note, Item: map[string]dtypes.AttributeValue{
			"id": &dtypes.AttributeValueMemberS{Value: "n-" + name}, "owner": &dtypes.AttributeValueMemberS{Value: sub + "::" + name}}}); err != nil {
			t.Fatal(err)
		}
	}
	backup := filepath.Join(t.TempDir(), "old.jsonl")
	if _, stderr, err := runApp(t, dir, nil, "backup", "--pool", oldPool, "--out", backup); err != nil {
		t.Fatalf("backup: %v\n%s", err, stderr)
	}

	// The new pool; the trigger has brought w0, w1 and w2 over.
	target := env.NewPool(t, testenv.PoolOptions{AutoVerified: []ctypes.VerifiedAttributeType{ctypes.VerifiedAttributeTypeEmail}, Custom: []string{"prev_sub_id", "prev_username"}})
	newSub := map[string]string{}
	for _, name := range []string{"w0", "w1", "w2"} {
		out, err := env.Local.AdminCreateUser(ctx, &cip.AdminCreateUserInput{UserPoolId: &target, Username: aws.String(name), MessageAction: ctypes.MessageActionTypeSuppress,
			UserAttributes: []ctypes.AttributeType{{Name: aws.String("email"), Value: aws.String(name + "@example.com")}, {Name: aws.String("email_verified"), Value: aws.String("true")},
				{Name: aws.String("custom:prev_sub_id"), Value: aws.String(old[name])}, {Name: aws.String("custom:prev_username"), Value: aws.String(name)}}})
		if err != nil {
			t.Fatal(err)
		}
		for _, a := range out.User.Attributes {
			if *a.Name == "sub" {
				newSub[name] = *a.Value
			}
		}
	}
	owners := func() map[string]string {
		out := map[string]string{}
		for _, it := range must2[*dynamodb.ScanOutput](t)(env.Dynamo.Scan(ctx, &dynamodb.ScanInput{TableName: &note})).Items {
			out[it["id"].(*dtypes.AttributeValueMemberS).Value] = it["owner"].(*dtypes.AttributeValueMemberS).Value
		}
		return out
	}
	members := func(group string) string {
		var names []string
		for _, u := range must2[*cip.ListUsersInGroupOutput](t)(env.Local.ListUsersInGroup(ctx, &cip.ListUsersInGroupInput{UserPoolId: &target, GroupName: &group})).Users {
			names = append(names, *u.Username)
		}
		sort.Strings(names)
		return strings.Join(names, ",")
	}
	enabled := func(name string) bool {
		return must2[*cip.AdminGetUserOutput](t)(env.Local.AdminGetUser(ctx, &cip.AdminGetUserInput{UserPoolId: &target, Username: &name})).Enabled
	}
	common := []string{"--backup", backup, "--target-pool", target}
	var sum SyncSummary
	sync := func() {
		t.Helper()
		out, stderr, err := runApp(t, dir, nil, append([]string{"sync", "--yes", "--json"}, common...)...)
		if err != nil {
			t.Fatalf("sync: %v\n%s%s", err, out, stderr)
		}
		sum = SyncSummary{}
		if err := json.Unmarshal([]byte(out), &sum); err != nil {
			t.Fatal(err)
		}
	}
	sync()
	got := owners()
	for _, name := range []string{"w0", "w1", "w2"} {
		if want := newSub[name] + "::" + name; got["n-"+name] != want {
			t.Errorf("%s's note: %q, want %q", name, got["n-"+name], want)
		}
	}
	for _, name := range []string{"w3", "w4", "w5"} {
		if want := old[name] + "::" + name; got["n-"+name] != want {
			t.Errorf("%s (not migrated yet): %q, want it left %q", name, got["n-"+name], want)
		}
	}
	if members("Admin") != "w0" || members("Editors") != "w2" || enabled("w1") || !enabled("w0") {
		t.Errorf("after sync: Admin %q, Editors %q, w1 enabled %v", members("Admin"), members("Editors"), enabled("w1"))
	}
	if sum.Migrated != 3 || sum.BackupUsers != 6 || sum.MembershipsWaiting != 1 {
		t.Errorf("summary: %+v", sum)
	}
	// A second run changes nothing.
	sync()
	changed := int64(0)
	for _, tb := range sum.Remap.Tables {
		changed += tb.Changed
	}
	if changed != 0 || sum.GroupsCreated+sum.MembershipsAdded+sum.UsersDisabled != 0 {
		t.Errorf("second sync changed things: %+v", sum)
	}
	out, _, err := runApp(t, dir, nil, append([]string{"verify", "--progress", "--json"}, common...)...)
	var p Progress
	if err != nil || json.Unmarshal([]byte(out), &p) != nil || p.Migrated != 3 || p.Remaining != 3 || p.OldValues != 0 || p.WaitingValues != 3 {
		t.Errorf("verify --progress: %v %s", err, out)
	}

	// Closing the window: the bulk import skips the three and brings the rest.
	if out, stderr, err := runApp(t, dir, nil, append([]string{"export", "--on-duplicate", "keep-newest", "--on-unverified", "skip"}, common...)...); err != nil {
		t.Fatalf("export: %v\n%s%s", err, out, stderr)
	}
	out, stderr, err := runApp(t, dir, nil, append([]string{"import", "--method", "admin", "--yes", "--json", "--rate-scale", "100"}, common...)...)
	var imp struct{ Imported, Skipped, Failed int }
	if err != nil || json.Unmarshal([]byte(out), &imp) != nil || imp.Imported != 3 || imp.Skipped != 3 || imp.Failed != 0 {
		t.Fatalf("import: %v %s%s", err, out, stderr)
	}
	sync()
	if out, _, err := runApp(t, dir, nil, append([]string{"verify", "--strict"}, common...)...); err != nil {
		t.Fatalf("verify after the window: %v\n%s", err, out)
	}

	// Retiring the old pool needs its id typed.
	retire := append([]string{"retire-old-pool", "--old-pool", oldPool}, common...)
	if _, _, err := runApp(t, dir, nil, append(retire, "--confirm-pool-id", "us-east-1_Wrong")...); err == nil {
		t.Fatal("retired with the wrong id typed")
	}
	if _, err := env.Local.DescribeUserPool(ctx, &cip.DescribeUserPoolInput{UserPoolId: &oldPool}); err != nil {
		t.Fatalf("the old pool went with the wrong id typed: %v", err)
	}
	if out, stderr, err := runApp(t, dir, nil, append(retire, "--confirm-pool-id", oldPool)...); err != nil {
		t.Fatalf("retire: %v\n%s%s", err, out, stderr)
	}
	if _, err := env.Local.DescribeUserPool(ctx, &cip.DescribeUserPoolInput{UserPoolId: &oldPool}); err == nil {
		t.Error("the old pool is still there")
	}
}

// must2 turns a (value, error) pair into the value, failing the test on
// the error.
func must2[T any](t *testing.T) func(T, error) T {
	return func(v T, err error) T {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
}
