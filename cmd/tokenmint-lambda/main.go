// Command tokenmint-lambda is the tool's custom-auth function (package
// tokenmint/trio): one binary answering a pool's DefineAuthChallenge,
// CreateAuthChallenge and VerifyAuthChallengeResponse triggers, built as
// the `bootstrap` of the provided.al2023 runtime. Its settings come from its
// environment (trio.Env*), all public: the pool, the tool's app
// client, the run, the run's Ed25519 public key and its expiry. It calls no
// AWS API.
package main

import (
	"log"
	"os"
	"time"

	"github.com/aws/aws-lambda-go/lambda"

	"github.com/poolmigrate/poolmigrate/tokenmint/trio"
)

func main() {
	log.SetFlags(0)
	cfg, err := trio.ConfigFromEnv(os.Getenv, time.Now())
	if err != nil {
		log.Fatal(err)
	}
	h := &trio.Handler{Config: cfg}
	lambda.Start(h.Handle)
}
