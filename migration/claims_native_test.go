package migration

import (
	"context"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider/types"
	"golang.org/x/time/rate"

	"github.com/poolmigrate/poolmigrate/cognito"
)

// TestLinkedPasswordUserIsNamedByLoginAndContact: carol, a password user
// whose Google login the old pool had linked (with a verified e-mail),
// comes over without custom:prev_*. Her login names her only on an
// account that also holds her verified e-mail; a login alone (an account
// the login was linked to by mistake, or Cognito's own user for the
// login), her e-mail unverified, or a forged custom:prev_* gets nothing.
func TestLinkedPasswordUserIsNamedByLoginAndContact(t *testing.T) {
	carolOld := asUUID("carol-old")
	const login = `[{"userId":"1003","providerName":"Google","providerType":"Google","primary":"false"}]`
	idx, err := newClaimIndex("")
	if err != nil {
		t.Fatal(err)
	}
	if err := idx.add(cognito.User{Username: "carol", Sub: carolOld, Status: "CONFIRMED", Attributes: map[string]string{"email": "carol@example.com", "email_verified": "true", "identities": login}}); err != nil {
		t.Fatal(err)
	}
	if err := idx.seal(); err != nil {
		t.Fatal(err)
	}
	defer idx.close()
	external := newUser("Google_1003", asUUID("n-g"), "identities", login, "email", "carol@example.com")
	external.UserStatus = types.UserStatusTypeExternalProvider
	cases := []struct {
		name     string
		user     types.UserType
		kept     bool
		wantCode string
	}{
		{"her account, login and verified e-mail", newUser("carol", asUUID("n-carol"), "identities", login, "email", "carol@example.com", "email_verified", "true"), true, ""},
		{"her name and login, e-mail unverified", newUser("carol", asUUID("n-c2"), "identities", login, "email", "carol@example.com", "email_verified", "false"), false, ClaimSignInMismatch},
		{"her name and login, another verified e-mail", newUser("carol", asUUID("n-c3"), "identities", login, "email", "mallory@example.com", "email_verified", "true"), false, ClaimSignInMismatch},
		{"Cognito's own user for her login, e-mail unverified", external, false, ClaimSignInMismatch},
		{"a forged custom:prev_*", newUser("mallory", asUUID("n-mal"), "email", "mallory@example.com", "email_verified", "true", cognito.PrevSubAttr, carolOld, cognito.PrevUsernameAttr, "carol"), false, ClaimSignInMismatch},
		{"custom:prev_* as an older import made it, her name", newUser("carol", asUUID("n-c4"), cognito.PrevSubAttr, carolOld, cognito.PrevUsernameAttr, "carol"), true, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			m, rep, err := listClaims(context.Background(), claimPool{caseSensitive: true, users: []types.UserType{c.user}}, "p", idx, rate.NewLimiter(rate.Inf, 1), "")
			if err != nil {
				t.Fatal(err)
			}
			defer m.Close()
			_, kept := m.Get(carolOld)
			if kept != c.kept {
				t.Errorf("kept %v, want %v (refusals %+v)", kept, c.kept, rep.Refused)
			}
			if c.wantCode != "" && (rep.RefusedCount != 1 || rep.Refused[0].Code != c.wantCode) {
				t.Errorf("refusals %+v, want %s", rep.Refused, c.wantCode)
			}
		})
	}
}
