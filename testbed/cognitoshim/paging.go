package cognitoshim

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"regexp"
	"sort"
	"strings"
	"time"
)

// Page sizes and token lifetime as the Cognito API reference states them.
const (
	maxUserPage  = 60
	maxGroupPage = 60
	tokenTTL     = time.Hour
)

// user is a user as cognito-local returns it; fields the shim does not touch
// pass through untouched.
type user map[string]json.RawMessage

func (u user) username() string {
	var s string
	_ = json.Unmarshal(u["Username"], &s)
	return s
}

func (u user) attributes() []attribute {
	var a []attribute
	_ = json.Unmarshal(u["Attributes"], &a)
	return a
}

func (u user) attr(name string) string {
	if name == "username" {
		return u.username()
	}
	for _, a := range u.attributes() {
		if a.Name == name {
			return a.Value
		}
	}
	return ""
}

type attribute struct {
	Name  string `json:"Name"`
	Value string `json:"Value"`
}

// pageToken is the cursor a page hands to the next: the sort value and
// username of the last user (or group name) returned. It is signed, bound to
// the request it continues, and expires after an hour like AWS's tokens.
type pageToken struct {
	Kind   string `json:"k"`
	Pool   string `json:"p"`
	Scope  string `json:"s"` // filter or group name
	After  string `json:"a"`
	AfterU string `json:"u"`
	Page   int    `json:"n,omitempty"` // the number of the page it opens (0: the first)
	Issued int64  `json:"t"`
}

func (s *Server) encodeToken(t pageToken) string {
	t.Issued = s.now().Unix()
	data, _ := json.Marshal(t)
	b := base64.RawURLEncoding.EncodeToString(data)
	return b + "." + s.sign(b)
}

func (s *Server) decodeToken(raw, kind, pool, scope string) (pageToken, *apiError) {
	var t pageToken
	b, sig, ok := strings.Cut(raw, ".")
	if !ok || sig != s.sign(b) {
		return t, errInvalid("Invalid pagination token.")
	}
	data, err := base64.RawURLEncoding.DecodeString(b)
	if err != nil || json.Unmarshal(data, &t) != nil {
		return t, errInvalid("Invalid pagination token.")
	}
	if t.Kind != kind || t.Pool != pool || t.Scope != scope {
		return t, errInvalid("Pagination token does not match the request: it was issued for other parameters.")
	}
	if s.now().Sub(time.Unix(t.Issued, 0)) > tokenTTL {
		return t, errInvalid("Pagination token expired.")
	}
	return t, nil
}

func pageLimit(limit *int, max int, field string) (int, *apiError) {
	if limit == nil || *limit == 0 {
		return max, nil
	}
	if *limit < 0 || *limit > max {
		return 0, errOf("InvalidParameterException", "1 validation error detected: Value '%d' at '%s' failed to satisfy constraint: Member must have value less than or equal to %d", *limit, field, max)
	}
	return *limit, nil
}

var filterRE = regexp.MustCompile(`^\s*([\w:]+)\s*(=|\^=)\s*"(.*)"\s*$`)

// searchable lists the attributes ListUsers can filter on.
var searchable = map[string]bool{
	"username": true, "email": true, "phone_number": true, "name": true, "given_name": true,
	"family_name": true, "preferred_username": true, "cognito:user_status": true, "status": true, "sub": true,
}

