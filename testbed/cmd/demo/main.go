// Command demo runs the whole user pool migration of the example Amplify
// project on the test bed: it plants an "old" pool with realistic users and
// tables of owner data, then drives `poolmigrate migrate`, running in
// between what the user runs with the real Amplify CLI (offline: remove
// auth, add auth --headless, status, gql-compile). Only `amplify push` is
// simulated (it needs AWS): the new pool, its identity pool and the storage
// bucket are created on the test bed, and the old pools deleted. Users
// save files under their identity ids before the move and read them back
// after it (issue #22): migrate's storage-ids and storage steps, and the
// sync its storage step names once users have set their passwords.
// Start the test bed first; scripts/demo.sh does everything.
package main

import (
	"context"
	"flag"
	"fmt"
	"log"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/cognitoidentity"
	cip "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider"
	ctypes "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider/types"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	dtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/poolmigrate/poolmigrate/testbed/amplifysim"
)

const apiID = "d3m0api"

type user struct {
	name, email, verified string
	groups                []string
	disabled              bool
}

func main() {
	bin := flag.String("bin", "bin/poolmigrate", "the poolmigrate binary")
	example := flag.String("example", "examples/notes-app", "the example project")
	amplifyBin := flag.String("amplify", "", "the Amplify CLI (scripts/amplify-cli.sh installs it)")
	keep := flag.Bool("keep-passwords", false, "the demo of the user migration trigger: users keep their passwords")
	rie := flag.String("rie", os.Getenv("POOLMIGRATE_TESTBED_RIE"), "the Lambda Runtime Interface Emulator (the test bed builds it)")
	work := flag.String("work", ".demo", "where the copy of the project goes")
	gen2 := flag.Bool("gen2", false, "the demo of an Amplify Gen 2 app (-example examples/gen2-app)")
	flag.Parse()
	log.SetFlags(0)
	ctx := context.Background()
	cfg, err := config.LoadDefaultConfig(ctx)
	if err != nil {
		log.Fatal(err)
	}
	local := os.Getenv("POOLMIGRATE_TESTBED_COGNITO_LOCAL")
	if local == "" || os.Getenv("AWS_ENDPOINT_URL_DYNAMODB") == "" {
		log.Fatal("demo: the test bed is not running: run scripts/demo.sh (or testbed/testbed.sh up; source .testbed/env)")
	}
	idp := cip.NewFromConfig(cfg, func(o *cip.Options) { o.BaseEndpoint = aws.String(local) })
	ddb := dynamodb.NewFromConfig(cfg, func(o *dynamodb.Options) { o.DisableValidateResponseChecksum = true })
	binPath, _ := filepath.Abs(*bin)
	if *keep {
		keepPasswords(ctx, binPath, *example, *work, *amplifyBin, *rie, ddb)
		return
	}
	if *gen2 {
		gen2Demo(ctx, binPath, *example, *work, idp, ddb, importRole(ctx, cfg))
		return
	}

	step("Planting the old user pool: username sign-in, 12 users, 2 groups, a disabled user, a shared e-mail, an unverified user")
	oldPool := must(idp.CreateUserPool(ctx, &cip.CreateUserPoolInput{PoolName: aws.String("notes-old"), AutoVerifiedAttributes: []ctypes.VerifiedAttributeType{ctypes.VerifiedAttributeTypeEmail}})).UserPool.Id
	for _, g := range []string{"Admin", "Editors"} {
		must(idp.CreateGroup(ctx, &cip.CreateGroupInput{UserPoolId: oldPool, GroupName: aws.String(g), Description: aws.String(g + " of the notes app")}))
	}
	users := []user{
		{"alice", "alice@example.com", "true", []string{"Admin", "Editors"}, false},
		{"bob", "bob@example.com", "true", []string{"Editors"}, false},
		{"carol", "carol@example.com", "true", nil, false},
		{"dave", "dave@example.com", "true", nil, true},
		{"erin", "erin@example.com", "false", nil, false},
		{"frank", "frank@example.com", "true", nil, false},
		{"frank2", "Frank@Example.com", "true", nil, false},
		{"grace", "grace@example.com", "true", []string{"Editors"}, false},
		{"heidi", "heidi@example.com", "true", nil, false},
		{"ivan", "ivan@example.com", "true", nil, false},
		{"judy", "judy@example.com", "true", nil, false},
		{"mallory", "mallory@example.com", "true", nil, false},
	}
	subs := map[string]string{}
	for _, u := range users {
		subs[u.name] = createUser(ctx, idp, *oldPool, u, oldPassword(u.name))
	}

	// Two users sign in with Google and one with Facebook: their accounts
	// were made by their first sign-in through the provider (the shim
	// does what Cognito does; no API makes such a user).
	shim := cip.NewFromConfig(cfg)
	federatedUsers := plantFederated(ctx, shim, *oldPool, subs)
	users = append(users, federatedUsers...)

	step("Copying " + *example + " to " + *work + " and pointing it at the old pool")
	sim := amplifysim.Clients{Cognito: shim, Identity: cognitoidentity.NewFromConfig(cfg), S3: s3.NewFromConfig(cfg, func(o *s3.Options) { o.UsePathStyle = true })}
	if err := os.RemoveAll(*work); err != nil {
		log.Fatal(err)
	}
	app := newGen1App(*example, *work, *oldPool, apiID, sim, cfg.Region)
	project := app.project
	step("The app's identity pool and storage bucket, as the first `amplify push` made them   (simulated: on the test bed's Cognito Identity and S3)")
	app.firstPush(ctx, *oldPool)
	oldAuth := app.oldAuth
	fmt.Printf("   identity pool %s (user pool %s), bucket %s\n", oldAuth.IdentityPoolID, *oldPool, app.bucket)
	step("alice, bob, carol, grace and heidi sign in to the app, get their identity ids and save files under private/ and protected/")
	fileUsers := []*fileUser{}
	for _, name := range []string{"alice", "bob", "carol", "grace", "heidi"} {
		fileUsers = append(fileUsers, &fileUser{name: name, oldLogin: name, oldPassword: oldPassword(name), newLogin: name + "@example.com", newPassword: newPassword(name)})
	}
	files := app.plantFiles(ctx, shim, "", *oldPool, fileUsers)
	amp := app.amplify(ctx, *amplifyBin, *work)

	step("Creating the API's tables in DynamoDB Local, with items owned by the old users")
	s := func(v string) dtypes.AttributeValue { return &dtypes.AttributeValueMemberS{Value: v} }
	table := func(model string) string { return model + "-" + apiID + "-dev" }
	createModelTables(ctx, ddb, apiID, true)
	put := func(tb string, it map[string]dtypes.AttributeValue) {
		must(ddb.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String(tb), Item: it}))
	}
	items := 0
	for i, u := range users {
		owner := subs[u.name] + "::" + u.name
		for n := 0; n < 3; n++ {
			put(table("Note"), map[string]dtypes.AttributeValue{"id": s(fmt.Sprintf("note-%s-%d", u.name, n)), "owner": s(owner), "title": s("A note by " + u.name)})
		}
		put(table("Vehicle"), map[string]dtypes.AttributeValue{"id": s("car-" + u.name), "userID": s(subs[u.name]), "plate": s(fmt.Sprintf("NT-%03d", i))})
		put(table("UserProfile"), map[string]dtypes.AttributeValue{"userId": s(subs[u.name]), "displayName": s(strings.ToUpper(u.name[:1]) + u.name[1:])})
		next := users[(i+1)%len(users)].name
		put(table("Notebook"), map[string]dtypes.AttributeValue{"id": s("book-" + u.name), "owner": s(owner), "name": s("Notebook"), "editors": &dtypes.AttributeValueMemberL{Value: []dtypes.AttributeValue{s(next)}}})
		put(table("Task"), map[string]dtypes.AttributeValue{"id": s("task-" + u.name), "project": s("launch"), "status": s("open"), "owner": s(owner), "status#owner": s("open#" + owner)})
		items += 7
	}
	fmt.Printf("   %d items in 5 tables\n", items)

	// The users' files (route copy: the push deletes the old identity
	// pool). migrate's storage-ids step signs each user in to the old pool
	// through the tool's token function, before the push, and records
	// their old identity ids; its storage step and each sync copy the
	// files of those who can sign in to the new pool. The emulator runs
	// the token function wherever the tool puts it.
	tr := startTokenRuntimes(ctx, os.Getenv("AWS_ENDPOINT_URL_LAMBDA"), *rie, *work)
	defer tr.stop()
	flags := []string{"migrate", "--yes", "--role-arn", importRole(ctx, cfg), "--rate-scale", "100", "--poll", "200ms"}
	runEnv(binPath, project, tr.env(), flags...)
	// CloudFormation deletes the auth stack with the policies of the
	// template deployed before `amplify remove auth`.
	retained := must(amplifysim.IdentityPoolRetained(project, "notesappauth"))

	app.replaceAuth(ctx, amp)
	runEnv(binPath, project, tr.env(), flags...)
	step("$ amplify status && amplify api gql-compile   (the real CLI accepts the patched project)")
	for _, c := range [][]string{{"status"}, {"api", "gql-compile"}} {
		out, err := amp.Run(ctx, project, "", c...)
		if err != nil {
			log.Fatal(err)
		}
		fmt.Print(lastLines(out, 2))
	}

	step("$ amplify push   (simulated: the new pool and identity pool are created on the test bed; the old ones are deleted with the old auth stack)")
	newPool, newAuth := app.pushNewPool(ctx, idp, &cip.CreateUserPoolInput{PoolName: aws.String("notes-new"),
		UsernameAttributes:     []ctypes.UsernameAttributeType{ctypes.UsernameAttributeTypeEmail},
		AutoVerifiedAttributes: []ctypes.VerifiedAttributeType{ctypes.VerifiedAttributeTypeEmail},
		UsernameConfiguration:  &ctypes.UsernameConfigurationType{CaseSensitive: aws.Bool(false)}}, retained, false)
	must(idp.DeleteUserPool(ctx, &cip.DeleteUserPoolInput{UserPoolId: oldPool}))
	fmt.Printf("   new identity pool %s (user pool %s); the old user pool %s and identity pool %s deleted (storage-ids took the old identity ids before)\n", newAuth.IdentityPoolID, newPool, *oldPool, oldAuth.IdentityPoolID)
	step("$ amplify update auth   (simulated: \"Add/Edit social providers\": Google and Facebook, their client ids and secrets entered again, as the add-auth report says)")
	addProviders(ctx, shim, newPool)
	runEnv(binPath, project, tr.env(), flags...)

	step("The check above blocks on the shared e-mail and the unverified user; deciding with export's policies:")
	runEnv(binPath, project, tr.env(), append(flags, "--on-duplicate", "keep-newest", "--on-unverified", "skip")...)
	signInThroughGoogle(ctx, ddb, newPool, table("Note"))

	// The import leaves users in RESET_REQUIRED, and Cognito gives such a
	// user no custom-auth token, which the copy needs to learn their new
	// identity id: migrate's storage step named them waiting, and the
	// sync it names moves their files once they have set a password.
	step("Users set their passwords in the new pool   (on AWS through the reset code Cognito mails them; the test bed mails nothing, so an admin call sets them)")
	resetPasswords(ctx, shim, newPool, fileUsers)
	step("Moving the files of the users who can sign in now: poolmigrate sync, as migrate's storage step says   (route copy: old identity ids taken before the push)")
	backup := newestBackup(project, *oldPool)
	runEnv(binPath, project, tr.env(), "sync", "--backup", backup, "--target-pool", newPool, "--yes")
	step("Each of them signs in to the new pool, gets their identity id from the new identity pool and reads their files")
	files.read(ctx, "copy", appSide{pool: newPool, client: newAuth.WebClientID, identityPool: newAuth.IdentityPoolID}, false)
	storageVerify(binPath, project, tr.env(), "copy", "--backup", backup, "--target-pool", newPool, "--old-identity-pool", oldAuth.IdentityPoolID, "--new-identity-pool", newAuth.IdentityPoolID)
	step("Done. The migrated project is in " + project + "; its state (backup, CSVs, journal) in " + filepath.Join(project, ".poolmigrate"))
}

