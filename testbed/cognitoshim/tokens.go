package cognitoshim

import (
	"context"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"time"
)

// The tokens of a sign-in the shim runs itself (customauth.go): signed
// with cognito-local's key (WithTokenKey), after the pool's
// PreTokenGeneration and PostAuthentication triggers, with the refresh
// token kept for refresh.go.

// WithTokenKey gives the shim the key cognito-local signs its tokens with:
// the contents of cognito-local's lib/keys/cognitoLocal.private.json (or a
// PEM RSA private key).
func WithTokenKey(keyFile []byte) Option {
	return func(s *Server) {
		key, err := parseTokenKey(keyFile)
		if err != nil {
			panic(fmt.Sprintf("cognitoshim.WithTokenKey: %v", err))
		}
		s.custom.key = key
	}
}

func parseTokenKey(data []byte) (*rsa.PrivateKey, error) {
	var f struct{ Pem string }
	if json.Unmarshal(data, &f) == nil && f.Pem != "" {
		data = []byte(f.Pem)
	}
	block, _ := pem.Decode(data)
	if block == nil {
		return nil, errors.New("no PEM key")
	}
	if k, err := x509.ParsePKCS1PrivateKey(block.Bytes); err == nil {
		return k, nil
	}
	k, err := x509.ParsePKCS8PrivateKey(block.Bytes)
	if err != nil {
		return nil, err
	}
	rk, ok := k.(*rsa.PrivateKey)
	if !ok {
		return nil, errors.New("not an RSA key")
	}
	return rk, nil
}

// issueTokens signs the user's tokens as cognito-local does (its key, key
// id and issuer) and keeps the refresh token.
func (s *Server) issueTokens(ctx context.Context, pool string, client authClient, u user, source string) (any, *apiError) {
	if s.custom.key == nil {
		return nil, errInternal("the shim was started without cognito-local's token key (WithTokenKey): it cannot sign tokens")
	}
	now := s.now()
	sub := u.attr("sub")
	var groups struct{ Groups []struct{ GroupName string } }
	if e := s.call(ctx, "AdminListGroupsForUser", map[string]string{"UserPoolId": pool, "Username": u.username()}, &groups); e != nil {
		return nil, e
	}
	eventID, jti := newID(), newID()
	idClaims := map[string]any{"sub": sub, "aud": client.ClientId, "token_use": "id", "cognito:username": u.username(),
		"auth_time": now.Unix(), "iat": now.Unix(), "exp": now.Add(client.validity("IdToken")).Unix(), "event_id": eventID, "jti": jti, "origin_jti": jti,
		"iss": s.upstream + "/" + pool}
	for _, a := range u.attributes() {
		switch {
		case a.Name == "sub":
		case a.Name == "email_verified" || a.Name == "phone_number_verified":
			idClaims[a.Name] = a.Value == "true"
		default:
			idClaims[a.Name] = a.Value
		}
	}
	accessClaims := map[string]any{"sub": sub, "client_id": client.ClientId, "token_use": "access", "scope": "aws.cognito.signin.user.admin",
		"username": u.username(), "auth_time": now.Unix(), "iat": now.Unix(), "exp": now.Add(client.validity("AccessToken")).Unix(),
		"event_id": eventID, "jti": newID(), "origin_jti": jti, "iss": s.upstream + "/" + pool}
	if len(groups.Groups) > 0 {
		var names []string
		for _, g := range groups.Groups {
			names = append(names, g.GroupName)
		}
		idClaims["cognito:groups"], accessClaims["cognito:groups"] = names, names
	}
	if e := s.tokenTriggers(ctx, pool, client, u, source, idClaims); e != nil {
		return nil, e
	}
	idToken, err := s.signJWT(idClaims)
	if err != nil {
		return nil, errInternal("sign the ID token: %v", err)
	}
	accessToken, err := s.signJWT(accessClaims)
	if err != nil {
		return nil, errInternal("sign the access token: %v", err)
	}
	refresh := make([]byte, 64)
	_, _ = rand.Read(refresh)
	refreshToken := base64.RawURLEncoding.EncodeToString(refresh)
	s.custom.mu.Lock()
	if s.custom.refresh == nil {
		s.custom.refresh = map[string]*refreshGrant{}
	}
	s.custom.refresh[refreshToken] = &refreshGrant{pool: pool, client: client.ClientId, username: u.username(), expires: now.Add(client.validity("RefreshToken"))}
	s.custom.mu.Unlock()
	return map[string]any{"ChallengeParameters": map[string]string{}, "AuthenticationResult": map[string]any{
		"IdToken": idToken, "AccessToken": accessToken, "RefreshToken": refreshToken, "TokenType": "Bearer",
		"ExpiresIn": int(client.validity("AccessToken") / time.Second)}}, nil
}

