// Package trio is the Lambda side of package tokenmint: one handler for a
// pool's DefineAuthChallenge, CreateAuthChallenge and
// VerifyAuthChallengeResponse triggers (built as cmd/tokenmint-lambda),
// and the configuration and signed message it shares with the operator's
// side. It imports no AWS API client: the function calls none.
//
// It fails closed. It answers only the run's own app client and pool
// (Config); a challenge is a fresh 256-bit nonce from crypto/rand, bound to
// the run and an expiry; the only accepted answer is an Ed25519 signature,
// by the run's private key, over a domain-separated message naming the
// run, the pool, the client, the user (username and sub, as Cognito gives
// them to the trigger), the nonce and the expiry (Challenge.Message); one
// try: Define fails the session after any wrong answer or a second
// challenge; nothing after the run's expiry. Its configuration holds only
// the public key, so whoever reads it (or the function's code) can verify
// answers but not make one. Logs carry reason codes and the user's sub,
// never the answer, the nonce or a token.
package trio

import (
	"crypto/ed25519"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// The trigger sources Cognito sends in the custom authentication flow.
const (
	SourceDefine = "DefineAuthChallenge_Authentication"
	SourceCreate = "CreateAuthChallenge_Authentication"
	SourceVerify = "VerifyAuthChallengeResponse_Authentication"
)

// ChallengeName is the one challenge the flow uses.
const ChallengeName = "CUSTOM_CHALLENGE"

// The challenge parameters Create sets (public: the caller sees them;
// private: only Verify does).
const (
	ParamNonce   = "nonce"
	ParamRun     = "run"
	ParamExpires = "expires" // unix seconds
	ParamSub     = "sub"
)

// The function's environment (Env, ConfigFromEnv).
const (
	EnvPool      = "TOKENMINT_POOL_ID"
	EnvClient    = "TOKENMINT_CLIENT_ID"
	EnvRun       = "TOKENMINT_RUN_ID"
	EnvPublicKey = "TOKENMINT_PUBLIC_KEY" // base64 (standard) of the 32-byte Ed25519 public key
	EnvExpires   = "TOKENMINT_EXPIRES"    // unix seconds
)

// ChallengeTTL is how long one challenge may be answered: Cognito's own
// session lasts three minutes by default.
const ChallengeTTL = 3 * time.Minute

// MaxRunTime bounds a run: a configuration whose expiry lies further ahead
// is refused, so a forgotten deployment stops answering within a day.
const MaxRunTime = 24 * time.Hour

// domain separates the signed message from every other use of Ed25519.
const domain = "poolmigrate-tokenmint-v1"

// Config is the function's settings: all public.
type Config struct {
	PoolID    string
	ClientID  string
	RunID     string
	PublicKey ed25519.PublicKey
	Expires   time.Time
}

var (
	runIDRE  = regexp.MustCompile(`^[a-z0-9]{16,64}$`)
	poolIDRE = regexp.MustCompile(`^[\w-]+_[0-9a-zA-Z]+$`)
	clientRE = regexp.MustCompile(`^[\w+]{1,128}$`)
)

// ConfigFromEnv reads the function's settings. Anything missing or
// malformed is an error: the function then fails to start, and every sign-in
// through it fails.
func ConfigFromEnv(getenv func(string) string, now time.Time) (Config, error) {
	c := Config{PoolID: getenv(EnvPool), ClientID: getenv(EnvClient), RunID: getenv(EnvRun)}
	key, err := base64.StdEncoding.DecodeString(getenv(EnvPublicKey))
	if err != nil || len(key) != ed25519.PublicKeySize {
		return c, fmt.Errorf("%s must be the base64 of a %d-byte Ed25519 public key", EnvPublicKey, ed25519.PublicKeySize)
	}
	c.PublicKey = ed25519.PublicKey(key)
	secs, err := strconv.ParseInt(getenv(EnvExpires), 10, 64)
	if err != nil {
		return c, fmt.Errorf("%s must be a time in unix seconds", EnvExpires)
	}
	c.Expires = time.Unix(secs, 0)
	return c, c.Validate(now)
}

// Validate refuses a configuration the function must not run with.
func (c Config) Validate(now time.Time) error {
	switch {
	case !poolIDRE.MatchString(c.PoolID):
		return fmt.Errorf("%s %q is not a user pool id", EnvPool, c.PoolID)
	case !clientRE.MatchString(c.ClientID):
		return fmt.Errorf("%s %q is not an app client id", EnvClient, c.ClientID)
	case !runIDRE.MatchString(c.RunID):
		return fmt.Errorf("%s must be 16-64 lowercase letters and digits", EnvRun)
	case len(c.PublicKey) != ed25519.PublicKeySize:
		return fmt.Errorf("%s is not an Ed25519 public key", EnvPublicKey)
	case c.Expires.After(now.Add(MaxRunTime)):
		return fmt.Errorf("%s lies more than %s ahead", EnvExpires, MaxRunTime)
	}
	return nil
}

// Env is the function's environment for c.
func (c Config) Env() map[string]string {
	return map[string]string{
		EnvPool: c.PoolID, EnvClient: c.ClientID, EnvRun: c.RunID,
		EnvPublicKey: base64.StdEncoding.EncodeToString(c.PublicKey),
		EnvExpires:   strconv.FormatInt(c.Expires.Unix(), 10),
	}
}

// Challenge is what one answer is bound to.
type Challenge struct {
	RunID, PoolID, ClientID string
	Username, Sub           string
	Nonce                   string
	Expires                 int64 // unix seconds
}

// Message is the byte string the run's key signs for a challenge: the
// domain, then every field with its length, so no two challenges give
// the same bytes.
func (ch Challenge) Message() []byte {
	var b []byte
	for _, f := range []string{domain, ch.RunID, ch.PoolID, ch.ClientID, ch.Username, ch.Sub, ch.Nonce, strconv.FormatInt(ch.Expires, 10)} {
		b = binary.BigEndian.AppendUint32(b, uint32(len(f)))
		b = append(b, f...)
	}
	return b
}

// errAnswer: an answer that is not a signature's encoding.
var errAnswer = errors.New("answer is not a base64 Ed25519 signature")

// decodeAnswer reads an answer: the standard base64 of a 64-byte signature.
func decodeAnswer(answer any) ([]byte, error) {
	s, ok := answer.(string)
	if !ok || len(s) != base64.StdEncoding.EncodedLen(ed25519.SignatureSize) {
		return nil, errAnswer
	}
	sig, err := base64.StdEncoding.DecodeString(s)
	if err != nil || len(sig) != ed25519.SignatureSize {
		return nil, errAnswer
	}
	return sig, nil
}

// safe keeps what a log line may show of a value (a sub, a trigger source)
// to letters, digits and _.:-.
func safe(s string) string {
	if len(s) > 64 {
		s = s[:64]
	}
	return strings.Map(func(r rune) rune {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '_', r == '.', r == ':', r == '-':
			return r
		}
		return '?'
	}, s)
}
