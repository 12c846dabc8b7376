package cognitoshim

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"sync"
)

// The admin sign-in as AWS answers it, where cognito-local hands out
// tokens: cognito-local checks the password (AdminInitiateAuth is
// forwarded first, so a wrong password is refused by the real check), and
// the shim then answers what AWS would instead of the tokens — a
// NEW_PASSWORD_REQUIRED challenge for a user in FORCE_CHANGE_PASSWORD, an
// MFA challenge for a user with a second factor, PasswordResetRequired for
// a user an import created. cognito-local lacks AdminSetUserMFAPreference:
// the shim keeps those preferences and reports them in AdminGetUser, as
// AWS does.
//
// Choices where AWS does not document its answer, written down:
//   - TOTP may be turned on before an authenticator is registered (AWS
//     documents that); such a user is challenged SOFTWARE_TOKEN_MFA.
//   - A pool with MFA ON and a user with no factor answers MFA_SETUP
//     (AWS may send an SMS instead when the pool can send one).
//   - No SMS is sent; the challenge names the masked number.
//   - Email MFA (Essentials tier and up) is not modelled: turning it on
//     is refused.
//   - The client-side InitiateAuth is cognito-local's own and does not
//     see the preferences kept here.

// mfaStore keeps each user's MFA preferences, by pool and username. Its
// zero value is ready to use.
type mfaStore struct {
	mu    sync.Mutex
	prefs map[string]mfaPrefs
}

type mfaPrefs struct {
	SMS, TOTP bool
	Preferred string // "", "SMS_MFA" or "SOFTWARE_TOKEN_MFA"
}

func (p mfaPrefs) enabled() []string {
	var out []string
	if p.SMS {
		out = append(out, "SMS_MFA")
	}
	if p.TOTP {
		out = append(out, "SOFTWARE_TOKEN_MFA")
	}
	return out
}

func (m *mfaStore) get(pool, username string) (mfaPrefs, bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	p, ok := m.prefs[pool+"\x00"+username]
	return p, ok
}

func (m *mfaStore) set(pool, username string, p mfaPrefs) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.prefs == nil {
		m.prefs = map[string]mfaPrefs{}
	}
	m.prefs[pool+"\x00"+username] = p
}

// present puts the user's preferences into an AdminGetUser answer as AWS
// reports them: UserMFASettingList and PreferredMfaSetting, absent when
// there are none.
func (m *mfaStore) present(pool string, u user) {
	p, ok := m.get(pool, u.username())
	if !ok {
		return
	}
	delete(u, "UserMFASettingList")
	delete(u, "PreferredMfaSetting")
	if list := p.enabled(); len(list) > 0 {
		u["UserMFASettingList"], _ = json.Marshal(list)
	}
	if p.Preferred != "" {
		u["PreferredMfaSetting"], _ = json.Marshal(p.Preferred)
	}
}

// prefsOf reads the preferences an AdminGetUser answer reports (the
// shim's, or cognito-local's own, set through its token-based calls).
func prefsOf(u user) mfaPrefs {
	var p mfaPrefs
	var list []string
	_ = json.Unmarshal(u["UserMFASettingList"], &list)
	for _, m := range list {
		p.SMS = p.SMS || m == "SMS_MFA"
		p.TOTP = p.TOTP || m == "SOFTWARE_TOKEN_MFA"
	}
	_ = json.Unmarshal(u["PreferredMfaSetting"], &p.Preferred)
	return p
}

func (u user) status() string {
	var s string
	_ = json.Unmarshal(u["UserStatus"], &s)
	return s
}

func (u user) enabled() bool {
	var b bool
	_ = json.Unmarshal(u["Enabled"], &b)
	return b
}

// getUser is AdminGetUser as the shim answers it (an imported user's
// RESET_REQUIRED, the MFA preferences); its attributes are under
// "Attributes", as ListUsers has them.
func (s *Server) getUser(r *http.Request, pool, username string) (user, *apiError) {
	body, _ := json.Marshal(map[string]string{"UserPoolId": pool, "Username": username})
	out, e := s.adminGetUser(r, body)
	if e != nil {
		return nil, e
	}
	u := out.(user)
	if _, ok := u["Attributes"]; !ok {
		u["Attributes"] = u["UserAttributes"]
	}
	return u, nil
}

type mfaSetting struct {
	Enabled, PreferredMfa *bool
}

func isTrue(b *bool) bool { return b != nil && *b }

