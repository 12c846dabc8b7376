package cli

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	cip "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider"
	"github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider/types"

	"github.com/poolmigrate/poolmigrate/testbed/testenv"
)

// An old, case-sensitive pool holds Shared and shared, two people; the
// new pool is case-insensitive (what `add auth` and Gen 2 make), where
// they would be one. check names them, export refuses without a policy,
// and with keep-newest both methods bring over the newer alone, reachable
// by any case. A CSV exported for a case-sensitive target and imported
// into this one anyway loses nobody silently: the second is reported.
func TestImportCaseVariantsIntoACaseInsensitivePool(t *testing.T) {
	t.Parallel() // own pools, tables and folders
	env := testenv.Require(t)
	ctx := context.Background()
	old := env.NewPool(t, testenv.PoolOptions{AutoVerified: []types.VerifiedAttributeType{types.VerifiedAttributeTypeEmail}})
	env.Seed(t, old, nil, []testenv.SeedUser{
		{Username: "Shared", Attrs: map[string]string{"email": "first@example.com", "email_verified": "true", "given_name": "First"}},
		{Username: "solo", Attrs: map[string]string{"email": "solo@example.com", "email_verified": "true"}},
	})
	time.Sleep(1100 * time.Millisecond) // shared is newer, to the second
	env.Seed(t, old, nil, []testenv.SeedUser{{Username: "shared", Attrs: map[string]string{"email": "second@example.com", "email_verified": "true", "given_name": "Second"}}})
	dir := t.TempDir()
	backup := filepath.Join(dir, "old.jsonl")
	if _, stderr, err := runApp(t, dir, nil, "backup", "--pool", old, "--out", backup); err != nil {
		t.Fatalf("backup: %v\n%s", err, stderr)
	}
	insensitive := testenv.PoolOptions{CaseInsensitive: true, AutoVerified: []types.VerifiedAttributeType{types.VerifiedAttributeTypeEmail}}

	for _, method := range []string{"job", "admin"} {
		t.Run(method, func(t *testing.T) {
			target := env.NewPool(t, insensitive)
			out, _, err := runApp(t, dir, nil, "check", "--backup", backup, "--target-pool", target, "--json", "--fix")
			var rep checkJSON
			if derr := decodeInto(out, &rep); derr != nil || ExitCode(err) != 1 {
				t.Fatalf("check: exit %d (%v), %v", ExitCode(err), err, derr)
			}
			if got := rep.byCode()["DUPLICATE_USERNAME"]; got != "Shared,shared" {
				t.Errorf("check: DUPLICATE_USERNAME %q, want Shared,shared (all: %v)", got, rep.byCode())
			}
			csvDir := filepath.Join(t.TempDir(), "csv")
			if _, _, err := runApp(t, dir, nil, "export", "--backup", backup, "--target-pool", target, "--out", csvDir); err == nil || !strings.Contains(err.Error(), "--on-duplicate") {
				t.Fatalf("export without a policy: %v", err)
			}
			if _, stderr, err := runApp(t, dir, nil, "export", "--backup", backup, "--target-pool", target, "--out", csvDir, "--on-duplicate", "keep-newest"); err != nil {
				t.Fatalf("export: %v\n%s", err, stderr)
			}
			m := &migrationSetup{dir: dir, backup: backup, target: target, csv: csvDir}
			args := []string{"--method", method}
			if method == "job" {
				args = append(args, "--role-arn", env.ImportRole(t))
			}
			res, err := m.runImport(t, args...)
			if err != nil || res.Imported != 2 || res.Failed != 0 {
				t.Fatalf("import: %+v %v", res, err)
			}
			for _, name := range []string{"shared", "SHARED", "Shared"} {
				u, err := env.Cognito.AdminGetUser(ctx, &cip.AdminGetUserInput{UserPoolId: &target, Username: aws.String(name)})
				if err != nil {
					t.Fatalf("get %s: %v", name, err)
				}
				attrs := map[string]string{}
				for _, a := range u.UserAttributes {
					attrs[*a.Name] = *a.Value
				}
				if attrs["custom:prev_username"] != "shared" || attrs["given_name"] != "Second" {
					t.Errorf("%s is %v, want the newer, shared", name, attrs)
				}
			}
		})
	}

	// An export for a case-sensitive pool holds both; import refuses it
	// for any other pool, so neither reaches the case-insensitive one.
	sensitive := env.NewPool(t, testenv.PoolOptions{AutoVerified: []types.VerifiedAttributeType{types.VerifiedAttributeTypeEmail}})
	if _, _, err := runApp(t, dir, nil, "check", "--backup", backup, "--target-pool", sensitive, "--fix"); ExitCode(err) > 1 {
		t.Fatalf("check --fix: %v", err)
	}
	both := filepath.Join(t.TempDir(), "both")
	if _, stderr, err := runApp(t, dir, nil, "export", "--backup", backup, "--target-pool", sensitive, "--out", both); err != nil {
		t.Fatalf("export for a case-sensitive pool: %v\n%s", err, stderr)
	}
	target := env.NewPool(t, insensitive)
	if _, _, err := runApp(t, dir, nil, "check", "--backup", backup, "--target-pool", target, "--fix"); ExitCode(err) > 1 {
		t.Fatalf("check --fix: %v", err)
	}
	m := &migrationSetup{dir: dir, backup: backup, target: target, csv: both}
	if res, err := m.runImport(t, "--method", "admin"); err == nil || !strings.Contains(err.Error(), "export again for this pool") {
		t.Errorf("import of an export for another pool: %+v %v", res, err)
	}
	if all, err := env.Cognito.ListUsers(ctx, &cip.ListUsersInput{UserPoolId: &target}); err != nil || len(all.Users) != 0 {
		t.Errorf("the refused import left %d users (%v)", len(all.Users), err)
	}
}
