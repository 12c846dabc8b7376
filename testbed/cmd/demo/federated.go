package main

import (
	"context"
	"fmt"
	"log"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	cip "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider"
	ctypes "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider/types"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	dtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/poolmigrate/poolmigrate/testbed/testenv"
)

// The demo's users who sign in with Google or Facebook: provider,
// subject (the provider's user id), e-mail, groups.
var socialUsers = []struct {
	provider, subject, email string
	groups                   []string
}{
	{"Google", "104857600123", "gwen@gmail.example", []string{"Editors"}},
	{"Google", "104857600456", "hugo@gmail.example", nil},
	{"Facebook", "10221300789", "fiona@facebook.example", []string{"Admin"}},
}

var socialMapping = map[string]string{"email": "email"}

func addProviders(ctx context.Context, c *cip.Client, pool string) {
	for _, p := range []struct {
		name string
		typ  ctypes.IdentityProviderTypeType
	}{{"Google", ctypes.IdentityProviderTypeTypeGoogle}, {"Facebook", ctypes.IdentityProviderTypeTypeFacebook}} {
		must(c.CreateIdentityProvider(ctx, &cip.CreateIdentityProviderInput{UserPoolId: &pool, ProviderName: aws.String(p.name), ProviderType: p.typ,
			ProviderDetails: testenv.ProviderDetails(p.typ, "notes-"+strings.ToLower(p.name)), AttributeMapping: socialMapping}))
	}
}

// plantFederated adds the providers to the old pool and signs each social
// user in once, which makes their account; subs gets their subs.
func plantFederated(ctx context.Context, c *cip.Client, pool string, subs map[string]string) []user {
	step("Google and Facebook sign-in on the old pool: gwen and hugo sign in with Google, fiona with Facebook")
	addProviders(ctx, c, pool)
	var out []user
	for _, u := range socialUsers {
		s, err := testenv.SignInThroughProvider(ctx, pool, u.provider, u.subject, map[string]string{"email": u.email})
		if err != nil {
			log.Fatalf("demo: sign in %s through %s: %v", u.email, u.provider, err)
		}
		for _, g := range u.groups {
			must(c.AdminAddUserToGroup(ctx, &cip.AdminAddUserToGroupInput{UserPoolId: &pool, Username: aws.String(s.Username), GroupName: aws.String(g)}))
		}
		subs[s.Username] = s.Sub
		fmt.Printf("   %s signed in through %s: user %s\n", u.email, u.provider, s.Username)
		out = append(out, user{name: s.Username, email: u.email, verified: "true", groups: u.groups})
	}
	return out
}

// signInThroughGoogle ends the demo: gwen signs in with Google to the new
// pool and is the same person: the user the import made for her, with her
// groups and her notes.
func signInThroughGoogle(ctx context.Context, ddb *dynamodb.Client, pool, notes string) {
	u := socialUsers[0]
	step("gwen signs in with Google to the new pool")
	s, err := testenv.SignInThroughProvider(ctx, pool, u.provider, u.subject, map[string]string{"email": u.email})
	if err != nil {
		log.Fatalf("demo: gwen's sign-in: %v", err)
	}
	if s.Created {
		log.Fatalf("demo: gwen's sign-in made a new user %s: the link is missing", s.Username)
	}
	mine := 0
	scan := must(ddb.Scan(ctx, &dynamodb.ScanInput{TableName: aws.String(notes)}))
	for _, it := range scan.Items {
		if o, ok := it["owner"].(*dtypes.AttributeValueMemberS); ok && strings.HasPrefix(o.Value, s.Sub+"::") {
			mine++
		}
	}
	fmt.Printf("   Cognito signs her in as user %s (sub %s), groups %v: the user the import made and linked to Google %s\n", s.Username, s.Sub, s.Groups, u.subject)
	fmt.Printf("   her notes, which named her old sub, name this one now: %d\n", mine)
	if mine != 3 || strings.Join(s.Groups, ",") != strings.Join(u.groups, ",") {
		log.Fatalf("demo: gwen has %d notes and groups %v, want 3 and %v", mine, s.Groups, u.groups)
	}
}
