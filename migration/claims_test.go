package migration

import (
	"context"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	cip "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider"
	"github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider/types"
	"golang.org/x/time/rate"

	"github.com/poolmigrate/poolmigrate/cognito"
)

// claimPool is a new pool signing in as told, listing its users in one page.
type claimPool struct {
	signIn        []types.UsernameAttributeType
	caseSensitive bool
	users         []types.UserType
}

func (p claimPool) DescribeUserPool(_ context.Context, in *cip.DescribeUserPoolInput, _ ...func(*cip.Options)) (*cip.DescribeUserPoolOutput, error) {
	return &cip.DescribeUserPoolOutput{UserPool: &types.UserPoolType{Id: in.UserPoolId, UsernameAttributes: p.signIn,
		UsernameConfiguration: &types.UsernameConfigurationType{CaseSensitive: aws.Bool(p.caseSensitive)}}}, nil
}

func (p claimPool) ListUsers(context.Context, *cip.ListUsersInput, ...func(*cip.Options)) (*cip.ListUsersOutput, error) {
	return &cip.ListUsersOutput{Users: p.users}, nil
}

func newUser(name, sub string, attrs ...string) types.UserType {
	u := types.UserType{Username: aws.String(name), Enabled: true, UserStatus: types.UserStatusTypeConfirmed,
		Attributes: []types.AttributeType{{Name: aws.String("sub"), Value: aws.String(sub)}}}
	for i := 0; i+1 < len(attrs); i += 2 {
		u.Attributes = append(u.Attributes, types.AttributeType{Name: aws.String(attrs[i]), Value: aws.String(attrs[i+1])})
	}
	return u
}

// The old pool's users, as the backup has them: admin and bob.
var (
	adminOld = asUUID("admin-old")
	bobOld   = asUUID("bob-old")
)

