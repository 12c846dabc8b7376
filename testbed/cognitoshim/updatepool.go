package cognitoshim

import (
	"encoding/json"
	"net/http"
	"sort"
	"strings"
)

// updatableSettings are the pool settings UpdateUserPool sets. AWS (and
// cognito-local) reset every one a request leaves out, silently: the shim
// refuses such a request instead, so a test proves the tool sends the
// whole current configuration back.
var updatableSettings = []string{
	"AccountRecoverySetting", "AdminCreateUserConfig", "AutoVerifiedAttributes", "DeletionProtection",
	"DeviceConfiguration", "EmailConfiguration", "EmailVerificationMessage", "EmailVerificationSubject",
	"LambdaConfig", "MfaConfiguration", "Policies", "SmsAuthenticationMessage", "SmsConfiguration",
	"SmsVerificationMessage", "UserAttributeUpdateSettings", "UserPoolAddOns", "UserPoolTags",
	"VerificationMessageTemplate",
}

func (s *Server) updateUserPool(r *http.Request, body []byte) (any, *apiError) {
	var in map[string]json.RawMessage
	if err := json.Unmarshal(body, &in); err != nil {
		return nil, errInvalid("the request is not JSON")
	}
	var id string
	_ = json.Unmarshal(in["UserPoolId"], &id)
	var cur struct {
		UserPool map[string]json.RawMessage
	}
	if e := s.call(r.Context(), "DescribeUserPool", map[string]string{"UserPoolId": id}, &cur); e != nil {
		return nil, e
	}
	var dropped []string
	for _, k := range updatableSettings {
		if isEmptyJSON(cur.UserPool[k]) {
			continue
		}
		if _, sent := in[k]; !sent {
			dropped = append(dropped, k)
		}
	}
	if len(dropped) > 0 {
		sort.Strings(dropped)
		return nil, errInvalid("test bed: this UpdateUserPool would reset the pool's %s (AWS resets every setting a request leaves out): send the whole current configuration", strings.Join(dropped, ", "))
	}
	var out json.RawMessage
	if e := s.call(r.Context(), "UpdateUserPool", json.RawMessage(body), &out); e != nil {
		return nil, e
	}
	return out, nil
}

// isEmptyJSON: absent, null, "", [], {} or an object of only empty values.
func isEmptyJSON(v json.RawMessage) bool {
	if len(v) == 0 {
		return true
	}
	var x any
	if json.Unmarshal(v, &x) != nil {
		return false
	}
	return emptyValue(x)
}

func emptyValue(x any) bool {
	switch t := x.(type) {
	case nil:
		return true
	case string:
		return t == ""
	case []any:
		return len(t) == 0
	case map[string]any:
		for _, e := range t {
			if !emptyValue(e) {
				return false
			}
		}
		return true
	}
	return false
}
