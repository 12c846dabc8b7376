// Package trigger is the new pool's user migration Lambda trigger: when
// someone who is not yet in the new pool signs in (or asks to reset a
// password), it finds them in the old pool, has the old pool check the
// password (AdminInitiateAuth), and gives Cognito the attributes to create
// them with — so users who sign in during the migration window keep their
// passwords.
//
// It fails closed. A user is created CONFIRMED only when the old pool
// answered the password with tokens: any challenge (MFA, a temporary
// password) is a refusal, and those users arrive through the bulk import.
// Look-ups by e-mail consider only verified addresses of users in a status
// the trigger may migrate, and an e-mail address or phone number the old
// pool does not call verified is never carried. Every refusal gives Cognito
// the same answer after the same time (RefusalTime), so a caller cannot
// tell a wrong password from an unknown, disabled or ambiguous user; the
// log says why with a stable reason code, and never holds a password, a
// token, what was typed, or an AWS error message (which may echo what was
// typed).
package trigger

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log"
	"strings"
	"time"

	"github.com/aws/aws-lambda-go/events"
	cip "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider"
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

// DefaultBudget bounds one invocation's work. Cognito waits 5 seconds for
// the trigger and then retries it (repeating the old pool's sign-in), and
// a cold start spends part of those 5 seconds before the handler runs; an
// answer within 4 seconds leaves that margin.
const DefaultBudget = 4 * time.Second

// DefaultRefusalTime is how long every refusal takes, at least: an
// unknown user (one call to the old pool) and a wrong password (two) then
// look the same from outside. It covers the slowest ordinary refusal (a
// look-up by e-mail reads up to five pages) with room to spare.
const DefaultRefusalTime = 1500 * time.Millisecond

// lambdaMargin is kept free before the function's own deadline, so the
// handler answers (a refusal) instead of being killed mid-call.
const lambdaMargin = 250 * time.Millisecond

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
	// The old identity attributes are always added; CheckCarried names
	// those that are never carried.
	Attributes []string
	// CaseCollisions are the CaseKeys of old usernames that equal another
	// old username when case is ignored (CASE_COLLISIONS): the trigger
	// refuses them (see casefold.go).
	CaseCollisions map[string]bool
}

// DefaultAttributes are the standard attributes the CSV export carries.
var DefaultAttributes = []string{
	"email", "email_verified", "phone_number", "phone_number_verified", "name", "given_name", "family_name",
	"middle_name", "nickname", "preferred_username", "profile", "picture", "website", "gender", "birthdate",
	"zoneinfo", "locale", "address", "updated_at",
}

// ConfigFromEnv reads the trigger's settings. A carried attribute that
// CheckCarried refuses is an error: the function then fails to start and
// every sign-in it would have migrated is refused.
func ConfigFromEnv(getenv func(string) string) (Config, error) {
	c := Config{OldPoolID: getenv("OLD_USER_POOL_ID"), OldClientID: getenv("OLD_APP_CLIENT_ID"), Attributes: DefaultAttributes}
	if v := getenv("CARRY_ATTRIBUTES"); v != "" {
		c.Attributes = nil
		for _, a := range strings.Split(v, ",") {
			if a = strings.TrimSpace(a); a != "" {
				if err := CheckCarried(a); err != nil {
					return c, fmt.Errorf("CARRY_ATTRIBUTES: %w", err)
				}
				c.Attributes = append(c.Attributes, a)
			}
		}
	}
	var err error
	if c.CaseCollisions, err = parseCaseKeys(getenv("CASE_COLLISIONS")); err != nil {
		return c, err
	}
	if c.OldPoolID == "" || c.OldClientID == "" {
		return c, errors.New("OLD_USER_POOL_ID and OLD_APP_CLIENT_ID must be set")
	}
	return c, nil
}

// CheckCarried refuses an attribute the trigger must never hand to
// Cognito: sub (the new pool makes its own), identities and cognito:*
// (Cognito's own, which make every migration fail), and custom:prev_*
// (the trigger sets those from the old identity).
func CheckCarried(name string) error {
	switch {
	case name == "sub", name == "identities", strings.HasPrefix(name, "cognito:"), strings.HasPrefix(name, "custom:prev_"):
		return fmt.Errorf("attribute %q cannot be carried to the new pool", name)
	}
	return nil
}

