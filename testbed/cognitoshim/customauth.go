package cognitoshim

import (
	"bytes"
	"context"
	"crypto"
	"crypto/hmac"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"
)

// The custom authentication flow (AuthFlow CUSTOM_AUTH), which
// cognito-local does not run (its AdminInitiateAuth answers "unsupported"),
// as Cognito documents it: AdminInitiateAuth invokes the pool's
// DefineAuthChallenge trigger with an empty session; when it names
// CUSTOM_CHALLENGE, CreateAuthChallenge makes the challenge, and the caller
// gets ChallengeName CUSTOM_CHALLENGE, the public challenge parameters (and
// USERNAME) and a Session. AdminRespondToAuthChallenge with that session
// invokes VerifyAuthChallengeResponse with the private parameters and the
// ANSWER, appends the result to the session's history and asks Define
// again: fail (NotAuthorizedException), another challenge (a new Session),
// or tokens.
//
// The triggers run for real: each function the pool's LambdaConfig names
// must be one the shim's Lambda holds, with a resource policy letting
// cognito-idp.amazonaws.com invoke it for this pool, and a runtime a test
// registered (RunFunction: the Lambda Runtime Interface Emulator serving
// its bootstrap). The shim refuses what Cognito refuses: a client that does
// not allow ALLOW_CUSTOM_AUTH, a pool without the Define trigger, a missing
// or wrong SECRET_HASH, a disabled or unconfirmed user, an unknown, expired
// or already used Session, a Session answered through another client or for
// another user, and a trigger that fails or answers nonsense.
//
// Tokens are signed with cognito-local's own key (WithTokenKey: the key
// file cognito-local ships), with its key id and issuer, so they verify
// against the pool's JWKS as cognito-local's own tokens do. The refresh
// token is an opaque value the shim keeps: RevokeToken revokes it, and
// AdminInitiateAuth REFRESH_TOKEN_AUTH refuses it afterwards.
//
// Choices where AWS does not document its answer, written down:
//   - A function Cognito may not invoke, or one the test bed runs no code
//     for: UnexpectedLambdaException naming it.
//   - A trigger's error: UserLambdaValidationException "<Trigger> failed
//     with error <message>." (the form AWS uses for other triggers).
//   - PreventUserExistenceErrors is not modelled: an unknown user is
//     UserNotFoundException, and Define never sees userNotFound.
//   - The pool's PreTokenGeneration trigger (the V1 event: claims to add,
//     override or suppress in the ID token) runs for each token, and its
//     PostAuthentication trigger for each sign-in, as on AWS; the shim
//     invokes them as it does the custom-auth trio.

// sessionValidity is how long a Session may be answered when the client
// sets no AuthSessionValidity (Cognito's default: 3 minutes).
const sessionValidity = 3 * time.Minute

// customAuth is the state of custom sign-ins. Its zero value is ready
// (without a key: tokens cannot be signed).
type customAuth struct {
	mu       sync.Mutex
	key      *rsa.PrivateKey
	runtimes map[string]string // function name -> the runtime's invoke URL
	// envs holds one lock per runtime URL: a Lambda execution environment
	// (and the Runtime Interface Emulator that stands for one) takes one
	// invocation at a time. AWS runs concurrent invocations in separate
	// environments; the emulator panics or drops the second connection
	// (EOF), so the shim queues them as Lambda's scaling would absorb them.
	envs     map[string]*sync.Mutex
	sessions map[string]*authSession
	spent    map[string]time.Time // used sessions, until they would have expired
	refresh  map[string]*refreshGrant
}

type authSession struct {
	pool, client, username string
	private                map[string]string
	history                []map[string]any
	expires                time.Time
}

// WithTokenKey gives the shim the key cognito-local signs its tokens with:
// the contents of cognito-local's lib/keys/cognitoLocal.private.json (or a
// PEM RSA private key).
func WithTokenKey(keyFile []byte) Option {
	return func(s *Server) {
		key, err := parseTokenKey(keyFile)
		if err != nil {
			panic(fmt.Sprintf("cognitoshim.WithTokenKey: %v", err))
		}
		s.custom.key = key
	}
}

