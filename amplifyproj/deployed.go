package amplifyproj

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

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

func cfnHint(err error) error {
	var ae smithy.APIError
	if errors.As(err, &ae) && ae.ErrorCode() == "ValidationError" {
		return fmt.Errorf("%s (is the env deployed, in this account and region?)", ae.ErrorMessage())
	}
	return err
}
