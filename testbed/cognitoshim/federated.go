package cognitoshim

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"sort"
	"strings"
	"sync"
	"time"
)

// Federated users, which cognito-local does not model: the identity
// providers of a pool (CreateIdentityProvider, DescribeIdentityProvider,
// ListIdentityProviders), AdminLinkProviderForUser with the refusals AWS
// documents, and a sign-in through a provider (FederatedSignInPath), which
// does what Cognito does after the provider vouched for a subject: a
// linked subject signs in as the user it is linked to; an unlinked one
// signs in as the pool's `<Provider>_<subject>` user, created at its first
// sign-in with status EXTERNAL_PROVIDER and an `identities` attribute. That
// sign-in is also how a test plants federated users in an old pool (no API
// creates them).
//
// cognito-local keeps the users; the shim keeps the providers, the links
// and which users a federated sign-in created, and shows them as AWS does
// (status EXTERNAL_PROVIDER; a linked user's `identities`).
//
// Choices where AWS does not document its answer, written down:
//   - A source identity already linked to another user is refused with
//     AliasExistsException, one already linked to the same user with
//     InvalidParameterException; a provider the pool lacks with
//     InvalidParameterException.
//   - A source identity whose `<Provider>_<subject>` user already exists
//     is refused with InvalidParameterException "Merging is not currently
//     supported…" (the message AWS answers, aws/aws-sdk-net#1000).
//   - The sixth link of a user is refused with LimitExceededException
//     (AWS documents the cap of five).
//   - A federated sign-in does not update the attributes of the user it
//     signs in as (AWS maps them again at each sign-in), and issues no
//     tokens: it answers who Cognito would put in them.
//   - cognito-local names every user of an e-mail sign-in pool by a new
//     sub, so a first federated sign-in to such a pool is refused.

// FederatedSignInPath is the test bed's sign-in through an identity
// provider: POST a FederatedSignIn as JSON, get a FederatedSession.
const FederatedSignInPath = "/testbed/federated-sign-in"

// FederatedSignIn is a sign-in the provider vouched for: the subject (the
// provider's user id: Google's sub, Facebook's id) and the claims it sent.
type FederatedSignIn struct {
	UserPoolId   string
	ProviderName string
	Subject      string
	Claims       map[string]string
}

// FederatedSession is who the sign-in made the caller: the pool user
// Cognito puts in the tokens, its groups, and whether the sign-in created
// it.
type FederatedSession struct {
	Username string
	Sub      string
	Groups   []string
	Linked   bool // a link sent the subject to this user
	Created  bool // the first sign-in of an unlinked subject created it
}

// SignInThroughProvider posts a federated sign-in to the shim at endpoint.
func SignInThroughProvider(ctx context.Context, endpoint string, in FederatedSignIn) (FederatedSession, error) {
	var out FederatedSession
	body, _ := json.Marshal(in)
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, strings.TrimRight(endpoint, "/")+FederatedSignInPath, bytes.NewReader(body))
	if err != nil {
		return out, err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return out, err
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		var e struct {
			Type    string `json:"__type"`
			Message string `json:"message"`
		}
		_ = json.Unmarshal(data, &e)
		return out, fmt.Errorf("%s: %s", e.Type, e.Message)
	}
	return out, json.Unmarshal(data, &out)
}

// identityProvider is one provider of a pool, as DescribeIdentityProvider
// answers.
type identityProvider struct {
	ProviderName     string
	ProviderType     string
	ProviderDetails  map[string]string
	AttributeMapping map[string]string
	IdpIdentifiers   []string
	Created          time.Time
}

// link is a source identity linked to a pool user.
type link struct {
	Provider, Subject string
	Dest              string // the destination's username
	Created           time.Time
}

type federation struct {
	mu        sync.Mutex
	providers map[string]map[string]*identityProvider // pool -> name
	external  map[string]map[string]bool              // pool -> username a federated sign-in created
	links     map[string][]link                       // pool -> links
}

func (f *federation) provider(pool, name string) *identityProvider {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.providers[pool][name]
}

func (f *federation) isExternal(pool, username string) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.external[pool][username]
}

func (f *federation) linkOf(pool, provider, subject string) (link, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, l := range f.links[pool] {
		if l.Provider == provider && l.Subject == subject {
			return l, true
		}
	}
	return link{}, false
}

