package cli

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	cip "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider"
	cogtypes "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider/types"

	"github.com/poolmigrate/poolmigrate/cognito"
	"github.com/poolmigrate/poolmigrate/testbed/amplifycli"
	"github.com/poolmigrate/poolmigrate/testbed/amplifysim"
	"github.com/poolmigrate/poolmigrate/testbed/testenv"
)

// TestMigrateWholeFlow drives `migrate` through every step on the test
// bed, stopping after each step and resuming, and running between them
// what the user runs with the real Amplify CLI (only `amplify push` is
// simulated: it needs AWS).
func TestMigrateWholeFlow(t *testing.T) {
	t.Parallel() // own pools, tables and folders
	env := testenv.Require(t)
	amp := amplifycli.Require(t)
	ctx := context.Background()
	dir := copyProject(t, "../examples/notes-app")
	sp := plantSourcePool(t, env)
	apiID := deployedNotesApp(t, env, dir, sp.id, "mg")
	owners := sourceOwners(t, env, sp.id)[:40]
	table := func(m string) string { return m + "-" + apiID + "-dev" }
	fillNotes(t, env, table, owners)
	tables := migratedTables(apiID, owners, snapshot(t, env, (&remapFixture{apiID: apiID}).tables()))
	if err := amp.Pull(ctx, dir, "dev"); err != nil {
		t.Fatal(err)
	}

	role := env.ImportRole(t)
	migrate := func(extra ...string) (string, error) {
		args := append([]string{"migrate", "--yes", "--role-arn", role, "--rate-scale", "1000", "--poll", "50ms"}, extra...)
		out, stderr, err := runApp(t, dir, nil, args...)
		return out + stderr, err
	}
	steps := []string{"plan", "backup", "detach"}
	for _, s := range steps {
		out, err := migrate("--stop-after", s)
		if err != nil || !strings.Contains(out, "Stopped after "+s) {
			t.Fatalf("migrate to %s: %v\n%s", s, err, out)
		}
	}
	// The flow now waits for the Amplify CLI, and says in which order.
	out, err := migrate()
	if err != nil || !strings.Contains(out, "1. amplify remove auth userPoolGroups --yes") ||
		!strings.Contains(out, "2. amplify remove auth notesappauth --yes") || !strings.Contains(out, "50 messages a day") {
		t.Fatalf("waiting for the auth replacement: %v\n%s", err, out)
	}
	payload, err := os.ReadFile(filepath.Join(dir, ".poolmigrate", "add-auth.json"))
	if err != nil || strings.Count(string(payload), "\n") != 1 {
		t.Fatalf("the headless payload must be one line: %v %q", err, payload)
	}
	// Out of order, the real CLI refuses (and exits 0 for `add auth`):
	// migrate must not take that for done.
	if _, err := amp.Run(ctx, dir, "", "remove", "auth", "notesappauth", "--yes"); err == nil {
		t.Error("the CLI removed the auth resource while userPoolGroups depends on it")
	}
	amplifyOK(t, amp, dir, "", "remove", "auth", "userPoolGroups", "--yes")
	if out, _ := amp.Run(ctx, dir, string(payload), "add", "auth", "--headless"); !strings.Contains(out, "Auth has already been added") {
		t.Errorf("add auth before removing the old one: %s", out)
	}
	out, err = migrate()
	if err != nil || !strings.Contains(out, "1. amplify remove auth notesappauth --yes") || strings.Contains(out, "userPoolGroups --yes") {
		t.Fatalf("after removing the groups only: %v\n%s", err, out)
	}
	amplifyOK(t, amp, dir, "", "remove", "auth", "notesappauth", "--yes")
	amplifyOK(t, amp, dir, string(payload), "add", "auth", "--headless")
	if _, err := os.Stat(filepath.Join(dir, "amplify/backend/auth/notesappauthv2/cli-inputs.json")); err != nil {
		t.Fatalf("add auth --headless did not create the new resource: %v", err)
	}
	out, err = migrate("--stop-after", "patch")
	if err != nil || !strings.Contains(out, "Stopped after patch") {
		t.Fatalf("patch: %v\n%s", err, out)
	}
	checkPatchedOnRealCLI(t, amp, dir, "notesappauth", "notesappauthv2")
	checkTriggerCarried(t, amp, dir, "notesappauthv2", "PostConfirmation", "notesappauthPostConfirmation")
	out, err = migrate()
	if err != nil || !strings.Contains(out, "amplify push") {
		t.Fatalf("waiting for push: %v\n%s", err, out)
	}
	target := env.NewPool(t, emailSignInPool())
	if err := amplifysim.Push(dir, "notesappauthv2", target); err != nil {
		t.Fatal(err)
	}
	// check finds the planted problems and waits for the policies.
	out, err = migrate()
	if err != nil || !strings.Contains(out, "DUPLICATE_EMAIL") || !strings.Contains(out, "--on-duplicate") {
		t.Fatalf("check without policies: %v\n%s", err, out)
	}
	policies := []string{"--on-duplicate", "keep-newest", "--on-unverified", "skip", "--skip", "INVALID_PHONE,INVALID_USERNAME"}
	for _, s := range []string{"check", "export", "import", "remap"} {
		out, err := migrate(append(policies, "--stop-after", s)...)
		if err != nil || !strings.Contains(out, "Stopped after "+s) {
			t.Fatalf("migrate to %s: %v\n%s", s, err, out)
		}
	}
	out, err = migrate(policies...)
	if err != nil || !strings.Contains(out, "OK: the migration is complete") || !strings.Contains(out, "Migration complete") {
		t.Fatalf("last step: %v\n%s", err, out)
	}
	// Nothing names the old auth resource any more, and a further run has
	// nothing to do.
	data, _ := os.ReadFile(filepath.Join(dir, "amplify/backend/api/notesapi/parameters.json"))
	if !strings.Contains(string(data), "authnotesappauthv2") {
		t.Errorf("parameters.json not patched:\n%s", data)
	}
	if out, err := migrate(); err != nil || !strings.Contains(out, "Migration complete") {
		t.Errorf("run after completion: %v\n%s", err, out)
	}
	// What the tool says is checked against Cognito and DynamoDB: every
	// user export kept is in the new pool with groups, memberships and
	// disabled state, and every item names its owner's new identity.
	m := migratedSetup(t, dir, sp)
	if m.target != target {
		t.Fatalf("migrate.json's target pool %s, want the pushed %s", m.target, target)
	}
	m.verifyTarget(t, env, cogtypes.UserStatusTypeResetRequired)
	tables.expectRemappedTo(t, env, target)
}

