package cognitoshim

import (
	"encoding/json"
	"net/http"
	"sort"
	"strings"
)

// A pool's settings are what cognito-local keeps plus what it drops and
// the shim keeps instead (layeredSettings: the feature plan, deletion
// protection, attribute update settings, key and issuer configuration, a
// new name). DescribeUserPool answers with both, with AWS's defaults where
// nothing was set (UserPoolTier ESSENTIALS, DeletionProtection INACTIVE).
//
// UpdateUserPool sets every setting of the pool: AWS resets each one a
// request leaves out, silently (a PLUS pool falls to ESSENTIALS, threat
// protection goes off, deletion protection goes off, the templates go
// back to the defaults). The shim refuses such a request instead, naming
// what would be reset, so a test proves the tool sends the whole current
// configuration back. Which settings an update must carry is derived from
// the pool's own DescribeUserPool answer — every key but readOnlySettings,
// which UpdateUserPool cannot change — not from a list of the tool's.

// readOnlySettings are the members of DescribeUserPool's UserPoolType that
// UpdateUserPoolInput has no member for: identity, dates and counts, the
// schema (AddCustomAttributes), sign-in choices fixed at creation, domains
// (CreateUserPoolDomain) and failure reports.
var readOnlySettings = map[string]bool{
	"Id": true, "Arn": true, "CreationDate": true, "LastModifiedDate": true, "EstimatedNumberOfUsers": true, "Status": true,
	"SchemaAttributes": true, "UsernameAttributes": true, "AliasAttributes": true, "UsernameConfiguration": true,
	"Domain": true, "CustomDomain": true, "EmailConfigurationFailure": true, "SmsConfigurationFailure": true,
}

// updateKey is the UpdateUserPool member that sets a DescribeUserPool one.
func updateKey(describeKey string) string {
	if describeKey == "Name" {
		return "PoolName"
	}
	return describeKey
}

// layeredSettings are kept by the shim: cognito-local neither stores nor
// returns them (or, for the name, ignores an update's PoolName).
var layeredSettings = []string{"UserPoolTier", "DeletionProtection", "UserAttributeUpdateSettings", "KeyConfiguration", "IssuerConfiguration", "Name"}

// settingDefaults are what AWS's DescribeUserPool shows when nothing was set.
var settingDefaults = map[string]json.RawMessage{"UserPoolTier": json.RawMessage(`"ESSENTIALS"`), "DeletionProtection": json.RawMessage(`"INACTIVE"`)}

type poolSettings = map[string]json.RawMessage

// describeFull reads a pool from cognito-local with the shim's settings
// layered on.
func (s *Server) describeFull(r *http.Request, id string) (poolSettings, *apiError) {
	var cur struct{ UserPool poolSettings }
	if e := s.call(r.Context(), "DescribeUserPool", map[string]string{"UserPoolId": id}, &cur); e != nil {
		return nil, e
	}
	s.layer(id, cur.UserPool)
	return cur.UserPool, nil
}

func (s *Server) layer(id string, pool poolSettings) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, k := range layeredSettings {
		if v, ok := s.poolSettings[id][k]; ok {
			pool[k] = v
		} else if d, ok := settingDefaults[k]; ok {
			pool[k] = d
		}
	}
	// AWS keeps the deprecated AdminCreateUserConfig.UnusedAccountValidityDays
	// in step with its successor (an update may not send both).
	var pol struct {
		PasswordPolicy struct{ TemporaryPasswordValidityDays int }
	}
	var acc map[string]any
	if json.Unmarshal(pool["Policies"], &pol) == nil && pol.PasswordPolicy.TemporaryPasswordValidityDays > 0 && json.Unmarshal(pool["AdminCreateUserConfig"], &acc) == nil && acc != nil {
		acc["UnusedAccountValidityDays"] = pol.PasswordPolicy.TemporaryPasswordValidityDays
		pool["AdminCreateUserConfig"], _ = json.Marshal(acc)
	}
}

// keep records the layered settings a CreateUserPool or UpdateUserPool
// request sets; one it leaves out is back to AWS's default.
func (s *Server) keep(id string, req poolSettings) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.poolSettings == nil {
		s.poolSettings = map[string]poolSettings{}
	}
	kept := poolSettings{}
	for _, k := range layeredSettings {
		if v, ok := req[updateKey(k)]; ok && !isEmptyJSON(v) {
			kept[k] = v
		}
	}
	s.poolSettings[id] = kept
}

func (s *Server) describeUserPool(r *http.Request, body []byte) (any, *apiError) {
	var in struct{ UserPoolId string }
	if e := decode(body, &in); e != nil {
		return nil, e
	}
	pool, e := s.describeFull(r, in.UserPoolId)
	if e != nil {
		return nil, e
	}
	return map[string]any{"UserPool": pool}, nil
}

