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
	"strconv"
	"strings"
	"time"

	cip "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider"
	ctypes "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider/types"
	"golang.org/x/time/rate"
)

// API is the part of the Cognito API Mint calls;
// *cognitoidentityprovider.Client satisfies it. Give it a client whose
// retryer rides out throttling, as the commands' clients do.
type API interface {
	AdminInitiateAuth(ctx context.Context, in *cip.AdminInitiateAuthInput, optFns ...func(*cip.Options)) (*cip.AdminInitiateAuthOutput, error)
	AdminRespondToAuthChallenge(ctx context.Context, in *cip.AdminRespondToAuthChallengeInput, optFns ...func(*cip.Options)) (*cip.AdminRespondToAuthChallengeOutput, error)
	RevokeToken(ctx context.Context, in *cip.RevokeTokenInput, optFns ...func(*cip.Options)) (*cip.RevokeTokenOutput, error)
}

// DefaultRate paces Mint's calls (three a token) well under Cognito's
// UserAuthentication quota (120 requests a second by default, per account
// and Region, shared with the app's own sign-ins).
const DefaultRate = 30

// Run is one run's key pair and settings. The private key lives only in
// this value: nothing writes it, and String and the JSON of Config never
// show it.
type Run struct {
	ID      string
	Pool    string
	Client  string // the tool's app client (set once tokenmint/deploy made it)
	Expires time.Time
	// Limiter paces Mint (default: DefaultRate calls a second).
	Limiter *rate.Limiter
	// Now is the clock (default time.Now).
	Now func() time.Time

	public  ed25519.PublicKey
	private ed25519.PrivateKey
}

// NewRun makes a run for pool that ends after ttl (at most MaxRunTime): a
// fresh Ed25519 key pair and run id from crypto/rand, in memory.
func NewRun(pool string, ttl time.Duration) (*Run, error) {
	if ttl <= 0 || ttl > MaxRunTime {
		return nil, fmt.Errorf("a run lasts between 0 and %s, not %s", MaxRunTime, ttl)
	}
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("make the run's key: %w", err)
	}
	id := make([]byte, 16)
	if _, err := rand.Read(id); err != nil {
		return nil, fmt.Errorf("make the run's id: %w", err)
	}
	return &Run{ID: hex.EncodeToString(id), Pool: pool, Expires: time.Now().Add(ttl).Truncate(time.Second),
		Limiter: rate.NewLimiter(DefaultRate, 1), public: pub, private: priv}, nil
}

// String and GoString name the run, never its key (fmt would print the
// unexported fields of a Run value).
func (r Run) String() string { return "tokenmint run " + r.ID }

// GoString is String, for %#v.
func (r Run) GoString() string { return r.String() }

// Config is the function's configuration for this run: the public key only.
func (r *Run) Config() Config {
	return Config{PoolID: r.Pool, ClientID: r.Client, RunID: r.ID, PublicKey: r.public, Expires: r.Expires}
}

// Env is the function's environment for this run.
func (r *Run) Env() map[string]string { return r.Config().Env() }

// Sign answers a challenge: the base64 of the run key's signature over its
// Message.
func (r *Run) Sign(ch Challenge) string {
	return base64.StdEncoding.EncodeToString(ed25519.Sign(r.private, ch.Message()))
}

// ErrRunExpired: the run's time is over; the function refuses everything.
var ErrRunExpired = errors.New("the token run has expired")

