package cognitoshim

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"net/http"
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
// or tokens. This file holds the flow; triggers.go runs the triggers and
// tokens.go signs the tokens.
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
