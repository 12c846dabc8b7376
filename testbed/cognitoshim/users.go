package cognitoshim

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
)

// poolInfo is the part of DescribeUserPool the shim reads.
type poolInfo struct {
	ID                     string   `json:"Id"`
	Name                   string   `json:"Name"`
	UsernameAttributes     []string `json:"UsernameAttributes"`
	AliasAttributes        []string `json:"AliasAttributes"`
	AutoVerifiedAttributes []string `json:"AutoVerifiedAttributes"`
	MfaConfiguration       string   `json:"MfaConfiguration"`
	UsernameConfiguration  *struct {
		CaseSensitive *bool `json:"CaseSensitive"`
	} `json:"UsernameConfiguration"`
	SchemaAttributes []struct {
		Name              string `json:"Name"`
		AttributeDataType string `json:"AttributeDataType"`
		Required          bool   `json:"Required"`
	} `json:"SchemaAttributes"`
}

func (p poolInfo) has(list []string, v string) bool {
	for _, x := range list {
		if x == v {
			return true
		}
	}
	return false
}

func (p poolInfo) attrType(name string) (string, bool) {
	for _, a := range p.SchemaAttributes {
		if a.Name == name {
			return a.AttributeDataType, true
		}
	}
	if standard[name] {
		return "String", true
	}
	return "", false
}

func (s *Server) describePool(ctx context.Context, id string) (poolInfo, *apiError) {
	var out struct{ UserPool poolInfo }
	if e := s.call(ctx, "DescribeUserPool", map[string]string{"UserPoolId": id}, &out); e != nil {
		return poolInfo{}, e
	}
	if out.UserPool.MfaConfiguration == "" {
		out.UserPool.MfaConfiguration = "OFF"
	}
	return out.UserPool, nil
}

// csvStandardColumns is the order GetCSVHeader returns the standard
// attributes in (the Cognito developer guide's sample header).
var csvStandardColumns = []string{
	"name", "given_name", "family_name", "middle_name", "nickname", "preferred_username", "profile",
	"picture", "website", "email", "email_verified", "gender", "birthdate", "zoneinfo", "locale",
	"phone_number", "phone_number_verified", "address", "updated_at",
}

var standard = func() map[string]bool {
	m := map[string]bool{"sub": true}
	for _, c := range csvStandardColumns {
		m[c] = true
	}
	return m
}()

// csvHeader is the pool's import header: the standard attributes, the
// pool's custom attributes, then cognito:mfa_enabled and cognito:username.
func csvHeader(p poolInfo) []string {
	h := append([]string(nil), csvStandardColumns...)
	for _, a := range p.SchemaAttributes {
		if strings.HasPrefix(a.Name, "custom:") {
			h = append(h, a.Name)
		}
	}
	return append(h, "cognito:mfa_enabled", "cognito:username")
}

func (s *Server) getCSVHeader(r *http.Request, body []byte) (any, *apiError) {
	var in struct{ UserPoolId string }
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	p, e := s.describePool(r.Context(), in.UserPoolId)
	if e != nil {
		return nil, e
	}
	return map[string]any{"UserPoolId": in.UserPoolId, "CSVHeader": csvHeader(p)}, nil
}

func (s *Server) adminGetUser(r *http.Request, body []byte) (any, *apiError) {
	var in struct{ UserPoolId, Username string }
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	var out user
	if e := s.call(r.Context(), "AdminGetUser", json.RawMessage(body), &out); e != nil {
		return nil, e
	}
	s.mu.Lock()
	imported := s.imported[in.UserPoolId][out.username()]
	s.mu.Unlock()
	var status string
	_ = json.Unmarshal(out["UserStatus"], &status)
	if imported && status == "FORCE_CHANGE_PASSWORD" {
		out["UserStatus"] = json.RawMessage(`"RESET_REQUIRED"`)
	}
	s.mfa.present(in.UserPoolId, out)
	s.presentFederated(in.UserPoolId, out, "UserAttributes")
	return out, nil
}

// createGroup refuses an existing name as AWS does; cognito-local would
// overwrite the group and drop its members.
func (s *Server) createGroup(r *http.Request, body []byte) (any, *apiError) {
	var in struct{ UserPoolId, GroupName string }
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	// cognito-local's GetGroup answers 500 for a missing group, so look the
	// name up in the list.
	var groups struct{ Groups []struct{ GroupName string } }
	if e := s.call(r.Context(), "ListGroups", map[string]string{"UserPoolId": in.UserPoolId}, &groups); e != nil {
		return nil, e
	}
	for _, g := range groups.Groups {
		if g.GroupName == in.GroupName {
			return nil, errOf("GroupExistsException", "A group with the name %s already exists.", in.GroupName)
		}
	}
	var out json.RawMessage
	if e := s.call(r.Context(), "CreateGroup", json.RawMessage(body), &out); e != nil {
		return nil, e
	}
	return out, nil
}

// checkAttributes rejects what AWS rejects and cognito-local accepts:
// attributes the pool's schema lacks, and writing sub.
func (s *Server) checkAttributes(ctx context.Context, pool string, attrs []attribute) *apiError {
	p, e := s.describePool(ctx, pool)
	if e != nil {
		return e
	}
	for _, a := range attrs {
		if a.Name == "sub" {
			return errInvalid("Attributes did not conform to the schema: sub: Attribute cannot be updated. (changing an immutable attribute)")
		}
		// Only Cognito writes identities: at AdminLinkProviderForUser and
		// at a sign-in through a provider.
		if a.Name == "identities" {
			return errInvalid("Attributes did not conform to the schema: identities: Attribute cannot be updated. (only Amazon Cognito writes it)")
		}
		if _, ok := p.attrType(a.Name); !ok {
			return errInvalid("Attributes did not conform to the schema: Type for attribute {%s} could not be determined", a.Name)
		}
	}
	return nil
}

// checkedForward forwards an attribute-writing call once its attributes
// pass checkAttributes.
func (s *Server) checkedForward(op string) handler {
	return func(r *http.Request, body []byte) (any, *apiError) {
		var in struct {
			UserPoolId     string
			UserAttributes []attribute
		}
		if err := decode(body, &in); err != nil {
			return nil, err
		}
		if e := s.checkAttributes(r.Context(), in.UserPoolId, in.UserAttributes); e != nil {
			return nil, e
		}
		var out json.RawMessage
		if e := s.call(r.Context(), op, json.RawMessage(body), &out); e != nil {
			return nil, e
		}
		return out, nil
	}
}
