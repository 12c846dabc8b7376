package trigger

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	cip "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider"
	"github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider/types"
)

// fakePool is an old pool that answers as Cognito does: users by
// username, ListUsers filtered on one attribute in pages of at most 60
// (without second factors, which only AdminGetUser reports), and
// AdminInitiateAuth that checks the password first and then answers with
// tokens or the user's challenge. Its error messages echo what was asked,
// as AWS's sometimes do, so tests can tell when one reaches the log. It
// records each call's deadline and retry setting.
type fakePool struct {
	t     *testing.T
	users map[string]*fakeUser
	// slow: every call waits until its context ends.
	slow bool
	// fail: calls to these operations fail with this error.
	fail map[string]error
	// answer, when set, replaces AdminInitiateAuth's answer for a right
	// password.
	answer *cip.AdminInitiateAuthOutput

	// clock, when set, moves on by callTime at every call.
	clock *fakeClock

	mu    sync.Mutex
	calls []fakeCall
}

// callTime is how long each call to the fake pool takes on its clock.
const callTime = 40 * time.Millisecond

// fakeClock is a handler's clock that only moves when the fake pool is
// called or the handler sleeps.
type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) Sleep(_ context.Context, d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

type fakeUser struct {
	password  string
	disabled  bool
	status    types.UserStatusType // "" = CONFIRMED
	attrs     map[string]string
	mfa       []string                // as AdminGetUser's UserMFASettingList
	challenge types.ChallengeNameType // answered to the right password
}

type fakeCall struct {
	op          string
	deadline    time.Time
	hasDeadline bool
	maxAttempts int // RetryMaxAttempts the call's options set (0 = the client's)
}

func (f *fakePool) record(ctx context.Context, op string, optFns []func(*cip.Options)) error {
	var o cip.Options
	for _, fn := range optFns {
		fn(&o)
	}
	d, ok := ctx.Deadline()
	f.mu.Lock()
	f.calls = append(f.calls, fakeCall{op, d, ok, o.RetryMaxAttempts})
	f.mu.Unlock()
	if f.clock != nil {
		f.clock.Sleep(ctx, callTime)
	}
	if f.slow {
		if !ok {
			f.t.Errorf("%s called without a deadline", op)
			return errors.New("no deadline")
		}
		<-ctx.Done()
		return ctx.Err()
	}
	return f.fail[op]
}

func (u *fakeUser) statusType() types.UserStatusType {
	if u.status == "" {
		return types.UserStatusTypeConfirmed
	}
	return u.status
}

func sdkAttrs(m map[string]string) []types.AttributeType {
	var out []types.AttributeType
	for k, v := range m {
		out = append(out, types.AttributeType{Name: ptr(k), Value: ptr(v)})
	}
	return out
}

func (f *fakePool) AdminGetUser(ctx context.Context, in *cip.AdminGetUserInput, optFns ...func(*cip.Options)) (*cip.AdminGetUserOutput, error) {
	if err := f.record(ctx, "AdminGetUser", optFns); err != nil {
		return nil, err
	}
	if *in.UserPoolId != "old-pool" {
		f.t.Errorf("AdminGetUser on pool %s", *in.UserPoolId)
	}
	u, ok := f.users[*in.Username]
	if !ok {
		return nil, &types.UserNotFoundException{Message: ptr("User " + *in.Username + " does not exist.")}
	}
	return &cip.AdminGetUserOutput{Username: in.Username, Enabled: !u.disabled, UserStatus: u.statusType(),
		UserAttributes: sdkAttrs(u.attrs), UserMFASettingList: u.mfa}, nil
}

func (f *fakePool) ListUsers(ctx context.Context, in *cip.ListUsersInput, optFns ...func(*cip.Options)) (*cip.ListUsersOutput, error) {
	if err := f.record(ctx, "ListUsers", optFns); err != nil {
		return nil, err
	}
	if in.Limit == nil || *in.Limit < 1 || *in.Limit > 60 {
		return nil, &types.InvalidParameterException{Message: ptr("limit must be 1 to 60")}
	}
	attr, value, ok := strings.Cut(*in.Filter, ` = "`)
	if !ok || !strings.HasSuffix(value, `"`) {
		return nil, &types.InvalidParameterException{Message: ptr("Error while parsing filter " + *in.Filter)}
	}
	value = strings.TrimSuffix(value, `"`)
	var names []string
	for name, u := range f.users {
		if u.attrs[attr] == value {
			names = append(names, name)
		}
	}
	sort.Strings(names)
	start := 0
	if in.PaginationToken != nil {
		start, _ = strconv.Atoi(*in.PaginationToken)
	}
	end := min(start+int(*in.Limit), len(names))
	out := &cip.ListUsersOutput{}
	for _, name := range names[start:end] {
		u := f.users[name]
		out.Users = append(out.Users, types.UserType{Username: ptr(name), Enabled: !u.disabled, UserStatus: u.statusType(), Attributes: sdkAttrs(u.attrs)})
	}
	if end < len(names) {
		out.PaginationToken = ptr(strconv.Itoa(end))
	}
	return out, nil
}

func (f *fakePool) AdminInitiateAuth(ctx context.Context, in *cip.AdminInitiateAuthInput, optFns ...func(*cip.Options)) (*cip.AdminInitiateAuthOutput, error) {
	if err := f.record(ctx, "AdminInitiateAuth", optFns); err != nil {
		return nil, err
	}
	if *in.ClientId != "old-client" || in.AuthFlow != types.AuthFlowTypeAdminUserPasswordAuth {
		f.t.Errorf("AdminInitiateAuth with client %s, flow %s", *in.ClientId, in.AuthFlow)
	}
	name := in.AuthParameters["USERNAME"]
	u, ok := f.users[name]
	if !ok {
		return nil, &types.UserNotFoundException{Message: ptr("User " + name + " does not exist.")}
	}
	if u.statusType() == types.UserStatusTypeResetRequired {
		return nil, &types.PasswordResetRequiredException{Message: ptr("Password reset required for " + name)}
	}
	if u.password != in.AuthParameters["PASSWORD"] {
		return nil, &types.NotAuthorizedException{Message: ptr("Incorrect username or password for " + name + " (" + in.AuthParameters["PASSWORD"] + ")")}
	}
	if u.disabled {
		return nil, &types.NotAuthorizedException{Message: ptr("User is disabled.")}
	}
	if f.answer != nil {
		return f.answer, nil
	}
	challenge := u.challenge
	if u.statusType() == types.UserStatusTypeForceChangePassword {
		challenge = types.ChallengeNameTypeNewPasswordRequired
	}
	if challenge != "" {
		return &cip.AdminInitiateAuthOutput{ChallengeName: challenge, Session: ptr("session-never-logged"),
			ChallengeParameters: map[string]string{"USER_ID_FOR_SRP": name}}, nil
	}
	return &cip.AdminInitiateAuthOutput{AuthenticationResult: &types.AuthenticationResultType{AccessToken: ptr("token-never-logged")}}, nil
}

// oldPoolUsers are the old pool of the tests: subs carry no name, so a
// name in the log is one that leaked.
func oldPoolUsers() map[string]*fakeUser {
	verified := func(email string) map[string]string {
		return map[string]string{"email": email, "email_verified": "true"}
	}
	with := func(m map[string]string, kv ...string) map[string]string {
		for i := 0; i < len(kv); i += 2 {
			m[kv[i]] = kv[i+1]
		}
		return m
	}
	users := map[string]*fakeUser{
		"alice":             {password: "Secret-1a!", attrs: with(verified("alice@example.com"), "sub", "s-0001", "name", "Alice", "custom:tenant", "t1", "identities", "[]", "custom:prev_sub_id", "forged")},
		"dave":              {password: "Secret-1d!", disabled: true, attrs: with(verified("dave@example.com"), "sub", "s-0004")},
		"frank":             {password: "Secret-1f!", attrs: with(verified("shared@example.com"), "sub", "s-0006")},
		"frank2":            {password: "Secret-1g!", attrs: with(verified("shared@example.com"), "sub", "s-0007")},
		"frank3":            {password: "Secret-1h!", attrs: map[string]string{"sub": "s-0008", "email": "shared@example.com", "email_verified": "false"}},
		"victor":            {password: "Victor-Pass-1!", attrs: with(verified("victim@example.com"), "sub", "s-0010")},
		"mallory":           {password: "Mallory-Pass-1!", attrs: map[string]string{"sub": "s-0011", "email": "victim@example.com", "email_verified": "false"}},
		"eve":               {password: "Eve-Pass-1!", attrs: map[string]string{"sub": "s-0012", "email": "unclaimed@example.com"}},
		"smsuser":           {password: "Sms-Pass-1!", mfa: []string{"SMS_MFA"}, challenge: types.ChallengeNameTypeSmsMfa, attrs: with(verified("sms@example.com"), "sub", "s-0020", "phone_number", "+15550100", "phone_number_verified", "true")},
		"totpuser":          {password: "Totp-Pass-1!", mfa: []string{"SOFTWARE_TOKEN_MFA"}, challenge: types.ChallengeNameTypeSoftwareTokenMfa, attrs: with(verified("totp@example.com"), "sub", "s-0021")},
		"tempuser":          {password: "Temp-Pass-1!", status: types.UserStatusTypeForceChangePassword, attrs: with(verified("temp@example.com"), "sub", "s-0022")},
		"resetuser":         {password: "Reset-Pass-1!", status: types.UserStatusTypeResetRequired, attrs: with(verified("reset@example.com"), "sub", "s-0023")},
		"unconf-user":       {password: "Unconf-Pass-1!", status: types.UserStatusTypeUnconfirmed, attrs: with(verified("unconf@example.com"), "sub", "s-0024")},
		"Google_1097":       {status: types.UserStatusTypeExternalProvider, attrs: with(verified("fed@example.com"), "sub", "s-0025", "identities", `[{"providerName":"Google"}]`)},
		"carol@example.com": {password: "Carol-Pass-1!", attrs: map[string]string{"sub": "s-0030"}},
		"dan@example.com":   {password: "Dan-Pass-1!", attrs: with(verified("dan@example.com"), "sub", "s-0031")},
		// A user named like an address, not eligible, and an eligible
		// user who verified that address: the name wins, and refuses.
		"owner@example.com": {password: "Owner-Pass-1!", status: types.UserStatusTypeUnconfirmed, attrs: map[string]string{"sub": "s-0032"}},
		"realowner":         {password: "Owner-Pass-1!", attrs: with(verified("owner@example.com"), "sub", "s-0033")},
		"+15550199":         {password: "Phone-Pass-1!", attrs: map[string]string{"sub": "s-0034", "phone_number": "+15550199", "phone_number_verified": "false"}},
		// One verified user behind 70 who never verified the address,
		// and 400 who never did at another.
		"zz-gina": {password: "Gina-Pass-1!", attrs: with(verified("crowd@example.com"), "sub", "s-0040")},
	}
	for i := 0; i < 70; i++ {
		users[fmt.Sprintf("crowd%02d", i)] = &fakeUser{password: "Crowd-Pass-1!", attrs: map[string]string{"sub": fmt.Sprintf("s-1%03d", i), "email": "crowd@example.com", "email_verified": "false"}}
	}
	for i := 0; i < 400; i++ {
		users[fmt.Sprintf("flood%03d", i)] = &fakeUser{password: "Flood-Pass-1!", attrs: map[string]string{"sub": fmt.Sprintf("s-2%03d", i), "email": "flood@example.com"}}
	}
	return users
}