func (s *Server) createUserPool(r *http.Request, body []byte) (any, *apiError) {
	var in poolSettings
	if e := decode(body, &in); e != nil {
		return nil, e
	}
	if e := checkPoolSettings(in); e != nil {
		return nil, e
	}
	var out struct{ UserPool poolSettings }
	if e := s.call(r.Context(), "CreateUserPool", json.RawMessage(body), &out); e != nil {
		return nil, e
	}
	var id string
	_ = json.Unmarshal(out.UserPool["Id"], &id)
	s.keep(id, in)
	s.layer(id, out.UserPool)
	return out, nil
}

func (s *Server) updateUserPool(r *http.Request, body []byte) (any, *apiError) {
	var in poolSettings
	if err := json.Unmarshal(body, &in); err != nil {
		return nil, errInvalid("the request is not JSON")
	}
	var id string
	_ = json.Unmarshal(in["UserPoolId"], &id)
	cur, e := s.describeFull(r, id)
	if e != nil {
		return nil, e
	}
	var dropped []string
	for k, v := range cur {
		if readOnlySettings[k] || isEmptyJSON(v) {
			continue
		}
		if _, sent := in[updateKey(k)]; !sent {
			dropped = append(dropped, updateKey(k))
		}
	}
	if len(dropped) > 0 {
		sort.Strings(dropped)
		return nil, errInvalid("test bed: this UpdateUserPool would reset the pool's %s (AWS resets every setting a request leaves out): send the whole current configuration", strings.Join(dropped, ", "))
	}
	if e := checkPoolSettings(in); e != nil {
		return nil, e
	}
	var out json.RawMessage
	if e := s.call(r.Context(), "UpdateUserPool", json.RawMessage(body), &out); e != nil {
		return nil, e
	}
	s.keep(id, in)
	return out, nil
}

// deleteUserPool refuses while deletion protection is on, as AWS does.
func (s *Server) deleteUserPool(r *http.Request, body []byte) (any, *apiError) {
	var in struct{ UserPoolId string }
	if e := decode(body, &in); e != nil {
		return nil, e
	}
	s.mu.Lock()
	protected := string(s.poolSettings[in.UserPoolId]["DeletionProtection"]) == `"ACTIVE"`
	s.mu.Unlock()
	if protected {
		return nil, errInvalid("The user pool cannot be deleted because deletion protection is activated. Deletion protection must be inactivated first.")
	}
	var out json.RawMessage
	if e := s.call(r.Context(), "DeleteUserPool", json.RawMessage(body), &out); e != nil {
		return nil, e
	}
	s.mu.Lock()
	delete(s.poolSettings, in.UserPoolId)
	s.mu.Unlock()
	return out, nil
}

// checkPoolSettings refuses what CreateUserPool and UpdateUserPool refuse:
// values outside the enums, threat protection below the PLUS plan, and
// the deprecated UnusedAccountValidityDays next to its successor.
func checkPoolSettings(in poolSettings) *apiError {
	var tier, protection string
	_ = json.Unmarshal(in["UserPoolTier"], &tier)
	_ = json.Unmarshal(in["DeletionProtection"], &protection)
	if tier != "" && tier != "LITE" && tier != "ESSENTIALS" && tier != "PLUS" {
		return errInvalid("1 validation error detected: Value '%s' at 'userPoolTier' failed to satisfy constraint: Member must satisfy enum value set: [LITE, ESSENTIALS, PLUS]", tier)
	}
	if protection != "" && protection != "ACTIVE" && protection != "INACTIVE" {
		return errInvalid("1 validation error detected: Value '%s' at 'deletionProtection' failed to satisfy constraint: Member must satisfy enum value set: [ACTIVE, INACTIVE]", protection)
	}
	var addOns struct{ AdvancedSecurityMode string }
	_ = json.Unmarshal(in["UserPoolAddOns"], &addOns)
	if m := addOns.AdvancedSecurityMode; m != "" && m != "OFF" && tier != "PLUS" {
		return errOf("FeatureUnavailableInTierException", "Threat protection (AdvancedSecurityMode %s) requires the PLUS feature plan; this request sets %q", m, tier)
	}
	var acc struct{ UnusedAccountValidityDays int }
	var pol struct {
		PasswordPolicy struct{ TemporaryPasswordValidityDays int }
	}
	_ = json.Unmarshal(in["AdminCreateUserConfig"], &acc)
	_ = json.Unmarshal(in["Policies"], &pol)
	if acc.UnusedAccountValidityDays > 0 && pol.PasswordPolicy.TemporaryPasswordValidityDays > 0 {
		return errInvalid("Please use TemporaryPasswordValidityDays in PasswordPolicy instead of UnusedAccountValidityDays")
	}
	return nil
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
