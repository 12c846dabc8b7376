// Package trigger is the new pool's user migration Lambda trigger: when
// someone who is not yet in the new pool signs in (or asks to reset a
// password), it finds them in the old pool, checks the password there
// (AdminInitiateAuth), and gives Cognito the attributes to create them
// with — so users who sign in during the migration window keep their
// passwords. It never logs a password or a token, and it refuses the
// same way whatever went wrong, so a caller cannot tell a wrong password
// from an unknown, disabled or ambiguous user.
package trigger

import (
	"context"
	"errors"
	"fmt"
	"log"
	"strings"

	"github.com/aws/aws-lambda-go/events"
	cip "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider"
	"github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider/types"
)

// Trigger sources Cognito sends to a user migration trigger.
const (
	SourceAuthentication = "UserMigration_Authentication"
	SourceForgotPassword = "UserMigration_ForgotPassword"
)

// The custom attributes that carry each user's old identity, as the CSV
// export writes them, so remap and sync find migrated users.
const (
	PrevSubAttr      = "custom:prev_sub_id"
	PrevUsernameAttr = "custom:prev_username"
)

// OldPool is the part of the Cognito API the trigger calls on the old
// pool; *cognitoidentityprovider.Client satisfies it.
type OldPool interface {
	AdminGetUser(ctx context.Context, in *cip.AdminGetUserInput, optFns ...func(*cip.Options)) (*cip.AdminGetUserOutput, error)
	ListUsers(ctx context.Context, in *cip.ListUsersInput, optFns ...func(*cip.Options)) (*cip.ListUsersOutput, error)
	AdminInitiateAuth(ctx context.Context, in *cip.AdminInitiateAuthInput, optFns ...func(*cip.Options)) (*cip.AdminInitiateAuthOutput, error)
}

// Config is the trigger's settings, from its environment.
type Config struct {
	OldPoolID   string // OLD_USER_POOL_ID
	OldClientID string // OLD_APP_CLIENT_ID: an app client of the old pool allowing ADMIN_USER_PASSWORD_AUTH
	// Attributes are the user attributes carried to the new pool
	// (CARRY_ATTRIBUTES, comma-separated; default: the standard ones).
	// The old identity attributes are always added.
	Attributes []string
}

// DefaultAttributes are the standard attributes the CSV export carries.
var DefaultAttributes = []string{
	"email", "email_verified", "phone_number", "phone_number_verified", "name", "given_name", "family_name",
	"middle_name", "nickname", "preferred_username", "profile", "picture", "website", "gender", "birthdate",
	"zoneinfo", "locale", "address", "updated_at",
}

// ConfigFromEnv reads the trigger's settings.
func ConfigFromEnv(getenv func(string) string) (Config, error) {
	c := Config{OldPoolID: getenv("OLD_USER_POOL_ID"), OldClientID: getenv("OLD_APP_CLIENT_ID"), Attributes: DefaultAttributes}
	if v := getenv("CARRY_ATTRIBUTES"); v != "" {
		c.Attributes = nil
		for _, a := range strings.Split(v, ",") {
			if a = strings.TrimSpace(a); a != "" {
				c.Attributes = append(c.Attributes, a)
			}
		}
	}
	if c.OldPoolID == "" || c.OldClientID == "" {
		return c, errors.New("OLD_USER_POOL_ID and OLD_APP_CLIENT_ID must be set")
	}
	return c, nil
}

// ErrRefused is the one answer for every sign-in the trigger does not
// migrate. Cognito turns it into NotAuthorizedException or
// UserNotFoundException for the app.
var ErrRefused = errors.New("incorrect username or password")

// Handler answers Cognito's user migration events.
type Handler struct {
	Pool   OldPool
	Config Config
	// Logf reports what happened, without secrets (default: log.Printf).
	Logf func(format string, args ...any)
}