// ErrRefused is the one answer for every sign-in the trigger does not
// migrate. Cognito turns it into NotAuthorizedException or
// UserNotFoundException for the app.
var ErrRefused = errors.New("incorrect username or password")

// Handler answers Cognito's user migration events.
type Handler struct {
	Pool   OldPool
	Config Config
	// Budget bounds one invocation (default DefaultBudget); the function's
	// own deadline, less a margin, bounds it too.
	Budget time.Duration
	// Logf reports what happened, without secrets (default: log.Printf).
	Logf func(format string, args ...any)
	// RefusalTime is how long each refusal takes at least, counted from
	// the start of the invocation (default DefaultRefusalTime; never past
	// the invocation's deadline).
	RefusalTime time.Duration
	// Now and Sleep are the clock (default time.Now and a timer); tests
	// give their own.
	Now   func() time.Time
	Sleep func(ctx context.Context, d time.Duration)
}

// Handle migrates one user, or refuses.
func (h *Handler) Handle(ctx context.Context, ev events.CognitoEventUserPoolsMigrateUser) (events.CognitoEventUserPoolsMigrateUser, error) {
	start := h.now()
	ctx, cancel := h.bound(ctx)
	defer cancel()
	logf := h.Logf
	if logf == nil {
		logf = log.Printf
	}
	source := strings.TrimPrefix(ev.TriggerSource, "UserMigration_")
	refuse := func(reason string, u *oldUser) (events.CognitoEventUserPoolsMigrateUser, error) {
		if u != nil && u.Attributes["sub"] != "" {
			logf("refused source=%s reason=%s old_sub=%s", source, reason, safe(u.Attributes["sub"]))
		} else {
			logf("refused source=%s reason=%s", source, reason)
		}
		ev.CognitoEventUserPoolsMigrateUserResponse = events.CognitoEventUserPoolsMigrateUserResponse{}
		h.pad(ctx, start)
		return ev, ErrRefused
	}
	if ev.TriggerSource != SourceAuthentication && ev.TriggerSource != SourceForgotPassword {
		source = "other"
		return refuse("not_migration", nil)
	}
	user, why := h.find(ctx, ev.UserName, ev.TriggerSource)
	if why != "" {
		return refuse(why, user)
	}
	if h.Config.collides(ev.UserName, user.Username) {
		// The new pool ignores case: this name is another old user's too.
		return refuse("case_collision", user)
	}
	if ev.TriggerSource == SourceForgotPassword {
		// No password proves anything here: the trigger reads the user
		// itself and refuses one with a second factor, which a reset by
		// e-mail would otherwise leave behind.
		if user, why = h.reread(ctx, user, ev.UserName, ev.TriggerSource); why != "" {
			return refuse(why, user)
		}
	}
	if ev.TriggerSource == SourceAuthentication {
		if why := h.checkPassword(ctx, user.Username, ev.CognitoEventUserPoolsMigrateUserRequest.Password); why != "" {
			return refuse(why, user)
		}
		ev.CognitoEventUserPoolsMigrateUserResponse.FinalUserStatus = "CONFIRMED"
	}
	attrs, why := h.carried(user)
	if why != "" {
		return refuse(why, user)
	}
	if ev.TriggerSource == SourceForgotPassword && !verifiedContact(attrs) {
		// The new pool sends the reset code to a verified address or
		// number; without one the user would be created in a state
		// nobody can finish (no code arrives, no password works).
		return refuse("no_verified_contact", user)
	}
	ev.CognitoEventUserPoolsMigrateUserResponse.UserAttributes = attrs
	ev.CognitoEventUserPoolsMigrateUserResponse.MessageAction = "SUPPRESS"
	logf("migrated source=%s old_sub=%s", source, safe(user.Attributes["sub"]))
	return ev, nil
}

