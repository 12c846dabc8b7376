package cognitoshim_test

import (
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	cip "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider"
	"github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider/types"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	ltypes "github.com/aws/aws-sdk-go-v2/service/lambda/types"

	"github.com/poolmigrate/poolmigrate/testbed/testenv"
)

// fakeTrio is a Lambda runtime answering the three custom-auth triggers:
// one challenge whose answer is "42"; a wrong answer fails the sign-in.
// fail makes every invocation a function error.
type fakeTrio struct {
	mu      sync.Mutex
	fail    bool
	sources []string
	// running and overlapped: invocations under way, and whether two ever
	// were at once (one execution environment takes one at a time).
	running    int
	overlapped bool
}

func (f *fakeTrio) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	f.running++
	f.overlapped = f.overlapped || f.running > 1
	f.mu.Unlock()
	defer func() { f.mu.Lock(); f.running--; f.mu.Unlock() }()
	time.Sleep(20 * time.Millisecond) // long enough for sign-ins at once to meet
	var ev map[string]any
	_ = json.NewDecoder(r.Body).Decode(&ev)
	f.mu.Lock()
	src, _ := ev["triggerSource"].(string)
	f.sources = append(f.sources, src)
	fail := f.fail
	f.mu.Unlock()
	if fail {
		_ = json.NewEncoder(w).Encode(map[string]string{"errorMessage": "boom", "errorType": "errorString"})
		return
	}
	req, _ := ev["request"].(map[string]any)
	resp := map[string]any{}
	switch src {
	case "DefineAuthChallenge_Authentication":
		session, _ := req["session"].([]any)
		switch {
		case len(session) == 0:
			resp["challengeName"] = "CUSTOM_CHALLENGE"
		case len(session) == 1 && session[0].(map[string]any)["challengeResult"] == true:
			resp["issueTokens"] = true
		default:
			resp["failAuthentication"] = true
		}
	case "CreateAuthChallenge_Authentication":
		resp["publicChallengeParameters"] = map[string]string{"question": "6*7"}
		resp["privateChallengeParameters"] = map[string]string{"answer": "42"}
		resp["challengeMetadata"] = "Q1"
	case "VerifyAuthChallengeResponse_Authentication":
		private, _ := req["privateChallengeParameters"].(map[string]any)
		resp["answerCorrect"] = req["challengeAnswer"] == private["answer"]
	}
	ev["response"] = resp
	_ = json.NewEncoder(w).Encode(ev)
}