func (s *Server) adminSetUserMFAPreference(r *http.Request, body []byte) (any, *apiError) {
	var in struct {
		UserPoolId, Username                                       string
		SMSMfaSettings, SoftwareTokenMfaSettings, EmailMfaSettings *mfaSetting
	}
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	if in.UserPoolId == "" || in.Username == "" {
		return nil, errInvalid("1 validation error detected: UserPoolId and Username must not be null")
	}
	if in.EmailMfaSettings != nil && (isTrue(in.EmailMfaSettings.Enabled) || isTrue(in.EmailMfaSettings.PreferredMfa)) {
		return nil, errInvalid("Email MFA needs the Essentials tier or higher, which the test bed does not model")
	}
	u, e := s.getUser(r, in.UserPoolId, in.Username)
	if e != nil {
		return nil, e
	}
	switch u.status() {
	case "RESET_REQUIRED":
		return nil, errOf("PasswordResetRequiredException", "Password reset required for the user")
	case "UNCONFIRMED":
		return nil, errOf("UserNotConfirmedException", "User is not confirmed.")
	}
	pool, e := s.describePool(r.Context(), in.UserPoolId)
	if e != nil {
		return nil, e
	}
	was := prefsOf(u)
	p := was
	for _, f := range []struct {
		setting *mfaSetting
		on      *bool
		name    string
	}{{in.SMSMfaSettings, &p.SMS, "SMS_MFA"}, {in.SoftwareTokenMfaSettings, &p.TOTP, "SOFTWARE_TOKEN_MFA"}} {
		// A settings object given is whole: what it leaves out is false
		// (the Go SDK does not send a false Enabled or PreferredMfa).
		if f.setting == nil {
			continue
		}
		*f.on = isTrue(f.setting.Enabled)
		if isTrue(f.setting.PreferredMfa) {
			p.Preferred = f.name
		} else if p.Preferred == f.name {
			p.Preferred = ""
		}
	}
	if in.SMSMfaSettings != nil && in.SoftwareTokenMfaSettings != nil && isTrue(in.SMSMfaSettings.PreferredMfa) && isTrue(in.SoftwareTokenMfaSettings.PreferredMfa) {
		return nil, errInvalid("Only one MFA method can be set as preferred.")
	}
	if p.SMS && !was.SMS && u.attr("phone_number") == "" {
		return nil, errInvalid("User does not have delivery config set to turn on SMS_MFA")
	}
	if pool.MfaConfiguration == "ON" && (was.SMS && !p.SMS || was.TOTP && !p.TOTP) {
		return nil, errInvalid("MFA is required in this user pool: a user's MFA method cannot be turned off, only the preferred one chosen")
	}
	if p.Preferred == "SMS_MFA" && !p.SMS || p.Preferred == "SOFTWARE_TOKEN_MFA" && !p.TOTP {
		explicit := in.SMSMfaSettings != nil && isTrue(in.SMSMfaSettings.PreferredMfa) || in.SoftwareTokenMfaSettings != nil && isTrue(in.SoftwareTokenMfaSettings.PreferredMfa)
		if explicit {
			return nil, errInvalid("The preferred MFA method must be enabled.")
		}
		p.Preferred = ""
	}
	s.mfa.set(in.UserPoolId, u.username(), p)
	return map[string]any{}, nil
}

