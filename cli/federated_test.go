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
	cogtypes "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider/types"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/poolmigrate/poolmigrate/cognito"
	"github.com/poolmigrate/poolmigrate/federated"
	"github.com/poolmigrate/poolmigrate/testbed/testenv"
)

// fedFixture is an old pool whose users sign in with a password, with
// Google or Facebook, or both (carol, whose Google login the old pool had
// linked to her account), with groups, a disabled federated user, and
// notes owned by each.
type fedFixture struct {
	dir, apiID, old, backup string
	users                   []cognito.User // the backup's users
	subjects                map[string][2]string
}

var fedMapping = map[string]string{"email": "email", "name": "name"}

func setupFederated(t *testing.T, env *testenv.Env) *fedFixture {
	t.Helper()
	ctx := context.Background()
	f := &fedFixture{dir: copyProject(t, "../examples/notes-app"), apiID: "fd" + testenv.RandomSuffix(),
		subjects: map[string][2]string{"Google_1001": {"Google", "1001"}, "Google_1002": {"Google", "1002"}, "Facebook_2001": {"Facebook", "2001"}}}
	f.old = env.NewPool(t, testenv.PoolOptions{AutoVerified: []cogtypes.VerifiedAttributeType{cogtypes.VerifiedAttributeTypeEmail}})
	env.AddProvider(t, f.old, "Google", cogtypes.IdentityProviderTypeTypeGoogle, "google-app", fedMapping)
	env.AddProvider(t, f.old, "Facebook", cogtypes.IdentityProviderTypeTypeFacebook, "fb-app", fedMapping)
	env.Seed(t, f.old, []testenv.SeedGroup{{Name: "Admin", Precedence: aws.Int32(1)}, {Name: "Readers"}}, []testenv.SeedUser{
		{Username: "alice", Attrs: map[string]string{"email": "alice@example.com", "email_verified": "true"}, Groups: []string{"Readers"}},
		{Username: "carol", Attrs: map[string]string{"email": "carol@example.com", "email_verified": "true"}, Groups: []string{"Admin"}},
	})
	for name, subj := range f.subjects {
		email := strings.ToLower(name) + "@example.com"
		if _, err := testenv.SignInThroughProvider(ctx, f.old, subj[0], subj[1], map[string]string{"email": email, "name": "Person " + name}); err != nil {
			t.Fatalf("plant %s: %v", name, err)
		}
	}
	for _, g := range [][2]string{{"Admin", "Google_1001"}, {"Readers", "Google_1001"}, {"Readers", "Facebook_2001"}} {
		if _, err := env.Cognito.AdminAddUserToGroup(ctx, &cip.AdminAddUserToGroupInput{UserPoolId: &f.old, GroupName: aws.String(g[0]), Username: aws.String(g[1])}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := env.Cognito.AdminDisableUser(ctx, &cip.AdminDisableUserInput{UserPoolId: &f.old, Username: aws.String("Google_1002")}); err != nil {
		t.Fatal(err)
	}
	// carol: one person, two ways in.
	if _, err := env.Cognito.AdminLinkProviderForUser(ctx, &cip.AdminLinkProviderForUserInput{UserPoolId: &f.old,
		DestinationUser: &cogtypes.ProviderUserIdentifierType{ProviderName: aws.String("Cognito"), ProviderAttributeValue: aws.String("carol")},
		SourceUser:      &cogtypes.ProviderUserIdentifierType{ProviderName: aws.String("Google"), ProviderAttributeName: aws.String("Cognito_Subject"), ProviderAttributeValue: aws.String("1003")}}); err != nil {
		t.Fatal(err)
	}

	f.backup = filepath.Join(f.dir, "old.jsonl")
	if _, stderr, err := runApp(t, f.dir, nil, "backup", "--pool", f.old, "--out", f.backup); err != nil {
		t.Fatalf("backup: %v\n%s", err, stderr)
	}
	if _, _, err := cognito.ReadBackup(mustOpen(t, f.backup), cognito.BackupVisitor{User: func(u cognito.User) error { f.users = append(f.users, u); return nil }}); err != nil {
		t.Fatal(err)
	}
	sort.Slice(f.users, func(i, j int) bool { return f.users[i].Username < f.users[j].Username })
	if len(f.users) != 5 {
		t.Fatalf("backup holds %d users", len(f.users))
	}
	// The backup keeps each federated user's identities, and carol's link.
	for _, u := range f.users {
		if subj, ok := f.subjects[u.Username]; ok {
			if u.Status != "EXTERNAL_PROVIDER" || !strings.Contains(u.Attributes["identities"], `"userId":"`+subj[1]+`"`) {
				t.Errorf("backup of %s: %s %s", u.Username, u.Status, u.Attributes["identities"])
			}
		}
		if u.Username == "carol" && !strings.Contains(u.Attributes["identities"], `"userId":"1003"`) {
			t.Errorf("backup of carol: identities %q", u.Attributes["identities"])
		}
	}

	replaceInFile(t, filepath.Join(f.dir, "amplify/backend/amplify-meta.json"), "n0tesapi1d", f.apiID)
	notesTables(t, env, f.apiID)
	for i, u := range f.users {
		for j := 0; j < 3; j++ {
			if _, err := env.Dynamo.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String("Note-" + f.apiID + "-dev"), Item: map[string]types.AttributeValue{
				"id": s(fmt.Sprintf("note-%d-%d", i, j)), "owner": s(u.Sub + "::" + u.Username), "title": s("Note of " + u.Username)}}); err != nil {
				t.Fatal(err)
			}
		}
		if _, err := env.Dynamo.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String("Vehicle-" + f.apiID + "-dev"), Item: map[string]types.AttributeValue{
			"id": s(fmt.Sprintf("car%d", i)), "userID": s(u.Sub), "plate": s(fmt.Sprintf("P-%d", i))}}); err != nil {
			t.Fatal(err)
		}
	}
	return f
}

