package trigger

import (
	"context"
	"errors"
	"strings"
	"unicode"

	cip "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider"
	"github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider/types"
	"github.com/aws/smithy-go"
)

// ListUsers pages: AWS's largest page, and how many the e-mail look-up
// reads before it gives up (nobody has 300 accounts at one address; an
// address that has is not one to migrate by).
const (
	listPage     = 60
	maxListPages = 5
)

// retryOnce lets the SDK retry a look-up once (two attempts): the budget
// has room for that, not for the default three.
func retryOnce(o *cip.Options) { o.RetryMaxAttempts = 2 }

// noRetry sends the old pool's sign-in once: it is not idempotent (it
// counts towards the user's failed attempts and may send an MFA code),
// and a failure is only a refusal the user can try again.
func noRetry(o *cip.Options) { o.RetryMaxAttempts = 1 }

// oldUser is a user of the old pool.
type oldUser struct {
	Username   string
	Enabled    bool
	Status     types.UserStatusType
	Attributes map[string]string
	// MFA are the second factors the user has turned on, as AdminGetUser
	// reports them (ListUsers does not).
	MFA []string
	// listed: found through ListUsers, so MFA is unknown.
	listed bool
}

func fromGetUser(out *cip.AdminGetUserOutput) *oldUser {
	u := &oldUser{Username: deref(out.Username), Enabled: out.Enabled, Status: out.UserStatus, Attributes: map[string]string{}}
	for _, a := range out.UserAttributes {
		u.Attributes[deref(a.Name)] = deref(a.Value)
	}
	u.MFA = append(u.MFA, out.UserMFASettingList...)
	if len(u.MFA) == 0 && (deref(out.PreferredMfaSetting) != "" || len(out.MFAOptions) > 0) {
		u.MFA = append(u.MFA, "SMS_MFA") // the legacy per-user SMS setting
	}
	return u
}

func fromUserType(t types.UserType) *oldUser {
	u := &oldUser{Username: deref(t.Username), Enabled: t.Enabled, Status: t.UserStatus, Attributes: map[string]string{}, listed: true}
	for _, a := range t.Attributes {
		u.Attributes[deref(a.Name)] = deref(a.Value)
	}
	if len(t.MFAOptions) > 0 {
		u.MFA = append(u.MFA, "SMS_MFA")
	}
	return u
}

// mayMigrate says whether a user in this status may be migrated by the
// source. CONFIRMED users may. RESET_REQUIRED users have no password to
// check, but a forgotten-password reset is what their status asks for
// (the new pool sends the code to a verified address). Nobody else:
// FORCE_CHANGE_PASSWORD users hold a temporary password (and the old
// pool refuses them a reset too), UNCONFIRMED users never proved their
// address, EXTERNAL_PROVIDER users sign in elsewhere and have no password
// to keep, and ARCHIVED, COMPROMISED or an unknown status are refused.
func mayMigrate(source string, s types.UserStatusType) bool {
	switch s {
	case types.UserStatusTypeConfirmed:
		return true
	case types.UserStatusTypeResetRequired:
		return source == SourceForgotPassword
	}
	return false
}

