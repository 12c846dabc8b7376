package tokenmint_test

import (
	"context"
	"crypto"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
	"net/http"
	"os"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	cip "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider"
	ctypes "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider/types"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	ltypes "github.com/aws/aws-sdk-go-v2/service/lambda/types"
	"github.com/aws/smithy-go"

	"github.com/poolmigrate/poolmigrate/testbed/cognitoshim"
	"github.com/poolmigrate/poolmigrate/testbed/testenv"
	"github.com/poolmigrate/poolmigrate/tokenmint"
	"github.com/poolmigrate/poolmigrate/trigger"
	"github.com/poolmigrate/poolmigrate/trigger/deploy"
)

// customPool is a pool of the test bed with alice and bob, the tool's app
// client and the app's own, and the run's function attached as its three
// custom-auth triggers, running under the Lambda Runtime Interface Emulator
// behind the test's shim.
type customPool struct {
	bed             *testenv.CustomAuthBed
	pool            string
	toolClient      string
	appClient       string // the app's: password sign-in only
	passwordlessApp string // another client allowing CUSTOM_AUTH
	subs            map[string]string
	run             *tokenmint.Run
	function, fnArn string
	logs            func() string
	recorded        *recordingAPI
}

func needRIE(t *testing.T) string {
	rie := os.Getenv("POOLMIGRATE_TESTBED_RIE")
	if rie == "" {
		testenv.Skip(t, "the Lambda Runtime Interface Emulator is not installed: run testbed/testbed.sh up (or scripts/test.sh)")
	}
	return rie
}

// buildFunction builds cmd/tokenmint-lambda for this machine.
func buildFunction(t *testing.T) trigger.Built {
	t.Helper()
	src, err := trigger.FindSource(".")
	if err != nil {
		t.Fatal(err)
	}
	built, err := trigger.BuildCommand(context.Background(), src, t.TempDir(), runtime.GOARCH, "./cmd/tokenmint-lambda", "tokenmint.zip")
	if err != nil {
		t.Fatal(err)
	}
	return built
}

