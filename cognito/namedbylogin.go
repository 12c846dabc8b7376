package cognito

import (
	"encoding/json"
	"strings"
)

// NamedByLogin tells whether an old-pool password user is brought over
// without custom:prev_* and named in the new pool by the provider login
// the old pool had linked to them (one person, two ways in). Cognito
// links no login to a user holding an immutable custom attribute (the
// AdminLinkProviderForUser reference: "All attributes in the
// DestinationUser profile must be mutable"), and check --fix makes
// custom:prev_* immutable, so such a user can have the login or the
// attributes, not both.
//
// Only a user with a verified e-mail or phone number in the backup is
// named this way: the login (which only Cognito writes) says which old
// user it was, and the verified contact the new user holds, checked
// against the backup, says the account it is linked to is that user's
// (see migration.ListClaims and federated.Import). Anyone else keeps
// custom:prev_* and comes over with the password way in only.
func NamedByLogin(u User) bool {
	if u.Status == "EXTERNAL_PROVIDER" || !hasLogins(u.Attributes["identities"]) {
		return false
	}
	return len(VerifiedContacts(u.Attributes)) > 0
}

// VerifiedContacts are the e-mail address and phone number attrs holds
// as verified, by attribute name.
func VerifiedContacts(attrs map[string]string) map[string]string {
	out := map[string]string{}
	for _, a := range []string{"email", "phone_number"} {
		if attrs[a] != "" && strings.EqualFold(attrs[a+"_verified"], "true") {
			out[a] = attrs[a]
		}
	}
	return out
}

// hasLogins tells whether an identities attribute lists at least one
// provider login (federated.ParseIdentities reads it in full, and names
// one it cannot read).
func hasLogins(value string) bool {
	var ids []json.RawMessage
	if strings.TrimSpace(value) == "" || json.Unmarshal([]byte(value), &ids) != nil {
		return false
	}
	return len(ids) > 0
}
