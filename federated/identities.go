// Package federated brings the users who sign in through an identity
// provider (Google, Facebook, Sign in with Apple, Login with Amazon, SAML,
// OIDC) into the new pool as the same people: it reads their provider
// identities from the backup, creates each federated user ahead of time
// in the new pool and links the provider identity to it with
// AdminLinkProviderForUser, as the Cognito developer guide documents
// ("Linking federated users to an existing user profile"). At their first
// sign-in through the provider, Cognito signs them in as that user, whose
// sub the import knows, so their groups are restored and their data is
// remapped like every other user's.
//
// A link lets whoever holds the provider identity in as the user it names,
// so the subject of every link comes only from the backup's `identities`
// of that same old user (which only Cognito writes), and a federated
// user's identity must agree with its username (`<Provider>_<subject>`).
package federated

import (
	"encoding/json"
	"fmt"
	"sort"
	"strings"

	"github.com/poolmigrate/poolmigrate/cognito"
)

// IdentitiesAttr is the attribute in which Cognito lists a user's provider
// identities.
const IdentitiesAttr = "identities"

// StatusExternal is the status of a user a federated sign-in created.
const StatusExternal = "EXTERNAL_PROVIDER"

// Identity is one provider identity of a user.
type Identity struct {
	ProviderName string `json:"providerName"`
	ProviderType string `json:"providerType"`
	UserID       string `json:"userId"`
	Primary      bool   `json:"primary"`
}

// Key is how a pool tells identities apart: provider and subject.
func (i Identity) Key() string { return i.ProviderName + "_" + i.UserID }

// ParseIdentities reads the `identities` attribute. Cognito writes
// primary as a boolean or a string, and dateCreated as a number.
func ParseIdentities(value string) ([]Identity, error) {
	if strings.TrimSpace(value) == "" {
		return nil, nil
	}
	var raw []struct {
		ProviderName string          `json:"providerName"`
		ProviderType string          `json:"providerType"`
		UserID       string          `json:"userId"`
		Primary      json.RawMessage `json:"primary"`
	}
	if err := json.Unmarshal([]byte(value), &raw); err != nil {
		return nil, fmt.Errorf("the identities attribute is not the JSON list Cognito writes: %w", err)
	}
	out := make([]Identity, 0, len(raw))
	for _, r := range raw {
		if r.ProviderName == "" || r.UserID == "" {
			return nil, fmt.Errorf("an identity without providerName or userId: %s", value)
		}
		p := strings.Trim(string(r.Primary), `"`)
		out = append(out, Identity{ProviderName: r.ProviderName, ProviderType: r.ProviderType, UserID: r.UserID, Primary: p == "true"})
	}
	return out, nil
}

// User is an old-pool user with provider identities: a federated user
// (EXTERNAL_PROVIDER, one identity: the one it was created by), or a
// native user the old pool had linked identities to (one person, two ways
// in).
type User struct {
	Old        cognito.User
	Identities []Identity
}

// External tells whether a federated sign-in created the user.
func (u User) External() bool { return u.Old.Status == StatusExternal }

// Read lists the backup's users that have provider identities, and the
// users whose identities cannot be used, with why. A federated user's
// identities must name it: its username is `<Provider>_<subject>` of one
// of them, which alone is kept.
func Read(backupPath string) (users []User, bad []cognito.FailedUser, err error) {
	_, _, err = cognito.ReadBackupFile(backupPath, cognito.BackupVisitor{User: func(u cognito.User) error {
		value := u.Attributes[IdentitiesAttr]
		if value == "" && u.Status != StatusExternal {
			return nil
		}
		fu, why := fromBackup(u, value)
		if why != "" {
			bad = append(bad, cognito.FailedUser{Username: u.Username, Sub: u.Sub, Reason: why})
			return nil
		}
		users = append(users, fu)
		return nil
	}})
	if err != nil {
		return nil, nil, err
	}
	sort.Slice(users, func(i, j int) bool { return users[i].Old.Username < users[j].Old.Username })
	return users, bad, nil
}

func fromBackup(u cognito.User, value string) (User, string) {
	ids, err := ParseIdentities(value)
	if err != nil {
		return User{}, err.Error()
	}
	if u.Status != StatusExternal {
		return User{Old: u, Identities: ids}, ""
	}
	for _, id := range ids {
		// Cognito names a federated user by its provider and subject;
		// case-insensitive pools keep the name in lower case.
		if strings.EqualFold(u.Username, id.Key()) {
			return User{Old: u, Identities: []Identity{id}}, ""
		}
	}
	if len(ids) == 0 {
		return User{}, "a federated user without identities in the backup: its provider identity is unknown"
	}
	return User{}, fmt.Sprintf("none of its identities (%s) is the one its username names: refusing to link a subject it may not own", keys(ids))
}

func keys(ids []Identity) string {
	var out []string
	for _, id := range ids {
		out = append(out, id.Key())
	}
	return strings.Join(out, ", ")
}

// Providers are the provider names the users sign in with, sorted, with
// how many users each.
func Providers(users []User) map[string]int {
	out := map[string]int{}
	for _, u := range users {
		seen := map[string]bool{}
		for _, id := range u.Identities {
			if !seen[id.ProviderName] {
				seen[id.ProviderName] = true
				out[id.ProviderName]++
			}
		}
	}
	return out
}