// reservedClaims are the ID token's claims a PreTokenGeneration trigger
// may not change (Cognito ignores them there).
var reservedClaims = map[string]bool{"acr": true, "amr": true, "aud": true, "at_hash": true, "auth_time": true, "azp": true, "cognito:username": true,
	"exp": true, "iat": true, "identities": true, "iss": true, "jti": true, "nbf": true, "nonce": true, "origin_jti": true, "sub": true, "token_use": true}

// tokenTriggers runs the pool's PreTokenGeneration trigger on the ID
// token's claims (claims to add, override or suppress) and, for a sign-in,
// its PostAuthentication trigger, as Cognito does for every token it
// issues; either failing fails the sign-in.
func (s *Server) tokenTriggers(ctx context.Context, pool string, client authClient, u user, source string, idClaims map[string]any) *apiError {
	var out struct {
		UserPool struct {
			LambdaConfig struct {
				PreTokenGeneration, PostAuthentication string
				PreTokenGenerationConfig               struct{ LambdaArn string }
			}
		}
	}
	if e := s.call(ctx, "DescribeUserPool", map[string]string{"UserPoolId": pool}, &out); e != nil {
		return e
	}
	lc := out.UserPool.LambdaConfig
	pre := lc.PreTokenGeneration
	if lc.PreTokenGenerationConfig.LambdaArn != "" {
		pre = lc.PreTokenGenerationConfig.LambdaArn
	}
	if pre != "" {
		var resp struct {
			ClaimsOverrideDetails struct {
				ClaimsToAddOrOverride map[string]any `json:"claimsToAddOrOverride"`
				ClaimsToSuppress      []string       `json:"claimsToSuppress"`
			} `json:"claimsOverrideDetails"`
		}
		if e := s.invokeAs(ctx, pre, "PreTokenGeneration", "TokenGeneration_"+source, pool, client.ClientId, u.username(),
			map[string]any{"userAttributes": u.attributeMap(), "groupConfiguration": map[string]any{}}, &resp); e != nil {
			return e
		}
		for k, v := range resp.ClaimsOverrideDetails.ClaimsToAddOrOverride {
			if !reservedClaims[k] {
				idClaims[k] = v
			}
		}
		for _, k := range resp.ClaimsOverrideDetails.ClaimsToSuppress {
			if !reservedClaims[k] {
				delete(idClaims, k)
			}
		}
	}
	if lc.PostAuthentication != "" && source == "Authentication" {
		var resp map[string]any
		if e := s.invokeAs(ctx, lc.PostAuthentication, "PostAuthentication", "PostAuthentication_Authentication", pool, client.ClientId, u.username(),
			map[string]any{"userAttributes": u.attributeMap(), "newDeviceUsed": false}, &resp); e != nil {
			return e
		}
	}
	return nil
}

// validity is how long a token of kind (IdToken, AccessToken, RefreshToken)
// lives for the client: its setting, or Cognito's default (an hour; 30 days
// for the refresh token).
func (c authClient) validity(kind string) time.Duration {
	v, unit := 0, c.TokenValidityUnits[kind]
	switch kind {
	case "IdToken":
		v = c.IdTokenValidity
	case "AccessToken":
		v = c.AccessTokenValidity
	case "RefreshToken":
		v = c.RefreshTokenValidity
	}
	if v <= 0 {
		if kind == "RefreshToken" {
			return 30 * 24 * time.Hour
		}
		return time.Hour
	}
	switch unit {
	case "seconds":
		return time.Duration(v) * time.Second
	case "minutes":
		return time.Duration(v) * time.Minute
	case "hours":
		return time.Duration(v) * time.Hour
	case "days":
		return time.Duration(v) * 24 * time.Hour
	}
	if kind == "RefreshToken" {
		return time.Duration(v) * 24 * time.Hour // days by default
	}
	return time.Duration(v) * time.Hour
}

// signJWT is an RS256 JWT of claims, with cognito-local's key id.
func (s *Server) signJWT(claims map[string]any) (string, error) {
	head, _ := json.Marshal(map[string]string{"alg": "RS256", "typ": "JWT", "kid": "CognitoLocal"})
	body, err := json.Marshal(claims)
	if err != nil {
		return "", err
	}
	signed := base64.RawURLEncoding.EncodeToString(head) + "." + base64.RawURLEncoding.EncodeToString(body)
	sum := sha256.Sum256([]byte(signed))
	sig, err := rsa.SignPKCS1v15(rand.Reader, s.custom.key, crypto.SHA256, sum[:])
	if err != nil {
		return "", err
	}
	return signed + "." + base64.RawURLEncoding.EncodeToString(sig), nil
}

func newID() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:])
}
