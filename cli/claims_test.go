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

	"github.com/poolmigrate/poolmigrate/cognito"
	"github.com/poolmigrate/poolmigrate/testbed/testenv"
)

// claimBed is a migration window: the old pool's admin (group Admin),
// w1 (group Editors) and w2, each owning a note; a backup; a new pool
// that signs in by e-mail, into which w1 and w2 came as the import
// brings users.
type claimBed struct {
	env         *testenv.Env
	dir         string
	old, target string
	backup      string
	note        string
	subs        map[string]string // old username -> old sub
	// label names the new pool's users by what the test created them as
	// (a pool that signs in by e-mail makes their usernames UUIDs).
	label map[string]string
}

func newClaimBed(t *testing.T, target testenv.PoolOptions) *claimBed {
	t.Helper()
	env := testenv.Require(t)
	ctx := context.Background()
	b := &claimBed{env: env, subs: map[string]string{}, label: map[string]string{}}
	b.old = env.NewPool(t, testenv.PoolOptions{AutoVerified: []ctypes.VerifiedAttributeType{ctypes.VerifiedAttributeTypeEmail}})
	var seed []testenv.SeedUser
	for _, name := range []string{"admin", "w1", "w2"} {
		u := testenv.SeedUser{Username: name, Attrs: map[string]string{"email": name + "@example.com", "email_verified": "true"}}
		switch name {
		case "admin":
			u.Groups = []string{"Admin"}
		case "w1", "w2":
			u.Groups = []string{"Editors"}
		}
		seed = append(seed, u)
	}
	env.Seed(t, b.old, []testenv.SeedGroup{{Name: "Admin", Precedence: aws.Int32(1)}, {Name: "Editors"}}, seed)
	for _, u := range must2[*cip.ListUsersOutput](t)(env.Local.ListUsers(ctx, &cip.ListUsersInput{UserPoolId: &b.old})).Users {
		for _, a := range u.Attributes {
			if *a.Name == "sub" {
				b.subs[*u.Username] = *a.Value
			}
		}
	}
	b.dir = copyProject(t, "../examples/notes-app")
	apiID := deployedNotesApp(t, env, b.dir, b.old, "clm")
	b.note = "Note-" + apiID + "-dev"
	for name, sub := range b.subs {
		if _, err := env.Dynamo.PutItem(ctx, &dynamodb.PutItemInput{TableName: &b.note, Item: map[string]dtypes.AttributeValue{
			"id": &dtypes.AttributeValueMemberS{Value: "n-" + name}, "owner": &dtypes.AttributeValueMemberS{Value: sub + "::" + name}}}); err != nil {
			t.Fatal(err)
		}
	}
	b.backup = filepath.Join(t.TempDir(), "old.jsonl")
	if _, stderr, err := runApp(t, b.dir, nil, "backup", "--pool", b.old, "--out", b.backup); err != nil {
		t.Fatalf("backup: %v\n%s", err, stderr)
	}
	b.target = env.NewPool(t, target)
	return b
}

// add creates a user in the new pool as AdminCreateUser would for the
// import, or for an attacker whose app client may write custom:prev_*:
// attrs name, value, ...
func (b *claimBed) add(t *testing.T, username string, attrs ...string) {
	t.Helper()
	var list []ctypes.AttributeType
	for i := 0; i+1 < len(attrs); i += 2 {
		list = append(list, ctypes.AttributeType{Name: aws.String(attrs[i]), Value: aws.String(attrs[i+1])})
	}
	out, err := b.env.Local.AdminCreateUser(context.Background(), &cip.AdminCreateUserInput{UserPoolId: &b.target, Username: aws.String(username),
		MessageAction: ctypes.MessageActionTypeSuppress, UserAttributes: list})
	if err != nil {
		t.Fatalf("create %s: %v", username, err)
	}
	b.label[*out.User.Username] = username
}

// name is the label of a new-pool username.
func (b *claimBed) name(username string) string {
	if l, ok := b.label[username]; ok {
		return l
	}
	return username
}

// claim is the old-identity attributes naming old user name (by the sub
// of old user bySub).
func (b *claimBed) claim(bySub, name string) []string {
	return []string{cognito.PrevSubAttr, b.subs[bySub], cognito.PrevUsernameAttr, name}
}

func (b *claimBed) run(t *testing.T, args ...string) (string, string, error) {
	t.Helper()
	return runApp(t, b.dir, nil, append(args, "--backup", b.backup, "--target-pool", b.target)...)
}