// find looks the user up in the old pool by what they typed: the username
// (AdminGetUser also resolves an alias, as sign-in does), else, when it
// looks like an e-mail address (the new pool signs in by e-mail and the
// old did not), the one eligible user with that verified address. It
// returns the user it found (for the log) with the reason it refuses,
// if it does.
func (h *Handler) find(ctx context.Context, typed, source string) (*oldUser, string) {
	if typed == "" {
		return nil, "no_username"
	}
	if strings.ContainsAny(typed, `"\`) || strings.IndexFunc(typed, unicode.IsControl) >= 0 {
		return nil, "bad_identifier"
	}
	out, err := h.Pool.AdminGetUser(ctx, &cip.AdminGetUserInput{UserPoolId: &h.Config.OldPoolID, Username: &typed}, retryOnce)
	if err == nil {
		u := fromGetUser(out)
		return u, u.check(typed, source)
	}
	var nf *types.UserNotFoundException
	if !errors.As(err, &nf) {
		return nil, "lookup_error code=" + errorCode(err)
	}
	if !strings.Contains(typed, "@") {
		return nil, "not_found"
	}
	return h.findByEmail(ctx, typed, source)
}

// check refuses a user the trigger may not migrate for source, found by
// typed.
func (u *oldUser) check(typed, source string) string {
	if !mayMigrate(source, u.Status) {
		return "status:" + safe(string(u.Status))
	}
	if !u.Enabled {
		return "disabled"
	}
	// What was typed becomes the user's name (or address) in the new
	// pool: when it is an e-mail address or a phone number, it must be
	// one the user verified, whatever the old pool's username was.
	if strings.Contains(typed, "@") && !u.verified("email", typed) {
		return "unverified:email"
	}
	if isPhone(typed) && !u.verified("phone_number", typed) {
		return "unverified:phone_number"
	}
	return ""
}

// verified says whether the user's attr is value and verified.
func (u *oldUser) verified(attr, value string) bool {
	return strings.EqualFold(u.Attributes[attr], value) && u.Attributes[attr+"_verified"] == "true"
}

func isPhone(s string) bool {
	if len(s) < 2 || s[0] != '+' {
		return false
	}
	for _, r := range s[1:] {
		if r < '0' || r > '9' {
			return false
		}
	}
	return true
}

// findByEmail finds the one user who verified the address and may be
// migrated. ListUsers filters on one attribute only, so it reads every
// user with the address (page by page) and judges them itself: users who
// never verified it, or in a status the trigger does not migrate, neither
// count nor make it ambiguous.
func (h *Handler) findByEmail(ctx context.Context, email, source string) (*oldUser, string) {
	filter := `email = "` + email + `"`
	var found []*oldUser
	var token *string
	for page := 0; ; page++ {
		if page == maxListPages {
			return nil, "too_many_matches"
		}
		out, err := h.Pool.ListUsers(ctx, &cip.ListUsersInput{UserPoolId: &h.Config.OldPoolID, Filter: &filter, Limit: ptr(int32(listPage)), PaginationToken: token}, retryOnce)
		if err != nil {
			return nil, "lookup_error code=" + errorCode(err)
		}
		for _, t := range out.Users {
			if u := fromUserType(t); u.verified("email", email) && mayMigrate(source, u.Status) {
				found = append(found, u)
			}
		}
		if token = out.PaginationToken; token == nil || *token == "" {
			break
		}
	}
	switch len(found) {
	case 0:
		return nil, "not_found"
	case 1:
		return found[0], found[0].check(email, source)
	}
	return nil, "ambiguous"
}

// reread reads a user found through ListUsers again with AdminGetUser,
// which also reports the second factors, checks them again as they are
// now, and refuses a user with a second factor.
func (h *Handler) reread(ctx context.Context, u *oldUser, typed, source string) (*oldUser, string) {
	if u.listed {
		out, err := h.Pool.AdminGetUser(ctx, &cip.AdminGetUserInput{UserPoolId: &h.Config.OldPoolID, Username: &u.Username}, retryOnce)
		if err != nil {
			return u, "lookup_error code=" + errorCode(err)
		}
		fresh := fromGetUser(out)
		if fresh.Attributes["sub"] != u.Attributes["sub"] {
			return u, "changed"
		}
		if why := fresh.check(typed, source); why != "" {
			return fresh, why
		}
		u = fresh
	}
	if len(u.MFA) > 0 {
		return u, "mfa:" + safe(u.MFA[0])
	}
	return u, ""
}

// checkPassword signs the user in to the old pool with the password they
// typed. Only tokens are a yes: a challenge (a second factor, a new
// password required, anything else) is a refusal, since the trigger can
// answer none of them.
func (h *Handler) checkPassword(ctx context.Context, username, password string) string {
	if password == "" {
		return "no_password"
	}
	out, err := h.Pool.AdminInitiateAuth(ctx, &cip.AdminInitiateAuthInput{
		UserPoolId: &h.Config.OldPoolID, ClientId: &h.Config.OldClientID,
		AuthFlow:       types.AuthFlowTypeAdminUserPasswordAuth,
		AuthParameters: map[string]string{"USERNAME": username, "PASSWORD": password},
	}, noRetry)
	switch {
	case err != nil:
		return "auth_error code=" + errorCode(err)
	case out.ChallengeName != "":
		return "challenge:" + safe(string(out.ChallengeName))
	case out.AuthenticationResult == nil || deref(out.AuthenticationResult.AccessToken) == "":
		return "no_tokens"
	}
	return ""
}

// errorCode names an error for the log without its message: the AWS
// error code, or what stopped the call.
func errorCode(err error) string {
	var ae smithy.APIError
	switch {
	case errors.Is(err, context.DeadlineExceeded):
		return "deadline"
	case errors.Is(err, context.Canceled):
		return "canceled"
	case errors.As(err, &ae):
		return safe(ae.ErrorCode())
	}
	return "transport"
}
