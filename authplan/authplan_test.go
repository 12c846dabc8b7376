package authplan

import (
	"strings"
	"testing"

	"github.com/tidwall/gjson"
)

const oldInputs = `{"version":"1","cognitoConfig":{"resourceName":"shop","usernameAttributes":[],
 "aliasAttributes":["preferred_username"],"requiredAttributes":["email","custom:tier"],
 "autoVerifiedAttributes":["email"],"emailVerificationSubject":"Code","emailVerificationMessage":"It is {####}",
 "mfaConfiguration":"OPTIONAL","mfaTypes":["SMS Text Message","TOTP"],"smsAuthenticationMessage":"MFA {####}",
 "passwordPolicyMinLength":"12","passwordPolicyCharacters":["Requires Numbers","Requires Symbols"],
 "userpoolClientRefreshTokenValidity":60,"userpoolClientReadAttributes":["email","name"],
 "authSelections":"identityPoolAndUserPool","allowUnauthenticatedIdentities":true,
 "userPoolGroupList":["Readers","Admins"],"usernameCaseSensitive":true,
 "triggers":"{\"PreSignup\":[\"custom\"]}",
 "dependsOn":[{"category":"function","resourceName":"shopPreSignup","triggerProvider":"Cognito","attributes":["Arn","Name"]}]}}`

func TestNewCarriesSettingsAndChangesOnlyTheSignIn(t *testing.T) {
	c, err := Settings([]byte(oldInputs), nil)
	if err != nil {
		t.Fatal(err)
	}
	precedence := []byte(`[{"groupName":"Admins","precedence":1},{"groupName":"Readers","precedence":2}]`)
	p, err := New("shop", c, precedence, Options{NewName: "shopv2"})
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(p.Payload), "\n") {
		t.Error("the payload must be one line: the CLI reads only the first")
	}
	u := gjson.GetBytes(p.Payload, "serviceConfiguration.userPoolConfiguration")
	cases := map[string]string{
		"signinMethod":                                 "EMAIL", // username → email by default
		"requiredSignupAttributes":                     `["EMAIL"]`,
		"userPoolGroups.#.groupName":                   `["Admins","Readers"]`, // precedence order
		"mfa.mode":                                     "OPTIONAL",
		"mfa.mfaTypes":                                 `["SMS","TOTP"]`,
		"passwordPolicy.minimumLength":                 "12",
		"passwordPolicy.additionalConstraints":         `["REQUIRE_DIGIT","REQUIRE_SYMBOL"]`,
		"refreshTokenPeriod":                           "60",
		"readAttributes":                               `["EMAIL","NAME"]`,
		"autoVerifiedAttributes.0.verifiectionSubject": "Code",
	}
	for path, want := range cases {
		got := u.Get(path)
		if got.String() != want && strings.ReplaceAll(got.Raw, " ", "") != want {
			t.Errorf("%s = %s, want %s", path, got.Raw, want)
		}
	}
	if u.Get("aliasAttributes").Exists() {
		t.Error("aliases must be dropped with email sign-in: Cognito allows them only with username sign-in")
	}
	if !gjson.GetBytes(p.Payload, "serviceConfiguration.includeIdentityPool").Bool() ||
		!gjson.GetBytes(p.Payload, "serviceConfiguration.identityPoolConfiguration.unauthenticatedLogin").Bool() {
		t.Errorf("identity pool not carried: %s", p.Payload)
	}
	if len(p.Triggers) != 1 || p.Triggers[0].Event != "PreSignup" || p.Triggers[0].Function != "shopPreSignup" {
		t.Errorf("triggers: %+v", p.Triggers)
	}
	report := strings.Join(p.NotCarried, "\n")
	for _, want := range []string{"custom:tier", "case-insensitive", "preferred_username", "PreSignup"} {
		if !strings.Contains(strings.ToLower(report), strings.ToLower(want)) {
			t.Errorf("not-carried report lacks %q:\n%s", want, report)
		}
	}
}

func TestNewRefusesBadNamesAndKeepsUsernameAliases(t *testing.T) {
	c, _ := Settings([]byte(oldInputs), nil)
	for _, name := range []string{"", "shop", "shop-v2"} {
		if _, err := New("shop", c, nil, Options{NewName: name}); err == nil {
			t.Errorf("new name %q accepted", name)
		}
	}
	p, err := New("shop", c, nil, Options{NewName: "shopv2", SignIn: SignInUsername})
	if err != nil {
		t.Fatal(err)
	}
	if got := gjson.GetBytes(p.Payload, "serviceConfiguration.userPoolConfiguration.aliasAttributes").Raw; got != `["PREFERRED_USERNAME"]` {
		t.Errorf("aliases with username sign-in: %s", got)
	}
}