// owner is a note's owner field, read from DynamoDB.
func (b *claimBed) owner(t *testing.T, name string) string {
	t.Helper()
	out := must2[*dynamodb.GetItemOutput](t)(b.env.Dynamo.GetItem(context.Background(), &dynamodb.GetItemInput{TableName: &b.note,
		Key: map[string]dtypes.AttributeValue{"id": &dtypes.AttributeValueMemberS{Value: "n-" + name}}}))
	return out.Item["owner"].(*dtypes.AttributeValueMemberS).Value
}

// members lists a group of the new pool, asking Cognito.
func (b *claimBed) members(t *testing.T, group string) string {
	t.Helper()
	out, err := b.env.Local.ListUsersInGroup(context.Background(), &cip.ListUsersInGroupInput{UserPoolId: &b.target, GroupName: &group})
	if err != nil {
		return "" // the group was never created
	}
	var names []string
	for _, u := range out.Users {
		names = append(names, b.name(*u.Username))
	}
	sort.Strings(names)
	return strings.Join(names, ",")
}

func (b *claimBed) newSub(t *testing.T, username string) string {
	t.Helper()
	for _, a := range must2[*cip.AdminGetUserOutput](t)(b.env.Local.AdminGetUser(context.Background(), &cip.AdminGetUserInput{UserPoolId: &b.target, Username: &username})).UserAttributes {
		if *a.Name == "sub" {
			return *a.Value
		}
	}
	t.Fatalf("%s has no sub", username)
	return ""
}

// claimsOutput is what sync, remap and verify say in --json about
// claims, read as the JSON contract (refusedClaims, with stable codes).
type claimsOutput struct {
	Migrated      int            `json:"migrated"`
	OK            bool           `json:"ok"`
	RefusedClaims []refusedClaim `json:"refusedClaims"`
}

type refusedClaim struct {
	Username, Code, Reason string
}

// refusals maps each refused user (by label) to its code.
func (b *claimBed) refusals(list []refusedClaim) map[string]string {
	out := map[string]string{}
	for _, r := range list {
		out[b.name(r.Username)] = r.Code
	}
	return out
}

// username is the new-pool username of the user created as label.
func (b *claimBed) username(label string) string {
	for u, l := range b.label {
		if l == label {
			return u
		}
	}
	return label
}