func newCustomPool(t *testing.T) *customPool {
	t.Helper()
	rie := needRIE(t)
	env := testenv.Require(t)
	ctx := context.Background()
	p := &customPool{bed: env.CustomAuthBed(t), subs: map[string]string{}}
	p.pool = env.NewPool(t, testenv.PoolOptions{})
	idp := p.bed.Cognito
	for _, u := range []string{"alice", "bob"} {
		out, err := idp.AdminCreateUser(ctx, &cip.AdminCreateUserInput{UserPoolId: &p.pool, Username: aws.String(u), MessageAction: ctypes.MessageActionTypeSuppress,
			TemporaryPassword: aws.String("Temp-Secret-1!"), UserAttributes: []ctypes.AttributeType{{Name: aws.String("email"), Value: aws.String(u + "@example.com")}}})
		if err != nil {
			t.Fatal(err)
		}
		for _, a := range out.User.Attributes {
			if *a.Name == "sub" {
				p.subs[u] = *a.Value
			}
		}
	}
	client := func(name string, flows ...ctypes.ExplicitAuthFlowsType) string {
		out, err := idp.CreateUserPoolClient(ctx, &cip.CreateUserPoolClientInput{UserPoolId: &p.pool, ClientName: aws.String(name), ExplicitAuthFlows: flows})
		if err != nil {
			t.Fatal(err)
		}
		return *out.UserPoolClient.ClientId
	}
	p.toolClient = client("poolmigrate-tokenmint", ctypes.ExplicitAuthFlowsTypeAllowCustomAuth, ctypes.ExplicitAuthFlowsTypeAllowRefreshTokenAuth)
	p.appClient = client("app", ctypes.ExplicitAuthFlowsTypeAllowUserPasswordAuth, ctypes.ExplicitAuthFlowsTypeAllowRefreshTokenAuth)
	p.passwordlessApp = client("passwordless", ctypes.ExplicitAuthFlowsTypeAllowCustomAuth, ctypes.ExplicitAuthFlowsTypeAllowRefreshTokenAuth)

	var err error
	if p.run, err = tokenmint.NewRun(p.pool, time.Hour); err != nil {
		t.Fatal(err)
	}
	p.run.Client = p.toolClient

	// The function, as Lambda holds it, with Cognito's permission for
	// this pool, attached as the three triggers.
	built := buildFunction(t)
	role := testenv.CreateRole(t, p.bed.IAM, "tokenmint-"+testenv.RandomSuffix(), deploy.LambdaTrust, "")
	p.function = "tokenmint-" + testenv.RandomSuffix()
	fn, err := p.bed.Lambda.CreateFunction(ctx, &lambda.CreateFunctionInput{FunctionName: &p.function, Runtime: ltypes.RuntimeProvidedal2023,
		Handler: aws.String("bootstrap"), Role: &role, Code: &ltypes.FunctionCode{ZipFile: built.Package},
		Environment: &ltypes.Environment{Variables: p.run.Env()}})
	if err != nil {
		t.Fatal(err)
	}
	p.fnArn = *fn.FunctionArn
	if _, err := p.bed.Lambda.AddPermission(ctx, &lambda.AddPermissionInput{FunctionName: &p.function, StatementId: aws.String("cognito"),
		Action: aws.String("lambda:InvokeFunction"), Principal: aws.String("cognito-idp.amazonaws.com"),
		SourceArn: aws.String("arn:aws:cognito-idp:us-east-1:000000000000:userpool/" + p.pool)}); err != nil {
		t.Fatal(err)
	}
	desc, err := idp.DescribeUserPool(ctx, &cip.DescribeUserPoolInput{UserPoolId: &p.pool})
	if err != nil {
		t.Fatal(err)
	}
	in := deploy.UpdateInput(desc.UserPool)
	in.LambdaConfig.DefineAuthChallenge, in.LambdaConfig.CreateAuthChallenge, in.LambdaConfig.VerifyAuthChallengeResponse = &p.fnArn, &p.fnArn, &p.fnArn
	if _, err := idp.UpdateUserPool(ctx, in); err != nil {
		t.Fatal(err)
	}
	p.logs = p.bed.RunFunction(t, rie, p.function, built.Bootstrap)
	p.recorded = &recordingAPI{Client: idp}
	return p
}

// recordingAPI is the Cognito client Mint is given, keeping what Cognito
// answered so the test can check the refresh token was revoked.
type recordingAPI struct {
	*cip.Client
	results []*ctypes.AuthenticationResultType
}

func (r *recordingAPI) AdminRespondToAuthChallenge(ctx context.Context, in *cip.AdminRespondToAuthChallengeInput, opts ...func(*cip.Options)) (*cip.AdminRespondToAuthChallengeOutput, error) {
	out, err := r.Client.AdminRespondToAuthChallenge(ctx, in, opts...)
	if err == nil && out.AuthenticationResult != nil {
		r.results = append(r.results, out.AuthenticationResult)
	}
	return out, err
}

func (p *customPool) start(t *testing.T, client, username string) (*cip.AdminInitiateAuthOutput, error) {
	return p.bed.Cognito.AdminInitiateAuth(context.Background(), &cip.AdminInitiateAuthInput{UserPoolId: &p.pool, ClientId: &client,
		AuthFlow: ctypes.AuthFlowTypeCustomAuth, AuthParameters: map[string]string{"USERNAME": username}})
}

func (p *customPool) respond(client, username string, session *string, answer string) (*cip.AdminRespondToAuthChallengeOutput, error) {
	return p.bed.Cognito.AdminRespondToAuthChallenge(context.Background(), &cip.AdminRespondToAuthChallengeInput{UserPoolId: &p.pool, ClientId: &client,
		ChallengeName: ctypes.ChallengeNameTypeCustomChallenge, Session: session, ChallengeResponses: map[string]string{"USERNAME": username, "ANSWER": answer}})
}