// The hosted UI's social providers are carried by name, scopes and
// attribute mappings (the import links their users by provider name);
// their secrets are not in the files, and the report says where the user
// enters them.
func TestSocialProvidersAreCarriedWithoutSecrets(t *testing.T) {
	inputs := `{"version":"1","cognitoConfig":{"resourceName":"shop","usernameAttributes":["email"],"authSelections":"userPoolOnly",
 "hostedUI":true,"hostedUIDomainName":"shopauth","oAuthMetadata":"{\"AllowedOAuthFlows\":[\"code\"],\"AllowedOAuthScopes\":[\"email\",\"openid\"],\"CallbackURLs\":[\"https://app.example.com/\"],\"LogoutURLs\":[\"https://app.example.com/\"]}",
 "authProvidersUserPool":["Facebook","Google"],
 "hostedUIProviderMeta":"[{\"ProviderName\":\"Facebook\",\"authorize_scopes\":\"email,public_profile\",\"AttributeMapping\":{\"email\":\"email\",\"username\":\"id\"}},{\"ProviderName\":\"Google\",\"authorize_scopes\":\"openid email profile\",\"AttributeMapping\":{\"email\":\"email\",\"name\":\"name\",\"username\":\"sub\"}}]"}}`
	c, err := Settings([]byte(inputs), nil)
	if err != nil {
		t.Fatal(err)
	}
	p, err := New("shop", c, nil, Options{NewName: "shopv2"})
	if err != nil {
		t.Fatal(err)
	}
	if len(p.SocialProviders) != 2 || p.SocialProviders[0].Name != "Facebook" || p.SocialProviders[0].Scopes != "email,public_profile" || p.SocialProviders[0].AttributeMapping["username"] != "id" ||
		p.SocialProviders[1].Name != "Google" || p.SocialProviders[1].AttributeMapping["name"] != "name" {
		t.Errorf("social providers: %+v", p.SocialProviders)
	}
	report := strings.Join(p.NotCarried, "\n")
	for _, want := range []string{"Facebook (scopes \"email,public_profile\", attributes email <- email, username <- id)", "hostedUIProviderCreds", "Add/Edit social providers", "this very name"} {
		if !strings.Contains(report, want) {
			t.Errorf("report lacks %q:\n%s", want, report)
		}
	}
	if strings.Contains(string(p.Payload), "secret") {
		t.Errorf("the payload holds a secret: %s", p.Payload)
	}
}

// TestAppClientsNeverWriteTheOldIdentity: the new auth resource's app
// clients get a write list, always, and it never holds custom:prev_* (a
// client without a list may write every attribute, so a user could claim
// any old user) nor the verified flags the CLI's schema refuses.
func TestAppClientsNeverWriteTheOldIdentity(t *testing.T) {
	for name, c := range map[string]struct {
		inputs string
		want   string
	}{
		"no list (all writable before)": {`{"cognitoConfig":{"resourceName":"shop"}}`,
			`["ADDRESS","BIRTHDATE","EMAIL","FAMILY_NAME","GENDER","GIVEN_NAME","LOCALE","MIDDLE_NAME","NAME","NICKNAME","PHONE_NUMBER","PICTURE","PREFERRED_USERNAME","PROFILE","UPDATED_AT","WEBSITE","ZONE_INFO"]`},
		"a list naming them": {`{"cognitoConfig":{"resourceName":"shop","userpoolClientSetAttributes":true,"userpoolClientWriteAttributes":["email","custom:prev_sub_id","custom:prev_username","email_verified","name"]}}`,
			`["EMAIL","NAME"]`},
	} {
		t.Run(name, func(t *testing.T) {
			s, err := Settings([]byte(c.inputs), nil)
			if err != nil {
				t.Fatal(err)
			}
			p, err := New("shop", s, nil, Options{NewName: "shopv2"})
			if err != nil {
				t.Fatal(err)
			}
			if got := gjson.GetBytes(p.Payload, "serviceConfiguration.userPoolConfiguration.writeAttributes").Raw; got != c.want {
				t.Errorf("writeAttributes %s, want %s", got, c.want)
			}
			if strings.Contains(string(p.Payload), "prev_") || !strings.Contains(strings.Join(p.Answers, "\n"), "read and write? Yes") {
				t.Errorf("payload %s\nanswers %q", p.Payload, p.Answers)
			}
		})
	}
}