// TestForgedClaimsGainNothing: users planted in the new pool that claim
// the admin's old identity (as anyone can whose app client may write
// custom:prev_*) get none of the admin's groups from sync, none of the
// admin's items from sync or remap, are not counted as the admin by
// verify, and do not let retire-old-pool delete the pool with the admin
// in it. Each is named with its code; sync and remap exit 1. The users
// the import brought over are synced as before.
func TestForgedClaimsGainNothing(t *testing.T) {
	b := newClaimBed(t, testenv.PoolOptions{UsernameAttributes: []ctypes.UsernameAttributeType{ctypes.UsernameAttributeTypeEmail},
		AutoVerified: []ctypes.VerifiedAttributeType{ctypes.VerifiedAttributeTypeEmail}, Custom: []string{"prev_sub_id", "prev_username"}})
	for _, name := range []string{"w1", "w2"} { // as the import brings them
		b.add(t, name+"@example.com", append([]string{"email", name + "@example.com", "email_verified", "true"}, b.claim(name, name)...)...)
	}
	// The admin has not migrated yet. Three attackers claim to be them.
	b.add(t, "mallory@example.com", append([]string{"email", "mallory@example.com", "email_verified", "true"}, b.claim("admin", "admin")...)...)
	b.add(t, "admin@example.com", append([]string{"email", "admin@example.com", "email_verified", "false"}, b.claim("admin", "admin")...)...)
	b.add(t, "trudy@example.com", append([]string{"email", "trudy@example.com", "email_verified", "true"}, b.claim("admin", "w1")...)...)
	wantRefused := map[string]string{"mallory@example.com": "CLAIM_SIGN_IN_MISMATCH", "admin@example.com": "CLAIM_SIGN_IN_MISMATCH", "trudy@example.com": "CLAIM_USERNAME_MISMATCH"}
	adminNote := b.subs["admin"] + "::admin"

	out, stderr, err := b.run(t, "sync", "--yes", "--json")
	if err == nil {
		t.Errorf("sync exited 0 with forged claims in the new pool")
	}
	var sum claimsOutput
	if jerr := json.Unmarshal([]byte(out), &sum); jerr != nil {
		t.Fatalf("sync --json: %v\n%s%s", jerr, out, stderr)
	}
	if got := b.refusals(sum.RefusedClaims); fmt.Sprint(got) != fmt.Sprint(wantRefused) {
		t.Errorf("sync refused %v, want %v", got, wantRefused)
	}
	for name := range wantRefused {
		if !strings.Contains(stderr, b.username(name)) {
			t.Errorf("sync's output does not name %s (%s):\n%s", name, b.username(name), stderr)
		}
	}
	if got := b.members(t, "Admin"); got != "" {
		t.Errorf("after sync the Admin group holds %q, want nobody", got)
	}
	if got := b.members(t, "Editors"); got != "w1@example.com,w2@example.com" {
		t.Errorf("Editors %q: the imported users lost their group", got)
	}
	if got := b.owner(t, "admin"); got != adminNote {
		t.Errorf("sync gave the admin's note to %q", got)
	}
	if got, want := b.owner(t, "w1"), b.newSub(t, b.username("w1@example.com"))+"::"+b.username("w1@example.com"); got != want {
		t.Errorf("w1's note %q, want %q", got, want)
	}
	if sum.Migrated != 2 {
		t.Errorf("sync counts %d migrated, want 2", sum.Migrated)
	}

	out, _, err = b.run(t, "remap", "--yes", "--json")
	if err == nil || b.owner(t, "admin") != adminNote {
		t.Errorf("remap: exit %v, the admin's note %q\n%s", err, b.owner(t, "admin"), out)
	}

	out, _, err = b.run(t, "verify", "--json")
	var rep claimsOutput
	if err == nil || json.Unmarshal([]byte(out), &rep) != nil || rep.OK || fmt.Sprint(b.refusals(rep.RefusedClaims)) != fmt.Sprint(wantRefused) {
		t.Errorf("verify passed or did not name the claims: %v\n%s", err, out)
	}
	out, _, err = b.run(t, "verify", "--progress", "--json")
	var p Progress
	if err != nil || json.Unmarshal([]byte(out), &p) != nil || p.Migrated != 2 || p.Remaining != 1 {
		t.Errorf("verify --progress counts the admin as migrated: %v %s", err, out)
	}

	out, stderr, err = b.run(t, "retire-old-pool", "--old-pool", b.old, "--accept-unmigrated", "0", "--confirm-unmigrated", "0", "--confirm-pool-id", b.old)
	if err == nil {
		t.Errorf("retire-old-pool deleted the pool with the admin only claimed\n%s%s", out, stderr)
	}
	if _, derr := b.env.Local.DescribeUserPool(context.Background(), &cip.DescribeUserPoolInput{UserPoolId: &b.old}); derr != nil {
		t.Errorf("the old pool is gone, with the admin in it: %v", derr)
	}
}

// TestContestedClaimGainsNothing: in a pool that signs in by username, w2
// came over by the import and someone else, holding w2's address
// verified, claims w2 too. Nobody can tell which is w2: neither gets
// w2's group or note, sync names both and exits 1.
func TestContestedClaimGainsNothing(t *testing.T) {
	b := newClaimBed(t, testenv.PoolOptions{AutoVerified: []ctypes.VerifiedAttributeType{ctypes.VerifiedAttributeTypeEmail}, Custom: []string{"prev_sub_id", "prev_username"}})
	b.add(t, "w1", append([]string{"email", "w1@example.com", "email_verified", "true"}, b.claim("w1", "w1")...)...)
	b.add(t, "w2", append([]string{"email", "w2@example.com", "email_verified", "true"}, b.claim("w2", "w2")...)...)
	b.add(t, "eve", append([]string{"email", "w2@example.com", "email_verified", "true"}, b.claim("w2", "w2")...)...)
	out, stderr, err := b.run(t, "sync", "--yes", "--json")
	if err == nil {
		t.Errorf("sync exited 0 with w2 claimed twice")
	}
	var sum claimsOutput
	if jerr := json.Unmarshal([]byte(out), &sum); jerr != nil {
		t.Fatalf("sync --json: %v\n%s%s", jerr, out, stderr)
	}
	want := map[string]string{"w2": "CLAIM_CONTESTED", "eve": "CLAIM_CONTESTED"}
	if got := b.refusals(sum.RefusedClaims); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("refused %v, want %v", got, want)
	}
	for _, r := range sum.RefusedClaims {
		if !strings.Contains(r.Reason, "w2, eve") && !strings.Contains(r.Reason, "eve, w2") || b.name(r.Username) != r.Username {
			t.Errorf("%s's refusal does not name both claimants: %s", r.Username, r.Reason)
		}
	}
	if got := b.members(t, "Editors"); got != "w1" {
		t.Errorf("Editors %q, want only w1", got)
	}
	if got := b.owner(t, "w2"); got != b.subs["w2"]+"::w2" {
		t.Errorf("w2's note went to %q", got)
	}
}

