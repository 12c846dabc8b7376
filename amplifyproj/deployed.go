package amplifyproj

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	cfn "github.com/aws/aws-sdk-go-v2/service/cloudformation"
	"github.com/aws/smithy-go"
)

// StackReader is the part of the CloudFormation API that DeployedPoolID
// needs; *cloudformation.Client satisfies it.
type StackReader interface {
	DescribeStackResource(ctx context.Context, in *cfn.DescribeStackResourceInput, optFns ...func(*cfn.Options)) (*cfn.DescribeStackResourceOutput, error)
	DescribeStacks(ctx context.Context, in *cfn.DescribeStacksInput, optFns ...func(*cfn.Options)) (*cfn.DescribeStacksOutput, error)
	GetTemplate(ctx context.Context, in *cfn.GetTemplateInput, optFns ...func(*cfn.Options)) (*cfn.GetTemplateOutput, error)
}

// DeployedPoolID reads the pool id of auth resource auth as the env
// deployed it, when amplify-meta.json is missing (a fresh clone): the root
// stack (team-provider-info's StackName) holds the nested stack
// auth<resource>, whose UserPoolId output is the pool.
func DeployedPoolID(ctx context.Context, api StackReader, rootStack, auth string) (string, error) {
	if rootStack == "" {
		return "", errors.New("the env's root stack is unknown (team-provider-info.json has no StackName)")
	}
	logical := authRefPrefix + auth
	res, err := api.DescribeStackResource(ctx, &cfn.DescribeStackResourceInput{StackName: &rootStack, LogicalResourceId: &logical})
	if err != nil {
		return "", fmt.Errorf("find the auth stack %s in stack %s: %w", logical, rootStack, cfnHint(err))
	}
	if res.StackResourceDetail == nil || res.StackResourceDetail.PhysicalResourceId == nil {
		return "", fmt.Errorf("stack %s has no deployed %s yet", rootStack, logical)
	}
	nested := *res.StackResourceDetail.PhysicalResourceId
	out, err := api.DescribeStacks(ctx, &cfn.DescribeStacksInput{StackName: &nested})
	if err != nil {
		return "", fmt.Errorf("read the outputs of %s: %w", nested, cfnHint(err))
	}
	for _, st := range out.Stacks {
		for _, o := range st.Outputs {
			if o.OutputKey != nil && *o.OutputKey == "UserPoolId" && o.OutputValue != nil {
				return *o.OutputValue, nil
			}
		}
	}
	return "", fmt.Errorf("the auth stack %s has no UserPoolId output", nested)
}

// DeployedPoolRetained tells whether the env's deployed auth stack keeps
// its user pool when the stack goes: the UserPool resource of the
// template CloudFormation holds has DeletionPolicy Retain (what the
// override `poolmigrate retain-pool` writes puts there, once pushed).
func DeployedPoolRetained(ctx context.Context, api StackReader, rootStack, auth string) (bool, error) {
	if rootStack == "" {
		return false, errors.New("the env's root stack is unknown (team-provider-info.json has no StackName)")
	}
	logical := authRefPrefix + auth
	res, err := api.DescribeStackResource(ctx, &cfn.DescribeStackResourceInput{StackName: &rootStack, LogicalResourceId: &logical})
	if err != nil {
		return false, fmt.Errorf("find the auth stack %s in stack %s: %w", logical, rootStack, cfnHint(err))
	}
	if res.StackResourceDetail == nil || res.StackResourceDetail.PhysicalResourceId == nil {
		return false, fmt.Errorf("stack %s has no deployed %s yet", rootStack, logical)
	}
	// While a push is under way (or stuck) the template says what the
	// stack may never become: it can still roll back.
	for _, st := range []string{rootStack, *res.StackResourceDetail.PhysicalResourceId} {
		if err := stackSettled(ctx, api, st); err != nil {
			return false, err
		}
	}
	out, err := api.GetTemplate(ctx, &cfn.GetTemplateInput{StackName: res.StackResourceDetail.PhysicalResourceId})
	if err != nil {
		return false, fmt.Errorf("read the template of %s: %w", *res.StackResourceDetail.PhysicalResourceId, cfnHint(err))
	}
	var tmpl struct {
		Resources map[string]struct {
			Type           string
			DeletionPolicy string
		}
	}
	if out.TemplateBody == nil || json.Unmarshal([]byte(*out.TemplateBody), &tmpl) != nil {
		return false, fmt.Errorf("the template of %s is not JSON", *res.StackResourceDetail.PhysicalResourceId)
	}
	for _, r := range tmpl.Resources {
		if r.Type == "AWS::Cognito::UserPool" {
			return r.DeletionPolicy == "Retain", nil
		}
	}
	return false, fmt.Errorf("the auth stack %s has no AWS::Cognito::UserPool", *res.StackResourceDetail.PhysicalResourceId)
}

// StackBusyError says a stack is being changed, or stuck after a failed
// change: what it holds is not settled.
type StackBusyError struct{ Stack, Status string }

func (e *StackBusyError) Error() string {
	if strings.HasSuffix(e.Status, "_IN_PROGRESS") {
		return fmt.Sprintf("stack %s is %s: a push is under way; wait until it ends (`amplify status`, or the CloudFormation console), then check again", e.Stack, e.Status)
	}
	return fmt.Sprintf("stack %s is %s: its last change failed; repair it (the CloudFormation console: continue the rollback, or push again), then check again", e.Stack, e.Status)
}

// stackSettled refuses a stack whose status is not a completed create,
// update or import.
func stackSettled(ctx context.Context, api StackReader, stack string) error {
	out, err := api.DescribeStacks(ctx, &cfn.DescribeStacksInput{StackName: &stack})
	if err != nil {
		return fmt.Errorf("read the status of %s: %w", stack, cfnHint(err))
	}
	for _, st := range out.Stacks {
		switch status := string(st.StackStatus); status {
		case "CREATE_COMPLETE", "UPDATE_COMPLETE", "UPDATE_ROLLBACK_COMPLETE", "IMPORT_COMPLETE", "IMPORT_ROLLBACK_COMPLETE":
			// settled: the template in force is the one GetTemplate returns
		default:
			return &StackBusyError{Stack: stack, Status: status}
		}
	}
	return nil
}

func cfnHint(err error) error {
	var ae smithy.APIError
	if errors.As(err, &ae) && ae.ErrorCode() == "ValidationError" {
		return fmt.Errorf("%s (is the env deployed, in this account and region?)", ae.ErrorMessage())
	}
	return err
}
