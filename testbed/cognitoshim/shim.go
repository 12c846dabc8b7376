// Package cognitoshim is the test bed's stand-in for the parts of the Cognito
// user pools API that no local emulator speaks: real pagination of ListUsers,
// ListUsersInGroup and ListGroups, GetCSVHeader, and the user import job API
// with its pre-signed upload. Everything else is forwarded to cognito-local.
//
// The shim is strict the way AWS documents it: it rejects what AWS rejects
// (page sizes over 60, tampered or expired tokens, a CSV whose header does not
// match, quoted values, unverified contacts, uploads with extra signed
// headers), so tests prove the tool works against AWS, not against a
// forgiving fake. Where AWS behaviour is undocumented the choice is written
// next to the code.
package cognitoshim

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"io"
	"log"
	"net/http"
	"strings"
	"sync"
	"time"
)

const targetPrefix = "AWSCognitoIdentityProviderService."

// Server is the shim. Create it with New.
type Server struct {
	upstream string
	client   *http.Client
	now      func() time.Time
	key      []byte // signs pagination tokens and upload URLs
	logf     func(format string, args ...any)

	userList *limiter // UserList quota (ListUsers, ListUsersInGroup); nil = off

	mu       sync.Mutex
	jobs     map[string]*importJob // by job id
	jobOrder []string
	// imported remembers users created by import jobs: AWS shows them as
	// RESET_REQUIRED, which cognito-local cannot store.
	imported  map[string]map[string]bool // pool id -> username
	roles     map[string]*iamRole
	stacks    map[string]*cfnStack // by name and by ARN
	functions map[string]*lambdaFunction
	mfa       mfaStore               // MFA preferences (AdminSetUserMFAPreference), which cognito-local lacks
	appsync   map[string]*appsyncAPI // by API id
	// What deploys a trigger: log groups, the Lambda's timing and what it
	// refused, pool settings cognito-local does not keep.
	logGroups    map[string]*logGroup
	lambdaTiming LambdaTiming
	lambdaEvents map[string]*LambdaEvents
	poolSettings map[string]map[string]json.RawMessage
	throttle     throttleSwitch // TooManyRequestsException on named operations, by account (throttle.go)
	accountKeys  accountKeys    // the testbed-N keys handed out (account.go)
	throttleSet  bool           // an option chose the rules (else AWSQuotas)
	shortEvery   int            // every n-th page is short (shortpage.go); 0: never
	fed          federation     // identity providers, links, federated users (federated.go)
	ident        identityStore  // Cognito Identity: identity pools and identities (identity.go)
	custom       customAuth     // CUSTOM_AUTH sessions, refresh tokens, trigger runtimes (customauth.go)
}

// Option configures a Server.
type Option func(*Server)

// WithClock sets the clock used for token and URL expiry and job dates.
func WithClock(now func() time.Time) Option { return func(s *Server) { s.now = now } }

// WithUserListRPS makes ListUsers and ListUsersInGroup answer
// TooManyRequestsException above rps requests per second, like the account's
// UserList quota (30 by default on AWS). Zero turns the limit off.
func WithUserListRPS(rps float64) Option {
	return func(s *Server) {
		if rps > 0 {
			s.userList = newLimiter(rps, s.now)
		}
	}
}

// WithLogger sets where the shim logs requests it rejects.
func WithLogger(logf func(format string, args ...any)) Option {
	return func(s *Server) { s.logf = logf }
}

// New returns a shim that forwards to cognito-local at upstream
// (http://127.0.0.1:9229).
func New(upstream string, opts ...Option) *Server {
	key := make([]byte, 32)
	if _, err := rand.Read(key); err != nil {
		panic(err)
	}
	s := &Server{
		upstream: strings.TrimRight(upstream, "/"),
		client:   &http.Client{Timeout: 60 * time.Second},
		now:      time.Now,
		key:      key,
		logf:     log.Printf,
		jobs:     map[string]*importJob{},
		imported: map[string]map[string]bool{},
		roles:    map[string]*iamRole{},

		lambdaTiming: DefaultLambdaTiming,
		shortEvery:   DefaultShortEvery,
	}
	for _, o := range opts {
		o(s)
	}
	// AWS's quotas hold unless an option chose other rules. They count
	// real time: a test clock (WithClock) moves dates for expiry and may
	// stand still, which would never refill a bucket.
	if !s.throttleSet {
		s.setThrottle(AWSQuotas(), time.Now)
	}
	return s
}

