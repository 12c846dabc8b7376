package deploy_test

import (
	"archive/zip"
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	cip "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider"
	ctypes "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider/types"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	ltypes "github.com/aws/aws-sdk-go-v2/service/lambda/types"

	"github.com/poolmigrate/poolmigrate/testbed/testenv"
	"github.com/poolmigrate/poolmigrate/tokenmint"
	"github.com/poolmigrate/poolmigrate/tokenmint/deploy"
	"github.com/poolmigrate/poolmigrate/trigger"
)

type fixture struct {
	bed  *testenv.CustomAuthBed
	apis deploy.APIs
	env  *testenv.Env
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	env := testenv.Require(t)
	bed := env.CustomAuthBed(t)
	logs := cloudwatchlogs.NewFromConfig(bed.Config, func(o *cloudwatchlogs.Options) { o.BaseEndpoint = aws.String(bed.URL) })
	return &fixture{bed: bed, env: env, apis: deploy.APIs{Cognito: bed.Cognito, Lambda: bed.Lambda, IAM: bed.IAM, Logs: logs}}
}

func options(pool string, zip []byte, run *tokenmint.Run) deploy.Options {
	return deploy.Options{Pool: pool, Region: "us-east-1", Account: "000000000000", Zip: zip, Run: run, Wait: time.Minute}
}

// appTriggers is the app's own function (a runtime of the test's):
// PreTokenGeneration adds a claim; PostAuthentication does nothing.
type appTriggers struct {
	mu      sync.Mutex
	sources []string
}

func (a *appTriggers) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	var ev map[string]any
	_ = json.NewDecoder(r.Body).Decode(&ev)
	a.mu.Lock()
	a.sources = append(a.sources, fmt.Sprint(ev["triggerSource"]))
	a.mu.Unlock()
	ev["response"] = map[string]any{}
	if ev["triggerSource"] == "TokenGeneration_Authentication" {
		ev["response"] = map[string]any{"claimsOverrideDetails": map[string]any{"claimsToAddOrOverride": map[string]string{"app_claim": "added by the app", "sub": "forged"}}}
	}
	_ = json.NewEncoder(w).Encode(ev)
}

func (a *appTriggers) ran() string {
	a.mu.Lock()
	defer a.mu.Unlock()
	return strings.Join(a.sources, " ")
}

// appFunction makes the app's function in the bed's Lambda, its code the
// runtime h; it returns its ARN.
func (f *fixture) appFunction(t *testing.T, h http.Handler) string {
	t.Helper()
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	role := testenv.CreateRole(t, f.bed.IAM, "app-"+testenv.RandomSuffix(), testenv.LambdaTrust, "")
	name := "app-" + testenv.RandomSuffix()
	fn, err := f.bed.Lambda.CreateFunction(context.Background(), &lambda.CreateFunctionInput{FunctionName: &name, Runtime: ltypes.RuntimeProvidedal2023,
		Handler: aws.String("bootstrap"), Role: &role, Code: &ltypes.FunctionCode{ZipFile: bootstrapZip()}})
	if err != nil {
		t.Fatal(err)
	}
	f.bed.Shim.RunFunction(name, srv.URL)
	return *fn.FunctionArn
}

// permit lets Cognito invoke the function arn for pool.
func (f *fixture) permit(t *testing.T, arn, pool string) {
	t.Helper()
	if _, err := f.bed.Lambda.AddPermission(context.Background(), &lambda.AddPermissionInput{FunctionName: aws.String(arn[strings.LastIndex(arn, ":")+1:]),
		StatementId: aws.String("cognito"), Action: aws.String("lambda:InvokeFunction"), Principal: aws.String("cognito-idp.amazonaws.com"),
		SourceArn: aws.String("arn:aws:cognito-idp:us-east-1:000000000000:userpool/" + pool)}); err != nil {
		t.Fatal(err)
	}
}

// claimsOf reads a JWT's claims (unverified: the tokenmint e2e test
// verifies signatures).
func claimsOf(t *testing.T, tok string) map[string]any {
	t.Helper()
	parts := strings.Split(tok, ".")
	body, _ := base64.RawURLEncoding.DecodeString(parts[1])
	var c map[string]any
	if err := json.Unmarshal(body, &c); err != nil {
		t.Fatal(err)
	}
	return c
}

