package cognitoshim

import (
	"crypto/rand"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"sort"
	"strings"
	"sync"
	"time"
)

// Cognito Identity (identity pools, the `cognito-identity` service, JSON
// 1.1 with X-Amz-Target AWSCognitoIdentityService.*), which no local
// emulator models with AWS's login semantics: the identity pool API
// (Create/Describe/Update/List/DeleteIdentityPool) and the identities in a
// pool (GetId, ListIdentities, DescribeIdentity, DeleteIdentities,
// UnlinkIdentity), for user-pool logins only.
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

// identityDescription is the API's IdentityDescription: provider names
// only, never a login's subject.
type identityDescription struct {
	IdentityId       string
	Logins           []string `json:",omitempty"`
	CreationDate     float64
	LastModifiedDate float64
}

func describe(id *identityRecord) identityDescription {
	d := identityDescription{IdentityId: id.id, CreationDate: epoch(id.created), LastModifiedDate: epoch(id.modified)}
	for _, l := range id.logins {
		d.Logins = append(d.Logins, l.provider)
	}
	return d
}

// identityOf finds an identity in any pool.
func (s *Server) identityOf(id string) (*identityPool, *identityRecord) {
	for _, p := range s.ident.pools {
		if rec := p.identities[id]; rec != nil {
			return p, rec
		}
	}
	return nil, nil
}

func checkIdentityID(id string) *apiError {
	if !identityPoolIDRE.MatchString(id) || len(id) > 55 {
		return errInvalid("1 validation error detected: Value '%s' at 'identityId' failed to satisfy constraint: Member must satisfy regular expression pattern: [\\w-]+:[0-9a-f-]+", id)
	}
	return nil
}

func (s *Server) listIdentities(r *http.Request, body []byte) (any, *apiError) {
	var in struct {
		IdentityPoolId string
		MaxResults     *int
		NextToken      string
		HideDisabled   bool
	}
	if e := decode(body, &in); e != nil {
		return nil, e
	}
	n, e := pageSize(in.MaxResults, maxIdentityPage)
	if e != nil {
		return nil, e
	}
	var after int64 = -1
	if in.NextToken != "" {
		t, e := s.decodeToken(in.NextToken, "identities", in.IdentityPoolId, "")
		if e != nil {
			return nil, e
		}
		if _, err := fmt.Sscan(t.After, &after); err != nil {
			return nil, errInvalid("Invalid pagination token.")
		}
	}
	s.ident.mu.Lock()
	defer s.ident.mu.Unlock()
	p, e := s.identityPool(in.IdentityPoolId)
	if e != nil {
		return nil, e
	}
	recs := make([]*identityRecord, 0, len(p.identities))
	for _, rec := range p.identities {
		if rec.seq > after {
			recs = append(recs, rec)
		}
	}
	sort.Slice(recs, func(i, j int) bool { return recs[i].seq < recs[j].seq })
	out := struct {
		IdentityPoolId string
		Identities     []identityDescription
		NextToken      string `json:",omitempty"`
	}{IdentityPoolId: in.IdentityPoolId, Identities: []identityDescription{}}
	for i, rec := range recs {
		if i == n {
			out.NextToken = s.encodeToken(pageToken{Kind: "identities", Pool: in.IdentityPoolId, After: fmt.Sprint(recs[i-1].seq)})
			break
		}
		out.Identities = append(out.Identities, describe(rec))
	}
	return out, nil
}

func (s *Server) describeIdentity(r *http.Request, body []byte) (any, *apiError) {
	var in struct{ IdentityId string }
	if e := decode(body, &in); e != nil {
		return nil, e
	}
	if e := checkIdentityID(in.IdentityId); e != nil {
		return nil, e
	}
	s.ident.mu.Lock()
	defer s.ident.mu.Unlock()
	_, rec := s.identityOf(in.IdentityId)
	if rec == nil {
		return nil, errNotFound("Identity '%s' not found.", in.IdentityId)
	}
	return describe(rec), nil
}

func (s *Server) deleteIdentities(r *http.Request, body []byte) (any, *apiError) {
	var in struct{ IdentityIdsToDelete []string }
	if e := decode(body, &in); e != nil {
		return nil, e
	}
	if n := len(in.IdentityIdsToDelete); n < 1 || n > maxDeleteIdentities {
		return nil, errInvalid("1 validation error detected: Value at 'identityIdsToDelete' failed to satisfy constraint: Member must have length between 1 and %d", maxDeleteIdentities)
	}
	for _, id := range in.IdentityIdsToDelete {
		if e := checkIdentityID(id); e != nil {
			return nil, e
		}
	}
	type unprocessed struct{ IdentityId, ErrorCode string }
	out := struct{ UnprocessedIdentityIds []unprocessed }{UnprocessedIdentityIds: []unprocessed{}}
	s.ident.mu.Lock()
	defer s.ident.mu.Unlock()
	for _, id := range in.IdentityIdsToDelete {
		p, rec := s.identityOf(id)
		if rec == nil {
			out.UnprocessedIdentityIds = append(out.UnprocessedIdentityIds, unprocessed{id, "AccessDenied"})
			continue
		}
		for _, l := range rec.logins {
			delete(p.byLogin, l)
		}
		delete(p.identities, id)
	}
	return out, nil
}

// verifiedLogins checks every login of a request (identitytoken.go) and
// returns them in a stable order.
func (s *Server) verifiedLogins(r *http.Request, p *identityPool, logins map[string]string) ([]identityLogin, *apiError) {
	names := make([]string, 0, len(logins))
	for name := range logins {
		names = append(names, name)
	}
	sort.Strings(names)
	var out []identityLogin
	for _, name := range names {
		sub, e := s.verifyLogin(r, p.cfg, name, logins[name])
		if e != nil {
			return nil, e
		}
		out = append(out, identityLogin{provider: name, sub: sub})
	}
	return out, nil
}

