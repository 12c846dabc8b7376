package trigger

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	cip "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider"
	"github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider/types"
	"github.com/aws/smithy-go"
)

// A right password is not enough: whatever challenge the old pool asks
// for, including ones that do not exist yet, the user is refused like a
// wrong password, by username and by e-mail.
func TestEveryChallengeIsRefused(t *testing.T) {
	challenges := []types.ChallengeNameType{
		types.ChallengeNameTypeSmsMfa, types.ChallengeNameTypeSoftwareTokenMfa, "EMAIL_OTP", types.ChallengeNameTypeSelectMfaType,
		types.ChallengeNameTypeMfaSetup, types.ChallengeNameTypeCustomChallenge, types.ChallengeNameTypeNewPasswordRequired,
		types.ChallengeNameTypeDevicePasswordVerifier, "SOME_FUTURE_CHALLENGE",
	}
	for _, ch := range challenges {
		for _, typed := range []string{"alice", "alice@example.com"} {
			t.Run(string(ch)+"/"+typed, func(t *testing.T) {
				pool := &fakePool{t: t, users: oldPoolUsers()}
				pool.users["alice"].challenge = ch
				h, logs := handlerFor(pool)
				out, err := h.Handle(context.Background(), migrateEvent(SourceAuthentication, typed, "Secret-1a!"))
				if err != ErrRefused || len(out.CognitoEventUserPoolsMigrateUserResponse.UserAttributes) != 0 || out.CognitoEventUserPoolsMigrateUserResponse.FinalUserStatus != "" {
					t.Errorf("challenge %s let the user in: %v %+v", ch, err, out.CognitoEventUserPoolsMigrateUserResponse)
				}
				if !strings.Contains(logs.String(), "reason=challenge:"+string(ch)+" ") {
					t.Errorf("log:\n%s", logs.String())
				}
				if strings.Contains(logs.String(), "session-never-logged") {
					t.Errorf("the session reached the log:\n%s", logs.String())
				}
			})
		}
	}
}

// Answers that are neither tokens nor a clean challenge are refusals too.
func TestOddSignInAnswersAreRefused(t *testing.T) {
	for name, answer := range map[string]*cip.AdminInitiateAuthOutput{
		"tokens and a challenge": {ChallengeName: types.ChallengeNameTypeSmsMfa, AuthenticationResult: &types.AuthenticationResultType{AccessToken: ptr("t")}},
		"neither":                {},
		"a session alone":        {Session: ptr("s")},
		"a result without token": {AuthenticationResult: &types.AuthenticationResultType{}},
	} {
		t.Run(name, func(t *testing.T) {
			pool := &fakePool{t: t, users: oldPoolUsers(), answer: answer}
			h, _ := handlerFor(pool)
			if out, err := h.Handle(context.Background(), migrateEvent(SourceAuthentication, "alice", "Secret-1a!")); err != ErrRefused || out.CognitoEventUserPoolsMigrateUserResponse.UserAttributes != nil {
				t.Errorf("%v %+v", err, out.CognitoEventUserPoolsMigrateUserResponse)
			}
		})
	}
}

