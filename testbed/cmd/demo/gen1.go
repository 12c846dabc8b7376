package main

import (
	"context"
	"fmt"
	"log"
	"os"
	"path/filepath"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	cip "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider"
	ctypes "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider/types"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/poolmigrate/poolmigrate/testbed/amplifycli"
	"github.com/poolmigrate/poolmigrate/testbed/amplifysim"
	"github.com/poolmigrate/poolmigrate/testbed/testenv"
)

// What the two Gen 1 demos (users reset their passwords: main.go; users
// keep them: keep.go) share: the old pool's users, the copy of the
// example pointing at the old pool, its identity pool and bucket as the
// first `amplify push` made them with the users' files in it, the real
// Amplify CLI's remove and add auth, and the simulated push of the new
// pool.

// gen1Paths are the per-identity paths of the example's storage.
var gen1Paths = []string{"private/{entity_id}/", "protected/{entity_id}/"}

// createUser makes u in the old pool with its password (permanent), its
// groups and, if u.disabled, disabled; it returns the user's sub.
func createUser(ctx context.Context, idp *cip.Client, pool string, u user, password string) string {
	out := must(idp.AdminCreateUser(ctx, &cip.AdminCreateUserInput{UserPoolId: &pool, Username: aws.String(u.name), MessageAction: ctypes.MessageActionTypeSuppress,
		UserAttributes: []ctypes.AttributeType{{Name: aws.String("email"), Value: aws.String(u.email)}, {Name: aws.String("email_verified"), Value: aws.String(u.verified)}}}))
	sub := ""
	for _, a := range out.User.Attributes {
		if *a.Name == "sub" {
			sub = *a.Value
		}
	}
	must(idp.AdminSetUserPassword(ctx, &cip.AdminSetUserPasswordInput{UserPoolId: &pool, Username: aws.String(u.name), Password: aws.String(password), Permanent: true}))
	for _, g := range u.groups {
		must(idp.AdminAddUserToGroup(ctx, &cip.AdminAddUserToGroupInput{UserPoolId: &pool, Username: aws.String(u.name), GroupName: aws.String(g)}))
	}
	if u.disabled {
		must(idp.AdminDisableUser(ctx, &cip.AdminDisableUserInput{UserPoolId: &pool, Username: aws.String(u.name)}))
	}
	return sub
}

// gen1App is the Gen 1 example in a demo's work folder.
type gen1App struct {
	sim     amplifysim.Clients
	region  string
	project string
	// oldAuth is the identity pool (and app client) the first push made
	// for the old pool; bucket the storage bucket.
	oldAuth amplifysim.Auth
	bucket  string
}

// newGen1App copies the example into work/notes-app, pointing its
// amplify-meta.json at the old pool and at the API apiID.
func newGen1App(example, work, oldPool, apiID string, sim amplifysim.Clients, region string) *gen1App {
	a := &gen1App{sim: sim, region: region, project: filepath.Join(work, "notes-app")}
	if err := testenv.CopyTree(example, a.project); err != nil {
		log.Fatal(err)
	}
	meta := filepath.Join(a.project, "amplify/backend/amplify-meta.json")
	replace(meta, "us-east-1_NotesOld1", oldPool)
	replace(meta, "n0tesapi1d", apiID)
	return a
}

// firstPush makes the old pool's identity pool and the storage bucket, as
// the first `amplify push` made them (simulated on the test bed).
func (a *gen1App) firstPush(ctx context.Context, oldPool string) {
	a.oldAuth = must(amplifysim.PushAuth(ctx, a.sim, a.project, "notesappauth", oldPool, a.region))
	a.bucket = must(amplifysim.PushStorage(ctx, a.sim, a.project))["notesfiles"]
}

