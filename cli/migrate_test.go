package cli

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	cip "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider"

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
	env := testenv.Require(t)
	amp := amplifycli.Require(t)
	ctx := context.Background()
	dir := copyProject(t, "../examples/notes-app")
	sp := plantSourcePool(t, env)
	apiID := deployedNotesApp(t, env, dir, sp.id, "mg")
	var owners []cognito.User
	p := cip.NewListUsersPaginator(env.Local, &cip.ListUsersInput{UserPoolId: &sp.id})
	for p.HasMorePages() {
		out, err := p.NextPage(ctx)
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
	table := func(m string) string { return m + "-" + apiID + "-dev" }
	fillNotes(t, env, table, owners[:40])
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
}