// newTarget makes the new pool with the same providers, checks it and
// exports for it.
func (f *fedFixture) newTarget(t *testing.T, env *testenv.Env, opts testenv.PoolOptions) (target, csv string) {
	t.Helper()
	target = env.NewPool(t, opts)
	env.AddProvider(t, target, "Google", cogtypes.IdentityProviderTypeTypeGoogle, "google-app", fedMapping)
	env.AddProvider(t, target, "Facebook", cogtypes.IdentityProviderTypeTypeFacebook, "fb-app", fedMapping)
	if _, _, err := runApp(t, f.dir, nil, "check", "--backup", f.backup, "--target-pool", target, "--fix"); ExitCode(err) > 1 {
		t.Fatalf("check --fix: %v", err)
	}
	csv = filepath.Join(f.dir, "csv-"+target)
	if _, stderr, err := runApp(t, f.dir, nil, "export", "--backup", f.backup, "--target-pool", target, "--out", csv, "--json"); err != nil {
		t.Fatalf("export: %v\n%s", err, stderr)
	}
	return target, csv
}

// expectMigrated checks the new pool holds every user of the backup with
// their old identity, groups, disabled state and links, that signing in
// through the provider lands on that user, and that remap and verify
// treat them as every other user.
func (f *fedFixture) expectMigrated(t *testing.T, env *testenv.Env, target string) {
	t.Helper()
	ctx := context.Background()
	byPrev := map[string]cogtypes.UserType{}
	p := cip.NewListUsersPaginator(env.Cognito, &cip.ListUsersInput{UserPoolId: &target})
	for p.HasMorePages() {
		out, err := p.NextPage(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for _, u := range out.Users {
			if prev := attrOf(u.Attributes, "custom:prev_sub_id"); prev != "" {
				byPrev[prev] = u
				continue
			}
			// A federated user, and carol (two ways in), carry no
			// custom:prev_* (Cognito links no login to a user with an
			// immutable attribute): the login Cognito linked to it names
			// the old user.
			for _, old := range f.users {
				if sharesLogin(t, old, u) {
					if _, dup := byPrev[old.Sub]; dup {
						t.Errorf("two users of the new pool hold %s's login", old.Username)
					}
					byPrev[old.Sub] = u
				}
			}
		}
	}
	oldGroups := map[string][]string{"alice": {"Readers"}, "carol": {"Admin"}, "Google_1001": {"Admin", "Readers"}, "Facebook_2001": {"Readers"}}
	for _, old := range f.users {
		u, ok := byPrev[old.Sub]
		if !ok {
			t.Errorf("%s is not in the new pool", old.Username)
			continue
		}
		if old.Attributes["identities"] == "" && attrOf(u.Attributes, "custom:prev_username") != old.Username {
			t.Errorf("%s: prev_username %q", old.Username, attrOf(u.Attributes, "custom:prev_username"))
		}
		if u.Enabled != old.Enabled {
			t.Errorf("%s: enabled %v in the new pool", old.Username, u.Enabled)
		}
		groups, err := env.Cognito.AdminListGroupsForUser(ctx, &cip.AdminListGroupsForUserInput{UserPoolId: &target, Username: u.Username})
		if err != nil {
			t.Fatal(err)
		}
		var names []string
		for _, g := range groups.Groups {
			names = append(names, *g.GroupName)
		}
		if strings.Join(sortedCopy(names), ",") != strings.Join(oldGroups[old.Username], ",") {
			t.Errorf("%s: groups %v, want %v", old.Username, names, oldGroups[old.Username])
		}
		subj, federated := f.subjects[old.Username]
		if old.Username == "carol" {
			// Both ways in: her password (she sets it, as every
			// imported user) and her Google login, linked to her.
			if u.UserStatus == cogtypes.UserStatusTypeExternalProvider {
				t.Errorf("carol is %s in the new pool", u.UserStatus)
			}
			subj, federated = [2]string{"Google", "1003"}, true
		}
		if !federated {
			continue
		}
		s, err := testenv.SignInThroughProvider(ctx, target, subj[0], subj[1], map[string]string{"email": "x@example.com"})
		if !old.Enabled {
			if err == nil || !strings.Contains(err.Error(), "disabled") {
				t.Errorf("%s is disabled, yet signed in through %s: %+v %v", old.Username, subj[0], s, err)
			}
			continue
		}
		if err != nil || s.Created || s.Sub != attrOf(u.Attributes, "sub") {
			t.Errorf("%s signing in through %s: %+v %v (want the user %s)", old.Username, subj[0], s, err, *u.Username)
		}
		if strings.Join(s.Groups, ",") != strings.Join(oldGroups[old.Username], ",") {
			t.Errorf("%s signed in with groups %v", old.Username, s.Groups)
		}
	}
	// A federated user's name typed into the password sign-in gets
	// nothing (there is no such user; the migrated one has no password
	// anyone knows).
	client, err := env.Cognito.CreateUserPoolClient(ctx, &cip.CreateUserPoolClientInput{UserPoolId: &target, ClientName: aws.String("app"),
		ExplicitAuthFlows: []cogtypes.ExplicitAuthFlowsType{cogtypes.ExplicitAuthFlowsTypeAllowAdminUserPasswordAuth}})
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"Google_1001", "google_1001@example.com"} {
		if out, err := env.Cognito.AdminInitiateAuth(ctx, &cip.AdminInitiateAuthInput{UserPoolId: &target, ClientId: client.UserPoolClient.ClientId, AuthFlow: cogtypes.AuthFlowTypeAdminUserPasswordAuth,
			AuthParameters: map[string]string{"USERNAME": name, "PASSWORD": "Guess-1234!"}}); err == nil {
			t.Errorf("password sign-in as %s: %+v", name, out)
		}
	}

	// remap and verify: every note names its owner's new sub.
	if out, stderr, err := runApp(t, f.dir, nil, "remap", "--backup", f.backup, "--target-pool", target, "--yes", "--json"); err != nil {
		t.Fatalf("remap: %v\n%s\n%s", err, out, stderr)
	}
	newOf := map[string]string{}
	for prev, u := range byPrev {
		newOf[prev] = attrOf(u.Attributes, "sub") + "::" + *u.Username
	}
	scan, err := env.Dynamo.Scan(ctx, &dynamodb.ScanInput{TableName: aws.String("Note-" + f.apiID + "-dev")})
	if err != nil {
		t.Fatal(err)
	}
	for _, old := range f.users {
		n := 0
		for _, it := range scan.Items {
			if it["title"].(*types.AttributeValueMemberS).Value == "Note of "+old.Username {
				n++
				if got := it["owner"].(*types.AttributeValueMemberS).Value; got != newOf[old.Sub] {
					t.Errorf("a note of %s names %s, want %s", old.Username, got, newOf[old.Sub])
				}
			}
		}
		if n != 3 {
			t.Errorf("%d notes of %s", n, old.Username)
		}
	}
	out, stderr, err := runApp(t, f.dir, nil, "verify", "--backup", f.backup, "--target-pool", target, "--strict", "--json")
	if err != nil || !strings.Contains(out, `"ok": true`) {
		t.Errorf("verify --strict: %v\n%s\n%s", err, out, stderr)
	}
}