func (f *federation) linksTo(pool, username string) []link {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []link
	for _, l := range f.links[pool] {
		if l.Dest == username {
			out = append(out, l)
		}
	}
	return out
}

// socialTypes are the provider types whose name is their type and whose
// links name the subject Cognito_Subject, with the claim Cognito reads
// the subject from.
var socialTypes = map[string]string{"Google": "sub", "Facebook": "id", "LoginWithAmazon": "user_id", "SignInWithApple": "sub"}

// requiredDetails are the ProviderDetails each type needs (the
// CreateIdentityProvider reference).
var requiredDetails = map[string][]string{
	"Google":          {"client_id", "client_secret", "authorize_scopes"},
	"Facebook":        {"client_id", "client_secret", "authorize_scopes"},
	"LoginWithAmazon": {"client_id", "client_secret", "authorize_scopes"},
	"SignInWithApple": {"client_id", "team_id", "key_id", "private_key", "authorize_scopes"},
	"OIDC":            {"client_id", "attributes_request_method", "oidc_issuer", "authorize_scopes"},
	"SAML":            nil, // MetadataURL or MetadataFile
}

// providerNameRE is the API model's pattern for ProviderName.
var providerNameRE = regexp.MustCompile(`^[^_\p{Z}][\p{L}\p{M}\p{S}\p{N}\p{P}][^_\p{Z}]+$`)

func (s *Server) createIdentityProvider(r *http.Request, body []byte) (any, *apiError) {
	var in struct {
		UserPoolId, ProviderName, ProviderType string
		ProviderDetails                        map[string]string
		AttributeMapping                       map[string]string
		IdpIdentifiers                         []string
	}
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	if _, e := s.describePool(r.Context(), in.UserPoolId); e != nil {
		return nil, e
	}
	need, known := requiredDetails[in.ProviderType]
	switch {
	case !known:
		return nil, errInvalid("1 validation error detected: Value '%s' at 'providerType' failed to satisfy constraint: Member must satisfy enum value set: [SAML, Facebook, Google, LoginWithAmazon, SignInWithApple, OIDC]", in.ProviderType)
	case len(in.ProviderName) < 1 || len(in.ProviderName) > 32 || !providerNameRE.MatchString(in.ProviderName):
		return nil, errInvalid("1 validation error detected: Value '%s' at 'providerName' failed to satisfy constraint: Member must satisfy regular expression pattern: %s", in.ProviderName, providerNameRE)
	case socialTypes[in.ProviderType] != "" && in.ProviderName != in.ProviderType:
		return nil, errInvalid("Provider name for %s must be %s.", in.ProviderType, in.ProviderType)
	case in.ProviderName == "Cognito":
		return nil, errInvalid("Provider name Cognito is reserved.")
	}
	for _, k := range need {
		if in.ProviderDetails[k] == "" {
			return nil, errInvalid("%s is required for provider %s.", k, in.ProviderName)
		}
	}
	if in.ProviderType == "SAML" && in.ProviderDetails["MetadataURL"] == "" && in.ProviderDetails["MetadataFile"] == "" {
		return nil, errInvalid("MetadataURL or MetadataFile is required for a SAML provider.")
	}
	mapping := map[string]string{}
	for k, v := range in.AttributeMapping {
		mapping[k] = v
	}
	if claim := socialTypes[in.ProviderType]; claim != "" && mapping["username"] == "" {
		mapping["username"] = claim // AWS adds it
	}
	if in.ProviderType == "OIDC" && mapping["username"] == "" {
		mapping["username"] = "sub"
	}
	p := &identityProvider{ProviderName: in.ProviderName, ProviderType: in.ProviderType, ProviderDetails: in.ProviderDetails, AttributeMapping: mapping, IdpIdentifiers: in.IdpIdentifiers, Created: s.now()}
	f := &s.fed
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.providers == nil {
		f.providers = map[string]map[string]*identityProvider{}
	}
	if f.providers[in.UserPoolId] == nil {
		f.providers[in.UserPoolId] = map[string]*identityProvider{}
	}
	if f.providers[in.UserPoolId][in.ProviderName] != nil {
		return nil, errOf("DuplicateProviderException", "A provider with the name %s already exists in this user pool.", in.ProviderName)
	}
	f.providers[in.UserPoolId][in.ProviderName] = p
	return map[string]any{"IdentityProvider": p.describe(in.UserPoolId)}, nil
}

