package federated

import (
	"context"
	"fmt"
	"strings"
	"testing"

	cip "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider"
	"github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider/types"
	"github.com/aws/smithy-go"
	"golang.org/x/time/rate"

	"github.com/poolmigrate/poolmigrate/cognito"
)

// fakePool is a new pool as far as Import sees it: users by name, the
// providers it has, and every link asked for.
type fakePool struct {
	users     map[string]*types.UserType
	providers map[string]bool
	links     []string // "Provider_subject -> username"
	n         int
}

func newFakePool(providers ...string) *fakePool {
	p := &fakePool{users: map[string]*types.UserType{}, providers: map[string]bool{}}
	for _, n := range providers {
		p.providers[n] = true
	}
	return p
}

func apiErr(code string) error { return &smithy.GenericAPIError{Code: code, Message: code} }

func (p *fakePool) add(name string, status types.UserStatusType, attrs ...string) *types.UserType {
	p.n++
	u := &types.UserType{Username: ptr(name), UserStatus: status, Enabled: true}
	attrs = append([]string{"sub", fmt.Sprintf("00000000-0000-4000-8000-%012d", p.n)}, attrs...)
	for i := 0; i+1 < len(attrs); i += 2 {
		u.Attributes = append(u.Attributes, types.AttributeType{Name: ptr(attrs[i]), Value: ptr(attrs[i+1])})
	}
	p.users[name] = u
	return u
}

func (p *fakePool) DescribeIdentityProvider(_ context.Context, in *cip.DescribeIdentityProviderInput, _ ...func(*cip.Options)) (*cip.DescribeIdentityProviderOutput, error) {
	if !p.providers[*in.ProviderName] {
		return nil, apiErr("ResourceNotFoundException")
	}
	return &cip.DescribeIdentityProviderOutput{IdentityProvider: &types.IdentityProviderType{ProviderName: in.ProviderName}}, nil
}

func (p *fakePool) AdminGetUser(_ context.Context, in *cip.AdminGetUserInput, _ ...func(*cip.Options)) (*cip.AdminGetUserOutput, error) {
	u, ok := p.users[*in.Username]
	if !ok {
		return nil, apiErr("UserNotFoundException")
	}
	return &cip.AdminGetUserOutput{Username: u.Username, UserAttributes: u.Attributes, UserStatus: u.UserStatus, Enabled: u.Enabled}, nil
}

func (p *fakePool) AdminCreateUser(_ context.Context, in *cip.AdminCreateUserInput, _ ...func(*cip.Options)) (*cip.AdminCreateUserOutput, error) {
	if _, ok := p.users[*in.Username]; ok {
		return nil, apiErr("UsernameExistsException")
	}
	var attrs []string
	for _, a := range in.UserAttributes {
		attrs = append(attrs, *a.Name, *a.Value)
	}
	u := p.add(*in.Username, types.UserStatusTypeForceChangePassword, attrs...)
	return &cip.AdminCreateUserOutput{User: u}, nil
}

func (p *fakePool) AdminUpdateUserAttributes(_ context.Context, in *cip.AdminUpdateUserAttributesInput, _ ...func(*cip.Options)) (*cip.AdminUpdateUserAttributesOutput, error) {
	u := p.users[*in.Username]
	u.Attributes = append(u.Attributes, in.UserAttributes...)
	return &cip.AdminUpdateUserAttributesOutput{}, nil
}

func (p *fakePool) AdminLinkProviderForUser(_ context.Context, in *cip.AdminLinkProviderForUserInput, _ ...func(*cip.Options)) (*cip.AdminLinkProviderForUserOutput, error) {
	p.links = append(p.links, *in.SourceUser.ProviderName+"_"+*in.SourceUser.ProviderAttributeValue+" -> "+*in.DestinationUser.ProviderAttributeValue)
	return &cip.AdminLinkProviderForUserOutput{}, nil
}

func limits() cognito.Limits {
	l := rate.NewLimiter(rate.Inf, 1)
	return cognito.Limits{UserList: l, UserCreation: l, UserUpdate: l, Membership: l, GroupWrite: l}
}

func oldUser(sub, username, status string, attrs ...string) cognito.User {
	u := cognito.User{Sub: sub, Username: username, Status: status, Enabled: true, Attributes: map[string]string{"sub": sub}}
	for i := 0; i+1 < len(attrs); i += 2 {
		u.Attributes[attrs[i]] = attrs[i+1]
	}
	return u
}

func ident(provider, id string) string {
	return fmt.Sprintf(`[{"userId":%q,"providerName":%q,"providerType":%q,"issuer":null,"primary":true,"dateCreated":1}]`, id, provider, provider)
}

const (
	subA = "aaaaaaaa-0000-4000-8000-000000000001"
	subB = "bbbbbbbb-0000-4000-8000-000000000002"
)

