package federated

import (
	"context"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider/types"

	"github.com/poolmigrate/poolmigrate/cognito"
)

// A password user the old pool had linked a Google login to (carol, with
// a verified e-mail) has her login linked only to the account that is
// hers by the backup: a password user without custom:prev_*, under a
// name the import or the trigger gives, holding her verified e-mail. An
// account under her name or old sub without that e-mail verified, one
// with a forged custom:prev_*, or Cognito's own user for another login
// gets nothing; the subject linked is always her own backup login.
func TestLoginOfALinkedPasswordUserGoesOnlyToHer(t *testing.T) {
	const carolSub = "cccccccc-0000-4000-8000-000000000003"
	carol := oldUser(carolSub, "carol", "CONFIRMED", "email", "carol@example.com", "email_verified", "true", "identities", ident("Google", "1003"))
	if !cognito.NamedByLogin(carol) {
		t.Fatal("carol is not named by her login")
	}
	tg := cognito.Target{Pool: cognito.Pool{ID: "us-east-1_New", Attributes: []cognito.Attribute{{Name: "email"}, {Name: cognito.PrevSubAttr}, {Name: cognito.PrevUsernameAttr}}}}
	cases := []struct {
		name       string
		plant      func(p *fakePool) *cognito.MigratedUsers
		wantLinked string
	}{
		{"her account", func(p *fakePool) *cognito.MigratedUsers {
			p.add("carol", types.UserStatusTypeConfirmed, "email", "carol@example.com", "email_verified", "true")
			return cognito.MigratedFromMap(nil)
		}, "Google_1003 -> carol"},
		{"her name, her e-mail unverified", func(p *fakePool) *cognito.MigratedUsers {
			p.add("carol", types.UserStatusTypeConfirmed, "email", "carol@example.com", "email_verified", "false")
			return cognito.MigratedFromMap(nil)
		}, ""},
		{"her name, another verified e-mail", func(p *fakePool) *cognito.MigratedUsers {
			p.add("carol", types.UserStatusTypeConfirmed, "email", "mallory@example.com", "email_verified", "true")
			return cognito.MigratedFromMap(nil)
		}, ""},
		{"her old sub as a username, another verified e-mail", func(p *fakePool) *cognito.MigratedUsers {
			p.add(carolSub, types.UserStatusTypeConfirmed, "email", "mallory@example.com", "email_verified", "true")
			return cognito.MigratedFromMap(nil)
		}, ""},
		{"another name with her verified e-mail", func(p *fakePool) *cognito.MigratedUsers {
			p.add("mallory", types.UserStatusTypeConfirmed, "email", "carol@example.com", "email_verified", "true")
			return cognito.MigratedFromMap(nil)
		}, ""},
		{"a forged custom:prev_*", func(p *fakePool) *cognito.MigratedUsers {
			u := p.add("carol", types.UserStatusTypeConfirmed, "email", "carol@example.com", "email_verified", "true", cognito.PrevSubAttr, carolSub, cognito.PrevUsernameAttr, "carol")
			return cognito.MigratedFromMap(map[string]cognito.TargetUser{carolSub: {Username: "carol", Sub: attr(u.Attributes, "sub"), Enabled: true}})
		}, ""},
		{"Cognito's user of another login, under her name", func(p *fakePool) *cognito.MigratedUsers {
			p.add("carol", types.UserStatusTypeExternalProvider, "email", "carol@example.com", "email_verified", "true", "identities", ident("Google", "6666"))
			return cognito.MigratedFromMap(nil)
		}, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			pool := newFakePool("Google")
			migrated := c.plant(pool)
			res, err := Import(context.Background(), pool, tg, fedUsers(t, carol), migrated, limits())
			if err != nil {
				t.Fatal(err)
			}
			if got := strings.Join(pool.links, ";"); got != c.wantLinked {
				t.Errorf("links %q, want %q", got, c.wantLinked)
			}
			if c.wantLinked == "" && (len(res.Failed) != 1 || res.Failed[0].Username != "carol") {
				t.Errorf("carol is not named as failed: %+v", res)
			}
			if len(res.Unlinked) != 0 || res.Created != 0 {
				t.Errorf("result %+v", res)
			}
		})
	}
}
