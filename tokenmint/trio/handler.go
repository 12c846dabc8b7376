package trio

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"log"
	"strconv"
	"time"

	"github.com/aws/aws-lambda-go/events"
)

// ErrRefused is the function's one error: Cognito turns it into a failed
// sign-in for the caller; the log says why.
var ErrRefused = errors.New("not authorized")

// MetadataPrefix marks the challenges this run created (Cognito hands each
// challenge's metadata back to Define in the session).
const MetadataPrefix = "POOLMIGRATE_TOKENMINT:"

// Handler answers the three custom-auth triggers.
type Handler struct {
	Config Config
	// Now is the clock (default time.Now); Rand the nonces' source
	// (default crypto/rand); Logf the log (default log.Printf). Tests set
	// their own.
	Now  func() time.Time
	Rand io.Reader
	Logf func(format string, args ...any)
}

// Handle answers one event, by its triggerSource. Anything but the three
// sources is refused.
func (h *Handler) Handle(ctx context.Context, raw json.RawMessage) (any, error) {
	var head events.CognitoEventUserPoolsHeader
	if err := json.Unmarshal(raw, &head); err != nil {
		h.logf("refused step=decode reason=bad_event")
		return nil, ErrRefused
	}
	switch head.TriggerSource {
	case SourceDefine:
		var ev events.CognitoEventUserPoolsDefineAuthChallenge
		if err := json.Unmarshal(raw, &ev); err != nil {
			h.logf("refused step=define reason=bad_event")
			return nil, ErrRefused
		}
		return h.Define(ctx, ev)
	case SourceCreate:
		var ev events.CognitoEventUserPoolsCreateAuthChallenge
		if err := json.Unmarshal(raw, &ev); err != nil {
			h.logf("refused step=create reason=bad_event")
			return nil, ErrRefused
		}
		return h.Create(ctx, ev)
	case SourceVerify:
		var ev events.CognitoEventUserPoolsVerifyAuthChallenge
		if err := json.Unmarshal(raw, &ev); err != nil {
			h.logf("refused step=verify reason=bad_event")
			return nil, ErrRefused
		}
		return h.Verify(ctx, ev)
	}
	h.logf("refused step=other reason=not_custom_auth source=%s", safe(head.TriggerSource))
	return nil, ErrRefused
}

// check is what every step checks first: the run's pool and app client, a
// user that exists, and the run's expiry. It returns a reason code, or "".
func (h *Handler) check(head events.CognitoEventUserPoolsHeader, userNotFound bool) string {
	switch {
	case head.UserPoolID != h.Config.PoolID:
		return "other_pool"
	case head.CallerContext.ClientID != h.Config.ClientID:
		return "other_client"
	case userNotFound:
		return "user_not_found"
	case !h.now().Before(h.Config.Expires):
		return "run_expired"
	}
	return ""
}

// Define runs the session: one CUSTOM_CHALLENGE of this run, answered
// right, issues tokens; anything else fails the sign-in.
func (h *Handler) Define(_ context.Context, ev events.CognitoEventUserPoolsDefineAuthChallenge) (events.CognitoEventUserPoolsDefineAuthChallenge, error) {
	sub := ev.Request.UserAttributes["sub"]
	fail := func(reason string) (events.CognitoEventUserPoolsDefineAuthChallenge, error) {
		h.logf("refused step=define reason=%s sub=%s", reason, safe(sub))
		ev.Response = events.CognitoEventUserPoolsDefineAuthChallengeResponse{FailAuthentication: true}
		return ev, nil
	}
	if why := h.check(ev.CognitoEventUserPoolsHeader, ev.Request.UserNotFound); why != "" {
		return fail(why)
	}
	switch s := ev.Request.Session; {
	case len(s) == 0:
		ev.Response = events.CognitoEventUserPoolsDefineAuthChallengeResponse{ChallengeName: ChallengeName}
		return ev, nil
	case len(s) > 1:
		return fail("second_try")
	case s[0] == nil || s[0].ChallengeName != ChallengeName || s[0].ChallengeMetadata != MetadataPrefix+h.Config.RunID:
		return fail("other_challenge")
	case !s[0].ChallengeResult:
		return fail("wrong_answer")
	}
	h.logf("issued sub=%s", safe(sub))
	ev.Response = events.CognitoEventUserPoolsDefineAuthChallengeResponse{IssueTokens: true}
	return ev, nil
}