// TestCheckReportsWhoMayWriteClaims: check --fix adds the old-identity
// attributes immutable; check names a pool where they are mutable, and
// every app client that may write them, an empty WriteAttributes (all)
// included, and not a client whose list leaves them out.
func TestCheckReportsWhoMayWriteClaims(t *testing.T) {
	env := testenv.Require(t)
	ctx := context.Background()
	old := env.NewPool(t, testenv.PoolOptions{AutoVerified: []ctypes.VerifiedAttributeType{ctypes.VerifiedAttributeTypeEmail}})
	env.Seed(t, old, nil, []testenv.SeedUser{{Username: "u1", Attrs: map[string]string{"email": "u1@example.com", "email_verified": "true"}}})
	dir := t.TempDir()
	backup := filepath.Join(dir, "old.jsonl")
	if _, stderr, err := runApp(t, dir, nil, "backup", "--pool", old, "--out", backup); err != nil {
		t.Fatalf("backup: %v\n%s", err, stderr)
	}
	check := func(pool string, extra ...string) cognito.Report {
		t.Helper()
		out, stderr, _ := runApp(t, dir, nil, append([]string{"check", "--json", "--backup", backup, "--target-pool", pool}, extra...)...)
		var r cognito.Report
		if err := json.Unmarshal([]byte(out), &r); err != nil {
			t.Fatalf("check --json: %v\n%s%s", err, out, stderr)
		}
		return r
	}
	problem := func(r cognito.Report, code string) *cognito.Problem {
		for i := range r.Problems {
			if r.Problems[i].Code == code {
				return &r.Problems[i]
			}
		}
		return nil
	}

	fresh := env.NewPool(t, testenv.PoolOptions{AutoVerified: []ctypes.VerifiedAttributeType{ctypes.VerifiedAttributeTypeEmail}})
	if r := check(fresh, "--fix"); problem(r, "PREV_ATTRIBUTES_MUTABLE") != nil {
		t.Errorf("check --fix made the attributes mutable: %+v", r.Problems)
	}
	for _, a := range must2[*cip.DescribeUserPoolOutput](t)(env.Local.DescribeUserPool(ctx, &cip.DescribeUserPoolInput{UserPoolId: &fresh})).UserPool.SchemaAttributes {
		if strings.HasPrefix(*a.Name, "custom:prev_") && (a.Mutable == nil || *a.Mutable) {
			t.Errorf("check --fix added %s mutable", *a.Name)
		}
	}

	older := env.NewPool(t, testenv.PoolOptions{AutoVerified: []ctypes.VerifiedAttributeType{ctypes.VerifiedAttributeTypeEmail}, Custom: []string{"prev_sub_id", "prev_username"}})
	all := must2[*cip.CreateUserPoolClientOutput](t)(env.Cognito.CreateUserPoolClient(ctx, &cip.CreateUserPoolClientInput{UserPoolId: &older, ClientName: aws.String("web")}))
	must2[*cip.CreateUserPoolClientOutput](t)(env.Cognito.CreateUserPoolClient(ctx, &cip.CreateUserPoolClientInput{UserPoolId: &older, ClientName: aws.String("safe"),
		WriteAttributes: []string{"email", "name"}}))
	named := must2[*cip.CreateUserPoolClientOutput](t)(env.Cognito.CreateUserPoolClient(ctx, &cip.CreateUserPoolClientInput{UserPoolId: &older, ClientName: aws.String("named"),
		WriteAttributes: []string{"email", cognito.PrevSubAttr}}))
	r := check(older)
	if p := problem(r, "PREV_ATTRIBUTES_MUTABLE"); p == nil || !strings.Contains(p.Attribute, cognito.PrevSubAttr) {
		t.Errorf("check does not report the mutable attributes: %+v", r.Problems)
	}
	p := problem(r, "PREV_ATTRIBUTES_WRITABLE")
	if p == nil || p.Count != 2 || !strings.Contains(p.Message, *all.UserPoolClient.ClientId) || !strings.Contains(p.Message, *named.UserPoolClient.ClientId) || strings.Contains(p.Message, "safe") {
		t.Errorf("check names the writing clients as %+v, want web (empty WriteAttributes) and named, not safe", p)
	}
}
