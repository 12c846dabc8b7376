package cli

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	cip "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider"
	cogtypes "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider/types"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	iamtypes "github.com/aws/aws-sdk-go-v2/service/iam/types"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	ltypes "github.com/aws/aws-sdk-go-v2/service/lambda/types"

	"github.com/poolmigrate/poolmigrate/testbed/cognitoshim"
	"github.com/poolmigrate/poolmigrate/testbed/testenv"
	"github.com/poolmigrate/poolmigrate/trigger"
	"github.com/poolmigrate/poolmigrate/trigger/deploy"
)

// triggerPools makes an old pool and a new one with the old-identity
// attributes and a custom attribute of its own.
func triggerPools(t *testing.T, env *testenv.Env) (oldPool, target string) {
	t.Helper()
	return env.NewPool(t, testenv.PoolOptions{}), env.NewPool(t, testenv.PoolOptions{Custom: []string{"prev_sub_id", "prev_username", "plan"}})
}

// deployArgs are `trigger deploy`'s arguments for two pools and a package.
func deployArgs(t *testing.T, oldPool, target string, extra ...string) []string {
	t.Helper()
	zipFile := filepath.Join(t.TempDir(), "trigger.zip")
	writeBootstrapZip(t, zipFile)
	return append([]string{"trigger", "deploy", "--old-pool", oldPool, "--target-pool", target, "--zip", zipFile, "--yes"}, extra...)
}

func functionName(target string) string {
	return "poolmigrate-migration-" + strings.ReplaceAll(target, "_", "-")
}

// nothingDeployed checks that a refused deploy changed nothing: no app
// client on the old pool, no function, no log group, no trigger.
func nothingDeployed(t *testing.T, env *testenv.Env, oldPool, target, function string) {
	t.Helper()
	ctx := context.Background()
	if cl, err := env.Cognito.ListUserPoolClients(ctx, &cip.ListUserPoolClientsInput{UserPoolId: &oldPool, MaxResults: aws.Int32(60)}); err != nil || len(cl.UserPoolClients) != 0 {
		t.Errorf("app clients on the old pool: %+v %v", cl, err)
	}
	if _, err := lambda.NewFromConfig(env.Config).GetFunction(ctx, &lambda.GetFunctionInput{FunctionName: &function}); err == nil {
		t.Errorf("function %s was created", function)
	}
	lg, err := cloudwatchlogs.NewFromConfig(env.Config).DescribeLogGroups(ctx, &cloudwatchlogs.DescribeLogGroupsInput{LogGroupNamePrefix: aws.String("/aws/lambda/" + function)})
	if err != nil || len(lg.LogGroups) != 0 {
		t.Errorf("log groups: %+v %v", lg, err)
	}
	if d, err := env.Cognito.DescribeUserPool(ctx, &cip.DescribeUserPoolInput{UserPoolId: &target}); err != nil || d.UserPool.LambdaConfig != nil && d.UserPool.LambdaConfig.UserMigration != nil {
		t.Errorf("the new pool's trigger: %v", err)
	}
}

