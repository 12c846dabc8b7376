package cli

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	cip "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider"
	cogtypes "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider/types"

	"github.com/poolmigrate/poolmigrate/cognito"
	"github.com/poolmigrate/poolmigrate/testbed/amplifysim"
	"github.com/poolmigrate/poolmigrate/testbed/testenv"
)

// TestMigrateWholeFlow drives `migrate` through every step on the test
// bed, stopping after each step and resuming, and doing between them what
// the user does with the Amplify CLI.
func TestMigrateWholeFlow(t *testing.T) {
	env := testenv.Require(t)
	ctx := context.Background()
	dir := copyProject(t, "../examples/notes-app")
	sp := plantSourcePool(t, env)
	apiID := "mg" + testenv.RandomSuffix()
	meta := filepath.Join(dir, "amplify/backend/amplify-meta.json")
	replaceInFile(t, meta, "us-east-1_NotesOld1", sp.id)
	replaceInFile(t, meta, "n0tesapi1d", apiID)
	notesTables(t, env, apiID)
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

	migrate := func(extra ...string) (string, error) {
		args := append([]string{"migrate", "--yes", "--role-arn", importRole, "--rate-scale", "1000", "--poll", "50ms"}, extra...)
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
	// The flow now waits for `amplify remove auth` / `amplify add auth`.
	out, err := migrate()
	if err != nil || !strings.Contains(out, "amplify remove auth") || !strings.Contains(out, "50 messages a day") {
		t.Fatalf("waiting for the auth replacement: %v\n%s", err, out)
	}
	if err := amplifysim.ReplaceAuth(dir, "notesappauth", "notesnewauth"); err != nil {
		t.Fatalf("amplify remove auth would refuse: %v", err)
	}
	out, err = migrate("--stop-after", "patch")
	if err != nil || !strings.Contains(out, "Stopped after patch") {
		t.Fatalf("patch: %v\n%s", err, out)
	}
	out, err = migrate()
	if err != nil || !strings.Contains(out, "amplify push") {
		t.Fatalf("waiting for push: %v\n%s", err, out)
	}
	target := env.NewPool(t, testenv.PoolOptions{
		UsernameAttributes: []cogtypes.UsernameAttributeType{cogtypes.UsernameAttributeTypeEmail},
		AutoVerified:       []cogtypes.VerifiedAttributeType{cogtypes.VerifiedAttributeTypeEmail},
		CaseInsensitive:    true,
	})
	if err := amplifysim.Push(dir, "notesnewauth", target); err != nil {
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
	if !strings.Contains(string(data), "authnotesnewauth") {
		t.Errorf("parameters.json not patched:\n%s", data)
	}
	if out, err := migrate(); err != nil || !strings.Contains(out, "Migration complete") {
		t.Errorf("run after completion: %v\n%s", err, out)
	}
}