func claimBackup(t *testing.T) *claimIndex {
	idx, err := newClaimIndex("")
	if err != nil {
		t.Fatal(err)
	}
	for _, u := range []cognito.User{
		{Username: "admin", Sub: adminOld, Attributes: map[string]string{"email": "admin@example.com", "phone_number": "+15550000001"}},
		{Username: "bob", Sub: bobOld, Attributes: map[string]string{"email": "bob@example.com", "email_verified": "false"}},
	} {
		if err := idx.add(u); err != nil {
			t.Fatal(err)
		}
	}
	if err := idx.seal(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(idx.close)
	return idx
}

// TestClaimsAreCheckedAgainstTheBackup: a claim to an old identity is
// kept only when it agrees with the backup, as an attacker who can write
// custom:prev_* would try it, and what the import and the trigger make
// passes.
func TestClaimsAreCheckedAgainstTheBackup(t *testing.T) {
	email := []types.UsernameAttributeType{types.UsernameAttributeTypeEmail}
	phone := []types.UsernameAttributeType{types.UsernameAttributeTypePhoneNumber}
	claim := func(sub, name string) []string {
		return []string{cognito.PrevSubAttr, sub, cognito.PrevUsernameAttr, name}
	}
	with := func(a ...[]string) []string {
		var out []string
		for _, x := range a {
			out = append(out, x...)
		}
		return out
	}
	verifiedEmail := func(e string) []string { return []string{"email", e, "email_verified", "true"} }
	for _, c := range []struct {
		name          string
		signIn        []types.UsernameAttributeType
		caseSensitive bool
		user          types.UserType
		code          string
	}{
		{"imported, e-mail pool", email, false, newUser(asUUID("n1"), asUUID("n1"), with(verifiedEmail("admin@example.com"), claim(adminOld, "admin"))...), ""},
		{"e-mail compared without case", email, false, newUser(asUUID("n1"), asUUID("n1"), with(verifiedEmail("Admin@Example.com"), claim(adminOld, "admin"))...), ""},
		{"forged: own e-mail, admin's sub", email, false, newUser(asUUID("n2"), asUUID("n2"), with(verifiedEmail("mallory@example.com"), claim(adminOld, "admin"))...), ClaimSignInMismatch},
		{"forged: admin's e-mail, unverified", email, false, newUser(asUUID("n3"), asUUID("n3"), with([]string{"email", "admin@example.com", "email_verified", "false"}, claim(adminOld, "admin"))...), ClaimSignInMismatch},
		{"forged: admin's sub, another username", email, false, newUser(asUUID("n4"), asUUID("n4"), with(verifiedEmail("admin@example.com"), claim(adminOld, "mallory"))...), ClaimUsernameMismatch},
		{"forged: sub not in the backup", email, false, newUser(asUUID("n5"), asUUID("n5"), with(verifiedEmail("admin@example.com"), claim(asUUID("nobody"), "admin"))...), ClaimNotInBackup},
		{"e-mail pool: a verified phone is not its sign-in", email, false, newUser(asUUID("n6"), asUUID("n6"), with(verifiedEmail("m@example.com"), []string{"phone_number", "+15550000001", "phone_number_verified", "true"}, claim(adminOld, "admin"))...), ClaimSignInMismatch},
		{"phone pool, verified phone", phone, false, newUser(asUUID("n7"), asUUID("n7"), with([]string{"phone_number", "+15550000001", "phone_number_verified", "true"}, claim(adminOld, "admin"))...), ""},
		{"username pool keeps the username", nil, true, newUser("bob", asUUID("n8"), claim(bobOld, "bob")...), ""},
		{"username pool: another username", nil, true, newUser("bob2", asUUID("n9"), claim(bobOld, "bob")...), ClaimSignInMismatch},
		{"case-sensitive pool: Bob is not bob", nil, true, newUser("Bob", asUUID("n10"), claim(bobOld, "bob")...), ClaimSignInMismatch},
		{"case-insensitive pool: Bob is bob", nil, false, newUser("Bob", asUUID("n11"), claim(bobOld, "bob")...), ""},
		{"username pool named by sub, verified e-mail", nil, true, newUser(adminOld, asUUID("n12"), with(verifiedEmail("admin@example.com"), claim(adminOld, "admin"))...), ""},
		{"username pool named by sub, no verified contact", nil, true, newUser(adminOld, asUUID("n13"), claim(adminOld, "admin")...), ClaimSignInMismatch},
	} {
		t.Run(c.name, func(t *testing.T) {
			m, rep, err := listClaims(context.Background(), claimPool{signIn: c.signIn, caseSensitive: c.caseSensitive, users: []types.UserType{c.user}}, "p", claimBackup(t), rate.NewLimiter(rate.Inf, 1), "")
			if err != nil {
				t.Fatal(err)
			}
			defer m.Close()
			if c.code == "" {
				if m.Len() != 1 || rep.RefusedCount != 0 {
					t.Errorf("refused a claim that agrees: %+v", rep.Refused)
				}
				return
			}
			if m.Len() != 0 || rep.RefusedCount != 1 || rep.Refused[0].Code != c.code || rep.Refused[0].Username != *c.user.Username {
				t.Fatalf("kept %d; refusals %+v, want one %s", m.Len(), rep.Refused, c.code)
			}
			// The refusal names what the user claimed, not what the backup has.
			for _, a := range c.user.Attributes {
				if *a.Name == cognito.PrevUsernameAttr && rep.Refused[0].ClaimedUsername != *a.Value {
					t.Errorf("refusal names claimed username %q, the user claimed %q", rep.Refused[0].ClaimedUsername, *a.Value)
				}
			}
		})
	}
}

// TestContestedClaimIsKeptForNobody: two users that both agree with the
// backup's bob (the name and bob's verified address) claim him; neither
// is taken, and both are named, each with the other.
func TestContestedClaimIsKeptForNobody(t *testing.T) {
	verified := []string{"email", "bob@example.com", "email_verified", "true", cognito.PrevSubAttr, bobOld, cognito.PrevUsernameAttr, "bob"}
	users := []types.UserType{
		newUser("bob", asUUID("n1"), cognito.PrevSubAttr, bobOld, cognito.PrevUsernameAttr, "bob"),
		newUser("bob@example.com", asUUID("n2"), verified...),
		newUser("bob", asUUID("n1"), cognito.PrevSubAttr, bobOld, cognito.PrevUsernameAttr, "bob"), // listed twice
	}
	m, rep, err := listClaims(context.Background(), claimPool{caseSensitive: true, users: users}, "p", claimBackup(t), rate.NewLimiter(rate.Inf, 1), "")
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	if _, ok := m.Get(bobOld); ok || m.Len() != 0 {
		t.Errorf("a contested old user was kept for someone (%d kept)", m.Len())
	}
	if rep.RefusedCount != 2 {
		t.Fatalf("refusals %+v, want both claimants", rep.Refused)
	}
	for _, r := range rep.Refused {
		if r.Code != ClaimContested || r.ClaimedSub != bobOld || r.ClaimedUsername != "bob" || !strings.Contains(r.Reason, "bob, bob@example.com") {
			t.Errorf("refusal %+v", r)
		}
	}
}

// TestFederatedUsersAreNamedByTheirLogin: a federated user carries no
// custom:prev_* (Cognito links no login to a user with an immutable
// attribute); the login Cognito linked names the old user. Tried as an
// attacker would: logins of two old users on one account, a login that
// disagrees with custom:prev_sub_id, a password user's linked login.
func TestFederatedUsersAreNamedByTheirLogin(t *testing.T) {
	gwenOld, carolOld := asUUID("gwen-old"), asUUID("carol-old")
	idx, err := newClaimIndex("")
	if err != nil {
		t.Fatal(err)
	}
	login := func(provider, id string) string {
		return `[{"userId":"` + id + `","providerName":"` + provider + `","providerType":"` + provider + `","primary":true}]`
	}
	for _, u := range []cognito.User{
		{Username: "admin", Sub: adminOld, Status: "CONFIRMED", Attributes: map[string]string{"email": "admin@example.com", "email_verified": "true"}},
		{Username: "Google_1001", Sub: gwenOld, Status: "EXTERNAL_PROVIDER", Attributes: map[string]string{"identities": login("Google", "1001")}},
		// carol: a password user whose Google login the old pool had linked.
		{Username: "carol", Sub: carolOld, Status: "CONFIRMED", Attributes: map[string]string{"identities": login("Google", "1003")}},
	} {
		if err := idx.add(u); err != nil {
			t.Fatal(err)
		}
	}
	if err := idx.seal(); err != nil {
		t.Fatal(err)
	}
	defer idx.close()
	two := `[{"userId":"1001","providerName":"Google"},{"userId":"2002","providerName":"Facebook"}]`
	idx.logins["Facebook_2002"] = adminOld // as if admin had been a federated user too
	users := []types.UserType{
		newUser("gwen@example.com", asUUID("n-gwen"), "identities", login("Google", "1001")),
		newUser("Google_1003", asUUID("n-carol"), "identities", login("Google", "1003")),
		newUser("mallory", asUUID("n-mal"), "identities", two),
		newUser("eve", asUUID("n-eve"), "email", "admin@example.com", "email_verified", "true", cognito.PrevSubAttr, adminOld, cognito.PrevUsernameAttr, "admin", "identities", login("Facebook", "9999")),
	}
	m, rep, err := listClaims(context.Background(), claimPool{signIn: []types.UsernameAttributeType{types.UsernameAttributeTypeEmail}, users: users}, "p", idx, rate.NewLimiter(rate.Inf, 1), "")
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	if tu, ok := m.Get(gwenOld); !ok || tu.Username != "gwen@example.com" {
		t.Errorf("gwen, named by her linked login: %+v %v", tu, ok)
	}
	if tu, ok := m.Get(carolOld); ok {
		t.Errorf("a sign-in with carol's login took carol's place (she arrives by custom:prev_*): %+v", tu)
	}
	// eve's login is no old user's: her claim is judged as any other and
	// holds (verified admin e-mail); mallory's logins were two old users'.
	if _, ok := m.Get(adminOld); !ok {
		t.Error("eve's verified claim was not kept")
	}
	if rep.RefusedCount != 1 || rep.Refused[0].Username != "mallory" || rep.Refused[0].Code != ClaimLoginsDisagree {
		t.Errorf("refusals %+v, want mallory's", rep.Refused)
	}
	// A login that disagrees with custom:prev_sub_id is refused.
	users = []types.UserType{newUser("gwen@example.com", asUUID("n-gwen"), "email", "admin@example.com", "email_verified", "true",
		cognito.PrevSubAttr, adminOld, cognito.PrevUsernameAttr, "admin", "identities", login("Google", "1001"))}
	m2, rep, err := listClaims(context.Background(), claimPool{signIn: []types.UsernameAttributeType{types.UsernameAttributeTypeEmail}, users: users}, "p", idx, rate.NewLimiter(rate.Inf, 1), "")
	if err != nil {
		t.Fatal(err)
	}
	defer m2.Close()
	if m2.Len() != 0 || rep.RefusedCount != 1 || rep.Refused[0].Code != ClaimLoginsDisagree {
		t.Errorf("a login that disagrees with prev_sub_id: kept %d, refusals %+v", m2.Len(), rep.Refused)
	}
}