// TestDeployMintRemove: deploy puts the trio on a pool, Mint signs a user
// in through it (under the emulator), Status reports it, Remove takes
// everything away and the pool is as it was.
func TestDeployMintRemove(t *testing.T) {
	rie := os.Getenv("POOLMIGRATE_TESTBED_RIE")
	if rie == "" {
		testenv.Skip(t, "the Lambda Runtime Interface Emulator is not installed: run testbed/testbed.sh up (or scripts/test.sh)")
	}
	f := newFixture(t)
	ctx := context.Background()
	// The app's own PreTokenGeneration and PostAuthentication triggers:
	// they run for each token minted (the side effect deploy names).
	apps := &appTriggers{}
	pre := f.appFunction(t, apps)
	pool := f.env.NewPool(t, testenv.PoolOptions{Lambda: &ctypes.LambdaConfigType{PreTokenGeneration: &pre, PostAuthentication: &pre}})
	f.permit(t, pre, pool)
	if _, err := f.bed.Cognito.AdminCreateUser(ctx, &cip.AdminCreateUserInput{UserPoolId: &pool, Username: aws.String("alice"), MessageAction: ctypes.MessageActionTypeSuppress}); err != nil {
		t.Fatal(err)
	}
	before, err := f.bed.Cognito.DescribeUserPool(ctx, &cip.DescribeUserPoolInput{UserPoolId: &pool})
	if err != nil {
		t.Fatal(err)
	}
	src, err := trigger.FindSource(".")
	if err != nil {
		t.Fatal(err)
	}
	built, err := trigger.BuildCommand(ctx, src, t.TempDir(), runtime.GOARCH, "./cmd/tokenmint-lambda", "tokenmint.zip")
	if err != nil {
		t.Fatal(err)
	}
	run, err := tokenmint.NewRun(pool, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	o := options(pool, built.Package, run)
	if runtime.GOARCH == "amd64" {
		o.Arch = "x86_64"
	}
	res, err := deploy.Deploy(ctx, f.apis, o)
	if err != nil {
		t.Fatalf("deploy: %v", err)
	}
	if run.Client != res.ClientID || res.ClientID == "" || !strings.Contains(strings.Join(res.Steps, "\n"), "PreTokenGeneration") {
		t.Errorf("deploy: %+v (run's client %q)", res, run.Client)
	}
	cl, err := f.bed.Cognito.DescribeUserPoolClient(ctx, &cip.DescribeUserPoolClientInput{UserPoolId: &pool, ClientId: &res.ClientID})
	if err != nil {
		t.Fatal(err)
	}
	flows := slices.Clone(cl.UserPoolClient.ExplicitAuthFlows)
	slices.Sort(flows)
	if !slices.Equal(flows, []ctypes.ExplicitAuthFlowsType{ctypes.ExplicitAuthFlowsTypeAllowCustomAuth, ctypes.ExplicitAuthFlowsTypeAllowRefreshTokenAuth}) || aws.ToString(cl.UserPoolClient.ClientSecret) != "" {
		t.Errorf("the tool's client: flows %v, secret %v", flows, cl.UserPoolClient.ClientSecret != nil)
	}
	st, err := deploy.GetStatus(ctx, f.apis, o)
	if err != nil || len(st.Attached) != 3 || st.ClientID != res.ClientID || !st.Role || st.FunctionArn != res.FunctionArn || len(st.Problems) > 0 ||
		len(st.SideEffects) != 2 || !strings.Contains(st.SideEffects[0], "PreTokenGeneration") || !strings.Contains(st.SideEffects[1], "PostAuthentication") {
		t.Errorf("status after deploy: %+v, %v", st, err)
	}
	fn, err := f.bed.Lambda.GetFunction(ctx, &lambda.GetFunctionInput{FunctionName: aws.String(deploy.FunctionName(pool))})
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range fn.Configuration.Environment.Variables {
		if v != run.Env()[k] {
			t.Errorf("the function's %s is %q, not the run's", k, v)
		}
	}

	logs := f.bed.RunFunction(t, rie, deploy.FunctionName(pool), built.Bootstrap)
	tok, err := run.Mint(ctx, f.bed.Cognito, "alice")
	if err != nil || strings.Count(tok, ".") != 2 {
		t.Fatalf("Mint: %v\n%s", err, logs())
	}
	if got := apps.ran(); got != "TokenGeneration_Authentication PostAuthentication_Authentication" {
		t.Errorf("the app's triggers ran: %q", got)
	}
	if claims := claimsOf(t, tok); claims["app_claim"] != "added by the app" {
		t.Errorf("the ID token's claims: %v", claims)
	}

	// Deploy again (a new run on the same pool): the tool's own things
	// are reused, not refused.
	run2, err := tokenmint.NewRun(pool, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	o2 := o
	o2.Run = run2
	if res2, err := deploy.Deploy(ctx, f.apis, o2); err != nil || res2.ClientID != res.ClientID {
		t.Fatalf("deploy again: %+v, %v", res2, err)
	}

	if _, err := deploy.Remove(ctx, f.apis, o); err != nil {
		t.Fatalf("remove: %v", err)
	}
	after, err := f.bed.Cognito.DescribeUserPool(ctx, &cip.DescribeUserPoolInput{UserPoolId: &pool})
	if err != nil {
		t.Fatal(err)
	}
	if lc := after.UserPool.LambdaConfig; lc == nil || lc.DefineAuthChallenge != nil || lc.CreateAuthChallenge != nil || lc.VerifyAuthChallengeResponse != nil ||
		aws.ToString(lc.PreTokenGeneration) != pre || aws.ToString(after.UserPool.Name) != aws.ToString(before.UserPool.Name) {
		t.Errorf("the pool after remove: %+v", after.UserPool.LambdaConfig)
	}
	st, err = deploy.GetStatus(ctx, f.apis, o)
	if err != nil || len(st.Attached) != 0 || st.ClientID != "" || st.Role || st.FunctionArn != "" {
		t.Errorf("status after remove: %+v, %v", st, err)
	}
	if _, err := f.bed.IAM.GetRole(ctx, &iam.GetRoleInput{RoleName: aws.String(deploy.FunctionName(pool))}); err == nil {
		t.Error("the role is still there")
	}
	if _, err := run.Mint(ctx, f.bed.Cognito, "alice"); err == nil {
		t.Error("Mint after remove signed alice in")
	}
}

// TestDeployRefusesAPoolWithCustomAuthTriggers: a passwordless app's
// triggers are never replaced, whichever of the three it has; nothing is
// created.
func TestDeployRefusesAPoolWithCustomAuthTriggers(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	theirs := "arn:aws:lambda:us-east-1:000000000000:function:passwordless-app"
	for name, lc := range map[string]*ctypes.LambdaConfigType{
		"DefineAuthChallenge":         {DefineAuthChallenge: &theirs},
		"CreateAuthChallenge":         {CreateAuthChallenge: &theirs},
		"VerifyAuthChallengeResponse": {VerifyAuthChallengeResponse: &theirs},
	} {
		pool := f.env.NewPool(t, testenv.PoolOptions{Lambda: lc})
		run, err := tokenmint.NewRun(pool, time.Hour)
		if err != nil {
			t.Fatal(err)
		}
		_, err = deploy.Deploy(ctx, f.apis, options(pool, []byte("zip"), run))
		if err == nil || !strings.Contains(err.Error(), "already has custom-auth triggers ("+name+"="+theirs+")") || !strings.Contains(err.Error(), "passwordless") {
			t.Errorf("%s: %v", name, err)
		}
		clients, _ := f.bed.Cognito.ListUserPoolClients(ctx, &cip.ListUserPoolClientsInput{UserPoolId: &pool, MaxResults: aws.Int32(60)})
		if len(clients.UserPoolClients) > 0 || run.Client != "" {
			t.Errorf("%s: clients were made: %v", name, clients.UserPoolClients)
		}
		if _, err := f.bed.Lambda.GetFunction(ctx, &lambda.GetFunctionInput{FunctionName: aws.String(deploy.FunctionName(pool))}); err == nil {
			t.Errorf("%s: the function was made", name)
		}
		desc, _ := f.bed.Cognito.DescribeUserPool(ctx, &cip.DescribeUserPoolInput{UserPoolId: &pool})
		if got := desc.UserPool.LambdaConfig; got == nil || aws.ToString(got.DefineAuthChallenge)+aws.ToString(got.CreateAuthChallenge)+aws.ToString(got.VerifyAuthChallengeResponse) != theirs {
			t.Errorf("%s: the pool's triggers became %+v", name, got)
		}
		// Remove leaves them too.
		if _, err := deploy.Remove(ctx, f.apis, options(pool, nil, nil)); err != nil {
			t.Errorf("%s: remove: %v", name, err)
		}
		desc, _ = f.bed.Cognito.DescribeUserPool(ctx, &cip.DescribeUserPoolInput{UserPoolId: &pool})
		if got := desc.UserPool.LambdaConfig; got == nil || aws.ToString(got.DefineAuthChallenge)+aws.ToString(got.CreateAuthChallenge)+aws.ToString(got.VerifyAuthChallengeResponse) != theirs {
			t.Errorf("%s: remove changed the pool's triggers to %+v", name, got)
		}
	}
}

// TestDeployOnTheTestBedsShim: on the test bed's own shim (testbed.sh's,
// with Lambda's delays: a new role not yet usable, a function Pending) the
// trio deploys, mints and goes away, as the demo would use it.
func TestDeployOnTheTestBedsShim(t *testing.T) {
	rie := os.Getenv("POOLMIGRATE_TESTBED_RIE")
	if rie == "" {
		testenv.Skip(t, "the Lambda Runtime Interface Emulator is not installed: run testbed/testbed.sh up (or scripts/test.sh)")
	}
	env := testenv.Require(t)
	ctx := context.Background()
	apis := deploy.APIs{Cognito: env.Cognito, Lambda: lambda.NewFromConfig(env.Config), IAM: env.IAM(), Logs: cloudwatchlogs.NewFromConfig(env.Config)}
	pool := env.NewPool(t, testenv.PoolOptions{})
	if _, err := env.Cognito.AdminCreateUser(ctx, &cip.AdminCreateUserInput{UserPoolId: &pool, Username: aws.String("carol"), MessageAction: ctypes.MessageActionTypeSuppress}); err != nil {
		t.Fatal(err)
	}
	src, err := trigger.FindSource(".")
	if err != nil {
		t.Fatal(err)
	}
	built, err := deploy.Build(ctx, src, t.TempDir(), runtime.GOARCH)
	if err != nil {
		t.Fatal(err)
	}
	run, err := tokenmint.NewRun(pool, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	o := options(pool, built.Package, run)
	if _, err := deploy.Deploy(ctx, apis, o); err != nil {
		t.Fatalf("deploy: %v", err)
	}
	t.Cleanup(func() { _, _ = deploy.Remove(context.Background(), apis, o) })
	logs := env.RunSharedFunction(t, rie, deploy.FunctionName(pool), built.Bootstrap)
	if _, err := run.Mint(ctx, env.Cognito, "carol"); err != nil {
		t.Fatalf("Mint: %v\n%s", err, logs())
	}
	if _, err := deploy.Remove(ctx, apis, o); err != nil {
		t.Fatalf("remove: %v", err)
	}
	if _, err := run.Mint(ctx, env.Cognito, "carol"); err == nil {
		t.Error("Mint after remove")
	}
}

// TestRemoveAfterThePoolIsGone: the function and the role of a pool that
// was deleted meanwhile are still removed.
func TestRemoveAfterThePoolIsGone(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	pool := f.env.NewPool(t, testenv.PoolOptions{})
	run, err := tokenmint.NewRun(pool, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	o := options(pool, bootstrapZip(), run)
	if _, err := deploy.Deploy(ctx, f.apis, o); err != nil {
		t.Fatalf("deploy: %v", err)
	}
	if _, err := f.env.Local.DeleteUserPool(ctx, &cip.DeleteUserPoolInput{UserPoolId: &pool}); err != nil {
		t.Fatal(err)
	}
	if _, err := deploy.Remove(ctx, f.apis, o); err != nil {
		t.Fatalf("remove: %v", err)
	}
	if _, err := f.bed.Lambda.GetFunction(ctx, &lambda.GetFunctionInput{FunctionName: aws.String(deploy.FunctionName(pool))}); err == nil {
		t.Error("the function is still there")
	}
	if _, err := f.bed.IAM.GetRole(ctx, &iam.GetRoleInput{RoleName: aws.String(deploy.FunctionName(pool))}); err == nil {
		t.Error("the role is still there")
	}
}

// bootstrapZip is a package Lambda takes (the code never runs here).
func bootstrapZip() []byte {
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	hd := &zip.FileHeader{Name: "bootstrap"}
	hd.SetMode(0o755)
	w, _ := zw.CreateHeader(hd)
	_, _ = w.Write([]byte("#!/bin/sh\n"))
	_ = zw.Close()
	return buf.Bytes()
}