func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return "   " + strings.Join(lines, "\n   ") + "\n"
}

func step(msg string) { fmt.Printf("\n\033[1m==> %s\033[0m\n", msg) }

func must[T any](v T, err error) T {
	if err != nil {
		log.Fatalf("demo: %v", err)
	}
	return v
}

func replace(path, old, new string) {
	data, err := os.ReadFile(path)
	if err != nil {
		log.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(strings.ReplaceAll(string(data), old, new)), 0o644); err != nil {
		log.Fatal(err)
	}
}

func createTable(ctx context.Context, ddb *dynamodb.Client, name, pk string, gsi map[string][2]string) {
	_, _ = ddb.DeleteTable(ctx, &dynamodb.DeleteTableInput{TableName: &name})
	attrs := map[string]bool{pk: true}
	in := &dynamodb.CreateTableInput{TableName: &name, BillingMode: dtypes.BillingModePayPerRequest,
		KeySchema: []dtypes.KeySchemaElement{{AttributeName: aws.String(pk), KeyType: dtypes.KeyTypeHash}}}
	for ix, k := range gsi {
		attrs[k[0]], attrs[k[1]] = true, true
		in.GlobalSecondaryIndexes = append(in.GlobalSecondaryIndexes, dtypes.GlobalSecondaryIndex{IndexName: aws.String(ix),
			KeySchema:  []dtypes.KeySchemaElement{{AttributeName: aws.String(k[0]), KeyType: dtypes.KeyTypeHash}, {AttributeName: aws.String(k[1]), KeyType: dtypes.KeyTypeRange}},
			Projection: &dtypes.Projection{ProjectionType: dtypes.ProjectionTypeAll}})
	}
	for a := range attrs {
		in.AttributeDefinitions = append(in.AttributeDefinitions, dtypes.AttributeDefinition{AttributeName: aws.String(a), AttributeType: dtypes.ScalarAttributeTypeS})
	}
	must(ddb.CreateTable(ctx, in))
}