// sharesLogin tells whether the new-pool user u holds a provider login
// the backup's user old had.
func sharesLogin(t *testing.T, old cognito.User, u cogtypes.UserType) bool {
	ids, err := federated.ParseIdentities(old.Attributes["identities"])
	if err != nil {
		t.Fatal(err)
	}
	have, err := federated.ParseIdentities(attrOf(u.Attributes, "identities"))
	if err != nil {
		t.Fatal(err)
	}
	for _, id := range ids {
		for _, h := range have {
			if h.Key() == id.Key() {
				return true
			}
		}
	}
	return false
}

func attrOf(attrs []cogtypes.AttributeType, name string) string {
	for _, a := range attrs {
		if *a.Name == name {
			return *a.Value
		}
	}
	return ""
}

type fedImportJSON struct {
	Imported, Failed                                     int64
	FederatedCreated, IdentitiesLinked, FederatedAdopted int64
	FailedUsers                                          []cognito.FailedUser
	LoginsNotLinked                                      []cognito.FailedUser
	Preview                                              struct {
		Federated        int
		MissingProviders []string
	}
}

func (f *fedFixture) runImport(t *testing.T, target, csv string, args ...string) (fedImportJSON, string, error) {
	t.Helper()
	base := []string{"import", "--backup", f.backup, "--target-pool", target, "--csv", csv, "--json", "--yes", "--rate-scale", "1000", "--poll", "50ms"}
	out, stderr, err := runApp(t, f.dir, nil, append(base, args...)...)
	var res fedImportJSON
	if out != "" {
		if derr := json.Unmarshal([]byte(out), &res); derr != nil {
			t.Fatalf("decode: %v\n%s\n%s", derr, out, stderr)
		}
	}
	return res, out + stderr, err
}

