package cli

import (
	"fmt"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider/types"

	"github.com/poolmigrate/poolmigrate/testbed/testenv"
)

// sourcePool is an old, username-sign-in pool with the problems a real one
// collects: shared and mixed-case emails, unverified and missing emails, a
// malformed phone, an email-shaped username, an unconfirmed sign-up,
// disabled users, commas and non-ASCII in names, users in several groups and
// a group larger than a page.
type sourcePool struct {
	id    string
	users []testenv.SeedUser
	// planted problems: code -> usernames
	problems map[string][]string
}

// regularUsers is enough for three ListUsers pages and a group (Readers,
// 70) larger than a page; every user more costs each admin import 1/50 s
// of AdminCreateUser and 1/25 s of AdminSetUserPassword at AWS's quotas,
// which the shim keeps. Listings of thousands are the backup tests' own.
const regularUsers = 150

func plantSourcePool(t *testing.T, env *testenv.Env) *sourcePool {
	t.Helper()
	id := env.NewPool(t, testenv.PoolOptions{AutoVerified: []types.VerifiedAttributeType{types.VerifiedAttributeTypeEmail}, Custom: []string{"tenant"}})
	groups := []testenv.SeedGroup{
		{Name: "Admin", Description: "Admins, all of them", Precedence: aws.Int32(1), RoleArn: "arn:aws:iam::123456789012:role/admins"},
		{Name: "Editors", Precedence: aws.Int32(5)},
		{Name: "Readers"},
	}
	sp := &sourcePool{id: id, problems: map[string][]string{}}
	for i := 0; i < regularUsers; i++ {
		u := testenv.SeedUser{
			Username: fmt.Sprintf("user%03d", i),
			Attrs:    map[string]string{"email": fmt.Sprintf("user%03d@example.com", i), "email_verified": "true", "custom:tenant": fmt.Sprintf("t%d", i%7)},
		}
		switch {
		case i%10 == 0:
			u.Attrs["name"] = fmt.Sprintf("Müller, Jörg %d", i)
		case i%10 == 1:
			u.Attrs["name"] = fmt.Sprintf("李 小龍 %d", i)
			u.Attrs["phone_number"] = fmt.Sprintf("+1415555%04d", i)
		case i%10 == 2:
			everyStandardAttribute(u.Attrs, i)
		}
		if i < 70 {
			u.Groups = append(u.Groups, "Readers")
		}
		if i%50 == 0 {
			u.Groups = append(u.Groups, "Editors", "Admin")
		}
		if i%60 == 7 {
			u.Disabled = true
		}
		sp.users = append(sp.users, u)
	}
	problem := func(code string, u testenv.SeedUser) {
		sp.users = append(sp.users, u)
		sp.problems[code] = append(sp.problems[code], u.Username)
	}
	problem("DUPLICATE_EMAIL", testenv.SeedUser{Username: "dup.a", Attrs: map[string]string{"email": "shared@example.com", "email_verified": "true"}})
	problem("DUPLICATE_EMAIL", testenv.SeedUser{Username: "dup.b", Attrs: map[string]string{"email": "Shared@Example.com", "email_verified": "true"}})
	problem("UNVERIFIED_CONTACT", testenv.SeedUser{Username: "unverified", Attrs: map[string]string{"email": "unverified@example.com", "email_verified": "false"}})
	problem("MISSING_CONTACT", testenv.SeedUser{Username: "nocontact", Attrs: map[string]string{"name": "No Contact"}})
	problem("INVALID_PHONE", testenv.SeedUser{Username: "badphone", Attrs: map[string]string{"email": "badphone@example.com", "email_verified": "true", "phone_number": "+1 (415) 555-0199"}})
	problem("USERNAME_IS_EMAIL", testenv.SeedUser{Username: "person@example.org", Attrs: map[string]string{"email": "person@example.org", "email_verified": "true"}})
	problem("UNCONFIRMED_USER", testenv.SeedUser{Username: "signedup", Unconfirmed: true, Attrs: map[string]string{"email": "signedup@example.com"}})
	env.Seed(t, id, groups, sp.users)
	return sp
}

// everyStandardAttribute gives user i a value in every standard attribute
// the import carries unchanged, each distinct from the others and from
// every other user's, so a value written to another attribute shows.
func everyStandardAttribute(attrs map[string]string, i int) {
	genders := []string{"female", "male", "nonbinary"}
	zones := []string{"Europe/Berlin", "America/New_York", "Asia/Tokyo"}
	locales := []string{"de-DE", "en-US", "ja-JP"}
	for name, v := range map[string]string{
		"given_name":  fmt.Sprintf("Given%d", i),
		"family_name": fmt.Sprintf("Family%d", i),
		"middle_name": fmt.Sprintf("Middle%d", i),
		"nickname":    fmt.Sprintf("Nick%d", i),
		"birthdate":   fmt.Sprintf("19%02d-%02d-%02d", 50+i%50, 1+i%12, 1+i%28),
		"locale":      locales[i%3],
		"address":     fmt.Sprintf("%d Elm St, Springfield", i),
		"zoneinfo":    zones[i%3],
		"website":     fmt.Sprintf("https://site%d.example.org", i),
		"picture":     fmt.Sprintf("https://img.example.com/%d.png", i),
		"gender":      genders[i%3],
		"profile":     fmt.Sprintf("https://profiles.example.com/%d", i),
		"updated_at":  fmt.Sprint(1700000000 + i),
	} {
		attrs[name] = v
	}
}

func (sp *sourcePool) disabled() map[string]bool {
	out := map[string]bool{}
	for _, u := range sp.users {
		if u.Disabled {
			out[u.Username] = true
		}
	}
	return out
}

func (sp *sourcePool) memberships() int {
	n := 0
	for _, u := range sp.users {
		n += len(u.Groups)
	}
	return n
}