func parseTokenKey(data []byte) (*rsa.PrivateKey, error) {
	var f struct{ Pem string }
	if json.Unmarshal(data, &f) == nil && f.Pem != "" {
		data = []byte(f.Pem)
	}
	block, _ := pem.Decode(data)
	if block == nil {
		return nil, errors.New("no PEM key")
	}
	if k, err := x509.ParsePKCS1PrivateKey(block.Bytes); err == nil {
		return k, nil
	}
	k, err := x509.ParsePKCS8PrivateKey(block.Bytes)
	if err != nil {
		return nil, err
	}
	rk, ok := k.(*rsa.PrivateKey)
	if !ok {
		return nil, errors.New("not an RSA key")
	}
	return rk, nil
}

// RunFunction says where the code of the shim's Lambda function name runs:
// a Lambda Runtime Interface Emulator at endpoint (http://127.0.0.1:PORT).
func (s *Server) RunFunction(name, endpoint string) {
	s.custom.mu.Lock()
	defer s.custom.mu.Unlock()
	if s.custom.runtimes == nil {
		s.custom.runtimes = map[string]string{}
	}
	s.custom.runtimes[name] = strings.TrimRight(endpoint, "/") + "/2015-03-31/functions/function/invocations"
}

// lambdaRuntimePath: POST {"function": NAME, "endpoint": "http://127.0.0.1:PORT"}
// says where function NAME's code runs (RunFunction), for processes that
// share the test bed's shim (the demo).
const lambdaRuntimePath = "/_testbed/lambda/runtime"

func (s *Server) serveLambdaRuntime(w http.ResponseWriter, r *http.Request) {
	var in struct{ Function, Endpoint string }
	if r.Method != http.MethodPost || json.NewDecoder(io.LimitReader(r.Body, 4096)).Decode(&in) != nil || !functionNameRE.MatchString(in.Function) {
		http.Error(w, `POST {"function": NAME, "endpoint": "http://127.0.0.1:PORT"}`, http.StatusBadRequest)
		return
	}
	u, err := url.Parse(in.Endpoint)
	if err != nil || u.Scheme != "http" || net.ParseIP(u.Hostname()) == nil || !net.ParseIP(u.Hostname()).IsLoopback() {
		http.Error(w, "the endpoint must be http on a loopback address", http.StatusBadRequest)
		return
	}
	s.RunFunction(in.Function, in.Endpoint)
	w.WriteHeader(http.StatusNoContent)
}

// authClient is what a sign-in reads of an app client.
type authClient struct {
	ClientId, ClientSecret                                     string
	ExplicitAuthFlows                                          []string
	AuthSessionValidity                                        int
	IdTokenValidity, AccessTokenValidity, RefreshTokenValidity int
	TokenValidityUnits                                         map[string]string
}

// customClient reads the app client and refuses one that does not allow
// flow, or whose secret the caller did not prove.
func (s *Server) customClient(ctx context.Context, pool, clientID, username, secretHash string, flows ...string) (authClient, *apiError) {
	var out struct{ UserPoolClient authClient }
	if e := s.call(ctx, "DescribeUserPoolClient", map[string]string{"UserPoolId": pool, "ClientId": clientID}, &out); e != nil {
		if e.Type == "ResourceNotFoundException" {
			return authClient{}, errOf("ResourceNotFoundException", "User pool client %s does not exist.", clientID)
		}
		return authClient{}, e
	}
	c := out.UserPoolClient
	allowed := false
	for _, f := range c.ExplicitAuthFlows {
		for _, want := range flows {
			allowed = allowed || f == want
		}
	}
	if !allowed {
		return c, errInvalid("Auth flow not enabled for this client")
	}
	if c.ClientSecret != "" {
		m := hmac.New(sha256.New, []byte(c.ClientSecret))
		m.Write([]byte(username + clientID))
		want := base64.StdEncoding.EncodeToString(m.Sum(nil))
		if secretHash == "" {
			return c, errOf("NotAuthorizedException", "Client %s is configured with secret but SECRET_HASH was not received", clientID)
		}
		if !hmac.Equal([]byte(secretHash), []byte(want)) {
			return c, errOf("NotAuthorizedException", "Unable to verify secret hash for client %s", clientID)
		}
	}
	return c, nil
}

