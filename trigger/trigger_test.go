package trigger

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/aws/aws-lambda-go/events"
	cip "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider"
	"github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider/types"
)

// fakePool is an old pool: users by username, with passwords; it answers
// as Cognito does (UserNotFoundException, NotAuthorizedException) and
// insists on the pool, client and auth flow the trigger must use.
type fakePool struct {
	t     *testing.T
	users map[string]fakeUser
}

type fakeUser struct {
	password string
	enabled  bool
	attrs    map[string]string
}

func (f *fakePool) sdkAttrs(u fakeUser) []types.AttributeType {
	var out []types.AttributeType
	for k, v := range u.attrs {
		out = append(out, types.AttributeType{Name: ptr(k), Value: ptr(v)})
	}
	return out
}

func (f *fakePool) AdminGetUser(_ context.Context, in *cip.AdminGetUserInput, _ ...func(*cip.Options)) (*cip.AdminGetUserOutput, error) {
	if *in.UserPoolId != "old-pool" {
		f.t.Errorf("AdminGetUser on pool %s", *in.UserPoolId)
	}
	u, ok := f.users[*in.Username]
	if !ok {
		return nil, &types.UserNotFoundException{Message: ptr("User does not exist.")}
	}
	return &cip.AdminGetUserOutput{Username: in.Username, Enabled: u.enabled, UserAttributes: f.sdkAttrs(u)}, nil
}

func (f *fakePool) ListUsers(_ context.Context, in *cip.ListUsersInput, _ ...func(*cip.Options)) (*cip.ListUsersOutput, error) {
	email := strings.TrimSuffix(strings.TrimPrefix(*in.Filter, `email = "`), `"`)
	out := &cip.ListUsersOutput{}
	for name, u := range f.users {
		if u.attrs["email"] == email {
			out.Users = append(out.Users, types.UserType{Username: ptr(name), Enabled: u.enabled, Attributes: f.sdkAttrs(u)})
		}
	}
	return out, nil
}

func (f *fakePool) AdminInitiateAuth(_ context.Context, in *cip.AdminInitiateAuthInput, _ ...func(*cip.Options)) (*cip.AdminInitiateAuthOutput, error) {
	if *in.ClientId != "old-client" || in.AuthFlow != types.AuthFlowTypeAdminUserPasswordAuth {
		f.t.Errorf("AdminInitiateAuth with client %s, flow %s", *in.ClientId, in.AuthFlow)
	}
	u, ok := f.users[in.AuthParameters["USERNAME"]]
	if !ok || u.password != in.AuthParameters["PASSWORD"] {
		return nil, &types.NotAuthorizedException{Message: ptr("Incorrect username or password.")}
	}
	if !u.enabled {
		return nil, &types.NotAuthorizedException{Message: ptr("User is disabled.")}
	}
	return &cip.AdminInitiateAuthOutput{AuthenticationResult: &types.AuthenticationResultType{AccessToken: ptr("token-never-logged")}}, nil
}

func TestHandle(t *testing.T) {
	pool := &fakePool{t: t, users: map[string]fakeUser{
		"alice":  {"Secret-1a!", true, map[string]string{"sub": "sub-alice", "email": "alice@example.com", "email_verified": "true", "name": "Alice", "custom:tenant": "t1"}},
		"frank":  {"Secret-1f!", true, map[string]string{"sub": "sub-frank", "email": "shared@example.com", "email_verified": "true"}},
		"frank2": {"Secret-1g!", true, map[string]string{"sub": "sub-frank2", "email": "shared@example.com", "email_verified": "true"}},
		"dave":   {"Secret-1d!", false, map[string]string{"sub": "sub-dave", "email": "dave@example.com", "email_verified": "true"}},
	}}
	cases := []struct {
		name, source, user, password string
		wantSub                      string // "" = refused
	}{
		{"right password", SourceAuthentication, "alice", "Secret-1a!", "sub-alice"},
		{"by e-mail, for a username-based old pool", SourceAuthentication, "alice@example.com", "Secret-1a!", "sub-alice"},
		{"wrong password", SourceAuthentication, "alice", "wrong-password-xyz", ""},
		{"no password", SourceAuthentication, "alice", "", ""},
		{"unknown user", SourceAuthentication, "mallory", "Secret-1a!", ""},
		{"unknown e-mail", SourceAuthentication, "nobody@example.com", "Secret-1a!", ""},
		{"two old users share the e-mail", SourceAuthentication, "shared@example.com", "Secret-1f!", ""},
		{"disabled user", SourceAuthentication, "dave", "Secret-1d!", ""},
		{"forgot password: no password needed", SourceForgotPassword, "alice@example.com", "", "sub-alice"},
		{"forgot password of a disabled user", SourceForgotPassword, "dave", "", ""},
		{"not a migration event", "PreSignUp_SignUp", "alice", "Secret-1a!", ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var logs strings.Builder
			h := &Handler{Pool: pool, Config: Config{OldPoolID: "old-pool", OldClientID: "old-client", Attributes: DefaultAttributes},
				Logf: func(f string, a ...any) { fmt.Fprintf(&logs, f+"\n", a...) }}
			ev := events.CognitoEventUserPoolsMigrateUser{}
			ev.TriggerSource, ev.UserName, ev.UserPoolID = c.source, c.user, "new-pool"
			ev.CognitoEventUserPoolsMigrateUserRequest.Password = c.password
			out, err := h.Handle(context.Background(), ev)
			resp := out.CognitoEventUserPoolsMigrateUserResponse
			if c.wantSub == "" {
				if err != ErrRefused || len(resp.UserAttributes) != 0 {
					t.Errorf("want the one refusal, got %v %v", err, resp.UserAttributes)
				}
			} else {
				if err != nil {
					t.Fatalf("refused: %v\n%s", err, logs.String())
				}
				a := resp.UserAttributes
				if a[PrevSubAttr] != c.wantSub || a[PrevUsernameAttr] != "alice" || a["email"] != "alice@example.com" || a["email_verified"] != "true" || a["name"] != "Alice" {
					t.Errorf("attributes: %v", a)
				}
				if _, ok := a["custom:tenant"]; ok {
					t.Error("a custom attribute not asked for was carried")
				}
				if _, ok := a["sub"]; ok {
					t.Error("the old sub was sent as the new user's sub")
				}
				if resp.MessageAction != "SUPPRESS" {
					t.Errorf("messageAction %q", resp.MessageAction)
				}
				if want := map[string]string{SourceAuthentication: "CONFIRMED", SourceForgotPassword: ""}[c.source]; resp.FinalUserStatus != want {
					t.Errorf("finalUserStatus %q, want %q", resp.FinalUserStatus, want)
				}
			}
			for _, secret := range []string{"Secret-1", "wrong-password-xyz", "token-never-logged"} {
				if strings.Contains(logs.String(), secret) {
					t.Errorf("the log holds a secret:\n%s", logs.String())
				}
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
}
