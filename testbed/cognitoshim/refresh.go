package cognitoshim

import (
	"encoding/json"
	"net/http"
	"time"
)

// refreshGrant is a refresh token the shim issued (customAuth.refresh, by
// token): RevokeToken revokes it, and REFRESH_TOKEN_AUTH refuses it
// afterwards.
type refreshGrant struct {
	pool, client, username string
	expires                time.Time
	revoked                bool
}

// refreshCustom answers REFRESH_TOKEN_AUTH with a refresh token the shim
// issued: refused once revoked or expired, or through another client.
func (s *Server) refreshCustom(r *http.Request, g *refreshGrant, pool, clientID string) (any, *apiError) {
	s.custom.mu.Lock()
	revoked := g.revoked
	s.custom.mu.Unlock()
	switch {
	case revoked:
		return nil, errOf("NotAuthorizedException", "Refresh Token has been revoked")
	case s.now().After(g.expires):
		return nil, errOf("NotAuthorizedException", "Refresh Token has expired")
	case g.pool != pool || g.client != clientID:
		return nil, errOf("NotAuthorizedException", "Invalid Refresh Token")
	}
	client, e := s.customClient(r.Context(), pool, clientID, g.username, "", "ALLOW_REFRESH_TOKEN_AUTH")
	if e != nil {
		return nil, e
	}
	u, e := s.signInUser(r, pool, g.username)
	if e != nil {
		return nil, e
	}
	out, e := s.issueTokens(r.Context(), pool, client, u, "RefreshTokens")
	if e != nil {
		return nil, e
	}
	res := out.(map[string]any)["AuthenticationResult"].(map[string]any)
	s.custom.mu.Lock()
	delete(s.custom.refresh, res["RefreshToken"].(string)) // a refresh issues no new refresh token
	s.custom.mu.Unlock()
	delete(res, "RefreshToken")
	return out, nil
}

// revokeToken revokes a refresh token the shim issued (and forwards any
// other to cognito-local). Only the client it was issued to may revoke it.
func (s *Server) revokeToken(r *http.Request, body []byte) (any, *apiError) {
	var in struct{ Token, ClientId, ClientSecret string }
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	s.custom.mu.Lock()
	g, ok := s.custom.refresh[in.Token]
	s.custom.mu.Unlock()
	if !ok {
		var out json.RawMessage
		if e := s.call(r.Context(), "RevokeToken", json.RawMessage(body), &out); e != nil {
			return nil, e
		}
		return out, nil
	}
	if g.client != in.ClientId {
		return nil, errOf("UnauthorizedException", "The token was not issued to client %s", in.ClientId)
	}
	s.custom.mu.Lock()
	g.revoked = true
	s.custom.mu.Unlock()
	return map[string]any{}, nil
}