// TestTriggerDeployRefusesWhatIsNotItsOwn: a role, function or app client
// with deploy's name that deploy did not make, as it makes them, is
// refused before anything changes; so are attributes the trigger must not
// carry or the new pool lacks.
func TestTriggerDeployRefusesWhatIsNotItsOwn(t *testing.T) {
	env := testenv.Require(t)
	env.SetLambdaTiming(t, cognitoshim.LambdaTiming{})
	ctx := context.Background()
	iamc := env.IAM()
	tags := func(old, target string) []iamtypes.Tag {
		return []iamtypes.Tag{{Key: aws.String(deploy.TagManaged), Value: aws.String("true")}, {Key: aws.String(deploy.TagOldPool), Value: aws.String(old)},
			{Key: aws.String(deploy.TagNewPool), Value: aws.String(target)}}
	}
	role := func(name, trust string, tags []iamtypes.Tag) {
		if _, err := iamc.CreateRole(ctx, &iam.CreateRoleInput{RoleName: &name, AssumeRolePolicyDocument: &trust, Tags: tags}); err != nil {
			t.Fatal(err)
		}
	}
	refused := func(name string, args []string, want ...string) {
		t.Helper()
		stdout, stderr, err := runApp(t, t.TempDir(), nil, args...)
		if err == nil {
			t.Errorf("%s: deployed\n%s%s", name, stdout, stderr)
			return
		}
		for _, w := range want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("%s: %v, want it to say %q", name, err, w)
			}
		}
	}

	// A foreign role with the tool's own name, untagged: refused, and the
	// dry run refuses it too.
	oldPool, target := triggerPools(t, env)
	role(functionName(target), testenv.LambdaTrust, nil)
	refused("a foreign role, dry run", append(deployArgs(t, oldPool, target), "--dry-run"), "IAM role "+functionName(target), "not tagged poolmigrate:managed=true")
	refused("a foreign role", deployArgs(t, oldPool, target), "IAM role "+functionName(target), "not tagged poolmigrate:managed=true", "--role NAME")
	nothingDeployed(t, env, oldPool, target, functionName(target))

	// Roles deploy made for other pools, or that allow more than deploy gives.
	oldPool, target = triggerPools(t, env)
	other := "pm-other-" + testenv.RandomSuffix()
	role(other, testenv.LambdaTrust, tags("us-east-1_Else", target))
	refused("a role for other pools", deployArgs(t, oldPool, target, "--role", other), "poolmigrate's for the pools us-east-1_Else")
	wide := "pm-wide-" + testenv.RandomSuffix()
	role(wide, `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":["lambda.amazonaws.com","ec2.amazonaws.com"]},"Action":"sts:AssumeRole"}]}`, tags(oldPool, target))
	refused("a role trusting EC2 too", deployArgs(t, oldPool, target, "--role", wide), "ec2.amazonaws.com")
	admin := "pm-admin-" + testenv.RandomSuffix()
	role(admin, deploy.LambdaTrust, tags(oldPool, target))
	if _, err := iamc.AttachRolePolicy(ctx, &iam.AttachRolePolicyInput{RoleName: &admin, PolicyArn: aws.String("arn:aws:iam::aws:policy/AdministratorAccess")}); err != nil {
		t.Fatal(err)
	}
	refused("a role with a managed policy", deployArgs(t, oldPool, target, "--role", admin), "AdministratorAccess")
	nothingDeployed(t, env, oldPool, target, functionName(target))

	// A foreign function with the tool's name.
	fnRole := testenv.CreateRole(t, iamc, "fn-"+testenv.RandomSuffix(), testenv.LambdaTrust, "")
	zip := filepath.Join(t.TempDir(), "z.zip")
	writeBootstrapZip(t, zip)
	code, _ := os.ReadFile(zip)
	if _, err := lambda.NewFromConfig(env.Config).CreateFunction(ctx, &lambda.CreateFunctionInput{FunctionName: aws.String(functionName(target)), Runtime: ltypes.RuntimeProvidedal2023,
		Handler: aws.String("bootstrap"), Role: &fnRole, Code: &ltypes.FunctionCode{ZipFile: code}}); err != nil {
		t.Fatal(err)
	}
	refused("a foreign function", deployArgs(t, oldPool, target), "function "+functionName(target)+" exists", "not tagged")

	// An app client of the tool's name with a secret and more flows.
	oldPool, target = triggerPools(t, env)
	if _, err := env.Cognito.CreateUserPoolClient(ctx, &cip.CreateUserPoolClientInput{UserPoolId: &oldPool, ClientName: aws.String(deploy.ClientName), GenerateSecret: true,
		ExplicitAuthFlows: []cogtypes.ExplicitAuthFlowsType{cogtypes.ExplicitAuthFlowsTypeAllowAdminUserPasswordAuth, cogtypes.ExplicitAuthFlowsTypeAllowUserPasswordAuth}}); err != nil {
		t.Fatal(err)
	}
	refused("a foreign app client", deployArgs(t, oldPool, target), "app client", "it has a secret", "ALLOW_USER_PASSWORD_AUTH")

	// Attributes: Cognito's own, the old identity, and ones the pool lacks.
	oldPool, target = triggerPools(t, env)
	refused("--carry sub", deployArgs(t, oldPool, target, "--carry", "email,sub"), "may not carry sub")
	refused("--carry cognito:username", deployArgs(t, oldPool, target, "--carry", "cognito:username"), "may not carry cognito:username")
	refused("--carry custom:prev_sub_id", deployArgs(t, oldPool, target, "--carry", "custom:prev_sub_id"), "may not carry custom:prev_sub_id")
	refused("--carry an unknown custom attribute", deployArgs(t, oldPool, target, "--carry", "email,custom:tenant"), "has no attribute custom:tenant")
	refused("13 days of logs", deployArgs(t, oldPool, target, "--log-retention-days", "13"), "log retention 13 days")
	nothingDeployed(t, env, oldPool, target, functionName(target))
}