// importRole makes the import job's CloudWatch Logs role in the test
// bed's IAM, as an operator makes it once in their account (docs/steps.md): the
// shim, like Cognito, accepts no role it does not know.
func importRole(ctx context.Context, cfg aws.Config) string {
	const name = "poolmigrate-demo-import-logs"
	c := iam.NewFromConfig(cfg)
	trust := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"cognito-idp.amazonaws.com"},"Action":"sts:AssumeRole"}]}`
	policy := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["logs:CreateLogGroup","logs:CreateLogStream","logs:DescribeLogStreams","logs:PutLogEvents"],"Resource":["arn:aws:logs:*:*:log-group:/aws/cognito/*"]}]}`
	var arn string
	if out, err := c.GetRole(ctx, &iam.GetRoleInput{RoleName: aws.String(name)}); err == nil {
		arn = *out.Role.Arn
	} else {
		arn = *must(c.CreateRole(ctx, &iam.CreateRoleInput{RoleName: aws.String(name), AssumeRolePolicyDocument: aws.String(trust)})).Role.Arn
	}
	must(c.PutRolePolicy(ctx, &iam.PutRolePolicyInput{RoleName: aws.String(name), PolicyName: aws.String("logs"), PolicyDocument: aws.String(policy)}))
	return arn
}