func (s *Server) listUsers(r *http.Request, body []byte) (any, *apiError) {
	var in struct {
		UserPoolId      string
		AttributesToGet []string
		Limit           *int
		PaginationToken string
		Filter          string
	}
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	if s.userList != nil && !s.userList.allow() {
		return nil, errOf("TooManyRequestsException", "Rate exceeded")
	}
	limit, err := pageLimit(in.Limit, maxUserPage, "limit")
	if err != nil {
		return nil, err
	}
	sortAttr := "username"
	upstreamFilter := in.Filter
	var folded func(user) bool // a filter the shim applies (nil: none)
	if strings.TrimSpace(in.Filter) != "" {
		m := filterRE.FindStringSubmatch(in.Filter)
		if m == nil {
			return nil, errInvalid("Error while parsing filter.")
		}
		if !searchable[m[1]] {
			return nil, errInvalid("Invalid search attribute: %s", m[1])
		}
		sortAttr = m[1]
		// AWS filters status on "Enabled"/"Disabled"; cognito-local
		// compares the stored boolean.
		if m[1] == "status" {
			v := map[string]string{"Enabled": "true", "Disabled": "false"}[m[3]]
			if v == "" || m[2] != "=" {
				return nil, errInvalid("Invalid filter value for status: use status = \"Enabled\" or status = \"Disabled\".")
			}
			upstreamFilter = fmt.Sprintf(`status = "%s"`, v)
		} else {
			upstreamFilter = fmt.Sprintf(`%s %s "%s"`, m[1], m[2], m[3])
		}
		if m[1] == "username" || m[1] == "email" || m[1] == "preferred_username" {
			p, e := s.describePool(r.Context(), in.UserPoolId)
			if e != nil {
				return nil, e
			}
			if keep, ok := foldedFilter(p, m[1], m[2], m[3]); ok { // casefold.go
				upstreamFilter, folded = "", keep
			}
		}
	}
	var all struct{ Users []user }
	req := map[string]any{"UserPoolId": in.UserPoolId}
	if upstreamFilter != "" {
		req["Filter"] = upstreamFilter
	}
	if e := s.call(r.Context(), "ListUsers", req, &all); e != nil {
		return nil, e
	}
	if folded != nil {
		kept := all.Users[:0]
		for _, u := range all.Users {
			if folded(u) {
				kept = append(kept, u)
			}
		}
		all.Users = kept
	}
	users := sortUsers(all.Users, sortAttr)
	page, next, e := s.pageUsers(users, in.PaginationToken, "ListUsers", in.UserPoolId, in.Filter, sortAttr, limit)
	if e != nil {
		return nil, e
	}
	for i := range page {
		page[i] = s.present(in.UserPoolId, page[i], in.AttributesToGet)
	}
	out := map[string]any{"Users": page}
	if next != "" {
		out["PaginationToken"] = next
	}
	return out, nil
}

// sortUsers orders users by an attribute, then username, reading each
// user's keys once (a user's attributes are JSON: decoding them in every
// comparison made a 400-user filter cost the shim milliseconds a page).
func sortUsers(users []user, attr string) []user {
	type keyed struct {
		key, name string
		u         user
	}
	ks := make([]keyed, len(users))
	for i, u := range users {
		ks[i] = keyed{u.attr(attr), u.username(), u}
	}
	sort.Slice(ks, func(i, j int) bool {
		if ks[i].key != ks[j].key {
			return ks[i].key < ks[j].key
		}
		return ks[i].name < ks[j].name
	})
	out := make([]user, len(ks))
	for i := range ks {
		out[i] = ks[i].u
	}
	return out
}

// pageUsers cuts one page after the token's cursor, so users created or
// deleted between pages do not shift the pages as an offset would.
func (s *Server) pageUsers(users []user, token, kind, pool, scope, sortAttr string, limit int) ([]user, string, *apiError) {
	start, n := 0, 0
	if token != "" {
		t, err := s.decodeToken(token, kind, pool, scope)
		if err != nil {
			return nil, "", err
		}
		start = sort.Search(len(users), func(i int) bool {
			v, u := users[i].attr(sortAttr), users[i].username()
			return v > t.After || v == t.After && u > t.AfterU
		})
		n = t.Page
	}
	end := min(start+limit, len(users))
	if end < len(users) {
		end = start + s.pageSize(n, limit)
	}
	page := append([]user(nil), users[start:end]...)
	next := ""
	if end < len(users) {
		last := users[end-1]
		next = s.encodeToken(pageToken{Kind: kind, Pool: pool, Scope: scope, After: last.attr(sortAttr), AfterU: last.username(), Page: n + 1})
	}
	return page, next, nil
}

