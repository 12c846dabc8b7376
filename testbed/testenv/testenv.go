// Package testenv gives tests the test bed started by testbed/testbed.sh:
// SDK clients built with config.LoadDefaultConfig from the environment the
// script writes (AWS_ENDPOINT_URL_DYNAMODB, AWS_ENDPOINT_URL_COGNITO_IDENTITY_PROVIDER),
// exactly as a user pointing poolmigrate at emulators would, plus helpers
// that plant fixture pools.
package testenv

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"os"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/ratelimit"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/config"
	cip "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider"
	"github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider/types"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
)

// Env is the running test bed.
type Env struct {
	Config aws.Config
	// Cognito talks to the Cognito shim, which forwards to cognito-local.
	Cognito *cip.Client
	// Local talks to cognito-local directly, for planting fixtures the
	// shim (like AWS) would refuse, such as a chosen sub.
	Local *cip.Client
	// LocalEndpoint is cognito-local's URL, for in-process shims.
	LocalEndpoint string
	Dynamo        *dynamodb.Client
}

// Require returns the test bed, or skips the test when it is not running.
// Under CI (CI=true) or when POOLMIGRATE_REQUIRE_TESTBED=1 a missing test bed
// fails the test instead, so CI can never pass by skipping.
func Require(t testing.TB) *Env {
	t.Helper()
	if os.Getenv("AWS_ENDPOINT_URL_COGNITO_IDENTITY_PROVIDER") == "" || os.Getenv("POOLMIGRATE_TESTBED_COGNITO_LOCAL") == "" || os.Getenv("AWS_ENDPOINT_URL_DYNAMODB") == "" {
		Skip(t, "test bed not running: run `testbed/testbed.sh up` and `source .testbed/env` (or use scripts/test.sh)")
	}
	useOwnAccount(t) // account.go
	ctx := context.Background()
	cfg, err := config.LoadDefaultConfig(ctx)
	if err != nil {
		t.Fatalf("load AWS config: %v", err)
	}
	local := os.Getenv("POOLMIGRATE_TESTBED_COGNITO_LOCAL")
	return &Env{
		Config: cfg,
		// The shim throttles at AWS's quotas: the tests' own calls retry
		// as patiently as the tool's do.
		Cognito:       cip.NewFromConfig(cfg, func(o *cip.Options) { o.Retryer = PatientRetryer() }),
		Local:         cip.NewFromConfig(cfg, func(o *cip.Options) { o.BaseEndpoint = aws.String(local) }),
		LocalEndpoint: local,
		Dynamo: dynamodb.NewFromConfig(cfg, func(o *dynamodb.Options) {
			o.DisableValidateResponseChecksum = true // DynamoDB Local omits x-amz-crc32 on errors
		}),
	}
}

// PatientRetryer retries throttling as the tool's own clients do (cli's
// newAWSClients: many attempts, no retry token bucket), for test clients of
// the shim, which holds AWS's quotas.
func PatientRetryer() aws.Retryer {
	return retry.NewStandard(func(o *retry.StandardOptions) {
		o.MaxAttempts = 10
		o.MaxBackoff = 5 * time.Second
		o.RateLimiter = ratelimit.None
	})
}

// PoolOptions shape a fixture pool.
type PoolOptions struct {
	UsernameAttributes []types.UsernameAttributeType
	AliasAttributes    []types.AliasAttributeType
	AutoVerified       []types.VerifiedAttributeType
	MFA                types.UserPoolMfaType
	// Custom attribute names without the "custom:" prefix.
	Custom   []string
	Required []string
	// CaseInsensitive makes usernames and aliases case-insensitive.
	CaseInsensitive bool
	// Lambda are the pool's triggers (LambdaConfig).
	Lambda *types.LambdaConfigType
}

// NewPool creates a uniquely named pool and deletes it when the test ends.
func (e *Env) NewPool(t testing.TB, opts PoolOptions) string {
	t.Helper()
	ctx := context.Background()
	in := &cip.CreateUserPoolInput{
		PoolName:               aws.String("t-" + RandomSuffix()),
		UsernameAttributes:     opts.UsernameAttributes,
		AliasAttributes:        opts.AliasAttributes,
		AutoVerifiedAttributes: opts.AutoVerified,
		MfaConfiguration:       opts.MFA,
		LambdaConfig:           opts.Lambda,
	}
	if opts.CaseInsensitive {
		in.UsernameConfiguration = &types.UsernameConfigurationType{CaseSensitive: aws.Bool(false)}
	}
	for _, c := range opts.Custom {
		in.Schema = append(in.Schema, types.SchemaAttributeType{Name: aws.String(c), AttributeDataType: types.AttributeDataTypeString, Mutable: aws.Bool(true)})
	}
	for _, r := range opts.Required {
		in.Schema = append(in.Schema, types.SchemaAttributeType{Name: aws.String(r), AttributeDataType: types.AttributeDataTypeString, Required: aws.Bool(true), Mutable: aws.Bool(true)})
	}
	out, err := e.Local.CreateUserPool(ctx, in)
	if err != nil {
		t.Fatalf("create pool: %v", err)
	}
	id := *out.UserPool.Id
	t.Cleanup(func() { _, _ = e.Local.DeleteUserPool(context.Background(), &cip.DeleteUserPoolInput{UserPoolId: &id}) })
	return id
}

// RandomSuffix returns 8 hex characters for unique resource names.
func RandomSuffix() string {
	b := make([]byte, 4)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// PlantStack records a deployed CloudFormation stack in the Cognito shim,
// which answers DescribeStackResource and DescribeStacks from it (the test
// bed deploys nothing). resources maps logical ids to physical ids.
func (e *Env) PlantStack(t testing.TB, name, id string, outputs, resources map[string]string) {
	t.Helper()
	e.PlantStackTemplate(t, name, id, outputs, resources, "")
}

// PlantStackTemplate is PlantStack with the deployed template's body,
// which GetTemplate answers.
func (e *Env) PlantStackTemplate(t testing.TB, name, id string, outputs, resources map[string]string, template string) {
	t.Helper()
	e.PlantStackStatus(t, name, id, outputs, resources, template, "")
}

// PlantStackStatus is PlantStackTemplate with the stack's StackStatus
// (empty: UPDATE_COMPLETE); planting a stack again replaces it.
func (e *Env) PlantStackStatus(t testing.TB, name, id string, outputs, resources map[string]string, template, status string) {
	t.Helper()
	endpoint := os.Getenv("AWS_ENDPOINT_URL_CLOUDFORMATION")
	if endpoint == "" {
		t.Fatal("AWS_ENDPOINT_URL_CLOUDFORMATION is not set: start the test bed with testbed/testbed.sh")
	}
	body, _ := json.Marshal(map[string]any{"name": name, "id": id, "outputs": outputs, "resources": resources, "template": template, "status": status})
	resp, err := http.Post(endpoint+"/_testbed/cloudformation/stacks", "application/json", bytes.NewReader(body))
	if err != nil {
		t.Fatalf("plant stack %s: %v", name, err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNoContent {
		t.Fatalf("plant stack %s: %s", name, resp.Status)
	}
}
