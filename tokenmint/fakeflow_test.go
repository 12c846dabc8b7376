package tokenmint

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"github.com/poolmigrate/poolmigrate/tokenmint/trio"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	cip "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider"
	ctypes "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider/types"
)

// fakeFlow is Cognito's custom-auth session loop, in memory, with the
// handler as the pool's three triggers (the shim runs the same loop for
// real, in testbed/cognitoshim/customauth.go): Define → Create → a
// CUSTOM_CHALLENGE with a session → the answer → Verify → Define → tokens.
// Sessions are single use.
type fakeFlow struct {
	h     *trio.Handler
	pool  string
	users map[string]string // username -> sub

	mu       sync.Mutex
	sessions map[string]*fakeSession
	n        int
	revoked  []string
	issued   []string // refresh tokens
	// idTokenUse is the token_use the ID token says (default "id").
	idTokenUse string
}

// fakeJWT is an unsigned token with the claims Mint reads.
func fakeJWT(sub, client, use string) string {
	if use == "" {
		use = "id"
	}
	body, _ := json.Marshal(map[string]string{"sub": sub, "aud": client, "token_use": use})
	return "eyJhbGciOiJub25lIn0." + base64.RawURLEncoding.EncodeToString(body) + ".sig"
}

type fakeSession struct {
	client, username string
	private          map[string]string
	history          []*events.CognitoEventUserPoolsChallengeResult
}

func newFakeFlow(h *trio.Handler, pool string, users map[string]string) *fakeFlow {
	return &fakeFlow{h: h, pool: pool, users: users, sessions: map[string]*fakeSession{}}
}

var errNotAuthorized = errors.New("NotAuthorizedException: Incorrect username or password")

func (f *fakeFlow) header(source, client, username string) events.CognitoEventUserPoolsHeader {
	return events.CognitoEventUserPoolsHeader{TriggerSource: source, UserPoolID: f.pool, UserName: username,
		CallerContext: events.CognitoEventUserPoolsCallerContext{ClientID: client}}
}

func (f *fakeFlow) attrs(username string) map[string]string {
	return map[string]string{"sub": f.users[username], "email": username + "@example.com"}
}

