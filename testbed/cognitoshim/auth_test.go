package cognitoshim_test

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	cip "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider"
	"github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider/types"

	"github.com/poolmigrate/poolmigrate/testbed/testenv"
)

// authPool is a pool for sign-in tests, with an app client allowing the
// admin password flow, and a way to add users with a permanent or a
// temporary password.
type authPool struct {
	t      *testing.T
	c      *cip.Client
	id     string
	client string
}

func newAuthPool(t *testing.T, env *testenv.Env, c *cip.Client, mfa types.UserPoolMfaType) *authPool {
	pool := env.NewPool(t, testenv.PoolOptions{MFA: mfa, AutoVerified: []types.VerifiedAttributeType{types.VerifiedAttributeTypeEmail}})
	out, err := c.CreateUserPoolClient(ctx, &cip.CreateUserPoolClientInput{UserPoolId: &pool, ClientName: aws.String("trigger"),
		ExplicitAuthFlows: []types.ExplicitAuthFlowsType{types.ExplicitAuthFlowsTypeAllowAdminUserPasswordAuth}})
	if err != nil {
		t.Fatal(err)
	}
	return &authPool{t: t, c: c, id: pool, client: *out.UserPoolClient.ClientId}
}

// add creates a user; permanent sets the password as permanent
// (CONFIRMED), else it stays the temporary one (FORCE_CHANGE_PASSWORD).
func (p *authPool) add(name, password string, permanent bool, attrs ...string) {
	p.t.Helper()
	in := &cip.AdminCreateUserInput{UserPoolId: &p.id, Username: aws.String(name), MessageAction: types.MessageActionTypeSuppress, TemporaryPassword: aws.String(password)}
	for i := 0; i+1 < len(attrs); i += 2 {
		in.UserAttributes = append(in.UserAttributes, types.AttributeType{Name: aws.String(attrs[i]), Value: aws.String(attrs[i+1])})
	}
	if _, err := p.c.AdminCreateUser(ctx, in); err != nil {
		p.t.Fatal(err)
	}
	if permanent {
		if _, err := p.c.AdminSetUserPassword(ctx, &cip.AdminSetUserPasswordInput{UserPoolId: &p.id, Username: aws.String(name), Password: aws.String(password), Permanent: true}); err != nil {
			p.t.Fatal(err)
		}
	}
}

func (p *authPool) signIn(name, password string) (*cip.AdminInitiateAuthOutput, error) {
	return p.c.AdminInitiateAuth(ctx, &cip.AdminInitiateAuthInput{UserPoolId: &p.id, ClientId: &p.client, AuthFlow: types.AuthFlowTypeAdminUserPasswordAuth,
		AuthParameters: map[string]string{"USERNAME": name, "PASSWORD": password}})
}

func (p *authPool) setMFA(name string, sms *types.SMSMfaSettingsType, soft *types.SoftwareTokenMfaSettingsType) error {
	_, err := p.c.AdminSetUserMFAPreference(ctx, &cip.AdminSetUserMFAPreferenceInput{UserPoolId: &p.id, Username: aws.String(name), SMSMfaSettings: sms, SoftwareTokenMfaSettings: soft})
	return err
}

func on(preferred bool) (*types.SMSMfaSettingsType, *types.SoftwareTokenMfaSettingsType) {
	return &types.SMSMfaSettingsType{Enabled: true, PreferredMfa: preferred}, &types.SoftwareTokenMfaSettingsType{Enabled: true, PreferredMfa: preferred}
}

// wantChallenge checks an answer is the challenge, with a session and no
// tokens.
func wantChallenge(t *testing.T, who string, out *cip.AdminInitiateAuthOutput, err error, name types.ChallengeNameType) {
	t.Helper()
	if err != nil {
		t.Fatalf("%s: %v", who, err)
	}
	if out.ChallengeName != name || aws.ToString(out.Session) == "" || out.AuthenticationResult != nil {
		t.Errorf("%s: challenge %q session %q tokens %v, want %s with a session and no tokens", who, out.ChallengeName, aws.ToString(out.Session), out.AuthenticationResult != nil, name)
	}
}

func wantError(t *testing.T, who string, err error, code string) {
	t.Helper()
	if apiCode(err) != code {
		t.Errorf("%s: %v, want %s", who, err, code)
	}
}