func (p *identityProvider) describe(pool string) map[string]any {
	return map[string]any{"UserPoolId": pool, "ProviderName": p.ProviderName, "ProviderType": p.ProviderType,
		"ProviderDetails": p.ProviderDetails, "AttributeMapping": p.AttributeMapping, "IdpIdentifiers": p.IdpIdentifiers,
		"CreationDate": epoch(p.Created), "LastModifiedDate": epoch(p.Created)}
}

func (s *Server) describeIdentityProvider(r *http.Request, body []byte) (any, *apiError) {
	var in struct{ UserPoolId, ProviderName string }
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	if _, e := s.describePool(r.Context(), in.UserPoolId); e != nil {
		return nil, e
	}
	p := s.fed.provider(in.UserPoolId, in.ProviderName)
	if p == nil {
		return nil, errOf("ResourceNotFoundException", "Identity provider %s does not exist.", in.ProviderName)
	}
	return map[string]any{"IdentityProvider": p.describe(in.UserPoolId)}, nil
}

func (s *Server) listIdentityProviders(r *http.Request, body []byte) (any, *apiError) {
	var in struct {
		UserPoolId string
		MaxResults *int
		NextToken  string
	}
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	limit := 60
	if in.MaxResults != nil {
		if *in.MaxResults < 1 || *in.MaxResults > 60 {
			return nil, errInvalid("1 validation error detected: Value '%d' at 'maxResults' failed to satisfy constraint: Member must have value between 1 and 60", *in.MaxResults)
		}
		limit = *in.MaxResults
	}
	if _, e := s.describePool(r.Context(), in.UserPoolId); e != nil {
		return nil, e
	}
	s.fed.mu.Lock()
	var names []string
	for n := range s.fed.providers[in.UserPoolId] {
		names = append(names, n)
	}
	sort.Strings(names)
	start := 0
	if in.NextToken != "" {
		t, e := s.decodeToken(in.NextToken, "ListIdentityProviders", in.UserPoolId, "")
		if e != nil {
			s.fed.mu.Unlock()
			return nil, e
		}
		start = sort.Search(len(names), func(i int) bool { return names[i] > t.After })
	}
	providers := []map[string]any{}
	next := ""
	for i := start; i < len(names); i++ {
		if len(providers) == limit {
			next = s.encodeToken(pageToken{Kind: "ListIdentityProviders", Pool: in.UserPoolId, After: names[i-1]})
			break
		}
		p := s.fed.providers[in.UserPoolId][names[i]]
		providers = append(providers, map[string]any{"ProviderName": p.ProviderName, "ProviderType": p.ProviderType, "CreationDate": epoch(p.Created), "LastModifiedDate": epoch(p.Created)})
	}
	s.fed.mu.Unlock()
	out := map[string]any{"Providers": providers}
	if next != "" {
		out["NextToken"] = next
	}
	return out, nil
}

// maxLinks is how many identities AWS links to one user.
const maxLinks = 5