// getID answers the identity of the request's logins, creating it (a new
// identity for unknown logins; a guest identity without logins, if the
// pool allows them) or linking the logins that have none yet to the one
// identity the others belong to.
func (s *Server) getID(r *http.Request, body []byte) (any, *apiError) {
	var in struct {
		AccountId      string
		IdentityPoolId string
		Logins         map[string]string
	}
	if e := decode(body, &in); e != nil {
		return nil, e
	}
	if len(in.Logins) > maxLoginsPerCall {
		return nil, errInvalid("1 validation error detected: Value at 'logins' failed to satisfy constraint: Member must have length less than or equal to %d", maxLoginsPerCall)
	}
	s.ident.mu.Lock()
	p, e := s.identityPool(in.IdentityPoolId)
	var cfg identityPoolConfig
	if e == nil {
		cfg = p.cfg
	}
	s.ident.mu.Unlock()
	if e != nil {
		return nil, e
	}
	if len(in.Logins) == 0 {
		if !*cfg.AllowUnauthenticatedIdentities {
			return nil, errNotAuthorized("Unauthenticated access is not supported for this identity pool.")
		}
	}
	// The tokens are checked outside the lock: it fetches the JWKS.
	logins, e := s.verifiedLogins(r, &identityPool{cfg: cfg}, in.Logins)
	if e != nil {
		return nil, e
	}
	s.ident.mu.Lock()
	defer s.ident.mu.Unlock()
	if p, e = s.identityPool(in.IdentityPoolId); e != nil { // deleted meanwhile
		return nil, e
	}
	now := s.now()
	if len(logins) == 0 {
		return map[string]string{"IdentityId": s.newIdentity(p, nil, now).id}, nil
	}
	var owner *identityRecord
	var fresh []identityLogin
	for _, l := range logins {
		id, ok := p.byLogin[l]
		if !ok {
			fresh = append(fresh, l)
			continue
		}
		if owner != nil && owner.id != id {
			return nil, errOf("ResourceConflictException", "Logins %s and %s are linked to different identities.", owner.logins[0].provider, l.provider)
		}
		owner = p.identities[id]
	}
	if owner == nil {
		return map[string]string{"IdentityId": s.newIdentity(p, logins, now).id}, nil
	}
	if len(fresh) == 0 {
		return map[string]string{"IdentityId": owner.id}, nil
	}
	for _, l := range fresh {
		for _, have := range owner.logins {
			if have.provider == l.provider {
				return nil, errOf("ResourceConflictException", "Identity %s is already linked to another user of %s.", owner.id, l.provider)
			}
		}
	}
	if len(owner.logins)+len(fresh) > maxLoginsPerIdentity {
		return nil, errOf("LimitExceededException", "An identity can have at most %d linked logins.", maxLoginsPerIdentity)
	}
	for _, l := range fresh {
		owner.logins = append(owner.logins, l)
		p.byLogin[l] = owner.id
	}
	owner.modified = now
	return map[string]string{"IdentityId": owner.id}, nil
}

func (s *Server) newIdentity(p *identityPool, logins []identityLogin, now time.Time) *identityRecord {
	s.ident.seq++
	rec := &identityRecord{id: s.region() + ":" + newUUID(), logins: logins, created: now, modified: now, seq: s.ident.seq}
	p.identities[rec.id] = rec
	for _, l := range logins {
		p.byLogin[l] = rec.id
	}
	return rec
}

// unlinkIdentity removes logins from an identity. Like AWS it is a public
// API the identity's owner calls: Logins must be valid logins of that
// identity (proof of ownership; the shim takes only logins all of that
// identity), LoginsToRemove the provider names to unlink.
// Removing the last login leaves the identity without one ("inaccessible":
// the login answers a new identity next time), until DeleteIdentities.
func (s *Server) unlinkIdentity(r *http.Request, body []byte) (any, *apiError) {
	var in struct {
		IdentityId     string
		Logins         map[string]string
		LoginsToRemove []string
	}
	if e := decode(body, &in); e != nil {
		return nil, e
	}
	if e := checkIdentityID(in.IdentityId); e != nil {
		return nil, e
	}
	if len(in.Logins) == 0 || len(in.Logins) > maxLoginsPerCall {
		return nil, errInvalid("1 validation error detected: Value at 'logins' failed to satisfy constraint: Member must have length between 1 and %d", maxLoginsPerCall)
	}
	s.ident.mu.Lock()
	p, rec := s.identityOf(in.IdentityId)
	var cfg identityPoolConfig
	if p != nil {
		cfg = p.cfg
	}
	s.ident.mu.Unlock()
	if rec == nil {
		return nil, errNotFound("Identity '%s' not found.", in.IdentityId)
	}
	logins, e := s.verifiedLogins(r, &identityPool{cfg: cfg}, in.Logins)
	if e != nil {
		return nil, e
	}
	s.ident.mu.Lock()
	defer s.ident.mu.Unlock()
	if p, rec = s.identityOf(in.IdentityId); rec == nil {
		return nil, errNotFound("Identity '%s' not found.", in.IdentityId)
	}
	for _, l := range logins {
		if p.byLogin[l] != rec.id {
			return nil, errNotAuthorized("Logins don't match. Please include at least one valid login for this identity or identity pool.")
		}
	}
	remove := map[string]bool{}
	for _, name := range in.LoginsToRemove {
		remove[name] = true
	}
	kept := rec.logins[:0]
	for _, l := range rec.logins {
		if remove[l.provider] {
			delete(p.byLogin, l)
			continue
		}
		kept = append(kept, l)
	}
	rec.logins = kept
	rec.modified = s.now()
	return struct{}{}, nil
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