func (s *Server) adminInitiateAuth(r *http.Request, body []byte) (any, *apiError) {
	var in struct {
		UserPoolId, ClientId, AuthFlow string
		AuthParameters                 map[string]string
	}
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	forward := func() (any, *apiError) {
		var out json.RawMessage
		if e := s.call(r.Context(), "AdminInitiateAuth", json.RawMessage(body), &out); e != nil {
			return nil, e
		}
		return out, nil
	}
	if out, e, ok := s.customInitiate(r, in.UserPoolId, in.ClientId, in.AuthFlow, in.AuthParameters); ok {
		return out, e // customauth.go
	}
	name, password := in.AuthParameters["USERNAME"], in.AuthParameters["PASSWORD"]
	if in.AuthFlow != "ADMIN_USER_PASSWORD_AUTH" || name == "" || password == "" {
		return forward() // cognito-local's own answer (or refusal)
	}
	if e := s.checkAuthClient(r, in.UserPoolId, in.ClientId, name, in.AuthParameters["SECRET_HASH"]); e != nil {
		return nil, e
	}
	u, e := s.getUser(r, in.UserPoolId, name)
	if e != nil {
		if e.Type == "UserNotFoundException" {
			return forward() // cognito-local runs the pool's user migration trigger, as AWS does
		}
		return nil, e
	}
	if u.status() == "EXTERNAL_PROVIDER" { // signs in through its provider only
		return nil, errOf("NotAuthorizedException", "Incorrect username or password.")
	}
	if u.status() == "RESET_REQUIRED" {
		return nil, errOf("PasswordResetRequiredException", "Password reset required for the user")
	}
	var tokens json.RawMessage
	if e := s.call(r.Context(), "AdminInitiateAuth", json.RawMessage(body), &tokens); e != nil {
		if e.Type == "InvalidPasswordException" { // cognito-local's name for a wrong password
			return nil, errOf("NotAuthorizedException", "Incorrect username or password.")
		}
		return nil, e
	}
	if !u.enabled() {
		return nil, errOf("NotAuthorizedException", "User is disabled.")
	}
	username := u.username()
	if u.status() == "FORCE_CHANGE_PASSWORD" {
		attrs := map[string]string{}
		for _, a := range u.attributes() {
			if a.Name != "sub" {
				attrs[a.Name] = a.Value
			}
		}
		shown, _ := json.Marshal(attrs)
		return challenge("NEW_PASSWORD_REQUIRED", map[string]string{"USER_ID_FOR_SRP": username, "requiredAttributes": "[]", "userAttributes": string(shown)}), nil
	}
	pool, e := s.describePool(r.Context(), in.UserPoolId)
	if e != nil {
		return nil, e
	}
	p := prefsOf(u)
	methods := p.enabled()
	switch {
	case pool.MfaConfiguration == "OFF":
		return tokens, nil
	case p.Preferred != "" && (p.Preferred == "SMS_MFA" && p.SMS || p.Preferred == "SOFTWARE_TOKEN_MFA" && p.TOTP):
		return mfaChallenge(p.Preferred, u), nil
	case len(methods) == 1:
		return mfaChallenge(methods[0], u), nil
	case len(methods) > 1:
		choose, _ := json.Marshal(methods)
		return challenge("SELECT_MFA_TYPE", map[string]string{"USER_ID_FOR_SRP": username, "MFAS_CAN_CHOOSE": string(choose)}), nil
	case pool.MfaConfiguration == "ON":
		return challenge("MFA_SETUP", map[string]string{"USER_ID_FOR_SRP": username, "MFAS_CAN_SETUP": `["SOFTWARE_TOKEN_MFA"]`}), nil
	}
	return tokens, nil
}

// checkAuthClient refuses what AWS refuses and cognito-local lets
// through: a client of another pool, a client that does not allow the
// admin password flow, and a missing or wrong SECRET_HASH for a client
// with a secret.
func (s *Server) checkAuthClient(r *http.Request, pool, clientID, username, secretHash string) *apiError {
	var out struct {
		UserPoolClient struct {
			ClientSecret      string
			ExplicitAuthFlows []string
		}
	}
	if e := s.call(r.Context(), "DescribeUserPoolClient", map[string]string{"UserPoolId": pool, "ClientId": clientID}, &out); e != nil {
		if e.Type == "ResourceNotFoundException" {
			return errOf("ResourceNotFoundException", "User pool client %s does not exist.", clientID)
		}
		return e
	}
	allowed := false
	for _, f := range out.UserPoolClient.ExplicitAuthFlows {
		allowed = allowed || f == "ALLOW_ADMIN_USER_PASSWORD_AUTH" || f == "ADMIN_NO_SRP_AUTH"
	}
	if !allowed {
		return errInvalid("Auth flow not enabled for this client")
	}
	if secret := out.UserPoolClient.ClientSecret; secret != "" {
		m := hmac.New(sha256.New, []byte(secret))
		m.Write([]byte(username + clientID))
		want := base64.StdEncoding.EncodeToString(m.Sum(nil))
		if secretHash == "" {
			return errOf("NotAuthorizedException", "Client %s is configured with secret but SECRET_HASH was not received", clientID)
		}
		if !hmac.Equal([]byte(secretHash), []byte(want)) {
			return errOf("NotAuthorizedException", "Unable to verify secret hash for client %s", clientID)
		}
	}
	return nil
}

func mfaChallenge(method string, u user) any {
	params := map[string]string{"USER_ID_FOR_SRP": u.username()}
	if method == "SMS_MFA" {
		phone := u.attr("phone_number")
		masked := "+*******"
		if len(phone) >= 4 {
			masked += phone[len(phone)-4:]
		}
		params["CODE_DELIVERY_DELIVERY_MEDIUM"] = "SMS"
		params["CODE_DELIVERY_DESTINATION"] = masked
	}
	return challenge(method, params)
}

// challenge is an AdminInitiateAuth answer with a challenge: a session to
// answer it with, and no tokens.
func challenge(name string, params map[string]string) any {
	session := make([]byte, 48)
	_, _ = rand.Read(session)
	return map[string]any{"ChallengeName": name, "ChallengeParameters": params, "Session": base64.StdEncoding.EncodeToString(session)}
}
