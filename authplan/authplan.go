// Package authplan turns the old auth resource's settings (its
// cli-inputs.json, or parameters.json in projects older than CLI 7) into
// the answers for `amplify add auth` that re-create it with only the
// sign-in changed: the one-line payload of `amplify add auth --headless`,
// the same answers for the interactive prompts, and a report of what the
// CLI cannot carry (Lambda triggers, social provider secrets, overrides).
package authplan

import (
	"encoding/json"
	"fmt"
	"sort"
	"strconv"
	"strings"

	"github.com/tidwall/gjson"

	"github.com/poolmigrate/poolmigrate/amplifyproj"
)

// Sign-in methods, as the headless payload names them.
const (
	SignInUsername      = "USERNAME"
	SignInEmail         = "EMAIL"
	SignInPhone         = "PHONE_NUMBER"
	SignInEmailAndPhone = "EMAIL_AND_PHONE_NUMBER"
)

// ParseSignIn reads a --sign-in flag value.
func ParseSignIn(s string) (string, error) {
	switch strings.ToLower(strings.ReplaceAll(s, "_", "-")) {
	case "username":
		return SignInUsername, nil
	case "email":
		return SignInEmail, nil
	case "phone", "phone-number":
		return SignInPhone, nil
	case "email-and-phone", "email-and-phone-number":
		return SignInEmailAndPhone, nil
	}
	return "", fmt.Errorf("unknown sign-in %q: use email, username, phone or email-and-phone", s)
}

// Options choose the new resource.
type Options struct {
	NewName string
	// SignIn is the new sign-in; empty means email when the old resource
	// signs in by username, else the old sign-in.
	SignIn string
	// Aliases replace the old alias attributes (username sign-in only).
	Aliases []string
}

// Plan is what `amplify add auth` needs to re-create the auth resource.
type Plan struct {
	OldName   string `json:"oldName"`
	NewName   string `json:"newName"`
	OldSignIn string `json:"oldSignIn"`
	SignIn    string `json:"signIn"`
	// Payload is the AddAuthRequest (version 2) for `amplify add auth
	// --headless`, on one line: the CLI reads only the first line.
	Payload json.RawMessage `json:"payload"`
	// Answers are the same choices for the interactive prompts.
	Answers []string `json:"answers"`
	// Groups in precedence order, re-created by the payload.
	Groups   []string  `json:"groups"`
	Triggers []Trigger `json:"triggers"`
	// NotCarried lists settings the payload cannot express, each with
	// what the user must do.
	NotCarried []string `json:"notCarried"`
	// SocialProviders are the hosted UI's providers, whose users the
	// import links by provider name: the new resource needs them under
	// the same names (their secrets the user enters again).
	SocialProviders []SocialProvider `json:"socialProviders"`
}

var passwordEnum = map[string]string{
	"Requires Lowercase": "REQUIRE_LOWERCASE", "Requires Uppercase": "REQUIRE_UPPERCASE",
	"Requires Numbers": "REQUIRE_DIGIT", "Requires Symbols": "REQUIRE_SYMBOL",
}

var federationEnum = map[string][2]string{ // authProviders entry -> payload provider, id key
	"graph.facebook.com":  {"FACEBOOK", "facebookAppId"},
	"accounts.google.com": {"GOOGLE", "googleClientId"},
	"www.amazon.com":      {"AMAZON", "amazonAppId"},
	"appleid.apple.com":   {"APPLE", "appleAppId"},
}

// Settings returns the auth settings object of a resource's files:
// cli-inputs.json's cognitoConfig, else (before CLI 7) parameters.json.
func Settings(cliInputs, parameters []byte) (gjson.Result, error) {
	if len(cliInputs) > 0 {
		if err := amplifyproj.CheckJSON("cli-inputs.json", cliInputs); err != nil {
			return gjson.Result{}, err
		}
		if c := gjson.GetBytes(cliInputs, "cognitoConfig"); c.IsObject() {
			return c, nil
		}
	}
	if len(parameters) > 0 {
		if err := amplifyproj.CheckJSON("parameters.json", parameters); err != nil {
			return gjson.Result{}, err
		}
		return gjson.ParseBytes(parameters), nil
	}
	return gjson.Result{}, fmt.Errorf("neither cli-inputs.json nor parameters.json holds the auth settings")
}