// Federated users keep their account, groups and data, with the import
// job: created ahead of their first sign-in in a new pool that signs in
// by e-mail, linked to their provider identity.
func TestFederatedUsersImportJob(t *testing.T) {
	t.Parallel() // own pools, tables and folders
	env := testenv.Require(t)
	f := setupFederated(t, env)
	target, csv := f.newTarget(t, env, emailSignInPool2())
	res, out, err := f.runImport(t, target, csv, "--role-arn", env.ImportRole(t))
	// carol (a password user with a linked Google login) comes over with
	// both ways in: without custom:prev_*, her Google login linked to her.
	if err != nil || res.FederatedCreated != 3 || res.IdentitiesLinked != 4 || res.Failed != 0 || res.Preview.Federated != 4 || len(res.LoginsNotLinked) != 0 {
		t.Fatalf("import: %v %+v\n%s", err, res, out)
	}
	f.expectMigrated(t, env, target)
	again, out, err := f.runImport(t, target, csv, "--role-arn", env.ImportRole(t))
	if err != nil || again.FederatedCreated != 0 || again.IdentitiesLinked != 0 || again.Failed != 0 {
		t.Errorf("import again: %v %+v\n%s", err, again, out)
	}
}

func emailSignInPool2() testenv.PoolOptions {
	return testenv.PoolOptions{
		UsernameAttributes: []cogtypes.UsernameAttributeType{cogtypes.UsernameAttributeTypeEmail},
		AutoVerified:       []cogtypes.VerifiedAttributeType{cogtypes.VerifiedAttributeTypeEmail},
	}
}