// Mint signs username in through the run's app client and returns the ID
// token: AdminInitiateAuth(CUSTOM_AUTH), the signature over the challenge's
// nonce, AdminRespondToAuthChallenge, then RevokeToken on the refresh
// token. The access and refresh tokens are dropped; nothing is written
// anywhere. username must be the user's username in the pool (not an
// alias): the challenge names the user Cognito resolved, and Mint signs only
// for the user it asked for.
func (r *Run) Mint(ctx context.Context, api API, username string) (string, error) {
	if username == "" || r.Client == "" || r.private == nil {
		return "", errors.New("mint a token: the run has no app client or key, or no username was given")
	}
	if !r.now().Before(r.Expires) {
		return "", ErrRunExpired
	}
	if err := r.wait(ctx); err != nil {
		return "", err
	}
	start, err := api.AdminInitiateAuth(ctx, &cip.AdminInitiateAuthInput{UserPoolId: &r.Pool, ClientId: &r.Client,
		AuthFlow: ctypes.AuthFlowTypeCustomAuth, AuthParameters: map[string]string{"USERNAME": username}})
	if err != nil {
		return "", fmt.Errorf("start the custom sign-in of %s: %w", username, err)
	}
	p := start.ChallengeParameters
	if start.ChallengeName != ctypes.ChallengeNameTypeCustomChallenge || start.Session == nil || start.AuthenticationResult != nil {
		return "", fmt.Errorf("start the custom sign-in of %s: Cognito answered %q, not the run's challenge: is the pool's custom-auth trio the tool's (tokenmint/deploy status)?", username, start.ChallengeName)
	}
	if p[ParamRun] != r.ID || p[ParamNonce] == "" || p[ParamSub] == "" {
		return "", fmt.Errorf("start the custom sign-in of %s: the challenge is not this run's: another custom-auth trio answered", username)
	}
	if u := p["USERNAME"]; u != "" && u != username {
		return "", fmt.Errorf("start the custom sign-in of %s: Cognito resolved it to the user %s: give the username, not an alias", username, u)
	}
	expires, err := strconv.ParseInt(p[ParamExpires], 10, 64)
	if err != nil {
		return "", fmt.Errorf("start the custom sign-in of %s: the challenge has no expiry", username)
	}
	answer := r.Sign(Challenge{RunID: r.ID, PoolID: r.Pool, ClientID: r.Client, Username: username, Sub: p[ParamSub], Nonce: p[ParamNonce], Expires: expires})
	if err := r.wait(ctx); err != nil {
		return "", err
	}
	done, err := api.AdminRespondToAuthChallenge(ctx, &cip.AdminRespondToAuthChallengeInput{UserPoolId: &r.Pool, ClientId: &r.Client,
		ChallengeName: ctypes.ChallengeNameTypeCustomChallenge, Session: start.Session,
		ChallengeResponses: map[string]string{"USERNAME": username, "ANSWER": answer}})
	if err != nil {
		return "", fmt.Errorf("answer the custom sign-in of %s: %w", username, err)
	}
	res := done.AuthenticationResult
	if res == nil || res.IdToken == nil || *res.IdToken == "" {
		return "", fmt.Errorf("answer the custom sign-in of %s: Cognito gave no tokens (challenge %q)", username, done.ChallengeName)
	}
	// The token is the user's the run asked for, from the run's client (a
	// check of what Cognito answered; the caller's relying party verifies
	// the signature).
	if why := tokenMismatch(*res.IdToken, p[ParamSub], r.Client); why != "" {
		err = fmt.Errorf("the ID token minted for %s %s: dropped", username, why)
	}
	if res.RefreshToken != nil && *res.RefreshToken != "" {
		if err := r.wait(ctx); err != nil {
			return "", err
		}
		if _, err := api.RevokeToken(ctx, &cip.RevokeTokenInput{ClientId: &r.Client, Token: res.RefreshToken}); err != nil {
			// The ID token is dropped too: a caller that goes on would
			// leave a live refresh token behind without knowing it.
			return "", fmt.Errorf("revoke the refresh token minted for %s: %w (it stays valid until it expires, at most the app client's refresh validity)", username, err)
		}
	}
	if err != nil {
		return "", err
	}
	return *res.IdToken, nil
}

// tokenMismatch says how an ID token's claims differ from the user and
// client it was minted for ("" when they do not). It reads the claims
// only; it does not verify the signature.
func tokenMismatch(token, sub, client string) string {
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		return "is not a JWT"
	}
	body, err := base64.RawURLEncoding.DecodeString(parts[1])
	var claims struct {
		Sub      string `json:"sub"`
		Aud      string `json:"aud"`
		TokenUse string `json:"token_use"`
	}
	if err != nil || json.Unmarshal(body, &claims) != nil {
		return "has no readable claims"
	}
	if claims.Sub != sub || claims.Aud != client || claims.TokenUse != "id" {
		return fmt.Sprintf("is for sub %q, client %q, use %q, not the challenged user through the run's client", claims.Sub, claims.Aud, claims.TokenUse)
	}
	return ""
}

func (r *Run) wait(ctx context.Context) error {
	if r.Limiter == nil {
		return ctx.Err()
	}
	return r.Limiter.Wait(ctx)
}

func (r *Run) now() time.Time {
	if r.Now != nil {
		return r.Now()
	}
	return time.Now()
}
