package cognitoshim

import (
	"fmt"
	"net/http"
	"sort"
	"time"
)

// The identities in an identity pool, of the shim's Cognito Identity
// (identity.go): GetId, ListIdentities, DescribeIdentity,
// DeleteIdentities and UnlinkIdentity.

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
