// Package tokenmint gets an ID token for a user of a pool without the
// user's password, for one run of the tool, through Cognito's custom
// authentication flow (CUSTOM_AUTH).
//
// Two halves. The Lambda side (package trio, built from
// cmd/tokenmint-lambda) answers the pool's DefineAuthChallenge,
// CreateAuthChallenge and VerifyAuthChallengeResponse triggers. The
// operator's side is here: Run holds the run's Ed25519 key pair, generated
// in memory by NewRun (the private key is never written anywhere and never
// leaves the process), and Run.Mint signs one user in:
// AdminInitiateAuth(CUSTOM_AUTH) → the challenge's fresh nonce → an Ed25519
// signature over it → AdminRespondToAuthChallenge → tokens; it revokes the
// refresh token at once and returns only the ID token, which it never
// writes anywhere. Package tokenmint/deploy puts the trio on a pool for the
// run and takes it away.
//
//	run, err := tokenmint.NewRun(pool, 2*time.Hour)            // key pair in memory
//	res, err := deploy.Deploy(ctx, apis, deploy.Options{Pool: pool, Run: run, Zip: zip, …}) // sets run.Client
//	defer deploy.Remove(ctx, apis, deploy.Options{Pool: pool, …})
//	idToken, err := run.Mint(ctx, cognitoClient, username)     // safe from several goroutines
//
// Side effects an operator should know: every token minted runs the pool's
// PreTokenGeneration and PostAuthentication triggers (if it has them) and
// appears as a sign-in in the pool's logs and the user's auth events.
package tokenmint

import "github.com/poolmigrate/poolmigrate/tokenmint/trio"

// Config is the function's configuration (all public).
type Config = trio.Config

// Challenge is what one answer is bound to.
type Challenge = trio.Challenge

// The challenge parameters the caller reads, the function's environment,
// and the longest run.
const (
	ParamNonce   = trio.ParamNonce
	ParamRun     = trio.ParamRun
	ParamExpires = trio.ParamExpires
	ParamSub     = trio.ParamSub

	EnvPool      = trio.EnvPool
	EnvClient    = trio.EnvClient
	EnvRun       = trio.EnvRun
	EnvPublicKey = trio.EnvPublicKey
	EnvExpires   = trio.EnvExpires

	MaxRunTime = trio.MaxRunTime
)