// TestCustomAuthRunsTheTriggers: the shim's CUSTOM_AUTH flow invokes the
// pool's triggers in Cognito's order and refuses what Cognito refuses.
func TestCustomAuthRunsTheTriggers(t *testing.T) {
	env := testenv.Require(t)
	bed := env.CustomAuthBed(t)
	trio := &fakeTrio{}
	runtime := httptest.NewServer(trio)
	t.Cleanup(runtime.Close)
	idp := bed.Cognito
	pool := env.NewPool(t, testenv.PoolOptions{})
	client := func(secret bool, flows ...types.ExplicitAuthFlowsType) string {
		out, err := idp.CreateUserPoolClient(ctx, &cip.CreateUserPoolClientInput{UserPoolId: &pool, ClientName: aws.String("c"), GenerateSecret: secret, ExplicitAuthFlows: flows})
		if err != nil {
			t.Fatal(err)
		}
		return *out.UserPoolClient.ClientId
	}
	custom := client(false, types.ExplicitAuthFlowsTypeAllowCustomAuth, types.ExplicitAuthFlowsTypeAllowRefreshTokenAuth)
	other := client(false, types.ExplicitAuthFlowsTypeAllowCustomAuth, types.ExplicitAuthFlowsTypeAllowRefreshTokenAuth)
	password := client(false, types.ExplicitAuthFlowsTypeAllowUserPasswordAuth)
	secret := client(true, types.ExplicitAuthFlowsTypeAllowCustomAuth)
	for _, u := range []string{"alice", "dave"} {
		if _, err := idp.AdminCreateUser(ctx, &cip.AdminCreateUserInput{UserPoolId: &pool, Username: aws.String(u), MessageAction: types.MessageActionTypeSuppress}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := idp.AdminDisableUser(ctx, &cip.AdminDisableUserInput{UserPoolId: &pool, Username: aws.String("dave")}); err != nil {
		t.Fatal(err)
	}
	start := func(clientID, user string) (*cip.AdminInitiateAuthOutput, error) {
		return idp.AdminInitiateAuth(ctx, &cip.AdminInitiateAuthInput{UserPoolId: &pool, ClientId: &clientID, AuthFlow: types.AuthFlowTypeCustomAuth,
			AuthParameters: map[string]string{"USERNAME": user}})
	}
	respond := func(clientID, user string, session *string, answer string) (*cip.AdminRespondToAuthChallengeOutput, error) {
		return idp.AdminRespondToAuthChallenge(ctx, &cip.AdminRespondToAuthChallengeInput{UserPoolId: &pool, ClientId: &clientID,
			ChallengeName: types.ChallengeNameTypeCustomChallenge, Session: session, ChallengeResponses: map[string]string{"USERNAME": user, "ANSWER": answer}})
	}
	want := func(what string, err error, code, msg string) {
		t.Helper()
		if apiCode(err) != code || !strings.Contains(err.Error(), msg) {
			t.Errorf("%s: %v, want %s %q", what, err, code, msg)
		}
	}

	_, err := start(custom, "alice")
	want("a pool without the trigger", err, "InvalidParameterException", "Custom auth lambda trigger is not configured")

	// The function, known to the shim's Lambda, with Cognito's permission.
	role := testenv.CreateRole(t, bed.IAM, "trio-"+testenv.RandomSuffix(), testenv.LambdaTrust, "")
	name := "trio-" + testenv.RandomSuffix()
	fn, err := bed.Lambda.CreateFunction(ctx, &lambda.CreateFunctionInput{FunctionName: &name, Runtime: ltypes.RuntimeProvidedal2023, Handler: aws.String("bootstrap"),
		Role: &role, Code: &ltypes.FunctionCode{ZipFile: bootstrapZip()}})
	if err != nil {
		t.Fatal(err)
	}
	desc, err := idp.DescribeUserPool(ctx, &cip.DescribeUserPoolInput{UserPoolId: &pool})
	if err != nil {
		t.Fatal(err)
	}
	in := &cip.UpdateUserPoolInput{UserPoolId: &pool, PoolName: desc.UserPool.Name, AdminCreateUserConfig: desc.UserPool.AdminCreateUserConfig, DeletionProtection: desc.UserPool.DeletionProtection,
		EmailConfiguration: desc.UserPool.EmailConfiguration, MfaConfiguration: desc.UserPool.MfaConfiguration, Policies: desc.UserPool.Policies, UserPoolTier: desc.UserPool.UserPoolTier,
		VerificationMessageTemplate: desc.UserPool.VerificationMessageTemplate,
		LambdaConfig:                &types.LambdaConfigType{DefineAuthChallenge: fn.FunctionArn, CreateAuthChallenge: fn.FunctionArn, VerifyAuthChallengeResponse: fn.FunctionArn}}
	if in.Policies != nil && in.Policies.PasswordPolicy != nil && in.AdminCreateUserConfig != nil {
		c := *in.AdminCreateUserConfig
		c.UnusedAccountValidityDays = 0
		in.AdminCreateUserConfig = &c
	}
	if _, err := idp.UpdateUserPool(ctx, in); err != nil {
		t.Fatal(err)
	}
	_, err = start(custom, "alice")
	want("a function Cognito may not invoke", err, "UnexpectedLambdaException", "does not let cognito-idp.amazonaws.com invoke it")
	if _, err := bed.Lambda.AddPermission(ctx, &lambda.AddPermissionInput{FunctionName: &name, StatementId: aws.String("cognito"), Action: aws.String("lambda:InvokeFunction"),
		Principal: aws.String("cognito-idp.amazonaws.com"), SourceArn: aws.String("arn:aws:cognito-idp:us-east-1:000000000000:userpool/" + pool)}); err != nil {
		t.Fatal(err)
	}
	_, err = start(custom, "alice")
	want("a function without code", err, "UnexpectedLambdaException", "runs no code")
	bed.Shim.RunFunction(name, runtime.URL)

	_, err = start(password, "alice")
	want("a client without ALLOW_CUSTOM_AUTH", err, "InvalidParameterException", "Auth flow not enabled for this client")
	_, err = start(secret, "alice")
	want("a client with a secret, no SECRET_HASH", err, "NotAuthorizedException", "SECRET_HASH was not received")
	_, err = start(custom, "dave")
	want("a disabled user", err, "NotAuthorizedException", "User is disabled.")
	_, err = start(custom, "nobody")
	want("an unknown user", err, "UserNotFoundException", "")

	out, err := start(custom, "alice")
	if err != nil || out.ChallengeName != types.ChallengeNameTypeCustomChallenge || out.ChallengeParameters["question"] != "6*7" ||
		out.ChallengeParameters["USERNAME"] != "alice" || out.ChallengeParameters["answer"] != "" || out.Session == nil {
		t.Fatalf("the challenge: %+v, %v", out, err)
	}
	_, err = respond(other, "alice", out.Session, "42")
	want("the session through another client", err, "NotAuthorizedException", "Invalid session for the user.")
	_, err = respond(custom, "alice", out.Session, "42")
	want("the session after it was answered", err, "NotAuthorizedException", "session can only be used once")
	_, err = respond(custom, "alice", aws.String(base64.StdEncoding.EncodeToString([]byte("forged"))), "42")
	want("a forged session", err, "NotAuthorizedException", "Invalid session for the user.")

	out, _ = start(custom, "alice")
	_, err = respond(custom, "alice", out.Session, "41")
	want("a wrong answer", err, "NotAuthorizedException", "Incorrect username or password.")

	out, _ = start(custom, "alice")
	bed.Clock.Add(3*time.Minute + time.Second)
	_, err = respond(custom, "alice", out.Session, "42")
	want("an expired session", err, "NotAuthorizedException", "session is expired")

	out, _ = start(custom, "alice")
	done, err := respond(custom, "alice", out.Session, "42")
	if err != nil || done.AuthenticationResult == nil || done.AuthenticationResult.IdToken == nil || done.AuthenticationResult.RefreshToken == nil {
		t.Fatalf("the right answer: %+v, %v", done, err)
	}
	trio.mu.Lock()
	order := strings.Join(trio.sources[len(trio.sources)-4:], " ")
	trio.mu.Unlock()
	if order != "DefineAuthChallenge_Authentication CreateAuthChallenge_Authentication VerifyAuthChallengeResponse_Authentication DefineAuthChallenge_Authentication" {
		t.Errorf("the triggers ran in the order %s", order)
	}
	refresh := done.AuthenticationResult.RefreshToken
	refreshWith := func(clientID string) error {
		_, err := idp.AdminInitiateAuth(ctx, &cip.AdminInitiateAuthInput{UserPoolId: &pool, ClientId: &clientID, AuthFlow: types.AuthFlowTypeRefreshTokenAuth,
			AuthParameters: map[string]string{"REFRESH_TOKEN": *refresh}})
		return err
	}
	if err := refreshWith(custom); err != nil {
		t.Errorf("refresh: %v", err)
	}
	want("refresh through another client", refreshWith(other), "NotAuthorizedException", "Invalid Refresh Token")
	_, err = idp.RevokeToken(ctx, &cip.RevokeTokenInput{ClientId: &other, Token: refresh})
	want("revoke through another client", err, "UnauthorizedException", "")
	if _, err := idp.RevokeToken(ctx, &cip.RevokeTokenInput{ClientId: &custom, Token: refresh}); err != nil {
		t.Errorf("revoke: %v", err)
	}
	want("refresh after revoke", refreshWith(custom), "NotAuthorizedException", "Refresh Token has been revoked")

	// Sign-ins at once: the runtime (an emulator stands for one execution
	// environment) gets one invocation at a time, and each still succeeds.
	var wg sync.WaitGroup
	errs := make(chan error, 6)
	for range 6 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := start(custom, "alice")
			errs <- err
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Errorf("a sign-in among six at once: %v", err)
		}
	}
	trio.mu.Lock()
	if trio.overlapped {
		t.Error("the runtime got two invocations at once; an execution environment takes one at a time")
	}
	trio.fail = true
	trio.mu.Unlock()
	_, err = start(custom, "alice")
	want("a failing trigger", err, "UserLambdaValidationException", "DefineAuthChallenge failed with error boom.")
}