// challenge is what the run signs for a started sign-in.
func (p *customPool) challenge(out *cip.AdminInitiateAuthOutput, username string) tokenmint.Challenge {
	var exp int64
	_, _ = fmt.Sscan(out.ChallengeParameters[tokenmint.ParamExpires], &exp)
	return tokenmint.Challenge{RunID: p.run.ID, PoolID: p.pool, ClientID: p.toolClient, Username: username,
		Sub: out.ChallengeParameters[tokenmint.ParamSub], Nonce: out.ChallengeParameters[tokenmint.ParamNonce], Expires: exp}
}

func code(err error) string {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		return ae.ErrorCode() + ": " + ae.ErrorMessage()
	}
	if err == nil {
		return "no error"
	}
	return err.Error()
}

// verifyIDToken checks an ID token as a relying party does: its RS256
// signature against the pool's JWKS (cognito-local's), then its claims.
func verifyIDToken(t *testing.T, p *customPool, token, wantSub string) map[string]any {
	t.Helper()
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		t.Fatalf("the ID token is not a JWT")
	}
	resp, err := http.Get(p.bed.Local + "/" + p.pool + "/.well-known/jwks.json")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var jwks struct{ Keys []struct{ Kid, N, E string } }
	if err := json.NewDecoder(resp.Body).Decode(&jwks); err != nil {
		t.Fatal(err)
	}
	var head struct{ Alg, Kid string }
	h, _ := base64.RawURLEncoding.DecodeString(parts[0])
	_ = json.Unmarshal(h, &head)
	sig, _ := base64.RawURLEncoding.DecodeString(parts[2])
	sum := sha256.Sum256([]byte(parts[0] + "." + parts[1]))
	ok := false
	for _, k := range jwks.Keys {
		n, _ := base64.RawURLEncoding.DecodeString(k.N)
		e, _ := base64.RawURLEncoding.DecodeString(k.E)
		pub := &rsa.PublicKey{N: new(big.Int).SetBytes(n), E: int(new(big.Int).SetBytes(e).Int64())}
		ok = ok || (k.Kid == head.Kid && head.Alg == "RS256" && rsa.VerifyPKCS1v15(pub, crypto.SHA256, sum[:], sig) == nil)
	}
	if !ok {
		t.Fatalf("the ID token does not verify against the pool's JWKS (header %+v)", head)
	}
	var claims map[string]any
	body, _ := base64.RawURLEncoding.DecodeString(parts[1])
	if err := json.Unmarshal(body, &claims); err != nil {
		t.Fatal(err)
	}
	exp, _ := claims["exp"].(float64)
	if claims["sub"] != wantSub || claims["aud"] != p.toolClient || claims["token_use"] != "id" || claims["iss"] != p.bed.Local+"/"+p.pool ||
		time.Unix(int64(exp), 0).Before(time.Now()) {
		t.Errorf("the ID token's claims: %v", claims)
	}
	return claims
}

// TestMintThroughTheCustomAuthFlow: the run's function under the emulator,
// invoked by the shim's custom-auth flow, signs alice in for the run's key
// only; the ID token verifies against the pool's JWKS and the refresh token
// is revoked.
func TestMintThroughTheCustomAuthFlow(t *testing.T) {
	p := newCustomPool(t)
	ctx := context.Background()
	tok, err := p.run.Mint(ctx, p.recorded, "alice")
	if err != nil {
		t.Fatalf("Mint alice: %v\n%s", err, p.logs())
	}
	claims := verifyIDToken(t, p, tok, p.subs["alice"])
	if claims["cognito:username"] != "alice" || claims["email"] != "alice@example.com" {
		t.Errorf("claims: %v", claims)
	}
	if len(p.recorded.results) != 1 || p.recorded.results[0].RefreshToken == nil {
		t.Fatalf("Cognito's answers: %v", p.recorded.results)
	}
	_, err = p.bed.Cognito.AdminInitiateAuth(ctx, &cip.AdminInitiateAuthInput{UserPoolId: &p.pool, ClientId: &p.toolClient,
		AuthFlow: ctypes.AuthFlowTypeRefreshTokenAuth, AuthParameters: map[string]string{"REFRESH_TOKEN": *p.recorded.results[0].RefreshToken}})
	if !strings.Contains(code(err), "NotAuthorizedException: Refresh Token has been revoked") {
		t.Errorf("the minted refresh token after Mint: %s", code(err))
	}
	if tok2, err := p.run.Mint(ctx, p.recorded, "bob"); err != nil {
		t.Fatalf("Mint bob: %v", err)
	} else {
		verifyIDToken(t, p, tok2, p.subs["bob"])
	}
	for _, secret := range []string{tok, *p.recorded.results[0].RefreshToken, *p.recorded.results[0].AccessToken} {
		if strings.Contains(p.logs(), secret) {
			t.Errorf("the function's output holds a token")
		}
	}
}