// TestTriggerDeployTagsAndSettings: what deploy makes is tagged for the two
// pools, the function times out within Cognito's 5 seconds (on create and
// after an update), its log group keeps logs for the retention asked, the
// app client has no secret and only the admin flow — and a second deploy
// reuses all of it.
func TestTriggerDeployTagsAndSettings(t *testing.T) {
	t.Parallel() // own pools, tables and folders
	env := testenv.Require(t)
	ctx := context.Background()
	oldPool, target := triggerPools(t, env)
	fn := functionName(target)
	stdout, stderr, err := runApp(t, t.TempDir(), nil, deployArgs(t, oldPool, target, "--carry", "email,name,custom:plan")...)
	if err != nil {
		t.Fatalf("deploy: %v\n%s%s", err, stdout, stderr)
	}
	// A terminal shows stdout and stderr together: each step is told
	// once (as it is done, on stderr), not again in the outcome.
	for _, line := range strings.Split(stderr, "\n") {
		if line = strings.TrimSpace(line); line != "" && strings.Contains(stdout, line) {
			t.Errorf("deploy tells %q on stderr and again on stdout:\n%s%s", line, stdout, stderr)
		}
	}
	if !strings.Contains(stderr, "created function") || !strings.Contains(stdout, "Deployed: ") {
		t.Errorf("deploy's steps (stderr) and outcome (stdout):\n%s%s", stdout, stderr)
	}
	want := map[string]string{deploy.TagManaged: "true", deploy.TagOldPool: oldPool, deploy.TagNewPool: target}
	sameTags := func(what string, got map[string]string) {
		t.Helper()
		for k, v := range want {
			if got[k] != v {
				t.Errorf("%s tags %v, want %v", what, got, want)
				return
			}
		}
	}
	lc, lg := lambda.NewFromConfig(env.Config), cloudwatchlogs.NewFromConfig(env.Config)
	check := func(retention int32) {
		t.Helper()
		f, err := lc.GetFunction(ctx, &lambda.GetFunctionInput{FunctionName: &fn})
		if err != nil {
			t.Fatal(err)
		}
		sameTags("function", f.Tags)
		if aws.ToInt32(f.Configuration.Timeout) != deploy.FunctionTimeout || f.Configuration.Environment.Variables["CARRY_ATTRIBUTES"] != "email,name,custom:plan" {
			t.Errorf("function timeout %d, environment %v", aws.ToInt32(f.Configuration.Timeout), f.Configuration.Environment.Variables)
		}
		roleTags, err := env.IAM().ListRoleTags(ctx, &iam.ListRoleTagsInput{RoleName: &fn})
		if err != nil {
			t.Fatal(err)
		}
		m := map[string]string{}
		for _, tg := range roleTags.Tags {
			m[aws.ToString(tg.Key)] = aws.ToString(tg.Value)
		}
		sameTags("role", m)
		groups, err := lg.DescribeLogGroups(ctx, &cloudwatchlogs.DescribeLogGroupsInput{LogGroupNamePrefix: aws.String("/aws/lambda/" + fn)})
		if err != nil || len(groups.LogGroups) != 1 || aws.ToInt32(groups.LogGroups[0].RetentionInDays) != retention {
			t.Fatalf("log group: %+v %v, want a retention of %d days", groups, err, retention)
		}
		lt, err := lg.ListTagsForResource(ctx, &cloudwatchlogs.ListTagsForResourceInput{ResourceArn: groups.LogGroups[0].LogGroupArn})
		if err != nil {
			t.Fatal(err)
		}
		sameTags("log group", lt.Tags)
		cl, err := env.Cognito.ListUserPoolClients(ctx, &cip.ListUserPoolClientsInput{UserPoolId: &oldPool, MaxResults: aws.Int32(60)})
		if err != nil || len(cl.UserPoolClients) != 1 {
			t.Fatalf("app clients: %+v %v", cl, err)
		}
		d, err := env.Cognito.DescribeUserPoolClient(ctx, &cip.DescribeUserPoolClientInput{UserPoolId: &oldPool, ClientId: cl.UserPoolClients[0].ClientId})
		if err != nil || d.UserPoolClient.ClientSecret != nil || len(d.UserPoolClient.ExplicitAuthFlows) != 2 {
			t.Errorf("app client: %+v %v", d, err)
		}
	}
	check(deploy.DefaultLogRetentionDays)

	// Someone lengthens the timeout; the next deploy (another retention)
	// puts it back.
	if _, err := lc.UpdateFunctionConfiguration(ctx, &lambda.UpdateFunctionConfigurationInput{FunctionName: &fn, Timeout: aws.Int32(30)}); err != nil {
		t.Fatal(err)
	}
	if stdout, stderr, err := runApp(t, t.TempDir(), nil, deployArgs(t, oldPool, target, "--carry", "email,name,custom:plan", "--log-retention-days", "30")...); err != nil {
		t.Fatalf("second deploy: %v\n%s%s", err, stdout, stderr)
	}
	check(30)
}