// OldSignIn reads the sign-in of the old settings.
func OldSignIn(c gjson.Result) string {
	var email, phone bool
	for _, u := range c.Get("usernameAttributes").Array() {
		switch strings.ToLower(u.String()) {
		case "email":
			email = true
		case "phone_number":
			phone = true
		case "email, phone_number":
			email, phone = true, true
		}
	}
	switch {
	case email && phone:
		return SignInEmailAndPhone
	case email:
		return SignInEmail
	case phone:
		return SignInPhone
	}
	return SignInUsername
}

// New builds the plan from the old resource's settings c and its
// user-pool-group-precedence.json (nil when it has no groups).
func New(oldName string, c gjson.Result, groupPrecedence []byte, o Options) (*Plan, error) {
	p := &Plan{OldName: oldName, NewName: o.NewName, OldSignIn: OldSignIn(c), SignIn: o.SignIn, Groups: []string{}, Triggers: []Trigger{}, NotCarried: []string{}}
	if p.SignIn == "" {
		p.SignIn = p.OldSignIn
		if p.OldSignIn == SignInUsername {
			p.SignIn = SignInEmail
		}
	}
	if p.NewName == "" || p.NewName == oldName {
		return nil, fmt.Errorf("the new auth resource needs a name other than %s", oldName)
	}
	for _, r := range p.NewName {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9') {
			return nil, fmt.Errorf("auth resource name %q: the Amplify CLI allows only letters and digits", p.NewName)
		}
	}

	upc := map[string]any{"signinMethod": p.SignIn}

	required := enumList(c.Get("requiredAttributes"), &p.NotCarried, "required attribute")
	for _, need := range signInAttributes(p.SignIn) {
		if !contains(required, need) {
			required = append(required, need)
			p.NotCarried = append(p.NotCarried, fmt.Sprintf("%s is now a required attribute: the new pool signs in with it", need))
		}
	}
	upc["requiredSignupAttributes"] = required

	aliases := enumList(c.Get("aliasAttributes"), &p.NotCarried, "alias")
	if o.Aliases != nil {
		aliases = nil
		for _, a := range o.Aliases {
			e, ok := attrEnum[strings.ToLower(a)]
			if !ok || !(e == "EMAIL" || e == "PHONE_NUMBER" || e == "PREFERRED_USERNAME") {
				return nil, fmt.Errorf("alias %q: use email, phone_number or preferred_username", a)
			}
			aliases = append(aliases, e)
		}
	}
	if len(aliases) > 0 {
		if p.SignIn == SignInUsername {
			upc["aliasAttributes"] = aliases
		} else {
			p.NotCarried = append(p.NotCarried, fmt.Sprintf("the aliases %s are dropped: Cognito allows aliases only with username sign-in", strings.Join(aliases, ", ")))
			aliases = nil
		}
	}

	groups, err := groupOrder(groupPrecedence, c.Get("userPoolGroupList"))
	if err != nil {
		return nil, err
	}
	p.Groups = groups
	if len(groups) > 0 {
		var gs []map[string]string
		for _, g := range groups {
			gs = append(gs, map[string]string{"groupName": g})
		}
		upc["userPoolGroups"] = gs
	}
	if c.Get("adminQueries").Bool() {
		perm := map[string]any{"restrictAccess": false}
		if g := c.Get("adminQueryGroup").String(); g != "" {
			perm = map[string]any{"restrictAccess": true, "groupName": g}
		}
		upc["adminQueries"] = map[string]any{"permissions": perm}
	}

	mfa := strings.ToUpper(c.Get("mfaConfiguration").String())
	switch mfa {
	case "", "OFF":
		upc["mfa"] = map[string]string{"mode": "OFF"}
		mfa = "OFF"
	case "ON", "OPTIONAL":
		var types []string
		for _, t := range c.Get("mfaTypes").Array() {
			switch {
			case strings.HasPrefix(t.String(), "SMS"):
				types = append(types, "SMS")
			case t.String() == "TOTP":
				types = append(types, "TOTP")
			}
		}
		sms := c.Get("smsAuthenticationMessage").String()
		if sms == "" {
			sms = "Your authentication code is {####}"
		}
		upc["mfa"] = map[string]any{"mode": mfa, "mfaTypes": types, "smsMessage": sms}
	default:
		return nil, fmt.Errorf("unknown mfaConfiguration %q", mfa)
	}

	pw := map[string]any{}
	minLen := number(c.Get("passwordPolicyMinLength"))
	if minLen > 0 {
		pw["minimumLength"] = minLen
	}
	var constraints []string
	for _, ch := range c.Get("passwordPolicyCharacters").Array() {
		if e, ok := passwordEnum[ch.String()]; ok {
			constraints = append(constraints, e)
		}
	}
	if len(constraints) > 0 {
		pw["additionalConstraints"] = constraints
	}
	if len(pw) > 0 {
		upc["passwordPolicy"] = pw
	}
	if n := number(c.Get("userpoolClientRefreshTokenValidity")); n > 0 {
		upc["refreshTokenPeriod"] = n
	}
	read := enumList(c.Get("userpoolClientReadAttributes"), &p.NotCarried, "readable attribute")
	write := clientWriteAttributes(c, &p.NotCarried)
	if len(read) > 0 {
		upc["readAttributes"] = read
	}
	upc["writeAttributes"] = write

	var verify []map[string]string
	for _, a := range c.Get("autoVerifiedAttributes").Array() {
		switch a.String() {
		case "email":
			v := map[string]string{"type": "EMAIL"}
			if m := c.Get("emailVerificationMessage").String(); m != "" {
				v["verificationMessage"] = m
			}
			if s := c.Get("emailVerificationSubject").String(); s != "" {
				v["verifiectionSubject"] = s // sic: the CLI's schema spells it so
			}
			verify = append(verify, v)
		case "phone_number":
			v := map[string]string{"type": "PHONE_NUMBER"}
			if m := c.Get("smsVerificationMessage").String(); m != "" {
				v["verificationMessage"] = m
			}
			verify = append(verify, v)
		}
	}
	if len(verify) > 0 {
		upc["autoVerifiedAttributes"] = verify
	}

	oauth, err := p.oauth(c)
	if err != nil {
		return nil, err
	}
	if oauth != nil {
		upc["oAuth"] = oauth
	}

	svc := map[string]any{"serviceName": "Cognito", "userPoolConfiguration": upc, "includeIdentityPool": false}
	identity := c.Get("authSelections").String() == "identityPoolAndUserPool"
	if identity {
		svc["includeIdentityPool"] = true
		ipc := map[string]any{"unauthenticatedLogin": c.Get("allowUnauthenticatedIdentities").Bool()}
		var fed []map[string]string
		for _, prov := range c.Get("authProviders").Array() {
			if f, ok := federationEnum[prov.String()]; ok {
				if id := c.Get(f[1]).String(); id != "" {
					fed = append(fed, map[string]string{"provider": f[0], "clientId": id})
				}
			}
		}
		if len(fed) > 0 {
			ipc["identitySocialFederation"] = fed
		}
		svc["identityPoolConfiguration"] = ipc
	}

	if c.Get("usernameCaseSensitive").Bool() {
		p.NotCarried = append(p.NotCarried, "sign-in becomes case-insensitive: `amplify add auth` always creates case-insensitive pools")
	}

	p.Triggers = ReadTriggers(c)
	for _, t := range p.Triggers {
		p.NotCarried = append(p.NotCarried, fmt.Sprintf("trigger %s (function %s): `amplify add auth --headless` has no field for triggers; `poolmigrate patch` wires it into the new resource and moves the function to %s%s", t.Event, t.Function, p.NewName, t.Event))
	}

	payload, err := json.Marshal(map[string]any{"version": 2, "resourceName": p.NewName, "serviceConfiguration": svc})
	if err != nil {
		return nil, err
	}
	p.Payload = payload
	p.Answers = p.answers(c, required, aliases, mfa, minLen, constraints, read, write, identity, oauth != nil)
	return p, nil
}

func groupOrder(precedence []byte, list gjson.Result) ([]string, error) {
	out := []string{}
	if len(precedence) > 0 {
		if err := amplifyproj.CheckJSON("user-pool-group-precedence.json", precedence); err != nil {
			return nil, err
		}
		type g struct {
			name string
			prec float64
		}
		var gs []g
		gjson.ParseBytes(precedence).ForEach(func(_, v gjson.Result) bool {
			gs = append(gs, g{v.Get("groupName").String(), v.Get("precedence").Float()})
			return true
		})
		sort.SliceStable(gs, func(i, j int) bool { return gs[i].prec < gs[j].prec })
		for _, x := range gs {
			out = append(out, x.name)
		}
	}
	for _, n := range list.Array() {
		if !contains(out, n.String()) {
			out = append(out, n.String())
		}
	}
	return out, nil
}

func number(v gjson.Result) float64 {
	if v.Type == gjson.String {
		f, _ := strconv.ParseFloat(v.String(), 64)
		return f
	}
	return v.Float()
}

func stringList(v gjson.Result) []string {
	out := []string{}
	for _, e := range v.Array() {
		out = append(out, e.String())
	}
	return out
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