// Handle migrates one user, or refuses.
func (h *Handler) Handle(ctx context.Context, ev events.CognitoEventUserPoolsMigrateUser) (events.CognitoEventUserPoolsMigrateUser, error) {
	logf := h.Logf
	if logf == nil {
		logf = log.Printf
	}
	switch ev.TriggerSource {
	case SourceAuthentication, SourceForgotPassword:
	default:
		logf("refused: trigger source %q is not a user migration", ev.TriggerSource)
		return ev, ErrRefused
	}
	user, why := h.find(ctx, ev.UserName)
	if user == nil {
		logf("refused %s: %s", ev.TriggerSource, why)
		return ev, ErrRefused
	}
	if !user.Enabled {
		logf("refused %s: the old user is disabled", ev.TriggerSource)
		return ev, ErrRefused
	}
	if ev.TriggerSource == SourceAuthentication {
		if err := h.checkPassword(ctx, user.Username, ev.CognitoEventUserPoolsMigrateUserRequest.Password); err != nil {
			logf("refused %s: %v", ev.TriggerSource, err)
			return ev, ErrRefused
		}
		ev.CognitoEventUserPoolsMigrateUserResponse.FinalUserStatus = "CONFIRMED"
	}
	attrs := map[string]string{}
	for _, name := range h.Config.Attributes {
		if v, ok := user.Attributes[name]; ok && v != "" {
			attrs[name] = v
		}
	}
	attrs[PrevSubAttr] = user.Attributes["sub"]
	attrs[PrevUsernameAttr] = user.Username
	ev.CognitoEventUserPoolsMigrateUserResponse.UserAttributes = attrs
	ev.CognitoEventUserPoolsMigrateUserResponse.MessageAction = "SUPPRESS"
	logf("migrated %s by %s", user.Attributes["sub"], ev.TriggerSource)
	return ev, nil
}

// oldUser is a user of the old pool.
type oldUser struct {
	Username   string
	Enabled    bool
	Attributes map[string]string
}

// find looks the user up in the old pool by what they typed: the username
// (AdminGetUser also resolves an alias, as sign-in does), else, when it
// looks like an e-mail address (the new pool signs in by e-mail and the
// old did not), the one user with that e-mail. Two users with one e-mail
// are ambiguous: nobody is migrated.
func (h *Handler) find(ctx context.Context, typed string) (*oldUser, string) {
	if typed == "" {
		return nil, "no username"
	}
	out, err := h.Pool.AdminGetUser(ctx, &cip.AdminGetUserInput{UserPoolId: &h.Config.OldPoolID, Username: &typed})
	if err == nil {
		u := &oldUser{Username: deref(out.Username), Enabled: out.Enabled, Attributes: map[string]string{}}
		for _, a := range out.UserAttributes {
			u.Attributes[deref(a.Name)] = deref(a.Value)
		}
		return u, ""
	}
	var nf *types.UserNotFoundException
	if !errors.As(err, &nf) {
		return nil, fmt.Sprintf("look up the user: %v", err)
	}
	if !strings.Contains(typed, "@") || strings.ContainsAny(typed, `"\`) {
		return nil, "no such user in the old pool"
	}
	lu, err := h.Pool.ListUsers(ctx, &cip.ListUsersInput{UserPoolId: &h.Config.OldPoolID, Filter: ptr(`email = "` + typed + `"`), Limit: ptr(int32(2))})
	if err != nil {
		return nil, fmt.Sprintf("look up the e-mail: %v", err)
	}
	switch len(lu.Users) {
	case 0:
		return nil, "no such user in the old pool"
	case 1:
		t := lu.Users[0]
		u := &oldUser{Username: deref(t.Username), Enabled: t.Enabled, Attributes: map[string]string{}}
		for _, a := range t.Attributes {
			u.Attributes[deref(a.Name)] = deref(a.Value)
		}
		return u, ""
	}
	return nil, "two or more old users share the e-mail"
}

// checkPassword signs the user in to the old pool with the password they
// typed. A challenge (MFA, a new password required) means the password
// was right.
func (h *Handler) checkPassword(ctx context.Context, username, password string) error {
	if password == "" {
		return errors.New("no password")
	}
	_, err := h.Pool.AdminInitiateAuth(ctx, &cip.AdminInitiateAuthInput{
		UserPoolId: &h.Config.OldPoolID, ClientId: &h.Config.OldClientID,
		AuthFlow:       types.AuthFlowTypeAdminUserPasswordAuth,
		AuthParameters: map[string]string{"USERNAME": username, "PASSWORD": password},
	})
	if err != nil {
		var ae interface{ ErrorCode() string }
		if errors.As(err, &ae) {
			return fmt.Errorf("the old pool refused the sign-in: %s", ae.ErrorCode()) // never the message: it may echo input
		}
		return errors.New("the old pool could not be asked")
	}
	return nil
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

func ptr[T any](v T) *T { return &v }