// Create makes the one challenge: a fresh nonce, the run and an expiry,
// given to the caller to sign and kept privately for Verify.
func (h *Handler) Create(_ context.Context, ev events.CognitoEventUserPoolsCreateAuthChallenge) (events.CognitoEventUserPoolsCreateAuthChallenge, error) {
	sub := ev.Request.UserAttributes["sub"]
	refuse := func(reason string) (events.CognitoEventUserPoolsCreateAuthChallenge, error) {
		h.logf("refused step=create reason=%s sub=%s", reason, safe(sub))
		ev.Response = events.CognitoEventUserPoolsCreateAuthChallengeResponse{}
		return ev, ErrRefused
	}
	if why := h.check(ev.CognitoEventUserPoolsHeader, ev.Request.UserNotFound); why != "" {
		return refuse(why)
	}
	if ev.Request.ChallengeName != ChallengeName {
		return refuse("other_challenge")
	}
	if len(ev.Request.Session) > 0 {
		return refuse("second_try")
	}
	if sub == "" || ev.UserName == "" {
		return refuse("no_identity")
	}
	nonce := make([]byte, 32)
	r := h.Rand
	if r == nil {
		r = rand.Reader
	}
	if _, err := io.ReadFull(r, nonce); err != nil {
		return refuse("no_randomness")
	}
	expires := h.now().Add(ChallengeTTL)
	if h.Config.Expires.Before(expires) {
		expires = h.Config.Expires
	}
	params := map[string]string{
		ParamNonce:   base64.RawURLEncoding.EncodeToString(nonce),
		ParamRun:     h.Config.RunID,
		ParamExpires: strconv.FormatInt(expires.Unix(), 10),
		ParamSub:     sub,
	}
	public := map[string]string{}
	for k, v := range params {
		public[k] = v
	}
	ev.Response = events.CognitoEventUserPoolsCreateAuthChallengeResponse{
		PublicChallengeParameters: public, PrivateChallengeParameters: params,
		ChallengeMetadata: MetadataPrefix + h.Config.RunID,
	}
	h.logf("challenged sub=%s", safe(sub))
	return ev, nil
}

// Verify accepts only the run key's signature over this challenge, before
// the challenge's and the run's expiry.
func (h *Handler) Verify(_ context.Context, ev events.CognitoEventUserPoolsVerifyAuthChallenge) (events.CognitoEventUserPoolsVerifyAuthChallenge, error) {
	sub := ev.Request.UserAttributes["sub"]
	ev.Response.AnswerCorrect = false
	wrong := func(reason string) (events.CognitoEventUserPoolsVerifyAuthChallenge, error) {
		h.logf("refused step=verify reason=%s sub=%s", reason, safe(sub))
		ev.Response.AnswerCorrect = false
		return ev, nil
	}
	if why := h.check(ev.CognitoEventUserPoolsHeader, ev.Request.UserNotFound); why != "" {
		return wrong(why)
	}
	p := ev.Request.PrivateChallengeParameters
	if p[ParamRun] != h.Config.RunID || p[ParamNonce] == "" || sub == "" || ev.UserName == "" || p[ParamSub] != sub {
		return wrong("other_challenge")
	}
	expires, err := strconv.ParseInt(p[ParamExpires], 10, 64)
	if err != nil || !h.now().Before(time.Unix(expires, 0)) || time.Unix(expires, 0).After(h.Config.Expires) {
		return wrong("challenge_expired")
	}
	sig, err := decodeAnswer(ev.Request.ChallengeAnswer)
	if err != nil {
		return wrong("malformed_answer")
	}
	ch := Challenge{RunID: h.Config.RunID, PoolID: h.Config.PoolID, ClientID: h.Config.ClientID,
		Username: ev.UserName, Sub: sub, Nonce: p[ParamNonce], Expires: expires}
	if !ed25519.Verify(h.Config.PublicKey, ch.Message(), sig) {
		return wrong("bad_signature")
	}
	h.logf("verified sub=%s", safe(sub))
	ev.Response.AnswerCorrect = true
	return ev, nil
}

func (h *Handler) now() time.Time {
	if h.Now != nil {
		return h.Now()
	}
	return time.Now()
}

func (h *Handler) logf(format string, args ...any) {
	if h.Logf != nil {
		h.Logf(format, args...)
		return
	}
	log.Printf(format, args...)
}