// A slow old pool cannot hold the trigger past its budget: every call
// carries the one deadline, and the user is refused when it passes.
func TestSlowPoolIsRefusedWithinTheBudget(t *testing.T) {
	for _, c := range []struct {
		name   string
		budget time.Duration
		parent time.Duration // the function's own deadline, 0 = none
		want   time.Duration // the latest deadline the calls may carry
	}{
		{"the handler's budget", 40 * time.Millisecond, 0, 40 * time.Millisecond},
		{"the default budget", 0, 0, DefaultBudget},
		{"the function's deadline comes first", time.Minute, 300 * time.Millisecond, 300*time.Millisecond - lambdaMargin},
	} {
		t.Run(c.name, func(t *testing.T) {
			pool := &fakePool{t: t, users: oldPoolUsers(), slow: true}
			h, logs := handlerFor(pool)
			h.Budget = c.budget
			ctx := context.Background()
			start := time.Now()
			if c.parent > 0 {
				var cancel context.CancelFunc
				ctx, cancel = context.WithDeadline(ctx, start.Add(c.parent))
				defer cancel()
			}
			if c.name == "the default budget" {
				// Not waited for: the call is checked, then let go.
				var cancel context.CancelFunc
				ctx, cancel = context.WithCancel(ctx)
				time.AfterFunc(10*time.Millisecond, cancel)
			}
			_, err := h.Handle(ctx, migrateEvent(SourceAuthentication, "alice", "Secret-1a!"))
			end := time.Now()
			if err != ErrRefused {
				t.Fatalf("a slow pool: %v", err)
			}
			if len(pool.calls) == 0 {
				t.Fatal("no call made")
			}
			for _, call := range pool.calls {
				// The handler starts between start and end: its deadline
				// is at most want after that.
				if !call.hasDeadline || call.deadline.After(end.Add(c.want)) {
					t.Errorf("%s: deadline %v after the start, want at most %v after the handler's", call.op, call.deadline.Sub(start), c.want)
				}
			}
			if c.name != "the default budget" && !strings.Contains(logs.String(), "reason=lookup_error code=deadline") {
				t.Errorf("log:\n%s", logs.String())
			}
		})
	}
}

// Look-ups may be retried once; the sign-in, which counts failed
// attempts and may send a code, never.
func TestRetriesAtMostOnce(t *testing.T) {
	pool := &fakePool{t: t, users: oldPoolUsers()}
	h, _ := handlerFor(pool)
	for _, ev := range [][3]string{{SourceAuthentication, "crowd@example.com", "Gina-Pass-1!"}, {SourceForgotPassword, "sms@example.com", ""}} {
		_, _ = h.Handle(context.Background(), migrateEvent(ev[0], ev[1], ev[2]))
	}
	seen := map[string]bool{}
	for _, c := range pool.calls {
		seen[c.op] = true
		want := 2
		if c.op == "AdminInitiateAuth" {
			want = 1
		}
		if c.maxAttempts != want {
			t.Errorf("%s: %d attempts allowed, want %d", c.op, c.maxAttempts, want)
		}
	}
	if !seen["AdminGetUser"] || !seen["ListUsers"] || !seen["AdminInitiateAuth"] {
		t.Errorf("calls: %+v", pool.calls)
	}
}

// An AWS error may echo what was typed: the log keeps its code only.
func TestLookupErrorsLogTheirCodeOnly(t *testing.T) {
	echo := &smithy.GenericAPIError{Code: "InternalErrorException", Message: "failed for alice@example.com with Secret-1a!"}
	for _, op := range []string{"AdminGetUser", "ListUsers", "AdminInitiateAuth"} {
		t.Run(op, func(t *testing.T) {
			pool := &fakePool{t: t, users: oldPoolUsers(), fail: map[string]error{op: echo}}
			if op == "ListUsers" {
				pool.fail["AdminGetUser"] = &types.UserNotFoundException{Message: ptr("alice@example.com")}
			}
			h, logs := handlerFor(pool)
			_, err := h.Handle(context.Background(), migrateEvent(SourceAuthentication, "alice@example.com", "Secret-1a!"))
			if err != ErrRefused {
				t.Fatalf("%v", err)
			}
			want := "reason=lookup_error code=InternalErrorException"
			if op == "AdminInitiateAuth" {
				want = "reason=auth_error code=InternalErrorException"
			}
			if !strings.Contains(logs.String(), want) || strings.Contains(logs.String(), "alice") || strings.Contains(logs.String(), "Secret") {
				t.Errorf("log:\n%s", logs.String())
			}
		})
	}
	if got := errorCode(errors.New("dial tcp: lookup alice@example.com")); got != "transport" {
		t.Errorf("a transport error logged as %q", got)
	}
	if got := safe("Code\nreason=forged alice"); strings.ContainsAny(got, "\n= ") {
		t.Errorf("safe let through %q", got)
	}
}
