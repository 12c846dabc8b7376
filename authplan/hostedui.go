package authplan

import (
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/tidwall/gjson"
)

// The hosted UI (OAuth) and its social providers, carried into the
// payload except for what the settings do not hold.

// oauth carries the hosted UI: flows, scopes and URLs. The domain prefix
// gets a suffix, since the old pool keeps its domain until the push that
// creates the new one; social providers need secrets the files do not hold.
func (p *Plan) oauth(c gjson.Result) (map[string]any, error) {
	if !c.Get("hostedUI").Bool() {
		return nil, nil
	}
	meta := c.Get("oAuthMetadata")
	if meta.Type == gjson.String {
		meta = gjson.Parse(meta.String())
	}
	grant := "CODE"
	for _, f := range meta.Get("AllowedOAuthFlows").Array() {
		if f.String() == "implicit" {
			grant = "IMPLICIT"
		}
	}
	var scopes []string
	for _, s := range meta.Get("AllowedOAuthScopes").Array() {
		scopes = append(scopes, strings.ToUpper(strings.ReplaceAll(s.String(), "aws.cognito.signin.user.admin", "AWS.COGNITO.SIGNIN.USER.ADMIN")))
	}
	o := map[string]any{
		"oAuthGrantType":      grant,
		"oAuthScopes":         scopes,
		"redirectSigninURIs":  stringList(meta.Get("CallbackURLs")),
		"redirectSignoutURIs": stringList(meta.Get("LogoutURLs")),
	}
	if d := c.Get("hostedUIDomainName").String(); d != "" {
		domain := d + "-" + strings.ToLower(p.NewName)
		if strings.Contains(d, p.OldName) {
			domain = strings.ReplaceAll(d, p.OldName, strings.ToLower(p.NewName))
		}
		o["domainPrefix"] = domain
		p.NotCarried = append(p.NotCarried, fmt.Sprintf("the hosted UI domain becomes %s (the old pool keeps %s until it is deleted): update it in your identity providers' settings", domain, d))
	}
	p.SocialProviders = ReadSocialProviders(c)
	for _, sp := range p.SocialProviders {
		p.NotCarried = append(p.NotCarried, fmt.Sprintf("social sign-in with %s (scopes %q, attributes %s): the new pool needs it under this very name, or its users' links break; its client id and secret are not in the project files (team-provider-info.json's hostedUIProviderCreds, never committed): enter them with `amplify update auth` (\"Add/Edit social providers\"), then set these scopes and attribute mappings if the CLI's defaults differ (`amplify override auth`)",
			sp.Name, sp.Scopes, sp.mappingText()))
	}
	return o, nil
}

// SocialProvider is a social identity provider of the old pool, as its
// settings record it: name, scopes and attribute mapping (pool attribute
// <- provider claim). Its client id and secret are not in the settings.
type SocialProvider struct {
	Name             string            `json:"name"`
	Scopes           string            `json:"scopes"`
	AttributeMapping map[string]string `json:"attributeMapping"`
}

func (sp SocialProvider) mappingText() string {
	var parts []string
	for _, k := range slices.Sorted(maps.Keys(sp.AttributeMapping)) {
		parts = append(parts, k+" <- "+sp.AttributeMapping[k])
	}
	if len(parts) == 0 {
		return "(none mapped)"
	}
	return strings.Join(parts, ", ")
}

// ReadSocialProviders lists the hosted UI's social providers: the names
// of authProvidersUserPool, with scopes and mappings from
// hostedUIProviderMeta (a JSON string in the settings).
func ReadSocialProviders(c gjson.Result) []SocialProvider {
	meta := c.Get("hostedUIProviderMeta")
	if meta.Type == gjson.String {
		meta = gjson.Parse(meta.String())
	}
	byName := map[string]gjson.Result{}
	for _, m := range meta.Array() {
		byName[m.Get("ProviderName").String()] = m
	}
	out := []SocialProvider{}
	for _, prov := range c.Get("authProvidersUserPool").Array() {
		sp := SocialProvider{Name: prov.String(), AttributeMapping: map[string]string{}}
		m := byName[sp.Name]
		sp.Scopes = m.Get("authorize_scopes").String()
		m.Get("AttributeMapping").ForEach(func(k, v gjson.Result) bool {
			sp.AttributeMapping[k.String()] = v.String()
			return true
		})
		out = append(out, sp)
	}
	return out
}