// present applies what AWS shows and cognito-local cannot: the
// RESET_REQUIRED status of imported users, and AttributesToGet.
func (s *Server) present(pool string, u user, attrsToGet []string) user {
	out := user{}
	for k, v := range u {
		out[k] = v
	}
	s.mu.Lock()
	imported := s.imported[pool][u.username()]
	s.mu.Unlock()
	var status string
	_ = json.Unmarshal(u["UserStatus"], &status)
	if imported && status == "FORCE_CHANGE_PASSWORD" {
		out["UserStatus"] = json.RawMessage(`"RESET_REQUIRED"`)
	}
	s.presentFederated(pool, out, "Attributes")
	if len(attrsToGet) > 0 {
		want := map[string]bool{}
		for _, a := range attrsToGet {
			want[a] = true
		}
		var kept []attribute
		for _, a := range out.attributes() {
			if want[a.Name] {
				kept = append(kept, a)
			}
		}
		data, _ := json.Marshal(kept)
		out["Attributes"] = data
	}
	return out
}

func (s *Server) listUsersInGroup(r *http.Request, body []byte) (any, *apiError) {
	var in struct {
		UserPoolId string
		GroupName  string
		Limit      *int
		NextToken  string
	}
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	if s.userList != nil && !s.userList.allow() {
		return nil, errOf("TooManyRequestsException", "Rate exceeded")
	}
	limit, err := pageLimit(in.Limit, maxUserPage, "limit")
	if err != nil {
		return nil, err
	}
	var all struct{ Users []user }
	if e := s.call(r.Context(), "ListUsersInGroup", map[string]any{"UserPoolId": in.UserPoolId, "GroupName": in.GroupName}, &all); e != nil {
		return nil, e
	}
	users := all.Users
	sort.Slice(users, func(i, j int) bool { return users[i].username() < users[j].username() })
	page, next, e := s.pageUsers(users, in.NextToken, "ListUsersInGroup", in.UserPoolId, in.GroupName, "username", limit)
	if e != nil {
		return nil, e
	}
	for i := range page {
		page[i] = s.present(in.UserPoolId, page[i], nil)
	}
	out := map[string]any{"Users": page}
	if next != "" {
		out["NextToken"] = next
	}
	return out, nil
}

func (s *Server) listGroups(r *http.Request, body []byte) (any, *apiError) {
	var in struct {
		UserPoolId string
		Limit      *int
		NextToken  string
	}
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	limit, err := pageLimit(in.Limit, maxGroupPage, "limit")
	if err != nil {
		return nil, err
	}
	var all struct{ Groups []map[string]json.RawMessage }
	if e := s.call(r.Context(), "ListGroups", map[string]any{"UserPoolId": in.UserPoolId}, &all); e != nil {
		return nil, e
	}
	name := func(g map[string]json.RawMessage) string {
		var n string
		_ = json.Unmarshal(g["GroupName"], &n)
		return n
	}
	groups := all.Groups
	sort.Slice(groups, func(i, j int) bool { return name(groups[i]) < name(groups[j]) })
	start, n := 0, 0
	if in.NextToken != "" {
		t, e := s.decodeToken(in.NextToken, "ListGroups", in.UserPoolId, "")
		if e != nil {
			return nil, e
		}
		start = sort.Search(len(groups), func(i int) bool { return name(groups[i]) > t.After })
		n = t.Page
	}
	end := min(start+limit, len(groups))
	if end < len(groups) {
		end = start + s.pageSize(n, limit)
	}
	out := map[string]any{"Groups": groups[start:end]}
	if end < len(groups) {
		out["NextToken"] = s.encodeToken(pageToken{Kind: "ListGroups", Pool: in.UserPoolId, After: name(groups[end-1]), Page: n + 1})
	}
	return out, nil
}