// customInitiate answers AdminInitiateAuth for CUSTOM_AUTH and for a refresh
// token the shim issued; ok is false for anything else (auth.go goes on).
func (s *Server) customInitiate(r *http.Request, pool, clientID, flow string, params map[string]string) (any, *apiError, bool) {
	switch flow {
	case "CUSTOM_AUTH":
		out, e := s.startCustomAuth(r, pool, clientID, params)
		return out, e, true
	case "REFRESH_TOKEN_AUTH", "REFRESH_TOKEN":
		s.custom.mu.Lock()
		g, ok := s.custom.refresh[params["REFRESH_TOKEN"]]
		s.custom.mu.Unlock()
		if !ok {
			return nil, nil, false // cognito-local's own token
		}
		out, e := s.refreshCustom(r, g, pool, clientID)
		return out, e, true
	}
	return nil, nil, false
}

func (s *Server) startCustomAuth(r *http.Request, pool, clientID string, params map[string]string) (any, *apiError) {
	name := params["USERNAME"]
	if name == "" {
		return nil, errInvalid("Missing required parameter USERNAME")
	}
	client, e := s.customClient(r.Context(), pool, clientID, name, params["SECRET_HASH"], "ALLOW_CUSTOM_AUTH", "CUSTOM_AUTH_FLOW_ONLY")
	if e != nil {
		return nil, e
	}
	triggers, e := s.customTriggers(r.Context(), pool)
	if e != nil {
		return nil, e
	}
	u, e := s.signInUser(r, pool, name)
	if e != nil {
		return nil, e
	}
	return s.nextChallenge(r.Context(), triggers, pool, client, u, nil)
}

// customTriggers reads the pool's three triggers; Define must be set.
func (s *Server) customTriggers(ctx context.Context, pool string) (map[string]string, *apiError) {
	var out struct {
		UserPool struct{ LambdaConfig map[string]any }
	}
	if e := s.call(ctx, "DescribeUserPool", map[string]string{"UserPoolId": pool}, &out); e != nil {
		return nil, e
	}
	t := map[string]string{}
	for _, k := range []string{"DefineAuthChallenge", "CreateAuthChallenge", "VerifyAuthChallengeResponse"} {
		t[k], _ = out.UserPool.LambdaConfig[k].(string)
	}
	if t["DefineAuthChallenge"] == "" {
		return nil, errInvalid("Custom auth lambda trigger is not configured for the user pool.")
	}
	return t, nil
}

// signInUser is the user a custom sign-in is for, refused as Cognito
// refuses a sign-in.
func (s *Server) signInUser(r *http.Request, pool, name string) (user, *apiError) {
	u, e := s.getUser(r, pool, name)
	if e != nil {
		return nil, e
	}
	switch {
	case !u.enabled():
		return nil, errOf("NotAuthorizedException", "User is disabled.")
	case u.status() == "UNCONFIRMED":
		return nil, errOf("UserNotConfirmedException", "User is not confirmed.")
	case u.status() == "RESET_REQUIRED":
		return nil, errOf("PasswordResetRequiredException", "Password reset required for the user")
	}
	return u, nil
}

func (u user) attributeMap() map[string]string {
	m := map[string]string{"cognito:user_status": u.status()}
	for _, a := range u.attributes() {
		m[a.Name] = a.Value
	}
	return m
}

