package cognitoshim

import (
	"crypto/rand"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"strings"
	"sync"
	"time"
)

// Cognito Identity (identity pools, the `cognito-identity` service, JSON
// 1.1 with X-Amz-Target AWSCognitoIdentityService.*), which no local
// emulator models with AWS's login semantics: the identity pool API
// (Create/Describe/Update/List/DeleteIdentityPool, identitypool.go) and
// the identities in a pool (GetId, ListIdentities, DescribeIdentity,
// DeleteIdentities, UnlinkIdentity, identities.go), for user-pool logins
// only. This file holds the model and the dispatch.
//
// A login is a provider name, `cognito-idp.<region>.amazonaws.com/<poolId>`,
// and an ID token of that user pool. The identity of a login is keyed by
// the provider name and the token's `sub`: the same login always answers
// the same identity id; several logins in one GetId are linked to one
// identity. A token is checked the way AWS checks it (identitytoken.go):
// the pool must list its provider and its client (`aud`), its signature
// must verify against the user pool's JWKS (cognito-local serves one at
// /<poolId>/.well-known/jwks.json), its issuer must be that user pool, it
// must not have expired; anything else is NotAuthorizedException.
//
// Choices where AWS does not document its answer, written down:
//   - Logins in one GetId that already belong to two different identities
//     are refused with ResourceConflictException and nothing changes. The
//     GetId reference lists that error as "thrown when a user tries to use a
//     login which is already linked to another account"; merging identities
//     is documented only for developer-authenticated ones
//     (MergeDeveloperIdentities: "Only developer-authenticated users can be
//     merged"). A login for a provider the identity already holds with
//     another sub is refused the same way (MergeDeveloperIdentities: users
//     "associated with the same public provider, but as two different users"
//     throw).
//   - Linking a login beyond the 20 an identity may hold is refused with
//     LimitExceededException.
//   - DeleteIdentities answers an identity id it does not hold (deleted,
//     never created, another pool's region) as unprocessed with ErrorCode
//     AccessDenied, the documented code for an identity the caller may not
//     delete; the others are deleted.
//   - The test bed's region is us-east-1 (Server.region): identity pool and
//     identity ids start with it, and provider names must name it (or the
//     region prefix of the user pool id, "local" for cognito-local's, as
//     AWS's pool ids start with their region). The
//     tokens' issuer is cognito-local's (http://127.0.0.1:PORT/<poolId>),
//     which stands for https://cognito-idp.us-east-1.amazonaws.com/<poolId>.
//   - Roles (SetIdentityPoolRoles), credentials (GetCredentialsForIdentity),
//     developer and OpenID Connect/SAML/social providers are not modelled:
//     those operations answer InvalidParameterException "not supported by the
//     test bed" rather than pretending.

const identityTargetPrefix = "AWSCognitoIdentityService."

// AWS's documented limits.
const (
	maxLoginsPerCall     = 10 // GetId's Logins map
	maxLoginsPerIdentity = 20 // linked logins of one identity
	maxIdentityPage      = 60 // ListIdentities, ListIdentityPools
	maxDeleteIdentities  = 60
)

type cognitoProvider struct {
	ProviderName         string
	ClientId             string
	ServerSideTokenCheck bool
}

// identityPoolConfig is the IdentityPool shape of the API (Create, Update
// and Describe).
type identityPoolConfig struct {
	IdentityPoolId                 string            `json:"IdentityPoolId,omitempty"`
	IdentityPoolName               string            `json:"IdentityPoolName"`
	AllowUnauthenticatedIdentities *bool             `json:"AllowUnauthenticatedIdentities"`
	AllowClassicFlow               *bool             `json:"AllowClassicFlow,omitempty"`
	SupportedLoginProviders        map[string]string `json:"SupportedLoginProviders,omitempty"`
	DeveloperProviderName          string            `json:"DeveloperProviderName,omitempty"`
	OpenIdConnectProviderARNs      []string          `json:"OpenIdConnectProviderARNs,omitempty"`
	CognitoIdentityProviders       []cognitoProvider `json:"CognitoIdentityProviders,omitempty"`
	SamlProviderARNs               []string          `json:"SamlProviderARNs,omitempty"`
	IdentityPoolTags               map[string]string `json:"IdentityPoolTags,omitempty"`
}

type identityLogin struct{ provider, sub string }

