package cognitoshim

import (
	"net/http"
	"sort"
	"strings"
)

// The identity pool API of the shim's Cognito Identity (identity.go):
// Create, Describe, Update, Delete and ListIdentityPools.

// checkPoolConfig validates a Create or UpdateIdentityPool request as the
// API reference constrains it.
func (s *Server) checkPoolConfig(c *identityPoolConfig) *apiError {
	if n := len(c.IdentityPoolName); n < 1 || n > 128 || !identityPoolNameRE.MatchString(c.IdentityPoolName) {
		return errInvalid("1 validation error detected: Value '%s' at 'identityPoolName' failed to satisfy constraint: Member must satisfy regular expression pattern: [\\w\\s+=,.@-]+ and have length between 1 and 128", c.IdentityPoolName)
	}
	if c.AllowUnauthenticatedIdentities == nil {
		return errInvalid("1 validation error detected: Value null at 'allowUnauthenticatedIdentities' failed to satisfy constraint: Member must not be null")
	}
	if len(c.SupportedLoginProviders) > 0 || c.DeveloperProviderName != "" || len(c.OpenIdConnectProviderARNs) > 0 || len(c.SamlProviderARNs) > 0 {
		return errInvalid("the test bed's Cognito Identity models user pool providers (CognitoIdentityProviders) only")
	}
	seen := map[cognitoProvider]bool{}
	for _, p := range c.CognitoIdentityProviders {
		m := userPoolProviderRE.FindStringSubmatch(p.ProviderName)
		if m == nil || len(p.ProviderName) > 128 {
			return errInvalid("Invalid Cognito Identity Provider: ProviderName '%s' is not cognito-idp.<region>.amazonaws.com/<user pool id>", p.ProviderName)
		}
		// On AWS a pool id starts with its region; cognito-local's all
		// start with "local", so either names the test bed's user pools.
		if m[1] != s.region() && !strings.HasPrefix(m[2], m[1]+"_") {
			return errInvalid("Invalid Cognito Identity Provider: ProviderName '%s' names region %s; the identity pool is in %s", p.ProviderName, m[1], s.region())
		}
		if n := len(p.ClientId); n < 1 || n > 128 || !clientIDRE.MatchString(p.ClientId) {
			return errInvalid("Invalid Cognito Identity Provider: ClientId '%s'", p.ClientId)
		}
		key := cognitoProvider{ProviderName: p.ProviderName, ClientId: p.ClientId}
		if seen[key] {
			return errInvalid("Duplicate provider: %s with client %s", p.ProviderName, p.ClientId)
		}
		seen[key] = true
	}
	for k, v := range c.IdentityPoolTags {
		if len(k) < 1 || len(k) > 128 || len(v) > 256 {
			return errInvalid("Invalid tag %q", k)
		}
	}
	if len(c.IdentityPoolTags) > 50 {
		return errInvalid("an identity pool has at most 50 tags")
	}
	return nil
}

func (s *Server) identityPool(id string) (*identityPool, *apiError) {
	if !identityPoolIDRE.MatchString(id) || len(id) > 55 {
		return nil, errInvalid("1 validation error detected: Value '%s' at 'identityPoolId' failed to satisfy constraint: Member must satisfy regular expression pattern: [\\w-]+:[0-9a-f-]+", id)
	}
	p := s.ident.pools[id]
	if p == nil {
		return nil, errNotFound("IdentityPool '%s' not found.", id)
	}
	return p, nil
}

func (s *Server) createIdentityPool(r *http.Request, body []byte) (any, *apiError) {
	var in identityPoolConfig
	if e := decode(body, &in); e != nil {
		return nil, e
	}
	in.IdentityPoolId = ""
	if e := s.checkPoolConfig(&in); e != nil {
		return nil, e
	}
	if in.AllowClassicFlow == nil {
		in.AllowClassicFlow = new(bool)
	}
	s.ident.mu.Lock()
	defer s.ident.mu.Unlock()
	if s.ident.pools == nil {
		s.ident.pools = map[string]*identityPool{}
	}
	in.IdentityPoolId = s.region() + ":" + newUUID()
	s.ident.pools[in.IdentityPoolId] = &identityPool{cfg: in, identities: map[string]*identityRecord{}, byLogin: map[identityLogin]string{}}
	return in, nil
}