func (s *Server) adminLinkProviderForUser(r *http.Request, body []byte) (any, *apiError) {
	type ident struct{ ProviderName, ProviderAttributeName, ProviderAttributeValue string }
	var in struct {
		UserPoolId                  string
		DestinationUser, SourceUser *ident
	}
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	if in.DestinationUser == nil || in.SourceUser == nil || in.UserPoolId == "" {
		return nil, errInvalid("1 validation error detected: UserPoolId, DestinationUser and SourceUser must not be null")
	}
	pool, src, dst := in.UserPoolId, *in.SourceUser, *in.DestinationUser
	if _, e := s.describePool(r.Context(), pool); e != nil {
		return nil, e
	}
	if src.ProviderName == "" || src.ProviderAttributeValue == "" || dst.ProviderName == "" || dst.ProviderAttributeValue == "" {
		return nil, errInvalid("ProviderName and ProviderAttributeValue are required for SourceUser and DestinationUser.")
	}
	if src.ProviderName == "Cognito" {
		return nil, errInvalid("SourceUser must be a federated user, not a Cognito user.")
	}
	p := s.fed.provider(pool, src.ProviderName)
	if p == nil {
		return nil, errInvalid("The provider %s does not exist for the user pool %s.", src.ProviderName, pool)
	}
	if socialTypes[p.ProviderType] != "" && src.ProviderAttributeName != "Cognito_Subject" {
		return nil, errInvalid("ProviderAttributeName must be Cognito_Subject for the %s provider.", p.ProviderType)
	}
	if src.ProviderAttributeName == "" {
		return nil, errInvalid("SourceUser.ProviderAttributeName is required.")
	}
	// The destination: a Cognito user by username, or a federated user by
	// its subject.
	destName := dst.ProviderAttributeValue
	if dst.ProviderName != "Cognito" {
		if s.fed.provider(pool, dst.ProviderName) == nil {
			return nil, errInvalid("The provider %s does not exist for the user pool %s.", dst.ProviderName, pool)
		}
		destName = dst.ProviderName + "_" + dst.ProviderAttributeValue
	}
	dest, e := s.getUser(r, pool, destName)
	if e != nil {
		if e.Type == "UserNotFoundException" || e.Type == "NotAuthorizedException" {
			return nil, errOf("UserNotFoundException", "User does not exist.")
		}
		return nil, e
	}
	destName = dest.username()
	if _, e := s.getUser(r, pool, src.ProviderName+"_"+src.ProviderAttributeValue); e == nil {
		return nil, errInvalid("Merging is not currently supported, provide a SourceUser that has not been signed up in order to link")
	}
	if l, ok := s.fed.linkOf(pool, src.ProviderName, src.ProviderAttributeValue); ok {
		if l.Dest == destName {
			return nil, errInvalid("SourceUser %s_%s is already linked to DestinationUser %s.", src.ProviderName, src.ProviderAttributeValue, destName)
		}
		return nil, errOf("AliasExistsException", "SourceUser %s_%s is already linked to another user.", src.ProviderName, src.ProviderAttributeValue)
	}
	if e := s.checkMutable(r.Context(), pool, dest); e != nil {
		return nil, e
	}
	f := &s.fed
	f.mu.Lock()
	defer f.mu.Unlock()
	n := 0
	for _, l := range f.links[pool] {
		if l.Dest == destName {
			n++
		}
	}
	if n >= maxLinks {
		return nil, errOf("LimitExceededException", "The user %s already has %d linked identities, the most a user can have.", destName, maxLinks)
	}
	if f.links == nil {
		f.links = map[string][]link{}
	}
	f.links[pool] = append(f.links[pool], link{Provider: src.ProviderName, Subject: src.ProviderAttributeValue, Dest: destName, Created: s.now()})
	return map[string]any{}, nil
}

// checkMutable refuses a destination with an immutable custom attribute
// set, as AWS documents.
func (s *Server) checkMutable(ctx context.Context, pool string, u user) *apiError {
	var out struct {
		UserPool struct {
			SchemaAttributes []struct {
				Name    string
				Mutable *bool
			}
		}
	}
	if e := s.call(ctx, "DescribeUserPool", map[string]string{"UserPoolId": pool}, &out); e != nil {
		return e
	}
	for _, a := range out.UserPool.SchemaAttributes {
		if strings.HasPrefix(a.Name, "custom:") && a.Mutable != nil && !*a.Mutable && u.attr(a.Name) != "" {
			return errInvalid("All attributes of the DestinationUser must be mutable: %s is immutable.", a.Name)
		}
	}
	return nil
}

// presentFederated shows a user as AWS does: EXTERNAL_PROVIDER when a
// federated sign-in created it, and the identities linked to it. u's
// attributes are under attrKey ("Attributes" or "UserAttributes").
func (s *Server) presentFederated(pool string, u user, attrKey string) {
	name := u.username()
	if s.fed.isExternal(pool, name) {
		u["UserStatus"] = json.RawMessage(`"EXTERNAL_PROVIDER"`)
	}
	links := s.fed.linksTo(pool, name)
	if len(links) == 0 {
		return
	}
	var attrs []attribute
	_ = json.Unmarshal(u[attrKey], &attrs)
	var ids []map[string]any
	kept := attrs[:0]
	for _, a := range attrs {
		if a.Name == "identities" {
			_ = json.Unmarshal([]byte(a.Value), &ids)
			continue
		}
		kept = append(kept, a)
	}
	for _, l := range links {
		typ := l.Provider
		if p := s.fed.provider(pool, l.Provider); p != nil {
			typ = p.ProviderType
		}
		ids = append(ids, map[string]any{"userId": l.Subject, "providerName": l.Provider, "providerType": typ, "issuer": nil, "primary": false, "dateCreated": l.Created.UnixMilli()})
	}
	value, _ := json.Marshal(ids)
	kept = append(kept, attribute{Name: "identities", Value: string(value)})
	u[attrKey], _ = json.Marshal(kept)
}