// TestTriggerDeployRidesOutLambda: Lambda refuses a role IAM made a moment
// ago, keeps a new function Pending and an updated one InProgress, and
// answers an update meanwhile with ResourceConflictException; deploy waits
// and retries through all of it and completes.
func TestTriggerDeployRidesOutLambda(t *testing.T) {
	env := testenv.Require(t)
	env.SetLambdaTiming(t, cognitoshim.LambdaTiming{CreatePendingMS: 1500, UpdateInProgressMS: 1500, RoleDelayMS: 1500})
	ctx := context.Background()
	oldPool, target := triggerPools(t, env)
	fn := functionName(target)
	if stdout, stderr, err := runApp(t, t.TempDir(), nil, deployArgs(t, oldPool, target)...); err != nil {
		t.Fatalf("deploy: %v\n%s%s", err, stdout, stderr)
	}
	if ev := env.LambdaEvents(t, fn); ev.RoleRefusals == 0 || ev.Pending == 0 {
		t.Errorf("the first deploy rode out nothing (%+v): the test bed's Lambda is not taking its time", ev)
	}
	// An update of someone else's is under way when deploy runs again.
	if _, err := lambda.NewFromConfig(env.Config).UpdateFunctionConfiguration(ctx, &lambda.UpdateFunctionConfigurationInput{FunctionName: &fn, MemorySize: aws.Int32(512)}); err != nil {
		t.Fatal(err)
	}
	before := env.LambdaEvents(t, fn).Conflicts
	if stdout, stderr, err := runApp(t, t.TempDir(), nil, deployArgs(t, oldPool, target)...); err != nil {
		t.Fatalf("deploy during an update: %v\n%s%s", err, stdout, stderr)
	}
	if ev := env.LambdaEvents(t, fn); ev.Conflicts == before || ev.InProgress == 0 {
		t.Errorf("the second deploy met no update in progress (%+v)", ev)
	}
	if stdout, _, err := runApp(t, t.TempDir(), nil, "trigger", "status", "--old-pool", oldPool, "--target-pool", target); err != nil {
		t.Errorf("status: %v\n%s", err, stdout)
	}
}