// next asks Define what comes after history, and makes the challenge or
// the tokens.
func (f *fakeFlow) next(ctx context.Context, client, username string, history []*events.CognitoEventUserPoolsChallengeResult) (string, map[string]string, *ctypes.AuthenticationResultType, error) {
	def := events.CognitoEventUserPoolsDefineAuthChallenge{CognitoEventUserPoolsHeader: f.header(trio.SourceDefine, client, username)}
	def.Request.UserAttributes, def.Request.Session = f.attrs(username), history
	d, err := f.h.Define(ctx, def)
	if err != nil {
		return "", nil, nil, err
	}
	switch {
	case d.Response.FailAuthentication:
		return "", nil, nil, errNotAuthorized
	case d.Response.IssueTokens:
		f.mu.Lock()
		defer f.mu.Unlock()
		f.n++
		refresh := fmt.Sprintf("refresh-%d", f.n)
		f.issued = append(f.issued, refresh)
		return "", nil, &ctypes.AuthenticationResultType{IdToken: aws.String(fakeJWT(f.users[username], client, f.idTokenUse)), AccessToken: aws.String("access"), RefreshToken: &refresh}, nil
	case d.Response.ChallengeName != trio.ChallengeName:
		return "", nil, nil, fmt.Errorf("define answered %q", d.Response.ChallengeName)
	}
	cr := events.CognitoEventUserPoolsCreateAuthChallenge{CognitoEventUserPoolsHeader: f.header(trio.SourceCreate, client, username)}
	cr.Request.UserAttributes, cr.Request.ChallengeName, cr.Request.Session = f.attrs(username), trio.ChallengeName, history
	c, err := f.h.Create(ctx, cr)
	if err != nil {
		return "", nil, nil, fmt.Errorf("UserLambdaValidationException: CreateAuthChallenge failed with error %v", err)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.n++
	id := fmt.Sprintf("session-%d", f.n)
	f.sessions[id] = &fakeSession{client: client, username: username, private: c.Response.PrivateChallengeParameters,
		history: append(history, &events.CognitoEventUserPoolsChallengeResult{ChallengeName: trio.ChallengeName, ChallengeMetadata: c.Response.ChallengeMetadata})}
	params := map[string]string{"USERNAME": username}
	for k, v := range c.Response.PublicChallengeParameters {
		params[k] = v
	}
	return id, params, nil, nil
}

func (f *fakeFlow) AdminInitiateAuth(ctx context.Context, in *cip.AdminInitiateAuthInput, _ ...func(*cip.Options)) (*cip.AdminInitiateAuthOutput, error) {
	username := in.AuthParameters["USERNAME"]
	if in.AuthFlow != ctypes.AuthFlowTypeCustomAuth || aws.ToString(in.UserPoolId) != f.pool {
		return nil, errors.New("InvalidParameterException")
	}
	if _, ok := f.users[username]; !ok {
		return nil, errors.New("UserNotFoundException")
	}
	session, params, tokens, err := f.next(ctx, aws.ToString(in.ClientId), username, nil)
	if err != nil {
		return nil, err
	}
	if tokens != nil {
		return &cip.AdminInitiateAuthOutput{AuthenticationResult: tokens}, nil
	}
	return &cip.AdminInitiateAuthOutput{ChallengeName: ctypes.ChallengeNameTypeCustomChallenge, ChallengeParameters: params, Session: &session}, nil
}

func (f *fakeFlow) AdminRespondToAuthChallenge(ctx context.Context, in *cip.AdminRespondToAuthChallengeInput, _ ...func(*cip.Options)) (*cip.AdminRespondToAuthChallengeOutput, error) {
	f.mu.Lock()
	s, ok := f.sessions[aws.ToString(in.Session)]
	delete(f.sessions, aws.ToString(in.Session)) // single use
	f.mu.Unlock()
	if !ok || s.client != aws.ToString(in.ClientId) || s.username != in.ChallengeResponses["USERNAME"] {
		return nil, errors.New("NotAuthorizedException: Invalid session for the user")
	}
	v := events.CognitoEventUserPoolsVerifyAuthChallenge{CognitoEventUserPoolsHeader: f.header(trio.SourceVerify, s.client, s.username)}
	v.Request.UserAttributes, v.Request.PrivateChallengeParameters, v.Request.ChallengeAnswer = f.attrs(s.username), s.private, in.ChallengeResponses["ANSWER"]
	out, err := f.h.Verify(ctx, v)
	if err != nil {
		return nil, err
	}
	s.history[len(s.history)-1].ChallengeResult = out.Response.AnswerCorrect
	session, params, tokens, err := f.next(ctx, s.client, s.username, s.history)
	if err != nil {
		return nil, err
	}
	if tokens != nil {
		return &cip.AdminRespondToAuthChallengeOutput{AuthenticationResult: tokens}, nil
	}
	return &cip.AdminRespondToAuthChallengeOutput{ChallengeName: ctypes.ChallengeNameTypeCustomChallenge, ChallengeParameters: params, Session: &session}, nil
}

func (f *fakeFlow) RevokeToken(_ context.Context, in *cip.RevokeTokenInput, _ ...func(*cip.Options)) (*cip.RevokeTokenOutput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.revoked = append(f.revoked, aws.ToString(in.Token))
	return &cip.RevokeTokenOutput{}, nil
}

// logLines collects a handler's log.
type logLines struct {
	mu    sync.Mutex
	lines []string
}

func (l *logLines) logf(format string, args ...any) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.lines = append(l.lines, fmt.Sprintf(format, args...))
}

func (l *logLines) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return strings.Join(l.lines, "\n")
}

func (l *logLines) last() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.lines) == 0 {
		return ""
	}
	return l.lines[len(l.lines)-1]
}

// clock is a test's clock.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}