// pad waits until the refusal has taken RefusalTime since start, or the
// invocation's deadline comes, whichever is first.
func (h *Handler) pad(ctx context.Context, start time.Time) {
	floor := h.RefusalTime
	if floor <= 0 {
		floor = DefaultRefusalTime
	}
	now := h.now()
	wait := start.Add(floor).Sub(now)
	if d, ok := ctx.Deadline(); ok {
		wait = min(wait, time.Until(d))
	}
	if wait > 0 {
		if h.Sleep != nil {
			h.Sleep(ctx, wait)
			return
		}
		t := time.NewTimer(wait)
		defer t.Stop()
		select {
		case <-t.C:
		case <-ctx.Done():
		}
	}
}

func (h *Handler) now() time.Time {
	if h.Now != nil {
		return h.Now()
	}
	return time.Now()
}

// bound gives the invocation its deadline: the budget, or the function's
// own deadline less a margin when that comes first.
func (h *Handler) bound(ctx context.Context) (context.Context, context.CancelFunc) {
	budget := h.Budget
	if budget <= 0 {
		budget = DefaultBudget
	}
	deadline := time.Now().Add(budget)
	if d, ok := ctx.Deadline(); ok && d.Add(-lambdaMargin).Before(deadline) {
		deadline = d.Add(-lambdaMargin)
	}
	return context.WithDeadline(ctx, deadline)
}

// carried is what Cognito creates the user with: the configured
// attributes the old user has, never one CheckCarried refuses, plus the
// old identity.
func (h *Handler) carried(u *oldUser) (map[string]string, string) {
	if u.Attributes["sub"] == "" || u.Username == "" {
		return nil, "no_old_identity"
	}
	attrs := map[string]string{}
	for _, name := range h.Config.Attributes {
		if CheckCarried(name) != nil {
			continue
		}
		if v := u.Attributes[name]; v != "" {
			attrs[name] = v
		}
	}
	// An address or number the old pool does not call verified is not
	// the user's to take along: in a pool that signs in by it, it would
	// hold (and lock out) whoever really owns it.
	for _, contact := range []string{"email", "phone_number"} {
		if attrs[contact+"_verified"] != "true" || attrs[contact] == "" {
			delete(attrs, contact)
			delete(attrs, contact+"_verified")
		}
	}
	// A user the old pool had linked a provider login to, with a verified
	// contact, comes without the old identity: Cognito links no login to
	// a user holding an immutable attribute, and custom:prev_* is one. The
	// next `poolmigrate sync` links their login (from the backup) to this
	// account once it finds it theirs by the backup (name and verified
	// contact), and the login names them from then on (the same rule as
	// the import's, cognito.NamedByLogin).
	if !(hasLogins(u.Attributes["identities"]) && verifiedContact(attrs)) {
		attrs[PrevSubAttr] = u.Attributes["sub"]
		attrs[PrevUsernameAttr] = u.Username
	}
	// The last look before Cognito sees it, whatever changes above.
	for name := range attrs {
		if name != PrevSubAttr && name != PrevUsernameAttr && CheckCarried(name) != nil {
			return nil, "invalid_attribute"
		}
	}
	return attrs, ""
}

// hasLogins tells whether an identities attribute lists a provider login.
func hasLogins(value string) bool {
	var ids []json.RawMessage
	return json.Unmarshal([]byte(value), &ids) == nil && len(ids) > 0
}

// verifiedContact says whether attrs give the new pool a verified e-mail
// address or phone number to send a code to.
func verifiedContact(attrs map[string]string) bool {
	return (attrs["email"] != "" && attrs["email_verified"] == "true") ||
		(attrs["phone_number"] != "" && attrs["phone_number_verified"] == "true")
}

// safe keeps what a log line may show of a value from AWS (an error code,
// a status, a challenge name, a sub) to letters, digits and _.:-, so
// nothing else can ride along into the log.
func safe(s string) string {
	if len(s) > 64 {
		s = s[:64]
	}
	return strings.Map(func(r rune) rune {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '_', r == '.', r == ':', r == '-':
			return r
		}
		return '?'
	}, s)
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

func ptr[T any](v T) *T { return &v }
