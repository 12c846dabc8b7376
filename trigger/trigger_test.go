package trigger

import (
	"context"
	"fmt"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
)

// handlerFor is the handler of the tests, with its log. Its carried
// attributes include every one it must never carry, as a mistaken
// CARRY_ATTRIBUTES could (ConfigFromEnv refuses them; the handler must
// drop them whatever its Config says).
func handlerFor(pool *fakePool) (*Handler, *strings.Builder) {
	logs := &strings.Builder{}
	attrs := append(append([]string(nil), DefaultAttributes...), "sub", "identities", "cognito:user_status", "custom:prev_sub_id")
	return &Handler{Pool: pool, Config: Config{OldPoolID: "old-pool", OldClientID: "old-client", Attributes: attrs},
		Logf: func(f string, a ...any) { fmt.Fprintf(logs, f+"\n", a...) },
		// Refusals are padded to RefusalTime; these tests need not wait.
		Sleep: func(context.Context, time.Duration) {}}, logs
}

func migrateEvent(source, typed, password string) events.CognitoEventUserPoolsMigrateUser {
	ev := events.CognitoEventUserPoolsMigrateUser{}
	ev.TriggerSource, ev.UserName, ev.UserPoolID = source, typed, "new-pool"
	ev.CognitoEventUserPoolsMigrateUserRequest.Password = password
	return ev
}

// secrets are what the log must never hold: every password, what AWS's
// error messages say, tokens and sessions.
func secrets(pool *fakePool) []string {
	s := []string{"never-logged", "does not exist", "Incorrect", "Password reset required", "Error while parsing"}
	for _, u := range pool.users {
		if u.password != "" {
			s = append(s, u.password)
		}
	}
	return s
}