// With the admin method, and a federated user who signed in to the new
// pool before the import: Cognito made them a user then, which becomes
// theirs (no duplicate). A provider the new pool lacks is refused,
// naming it and the Amplify setting that adds it.
func TestFederatedUsersImportAdmin(t *testing.T) {
	t.Parallel() // own pools, tables and folders
	env := testenv.Require(t)
	ctx := context.Background()
	f := setupFederated(t, env)
	opts := testenv.PoolOptions{AutoVerified: []cogtypes.VerifiedAttributeType{cogtypes.VerifiedAttributeTypeEmail}}

	// No Facebook in this one.
	lacking := env.NewPool(t, opts)
	env.AddProvider(t, lacking, "Google", cogtypes.IdentityProviderTypeTypeGoogle, "google-app", map[string]string{"email": "email"})
	out, _, err := runApp(t, f.dir, nil, "check", "--backup", f.backup, "--target-pool", lacking, "--fix", "--json")
	if ExitCode(err) > 1 {
		t.Fatalf("check --fix: %v", err)
	}
	// check reports each provider: how many users, whether the new pool
	// has it under the same name, and how the mappings differ.
	var rep struct{ Providers []federated.ProviderCheck }
	if err := decodeInto(out, &rep); err != nil {
		t.Fatal(err)
	}
	if got := fmt.Sprintf("%+v", rep.Providers); len(rep.Providers) != 2 ||
		rep.Providers[0].Name != "Facebook" || rep.Providers[0].InNewPool || rep.Providers[0].Users != 1 || !strings.Contains(rep.Providers[0].Message, "externalProviders") ||
		rep.Providers[1].Name != "Google" || !rep.Providers[1].InNewPool || rep.Providers[1].Users != 3 || strings.Join(rep.Providers[1].MappingDifferences, ";") != "name: name → (none)" || rep.Providers[1].ClientIDDiffers {
		t.Errorf("check's providers: %s", got)
	}
	csv := filepath.Join(f.dir, "csv-lacking")
	if _, stderr, err := runApp(t, f.dir, nil, "export", "--backup", f.backup, "--target-pool", lacking, "--out", csv); err != nil {
		t.Fatalf("export: %v\n%s", err, stderr)
	}
	res, out, err := f.runImport(t, lacking, csv, "--method", "admin")
	if ExitCode(err) != 1 || len(res.FailedUsers) != 1 || res.FailedUsers[0].Username != "Facebook_2001" || !strings.Contains(res.FailedUsers[0].Reason, "no identity provider named Facebook") ||
		!strings.Contains(res.FailedUsers[0].Reason, "externalProviders") || strings.Join(res.Preview.MissingProviders, ",") != "Facebook" {
		t.Errorf("import to a pool without Facebook: %v %+v\n%s", err, res, out)
	}

	target, csv := f.newTarget(t, env, opts)
	early, err := testenv.SignInThroughProvider(ctx, target, "Facebook", "2001", map[string]string{"email": "facebook_2001@example.com"})
	if err != nil || !early.Created {
		t.Fatalf("early sign-in: %+v %v", early, err)
	}
	res, out, err = f.runImport(t, target, csv, "--method", "admin")
	if err != nil || res.FederatedCreated != 2 || res.FederatedAdopted != 1 || res.IdentitiesLinked != 3 || res.Failed != 0 || len(res.LoginsNotLinked) != 0 {
		t.Fatalf("import: %v %+v\n%s", err, res, out)
	}
	f.expectMigrated(t, env, target)
	again, err := testenv.SignInThroughProvider(ctx, target, "Facebook", "2001", nil)
	if err != nil || again.Sub != early.Sub {
		t.Errorf("the early user signs in as %+v %v, want sub %s", again, err, early.Sub)
	}
}

// Keep-passwords: federated users never reach the migration trigger.
// sync, which runs through the window, creates and links them ahead of
// their sign-in and maps their items, before any import.
func TestFederatedUsersSync(t *testing.T) {
	t.Parallel() // own pools, tables and folders
	env := testenv.Require(t)
	ctx := context.Background()
	f := setupFederated(t, env)
	target, _ := f.newTarget(t, env, emailSignInPool2())
	out, stderr, err := runApp(t, f.dir, nil, "sync", "--backup", f.backup, "--target-pool", target, "--yes", "--json")
	if err != nil {
		t.Fatalf("sync: %v\n%s\n%s", err, out, stderr)
	}
	var sum struct {
		Migrated  int
		Federated struct{ Created, Linked int64 }
	}
	if err := decodeInto(out, &sum); err != nil {
		t.Fatal(err)
	}
	// The three federated users; carol's Google login waits for carol.
	if sum.Migrated != 3 || sum.Federated.Created != 3 || sum.Federated.Linked != 3 || !strings.Contains(stderr, "carol") {
		t.Errorf("sync: %+v\n%s", sum, stderr)
	}
	s, err := testenv.SignInThroughProvider(ctx, target, "Google", "1001", nil)
	if err != nil || s.Created || strings.Join(s.Groups, ",") != "Admin,Readers" {
		t.Fatalf("Google 1001 after sync: %+v %v", s, err)
	}
	scan, err := env.Dynamo.Scan(ctx, &dynamodb.ScanInput{TableName: aws.String("Note-" + f.apiID + "-dev")})
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, it := range scan.Items {
		if it["title"].(*types.AttributeValueMemberS).Value == "Note of Google_1001" {
			n++
			if owner := it["owner"].(*types.AttributeValueMemberS).Value; !strings.HasPrefix(owner, s.Sub+"::") {
				t.Errorf("a note of Google_1001 names %s, want %s::…", owner, s.Sub)
			}
		}
	}
	if n != 3 {
		t.Errorf("%d notes of Google_1001", n)
	}
}
