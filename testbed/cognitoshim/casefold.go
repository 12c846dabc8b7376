package cognitoshim

import (
	"context"
	"encoding/json"
	"strings"
)

// Case-insensitive pools (UsernameConfiguration.CaseSensitive false, what
// the console, `amplify add auth` and Amplify Gen 2 make): AWS treats
// "Alice" and "alice" as one user, and the email and preferred_username
// aliases likewise ("Amazon Cognito treats any variation in case as the
// same user, and prevents a case variation from being assigned to the
// same attribute for a different user"). cognito-local compares exactly,
// so the shim finds the user a name means, whatever its case, and hands
// cognito-local the stored name: a create of a case variant then meets
// the user that exists, and get, sign-in, group and admin calls reach it.
//
// Not modelled: AWS's documented lower-casing of mixed-case values in some
// outputs (the shim shows names as they were stored), and the secret hash
// of a sign-in through a client with a secret (its USERNAME is left as
// typed, since the hash was computed over it).

// foldsCase reports whether the pool's usernames and aliases ignore case.
func (p poolInfo) foldsCase() bool {
	return p.UsernameConfiguration != nil && p.UsernameConfiguration.CaseSensitive != nil && !*p.UsernameConfiguration.CaseSensitive
}

// foldedAttrs are the attributes a name is compared with, besides the
// username, in a pool that folds case: the ones it signs in by.
func (p poolInfo) foldedAttrs() []string {
	var out []string
	for _, a := range []string{"email", "preferred_username"} {
		if p.has(p.UsernameAttributes, a) || p.has(p.AliasAttributes, a) {
			out = append(out, a)
		}
	}
	return out
}

// storedName is the username of the user name means in a pool that folds
// case (name itself when no user matches, or the pool is case-sensitive).
func (s *Server) storedName(ctx context.Context, p poolInfo, name string) (string, *apiError) {
	if !p.foldsCase() || name == "" {
		return name, nil
	}
	if e := s.call(ctx, "AdminGetUser", map[string]string{"UserPoolId": p.ID, "Username": name}, nil); e == nil {
		return name, nil
	} else if e.Type != "UserNotFoundException" {
		return "", e
	}
	var all struct{ Users []user }
	if e := s.call(ctx, "ListUsers", map[string]any{"UserPoolId": p.ID}, &all); e != nil {
		return "", e
	}
	attrs := p.foldedAttrs()
	for _, u := range all.Users {
		if strings.EqualFold(u.username(), name) {
			return u.username(), nil
		}
		for _, a := range attrs {
			if v := u.attr(a); v != "" && strings.EqualFold(v, name) {
				return u.username(), nil
			}
		}
	}
	return name, nil
}

// foldRequest rewrites the user a request to a pool that folds case names
// (its Username; AdminInitiateAuth's USERNAME) to the stored name. Other
// requests pass unchanged.
func (s *Server) foldRequest(ctx context.Context, op string, body []byte) ([]byte, *apiError) {
	var in map[string]json.RawMessage
	if json.Unmarshal(body, &in) != nil {
		return body, nil // the handler answers the malformed request
	}
	var pool string
	if json.Unmarshal(in["UserPoolId"], &pool) != nil || pool == "" {
		return body, nil
	}
	var name string
	var params map[string]string
	switch {
	case op == "AdminInitiateAuth":
		if json.Unmarshal(in["AuthParameters"], &params) != nil || params["USERNAME"] == "" || params["SECRET_HASH"] != "" {
			return body, nil
		}
		name = params["USERNAME"]
	case in["Username"] != nil:
		if json.Unmarshal(in["Username"], &name) != nil || name == "" {
			return body, nil
		}
	default:
		return body, nil
	}
	p, e := s.describePool(ctx, pool)
	if e != nil || !p.foldsCase() {
		return body, nil // the handler or cognito-local answers
	}
	stored, e := s.storedName(ctx, p, name)
	if e != nil {
		return nil, e
	}
	if stored == name {
		return body, nil
	}
	if params != nil {
		params["USERNAME"] = stored
		in["AuthParameters"], _ = json.Marshal(params)
	} else {
		in["Username"], _ = json.Marshal(stored)
	}
	out, err := json.Marshal(in)
	if err != nil {
		return nil, errInternal("%s: %v", op, err)
	}
	return out, nil
}

// foldedFilter tells whether a ListUsers filter on attr must be applied by
// the shim without case (a pool that folds case, on the username, email or
// preferred_username, which AWS's guide names as case-insensitive there),
// and the predicate that does it.
func foldedFilter(p poolInfo, attr, op, value string) (func(user) bool, bool) {
	if !p.foldsCase() {
		return nil, false
	}
	if attr != "username" && attr != "email" && attr != "preferred_username" {
		return nil, false
	}
	want := strings.ToLower(value)
	return func(u user) bool {
		v := strings.ToLower(u.attr(attr))
		if op == "^=" {
			return strings.HasPrefix(v, want)
		}
		return v == want
	}, true
}
