package main

import (
	"context"
	"fmt"
	"log"
	"os"
	"path/filepath"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/cognitoidentity"
	cip "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider"
	ctypes "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider/types"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	dtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/poolmigrate/poolmigrate/testbed/gen2sim"
	"github.com/poolmigrate/poolmigrate/testbed/gen2synth"
	"github.com/poolmigrate/poolmigrate/testbed/testenv"
)

// gen2Demo migrates the Gen 2 example: the real Gen 2 toolchain
// synthesizes the backend after each change poolmigrate makes to
// backend.ts, and only the deploy is simulated (testbed/gen2sim: the pools,
// tables, AppSync API and stacks are created on the test bed as
// CloudFormation would, and amplify_outputs.json is written).
func gen2Demo(ctx context.Context, bin, example, work string, idp *cip.Client, ddb *dynamodb.Client, role string) {
	tc, err := gen2synth.Find()
	if err != nil {
		log.Fatal(err)
	}
	project, _ := filepath.Abs(filepath.Join(work, "gen2-app"))
	if err := os.RemoveAll(work); err != nil {
		log.Fatal(err)
	}
	if err := testenv.CopyTree(example, project); err != nil {
		log.Fatal(err)
	}
	backend := gen2synth.Backend{Namespace: "gen2notes", Name: "main", Type: "branch"}
	cfg, err := config.LoadDefaultConfig(ctx)
	if err != nil {
		log.Fatal(err)
	}
	clients := gen2sim.Clients{Cognito: idp, Dynamo: ddb, Identity: cognitoidentity.NewFromConfig(cfg), S3: s3.NewFromConfig(cfg, func(o *s3.Options) { o.UsePathStyle = true })}
	deploy := func(prev *gen2sim.Deployment) *gen2sim.Deployment {
		step("$ cdk synth --app \"npx tsx amplify/backend.ts\"   (the real Amplify Gen 2 toolchain, offline)")
		asm, err := tc.Synth(ctx, project, backend)
		if err != nil {
			log.Fatal(err)
		}
		defer asm.Remove()
		for _, p := range asm.OfType("AWS::Cognito::UserPool") {
			fmt.Printf("   user pool %s: UsernameAttributes %v, DeletionPolicy %s, UpdateReplacePolicy %s\n", p.LogicalID, p.Properties["UsernameAttributes"], p.DeletionPolicy, p.UpdateReplacePolicy)
		}
		fmt.Printf("   %d model tables in the data stacks\n", len(asm.OfType("Custom::AmplifyDynamoDBTable")))
		step("Deploying it   (simulated: what CloudFormation does, on the emulators; amplify_outputs.json written as `ampx` writes it)")
		d, err := gen2sim.Deploy(ctx, clients, asm, project, backend, prev)
		if err != nil {
			log.Fatal(err)
		}
		fmt.Printf("   user pool %s (%s); API %s; identity pool %s, its providers: %s\n", d.PoolID, d.PoolLogicalID, d.APIID, d.IdentityPoolID, identityProviders(ctx, clients.Identity, d.IdentityPoolID))
		if len(d.Orphaned) > 0 {
			fmt.Printf("   kept, with its users (the deployed template said Retain): %s\n", strings.Join(d.Orphaned, ", "))
		}
		return d
	}

	step("The Gen 2 app as `amplify gen2-migration` left it: a username pool kept by an override in amplify/backend.ts")
	d0 := deploy(nil)

	step("Planting the old pool's users: username sign-in, 10 users, groups, a disabled user, a shared e-mail, an unverified user")
	type user struct {
		name, email, verified string
		groups                []string
		disabled              bool
	}
	users := []user{
		{"alice", "alice@example.com", "true", []string{"ADMINS", "EDITORS"}, false},
		{"bob", "bob@example.com", "true", []string{"EDITORS"}, false},
		{"carol", "carol@example.com", "true", nil, false},
		{"dave", "dave@example.com", "true", nil, true},
		{"erin", "erin@example.com", "false", nil, false},
		{"frank", "frank@example.com", "true", nil, false},
		{"frank2", "Frank@Example.com", "true", nil, false},
		{"grace", "grace@example.com", "true", []string{"EDITORS"}, false},
		{"heidi", "heidi@example.com", "true", nil, false},
		{"ivan", "ivan@example.com", "true", nil, false},
	}
	subs := map[string]string{}
	for _, u := range users {
		out := must(idp.AdminCreateUser(ctx, &cip.AdminCreateUserInput{UserPoolId: aws.String(d0.PoolID), Username: aws.String(u.name), MessageAction: ctypes.MessageActionTypeSuppress,
			UserAttributes: []ctypes.AttributeType{{Name: aws.String("email"), Value: aws.String(u.email)}, {Name: aws.String("email_verified"), Value: aws.String(u.verified)}}}))
		for _, a := range out.User.Attributes {
			if *a.Name == "sub" {
				subs[u.name] = *a.Value
			}
		}
		for _, g := range u.groups {
			must(idp.AdminAddUserToGroup(ctx, &cip.AdminAddUserToGroupInput{UserPoolId: aws.String(d0.PoolID), Username: aws.String(u.name), GroupName: aws.String(g)}))
		}
		must(idp.AdminSetUserPassword(ctx, &cip.AdminSetUserPasswordInput{UserPoolId: aws.String(d0.PoolID), Username: aws.String(u.name), Password: aws.String(oldPassword(u.name)), Permanent: true}))
		if u.disabled {
			must(idp.AdminDisableUser(ctx, &cip.AdminDisableUserInput{UserPoolId: aws.String(d0.PoolID), Username: aws.String(u.name)}))
		}
	}
	step("alice, bob, carol, grace and heidi sign in to the app, get their identity ids and save files under the example's {entity_id} paths")
	var fileUsers []*fileUser
	for _, name := range []string{"alice", "bob", "carol", "grace", "heidi"} {
		fileUsers = append(fileUsers, &fileUser{name: name, oldLogin: name, oldPassword: oldPassword(name), newLogin: name + "@example.com", newPassword: newPassword(name)})
	}
	bucket, _ := d0.Storage["bucket_name"].(string)
	// Users sign in through the shim, which keeps what cognito-local does
	// not (the import's RESET_REQUIRED).
	shim := cip.NewFromConfig(cfg)
	files := newUserFiles(ctx, shim, "", bucket, []string{"private/{entity_id}/", "protected/{entity_id}/", "media/avatars/{entity_id}/"}, fileUsers)
	fmt.Printf("   bucket %s\n", bucket)
	files.plant(ctx, appSide{pool: d0.PoolID, client: d0.ClientID, identityPool: d0.IdentityPoolID})
	step("Items owned by them, as the example's resolvers write them")
	s := func(v string) dtypes.AttributeValue { return &dtypes.AttributeValueMemberS{Value: v} }
	table := func(m string) string { return m + "-" + d0.APIID + "-NONE" }
	put := func(m string, it map[string]dtypes.AttributeValue) {
		must(ddb.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String(table(m)), Item: it}))
	}
	for i, u := range users {
		next := users[(i+1)%len(users)]
		owner := subs[u.name] + "::" + u.name
		put("Note", map[string]dtypes.AttributeValue{"id": s("note-" + u.name), "title": s("A note by " + u.name), "owner": s(owner)})
		put("Comment", map[string]dtypes.AttributeValue{"id": s("comment-" + u.name), "noteId": s("note-" + next.name), "postedAt": s("2026-01-02T03:04:05.000Z"), "text": s("Nice"), "owner": s(u.name), "author": s(u.name)})
		put("Profile", map[string]dtypes.AttributeValue{"userId": s(subs[u.name]), "displayName": s(strings.ToUpper(u.name[:1]) + u.name[1:])})
		put("Board", map[string]dtypes.AttributeValue{"id": s("board-" + u.name), "name": s("Board"), "owner": s(owner), "editors": &dtypes.AttributeValueMemberL{Value: []dtypes.AttributeValue{s(subs[next.name] + "::" + next.name)}}})
		put("Invite", map[string]dtypes.AttributeValue{"id": s("invite-" + u.name), "email": s(u.email), "boardId": s("board-" + next.name)})
	}
	fmt.Printf("   Note.owner of alice: %s   Comment.owner: alice   Profile.userId: %s\n", subs["alice"]+"::alice", subs["alice"])

	// The token function (custom-auth trio) that migrate's storage step
	// and sync put on each pool runs under the emulator, started here for
	// every run that may need it.
	tr := startTokenRuntimes(ctx, os.Getenv("AWS_ENDPOINT_URL_LAMBDA"), os.Getenv("POOLMIGRATE_TESTBED_RIE"), work)
	defer tr.stop()
	flags := []string{"migrate", "--yes", "--role-arn", role, "--rate-scale", "100", "--poll", "200ms",
		"--on-duplicate", "keep-newest", "--on-unverified", "skip"}
	runEnv(bin, project, tr.env(), flags...)
	showBlock(project, "retain")
	d1 := deploy(d0)
	// Route link: the identity pool survives the swap. migrate's patch step
	// writes, beside the new-pool block, the link-window block that keeps
	// the old user pool a provider of the identity pool while users are
	// linked (removed at the end).
	runEnv(bin, project, tr.env(), flags...)
	showBlock(project, "new-pool")
	showBlock(project, "link-window")
	d2 := deploy(d1)
	runEnv(bin, project, tr.env(), flags...)

	step("Users set their passwords in the new pool   (on AWS through the reset code Cognito mails them; the test bed mails nothing, so an admin call sets them)")
	// Cognito gives a user in RESET_REQUIRED no custom-auth token, which
	// the link needs: migrate's storage step named them waiting, and the
	// sync it names links them once they have set a password (before they
	// first sign in to the app; one who signs in first gets an identity of
	// their own, whose files the link copies to the one they keep).
	resetPasswords(ctx, shim, d2.PoolID, fileUsers)
	backup := newestBackup(project, d0.PoolID)
	step("Linking each user's new login to the identity id they have: poolmigrate sync, as migrate's storage step says   (route link: the identity pool survives the swap)")
	runEnv(bin, project, append(tr.env(), "POOLMIGRATE_API_ID="+d0.APIID), "sync", "--backup", backup, "--target-pool", d2.PoolID, "--yes")
	// dave is disabled, so he cannot be linked yet: the block stays until
	// he is (or the operator accepts leaving his files), as sync says.
	step("The link-window block stays while a user waits (dave, disabled); once every user is linked, poolmigrate storage link --backend --close removes it (deploy after)")
	step("Each of them signs in to the new pool, gets their identity id from the identity pool and reads their files")
	files.read(ctx, "link", appSide{pool: d2.PoolID, client: d2.ClientID, identityPool: d2.IdentityPoolID}, true)
	storageVerify(bin, project, append(tr.env(), "POOLMIGRATE_API_ID="+d0.APIID), "link", "--backup", backup, "--target-pool", d2.PoolID, "--identity-pool", d2.IdentityPoolID)

	out := must(ddb.GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String(table("Note")), Key: map[string]dtypes.AttributeValue{"id": s("note-alice")}}))
	if v, ok := out.Item["owner"].(*dtypes.AttributeValueMemberS); ok {
		fmt.Printf("\n   Note.owner of alice, now: %s (new pool %s)\n", v.Value, d2.PoolID)
	}
	step("Done. The migrated project is in " + project + "; its state (backup, CSVs, journal) in " + filepath.Join(project, ".poolmigrate") +
		"; the old pool " + d0.PoolID + " is still there with its users until you delete it")
}

// showBlock prints the block poolmigrate wrote into backend.ts.
func showBlock(project, name string) {
	data, err := os.ReadFile(filepath.Join(project, "amplify", "backend.ts"))
	if err != nil {
		log.Fatal(err)
	}
	src := string(data)
	i, j := strings.Index(src, "// poolmigrate:begin "+name), strings.Index(src, "// poolmigrate:end "+name)
	if i < 0 || j < 0 {
		log.Fatalf("demo: no %s block in backend.ts", name)
	}
	step("amplify/backend.ts now ends with:")
	fmt.Println("   " + strings.ReplaceAll(strings.TrimRight(src[i:j+len("// poolmigrate:end "+name)], "\n"), "\n", "\n   "))
}

// identityProviders lists an identity pool's user pools and clients.
func identityProviders(ctx context.Context, c *cognitoidentity.Client, id string) string {
	d := must(c.DescribeIdentityPool(ctx, &cognitoidentity.DescribeIdentityPoolInput{IdentityPoolId: &id}))
	var out []string
	for _, p := range d.CognitoIdentityProviders {
		out = append(out, aws.ToString(p.ProviderName)+" (client "+aws.ToString(p.ClientId)+")")
	}
	return strings.Join(out, ", ")
}
