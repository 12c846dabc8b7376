package cognitoshim_test

import (
	"bytes"
	"crypto/hmac"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	ci "github.com/aws/aws-sdk-go-v2/service/cognitoidentity"
	citypes "github.com/aws/aws-sdk-go-v2/service/cognitoidentity/types"
	cip "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider"
	"github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider/types"
	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"

	"github.com/poolmigrate/poolmigrate/testbed/cognitoshim"
	"github.com/poolmigrate/poolmigrate/testbed/testenv"
)

// identityBed is an in-process shim (a test clock, no throttling unless
// asked) in front of the test bed's cognito-local, with user pools whose
// users sign in through the test bed, so their ID tokens are the ones
// cognito-local mints.
type identityBed struct {
	t   *testing.T
	env *testenv.Env
	c   *ci.Client
	clk *clock
	url string
}

func newIdentityBed(t *testing.T, opts ...cognitoshim.Option) *identityBed {
	t.Helper()
	env := testenv.Require(t)
	clk := &clock{t: time.Now()}
	opts = append([]cognitoshim.Option{cognitoshim.WithClock(clk.now), cognitoshim.WithLogger(t.Logf), cognitoshim.WithThrottle()}, opts...)
	srv := httptest.NewServer(cognitoshim.New(env.LocalEndpoint, opts...))
	t.Cleanup(srv.Close)
	c := ci.NewFromConfig(env.Config, func(o *ci.Options) {
		o.BaseEndpoint = aws.String(srv.URL)
		o.RetryMaxAttempts = 1
	})
	return &identityBed{t: t, env: env, c: c, clk: clk, url: srv.URL}
}

// userPool is a user pool with an app client and a way to sign users in.
type userPool struct {
	b        *identityBed
	id       string
	client   string
	provider string
	subs     map[string]string
}

func (b *identityBed) userPool() *userPool {
	b.t.Helper()
	id := b.env.NewPool(b.t, testenv.PoolOptions{})
	return &userPool{b: b, id: id, client: b.env.NewSignInClient(b.t, id), provider: testenv.UserPoolProvider("us-east-1", id), subs: map[string]string{}}
}

func (p *userPool) user(name string) {
	p.b.t.Helper()
	p.subs[name] = p.b.env.NewSignInUser(p.b.t, p.id, name, "Passw0rd!"+name)
}

// token signs a user in and returns a fresh ID token.
func (p *userPool) token(name string) string {
	p.b.t.Helper()
	return p.b.env.IDToken(p.b.t, p.id, p.client, name, "Passw0rd!"+name)
}

func (p *userPool) login(name string) map[string]string {
	return map[string]string{p.provider: p.token(name)}
}

// identityPool creates an identity pool listing the user pools' providers
// and clients.
func (b *identityBed) identityPool(guests bool, pools ...*userPool) string {
	b.t.Helper()
	in := &ci.CreateIdentityPoolInput{IdentityPoolName: aws.String("files"), AllowUnauthenticatedIdentities: guests}
	for _, p := range pools {
		in.CognitoIdentityProviders = append(in.CognitoIdentityProviders, citypes.CognitoIdentityProvider{ProviderName: aws.String(p.provider), ClientId: aws.String(p.client)})
	}
	out, err := b.c.CreateIdentityPool(ctx, in)
	if err != nil {
		b.t.Fatalf("create identity pool: %v", err)
	}
	return aws.ToString(out.IdentityPoolId)
}

func (b *identityBed) getID(pool string, logins map[string]string) (string, error) {
	out, err := b.c.GetId(ctx, &ci.GetIdInput{IdentityPoolId: &pool, Logins: logins})
	if err != nil {
		return "", err
	}
	return aws.ToString(out.IdentityId), nil
}

func (b *identityBed) mustID(pool string, logins map[string]string) string {
	b.t.Helper()
	id, err := b.getID(pool, logins)
	if err != nil {
		b.t.Fatalf("GetId: %v", err)
	}
	return id
}