// nextChallenge asks Define what follows history and answers with a
// challenge (a new Session) or tokens.
func (s *Server) nextChallenge(ctx context.Context, triggers map[string]string, pool string, client authClient, u user, history []map[string]any) (any, *apiError) {
	if history == nil {
		history = []map[string]any{}
	}
	attrs := u.attributeMap()
	var def struct {
		ChallengeName      string `json:"challengeName"`
		IssueTokens        bool   `json:"issueTokens"`
		FailAuthentication bool   `json:"failAuthentication"`
	}
	if e := s.invokeTrigger(ctx, triggers["DefineAuthChallenge"], "DefineAuthChallenge", pool, client.ClientId, u.username(),
		map[string]any{"userAttributes": attrs, "session": history, "userNotFound": false}, &def); e != nil {
		return nil, e
	}
	switch {
	case def.FailAuthentication:
		return nil, errOf("NotAuthorizedException", "Incorrect username or password.")
	case def.IssueTokens:
		return s.issueTokens(ctx, pool, client, u, "Authentication")
	case def.ChallengeName != "CUSTOM_CHALLENGE":
		return nil, errOf("InvalidLambdaResponseException", "DefineAuthChallenge named challenge %q, which the test bed does not model (only CUSTOM_CHALLENGE)", def.ChallengeName)
	}
	if triggers["CreateAuthChallenge"] == "" || triggers["VerifyAuthChallengeResponse"] == "" {
		return nil, errInvalid("Custom auth lambda trigger is not configured for the user pool.")
	}
	var created struct {
		Public   map[string]string `json:"publicChallengeParameters"`
		Private  map[string]string `json:"privateChallengeParameters"`
		Metadata string            `json:"challengeMetadata"`
	}
	if e := s.invokeTrigger(ctx, triggers["CreateAuthChallenge"], "CreateAuthChallenge", pool, client.ClientId, u.username(),
		map[string]any{"userAttributes": attrs, "challengeName": "CUSTOM_CHALLENGE", "session": history, "userNotFound": false}, &created); e != nil {
		return nil, e
	}
	params := map[string]string{}
	for k, v := range created.Public {
		params[k] = v
	}
	params["USERNAME"] = u.username()
	validity := sessionValidity
	if client.AuthSessionValidity >= 3 && client.AuthSessionValidity <= 15 {
		validity = time.Duration(client.AuthSessionValidity) * time.Minute
	}
	id := make([]byte, 48)
	_, _ = rand.Read(id)
	session := base64.StdEncoding.EncodeToString(id)
	next := append(history, map[string]any{"challengeName": "CUSTOM_CHALLENGE", "challengeResult": false, "challengeMetadata": created.Metadata})
	s.custom.mu.Lock()
	defer s.custom.mu.Unlock()
	if s.custom.sessions == nil {
		s.custom.sessions = map[string]*authSession{}
	}
	s.custom.sessions[session] = &authSession{pool: pool, client: client.ClientId, username: u.username(), private: created.Private,
		history: next, expires: s.now().Add(validity)}
	return map[string]any{"ChallengeName": "CUSTOM_CHALLENGE", "ChallengeParameters": params, "Session": session}, nil
}

// adminRespondToAuthChallenge answers a CUSTOM_CHALLENGE (the only
// challenge the shim issues a Session for that it does not forward).
func (s *Server) adminRespondToAuthChallenge(r *http.Request, body []byte) (any, *apiError) {
	var in struct {
		UserPoolId, ClientId, ChallengeName, Session string
		ChallengeResponses                           map[string]string
	}
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	if in.ChallengeName != "CUSTOM_CHALLENGE" {
		var out json.RawMessage
		if e := s.call(r.Context(), "AdminRespondToAuthChallenge", json.RawMessage(body), &out); e != nil {
			return nil, e
		}
		return out, nil
	}
	if in.Session == "" {
		return nil, errInvalid("Missing required parameter Session")
	}
	username := in.ChallengeResponses["USERNAME"]
	if username == "" || in.ChallengeResponses["ANSWER"] == "" {
		return nil, errInvalid("Missing required parameter USERNAME or ANSWER in ChallengeResponses")
	}
	now := s.now()
	s.custom.mu.Lock()
	sess, ok := s.custom.sessions[in.Session]
	delete(s.custom.sessions, in.Session) // a session answers once, right or wrong
	if s.custom.spent == nil {
		s.custom.spent = map[string]time.Time{}
	}
	for k, until := range s.custom.spent {
		if now.After(until) {
			delete(s.custom.spent, k)
		}
	}
	_, used := s.custom.spent[in.Session]
	if ok {
		s.custom.spent[in.Session] = sess.expires
	}
	s.custom.mu.Unlock()
	switch {
	case used:
		return nil, errOf("NotAuthorizedException", "Invalid session for the user, session can only be used once.")
	case !ok:
		return nil, errOf("NotAuthorizedException", "Invalid session for the user.")
	case now.After(sess.expires):
		return nil, errOf("NotAuthorizedException", "Invalid session for the user, session is expired.")
	case sess.pool != in.UserPoolId || sess.client != in.ClientId || sess.username != username:
		return nil, errOf("NotAuthorizedException", "Invalid session for the user.")
	}
	client, e := s.customClient(r.Context(), in.UserPoolId, in.ClientId, username, in.ChallengeResponses["SECRET_HASH"], "ALLOW_CUSTOM_AUTH", "CUSTOM_AUTH_FLOW_ONLY")
	if e != nil {
		return nil, e
	}
	triggers, e := s.customTriggers(r.Context(), in.UserPoolId)
	if e != nil {
		return nil, e
	}
	u, e := s.signInUser(r, in.UserPoolId, username)
	if e != nil {
		return nil, e
	}
	var verified struct {
		AnswerCorrect bool `json:"answerCorrect"`
	}
	if e := s.invokeTrigger(r.Context(), triggers["VerifyAuthChallengeResponse"], "VerifyAuthChallengeResponse", in.UserPoolId, in.ClientId, username,
		map[string]any{"userAttributes": u.attributeMap(), "privateChallengeParameters": sess.private, "challengeAnswer": in.ChallengeResponses["ANSWER"], "userNotFound": false}, &verified); e != nil {
		return nil, e
	}
	sess.history[len(sess.history)-1]["challengeResult"] = verified.AnswerCorrect
	return s.nextChallenge(r.Context(), triggers, in.UserPoolId, client, u, sess.history)
}

