package trigger

import (
	"context"
	"testing"
)

// TestLinkedPasswordUserComesWithoutTheOldIdentity: a password user the
// old pool had linked a Google login to, with a verified e-mail, migrates
// by password without custom:prev_* (an immutable attribute would make
// Cognito refuse the link that `sync` makes next); one without a verified
// contact, or with no login, keeps it. A federated user typed into the
// trigger gets nothing.
func TestLinkedPasswordUserComesWithoutTheOldIdentity(t *testing.T) {
	const linked = `[{"userId":"1098","providerName":"Google","providerType":"Google","primary":"false","dateCreated":"1"}]`
	cases := []struct {
		name, typed, password string
		attrs                 map[string]string
		wantPrev              bool
	}{
		{"linked, verified e-mail", "linda", "Linda-Pass-1!", map[string]string{"sub": "s-0050", "email": "linda@example.com", "email_verified": "true", "identities": linked}, false},
		{"linked, no verified contact", "lars", "Lars-Pass-1!", map[string]string{"sub": "s-0051", "email": "lars@example.com", "email_verified": "false", "identities": linked}, true},
		{"empty identities", "lena", "Lena-Pass-1!", map[string]string{"sub": "s-0052", "email": "lena@example.com", "email_verified": "true", "identities": "[]"}, true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			users := oldPoolUsers()
			users[c.typed] = &fakeUser{password: c.password, attrs: c.attrs}
			pool := &fakePool{t: t, users: users}
			h, logs := handlerFor(pool)
			out, err := h.Handle(context.Background(), migrateEvent(SourceAuthentication, c.typed, c.password))
			if err != nil {
				t.Fatalf("refused: %v\n%s", err, logs)
			}
			a := out.CognitoEventUserPoolsMigrateUserResponse.UserAttributes
			if got := a[PrevSubAttr] != "" || a[PrevUsernameAttr] != ""; got != c.wantPrev {
				t.Errorf("custom:prev_* carried %v, want %v: %v", got, c.wantPrev, a)
			}
			if c.wantPrev && (a[PrevSubAttr] != c.attrs["sub"] || a[PrevUsernameAttr] != c.typed) {
				t.Errorf("the old identity is not the user's: %v", a)
			}
			if _, ok := a["identities"]; ok {
				t.Errorf("identities carried: %v", a)
			}
		})
	}
	for _, typed := range []string{"Google_1097", "google_1097", "Google_1098"} {
		pool := &fakePool{t: t, users: oldPoolUsers()}
		h, _ := handlerFor(pool)
		if _, err := h.Handle(context.Background(), migrateEvent(SourceAuthentication, typed, "anything-1!")); err != ErrRefused {
			t.Errorf("%s typed into the trigger: %v", typed, err)
		}
	}
}
