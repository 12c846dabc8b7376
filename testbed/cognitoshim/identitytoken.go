package cognitoshim

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
)

// How Cognito Identity checks a user-pool login (GetId, UnlinkIdentity):
// the identity pool lists the provider; the ID token is an RS256 JWS whose
// key is in the user pool's JWKS; its issuer is that user pool; it has not
// expired; its `aud` is a client id the pool lists for that provider.
// The answers carry AWS's messages ("Invalid login token. …").

// cognitoIDClaims are the ID token claims the check reads.
type cognitoIDClaims struct {
	jwt.Claims
	TokenUse string `json:"token_use"`
}

// jwksCache keeps each user pool's JWKS for a minute: cognito-local serves
// one key for every pool, but a test that stops it should see the check
// fail, not a stale success.
type jwksCache struct {
	mu   sync.Mutex
	sets map[string]jwksEntry
}

type jwksEntry struct {
	set     jose.JSONWebKeySet
	fetched time.Time
}

const jwksTTL = time.Minute

// userPoolJWKS fetches a user pool's signing keys from cognito-local,
// where AWS serves them at https://cognito-idp.<region>.amazonaws.com/<poolId>/.well-known/jwks.json.
func (s *Server) userPoolJWKS(r *http.Request, pool string) (jose.JSONWebKeySet, error) {
	c := &s.ident.jwks
	c.mu.Lock()
	e, ok := c.sets[pool]
	c.mu.Unlock()
	if ok && time.Since(e.fetched) < jwksTTL {
		return e.set, nil
	}
	req, err := http.NewRequestWithContext(r.Context(), http.MethodGet, s.upstream+"/"+pool+"/.well-known/jwks.json", nil)
	if err != nil {
		return jose.JSONWebKeySet{}, err
	}
	resp, err := s.client.Do(req)
	if err != nil {
		return jose.JSONWebKeySet{}, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return jose.JSONWebKeySet{}, fmt.Errorf("JWKS of %s: %s", pool, resp.Status)
	}
	var set jose.JSONWebKeySet
	if err := json.NewDecoder(resp.Body).Decode(&set); err != nil {
		return set, fmt.Errorf("JWKS of %s: %v", pool, err)
	}
	c.mu.Lock()
	if c.sets == nil {
		c.sets = map[string]jwksEntry{}
	}
	c.sets[pool] = jwksEntry{set: set, fetched: time.Now()}
	c.mu.Unlock()
	return set, nil
}

// verifyLogin checks one login against an identity pool's configuration
// and returns the token's subject.
func (s *Server) verifyLogin(r *http.Request, cfg identityPoolConfig, provider, token string) (string, *apiError) {
	var clients []string
	for _, p := range cfg.CognitoIdentityProviders {
		if p.ProviderName == provider {
			clients = append(clients, p.ClientId)
		}
	}
	if len(clients) == 0 {
		return "", errNotAuthorized("Invalid login token. Token is not from a supported provider of this identity pool.")
	}
	m := userPoolProviderRE.FindStringSubmatch(provider)
	if m == nil {
		return "", errNotAuthorized("Invalid login token. Token is not from a supported provider of this identity pool.")
	}
	pool := m[2]
	tok, err := jwt.ParseSigned(token, []jose.SignatureAlgorithm{jose.RS256})
	if err != nil || len(tok.Headers) != 1 {
		return "", errNotAuthorized("Invalid login token. Not a valid OpenId Connect identity token.")
	}
	set, err := s.userPoolJWKS(r, pool)
	if err != nil {
		return "", errOf("ExternalServiceException", "The user pool's keys could not be read: %v", err)
	}
	keys := set.Key(tok.Headers[0].KeyID)
	if len(keys) != 1 {
		return "", errNotAuthorized("Invalid login token. Couldn't verify signed token.")
	}
	var claims cognitoIDClaims
	if err := tok.Claims(keys[0], &claims); err != nil {
		return "", errNotAuthorized("Invalid login token. Couldn't verify signed token.")
	}
	// cognito-local's issuer stands for https://cognito-idp.<region>.amazonaws.com/<poolId>.
	if claims.Issuer != s.upstream+"/"+pool {
		return "", errNotAuthorized("Invalid login token. Issuer doesn't match providerName")
	}
	now := s.now()
	if claims.Expiry == nil {
		return "", errNotAuthorized("Invalid login token. Missing a required claim: exp")
	}
	if exp := claims.Expiry.Time(); !now.Before(exp) {
		return "", errNotAuthorized("Invalid login token. Token expired: %d >= %d", now.Unix(), exp.Unix())
	}
	if len(claims.Audience) == 0 {
		return "", errNotAuthorized("Invalid login token. Missing a required claim: aud")
	}
	if claims.TokenUse != "id" {
		return "", errNotAuthorized("Invalid login token. Not an ID token.")
	}
	listed := false
	for _, c := range clients {
		if claims.Audience.Contains(c) {
			listed = true
		}
	}
	if !listed {
		return "", errNotAuthorized("Invalid login token. Token is not from a supported provider of this identity pool.")
	}
	if strings.TrimSpace(claims.Subject) == "" {
		return "", errNotAuthorized("Invalid login token. Missing a required claim: sub")
	}
	return claims.Subject, nil
}
