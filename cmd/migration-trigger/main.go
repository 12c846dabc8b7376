// Command migration-trigger is the new user pool's user migration Lambda
// (package trigger), built as the `bootstrap` of the provided.al2023
// runtime by `poolmigrate trigger build`. Settings come from its
// environment: OLD_USER_POOL_ID, OLD_APP_CLIENT_ID, optional
// CARRY_ATTRIBUTES and CASE_COLLISIONS, and the AWS SDK's own variables.
package main

import (
	"context"
	"log"
	"os"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-sdk-go-v2/config"
	cip "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider"

	"github.com/poolmigrate/poolmigrate/trigger"
)

func main() {
	log.SetFlags(0)
	cfg, err := trigger.ConfigFromEnv(os.Getenv)
	if err != nil {
		log.Fatal(err)
	}
	// At most one retry per call: the handler has 4 seconds in all
	// (trigger.DefaultBudget), not room for the SDK's default three
	// attempts with backoff.
	aws, err := config.LoadDefaultConfig(context.Background(), config.WithRetryMaxAttempts(2))
	if err != nil {
		log.Fatal(err)
	}
	h := &trigger.Handler{Pool: cip.NewFromConfig(aws), Config: cfg}
	lambda.Start(h.Handle)
}