func TestAdminInitiateAuthChallengesLikeAWS(t *testing.T) {
	env := testenv.Require(t)
	c, _ := inProcess(t, env)
	p := newAuthPool(t, env, c, types.UserPoolMfaTypeOptional)
	p.add("plain", "Plain-Pass-1!", true, "email", "plain@example.com")
	p.add("temp", "Temp-Pass-1!", false, "email", "temp@example.com")
	p.add("sms", "Sms-Pass-1!", true, "phone_number", "+15550100123")
	p.add("totp", "Totp-Pass-1!", true)
	p.add("both", "Both-Pass-1!", true, "phone_number", "+15550100124")
	p.add("gone", "Gone-Pass-1!", true)
	smsOn, _ := on(true)
	_, totpOn := on(true)
	smsAlso, totpAlso := on(false)
	for _, set := range []struct {
		name string
		sms  *types.SMSMfaSettingsType
		totp *types.SoftwareTokenMfaSettingsType
	}{{"sms", smsOn, nil}, {"totp", nil, totpOn}, {"both", smsAlso, totpAlso}} {
		if err := p.setMFA(set.name, set.sms, set.totp); err != nil {
			t.Fatalf("MFA for %s: %v", set.name, err)
		}
	}
	if _, err := c.AdminDisableUser(ctx, &cip.AdminDisableUserInput{UserPoolId: &p.id, Username: aws.String("gone")}); err != nil {
		t.Fatal(err)
	}

	out, err := p.signIn("plain", "Plain-Pass-1!")
	if err != nil || out.AuthenticationResult == nil || aws.ToString(out.AuthenticationResult.AccessToken) == "" || out.ChallengeName != "" {
		t.Errorf("plain user: %v %+v", err, out)
	}
	out, err = p.signIn("temp", "Temp-Pass-1!")
	wantChallenge(t, "temporary password", out, err, types.ChallengeNameTypeNewPasswordRequired)
	if err == nil && (out.ChallengeParameters["USER_ID_FOR_SRP"] != "temp" || !strings.Contains(out.ChallengeParameters["userAttributes"], "temp@example.com")) {
		t.Errorf("NEW_PASSWORD_REQUIRED parameters: %v", out.ChallengeParameters)
	}
	out, err = p.signIn("sms", "Sms-Pass-1!")
	wantChallenge(t, "SMS MFA", out, err, types.ChallengeNameTypeSmsMfa)
	if err == nil && (out.ChallengeParameters["CODE_DELIVERY_DESTINATION"] != "+*******0123" || out.ChallengeParameters["CODE_DELIVERY_DELIVERY_MEDIUM"] != "SMS") {
		t.Errorf("SMS_MFA parameters: %v", out.ChallengeParameters)
	}
	out, err = p.signIn("totp", "Totp-Pass-1!")
	wantChallenge(t, "TOTP MFA", out, err, types.ChallengeNameTypeSoftwareTokenMfa)
	out, err = p.signIn("both", "Both-Pass-1!")
	wantChallenge(t, "two factors, none preferred", out, err, types.ChallengeNameTypeSelectMfaType)
	if err == nil && out.ChallengeParameters["MFAS_CAN_CHOOSE"] != `["SMS_MFA","SOFTWARE_TOKEN_MFA"]` {
		t.Errorf("SELECT_MFA_TYPE parameters: %v", out.ChallengeParameters)
	}

	// The password is checked first, by cognito-local, for every one of
	// them; a wrong one is AWS's NotAuthorizedException.
	for _, name := range []string{"plain", "temp", "sms", "totp", "both", "gone"} {
		_, err := p.signIn(name, "Wrong-Pass-1!")
		wantError(t, name+" with a wrong password", err, "NotAuthorizedException")
	}
	_, err = p.signIn("gone", "Gone-Pass-1!")
	wantError(t, "disabled user", err, "NotAuthorizedException")
	_, err = p.signIn("nobody", "Plain-Pass-1!")
	if err == nil {
		t.Error("an unknown user signed in")
	}

	// AdminGetUser reports the preferences as AWS does.
	for name, want := range map[string][2]string{"sms": {"[SMS_MFA]", "SMS_MFA"}, "totp": {"[SOFTWARE_TOKEN_MFA]", "SOFTWARE_TOKEN_MFA"}, "both": {"[SMS_MFA SOFTWARE_TOKEN_MFA]", ""}, "plain": {"[]", ""}} {
		u, err := c.AdminGetUser(ctx, &cip.AdminGetUserInput{UserPoolId: &p.id, Username: aws.String(name)})
		if err != nil {
			t.Fatal(err)
		}
		if got := strings.Join([]string{"[" + strings.Join(u.UserMFASettingList, " ") + "]", aws.ToString(u.PreferredMfaSetting)}, "|"); got != want[0]+"|"+want[1] {
			t.Errorf("%s: AdminGetUser reports %s, want %s|%s", name, got, want[0], want[1])
		}
	}

	// Turning a factor off ends its challenge.
	if err := p.setMFA("sms", &types.SMSMfaSettingsType{Enabled: false, PreferredMfa: false}, nil); err != nil {
		t.Fatal(err)
	}
	if out, err := p.signIn("sms", "Sms-Pass-1!"); err != nil || out.AuthenticationResult == nil {
		t.Errorf("SMS MFA turned off: %v %+v", err, out)
	}
}