// ServeHTTP routes the Cognito JSON API and the import uploads.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if strings.HasPrefix(r.URL.Path, uploadPath) {
		s.serveUpload(w, r)
		return
	}
	if strings.HasPrefix(r.URL.Path, lambdaPrefix) {
		s.serveLambda(w, r)
		return
	}
	if r.URL.Path == appsyncPlantPath {
		s.plantAppSyncAPI(w, r)
		return
	}
	if strings.HasPrefix(r.URL.Path, appsyncPrefix) {
		s.serveAppSync(w, r)
		return
	}
	if r.URL.Path == lambdaRuntimePath {
		s.serveLambdaRuntime(w, r) // triggers.go
		return
	}
	if r.URL.Path == lambdaControlPath {
		s.serveLambdaControl(w, r)
		return
	}
	if r.URL.Path == stacksPath {
		s.plantStack(w, r)
		return
	}
	if r.URL.Path == FederatedSignInPath {
		s.serveFederatedSignIn(w, r)
		return
	}
	if r.URL.Path == accountsPath {
		s.serveAccounts(w, r) // account.go
		return
	}
	if r.URL.Path == throttlePath {
		s.serveThrottle(w, r)
		return
	}
	if strings.HasPrefix(r.URL.Path, importLogPath) {
		s.serveImportLog(w, r)
		return
	}
	if strings.HasPrefix(r.Header.Get("Content-Type"), "application/x-www-form-urlencoded") {
		s.serveQuery(w, r)
		return
	}
	if s.serveIdentityAPI(w, r) {
		return
	}
	target := r.Header.Get("X-Amz-Target")
	if strings.HasPrefix(target, logsTargetPrefix) {
		s.serveLogs(w, r, strings.TrimPrefix(target, logsTargetPrefix))
		return
	}
	if r.Method != http.MethodPost || !strings.HasPrefix(target, targetPrefix) {
		s.forward(w, r, nil)
		return
	}
	body, err := io.ReadAll(r.Body)
	if err != nil {
		writeError(w, errInternal("read request: %v", err))
		return
	}
	op := strings.TrimPrefix(target, targetPrefix)
	aerr := s.throttled(r, op)
	if aerr != nil {
		writeError(w, aerr)
		return
	}
	if body, aerr = s.foldRequest(r.Context(), op, body); aerr != nil {
		writeError(w, aerr)
		return
	}
	h, ok := s.handlers()[op]
	if !ok {
		s.forward(w, r, body)
		return
	}
	out, aerr := h(r, body)
	if aerr != nil {
		if aerr.Type != "InternalErrorException" {
			s.logf("cognito-shim: %s rejected: %s: %s", op, aerr.Type, aerr.Message)
		}
		writeError(w, aerr)
		return
	}
	writeJSON(w, out)
}

type handler func(r *http.Request, body []byte) (any, *apiError)

func (s *Server) handlers() map[string]handler {
	return map[string]handler{
		"ListUsers":                 s.listUsers,
		"ListUsersInGroup":          s.listUsersInGroup,
		"ListGroups":                s.listGroups,
		"AdminGetUser":              s.adminGetUser,
		"CreateGroup":               s.createGroup,
		"AdminCreateUser":           s.checkedForward("AdminCreateUser"),
		"AdminUpdateUserAttributes": s.checkedForward("AdminUpdateUserAttributes"),
		"GetCSVHeader":              s.getCSVHeader,
		"CreateUserImportJob":       s.createUserImportJob,
		"StartUserImportJob":        s.startUserImportJob,
		"DescribeUserImportJob":     s.describeUserImportJob,
		"ListUserImportJobs":        s.listUserImportJobs,
		"StopUserImportJob":         s.stopUserImportJob,
		"UpdateUserPool":            s.updateUserPool,
		"AdminInitiateAuth":         s.adminInitiateAuth,
		"AdminAddUserToGroup":       s.adminAddUserToGroup,
		"AdminSetUserMFAPreference": s.adminSetUserMFAPreference,
		"DescribeUserPool":          s.describeUserPool,
		"CreateUserPool":            s.createUserPool,
		"DeleteUserPool":            s.deleteUserPool,
		"CreateIdentityProvider":    s.createIdentityProvider,
		"DescribeIdentityProvider":  s.describeIdentityProvider,
		"ListIdentityProviders":     s.listIdentityProviders,
		"AdminLinkProviderForUser":  s.adminLinkProviderForUser,
		"ListUserPoolClients":       s.listUserPoolClients,
		// customauth.go
		"AdminRespondToAuthChallenge": s.adminRespondToAuthChallenge,
		"RevokeToken":                 s.revokeToken,
	}
}