func (s *Server) describeIdentityPool(r *http.Request, body []byte) (any, *apiError) {
	var in struct{ IdentityPoolId string }
	if e := decode(body, &in); e != nil {
		return nil, e
	}
	s.ident.mu.Lock()
	defer s.ident.mu.Unlock()
	p, e := s.identityPool(in.IdentityPoolId)
	if e != nil {
		return nil, e
	}
	return p.cfg, nil
}

// updateIdentityPool replaces the pool's configuration: as AWS documents,
// a parameter left out is set to its default (so leaving out
// CognitoIdentityProviders removes them all). The identities stay; a login
// whose provider the pool no longer lists can no longer sign in.
func (s *Server) updateIdentityPool(r *http.Request, body []byte) (any, *apiError) {
	var in identityPoolConfig
	if e := decode(body, &in); e != nil {
		return nil, e
	}
	if e := s.checkPoolConfig(&in); e != nil {
		return nil, e
	}
	if in.AllowClassicFlow == nil {
		in.AllowClassicFlow = new(bool)
	}
	s.ident.mu.Lock()
	defer s.ident.mu.Unlock()
	p, e := s.identityPool(in.IdentityPoolId)
	if e != nil {
		return nil, e
	}
	if in.IdentityPoolTags == nil {
		in.IdentityPoolTags = p.cfg.IdentityPoolTags // tags change through TagResource, not here
	}
	p.cfg = in
	return in, nil
}

func (s *Server) deleteIdentityPool(r *http.Request, body []byte) (any, *apiError) {
	var in struct{ IdentityPoolId string }
	if e := decode(body, &in); e != nil {
		return nil, e
	}
	s.ident.mu.Lock()
	defer s.ident.mu.Unlock()
	if _, e := s.identityPool(in.IdentityPoolId); e != nil {
		return nil, e
	}
	delete(s.ident.pools, in.IdentityPoolId)
	return struct{}{}, nil
}

// pageSize checks a required MaxResults of 1..max.
func pageSize(v *int, max int) (int, *apiError) {
	if v == nil {
		return 0, errInvalid("1 validation error detected: Value null at 'maxResults' failed to satisfy constraint: Member must not be null")
	}
	if *v < 1 || *v > max {
		return 0, errInvalid("1 validation error detected: Value '%d' at 'maxResults' failed to satisfy constraint: Member must have value between 1 and %d", *v, max)
	}
	return *v, nil
}

func (s *Server) listIdentityPools(r *http.Request, body []byte) (any, *apiError) {
	var in struct {
		MaxResults *int
		NextToken  string
	}
	if e := decode(body, &in); e != nil {
		return nil, e
	}
	n, e := pageSize(in.MaxResults, maxIdentityPage)
	if e != nil {
		return nil, e
	}
	after := ""
	if in.NextToken != "" {
		t, e := s.decodeToken(in.NextToken, "identitypools", "", "")
		if e != nil {
			return nil, e
		}
		after = t.After
	}
	s.ident.mu.Lock()
	defer s.ident.mu.Unlock()
	ids := make([]string, 0, len(s.ident.pools))
	for id := range s.ident.pools {
		if id > after {
			ids = append(ids, id)
		}
	}
	sort.Strings(ids)
	type short struct{ IdentityPoolId, IdentityPoolName string }
	out := struct {
		IdentityPools []short
		NextToken     string `json:",omitempty"`
	}{IdentityPools: []short{}}
	for i, id := range ids {
		if i == n {
			out.NextToken = s.encodeToken(pageToken{Kind: "identitypools", After: ids[i-1]})
			break
		}
		out.IdentityPools = append(out.IdentityPools, short{id, s.ident.pools[id].cfg.IdentityPoolName})
	}
	return out, nil
}