// TestTriggerOverrideRefusesABadARN: --function-arn goes into override.ts,
// which `amplify build` runs; anything but a Lambda function ARN is
// refused and nothing is written.
func TestTriggerOverrideRefusesABadARN(t *testing.T) {
	dir := copyProject(t, "../examples/notes-app")
	override := filepath.Join(dir, "amplify/backend/auth/notesappauth/override.ts")
	base := "arn:aws:lambda:us-east-1:123456789012:function:f"
	for name, arn := range map[string]string{
		"a quote":          base + "';require('child_process').execSync('id');'",
		"a backtick":       base + "`",
		"an interpolation": base + "${process.env.AWS_SECRET_ACCESS_KEY}",
		"a line break":     base + "\n}",
		"another service":  "arn:aws:iam::123456789012:role/f",
		"a short account":  "arn:aws:lambda:us-east-1:1234:function:f",
	} {
		_, _, err := runApp(t, dir, nil, "trigger", "override", "--function-arn", arn)
		if err == nil || ExitCode(err) != 2 || !strings.Contains(err.Error(), "not a Lambda function ARN") {
			t.Errorf("%s: %v", name, err)
		}
		if _, err := os.Stat(override); err == nil {
			t.Fatalf("%s: override.ts was written", name)
		}
	}
}

// TestTriggerOverrideRefusesABadARNGen2: in a Gen 2 app the ARN goes into
// amplify/backend.ts, which every deploy runs; the same ARNs are refused
// and the file is left byte for byte.
func TestTriggerOverrideRefusesABadARNGen2(t *testing.T) {
	dir := copyGen2App(t)
	backend := filepath.Join(dir, "amplify", "backend.ts")
	before, err := os.ReadFile(backend)
	if err != nil {
		t.Fatal(err)
	}
	base := "arn:aws:lambda:us-east-1:123456789012:function:f"
	for name, arn := range map[string]string{
		"a quote":          base + "');require('child_process').execSync('id');('",
		"a backtick":       base + "`",
		"an interpolation": base + "${process.env.AWS_SECRET_ACCESS_KEY}",
		"a line break":     base + "\n}",
		"another service":  "arn:aws:iam::123456789012:role/f",
	} {
		_, _, err := runApp(t, dir, nil, "trigger", "override", "--function-arn", arn)
		if err == nil || ExitCode(err) != 2 || !strings.Contains(err.Error(), "not a Lambda function ARN") {
			t.Errorf("%s: %v", name, err)
		}
		if after, _ := os.ReadFile(backend); string(after) != string(before) {
			t.Fatalf("%s: backend.ts was changed", name)
		}
	}
}

