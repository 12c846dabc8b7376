package tokenmint

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"github.com/poolmigrate/poolmigrate/tokenmint/trio"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	cip "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider"
	ctypes "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider/types"
)

const (
	testPool   = "us-east-1_TokenPool1"
	testClient = "tokenmintclient0123456789"
	appClient  = "theappsownclient012345678"
)

type bed struct {
	run   *Run
	clock *clock
	logs  *logLines
	h     *trio.Handler
	flow  *fakeFlow
}

func newBed(t *testing.T) *bed {
	t.Helper()
	run, err := NewRun(testPool, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	run.Client = testClient
	c := &clock{t: time.Now()}
	run.Now = c.now
	logs := &logLines{}
	cfg, err := trio.ConfigFromEnv(func(k string) string { return run.Env()[k] }, c.now())
	if err != nil {
		t.Fatal(err)
	}
	h := &trio.Handler{Config: cfg, Now: c.now, Logf: logs.logf}
	return &bed{run: run, clock: c, logs: logs, h: h, flow: newFakeFlow(h, testPool, map[string]string{
		"alice": "11111111-1111-4111-8111-111111111111", "bob": "22222222-2222-4222-8222-222222222222"})}
}

// start begins a custom sign-in as the flow's caller would.
func (b *bed) start(t *testing.T, client, username string) *cip.AdminInitiateAuthOutput {
	t.Helper()
	out, err := b.flow.AdminInitiateAuth(context.Background(), &cip.AdminInitiateAuthInput{UserPoolId: aws.String(testPool), ClientId: &client,
		AuthFlow: ctypes.AuthFlowTypeCustomAuth, AuthParameters: map[string]string{"USERNAME": username}})
	if err != nil {
		t.Fatalf("start %s: %v", username, err)
	}
	return out
}

func (b *bed) respond(client, username string, session *string, answer string) (*cip.AdminRespondToAuthChallengeOutput, error) {
	return b.flow.AdminRespondToAuthChallenge(context.Background(), &cip.AdminRespondToAuthChallengeInput{UserPoolId: aws.String(testPool), ClientId: &client,
		ChallengeName: ctypes.ChallengeNameTypeCustomChallenge, Session: session, ChallengeResponses: map[string]string{"USERNAME": username, "ANSWER": answer}})
}

// challengeOf is what the caller signs for a started sign-in.
func challengeOf(out *cip.AdminInitiateAuthOutput, username string) Challenge {
	p := out.ChallengeParameters
	e, _ := strconv.ParseInt(p[ParamExpires], 10, 64)
	return Challenge{RunID: p[ParamRun], PoolID: testPool, ClientID: testClient, Username: username, Sub: p[ParamSub], Nonce: p[ParamNonce], Expires: e}
}

func TestMintGetsTheIDTokenAndRevokesTheRefreshToken(t *testing.T) {
	b := newBed(t)
	tok, err := b.run.Mint(context.Background(), b.flow, "alice")
	if err != nil || tok != fakeJWT(b.flow.users["alice"], testClient, "") {
		t.Fatalf("Mint: %q, %v\n%s", tok, err, b.logs)
	}
	if len(b.flow.issued) != 1 || len(b.flow.revoked) != 1 || b.flow.revoked[0] != b.flow.issued[0] {
		t.Errorf("refresh tokens issued %v, revoked %v", b.flow.issued, b.flow.revoked)
	}
	if !strings.Contains(b.logs.String(), "issued sub=11111111-1111-4111-8111-111111111111") {
		t.Errorf("log:\n%s", b.logs)
	}
}

func TestMintDropsATokenThatIsNotTheUsersIDToken(t *testing.T) {
	b := newBed(t)
	b.flow.idTokenUse = "access"
	if tok, err := b.run.Mint(context.Background(), b.flow, "alice"); err == nil || tok != "" {
		t.Errorf("Mint returned %q, %v", tok, err)
	}
	if len(b.flow.revoked) != 1 {
		t.Errorf("the refresh token was not revoked: %v", b.flow.revoked)
	}
}

func TestMintRefusesAfterTheRun(t *testing.T) {
	b := newBed(t)
	b.clock.add(2 * time.Hour)
	if _, err := b.run.Mint(context.Background(), b.flow, "alice"); !errors.Is(err, ErrRunExpired) {
		t.Errorf("after the run: %v", err)
	}
}

// TestTheTrioRefusesAttackers: every way in without the run's private key
// fails, and so does every misuse of a real answer.
func TestTheTrioRefusesAttackers(t *testing.T) {
	ctx := context.Background()

	t.Run("another app client", func(t *testing.T) {
		b := newBed(t)
		_, err := b.flow.AdminInitiateAuth(ctx, &cip.AdminInitiateAuthInput{UserPoolId: aws.String(testPool), ClientId: aws.String(appClient),
			AuthFlow: ctypes.AuthFlowTypeCustomAuth, AuthParameters: map[string]string{"USERNAME": "alice"}})
		if err == nil || !strings.Contains(b.logs.last(), "reason=other_client") {
			t.Errorf("another client: %v, log %q", err, b.logs.last())
		}
		// Even with a valid challenge and answer, Create and Verify refuse
		// another client.
		out := b.start(t, testClient, "alice")
		ch := challengeOf(out, "alice")
		v := events.CognitoEventUserPoolsVerifyAuthChallenge{CognitoEventUserPoolsHeader: b.flow.header(trio.SourceVerify, appClient, "alice")}
		v.Request.UserAttributes, v.Request.PrivateChallengeParameters, v.Request.ChallengeAnswer = b.flow.attrs("alice"), out.ChallengeParameters, b.run.Sign(ch)
		if got, _ := b.h.Verify(ctx, v); got.Response.AnswerCorrect {
			t.Error("Verify accepted an answer through another client")
		}
		c := events.CognitoEventUserPoolsCreateAuthChallenge{CognitoEventUserPoolsHeader: b.flow.header(trio.SourceCreate, appClient, "alice")}
		c.Request.UserAttributes, c.Request.ChallengeName = b.flow.attrs("alice"), trio.ChallengeName
		if got, err := b.h.Create(ctx, c); err == nil || len(got.Response.PublicChallengeParameters) > 0 {
			t.Error("Create made a challenge for another client")
		}
	})

	t.Run("another pool", func(t *testing.T) {
		b := newBed(t)
		d := events.CognitoEventUserPoolsDefineAuthChallenge{CognitoEventUserPoolsHeader: b.flow.header(trio.SourceDefine, testClient, "alice")}
		d.UserPoolID = "us-east-1_Other1"
		if got, _ := b.h.Define(ctx, d); !got.Response.FailAuthentication || got.Response.ChallengeName != "" {
			t.Errorf("Define for another pool: %+v", got.Response)
		}
	})

	t.Run("a wrong answer", func(t *testing.T) {
		b := newBed(t)
		out := b.start(t, testClient, "alice")
		wrong := base64.StdEncoding.EncodeToString(make([]byte, ed25519.SignatureSize))
		if got, err := b.respond(testClient, "alice", out.Session, wrong); err == nil || got != nil {
			t.Fatalf("a wrong answer: %v %v", got, err)
		}
		if !strings.Contains(b.logs.String(), "refused step=verify reason=bad_signature") || !strings.Contains(b.logs.last(), "reason=wrong_answer") {
			t.Errorf("log:\n%s", b.logs)
		}
	})

	t.Run("a replayed answer", func(t *testing.T) {
		b := newBed(t)
		first := b.start(t, testClient, "alice")
		answer := b.run.Sign(challengeOf(first, "alice"))
		if got, err := b.respond(testClient, "alice", first.Session, answer); err != nil || got.AuthenticationResult == nil {
			t.Fatalf("the real answer: %v", err)
		}
		second := b.start(t, testClient, "alice")
		if second.ChallengeParameters[ParamNonce] == first.ChallengeParameters[ParamNonce] {
			t.Fatal("the second challenge has the first one's nonce")
		}
		if got, err := b.respond(testClient, "alice", second.Session, answer); err == nil || got != nil {
			t.Errorf("the first answer, replayed for a new challenge, was accepted: %v", got)
		}
	})

	t.Run("a second try after a wrong one", func(t *testing.T) {
		b := newBed(t)
		results := func(rs ...bool) []*events.CognitoEventUserPoolsChallengeResult {
			var s []*events.CognitoEventUserPoolsChallengeResult
			for _, r := range rs {
				s = append(s, &events.CognitoEventUserPoolsChallengeResult{ChallengeName: trio.ChallengeName, ChallengeResult: r, ChallengeMetadata: trio.MetadataPrefix + b.run.ID})
			}
			return s
		}
		for name, s := range map[string][]*events.CognitoEventUserPoolsChallengeResult{
			"wrong then right": results(false, true), "right twice": results(true, true), "wrong": results(false),
			"another challenge": {{ChallengeName: "PASSWORD_VERIFIER", ChallengeResult: true}},
			"another run's":     {{ChallengeName: trio.ChallengeName, ChallengeResult: true, ChallengeMetadata: trio.MetadataPrefix + "0123456789abcdef0123"}},
		} {
			d := events.CognitoEventUserPoolsDefineAuthChallenge{CognitoEventUserPoolsHeader: b.flow.header(trio.SourceDefine, testClient, "alice")}
			d.Request.UserAttributes, d.Request.Session = b.flow.attrs("alice"), s
			if got, _ := b.h.Define(ctx, d); !got.Response.FailAuthentication || got.Response.IssueTokens || got.Response.ChallengeName != "" {
				t.Errorf("%s: Define answered %+v", name, got.Response)
			}
		}
		c := events.CognitoEventUserPoolsCreateAuthChallenge{CognitoEventUserPoolsHeader: b.flow.header(trio.SourceCreate, testClient, "alice")}
		c.Request.UserAttributes, c.Request.ChallengeName, c.Request.Session = b.flow.attrs("alice"), trio.ChallengeName, results(false)
		if _, err := b.h.Create(ctx, c); err == nil {
			t.Error("Create made a second challenge")
		}
	})

	t.Run("an answer after the challenge expired", func(t *testing.T) {
		b := newBed(t)
		out := b.start(t, testClient, "alice")
		answer := b.run.Sign(challengeOf(out, "alice"))
		b.clock.add(trio.ChallengeTTL + time.Second)
		if got, err := b.respond(testClient, "alice", out.Session, answer); err == nil || got != nil {
			t.Errorf("a late answer was accepted")
		}
		if !strings.Contains(b.logs.String(), "reason=challenge_expired") {
			t.Errorf("log:\n%s", b.logs)
		}
	})

	t.Run("after the run", func(t *testing.T) {
		b := newBed(t)
		out := b.start(t, testClient, "alice")
		answer := b.run.Sign(challengeOf(out, "alice"))
		b.clock.add(time.Hour)
		if got, err := b.respond(testClient, "alice", out.Session, answer); err == nil || got != nil {
			t.Errorf("an answer after the run was accepted")
		}
		if _, err := b.flow.AdminInitiateAuth(ctx, &cip.AdminInitiateAuthInput{UserPoolId: aws.String(testPool), ClientId: aws.String(testClient),
			AuthFlow: ctypes.AuthFlowTypeCustomAuth, AuthParameters: map[string]string{"USERNAME": "alice"}}); err == nil || !strings.Contains(b.logs.last(), "reason=run_expired") {
			t.Errorf("a sign-in after the run: %v (log %q)", err, b.logs.last())
		}
	})

	t.Run("an answer signed by another key", func(t *testing.T) {
		b := newBed(t)
		other, err := NewRun(testPool, time.Hour)
		if err != nil {
			t.Fatal(err)
		}
		out := b.start(t, testClient, "alice")
		if got, err := b.respond(testClient, "alice", out.Session, other.Sign(challengeOf(out, "alice"))); err == nil || got != nil {
			t.Errorf("another key's signature was accepted")
		}
	})

	t.Run("another user's answer", func(t *testing.T) {
		b := newBed(t)
		out := b.start(t, testClient, "alice")
		ch := challengeOf(out, "alice")
		ch.Username, ch.Sub = "bob", b.flow.users["bob"]
		if got, err := b.respond(testClient, "alice", out.Session, b.run.Sign(ch)); err == nil || got != nil {
			t.Errorf("bob's signature signed alice in")
		}
	})

	t.Run("only the public configuration", func(t *testing.T) {
		b := newBed(t)
		env := b.run.Env()
		seed := b.run.private.Seed()
		for k, v := range env {
			for _, enc := range []string{string(seed), base64.StdEncoding.EncodeToString(seed), base64.RawURLEncoding.EncodeToString(seed), hex.EncodeToString(seed),
				base64.StdEncoding.EncodeToString(b.run.private), hex.EncodeToString(b.run.private)} {
				if strings.Contains(v, enc) {
					t.Fatalf("the function's configuration %s holds the private key", k)
				}
			}
		}
		pub, _ := base64.StdEncoding.DecodeString(env[EnvPublicKey])
		_, stranger, _ := ed25519.GenerateKey(rand.Reader)
		for name, answer := range map[string]func(Challenge) string{
			"the public key, twice": func(Challenge) string {
				return base64.StdEncoding.EncodeToString(append(append([]byte{}, pub...), pub...))
			},
			"a stranger's signature": func(ch Challenge) string {
				return base64.StdEncoding.EncodeToString(ed25519.Sign(stranger, ch.Message()))
			},
			"the message":   func(ch Challenge) string { return base64.StdEncoding.EncodeToString(ch.Message()) },
			"the nonce":     func(ch Challenge) string { return ch.Nonce },
			"nothing":       func(Challenge) string { return "" },
			"zeros":         func(Challenge) string { return base64.StdEncoding.EncodeToString(make([]byte, 64)) },
			"the config":    func(Challenge) string { data, _ := json.Marshal(env); return string(data) },
			"a short value": func(Challenge) string { return "AAAA" },
		} {
			out := b.start(t, testClient, "alice")
			if got, err := b.respond(testClient, "alice", out.Session, answer(challengeOf(out, "alice"))); err == nil || got != nil {
				t.Errorf("%s signed alice in", name)
			}
		}
		// A non-string answer, straight to Verify.
		out := b.start(t, testClient, "alice")
		v := events.CognitoEventUserPoolsVerifyAuthChallenge{CognitoEventUserPoolsHeader: b.flow.header(trio.SourceVerify, testClient, "alice")}
		v.Request.UserAttributes, v.Request.PrivateChallengeParameters, v.Request.ChallengeAnswer = b.flow.attrs("alice"), out.ChallengeParameters, map[string]any{"sig": true}
		if got, _ := b.h.Verify(ctx, v); got.Response.AnswerCorrect {
			t.Error("a non-string answer was accepted")
		}
	})
}

// TestTheLogHoldsNoSecret: nonces, answers and tokens never reach the log.
func TestTheLogHoldsNoSecret(t *testing.T) {
	b := newBed(t)
	out := b.start(t, testClient, "alice")
	answer := b.run.Sign(challengeOf(out, "alice"))
	wrong := b.start(t, testClient, "alice")
	_, _ = b.respond(testClient, "alice", wrong.Session, answer)
	got, err := b.respond(testClient, "alice", out.Session, answer)
	if err != nil {
		t.Fatal(err)
	}
	for _, secret := range []string{out.ChallengeParameters[ParamNonce], wrong.ChallengeParameters[ParamNonce], answer, *got.AuthenticationResult.IdToken, *got.AuthenticationResult.RefreshToken} {
		if strings.Contains(b.logs.String(), secret) {
			t.Errorf("the log holds %q:\n%s", secret, b.logs)
		}
	}
	if !strings.Contains(fmtRun(b.run), "tokenmint run ") {
		t.Errorf("a run prints as %q", fmtRun(b.run))
	}
}

func TestNoncesAreFreshAndRandomnessIsRequired(t *testing.T) {
	b := newBed(t)
	seen := map[string]bool{}
	for range 50 {
		n := b.start(t, testClient, "alice").ChallengeParameters[ParamNonce]
		if seen[n] || len(n) < 43 {
			t.Fatalf("nonce %q repeated or short", n)
		}
		seen[n] = true
	}
	b.h.Rand = strings.NewReader("short")
	c := events.CognitoEventUserPoolsCreateAuthChallenge{CognitoEventUserPoolsHeader: b.flow.header(trio.SourceCreate, testClient, "alice")}
	c.Request.UserAttributes, c.Request.ChallengeName = b.flow.attrs("alice"), trio.ChallengeName
	if _, err := b.h.Create(context.Background(), c); err == nil {
		t.Error("Create made a challenge without randomness")
	}
}

func TestHandleRoutesByTriggerSource(t *testing.T) {
	b := newBed(t)
	for _, src := range []string{"UserMigration_Authentication", "PreTokenGeneration_Authentication", ""} {
		raw, _ := json.Marshal(map[string]any{"triggerSource": src, "userPoolId": testPool, "callerContext": map[string]string{"clientId": testClient}})
		if _, err := b.h.Handle(context.Background(), raw); !errors.Is(err, trio.ErrRefused) {
			t.Errorf("source %q: %v", src, err)
		}
	}
	raw, _ := json.Marshal(map[string]any{"triggerSource": trio.SourceDefine, "userPoolId": testPool, "userName": "alice",
		"callerContext": map[string]string{"clientId": testClient}, "request": map[string]any{"userAttributes": map[string]string{"sub": "x"}, "session": []any{}}})
	got, err := b.h.Handle(context.Background(), raw)
	if d, ok := got.(events.CognitoEventUserPoolsDefineAuthChallenge); err != nil || !ok || d.Response.ChallengeName != trio.ChallengeName {
		t.Errorf("define: %+v, %v", got, err)
	}
}

func TestConfigFromEnvRefusesWhatItCannotRunWith(t *testing.T) {
	run, err := NewRun(testPool, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	run.Client = testClient
	now := time.Now()
	for name, change := range map[string]func(map[string]string){
		"no pool":             func(e map[string]string) { delete(e, EnvPool) },
		"no client":           func(e map[string]string) { delete(e, EnvClient) },
		"no run":              func(e map[string]string) { delete(e, EnvRun) },
		"a short key":         func(e map[string]string) { e[EnvPublicKey] = base64.StdEncoding.EncodeToString(make([]byte, 16)) },
		"no expiry":           func(e map[string]string) { delete(e, EnvExpires) },
		"an expiry far ahead": func(e map[string]string) { e[EnvExpires] = "99999999999" },
	} {
		env := run.Env()
		change(env)
		if _, err := trio.ConfigFromEnv(func(k string) string { return env[k] }, now); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	if _, err := trio.ConfigFromEnv(func(k string) string { return run.Env()[k] }, now); err != nil {
		t.Errorf("the run's own: %v", err)
	}
}

func fmtRun(r *Run) string { return fmt.Sprintf("%v %+v %#v %v", *r, *r, *r, r) }
