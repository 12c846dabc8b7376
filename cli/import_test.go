package cli

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	cip "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider"
	"github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider/types"

	"github.com/poolmigrate/poolmigrate/testbed/testenv"
)

// migrationSetup plants the source pool, backs it up, makes a target and
// exports for it, as a user would before `import`.
type migrationSetup struct {
	sp       *sourcePool
	dir      string
	backup   string
	target   string
	csv      string
	exported int64
	rejected map[string]bool
	// viaTrigger are users the migration trigger brought over: it carries
	// no e-mail or phone number their old pool had not verified.
	viaTrigger map[string]bool
}

func setupExport(t *testing.T, env *testenv.Env, target testenv.PoolOptions, exportArgs ...string) *migrationSetup {
	t.Helper()
	m := &migrationSetup{sp: plantSourcePool(t, env), dir: t.TempDir()}
	m.backup = filepath.Join(m.dir, "old.jsonl")
	if _, stderr, err := runApp(t, m.dir, nil, "backup", "--pool", m.sp.id, "--out", m.backup, "--rps", "1000"); err != nil {
		t.Fatalf("backup: %v\n%s", err, stderr)
	}
	m.target = env.NewPool(t, target)
	if _, _, err := runApp(t, m.dir, nil, "check", "--backup", m.backup, "--target-pool", m.target, "--fix"); ExitCode(err) > 1 {
		t.Fatalf("check --fix: %v", err)
	}
	m.csv = filepath.Join(m.dir, "csv")
	args := append([]string{"export", "--backup", m.backup, "--target-pool", m.target, "--out", m.csv, "--json"}, exportArgs...)
	out, stderr, err := runApp(t, m.dir, nil, args...)
	if err != nil {
		t.Fatalf("export: %v\n%s", err, stderr)
	}
	var res struct{ Exported int64 }
	if err := decodeInto(out, &res); err != nil {
		t.Fatal(err)
	}
	m.exported = res.Exported
	m.rejected = readRejects(m.csv)
	return m
}

// readRejects lists the old usernames export left out (rejects.jsonl of
// its folder).
func readRejects(csvDir string) map[string]bool {
	rejected := map[string]bool{}
	data, _ := os.ReadFile(filepath.Join(csvDir, "rejects.jsonl"))
	for _, l := range strings.Split(strings.TrimSpace(string(data)), "\n") {
		if i := strings.Index(l, `"username":"`); i >= 0 {
			rest := l[i+len(`"username":"`):]
			rejected[rest[:strings.Index(rest, `"`)]] = true
		}
	}
	return rejected
}

type importJSON struct {
	DryRun           bool  `json:"dryRun"`
	Imported         int64 `json:"imported"`
	Skipped          int64 `json:"skipped"`
	Failed           int64 `json:"failed"`
	GroupsCreated    int   `json:"groupsCreated"`
	MembershipsAdded int   `json:"membershipsAdded"`
	UsersDisabled    int   `json:"usersDisabled"`
	FailedUsers      []struct {
		Username string `json:"username"`
		Sub      string `json:"sub"`
		Reason   string `json:"reason"`
	} `json:"failedUsers"`
}

func (m *migrationSetup) runImport(t *testing.T, args ...string) (importJSON, error) {
	t.Helper()
	base := []string{"import", "--backup", m.backup, "--target-pool", m.target, "--csv", m.csv, "--json", "--yes", "--rate-scale", "1000", "--poll", "50ms"}
	out, stderr, err := runApp(t, m.dir, nil, append(base, args...)...)
	var res importJSON
	if out != "" {
		if derr := decodeInto(out, &res); derr != nil {
			t.Fatalf("decode: %v\n%s\n%s", derr, out, stderr)
		}
	}
	return res, err
}

// expected counts what the target must hold: memberships and disabled
// states of the users that were exported.
func (m *migrationSetup) expected() (memberships, disabled int) {
	for _, u := range m.sp.users {
		if m.rejected[u.Username] {
			continue
		}
		memberships += len(u.Groups)
		if u.Disabled {
			disabled++
		}
	}
	return
}

