package testenv

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"

	"github.com/poolmigrate/poolmigrate/testbed/cognitoshim"
)

// CognitoTrust and LambdaTrust are trust policies letting Cognito (an
// import job's CloudWatch Logs role) or Lambda (a function's role) assume
// a role.
const (
	CognitoTrust = `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"cognito-idp.amazonaws.com"},"Action":"sts:AssumeRole"}]}`
	LambdaTrust  = `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"lambda.amazonaws.com"},"Action":"sts:AssumeRole"}]}`
)

// importLogsPolicy is what an import job's role must allow (docs/steps.md).
const importLogsPolicy = `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["logs:CreateLogGroup","logs:CreateLogStream","logs:DescribeLogStreams","logs:PutLogEvents"],"Resource":["arn:aws:logs:*:*:log-group:/aws/cognito/*"]}]}`

// IAM is an IAM client for the test bed (AWS_ENDPOINT_URL_IAM).
func (e *Env) IAM() *iam.Client { return iam.NewFromConfig(e.Config) }

// ImportRole creates, through the test bed's IAM, a role an import job
// may use (trusting Cognito, allowed to write its logs) and returns its
// ARN: the shim, like AWS, accepts no role it does not know.
func (e *Env) ImportRole(t testing.TB) string {
	t.Helper()
	return ImportRoleAt(t, e.IAM())
}

// ImportRoleAt is ImportRole through a given IAM client (an in-process
// shim's).
func ImportRoleAt(t testing.TB, c *iam.Client) string {
	t.Helper()
	return CreateRole(t, c, "cognito-import-"+RandomSuffix(), CognitoTrust, importLogsPolicy)
}

// CreateRole creates a role with a trust policy and, unless policy is
// empty, one inline policy; it returns the role's ARN.
func CreateRole(t testing.TB, c *iam.Client, name, trust, policy string) string {
	t.Helper()
	ctx := context.Background()
	out, err := c.CreateRole(ctx, &iam.CreateRoleInput{RoleName: &name, AssumeRolePolicyDocument: &trust})
	if err != nil {
		t.Fatalf("create role %s: %v", name, err)
	}
	if policy != "" {
		if _, err := c.PutRolePolicy(ctx, &iam.PutRolePolicyInput{RoleName: &name, PolicyName: aws.String("policy"), PolicyDocument: &policy}); err != nil {
			t.Fatalf("role %s's policy: %v", name, err)
		}
	}
	return *out.Role.Arn
}

// SetLambdaTiming sets how long the test bed's Lambda keeps a function
// Pending, an update InProgress and a new role unusable, until the test
// ends (then the shim's defaults are back).
func (e *Env) SetLambdaTiming(t testing.TB, timing cognitoshim.LambdaTiming) {
	t.Helper()
	post := func(v cognitoshim.LambdaTiming) error {
		body, _ := json.Marshal(v)
		resp, err := http.Post(lambdaEndpoint(t)+"/_testbed/lambda", "application/json", bytes.NewReader(body))
		if err != nil {
			return err
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusNoContent {
			return fmt.Errorf("the shim answered %s", resp.Status)
		}
		return nil
	}
	if err := post(timing); err != nil {
		t.Fatalf("set the Lambda's timing: %v", err)
	}
	t.Cleanup(func() { _ = post(cognitoshim.DefaultLambdaTiming) })
}

// LambdaEvents is what the test bed's Lambda made clients of function fn
// ride out so far.
func (e *Env) LambdaEvents(t testing.TB, fn string) cognitoshim.LambdaEvents {
	t.Helper()
	resp, err := http.Get(lambdaEndpoint(t) + "/_testbed/lambda")
	if err != nil {
		t.Fatalf("read the Lambda's events: %v", err)
	}
	defer resp.Body.Close()
	var out struct {
		Events map[string]cognitoshim.LambdaEvents
	}
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
		t.Fatalf("read the Lambda's events: %v", err)
	}
	return out.Events[fn]
}

func lambdaEndpoint(t testing.TB) string {
	t.Helper()
	endpoint := os.Getenv("AWS_ENDPOINT_URL_LAMBDA")
	if endpoint == "" {
		t.Fatal("AWS_ENDPOINT_URL_LAMBDA is not set: start the test bed with testbed/testbed.sh")
	}
	return endpoint
}