// serveFederatedSignIn signs a subject in through a provider, as Cognito
// does once the provider vouched for it.
func (s *Server) serveFederatedSignIn(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(r.Body)
	if err != nil || r.Method != http.MethodPost {
		writeError(w, errInvalid("POST a FederatedSignIn as JSON"))
		return
	}
	var in FederatedSignIn
	if e := decode(body, &in); e != nil {
		writeError(w, e)
		return
	}
	out, e := s.federatedSignIn(r, in)
	if e != nil {
		s.logf("cognito-shim: federated sign-in refused: %s: %s", e.Type, e.Message)
		writeError(w, e)
		return
	}
	writeJSON(w, out)
}

func (s *Server) federatedSignIn(r *http.Request, in FederatedSignIn) (FederatedSession, *apiError) {
	var out FederatedSession
	pool, e := s.describePool(r.Context(), in.UserPoolId)
	if e != nil {
		return out, e
	}
	p := s.fed.provider(in.UserPoolId, in.ProviderName)
	if p == nil {
		return out, errInvalid("The provider %s does not exist for the user pool %s.", in.ProviderName, in.UserPoolId)
	}
	if in.Subject == "" {
		return out, errInvalid("the provider sent no subject")
	}
	username := in.ProviderName + "_" + in.Subject
	if l, ok := s.fed.linkOf(in.UserPoolId, in.ProviderName, in.Subject); ok {
		username, out.Linked = l.Dest, true
	}
	u, e := s.getUser(r, in.UserPoolId, username)
	switch {
	case e != nil && (e.Type == "UserNotFoundException" || e.Type == "NotAuthorizedException") && !out.Linked:
		if len(pool.UsernameAttributes) > 0 {
			return out, errInvalid("the test bed cannot create a federated user in pool %s, which signs in with %s (cognito-local names such users by a new sub)", in.UserPoolId, strings.Join(pool.UsernameAttributes, ", "))
		}
		if u, e = s.createFederatedUser(r, in, p, username); e != nil {
			return out, e
		}
		out.Created = true
	case e != nil:
		return out, e
	}
	if !u.enabled() {
		return out, errOf("NotAuthorizedException", "User is disabled.")
	}
	out.Username, out.Sub = u.username(), u.attr("sub")
	var groups struct{ Groups []struct{ GroupName string } }
	if e := s.call(r.Context(), "AdminListGroupsForUser", map[string]string{"UserPoolId": in.UserPoolId, "Username": out.Username}, &groups); e != nil {
		return out, e
	}
	out.Groups = []string{}
	for _, g := range groups.Groups {
		out.Groups = append(out.Groups, g.GroupName)
	}
	sort.Strings(out.Groups)
	return out, nil
}

// createFederatedUser makes the user a first federated sign-in makes: the
// provider's claims mapped to attributes, the identity in `identities`.
func (s *Server) createFederatedUser(r *http.Request, in FederatedSignIn, p *identityProvider, username string) (user, *apiError) {
	attrs := []attribute{}
	for attr, claim := range p.AttributeMapping {
		if v := in.Claims[claim]; v != "" && attr != "username" {
			attrs = append(attrs, attribute{Name: attr, Value: v})
		}
	}
	ids, _ := json.Marshal([]map[string]any{{"userId": in.Subject, "providerName": p.ProviderName, "providerType": p.ProviderType, "issuer": nil, "primary": true, "dateCreated": s.now().UnixMilli()}})
	attrs = append(attrs, attribute{Name: "identities", Value: string(ids)})
	sort.Slice(attrs, func(i, j int) bool { return attrs[i].Name < attrs[j].Name })
	req := map[string]any{"UserPoolId": in.UserPoolId, "Username": username, "MessageAction": "SUPPRESS", "UserAttributes": attrs}
	if e := s.call(r.Context(), "AdminCreateUser", req, nil); e != nil {
		return nil, e
	}
	s.fed.mu.Lock()
	if s.fed.external == nil {
		s.fed.external = map[string]map[string]bool{}
	}
	if s.fed.external[in.UserPoolId] == nil {
		s.fed.external[in.UserPoolId] = map[string]bool{}
	}
	s.fed.external[in.UserPoolId][username] = true
	s.fed.mu.Unlock()
	return s.getUser(r, in.UserPoolId, username)
}