func TestAdminSetUserMFAPreferenceRefusesWhatAWSRefuses(t *testing.T) {
	env := testenv.Require(t)
	c, _ := inProcess(t, env)
	p := newAuthPool(t, env, c, types.UserPoolMfaTypeOptional)
	p.add("nophone", "Nophone-Pass-1!", true)
	p.add("phone", "Phone-Pass-1!", true, "phone_number", "+15550100125")
	smsOn, totpOn := on(true)
	wantError(t, "SMS without a phone number", p.setMFA("nophone", smsOn, nil), "InvalidParameterException")
	wantError(t, "two preferred", p.setMFA("phone", smsOn, totpOn), "InvalidParameterException")
	wantError(t, "preferred but off", p.setMFA("phone", &types.SMSMfaSettingsType{Enabled: false, PreferredMfa: true}, nil), "InvalidParameterException")
	wantError(t, "unknown user", p.setMFA("nobody", smsOn, nil), "UserNotFoundException")
	_, err := c.AdminSetUserMFAPreference(ctx, &cip.AdminSetUserMFAPreferenceInput{UserPoolId: &p.id, Username: aws.String("phone"), EmailMfaSettings: &types.EmailMfaSettingsType{Enabled: true}})
	wantError(t, "email MFA", err, "InvalidParameterException")
	if out, err := p.signIn("phone", "Phone-Pass-1!"); err != nil || out.AuthenticationResult == nil {
		t.Errorf("refused settings changed the sign-in: %v %+v", err, out)
	}

	// MFA required: a factor cannot be turned off, and a user without
	// one is asked to set one up.
	req := newAuthPool(t, env, c, types.UserPoolMfaTypeOn)
	req.add("fresh", "Fresh-Pass-1!", true)
	out, err := req.signIn("fresh", "Fresh-Pass-1!")
	wantChallenge(t, "MFA required, no factor", out, err, types.ChallengeNameTypeMfaSetup)
	if err := req.setMFA("fresh", nil, totpOn); err != nil {
		t.Fatal(err)
	}
	wantError(t, "turning TOTP off where MFA is required", req.setMFA("fresh", nil, &types.SoftwareTokenMfaSettingsType{Enabled: false}), "InvalidParameterException")

	// MFA off in the pool: a user's factor is not asked for.
	off := newAuthPool(t, env, c, types.UserPoolMfaTypeOff)
	off.add("totp", "Totp-Pass-1!", true)
	if err := off.setMFA("totp", nil, totpOn); err != nil {
		t.Fatal(err)
	}
	if out, err := off.signIn("totp", "Totp-Pass-1!"); err != nil || out.AuthenticationResult == nil {
		t.Errorf("MFA off in the pool: %v %+v", err, out)
	}
}

func TestAdminInitiateAuthChecksTheClientAndTheImport(t *testing.T) {
	env := testenv.Require(t)
	c, _ := inProcess(t, env)
	p := newAuthPool(t, env, c, types.UserPoolMfaTypeOff)
	p.add("plain", "Plain-Pass-1!", true)
	other := newAuthPool(t, env, c, types.UserPoolMfaTypeOff)
	signInWith := func(client string, params map[string]string) error {
		params["USERNAME"], params["PASSWORD"] = "plain", "Plain-Pass-1!"
		_, err := c.AdminInitiateAuth(ctx, &cip.AdminInitiateAuthInput{UserPoolId: &p.id, ClientId: &client, AuthFlow: types.AuthFlowTypeAdminUserPasswordAuth, AuthParameters: params})
		return err
	}
	wantError(t, "a client of another pool", signInWith(other.client, map[string]string{}), "ResourceNotFoundException")
	srp, err := c.CreateUserPoolClient(ctx, &cip.CreateUserPoolClientInput{UserPoolId: &p.id, ClientName: aws.String("web")})
	if err != nil {
		t.Fatal(err)
	}
	wantError(t, "a client without the admin flow", signInWith(*srp.UserPoolClient.ClientId, map[string]string{}), "InvalidParameterException")
	secret, err := c.CreateUserPoolClient(ctx, &cip.CreateUserPoolClientInput{UserPoolId: &p.id, ClientName: aws.String("server"), GenerateSecret: true,
		ExplicitAuthFlows: []types.ExplicitAuthFlowsType{types.ExplicitAuthFlowsTypeAllowAdminUserPasswordAuth}})
	if err != nil {
		t.Fatal(err)
	}
	id := *secret.UserPoolClient.ClientId
	wantError(t, "no SECRET_HASH", signInWith(id, map[string]string{}), "NotAuthorizedException")
	wantError(t, "a wrong SECRET_HASH", signInWith(id, map[string]string{"SECRET_HASH": "d3Jvbmc="}), "NotAuthorizedException")
	m := hmac.New(sha256.New, []byte(aws.ToString(secret.UserPoolClient.ClientSecret)))
	m.Write([]byte("plain" + id))
	if err := signInWith(id, map[string]string{"SECRET_HASH": base64.StdEncoding.EncodeToString(m.Sum(nil))}); err != nil {
		t.Errorf("the right SECRET_HASH: %v", err)
	}
	if err := signInWith(p.client, map[string]string{}); err != nil {
		t.Errorf("the pool's own client: %v", err)
	}

	// A user the import created must reset the password, whatever is typed.
	job := runImport(t, c, p.id, csvFor(header(t, c, p.id), row("imported")))
	if job.ImportedUsers != 1 {
		t.Fatalf("import: %s %s", job.Status, aws.ToString(job.CompletionMessage))
	}
	_, err = p.signIn("imported", "Any-Pass-1!")
	wantError(t, "an imported user", err, "PasswordResetRequiredException")
}