// invokeTrigger runs a trigger as Cognito does and decodes its response.
// The event's triggerSource is trigger_Authentication.
func (s *Server) invokeTrigger(ctx context.Context, arn, trigger, pool, clientID, username string, request map[string]any, response any) *apiError {
	return s.invokeAs(ctx, arn, trigger, trigger+"_Authentication", pool, clientID, username, request, response)
}

// invokeAs is invokeTrigger with the event's triggerSource given.
func (s *Server) invokeAs(ctx context.Context, arn, trigger, source, pool, clientID, username string, request map[string]any, response any) *apiError {
	_, name, ok := strings.Cut(arn, ":function:")
	if i := strings.IndexByte(name, ':'); i >= 0 {
		name = name[:i]
	}
	if !ok || name == "" {
		return errOf("UnexpectedLambdaException", "%s trigger %q is not a Lambda function ARN", trigger, arn)
	}
	if why := s.mayInvoke(name, pool); why != "" {
		return errOf("UnexpectedLambdaException", "Cognito cannot invoke the %s trigger %s: %s", trigger, arn, why)
	}
	s.custom.mu.Lock()
	url := s.custom.runtimes[name]
	env := s.custom.envs[url]
	if env == nil && url != "" {
		if s.custom.envs == nil {
			s.custom.envs = map[string]*sync.Mutex{}
		}
		env = &sync.Mutex{}
		s.custom.envs[url] = env
	}
	s.custom.mu.Unlock()
	if url == "" {
		return errOf("UnexpectedLambdaException", "the test bed runs no code for function %s (register its runtime with Server.RunFunction)", name)
	}
	env.Lock()
	defer env.Unlock()
	ev := map[string]any{"version": "1", "region": s.region(), "userPoolId": pool, "userName": username,
		"callerContext": map[string]string{"awsSdkVersion": "aws-sdk-unknown-unknown", "clientId": clientID},
		"triggerSource": source, "request": request, "response": map[string]any{}}
	body, _ := json.Marshal(ev)
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second) // Cognito waits 5 seconds for a trigger
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return errInternal("invoke %s: %v", name, err)
	}
	resp, err := s.client.Do(req)
	if err != nil {
		return errOf("UnexpectedLambdaException", "%s trigger %s did not answer: %v", trigger, name, err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	var out struct {
		Response     json.RawMessage `json:"response"`
		ErrorMessage string          `json:"errorMessage"`
		ErrorType    string          `json:"errorType"`
	}
	if json.Unmarshal(data, &out) != nil || resp.StatusCode != http.StatusOK {
		return errOf("InvalidLambdaResponseException", "Invalid lambda response from %s (HTTP %d)", trigger, resp.StatusCode)
	}
	if out.ErrorMessage != "" || out.ErrorType != "" || resp.Header.Get("X-Amz-Function-Error") != "" {
		return errOf("UserLambdaValidationException", "%s failed with error %s.", trigger, out.ErrorMessage)
	}
	if len(out.Response) == 0 || json.Unmarshal(out.Response, response) != nil {
		return errOf("InvalidLambdaResponseException", "Invalid lambda response from %s", trigger)
	}
	return nil
}

// mayInvoke says why Cognito may not invoke function name for pool: the
// shim's Lambda must hold it and its policy let cognito-idp.amazonaws.com
// invoke it with the pool as the source ("" when it may).
func (s *Server) mayInvoke(name, pool string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	f, ok := s.functions[name]
	if !ok {
		return "no such function"
	}
	for _, st := range f.Policy {
		who, _ := st["Principal"].(map[string]string)
		cond, _ := st["Condition"].(map[string]any)
		like, _ := cond["ArnLike"].(map[string]string)
		if st["Effect"] == "Allow" && who["Service"] == "cognito-idp.amazonaws.com" && strings.HasSuffix(like["AWS:SourceArn"], ":userpool/"+pool) {
			return ""
		}
	}
	return "its resource policy does not let cognito-idp.amazonaws.com invoke it for this pool"
}

// issueTokens signs the user's tokens as cognito-local does (its key, key
// id and issuer) and keeps the refresh token.
func (s *Server) issueTokens(ctx context.Context, pool string, client authClient, u user, source string) (any, *apiError) {
	if s.custom.key == nil {
		return nil, errInternal("the shim was started without cognito-local's token key (WithTokenKey): it cannot sign tokens")
	}
	now := s.now()
	sub := u.attr("sub")
	var groups struct{ Groups []struct{ GroupName string } }
	if e := s.call(ctx, "AdminListGroupsForUser", map[string]string{"UserPoolId": pool, "Username": u.username()}, &groups); e != nil {
		return nil, e
	}
	eventID, jti := newID(), newID()
	idClaims := map[string]any{"sub": sub, "aud": client.ClientId, "token_use": "id", "cognito:username": u.username(),
		"auth_time": now.Unix(), "iat": now.Unix(), "exp": now.Add(client.validity("IdToken")).Unix(), "event_id": eventID, "jti": jti, "origin_jti": jti,
		"iss": s.upstream + "/" + pool}
	for _, a := range u.attributes() {
		switch {
		case a.Name == "sub":
		case a.Name == "email_verified" || a.Name == "phone_number_verified":
			idClaims[a.Name] = a.Value == "true"
		default:
			idClaims[a.Name] = a.Value
		}
	}
	accessClaims := map[string]any{"sub": sub, "client_id": client.ClientId, "token_use": "access", "scope": "aws.cognito.signin.user.admin",
		"username": u.username(), "auth_time": now.Unix(), "iat": now.Unix(), "exp": now.Add(client.validity("AccessToken")).Unix(),
		"event_id": eventID, "jti": newID(), "origin_jti": jti, "iss": s.upstream + "/" + pool}
	if len(groups.Groups) > 0 {
		var names []string
		for _, g := range groups.Groups {
			names = append(names, g.GroupName)
		}
		idClaims["cognito:groups"], accessClaims["cognito:groups"] = names, names
	}
	if e := s.tokenTriggers(ctx, pool, client, u, source, idClaims); e != nil {
		return nil, e
	}
	idToken, err := s.signJWT(idClaims)
	if err != nil {
		return nil, errInternal("sign the ID token: %v", err)
	}
	accessToken, err := s.signJWT(accessClaims)
	if err != nil {
		return nil, errInternal("sign the access token: %v", err)
	}
	refresh := make([]byte, 64)
	_, _ = rand.Read(refresh)
	refreshToken := base64.RawURLEncoding.EncodeToString(refresh)
	s.custom.mu.Lock()
	if s.custom.refresh == nil {
		s.custom.refresh = map[string]*refreshGrant{}
	}
	s.custom.refresh[refreshToken] = &refreshGrant{pool: pool, client: client.ClientId, username: u.username(), expires: now.Add(client.validity("RefreshToken"))}
	s.custom.mu.Unlock()
	return map[string]any{"ChallengeParameters": map[string]string{}, "AuthenticationResult": map[string]any{
		"IdToken": idToken, "AccessToken": accessToken, "RefreshToken": refreshToken, "TokenType": "Bearer",
		"ExpiresIn": int(client.validity("AccessToken") / time.Second)}}, nil
}

// reservedClaims are the ID token's claims a PreTokenGeneration trigger
// may not change (Cognito ignores them there).
var reservedClaims = map[string]bool{"acr": true, "amr": true, "aud": true, "at_hash": true, "auth_time": true, "azp": true, "cognito:username": true,
	"exp": true, "iat": true, "identities": true, "iss": true, "jti": true, "nbf": true, "nonce": true, "origin_jti": true, "sub": true, "token_use": true}

// tokenTriggers runs the pool's PreTokenGeneration trigger on the ID
// token's claims (claims to add, override or suppress) and, for a sign-in,
// its PostAuthentication trigger, as Cognito does for every token it
// issues; either failing fails the sign-in.
func (s *Server) tokenTriggers(ctx context.Context, pool string, client authClient, u user, source string, idClaims map[string]any) *apiError {
	var out struct {
		UserPool struct {
			LambdaConfig struct {
				PreTokenGeneration, PostAuthentication string
				PreTokenGenerationConfig               struct{ LambdaArn string }
			}
		}
	}
	if e := s.call(ctx, "DescribeUserPool", map[string]string{"UserPoolId": pool}, &out); e != nil {
		return e
	}
	lc := out.UserPool.LambdaConfig
	pre := lc.PreTokenGeneration
	if lc.PreTokenGenerationConfig.LambdaArn != "" {
		pre = lc.PreTokenGenerationConfig.LambdaArn
	}
	if pre != "" {
		var resp struct {
			ClaimsOverrideDetails struct {
				ClaimsToAddOrOverride map[string]any `json:"claimsToAddOrOverride"`
				ClaimsToSuppress      []string       `json:"claimsToSuppress"`
			} `json:"claimsOverrideDetails"`
		}
		if e := s.invokeAs(ctx, pre, "PreTokenGeneration", "TokenGeneration_"+source, pool, client.ClientId, u.username(),
			map[string]any{"userAttributes": u.attributeMap(), "groupConfiguration": map[string]any{}}, &resp); e != nil {
			return e
		}
		for k, v := range resp.ClaimsOverrideDetails.ClaimsToAddOrOverride {
			if !reservedClaims[k] {
				idClaims[k] = v
			}
		}
		for _, k := range resp.ClaimsOverrideDetails.ClaimsToSuppress {
			if !reservedClaims[k] {
				delete(idClaims, k)
			}
		}
	}
	if lc.PostAuthentication != "" && source == "Authentication" {
		var resp map[string]any
		if e := s.invokeAs(ctx, lc.PostAuthentication, "PostAuthentication", "PostAuthentication_Authentication", pool, client.ClientId, u.username(),
			map[string]any{"userAttributes": u.attributeMap(), "newDeviceUsed": false}, &resp); e != nil {
			return e
		}
	}
	return nil
}

// validity is how long a token of kind (IdToken, AccessToken, RefreshToken)
// lives for the client: its setting, or Cognito's default (an hour; 30 days
// for the refresh token).
func (c authClient) validity(kind string) time.Duration {
	v, unit := 0, c.TokenValidityUnits[kind]
	switch kind {
	case "IdToken":
		v = c.IdTokenValidity
	case "AccessToken":
		v = c.AccessTokenValidity
	case "RefreshToken":
		v = c.RefreshTokenValidity
	}
	if v <= 0 {
		if kind == "RefreshToken" {
			return 30 * 24 * time.Hour
		}
		return time.Hour
	}
	switch unit {
	case "seconds":
		return time.Duration(v) * time.Second
	case "minutes":
		return time.Duration(v) * time.Minute
	case "hours":
		return time.Duration(v) * time.Hour
	case "days":
		return time.Duration(v) * 24 * time.Hour
	}
	if kind == "RefreshToken" {
		return time.Duration(v) * 24 * time.Hour // days by default
	}
	return time.Duration(v) * time.Hour
}

// signJWT is an RS256 JWT of claims, with cognito-local's key id.
func (s *Server) signJWT(claims map[string]any) (string, error) {
	head, _ := json.Marshal(map[string]string{"alg": "RS256", "typ": "JWT", "kid": "CognitoLocal"})
	body, err := json.Marshal(claims)
	if err != nil {
		return "", err
	}
	signed := base64.RawURLEncoding.EncodeToString(head) + "." + base64.RawURLEncoding.EncodeToString(body)
	sum := sha256.Sum256([]byte(signed))
	sig, err := rsa.SignPKCS1v15(rand.Reader, s.custom.key, crypto.SHA256, sum[:])
	if err != nil {
		return "", err
	}
	return signed + "." + base64.RawURLEncoding.EncodeToString(sig), nil
}

func newID() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:])
}