// TestTheFlowRefusesAttackers: through the real flow (the shim invoking the
// function under the emulator), nothing but the run's key, through the
// run's client, once, in time, signs anyone in.
func TestTheFlowRefusesAttackers(t *testing.T) {
	p := newCustomPool(t)
	refused := func(what string, out *cip.AdminRespondToAuthChallengeOutput, err error, want string) {
		t.Helper()
		if err == nil || (out != nil && out.AuthenticationResult != nil) || !strings.Contains(code(err), want) {
			t.Errorf("%s: %s (want %s)", what, code(err), want)
		}
	}
	var nonces, answers []string
	started := func(client, user string) *cip.AdminInitiateAuthOutput {
		t.Helper()
		out, err := p.start(t, client, user)
		if err != nil || out.Session == nil {
			t.Fatalf("start %s: %s\n%s", user, code(err), p.logs())
		}
		nonces = append(nonces, out.ChallengeParameters[tokenmint.ParamNonce])
		return out
	}

	// The app's password client does not allow the flow at all.
	if _, err := p.start(t, p.appClient, "alice"); !strings.Contains(code(err), "InvalidParameterException: Auth flow not enabled for this client") {
		t.Errorf("the app's client: %s", code(err))
	}
	// Another client that allows it: the function fails the sign-in.
	if _, err := p.start(t, p.passwordlessApp, "alice"); !strings.Contains(code(err), "NotAuthorizedException") {
		t.Errorf("another client allowing CUSTOM_AUTH: %s", code(err))
	}

	// A wrong answer; then the same session with the right one.
	out := started(p.toolClient, "alice")
	wrong := base64.StdEncoding.EncodeToString(make([]byte, 64))
	r, err := p.respond(p.toolClient, "alice", out.Session, wrong)
	refused("a wrong answer", r, err, "NotAuthorizedException: Incorrect username or password.")
	right := p.run.Sign(p.challenge(out, "alice"))
	answers = append(answers, right)
	r, err = p.respond(p.toolClient, "alice", out.Session, right)
	refused("the right answer after a wrong one, same session", r, err, "NotAuthorizedException: Invalid session for the user, session can only be used once.")

	// A right answer, then replayed: on its session and on a new one.
	out = started(p.toolClient, "alice")
	right = p.run.Sign(p.challenge(out, "alice"))
	answers = append(answers, right)
	if r, err := p.respond(p.toolClient, "alice", out.Session, right); err != nil || r.AuthenticationResult == nil {
		t.Fatalf("the right answer: %s\n%s", code(err), p.logs())
	} else {
		_, _ = p.bed.Cognito.RevokeToken(context.Background(), &cip.RevokeTokenInput{ClientId: &p.toolClient, Token: r.AuthenticationResult.RefreshToken})
	}
	r, err = p.respond(p.toolClient, "alice", out.Session, right)
	refused("a replayed session", r, err, "session can only be used once")
	out = started(p.toolClient, "alice")
	r, err = p.respond(p.toolClient, "alice", out.Session, right)
	refused("a replayed answer on a new challenge", r, err, "NotAuthorizedException: Incorrect username or password.")

	// Alice's answer for bob's session; bob's session through another client.
	out = started(p.toolClient, "bob")
	r, err = p.respond(p.toolClient, "bob", out.Session, p.run.Sign(p.challenge(started(p.toolClient, "alice"), "alice")))
	refused("alice's answer for bob", r, err, "NotAuthorizedException: Incorrect username or password.")
	out = started(p.toolClient, "bob")
	r, err = p.respond(p.passwordlessApp, "bob", out.Session, p.run.Sign(p.challenge(out, "bob")))
	refused("bob's session through another client", r, err, "NotAuthorizedException: Invalid session for the user.")

	// Another key; only the public configuration (read back from Lambda).
	other, err := tokenmint.NewRun(p.pool, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	out = started(p.toolClient, "alice")
	r, err = p.respond(p.toolClient, "alice", out.Session, other.Sign(p.challenge(out, "alice")))
	refused("another key's signature", r, err, "NotAuthorizedException: Incorrect username or password.")
	fn, err := p.bed.Lambda.GetFunction(context.Background(), &lambda.GetFunctionInput{FunctionName: &p.function})
	if err != nil {
		t.Fatal(err)
	}
	cfg := fn.Configuration.Environment.Variables
	for _, answer := range []string{cfg[tokenmint.EnvPublicKey] + cfg[tokenmint.EnvPublicKey], cfg[tokenmint.EnvPublicKey], cfg[tokenmint.EnvRun]} {
		out = started(p.toolClient, "alice")
		r, err = p.respond(p.toolClient, "alice", out.Session, answer)
		refused("an answer made of the public configuration", r, err, "NotAuthorizedException: Incorrect username or password.")
	}

	// A session answered after it expired (the shim's clock).
	out = started(p.toolClient, "alice")
	p.bed.Clock.Add(3*time.Minute + time.Second)
	r, err = p.respond(p.toolClient, "alice", out.Session, p.run.Sign(p.challenge(out, "alice")))
	refused("an expired session", r, err, "NotAuthorizedException: Invalid session for the user, session is expired.")

	// Cognito may invoke the function for this pool only: without the
	// permission nothing runs.
	if _, err := p.bed.Lambda.RemovePermission(context.Background(), &lambda.RemovePermissionInput{FunctionName: &p.function, StatementId: aws.String("cognito")}); err != nil {
		t.Fatal(err)
	}
	if _, err := p.start(t, p.toolClient, "alice"); !strings.Contains(code(err), "UnexpectedLambdaException") {
		t.Errorf("without Cognito's permission: %s", code(err))
	}

	logs := p.logs()
	for _, reason := range []string{"reason=other_client", "reason=bad_signature", "reason=wrong_answer"} {
		if !strings.Contains(logs, reason) {
			t.Errorf("the function logged no %s:\n%s", reason, logs)
		}
	}
	for _, secret := range append(nonces, answers...) {
		if secret != "" && strings.Contains(logs, secret) {
			t.Errorf("the function's output holds a nonce or an answer")
		}
	}
}

// TestMintRidesOutThrottling: each of Mint's three calls is refused with
// TooManyRequestsException once; the client's retryer (as the tool's
// clients have it) retries, and a throttled answer never spends the
// session.
func TestMintRidesOutThrottling(t *testing.T) {
	p := newCustomPool(t)
	ops := []string{"AdminInitiateAuth", "AdminRespondToAuthChallenge", "RevokeToken"}
	p.bed.Shim.SetThrottle([]cognitoshim.ThrottleRule{{Operations: ops, Every: 1000}})
	tok, err := p.run.Mint(context.Background(), p.bed.Cognito, "alice")
	if err != nil {
		t.Fatalf("Mint: %v\n%s", err, p.logs())
	}
	verifyIDToken(t, p, tok, p.subs["alice"])
	got := p.bed.Shim.Throttled()
	for _, op := range ops {
		if got[op] != 1 {
			t.Errorf("%s was throttled %d times, want 1", op, got[op])
		}
	}
}