// A federated user's identity must be the one its username names: a
// backup whose identities name another subject (altered, or not
// Cognito's) is refused for that user, and of several identities only
// the one named is linked.
func TestReadKeepsOnlyTheIdentityTheUsernameNames(t *testing.T) {
	for _, c := range []struct {
		name, username, identities, want, refused string
	}{
		{"its own", "Google_1001", ident("Google", "1001"), "Google_1001", ""},
		{"lower-case name", "google_1001", ident("Google", "1001"), "Google_1001", ""},
		{"another's subject", "Google_1001", ident("Google", "666"), "", "none of its identities"},
		{"another provider", "Google_1001", ident("Facebook", "1001"), "", "none of its identities"},
		{"two, one its own", "Google_1001", `[{"userId":"666","providerName":"Google"},{"userId":"1001","providerName":"Google"}]`, "Google_1001", ""},
		{"none", "Google_1001", "", "", "without identities"},
		{"not JSON", "Google_1001", "Google:1001", "", "not the JSON"},
	} {
		u, why := fromBackup(oldUser(subA, c.username, StatusExternal, "identities", c.identities), c.identities)
		switch {
		case c.refused != "" && !strings.Contains(why, c.refused):
			t.Errorf("%s: refused %q, want %q", c.name, why, c.refused)
		case c.refused == "" && (why != "" || len(u.Identities) != 1 || u.Identities[0].Key() != c.want):
			t.Errorf("%s: %+v %q, want %s", c.name, u.Identities, why, c.want)
		}
	}
}

func fedUsers(t *testing.T, olds ...cognito.User) []User {
	t.Helper()
	var out []User
	for _, o := range olds {
		u, why := fromBackup(o, o.Attributes[IdentitiesAttr])
		if why != "" {
			t.Fatal(why)
		}
		out = append(out, u)
	}
	return out
}

// Import links each subject to the user it made for the same old user,
// and nobody else: a new-pool account that claims a federated user's old
// identity (custom attributes an app client may write) is not linked to.
func TestImportLinksASubjectOnlyToItsOwnUser(t *testing.T) {
	ctx := context.Background()
	pool := newFakePool("Google", "Facebook")
	tg := cognito.Target{Pool: cognito.Pool{ID: "us-east-1_New", Attributes: []cognito.Attribute{{Name: "email"}, {Name: cognito.PrevSubAttr}, {Name: cognito.PrevUsernameAttr}}}}
	// mallory signed up to the new pool and wrote A's old identity into
	// her custom attributes.
	mallory := pool.add("mallory", types.UserStatusTypeConfirmed, "email", "mallory@example.com", "email_verified", "true", cognito.PrevSubAttr, subA, cognito.PrevUsernameAttr, "Google_1001")
	migrated := cognito.MigratedFromMap(map[string]cognito.TargetUser{subA: {Username: "mallory", Sub: attr(mallory.Attributes, "sub"), Enabled: true}})
	users := fedUsers(t,
		oldUser(subA, "Google_1001", StatusExternal, "email", "a@example.com", "identities", ident("Google", "1001")),
		oldUser(subB, "Facebook_2001", StatusExternal, "email", "b@example.com", "identities", ident("Facebook", "2001")))
	res, err := Import(ctx, pool, tg, users, migrated, limits())
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Failed) != 1 || res.Failed[0].Username != "Google_1001" || !strings.Contains(res.Failed[0].Reason, "not the one the import made") {
		t.Errorf("failed: %+v", res.Failed)
	}
	if strings.Join(pool.links, ";") != "Facebook_2001 -> "+subB {
		t.Errorf("links: %v", pool.links)
	}
	created := pool.users[subB]
	// Created without custom:prev_* (Cognito links no login to a user
	// holding an immutable attribute): the link is what names it.
	if created == nil || attr(created.Attributes, cognito.PrevSubAttr) != "" || attr(created.Attributes, cognito.PrevUsernameAttr) != "" || attr(created.Attributes, "email") != "b@example.com" {
		t.Errorf("created: %+v", created)
	}
}

// A provider the new pool lacks fails its users with the setting that
// adds it; nothing is created for them.
func TestImportRefusesAProviderTheNewPoolLacks(t *testing.T) {
	pool := newFakePool("Google")
	tg := cognito.Target{Pool: cognito.Pool{ID: "us-east-1_New"}}
	users := fedUsers(t, oldUser(subB, "Facebook_2001", StatusExternal, "identities", ident("Facebook", "2001")))
	res, err := Import(context.Background(), pool, tg, users, cognito.MigratedFromMap(nil), limits())
	if err != nil || len(res.Failed) != 1 || !strings.Contains(res.Failed[0].Reason, "no identity provider named Facebook") || !strings.Contains(res.Failed[0].Reason, "externalProviders") || len(pool.users) != 0 {
		t.Errorf("%+v %v; users %v", res, err, pool.users)
	}
}

// A user the new pool already holds through the provider (a sign-in
// before the import) is given the old identity, not duplicated; one
// whose identities are not that subject's is not.
func TestImportAdoptsAnEarlySignIn(t *testing.T) {
	pool := newFakePool("Google")
	tg := cognito.Target{Pool: cognito.Pool{ID: "us-east-1_New"}}
	pool.add("Google_1001", types.UserStatusTypeExternalProvider, "identities", ident("Google", "1001"))
	pool.add("Google_1002", types.UserStatusTypeExternalProvider, "identities", ident("Google", "9999"))
	users := fedUsers(t,
		oldUser(subA, "Google_1001", StatusExternal, "identities", ident("Google", "1001")),
		oldUser(subB, "Google_1002", StatusExternal, "identities", ident("Google", "1002")))
	res, err := Import(context.Background(), pool, tg, users, cognito.MigratedFromMap(nil), limits())
	if err != nil || res.Adopted != 1 || res.Created != 0 || len(res.Failed) != 1 || res.Failed[0].Username != "Google_1002" || len(pool.links) != 0 {
		t.Errorf("%+v %v; links %v", res, err, pool.links)
	}
	// Nothing is written to it: its login is what maps it.
	if got := attr(pool.users["Google_1001"].Attributes, cognito.PrevSubAttr); got != "" {
		t.Errorf("the early user carries %q", got)
	}
}
