package main

import (
	"context"
	"fmt"
	"log"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/cognitoidentity"
	cip "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider"
	ctypes "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider/types"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	dtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/poolmigrate/poolmigrate/testbed/amplifysim"
	"github.com/poolmigrate/poolmigrate/testbed/cognitoshim"
	"github.com/poolmigrate/poolmigrate/testbed/testenv"
)

// keepPasswords is the demo of the user migration trigger: users sign in
// to the new pool with their old passwords. A cognito-local of its own
// has its UserMigration trigger at the AWS Lambda Runtime Interface
// Emulator, which runs the trigger as `poolmigrate trigger deploy` deployed
// it (its environment read back through the Lambda API of the project's
// Cognito shim, which runs in this process in front of that cognito-local).
func keepPasswords(ctx context.Context, bin, example, work, amplifyBin, rie string, ddb *dynamodb.Client) {
	if rie == "" {
		log.Fatal("demo: the Lambda Runtime Interface Emulator is missing: run scripts/demo.sh --keep-passwords (the test bed builds it)")
	}
	// Commands run in the project's folder: every path must be absolute.
	work, err := filepath.Abs(work)
	if err != nil {
		log.Fatal(err)
	}
	if err := os.RemoveAll(work); err != nil {
		log.Fatal(err)
	}
	riePort, apiPort := freePort(), freePort()
	rieURL := fmt.Sprintf("http://127.0.0.1:%d", riePort)
	// cognito-local reaches the emulator through testenv.AssignSub, which
	// gives the users the trigger brings over the sub AWS would.
	subLn, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		log.Fatal(err)
	}
	go func() { _ = http.Serve(subLn, testenv.AssignSub(rieURL)) }()
	local, stop, err := testenv.StartCognitoLocalProcess(filepath.Join(work, "cognito-local"), map[string]any{
		"TriggerFunctions": map[string]string{"UserMigration": "function"},
		"LambdaClient":     map[string]any{"endpoint": "http://" + subLn.Addr().String(), "region": "us-east-1", "credentials": map[string]string{"accessKeyId": "local", "secretAccessKey": "local"}},
	}, nil)
	if err != nil {
		log.Fatal(err)
	}
	defer stop()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		log.Fatal(err)
	}
	shim := "http://" + ln.Addr().String()
	// The key cognito-local signs its tokens with: the shim signs the
	// tokens of custom sign-ins (`storage copy`'s token function) with it.
	tokenKey, err := os.ReadFile(filepath.Join("testbed", "emulators", "node_modules", "cognito-local", "lib", "keys", "cognitoLocal.private.json"))
	if err != nil {
		log.Fatalf("demo: cognito-local's token key: %v (run scripts/demo.sh, which installs it)", err)
	}
	go func() {
		_ = http.Serve(ln, cognitoshim.New(local, cognitoshim.WithLogger(func(string, ...any) {}), cognitoshim.WithTokenKey(tokenKey)))
	}()
	env := []string{"AWS_ENDPOINT_URL_COGNITO_IDENTITY_PROVIDER=" + shim, "AWS_ENDPOINT_URL_LAMBDA=" + shim, "AWS_ENDPOINT_URL_IAM=" + shim, "AWS_ENDPOINT_URL_STS=" + shim,
		"AWS_ENDPOINT_URL_COGNITO_IDENTITY=" + shim, "AWS_ENDPOINT_URL_CLOUDWATCH_LOGS=" + shim}
	cfg, err := config.LoadDefaultConfig(ctx)
	if err != nil {
		log.Fatal(err)
	}
	idp := cip.NewFromConfig(cfg, func(o *cip.Options) { o.BaseEndpoint = aws.String(local) })

	step("Planting the old user pool (username sign-in): alice, bob and carol with their passwords, dave disabled")
	oldPool := *must(idp.CreateUserPool(ctx, &cip.CreateUserPoolInput{PoolName: aws.String("notes-old"), AutoVerifiedAttributes: []ctypes.VerifiedAttributeType{ctypes.VerifiedAttributeTypeEmail}})).UserPool.Id
	passwords := map[string]string{"alice": "Alice-Old-Pass1!", "bob": "Bob-Old-Pass1!", "carol": "Carol-Old-Pass1!", "dave": "Dave-Old-Pass1!"}
	subs := map[string]string{}
	for _, name := range []string{"alice", "bob", "carol", "dave"} {
		subs[name] = createUser(ctx, idp, oldPool, user{name: name, email: name + "@example.com", verified: "true", disabled: name == "dave"}, passwords[name])
	}

	step("Copying " + example + " to " + work + ", with a table of notes owned by the old users")
	const apiID = "keepapi"
	sim := amplifysim.Clients{Cognito: idp, Identity: cognitoidentity.NewFromConfig(cfg, func(o *cognitoidentity.Options) { o.BaseEndpoint = aws.String(shim) }),
		S3: s3.NewFromConfig(cfg, func(o *s3.Options) { o.UsePathStyle = true })}
	app := newGen1App(example, work, oldPool, apiID, sim, cfg.Region)
	project := app.project
	_ = os.Remove(filepath.Join(project, "amplify/.config/local-aws-info.json"))
	table := "Note-" + apiID + "-dev"
	createModelTables(ctx, ddb, apiID, false)
	for name, sub := range subs {
		must(ddb.PutItem(ctx, &dynamodb.PutItemInput{TableName: &table, Item: map[string]dtypes.AttributeValue{
			"id": &dtypes.AttributeValueMemberS{Value: "note-" + name}, "owner": &dtypes.AttributeValueMemberS{Value: sub + "::" + name}}}))
	}

	step("The app's identity pool and storage bucket, as the first `amplify push` made them; alice and bob save files under their identity ids")
	app.firstPush(ctx, oldPool)
	oldAuth := app.oldAuth
	var fileUsers []*fileUser
	for _, name := range []string{"alice", "bob"} {
		// With the user migration trigger, users keep their passwords.
		fileUsers = append(fileUsers, &fileUser{name: name, oldLogin: name, oldPassword: passwords[name], newLogin: name + "@example.com", newPassword: passwords[name]})
	}
	files := app.plantFiles(ctx, idp, shim, oldPool, fileUsers)

	// `poolmigrate migrate --keep-passwords`, run as a user runs it: each
	// run goes as far as it can and says what to do next. Its storage-ids
	// step signs each old user in through the tool's token function, which
	// the emulator runs wherever the tool puts it.
	tr := startTokenRuntimes(ctx, shim, rie, work)
	defer tr.stop()
	menv := append(env, tr.env()...)
	arch := runtime.GOARCH // the emulator runs the trigger on this machine
	wd, _ := os.Getwd()
	runEnv(bin, wd, env, "trigger", "build", "--arch", arch, "--out", filepath.Join(work, "trigger"))
	// --retained: the test bed has no CloudFormation for retain-pool
	// --check to read the deployed stack from; the push below keeps the
	// old pools as the Retain policy does.
	flags := []string{"migrate", "--keep-passwords", "--yes", "--retained", "--zip", filepath.Join(work, "trigger", "migration-trigger.zip"),
		"--on-duplicate", "keep-newest", "--on-unverified", "skip"}
	step("$ poolmigrate migrate --keep-passwords   (plan, backup, storage-ids: the old identity ids; retain: the old pool survives the push)")
	runEnv(bin, project, menv, flags...)
	retained := must(amplifysim.IdentityPoolRetained(project, "notesappauth"))
	step("$ amplify push   (simulated: it deploys only the Retain policy)   and migrate again")
	runEnv(bin, project, menv, flags...)

	app.replaceAuth(ctx, app.amplify(ctx, amplifyBin, work))
	runEnv(bin, project, menv, flags...)

	step("$ amplify push   (simulated: the new pool, signing in by e-mail; the old one is retained)")
	newPool, newAuth := app.pushNewPool(ctx, idp, &cip.CreateUserPoolInput{PoolName: aws.String("notes-new"),
		UsernameAttributes:     []ctypes.UsernameAttributeType{ctypes.UsernameAttributeTypeEmail},
		AutoVerifiedAttributes: []ctypes.VerifiedAttributeType{ctypes.VerifiedAttributeTypeEmail}}, retained, true)
	appClient, newIdentityPool := newAuth.WebClientID, newAuth.IdentityPoolID
	fmt.Printf("   new identity pool %s; the old one, %s, kept (retain)\n", newIdentityPool, oldAuth.IdentityPoolID)
	step("$ poolmigrate migrate   (check, the user migration trigger deployed, the window opens)")
	runEnv(bin, project, menv, flags...)
	backup := newestBackup(project, oldPool)

	// The function as deployed, under the emulator.
	lc := lambda.NewFromConfig(cfg, func(o *lambda.Options) { o.BaseEndpoint = aws.String(shim) })
	fn := must(lc.GetFunction(ctx, &lambda.GetFunctionInput{FunctionName: aws.String("poolmigrate-migration-" + strings.ReplaceAll(newPool, "_", "-"))}))
	rieCmd := exec.Command(rie, "--runtime-interface-emulator-address", fmt.Sprintf("127.0.0.1:%d", riePort), "--runtime-api-address", fmt.Sprintf("127.0.0.1:%d", apiPort), filepath.Join(work, "trigger", "bootstrap"))
	// The trigger reaches the old pool through the shim, which answers
	// AdminInitiateAuth as AWS does (challenges for MFA and temporary
	// passwords), not through cognito-local, which hands out tokens.
	rieCmd.Env = append(os.Environ(), "AWS_ENDPOINT_URL_COGNITO_IDENTITY_PROVIDER="+shim)
	for k, v := range fn.Configuration.Environment.Variables {
		rieCmd.Env = append(rieCmd.Env, k+"="+v)
	}
	if err := rieCmd.Start(); err != nil {
		log.Fatal(err)
	}
	defer func() { _ = rieCmd.Process.Kill(); _ = rieCmd.Wait() }()

	signIn := func(user, password string) {
		out, err := idp.InitiateAuth(ctx, &cip.InitiateAuthInput{ClientId: &appClient, AuthFlow: ctypes.AuthFlowTypeUserPasswordAuth,
			AuthParameters: map[string]string{"USERNAME": user, "PASSWORD": password}})
		if err != nil {
			// cognito-local answers a trigger's refusal with HTTP 500;
			// AWS answers NotAuthorizedException.
			fmt.Printf("   refused (cognito-local says %s; AWS says NotAuthorizedException)\n", shortErr(err))
			return
		}
		fmt.Printf("   signed in: the new pool issued tokens (access token %d bytes)\n", len(aws.ToString(out.AuthenticationResult.AccessToken)))
	}
	step("bob signs in to the NEW pool, by e-mail, with his OLD password")
	signIn("bob@example.com", passwords["bob"])
	step("carol tries a wrong password; dave is disabled in the old pool")
	signIn("carol@example.com", "not-her-password")
	signIn("dave@example.com", passwords["dave"])

	step("While the window is open: sync the users migrated so far (bob's files move to his new identity id), see how far it is")
	runEnv(bin, project, menv, "sync", "--backup", backup, "--target-pool", newPool, "--yes")
	runEnv(bin, project, menv, "verify", "--backup", backup, "--target-pool", newPool, "--progress")

	step("alice signs in to the NEW pool with her OLD password")
	signIn("alice@example.com", passwords["alice"])

	// Users the trigger brought over have their passwords (no
	// RESET_REQUIRED): the next sync, as the window's message says to run
	// (from cron), moves their files too.
	step("The next sync moves alice's files to her new identity id   (route copy: old identity ids taken before the push)")
	runEnv(bin, project, menv, "sync", "--backup", backup, "--target-pool", newPool, "--yes")
	step("alice and bob sign in to the new pool, get their identity ids from the new identity pool and read their files")
	files.read(ctx, "copy", appSide{pool: newPool, client: appClient, identityPool: newIdentityPool}, false)
	storageVerify(bin, project, menv, "copy", "--backup", backup, "--target-pool", newPool, "--old-identity-pool", oldAuth.IdentityPoolID, "--new-identity-pool", newIdentityPool)
	fmt.Printf("\nTo close the window: `poolmigrate migrate --close-window` imports the users who never signed in, syncs, verifies, removes the trigger and retires the old pool (see docs/keep-passwords.md). The project is in %s.\n", project)
}

func runEnv(bin, dir string, env []string, args ...string) {
	if err := runEnvErr(bin, dir, env, args...); err != nil {
		log.Fatalf("demo: poolmigrate %s: %v", args[0], err)
	}
}

func runEnvErr(bin, dir string, env []string, args ...string) error {
	fmt.Printf("\n$ poolmigrate %s\n", strings.Join(args, " "))
	cmd := exec.Command(bin, args...)
	cmd.Dir, cmd.Stdout, cmd.Stderr = dir, os.Stdout, os.Stderr
	cmd.Env = append(os.Environ(), env...)
	return cmd.Run()
}

func freePort() int {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		log.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

func shortErr(err error) string {
	s := err.Error()
	if i := strings.LastIndex(s, ": "); i >= 0 {
		return s[i+2:]
	}
	return s
}