// apiError is an error in the AWS JSON protocol's shape.
type apiError struct {
	Status  int
	Type    string
	Message string
}

func (e *apiError) Error() string { return e.Type + ": " + e.Message }

func errInvalid(format string, args ...any) *apiError {
	return &apiError{Status: 400, Type: "InvalidParameterException", Message: fmt.Sprintf(format, args...)}
}

func errInternal(format string, args ...any) *apiError {
	return &apiError{Status: 500, Type: "InternalErrorException", Message: fmt.Sprintf(format, args...)}
}

func errOf(typ, format string, args ...any) *apiError {
	return &apiError{Status: 400, Type: typ, Message: fmt.Sprintf(format, args...)}
}

func writeError(w http.ResponseWriter, e *apiError) {
	w.Header().Set("Content-Type", "application/x-amz-json-1.1")
	w.Header().Set("X-Amzn-ErrorType", e.Type)
	w.WriteHeader(e.Status)
	_ = json.NewEncoder(w).Encode(map[string]string{"__type": e.Type, "message": e.Message})
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/x-amz-json-1.1")
	_ = json.NewEncoder(w).Encode(v)
}

// forward passes a request to cognito-local unchanged.
func (s *Server) forward(w http.ResponseWriter, r *http.Request, body []byte) {
	if body == nil {
		var err error
		if body, err = io.ReadAll(r.Body); err != nil {
			writeError(w, errInternal("read request: %v", err))
			return
		}
	}
	req, err := http.NewRequestWithContext(r.Context(), r.Method, s.upstream+r.URL.RequestURI(), bytes.NewReader(body))
	if err != nil {
		writeError(w, errInternal("forward: %v", err))
		return
	}
	for k, v := range r.Header {
		req.Header[k] = v
	}
	resp, err := s.client.Do(req)
	if err != nil {
		writeError(w, errInternal("cognito-local unreachable at %s: %v", s.upstream, err))
		return
	}
	defer resp.Body.Close()
	for k, v := range resp.Header {
		w.Header()[k] = v
	}
	w.WriteHeader(resp.StatusCode)
	_, _ = io.Copy(w, resp.Body)
}

// call sends one operation to cognito-local and decodes its answer into out
// (when out is not nil). Upstream errors come back as apiErrors.
func (s *Server) call(ctx context.Context, op string, in any, out any) *apiError {
	body, err := json.Marshal(in)
	if err != nil {
		return errInternal("encode %s: %v", op, err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.upstream+"/", bytes.NewReader(body))
	if err != nil {
		return errInternal("%s: %v", op, err)
	}
	req.Header.Set("Content-Type", "application/x-amz-json-1.1")
	req.Header.Set("X-Amz-Target", targetPrefix+op)
	resp, err := s.client.Do(req)
	if err != nil {
		return errInternal("cognito-local unreachable at %s: %v", s.upstream, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		return errInternal("%s: read answer: %v", op, err)
	}
	if resp.StatusCode >= 300 {
		var e struct {
			Type    string `json:"__type"`
			Code    string `json:"code"`
			Message string `json:"message"`
		}
		_ = json.Unmarshal(data, &e)
		typ := e.Type
		if typ == "" {
			typ = e.Code
		}
		if i := strings.LastIndex(typ, "#"); i >= 0 {
			typ = typ[i+1:]
		}
		if typ == "" {
			typ = "InternalErrorException"
		}
		return &apiError{Status: resp.StatusCode, Type: typ, Message: e.Message}
	}
	if out != nil {
		if err := json.Unmarshal(data, out); err != nil {
			return errInternal("%s: decode answer: %v", op, err)
		}
	}
	return nil
}

// sign returns an HMAC of the parts, used to make tokens and URLs that the
// client cannot forge.
func (s *Server) sign(parts ...string) string {
	m := hmac.New(sha256.New, s.key)
	for _, p := range parts {
		m.Write([]byte(p))
		m.Write([]byte{0})
	}
	return fmt.Sprintf("%x", m.Sum(nil))
}

func decode(body []byte, v any) *apiError {
	if len(body) == 0 {
		body = []byte("{}")
	}
	if err := json.Unmarshal(body, v); err != nil {
		return errOf("SerializationException", "cannot parse request: %v", err)
	}
	return nil
}

func epoch(t time.Time) float64 {
	return float64(t.UnixNano()) / 1e9
}