// plantFiles has each user sign in to the old pool through idp (and the
// identity endpoint, if not the default) and save files under their
// identity id.
func (a *gen1App) plantFiles(ctx context.Context, idp *cip.Client, identityEndpoint, oldPool string, users []*fileUser) *userFiles {
	files := newUserFiles(ctx, idp, identityEndpoint, a.bucket, gen1Paths, users)
	files.plant(ctx, appSide{pool: oldPool, client: a.oldAuth.WebClientID, identityPool: a.oldAuth.IdentityPoolID})
	return files
}

// amplify is the real Amplify CLI, with the project pulled as `amplify
// pull` leaves it (credentials from the environment: the test bed's).
func (a *gen1App) amplify(ctx context.Context, amplifyBin, work string) *amplifycli.CLI {
	amp, err := amplifycli.New(amplifyBin, filepath.Join(work, "amplify-home"))
	if err != nil {
		log.Fatal(err)
	}
	if err := amp.Pull(ctx, a.project, "dev"); err != nil {
		log.Fatal(err)
	}
	return amp
}

// replaceAuth runs what migrate's report says to, with the real Amplify
// CLI: remove the auth resources and add auth from migrate's answers.
func (a *gen1App) replaceAuth(ctx context.Context, amp *amplifycli.CLI) {
	payload, err := os.ReadFile(filepath.Join(a.project, ".poolmigrate", "add-auth.json"))
	if err != nil {
		log.Fatal(err)
	}
	for _, c := range [][]string{{"remove", "auth", "userPoolGroups", "--yes"}, {"remove", "auth", "notesappauth", "--yes"}, {"add", "auth", "--headless"}} {
		stdin := ""
		if c[0] == "add" {
			stdin = string(payload)
		}
		step("$ amplify " + strings.Join(c, " ") + map[bool]string{true: " < .poolmigrate/add-auth.json", false: ""}[stdin != ""] + "   (the real Amplify CLI, offline)")
		out, err := amp.Run(ctx, a.project, stdin, c...)
		fmt.Print(lastLines(out, 3))
		if err != nil {
			log.Fatal(err)
		}
	}
}

// pushNewPool is the simulated `amplify push` after add auth: the new pool
// (in), its identity pool, and the old auth stack's removal, which keeps
// the old identity pool only if the deployed template retained it
// (retained, read before remove auth); the demo stops when that is not
// what the flow expects (wantKept).
func (a *gen1App) pushNewPool(ctx context.Context, idp *cip.Client, in *cip.CreateUserPoolInput, retained, wantKept bool) (string, amplifysim.Auth) {
	newPool := *must(idp.CreateUserPool(ctx, in)).UserPool.Id
	if err := amplifysim.Push(a.project, "notesappauthv2", newPool); err != nil {
		log.Fatal(err)
	}
	newAuth := must(amplifysim.PushAuth(ctx, a.sim, a.project, "notesappauthv2", newPool, a.region))
	switch kept := must(amplifysim.RemoveAuth(ctx, a.sim, a.oldAuth.IdentityPoolID, retained)); {
	case kept && !wantKept:
		log.Fatalf("demo: the old identity pool %s outlived the push: the normal flow retains nothing", a.oldAuth.IdentityPoolID)
	case !kept && wantKept:
		log.Fatalf("demo: the push deleted the old identity pool %s with the old auth stack (the retain step keeps it)", a.oldAuth.IdentityPoolID)
	}
	return newPool, newAuth
}

// createModelTables makes the example's five model tables of the API
// apiID, with the Vehicle and Task indexes if indexes.
func createModelTables(ctx context.Context, ddb *dynamodb.Client, apiID string, indexes bool) {
	gsi := map[string]map[string][2]string{"Vehicle": {"byUser": {"userID", "plate"}}, "Task": {"byProject": {"project", "status#owner"}}}
	for _, m := range []string{"Note", "Vehicle", "Notebook", "UserProfile", "Task"} {
		pk := "id"
		if m == "UserProfile" {
			pk = "userId"
		}
		var ix map[string][2]string
		if indexes {
			ix = gsi[m]
		}
		createTable(ctx, ddb, m+"-"+apiID+"-dev", pk, ix)
	}
}