// TestTriggerDeployReusesNothingForeign: deploy's own function, found
// again, is not reused with what someone added to it: a statement in its
// resource policy deploy did not write (another account may invoke the
// function, which sees every password) is refused and named, by deploy
// and by status; deploy's statement rewritten for everyone is put back as
// deploy writes it; and a layer (code running beside the trigger's) is
// taken off.
func TestTriggerDeployReusesNothingForeign(t *testing.T) {
	t.Parallel() // own pools, tables and folders
	env := testenv.Require(t)
	ctx := context.Background()
	oldPool, target := triggerPools(t, env)
	fn := functionName(target)
	if stdout, stderr, err := runApp(t, t.TempDir(), nil, deployArgs(t, oldPool, target)...); err != nil {
		t.Fatalf("deploy: %v\n%s%s", err, stdout, stderr)
	}
	lc := lambda.NewFromConfig(env.Config)
	layer := "arn:aws:lambda:us-east-1:111122223333:layer:sniff:1"
	if _, err := lc.UpdateFunctionConfiguration(ctx, &lambda.UpdateFunctionConfigurationInput{FunctionName: &fn, Layers: []string{layer}}); err != nil {
		t.Fatal(err)
	}
	if _, err := lc.AddPermission(ctx, &lambda.AddPermissionInput{FunctionName: &fn, StatementId: aws.String("backdoor"), Action: aws.String("lambda:InvokeFunction"), Principal: aws.String("111122223333")}); err != nil {
		t.Fatal(err)
	}
	stdout, stderr, err := runApp(t, t.TempDir(), nil, deployArgs(t, oldPool, target)...)
	if err == nil || !strings.Contains(err.Error(), "backdoor") {
		t.Fatalf("deploy over a foreign statement: %v\n%s%s", err, stdout, stderr)
	}
	status := []string{"trigger", "status", "--old-pool", oldPool, "--target-pool", target}
	if stdout, _, err := runApp(t, t.TempDir(), nil, status...); err == nil || !strings.Contains(stdout, "backdoor") {
		t.Errorf("status with a foreign statement: %v\n%s", err, stdout)
	}
	if _, err := lc.RemovePermission(ctx, &lambda.RemovePermissionInput{FunctionName: &fn, StatementId: aws.String("backdoor")}); err != nil {
		t.Fatal(err)
	}
	// deploy's own statement id, opened to everyone.
	sid := "poolmigrate-" + strings.ReplaceAll(target, "_", "-")
	if _, err := lc.RemovePermission(ctx, &lambda.RemovePermissionInput{FunctionName: &fn, StatementId: &sid}); err != nil {
		t.Fatal(err)
	}
	if _, err := lc.AddPermission(ctx, &lambda.AddPermissionInput{FunctionName: &fn, StatementId: &sid, Action: aws.String("lambda:InvokeFunction"), Principal: aws.String("*"),
		SourceArn: aws.String("arn:aws:cognito-idp:us-east-1:" + cognitoshim.TestbedAccount + ":userpool/" + target)}); err != nil {
		t.Fatal(err)
	}
	if stdout, stderr, err := runApp(t, t.TempDir(), nil, deployArgs(t, oldPool, target)...); err != nil {
		t.Fatalf("deploy: %v\n%s%s", err, stdout, stderr)
	}
	f, err := lc.GetFunction(ctx, &lambda.GetFunctionInput{FunctionName: &fn})
	if err != nil {
		t.Fatal(err)
	}
	if len(f.Configuration.Layers) != 0 {
		t.Errorf("the function kept its layers: %+v", f.Configuration.Layers)
	}
	pol, err := lc.GetPolicy(ctx, &lambda.GetPolicyInput{FunctionName: &fn})
	if err != nil || strings.Contains(aws.ToString(pol.Policy), `"Principal":"*"`) || !strings.Contains(aws.ToString(pol.Policy), "cognito-idp.amazonaws.com") {
		t.Errorf("the policy after deploy: %v %s", err, aws.ToString(pol.Policy))
	}
	if stdout, _, err := runApp(t, t.TempDir(), nil, status...); err != nil {
		t.Errorf("status: %v\n%s", err, stdout)
	}
}