type identityRecord struct {
	id       string
	logins   []identityLogin // in the order they were linked
	created  time.Time
	modified time.Time
	seq      int64 // creation order, for ListIdentities
}

type identityPool struct {
	cfg        identityPoolConfig
	identities map[string]*identityRecord // by identity id
	byLogin    map[identityLogin]string   // login -> identity id
}

// identityStore is the shim's identity pools, by id.
type identityStore struct {
	mu    sync.Mutex
	pools map[string]*identityPool
	seq   int64
	jwks  jwksCache
}

var (
	identityPoolIDRE   = regexp.MustCompile(`^[\w-]+:[0-9a-f-]+$`)
	identityPoolNameRE = regexp.MustCompile(`^[\w\s+=,.@-]+$`)
	clientIDRE         = regexp.MustCompile(`^[\w_]+$`)
	// A user pool provider: cognito-idp.<region>.amazonaws.com/<poolId>.
	userPoolProviderRE = regexp.MustCompile(`^cognito-idp\.([a-z0-9-]+)\.amazonaws\.com/([\w-]+_[0-9a-zA-Z]+)$`)
)

// serveIdentityAPI answers a Cognito Identity request and reports whether
// it was one.
func (s *Server) serveIdentityAPI(w http.ResponseWriter, r *http.Request) bool {
	target := r.Header.Get("X-Amz-Target")
	if !strings.HasPrefix(target, identityTargetPrefix) {
		return false
	}
	op := strings.TrimPrefix(target, identityTargetPrefix)
	body, err := io.ReadAll(r.Body)
	if err != nil {
		writeError(w, errInternal("read request: %v", err))
		return true
	}
	if aerr := s.throttled(r, op); aerr != nil {
		writeError(w, aerr)
		return true
	}
	h, ok := s.identityHandlers()[op]
	if !ok {
		writeError(w, errInvalid("%s is not supported by the test bed's Cognito Identity", op))
		return true
	}
	out, aerr := h(r, body)
	if aerr != nil {
		if aerr.Type != "InternalErrorException" {
			s.logf("cognito-shim: %s rejected: %s: %s", op, aerr.Type, aerr.Message)
		}
		writeError(w, aerr)
		return true
	}
	writeJSON(w, out)
	return true
}

func (s *Server) identityHandlers() map[string]handler {
	return map[string]handler{
		"CreateIdentityPool":   s.createIdentityPool,
		"DescribeIdentityPool": s.describeIdentityPool,
		"UpdateIdentityPool":   s.updateIdentityPool,
		"ListIdentityPools":    s.listIdentityPools,
		"DeleteIdentityPool":   s.deleteIdentityPool,
		"GetId":                s.getID,
		"ListIdentities":       s.listIdentities,
		"DescribeIdentity":     s.describeIdentity,
		"DeleteIdentities":     s.deleteIdentities,
		"UnlinkIdentity":       s.unlinkIdentity,
	}
}

func newUUID() string {
	b := make([]byte, 16)
	if _, err := rand.Read(b); err != nil {
		panic(err)
	}
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:])
}

func errNotFound(format string, args ...any) *apiError {
	return errOf("ResourceNotFoundException", format, args...)
}

func errNotAuthorized(format string, args ...any) *apiError {
	return errOf("NotAuthorizedException", format, args...)
}

// identityQuotas are Cognito Identity's default request rate quotas, one
// per operation, after AWS's quotas page ("Amazon Cognito identity pools
// (federated identities) API operation request rate quotas"). GetId's 25
// a second is the page's figure as quoted (zenn.dev/mn87, "GetId … 25");
// the others could not be re-read from the page when this was written and
// are the low ones of that table as remembered: check them there before
// relying on one.
func identityQuotas() []ThrottleRule {
	return []ThrottleRule{
		{Operations: []string{"GetId"}, RPS: 25},
		{Operations: []string{"ListIdentities"}, RPS: 5},
		{Operations: []string{"DescribeIdentity"}, RPS: 5},
		{Operations: []string{"DeleteIdentities"}, RPS: 10},
		{Operations: []string{"UnlinkIdentity"}, RPS: 5},
		{Operations: []string{"CreateIdentityPool", "UpdateIdentityPool", "DeleteIdentityPool"}, RPS: 5},
		{Operations: []string{"DescribeIdentityPool", "ListIdentityPools"}, RPS: 5},
	}
}
