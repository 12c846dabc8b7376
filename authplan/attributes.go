package authplan

import (
	"fmt"
	"strings"

	"github.com/tidwall/gjson"
)

// The user attributes: their names in the settings and in the payload,
// those a sign-in requires, and those the app clients may write.

// attribute names in cli-inputs.json (lowercase) and in the payload.
var attrEnum = map[string]string{
	"address": "ADDRESS", "birthdate": "BIRTHDATE", "email": "EMAIL", "family_name": "FAMILY_NAME",
	"gender": "GENDER", "given_name": "GIVEN_NAME", "locale": "LOCALE", "middle_name": "MIDDLE_NAME",
	"name": "NAME", "nickname": "NICKNAME", "phone_number": "PHONE_NUMBER", "picture": "PICTURE",
	"preferred_username": "PREFERRED_USERNAME", "profile": "PROFILE", "updated_at": "UPDATED_AT",
	"website": "WEBSITE", "zoneinfo": "ZONE_INFO", "email_verified": "EMAIL_VERIFIED",
	"phone_number_verified": "PHONE_NUMBER_VERIFIED",
}

// writableEnum are the attributes an AddAuthRequest lets app clients
// write: the standard ones, without the verified flags (the CLI's schema).
var writableEnum = []string{"ADDRESS", "BIRTHDATE", "EMAIL", "FAMILY_NAME", "GENDER", "GIVEN_NAME", "LOCALE", "MIDDLE_NAME",
	"NAME", "NICKNAME", "PHONE_NUMBER", "PICTURE", "PREFERRED_USERNAME", "PROFILE", "UPDATED_AT", "WEBSITE", "ZONE_INFO"}

// clientWriteAttributes is the app clients' write list, always named: a
// client without one may write every attribute, custom:prev_sub_id and
// custom:prev_username among them, which would let a user claim any old
// user. The old list is kept (standard attributes only); an old resource
// without one gets every standard attribute the schema allows.
func clientWriteAttributes(c gjson.Result, notCarried *[]string) []string {
	write := []string{}
	if c.Get("userpoolClientSetAttributes").Bool() || len(c.Get("userpoolClientWriteAttributes").Array()) > 0 {
		for _, a := range enumList(c.Get("userpoolClientWriteAttributes"), notCarried, "writable attribute") {
			if contains(writableEnum, a) {
				write = append(write, a)
			}
		}
	}
	if len(write) == 0 {
		write = append(write, writableEnum...)
	}
	*notCarried = append(*notCarried, "the app clients may write only "+strings.Join(write, ", ")+
		": never custom:prev_sub_id or custom:prev_username, which say which old user someone is. The Amplify CLI applies the list when the prompt \"Do you want to specify the user attributes this app can read and write?\" is answered Yes (see the answers); after the push, `poolmigrate check` names any client that may still write them")
	return write
}

// signInAttributes are the attributes a sign-in needs to be required.
func signInAttributes(signIn string) []string {
	switch signIn {
	case SignInEmail:
		return []string{"EMAIL"}
	case SignInPhone:
		return []string{"PHONE_NUMBER"}
	}
	return nil
}

func enumList(v gjson.Result, notCarried *[]string, what string) []string {
	out := []string{}
	for _, a := range v.Array() {
		if e, ok := attrEnum[strings.ToLower(a.String())]; ok {
			if !contains(out, e) {
				out = append(out, e)
			}
		} else {
			*notCarried = append(*notCarried, fmt.Sprintf("%s %s: `amplify add auth` offers only standard attributes; add it with `amplify override auth`", what, a.String()))
		}
	}
	return out
}