// TestTriggerDeployNamesCaseCollisions: the old pool tells Alice from
// alice, the new pool does not. Deploy refuses to go on without the old
// pool's backup (nothing is made), and with it names the two and gives
// the trigger their key, so it refuses both.
func TestTriggerDeployNamesCaseCollisions(t *testing.T) {
	t.Parallel() // own pools, tables and folders
	env := testenv.Require(t)
	ctx := context.Background()
	oldPool := env.NewPool(t, testenv.PoolOptions{})
	target := env.NewPool(t, testenv.PoolOptions{Custom: []string{"prev_sub_id", "prev_username"}, CaseInsensitive: true})
	env.Seed(t, oldPool, nil, []testenv.SeedUser{
		{Username: "Alice", Attrs: map[string]string{"email": "a1@example.com", "email_verified": "true"}},
		{Username: "alice", Attrs: map[string]string{"email": "a2@example.com", "email_verified": "true"}},
		{Username: "bob", Attrs: map[string]string{"email": "b@example.com", "email_verified": "true"}},
	})
	dir := t.TempDir()
	backup := filepath.Join(dir, "old.jsonl")
	if stdout, stderr, err := runApp(t, dir, nil, "backup", "--pool", oldPool, "--out", backup); err != nil {
		t.Fatalf("backup: %v\n%s%s", err, stdout, stderr)
	}
	// check names them too, from the backup.
	stdout, stderr, err := runApp(t, dir, nil, "check", "--backup", backup, "--target-pool", target)
	if !strings.Contains(stdout+stderr, "DUPLICATE_USERNAME") || !strings.Contains(stdout+stderr, "Alice") || !strings.Contains(stdout+stderr, "alice") {
		t.Errorf("check does not name Alice and alice: %v\n%s%s", err, stdout, stderr)
	}
	fn := functionName(target)
	stdout, stderr, err = runApp(t, dir, nil, deployArgs(t, oldPool, target)...)
	if err == nil || !strings.Contains(err.Error(), "--backup") {
		t.Fatalf("deploy without the backup: %v\n%s%s", err, stdout, stderr)
	}
	nothingDeployed(t, env, oldPool, target, fn)
	stdout, stderr, err = runApp(t, dir, nil, deployArgs(t, oldPool, target, "--backup", backup)...)
	if err != nil {
		t.Fatalf("deploy: %v\n%s%s", err, stdout, stderr)
	}
	if !strings.Contains(stderr, "  Alice, alice\n") || strings.Contains(stderr, "bob") {
		t.Errorf("deploy does not name the colliding users:\n%s", stderr)
	}
	f, err := lambda.NewFromConfig(env.Config).GetFunction(ctx, &lambda.GetFunctionInput{FunctionName: &fn})
	if err != nil {
		t.Fatal(err)
	}
	if got := f.Configuration.Environment.Variables["CASE_COLLISIONS"]; got != trigger.CaseKey("alice") {
		t.Errorf("CASE_COLLISIONS=%q, want %q", got, trigger.CaseKey("alice"))
	}
}

// TestTriggerDeployRefusesSomeoneElsesLogGroup: a log group of the
// function's name that deploy did not make (someone else reads it, or
// forwards it) is refused before anything is made, not tagged and taken.
func TestTriggerDeployRefusesSomeoneElsesLogGroup(t *testing.T) {
	env := testenv.Require(t)
	ctx := context.Background()
	oldPool, target := triggerPools(t, env)
	fn := functionName(target)
	lg := cloudwatchlogs.NewFromConfig(env.Config)
	if _, err := lg.CreateLogGroup(ctx, &cloudwatchlogs.CreateLogGroupInput{LogGroupName: aws.String("/aws/lambda/" + fn), Tags: map[string]string{"team": "other"}}); err != nil {
		t.Fatal(err)
	}
	stdout, stderr, err := runApp(t, t.TempDir(), nil, deployArgs(t, oldPool, target)...)
	if err == nil || !strings.Contains(err.Error(), "log group /aws/lambda/"+fn) {
		t.Fatalf("deploy over someone else's log group: %v\n%s%s", err, stdout, stderr)
	}
	if _, err := lambda.NewFromConfig(env.Config).GetFunction(ctx, &lambda.GetFunctionInput{FunctionName: &fn}); err == nil {
		t.Errorf("function %s was created", fn)
	}
	arn := "arn:aws:logs:us-east-1:" + cognitoshim.TestbedAccount + ":log-group:/aws/lambda/" + fn
	if tags, err := lg.ListTagsForResource(ctx, &cloudwatchlogs.ListTagsForResourceInput{ResourceArn: &arn}); err != nil || tags.Tags[deploy.TagManaged] != "" {
		t.Errorf("the log group's tags: %v %v", tags, err)
	}
}