func (b *identityBed) identities(pool string) []citypes.IdentityDescription {
	b.t.Helper()
	var all []citypes.IdentityDescription
	var next *string
	for {
		out, err := b.c.ListIdentities(ctx, &ci.ListIdentitiesInput{IdentityPoolId: &pool, MaxResults: aws.Int32(60), NextToken: next})
		if err != nil {
			b.t.Fatalf("ListIdentities: %v", err)
		}
		all = append(all, out.Identities...)
		if next = out.NextToken; next == nil {
			return all
		}
	}
}

func merge(ms ...map[string]string) map[string]string {
	out := map[string]string{}
	for _, m := range ms {
		for k, v := range m {
			out[k] = v
		}
	}
	return out
}

var identityIDRE = regexp.MustCompile(`^us-east-1:[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)

func TestIdentityPoolAPIIsStrict(t *testing.T) {
	b := newIdentityBed(t)
	up := b.userPool()
	id := b.identityPool(false, up)
	if !identityIDRE.MatchString(id) {
		t.Errorf("identity pool id %q, want us-east-1:<uuid>", id)
	}
	got, err := b.c.DescribeIdentityPool(ctx, &ci.DescribeIdentityPoolInput{IdentityPoolId: &id})
	if err != nil {
		t.Fatal(err)
	}
	if len(got.CognitoIdentityProviders) != 1 || aws.ToString(got.CognitoIdentityProviders[0].ClientId) != up.client || got.AllowUnauthenticatedIdentities {
		t.Errorf("described %+v", got)
	}
	for name, p := range map[string]citypes.CognitoIdentityProvider{
		"not a user pool":  {ProviderName: aws.String("accounts.google.com"), ClientId: aws.String("x")},
		"another region":   {ProviderName: aws.String(testenv.UserPoolProvider("eu-west-1", up.id)), ClientId: aws.String(up.client)},
		"no client":        {ProviderName: aws.String(up.provider)},
		"client with dash": {ProviderName: aws.String(up.provider), ClientId: aws.String("a-b")},
	} {
		_, err := b.c.CreateIdentityPool(ctx, &ci.CreateIdentityPoolInput{IdentityPoolName: aws.String("bad"), CognitoIdentityProviders: []citypes.CognitoIdentityProvider{p}})
		if apiCode(err) != "InvalidParameterException" {
			t.Errorf("%s: %v, want InvalidParameterException", name, err)
		}
	}
	// The region prefix of the user pool id names the region too (AWS's
	// pool ids start with their region; cognito-local's with "local").
	if _, err := b.c.CreateIdentityPool(ctx, &ci.CreateIdentityPoolInput{IdentityPoolName: aws.String("by_pool_id"), CognitoIdentityProviders: []citypes.CognitoIdentityProvider{
		{ProviderName: aws.String(testenv.UserPoolProvider(strings.SplitN(up.id, "_", 2)[0], up.id)), ClientId: aws.String(up.client)}}}); err != nil {
		t.Errorf("a provider named by the pool id's region: %v", err)
	}
	if _, err := b.c.CreateIdentityPool(ctx, &ci.CreateIdentityPoolInput{IdentityPoolName: aws.String("bad/name")}); apiCode(err) != "InvalidParameterException" {
		t.Errorf("a name with '/': %v, want InvalidParameterException", err)
	}
	// UpdateIdentityPool replaces the whole configuration: what it leaves
	// out is reset, the providers too.
	if _, err := b.c.UpdateIdentityPool(ctx, &ci.UpdateIdentityPoolInput{IdentityPoolId: &id, IdentityPoolName: aws.String("renamed"), AllowUnauthenticatedIdentities: true}); err != nil {
		t.Fatal(err)
	}
	got, _ = b.c.DescribeIdentityPool(ctx, &ci.DescribeIdentityPoolInput{IdentityPoolId: &id})
	if aws.ToString(got.IdentityPoolName) != "renamed" || len(got.CognitoIdentityProviders) != 0 || !got.AllowUnauthenticatedIdentities {
		t.Errorf("after an update without providers: %+v", got)
	}
	// Pages of ListIdentityPools.
	b.identityPool(false)
	b.identityPool(false)
	seen := map[string]bool{}
	var next *string
	for pages := 0; ; pages++ {
		out, err := b.c.ListIdentityPools(ctx, &ci.ListIdentityPoolsInput{MaxResults: aws.Int32(1), NextToken: next})
		if err != nil {
			t.Fatal(err)
		}
		if len(out.IdentityPools) > 1 {
			t.Fatalf("a page of %d, MaxResults 1", len(out.IdentityPools))
		}
		for _, p := range out.IdentityPools {
			seen[aws.ToString(p.IdentityPoolId)] = true
		}
		if next = out.NextToken; next == nil {
			break
		}
	}
	if len(seen) != 4 || !seen[id] {
		t.Errorf("listed %v, want the 4 pools", seen)
	}
	for _, n := range []int32{0, 61} {
		if _, err := b.c.ListIdentityPools(ctx, &ci.ListIdentityPoolsInput{MaxResults: aws.Int32(n)}); apiCode(err) != "InvalidParameterException" {
			t.Errorf("MaxResults %d: %v, want InvalidParameterException", n, err)
		}
	}
	if _, err := b.c.DeleteIdentityPool(ctx, &ci.DeleteIdentityPoolInput{IdentityPoolId: &id}); err != nil {
		t.Fatal(err)
	}
	if _, err := b.c.DescribeIdentityPool(ctx, &ci.DescribeIdentityPoolInput{IdentityPoolId: &id}); apiCode(err) != "ResourceNotFoundException" {
		t.Errorf("describe a deleted pool: %v, want ResourceNotFoundException", err)
	}
	if _, err := b.getID(id, nil); apiCode(err) != "ResourceNotFoundException" {
		t.Errorf("GetId in a deleted pool: %v, want ResourceNotFoundException", err)
	}
}

func TestGetIdSameLoginSameIdentity(t *testing.T) {
	b := newIdentityBed(t)
	up := b.userPool()
	up.user("alice")
	up.user("bob")
	pool := b.identityPool(false, up)
	first := b.mustID(pool, up.login("alice"))
	if !identityIDRE.MatchString(first) {
		t.Errorf("identity id %q, want us-east-1:<uuid>", first)
	}
	// Another sign-in, another token: the same identity.
	if again := b.mustID(pool, up.login("alice")); again != first {
		t.Errorf("alice's second GetId: %s, want %s", again, first)
	}
	bob := b.mustID(pool, up.login("bob"))
	if bob == first {
		t.Error("bob got alice's identity")
	}
	// The same login in another identity pool is another identity.
	if other := b.mustID(b.identityPool(false, up), up.login("alice")); other == first {
		t.Error("alice has the same identity in two identity pools")
	}
	if n := len(b.identities(pool)); n != 2 {
		t.Errorf("%d identities, want 2", n)
	}
}

func TestGetIdLinksLogins(t *testing.T) {
	b := newIdentityBed(t)
	oldPool, newPool := b.userPool(), b.userPool()
	oldPool.user("alice")
	oldPool.user("mallory")
	newPool.user("alice")
	pool := b.identityPool(false, oldPool, newPool)
	old := b.mustID(pool, oldPool.login("alice"))

	// Both logins in one call: the new one joins the old identity.
	if got := b.mustID(pool, merge(oldPool.login("alice"), newPool.login("alice"))); got != old {
		t.Fatalf("GetId with both logins: %s, want the old identity %s", got, old)
	}
	if got := b.mustID(pool, newPool.login("alice")); got != old {
		t.Errorf("the new login alone: %s, want the old identity %s", got, old)
	}
	d, err := b.c.DescribeIdentity(ctx, &ci.DescribeIdentityInput{IdentityId: &old})
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(d.Logins, " ") != oldPool.provider+" "+newPool.provider {
		t.Errorf("DescribeIdentity logins %v, want both providers' names", d.Logins)
	}
	if n := len(b.identities(pool)); n != 1 {
		t.Errorf("%d identities, want 1", n)
	}
	// Another user of a provider the identity already holds cannot join
	// it: mallory's old login beside alice's new one.
	if _, err := b.getID(pool, merge(oldPool.login("mallory"), newPool.login("alice"))); apiCode(err) != "ResourceConflictException" {
		t.Errorf("mallory's old login beside alice's new one: %v, want ResourceConflictException", err)
	}
	if got := b.identities(pool); len(got) != 1 || len(got[0].Logins) != 2 {
		t.Errorf("identities after mallory's try: %+v, want alice's alone with 2 logins", got)
	}
	// Once the identity pool no longer lists the old user pool, the old
	// login is refused and the new one still answers the old identity.
	if _, err := b.c.UpdateIdentityPool(ctx, &ci.UpdateIdentityPoolInput{IdentityPoolId: &pool, IdentityPoolName: aws.String("files"),
		CognitoIdentityProviders: []citypes.CognitoIdentityProvider{{ProviderName: aws.String(newPool.provider), ClientId: aws.String(newPool.client)}}}); err != nil {
		t.Fatal(err)
	}
	if _, err := b.getID(pool, oldPool.login("alice")); apiCode(err) != "NotAuthorizedException" {
		t.Errorf("a login of a removed provider: %v, want NotAuthorizedException", err)
	}
	if got := b.mustID(pool, newPool.login("alice")); got != old {
		t.Errorf("the new login after the old provider left: %s, want %s", got, old)
	}
}

// Logins that already belong to two identities are not merged: AWS
// answers ResourceConflictException (identity.go says why), and nothing
// changes.
func TestGetIdRefusesLoginsOfTwoIdentities(t *testing.T) {
	b := newIdentityBed(t)
	oldPool, newPool := b.userPool(), b.userPool()
	oldPool.user("alice")
	newPool.user("alice")
	pool := b.identityPool(false, oldPool, newPool)
	old := b.mustID(pool, oldPool.login("alice"))
	fresh := b.mustID(pool, newPool.login("alice")) // signed in to the new pool before any link
	if fresh == old {
		t.Fatal("two logins never linked share an identity")
	}
	if _, err := b.getID(pool, merge(oldPool.login("alice"), newPool.login("alice"))); apiCode(err) != "ResourceConflictException" {
		t.Errorf("logins of two identities: %v, want ResourceConflictException", err)
	}
	if got := b.mustID(pool, oldPool.login("alice")); got != old {
		t.Errorf("old login after the refused link: %s, want %s", got, old)
	}
	if got := b.mustID(pool, newPool.login("alice")); got != fresh {
		t.Errorf("new login after the refused link: %s, want %s", got, fresh)
	}
}

// forge signs claims with a key the user pool does not have, under
// cognito-local's key id.
func forge(t *testing.T, claims map[string]any) string {
	t.Helper()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.RS256, Key: key}, (&jose.SignerOptions{}).WithType("JWT").WithHeader("kid", "CognitoLocal"))
	if err != nil {
		t.Fatal(err)
	}
	tok, err := jwt.Signed(signer).Claims(claims).Serialize()
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

func claimsOf(t *testing.T, token string) map[string]any {
	t.Helper()
	parts := strings.Split(token, ".")
	data, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		t.Fatal(err)
	}
	var c map[string]any
	if err := json.Unmarshal(data, &c); err != nil {
		t.Fatal(err)
	}
	return c
}

// rewrite keeps a token's header and signature with other claims.
func rewrite(t *testing.T, token string, change func(map[string]any)) string {
	t.Helper()
	c := claimsOf(t, token)
	change(c)
	data, _ := json.Marshal(c)
	parts := strings.Split(token, ".")
	return parts[0] + "." + base64.RawURLEncoding.EncodeToString(data) + "." + parts[2]
}

// hs256 signs claims with HMAC, keyed with the user pool's public JWKS
// (the algorithm-confusion attack).
func hs256(t *testing.T, b *identityBed, pool string, claims map[string]any) string {
	t.Helper()
	resp, err := http.Get(b.env.LocalEndpoint + "/" + pool + "/.well-known/jwks.json")
	if err != nil {
		t.Fatal(err)
	}
	jwks, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	head := base64.RawURLEncoding.EncodeToString([]byte(`{"alg":"HS256","typ":"JWT","kid":"CognitoLocal"}`))
	data, _ := json.Marshal(claims)
	body := head + "." + base64.RawURLEncoding.EncodeToString(data)
	m := hmac.New(sha256.New, jwks)
	m.Write([]byte(body))
	return body + "." + base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

func TestGetIdRejectsLoginsAWSRejects(t *testing.T) {
	b := newIdentityBed(t)
	up, other, unlisted := b.userPool(), b.userPool(), b.userPool()
	up.user("alice")
	other.user("alice")
	unlisted.user("alice")
	pool := b.identityPool(true, up, other)
	secondClient := b.env.NewSignInClient(t, up.id)
	good := up.token("alice")
	claims := claimsOf(t, good)
	access := func() string {
		out, err := b.env.Cognito.AdminInitiateAuth(ctx, adminAuth(up, "alice"))
		if err != nil {
			t.Fatal(err)
		}
		return aws.ToString(out.AuthenticationResult.AccessToken)
	}()

	cases := map[string]func() map[string]string{
		"provider the pool does not list": func() map[string]string { return unlisted.login("alice") },
		"client the pool does not list": func() map[string]string {
			return map[string]string{up.provider: b.env.IDToken(t, up.id, secondClient, "alice", "Passw0rd!alice")}
		},
		"another user pool's token under this provider": func() map[string]string { return map[string]string{up.provider: other.token("alice")} },
		"forged signature":    func() map[string]string { return map[string]string{up.provider: forge(t, claims)} },
		"HS256 with the JWKS": func() map[string]string { return map[string]string{up.provider: hs256(t, b, up.id, claims)} },
		"alg none":            func() map[string]string { return map[string]string{up.provider: algNone(claims)} },
		"another sub, same signature": func() map[string]string {
			return map[string]string{up.provider: rewrite(t, good, func(c map[string]any) { c["sub"] = other.subs["alice"] })}
		},
		"access token": func() map[string]string { return map[string]string{up.provider: access} },
		"no aud": func() map[string]string {
			return map[string]string{up.provider: forge(t, without(claims, "aud"))}
		},
		"not a token": func() map[string]string { return map[string]string{up.provider: "not-a-token"} },
	}
	for name, logins := range cases {
		if _, err := b.getID(pool, logins()); apiCode(err) != "NotAuthorizedException" {
			t.Errorf("%s: %v, want NotAuthorizedException", name, err)
		}
	}
	// A pool that lists another user pool's client under this provider:
	// that pool's tokens carry a listed aud, but their issuer is not this
	// provider's user pool.
	crossed := b.identityPool(false)
	if _, err := b.c.UpdateIdentityPool(ctx, &ci.UpdateIdentityPoolInput{IdentityPoolId: &crossed, IdentityPoolName: aws.String("crossed"),
		CognitoIdentityProviders: []citypes.CognitoIdentityProvider{{ProviderName: aws.String(up.provider), ClientId: aws.String(other.client)}}}); err != nil {
		t.Fatal(err)
	}
	if _, err := b.getID(crossed, map[string]string{up.provider: other.token("alice")}); apiCode(err) != "NotAuthorizedException" {
		t.Errorf("a token whose issuer is not the provider: %v, want NotAuthorizedException", err)
	}
	// An expired token: cognito-local's ID tokens live 24 hours.
	stale := up.token("alice")
	b.clk.add(24*time.Hour + time.Minute)
	if _, err := b.getID(pool, map[string]string{up.provider: stale}); apiCode(err) != "NotAuthorizedException" {
		t.Errorf("an expired token: %v, want NotAuthorizedException", err)
	}
	if got := b.identities(pool); len(got) != 0 {
		t.Errorf("refused logins made identities: %+v", got)
	}
	// One bad login spoils the call: nothing is linked.
	b.clk.add(-24*time.Hour - time.Minute)
	if _, err := b.getID(pool, merge(up.login("alice"), map[string]string{other.provider: forge(t, claimsOf(t, other.token("alice")))})); apiCode(err) != "NotAuthorizedException" {
		t.Errorf("a good and a forged login: %v, want NotAuthorizedException", err)
	}
	if got := b.identities(pool); len(got) != 0 {
		t.Errorf("a refused call made identities: %+v", got)
	}
}

func without(m map[string]any, key string) map[string]any {
	out := map[string]any{}
	for k, v := range m {
		if k != key {
			out[k] = v
		}
	}
	return out
}

func algNone(claims map[string]any) string {
	data, _ := json.Marshal(claims)
	return base64.RawURLEncoding.EncodeToString([]byte(`{"alg":"none","typ":"JWT"}`)) + "." + base64.RawURLEncoding.EncodeToString(data) + "."
}

func TestGetIdGuestsOnlyWhenAllowed(t *testing.T) {
	b := newIdentityBed(t)
	closed := b.identityPool(false)
	if _, err := b.getID(closed, nil); apiCode(err) != "NotAuthorizedException" {
		t.Errorf("a guest in a pool without them: %v, want NotAuthorizedException", err)
	}
	open := b.identityPool(true)
	a, g := b.mustID(open, nil), b.mustID(open, nil)
	if a == g {
		t.Error("two guest GetIds answered one identity")
	}
	for _, d := range b.identities(open) {
		if len(d.Logins) != 0 {
			t.Errorf("guest %s has logins %v", aws.ToString(d.IdentityId), d.Logins)
		}
	}
}

func TestGetIdLoginLimits(t *testing.T) {
	b := newIdentityBed(t)
	var pools []*userPool
	for i := 0; i < 21; i++ {
		p := b.userPool()
		p.user("alice")
		pools = append(pools, p)
	}
	pool := b.identityPool(false, pools...)
	logins := func(ps ...*userPool) map[string]string {
		m := map[string]string{}
		for _, p := range ps {
			m[p.provider] = p.token("alice")
		}
		return m
	}
	if _, err := b.getID(pool, logins(pools[:11]...)); apiCode(err) != "InvalidParameterException" {
		t.Errorf("11 logins in one call: %v, want InvalidParameterException", err)
	}
	id := b.mustID(pool, logins(pools[:10]...))
	if got := b.mustID(pool, logins(append([]*userPool{pools[0]}, pools[10:19]...)...)); got != id {
		t.Fatalf("linking 9 more: %s, want %s", got, id)
	}
	if got := b.mustID(pool, logins(pools[0], pools[19])); got != id {
		t.Fatalf("the 20th login: %s, want %s", got, id)
	}
	if _, err := b.getID(pool, logins(pools[0], pools[20])); apiCode(err) != "LimitExceededException" {
		t.Errorf("the 21st login: %v, want LimitExceededException", err)
	}
	if got := b.identities(pool); len(got) != 1 || len(got[0].Logins) != 20 {
		t.Errorf("identities %+v, want one with 20 logins", got)
	}
}

func TestListIdentitiesPagesAndHidesSubs(t *testing.T) {
	b := newIdentityBed(t)
	up := b.userPool()
	names := []string{"u1", "u2", "u3", "u4", "u5"}
	var ids []string
	for _, n := range names {
		up.user(n)
	}
	pool := b.identityPool(false, up)
	for _, n := range names {
		ids = append(ids, b.mustID(pool, up.login(n)))
	}
	var got []string
	var next *string
	pages := 0
	for {
		out, err := b.c.ListIdentities(ctx, &ci.ListIdentitiesInput{IdentityPoolId: &pool, MaxResults: aws.Int32(2), NextToken: next})
		if err != nil {
			t.Fatal(err)
		}
		pages++
		for _, d := range out.Identities {
			got = append(got, aws.ToString(d.IdentityId))
			if strings.Join(d.Logins, ",") != up.provider {
				t.Errorf("%s: logins %v, want the provider name", aws.ToString(d.IdentityId), d.Logins)
			}
		}
		if next = out.NextToken; next == nil {
			break
		}
	}
	if strings.Join(got, " ") != strings.Join(ids, " ") || pages != 3 {
		t.Errorf("listed %v in %d pages, want %v in 3", got, pages, ids)
	}
	for _, n := range []int32{0, 61} {
		if _, err := b.c.ListIdentities(ctx, &ci.ListIdentitiesInput{IdentityPoolId: &pool, MaxResults: aws.Int32(n)}); apiCode(err) != "InvalidParameterException" {
			t.Errorf("MaxResults %d: %v, want InvalidParameterException", n, err)
		}
	}
	first, _ := b.c.ListIdentities(ctx, &ci.ListIdentitiesInput{IdentityPoolId: &pool, MaxResults: aws.Int32(2)})
	if _, err := b.c.ListIdentities(ctx, &ci.ListIdentitiesInput{IdentityPoolId: &pool, MaxResults: aws.Int32(2), NextToken: aws.String(aws.ToString(first.NextToken) + "x")}); apiCode(err) != "InvalidParameterException" {
		t.Errorf("a tampered token: %v, want InvalidParameterException", err)
	}
	// No answer names a sub, whatever the SDK would read of it.
	for _, call := range []struct{ op, body string }{
		{"ListIdentities", fmt.Sprintf(`{"IdentityPoolId":%q,"MaxResults":60}`, pool)},
		{"DescribeIdentity", fmt.Sprintf(`{"IdentityId":%q}`, ids[0])},
	} {
		raw := rawIdentityCall(t, b.url, call.op, call.body)
		for n, sub := range up.subs {
			if strings.Contains(raw, sub) {
				t.Errorf("%s names %s's sub: %s", call.op, n, raw)
			}
		}
	}
}

func rawIdentityCall(t *testing.T, url, op, body string) string {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, url+"/", bytes.NewReader([]byte(body)))
	req.Header.Set("Content-Type", "application/x-amz-json-1.1")
	req.Header.Set("X-Amz-Target", "AWSCognitoIdentityService."+op)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 {
		t.Fatalf("%s: %s %s", op, resp.Status, data)
	}
	return string(data)
}

func TestDeleteIdentities(t *testing.T) {
	b := newIdentityBed(t)
	up := b.userPool()
	up.user("alice")
	up.user("bob")
	pool := b.identityPool(false, up)
	alice, bob := b.mustID(pool, up.login("alice")), b.mustID(pool, up.login("bob"))
	unknown := "us-east-1:00000000-0000-4000-8000-000000000000"
	out, err := b.c.DeleteIdentities(ctx, &ci.DeleteIdentitiesInput{IdentityIdsToDelete: []string{alice, unknown}})
	if err != nil {
		t.Fatal(err)
	}
	if len(out.UnprocessedIdentityIds) != 1 || aws.ToString(out.UnprocessedIdentityIds[0].IdentityId) != unknown || out.UnprocessedIdentityIds[0].ErrorCode != citypes.ErrorCodeAccessDenied {
		t.Errorf("unprocessed %+v, want the unknown id as AccessDenied", out.UnprocessedIdentityIds)
	}
	if _, err := b.c.DescribeIdentity(ctx, &ci.DescribeIdentityInput{IdentityId: &alice}); apiCode(err) != "ResourceNotFoundException" {
		t.Errorf("describe a deleted identity: %v, want ResourceNotFoundException", err)
	}
	if _, err := b.c.DescribeIdentity(ctx, &ci.DescribeIdentityInput{IdentityId: &bob}); err != nil {
		t.Errorf("bob's identity: %v", err)
	}
	// Alice's login is free again: her next GetId makes a new identity.
	if again := b.mustID(pool, up.login("alice")); again == alice {
		t.Error("a deleted identity came back")
	}
	many := make([]string, 61)
	for i := range many {
		many[i] = unknown
	}
	if _, err := b.c.DeleteIdentities(ctx, &ci.DeleteIdentitiesInput{IdentityIdsToDelete: many}); apiCode(err) != "InvalidParameterException" {
		t.Errorf("61 ids: %v, want InvalidParameterException", err)
	}
	if _, err := b.c.DeleteIdentities(ctx, &ci.DeleteIdentitiesInput{IdentityIdsToDelete: []string{"not an id"}}); apiCode(err) != "InvalidParameterException" {
		t.Errorf("a malformed id: %v, want InvalidParameterException", err)
	}
}

func TestUnlinkIdentity(t *testing.T) {
	b := newIdentityBed(t)
	oldPool, newPool := b.userPool(), b.userPool()
	oldPool.user("alice")
	newPool.user("alice")
	newPool.user("mallory")
	pool := b.identityPool(false, oldPool, newPool)
	id := b.mustID(pool, merge(oldPool.login("alice"), newPool.login("alice")))
	// Someone else's login is no proof of owning the identity.
	if _, err := b.c.UnlinkIdentity(ctx, &ci.UnlinkIdentityInput{IdentityId: &id, Logins: newPool.login("mallory"), LoginsToRemove: []string{oldPool.provider}}); apiCode(err) != "NotAuthorizedException" {
		t.Errorf("unlink with mallory's login: %v, want NotAuthorizedException", err)
	}
	if _, err := b.c.UnlinkIdentity(ctx, &ci.UnlinkIdentityInput{IdentityId: &id, Logins: newPool.login("alice"), LoginsToRemove: []string{oldPool.provider}}); err != nil {
		t.Fatal(err)
	}
	d, _ := b.c.DescribeIdentity(ctx, &ci.DescribeIdentityInput{IdentityId: &id})
	if strings.Join(d.Logins, " ") != newPool.provider {
		t.Errorf("logins after unlinking the old pool: %v", d.Logins)
	}
	if got := b.mustID(pool, oldPool.login("alice")); got == id {
		t.Error("the unlinked login still answers the identity")
	}
	// The last login unlinked: the identity stays, without a login, and
	// the login answers a new identity next time; then it can be deleted.
	if _, err := b.c.UnlinkIdentity(ctx, &ci.UnlinkIdentityInput{IdentityId: &id, Logins: newPool.login("alice"), LoginsToRemove: []string{newPool.provider}}); err != nil {
		t.Fatal(err)
	}
	if d, err := b.c.DescribeIdentity(ctx, &ci.DescribeIdentityInput{IdentityId: &id}); err != nil || len(d.Logins) != 0 {
		t.Errorf("after unlinking its last login: %v, %v", d, err)
	}
	if got := b.mustID(pool, newPool.login("alice")); got == id {
		t.Error("the login unlinked last still answers the identity")
	}
	if out, err := b.c.DeleteIdentities(ctx, &ci.DeleteIdentitiesInput{IdentityIdsToDelete: []string{id}}); err != nil || len(out.UnprocessedIdentityIds) != 0 {
		t.Errorf("delete the loginless identity: %v, %v", out, err)
	}
}

// With AWS's quotas (the shim's default), a burst of GetId calls above the
// quota is throttled.
func TestIdentityAPIThrottlesAtAWSQuotas(t *testing.T) {
	env := testenv.Require(t)
	srv := httptest.NewServer(cognitoshim.New(env.LocalEndpoint, cognitoshim.WithLogger(func(string, ...any) {})))
	t.Cleanup(srv.Close)
	c := ci.NewFromConfig(env.Config, func(o *ci.Options) {
		o.BaseEndpoint = aws.String(srv.URL)
		o.RetryMaxAttempts = 1
	})
	out, err := c.CreateIdentityPool(ctx, &ci.CreateIdentityPoolInput{IdentityPoolName: aws.String("guests"), AllowUnauthenticatedIdentities: true})
	if err != nil {
		t.Fatal(err)
	}
	throttled := 0
	for i := 0; i < 60; i++ {
		if _, err := c.GetId(ctx, &ci.GetIdInput{IdentityPoolId: out.IdentityPoolId}); apiCode(err) == "TooManyRequestsException" {
			throttled++
		} else if err != nil {
			t.Fatal(err)
		}
	}
	if throttled == 0 {
		t.Error("60 GetIds at once were all answered; AWS's quota would throttle some")
	}
}

func adminAuth(p *userPool, name string) *cip.AdminInitiateAuthInput {
	return &cip.AdminInitiateAuthInput{UserPoolId: &p.id, ClientId: &p.client, AuthFlow: types.AuthFlowTypeAdminUserPasswordAuth,
		AuthParameters: map[string]string{"USERNAME": name, "PASSWORD": "Passw0rd!" + name}}
}