// sourceOwners lists a pool's users as the owners of items.
func sourceOwners(t *testing.T, env *testenv.Env, pool string) []cognito.User {
	t.Helper()
	var owners []cognito.User
	p := cip.NewListUsersPaginator(env.Local, &cip.ListUsersInput{UserPoolId: &pool})
	for p.HasMorePages() {
		out, err := p.NextPage(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		for _, u := range out.Users {
			for _, a := range u.Attributes {
				if *a.Name == "sub" {
					owners = append(owners, cognito.User{Sub: *a.Value, Username: *u.Username})
				}
			}
		}
	}
	return owners
}

// migratedSetup is what the guided flow did, from its state
// (.poolmigrate/migrate.json: the backup, the target pool, export's folder
// and the users it left out), for verifyTarget. Export may leave out only
// the planted problem users, never a regular one.
func migratedSetup(t *testing.T, dir string, sp *sourcePool) *migrationSetup {
	t.Helper()
	var st migrateState
	if err := json.Unmarshal(mustRead(t, filepath.Join(dir, ".poolmigrate", "migrate.json")), &st); err != nil {
		t.Fatal(err)
	}
	m := &migrationSetup{sp: sp, dir: dir, backup: st.Backup, target: st.TargetPool, csv: st.CSV, rejected: readRejects(st.CSV)}
	problems := map[string]bool{}
	for _, users := range sp.problems {
		for _, u := range users {
			problems[u] = true
		}
	}
	for u := range m.rejected {
		if !problems[u] {
			t.Errorf("export left out %s, who has no problem", u)
		}
	}
	m.exported = int64(len(sp.users) - len(m.rejected))
	return m
}

// migratedTables is what expectRemapped checks a migration's tables
// against: the items as they were before it and their owners' old
// identities; expectRemappedTo adds the new ones from the target pool.
func migratedTables(apiID string, owners []cognito.User, original map[string][]map[string]any) *remapFixture {
	return &remapFixture{apiID: apiID, old: owners, original: original}
}

// expectRemappedTo checks every item against its original: each owner in
// the target pool (found by custom:prev_sub_id) replaced by the identity
// the pool gave them, the others as they were.
func (f *remapFixture) expectRemappedTo(t *testing.T, env *testenv.Env, target string) {
	t.Helper()
	f.newOf = map[string][2]string{}
	p := cip.NewListUsersPaginator(env.Cognito, &cip.ListUsersInput{UserPoolId: &target})
	for p.HasMorePages() {
		out, err := p.NextPage(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		for _, u := range out.Users {
			attrs := map[string]string{}
			for _, a := range u.Attributes {
				attrs[*a.Name] = *a.Value
			}
			if prev := attrs["custom:prev_sub_id"]; prev != "" {
				f.newOf[prev] = [2]string{attrs["sub"], *u.Username}
			}
		}
	}
	mapped := 0
	for _, u := range f.old {
		if _, ok := f.newOf[u.Sub]; ok {
			mapped++
		}
	}
	if mapped == 0 {
		t.Fatalf("none of the items' %d owners is in the target pool %s", len(f.old), target)
	}
	f.expectRemapped(t, env)
}