func TestHandle(t *testing.T) {
	const auth, forgot = SourceAuthentication, SourceForgotPassword
	cases := []struct {
		name, source, typed, password string
		// the old user migrated, or "" and the reason it is refused
		wantUser, wantSub, wantReason string
	}{
		{"right password", auth, "alice", "Secret-1a!", "alice", "s-0001", ""},
		{"by e-mail, for a username-based old pool", auth, "alice@example.com", "Secret-1a!", "alice", "s-0001", ""},
		{"wrong password", auth, "alice", "wrong-password-xyz", "", "", "auth_error code=NotAuthorizedException"},
		{"no password", auth, "alice", "", "", "", "no_password"},
		{"unknown user", auth, "mallory2", "Secret-1a!", "", "", "not_found"},
		{"unknown e-mail", auth, "nobody@example.com", "Secret-1a!", "", "", "not_found"},
		{"two old users verified the e-mail", auth, "shared@example.com", "Secret-1f!", "", "", "ambiguous"},
		{"disabled user", auth, "dave", "Secret-1d!", "", "", "disabled"},
		{"SMS MFA user's password", auth, "smsuser", "Sms-Pass-1!", "", "", "challenge:SMS_MFA"},
		{"SMS MFA user's password, by e-mail", auth, "sms@example.com", "Sms-Pass-1!", "", "", "challenge:SMS_MFA"},
		{"TOTP MFA user's password", auth, "totpuser", "Totp-Pass-1!", "", "", "challenge:SOFTWARE_TOKEN_MFA"},
		{"temporary password", auth, "tempuser", "Temp-Pass-1!", "", "", "status:FORCE_CHANGE_PASSWORD"},
		{"temporary password, by e-mail", auth, "temp@example.com", "Temp-Pass-1!", "", "", "not_found"},
		{"someone's address, unverified, with the attacker's password", auth, "victim@example.com", "Mallory-Pass-1!", "", "", "auth_error code=NotAuthorizedException"},
		{"the address's verified owner, beside an unverified claim", auth, "victim@example.com", "Victor-Pass-1!", "victor", "s-0010", ""},
		{"an address only an unverified user has", auth, "unclaimed@example.com", "Eve-Pass-1!", "", "", "not_found"},
		{"unconfirmed user", auth, "unconf-user", "Unconf-Pass-1!", "", "", "status:UNCONFIRMED"},
		{"federated user", auth, "Google_1097", "anything-1!", "", "", "status:EXTERNAL_PROVIDER"},
		{"federated user, by e-mail", auth, "fed@example.com", "anything-1!", "", "", "not_found"},
		{"password reset required", auth, "resetuser", "Reset-Pass-1!", "", "", "status:RESET_REQUIRED"},
		{"a username that is an address nobody verified", auth, "carol@example.com", "Carol-Pass-1!", "", "", "unverified:email"},
		{"a username that is the user's verified address", auth, "dan@example.com", "Dan-Pass-1!", "dan@example.com", "s-0031", ""},
		{"an ineligible user named like an address another verified", auth, "owner@example.com", "Owner-Pass-1!", "", "", "status:UNCONFIRMED"},
		{"a username that is a phone number nobody verified", auth, "+15550199", "Phone-Pass-1!", "", "", "unverified:phone_number"},
		{"the one verified user behind a page of unverified ones", auth, "crowd@example.com", "Gina-Pass-1!", "zz-gina", "s-0040", ""},
		{"an address with too many users", auth, "flood@example.com", "Flood-Pass-1!", "", "", "too_many_matches"},
		{"a quote in the e-mail", auth, `x"@example.com`, "Secret-1a!", "", "", "bad_identifier"},
		{"not a migration event", "PreSignUp_SignUp", "alice", "Secret-1a!", "", "", "not_migration"},

		{"forgot password: no password needed", forgot, "alice@example.com", "", "alice", "s-0001", ""},
		{"forgot password of a disabled user", forgot, "dave", "", "", "", "disabled"},
		{"forgot password of an SMS MFA user", forgot, "smsuser", "", "", "", "mfa:SMS_MFA"},
		{"forgot password of a TOTP MFA user, by e-mail", forgot, "totp@example.com", "", "", "", "mfa:SOFTWARE_TOKEN_MFA"},
		{"forgot password of a federated user", forgot, "Google_1097", "", "", "", "status:EXTERNAL_PROVIDER"},
		{"forgot password of a federated user, by e-mail", forgot, "fed@example.com", "", "", "", "not_found"},
		{"forgot password of a temporary password", forgot, "tempuser", "", "", "", "status:FORCE_CHANGE_PASSWORD"},
		{"forgot password when a reset is required", forgot, "resetuser", "", "resetuser", "s-0023", ""},
		{"forgot password when a reset is required, by e-mail", forgot, "reset@example.com", "", "resetuser", "s-0023", ""},
		{"forgot password of the verified owner", forgot, "victim@example.com", "", "victor", "s-0010", ""},
		{"forgot password of an unverified address", forgot, "unclaimed@example.com", "", "", "", "not_found"},
		{"forgot password of an unconfirmed user", forgot, "unconf-user", "", "", "", "status:UNCONFIRMED"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			pool := &fakePool{t: t, users: oldPoolUsers()}
			h, logs := handlerFor(pool)
			out, err := h.Handle(context.Background(), migrateEvent(c.source, c.typed, c.password))
			resp := out.CognitoEventUserPoolsMigrateUserResponse
			if c.wantSub == "" {
				if err != ErrRefused || len(resp.UserAttributes) != 0 || resp.FinalUserStatus != "" {
					t.Errorf("want the one refusal, got %v %+v", err, resp)
				}
				if !regexp.MustCompile(`(?m)^refused source=\w+ reason=` + regexp.QuoteMeta(c.wantReason) + `( old_sub=\S+)?$`).MatchString(logs.String()) {
					t.Errorf("want reason %q in the log:\n%s", c.wantReason, logs.String())
				}
			} else {
				if err != nil {
					t.Fatalf("refused: %v\n%s", err, logs.String())
				}
				a := resp.UserAttributes
				if a[PrevSubAttr] != c.wantSub || a[PrevUsernameAttr] != c.wantUser || a["email"] == "" || a["email_verified"] != "true" {
					t.Errorf("attributes: %v", a)
				}
				for name := range a {
					if name != PrevSubAttr && name != PrevUsernameAttr && CheckCarried(name) != nil {
						t.Errorf("carried %s: %v", name, a)
					}
				}
				if _, ok := a["custom:tenant"]; ok {
					t.Error("a custom attribute not asked for was carried")
				}
				if resp.MessageAction != "SUPPRESS" {
					t.Errorf("messageAction %q", resp.MessageAction)
				}
				if want := map[string]string{auth: "CONFIRMED", forgot: ""}[c.source]; resp.FinalUserStatus != want {
					t.Errorf("finalUserStatus %q, want %q", resp.FinalUserStatus, want)
				}
				if !strings.Contains(logs.String(), "migrated source="+strings.TrimPrefix(c.source, "UserMigration_")+" old_sub="+c.wantSub+"\n") {
					t.Errorf("the log does not say who was migrated:\n%s", logs.String())
				}
			}
			for _, secret := range secrets(pool) {
				if strings.Contains(strings.ToLower(logs.String()), strings.ToLower(secret)) {
					t.Errorf("the log holds %q:\n%s", secret, logs.String())
				}
			}
			if strings.Contains(logs.String(), c.typed) {
				t.Errorf("the log holds what was typed:\n%s", logs.String())
			}
		})
	}
}

func TestConfigFromEnv(t *testing.T) {
	env := map[string]string{"OLD_USER_POOL_ID": "p", "OLD_APP_CLIENT_ID": "c", "CARRY_ATTRIBUTES": "email, email_verified,custom:tenant"}
	c, err := ConfigFromEnv(func(k string) string { return env[k] })
	if err != nil || strings.Join(c.Attributes, "|") != "email|email_verified|custom:tenant" {
		t.Errorf("%+v %v", c, err)
	}
	if _, err := ConfigFromEnv(func(string) string { return "" }); err == nil {
		t.Error("no pool and client accepted")
	}
	for _, bad := range []string{"sub", "identities", "cognito:user_status", "cognito:mfa_enabled", "custom:prev_sub_id", "custom:prev_username"} {
		env["CARRY_ATTRIBUTES"] = "email," + bad
		if _, err := ConfigFromEnv(func(k string) string { return env[k] }); err == nil || !strings.Contains(err.Error(), bad) {
			t.Errorf("CARRY_ATTRIBUTES with %s: %v", bad, err)
		}
	}
}