func oldPassword(name string) string { return "Old-" + name + "-Pass1!" }

func newPassword(name string) string { return "New-" + name + "-Pass1!" }

// resetPasswords sets a new password for every user of the pool still in
// RESET_REQUIRED (the import's state), as each user does through the
// reset code: the file users get theirs (newPassword), the others one the
// demo does not use.
func resetPasswords(ctx context.Context, c *cip.Client, pool string, fileUsers []*fileUser) {
	mine := map[string]string{}
	for _, u := range fileUsers {
		mine[u.newLogin] = u.newPassword
	}
	n := 0
	p := cip.NewListUsersPaginator(c, &cip.ListUsersInput{UserPoolId: &pool})
	for p.HasMorePages() {
		for _, u := range must(p.NextPage(ctx)).Users {
			if u.UserStatus != ctypes.UserStatusTypeResetRequired {
				continue
			}
			email := ""
			for _, a := range u.Attributes {
				if aws.ToString(a.Name) == "email" {
					email = aws.ToString(a.Value)
				}
			}
			pw, ok := mine[email]
			if !ok {
				pw = newPassword(strings.SplitN(email, "@", 2)[0] + "-other")
			}
			must(c.AdminSetUserPassword(ctx, &cip.AdminSetUserPasswordInput{UserPoolId: &pool, Username: u.Username, Password: aws.String(pw), Permanent: true}))
			n++
		}
	}
	fmt.Printf("   %d users set a new password\n", n)
}

// newestBackup is the backup migrate made of the old pool.
func newestBackup(project, pool string) string {
	matches, _ := filepath.Glob(filepath.Join(project, ".poolmigrate", "backups", pool+"-*.jsonl"))
	if len(matches) == 0 {
		log.Fatalf("demo: no backup of %s in %s", pool, filepath.Join(project, ".poolmigrate", "backups"))
	}
	sort.Strings(matches)
	abs, err := filepath.Abs(matches[len(matches)-1])
	if err != nil {
		log.Fatal(err)
	}
	return abs
}
