package gen2e2e

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	cip "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider"
	cogtypes "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider/types"

	"github.com/poolmigrate/poolmigrate/testbed/gen2sim"
	"github.com/poolmigrate/poolmigrate/testbed/gen2synth"
	"github.com/poolmigrate/poolmigrate/testbed/testenv"
)

// TestMigrateGen2FederatedUsers migrates a Gen 2 app that signs in with
// Google and Facebook (the real toolchain synthesizes each step, the
// deploys are simulated, identity providers in the shim): its federated
// users (Google_1001 an editor, Facebook_2001) and carol (a password user
// whose Google login the old pool had linked) are in the new pool after
// `migrate`, linked, with their groups; signing in through the provider
// lands on them; every item they owned names their new identity; verify
// is clean. With both import methods.
func TestMigrateGen2FederatedUsers(t *testing.T) {
	t.Parallel() // own pools, tables and folders
	env := testenv.Require(t)
	testenv.RequireAppSync(t)
	tc := gen2synth.Require(t)
	for _, method := range []string{"job", "admin"} {
		t.Run(method, func(t *testing.T) { migrateGen2Federated(t, env, tc, method) })
	}
}

func migrateGen2Federated(t *testing.T, env *testenv.Env, tc *gen2synth.Toolchain, method string) {
	ctx := context.Background()
	// One namespace for both methods: the project, and so each of its
	// three syntheses, is the same (gen2synth synthesizes it once).
	bed := newGen2Bed(t, env, tc, "gen2fed", gen2synth.FederatedAuth, gen2sim.Clients{Cognito: env.Local, Dynamo: env.Dynamo, Shim: env.Cognito})
	d0 := bed.deploy(nil)
	oldPool := d0.PoolID

	env.Seed(t, oldPool, nil, []testenv.SeedUser{
		{Username: "writer00", Attrs: map[string]string{"email": "writer00@example.com", "email_verified": "true"}, Groups: []string{"ADMINS"}},
		{Username: "carol", Attrs: map[string]string{"email": "carol@example.com", "email_verified": "true"}, Groups: []string{"EDITORS"}},
	})
	subjects := map[string][2]string{"Google_1001": {"Google", "1001"}, "Facebook_2001": {"Facebook", "2001"}, "carol": {"Google", "1003"}}
	for _, name := range []string{"Google_1001", "Facebook_2001"} {
		subj := subjects[name]
		if _, err := testenv.SignInThroughProvider(ctx, oldPool, subj[0], subj[1], map[string]string{"email": strings.ToLower(name) + "@example.com", "name": "Person " + name}); err != nil {
			t.Fatalf("plant %s: %v", name, err)
		}
	}
	if _, err := env.Cognito.AdminAddUserToGroup(ctx, &cip.AdminAddUserToGroupInput{UserPoolId: &oldPool, GroupName: aws.String("EDITORS"), Username: aws.String("Google_1001")}); err != nil {
		t.Fatal(err)
	}
	if _, err := env.Cognito.AdminLinkProviderForUser(ctx, &cip.AdminLinkProviderForUserInput{UserPoolId: &oldPool,
		DestinationUser: &cogtypes.ProviderUserIdentifierType{ProviderName: aws.String("Cognito"), ProviderAttributeValue: aws.String("carol")},
		SourceUser:      &cogtypes.ProviderUserIdentifierType{ProviderName: aws.String("Google"), ProviderAttributeName: aws.String("Cognito_Subject"), ProviderAttributeValue: aws.String("1003")}}); err != nil {
		t.Fatal(err)
	}
	users := gen2Users(t, env.Local, oldPool)
	if len(users) != 4 {
		t.Fatalf("the old pool holds %d users", len(users))
	}
	table, tables := exampleTables(d0)
	fillGen2Tables(t, env, table, users)
	migrate := func() string { return bed.migrate("--method", method) }
	migrate() // plan, backup, retain block
	d1 := bed.deploy(d0)
	if out := migrate(); !strings.Contains(out, "Now deploy the new pool") || !strings.Contains(out, "identity providers") {
		t.Fatalf("after the retain deploy (the patch names what happens to the providers):\n%s", out)
	}
	d2 := bed.deploy(d1)
	newPool := d2.PoolID
	if newPool == oldPool {
		t.Fatal("the new-pool deploy kept the old pool")
	}
	if out := migrate(); !strings.Contains(out, "Migration complete") || !strings.Contains(out, "OK: the migration is complete") {
		t.Fatalf("the last run:\n%s", out)
	}

	byEmail := map[string]gen2User{}
	for _, nu := range gen2Users(t, env.Cognito, newPool) {
		byEmail[nu.email] = nu
	}
	groups := map[string]string{"writer00": "ADMINS", "carol": "EDITORS", "Google_1001": "EDITORS", "Facebook_2001": ""}
	after := snapshot(t, env, tables)
	all := fmt.Sprint(after)
	for _, u := range users {
		nu, ok := byEmail[u.email]
		if !ok || nu.sub == u.sub {
			t.Errorf("%s in the new pool: %+v %v", u.username, nu, ok)
			continue
		}
		for tb, fields := range map[string]map[string]any{
			table("Note"):    {"id": "note-" + u.username, "owner": nu.sub + "::" + nu.username},
			table("Comment"): {"id": "comment-" + u.username, "owner": nu.username},
			table("Profile"): {"userId": nu.sub, "displayName": "Profile of " + u.username},
			table("Board"):   {"id": "board-" + u.username, "owner": nu.sub + "::" + nu.username},
		} {
			if !hasItem(after[tb], fields) {
				t.Errorf("%s: no item %v", tb, fields)
			}
		}
		if strings.Contains(all, u.sub) {
			t.Errorf("%s's old sub is still in the tables", u.username)
		}
		g, err := env.Cognito.AdminListGroupsForUser(ctx, &cip.AdminListGroupsForUserInput{UserPoolId: &newPool, Username: aws.String(nu.username)})
		if err != nil {
			t.Fatal(err)
		}
		var names []string
		for _, gr := range g.Groups {
			names = append(names, aws.ToString(gr.GroupName))
		}
		if strings.Join(names, ",") != groups[u.username] {
			t.Errorf("%s: groups %v, want %q", u.username, names, groups[u.username])
		}
		subj, federated := subjects[u.username]
		if !federated {
			continue
		}
		s, err := testenv.SignInThroughProvider(ctx, newPool, subj[0], subj[1], map[string]string{"email": u.email})
		if err != nil || s.Created || s.Sub != nu.sub {
			t.Errorf("%s through %s: %+v %v, want sub %s", u.username, subj[0], s, err, nu.sub)
		}
	}
}