// verifyTarget checks every exported user is in the target with its old
// identity, groups, memberships and disabled state.
func (m *migrationSetup) verifyTarget(t *testing.T, env *testenv.Env, wantStatus types.UserStatusType) {
	t.Helper()
	ctx := context.Background()
	byPrev := map[string]types.UserType{}
	p := cip.NewListUsersPaginator(env.Cognito, &cip.ListUsersInput{UserPoolId: &m.target})
	for p.HasMorePages() {
		out, err := p.NextPage(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for _, u := range out.Users {
			for _, a := range u.Attributes {
				if *a.Name == "custom:prev_username" {
					byPrev[*a.Value] = u
				}
			}
		}
	}
	if int64(len(byPrev)) != m.exported {
		t.Errorf("target holds %d migrated users, want %d", len(byPrev), m.exported)
	}
	// Every attribute the target's schema holds comes over as it was.
	desc, err := env.Cognito.DescribeUserPool(ctx, &cip.DescribeUserPoolInput{UserPoolId: &m.target})
	if err != nil {
		t.Fatal(err)
	}
	inSchema := map[string]bool{}
	for _, a := range desc.UserPool.SchemaAttributes {
		inSchema[aws.ToString(a.Name)] = true
	}
	// Every group's members, a few pages each (the target may hold groups
	// the backup has not: all of them are read), rather than one
	// AdminListGroupsForUser a user under the account's quota.
	groupsOf := map[string][]string{} // target username -> its groups
	gp := cip.NewListGroupsPaginator(env.Cognito, &cip.ListGroupsInput{UserPoolId: &m.target})
	for gp.HasMorePages() {
		out, err := gp.NextPage(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for _, g := range out.Groups {
			mp := cip.NewListUsersInGroupPaginator(env.Cognito, &cip.ListUsersInGroupInput{UserPoolId: &m.target, GroupName: g.GroupName})
			for mp.HasMorePages() {
				page, err := mp.NextPage(ctx)
				if err != nil {
					t.Fatal(err)
				}
				for _, member := range page.Users {
					groupsOf[aws.ToString(member.Username)] = append(groupsOf[aws.ToString(member.Username)], aws.ToString(g.GroupName))
				}
			}
		}
	}
	disabled := m.sp.disabled()
	for _, su := range m.sp.users {
		u, ok := byPrev[su.Username]
		if m.rejected[su.Username] {
			if ok {
				t.Errorf("rejected user %s is in the target", su.Username)
			}
			continue
		}
		if !ok {
			t.Errorf("user %s missing from the target", su.Username)
			continue
		}
		if u.Enabled == disabled[su.Username] {
			t.Errorf("%s: enabled %v in the target", su.Username, u.Enabled)
		}
		if u.UserStatus != wantStatus {
			t.Errorf("%s: status %s, want %s", su.Username, u.UserStatus, wantStatus)
		}
		got := map[string]string{}
		for _, a := range u.Attributes {
			got[aws.ToString(a.Name)] = aws.ToString(a.Value)
		}
		for name, want := range su.Attrs {
			if !inSchema[name] {
				continue
			}
			if contact := strings.TrimSuffix(name, "_verified"); m.viaTrigger[su.Username] && (contact == "email" || contact == "phone_number") && su.Attrs[contact+"_verified"] != "true" {
				want = ""
			}
			if got[name] != want {
				t.Errorf("%s: %s is %q in the target, want %q", su.Username, name, got[name], want)
			}
		}
		names := groupsOf[aws.ToString(u.Username)]
		delete(groupsOf, aws.ToString(u.Username))
		if strings.Join(sortedCopy(names), ",") != strings.Join(sortedCopy(su.Groups), ",") {
			t.Errorf("%s: groups %v, want %v", su.Username, names, su.Groups)
		}
	}
	for name, groups := range groupsOf {
		t.Errorf("%s, not a migrated user, is in the target's groups %v", name, groups)
	}
	g, err := env.Cognito.GetGroup(ctx, &cip.GetGroupInput{UserPoolId: &m.target, GroupName: aws.String("Admin")})
	if err != nil || aws.ToString(g.Group.Description) != "Admins, all of them" || aws.ToInt32(g.Group.Precedence) != 1 || aws.ToString(g.Group.RoleArn) == "" {
		t.Errorf("group Admin: %+v %v", g, err)
	}
}

func TestImportJobMethod(t *testing.T) {
	t.Parallel() // own pools, tables and folders
	env := testenv.Require(t)
	m := setupExport(t, env, emailSignInPool(), "--on-duplicate", "keep-newest", "--on-unverified", "skip", "--skip", "INVALID_PHONE,INVALID_USERNAME")

	role := env.ImportRole(t)
	// A dry run writes nothing.
	dry, err := m.runImport(t, "--role-arn", role, "--dry-run")
	if err != nil || !dry.DryRun {
		t.Fatalf("dry run: %+v %v", dry, err)
	}
	if out, _ := env.Cognito.ListUsers(context.Background(), &cip.ListUsersInput{UserPoolId: &m.target}); len(out.Users) != 0 {
		t.Fatalf("the dry run created %d users", len(out.Users))
	}
	// Without --yes and without an answer, nothing happens.
	_, _, err = runApp(t, m.dir, nil, "import", "--backup", m.backup, "--target-pool", m.target, "--csv", m.csv, "--role-arn", role)
	if err == nil || !strings.Contains(err.Error(), "--yes") {
		t.Fatalf("import without confirmation: %v", err)
	}

	// --create-role makes the documented role (the shim's IAM checks its
	// trust and permissions when the job starts).
	roleName := "pm-import-" + testenv.RandomSuffix()
	res, err := m.runImport(t, "--create-role", "--role-name", roleName, "--role-wait", "0")
	if err != nil {
		t.Fatalf("import: %v (%+v)", err, res)
	}
	memberships, disabled := m.expected()
	if res.Imported != m.exported || res.Failed != 0 || res.GroupsCreated != 3 || res.MembershipsAdded != memberships || res.UsersDisabled != disabled {
		t.Errorf("import: %+v, want %d imported, 3 groups, %d memberships, %d disabled", res, m.exported, memberships, disabled)
	}
	m.verifyTarget(t, env, types.UserStatusTypeResetRequired)

	// The role exists now and is reused.
	again, err := m.runImport(t, "--create-role", "--role-name", roleName, "--role-wait", "0")
	if err != nil || again.Imported != 0 || again.Skipped != m.exported || again.GroupsCreated != 0 || again.MembershipsAdded != 0 || again.UsersDisabled != 0 {
		t.Errorf("re-run changed something: %+v %v", again, err)
	}
}

func TestImportAdminMethod(t *testing.T) {
	t.Parallel() // own pools, tables and folders
	env := testenv.Require(t)
	m := setupExport(t, env, testenv.PoolOptions{
		AliasAttributes: []types.AliasAttributeType{types.AliasAttributeTypePreferredUsername},
		AutoVerified:    []types.VerifiedAttributeType{types.VerifiedAttributeTypeEmail},
	}, "--on-unverified", "skip", "--skip", "INVALID_PHONE")

	res, err := m.runImport(t, "--method", "admin")
	if err != nil {
		t.Fatalf("import: %v (%+v)", err, res)
	}
	memberships, disabled := m.expected()
	if res.Imported != m.exported || res.Failed != 0 || res.GroupsCreated != 3 || res.MembershipsAdded != memberships || res.UsersDisabled != disabled {
		t.Errorf("import: %+v, want %d imported, %d memberships, %d disabled", res, m.exported, memberships, disabled)
	}
	// CONFIRMED with a password nobody knows: the forgot-password flow works
	// for them, which it does not for FORCE_CHANGE_PASSWORD users.
	m.verifyTarget(t, env, types.UserStatusTypeConfirmed)

	again, err := m.runImport(t, "--method", "admin")
	if err != nil || again.Imported != 0 || again.Skipped != m.exported || again.MembershipsAdded != 0 || again.UsersDisabled != 0 || again.GroupsCreated != 0 {
		t.Errorf("re-run changed something: %+v %v", again, err)
	}
}

func TestImportFailures(t *testing.T) {
	t.Parallel() // own pools, tables and folders
	env := testenv.Require(t)
	m := setupExport(t, env, emailSignInPool(), "--on-duplicate", "keep-oldest", "--on-unverified", "skip", "--skip", "INVALID_PHONE,INVALID_USERNAME")

	// A role Cognito cannot assume fails the job before any user: a clear
	// message naming the role, and nothing imported. One that does not
	// exist, and one that exists but trusts Lambda instead of Cognito.
	lambdaRole := testenv.CreateRole(t, env.IAM(), "lambda-only-"+testenv.RandomSuffix(), testenv.LambdaTrust, "")
	for _, bad := range []string{"arn:aws:iam::123456789012:role/never-created", lambdaRole} {
		res, err := m.runImport(t, "--role-arn", bad)
		if err == nil || !strings.Contains(err.Error(), bad) || ExitCode(err) == 0 {
			t.Fatalf("role %s: %v", bad, err)
		}
		if res.Imported != 0 {
			t.Errorf("role %s: imported %d users", bad, res.Imported)
		}
	}
	role := env.ImportRole(t)

	// A row the job rejects: the user is reported with the job's log line,
	// the others are imported, and the exit code says so.
	csv := filepath.Join(m.csv, "users-001.csv")
	data, _ := os.ReadFile(csv)
	lines := strings.Split(string(data), "\n")
	lines[5] = strings.Replace(lines[5], ",true,", ",false,", 1) // email_verified
	if err := os.WriteFile(csv, []byte(strings.Join(lines, "\n")), 0o600); err != nil {
		t.Fatal(err)
	}
	res, err := m.runImport(t, "--role-arn", role)
	if ExitCode(err) != 1 || res.Failed != 1 || res.Imported != m.exported-1 {
		t.Fatalf("failed line: %+v, %v", res, err)
	}
	// The reason comes from the job's CloudWatch Logs stream.
	if r := res.FailedUsers[0].Reason; !strings.Contains(r, "line 5") || !strings.Contains(r, "FAILED: The User Record does not set any of the auto verified attributes") {
		t.Errorf("failed user's reason: %q", r)
	}

	// Fixed and run again: the one user comes in, nobody else is touched.
	lines[5] = strings.Replace(lines[5], ",false,", ",true,", 1)
	if err := os.WriteFile(csv, []byte(strings.Join(lines, "\n")), 0o600); err != nil {
		t.Fatal(err)
	}
	res, err = m.runImport(t, "--role-arn", role)
	if err != nil || res.Imported != 1 || res.Skipped != m.exported-1 {
		t.Errorf("after the fix: %+v %v", res, err)
	}
	m.verifyTarget(t, env, types.UserStatusTypeResetRequired)
}
