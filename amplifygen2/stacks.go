package amplifygen2

import (
	"context"
	"errors"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	cfn "github.com/aws/aws-sdk-go-v2/service/cloudformation"
	"github.com/aws/smithy-go"
)

// StackWalker is the part of CloudFormation that APIIDFromStacks reads;
// *cloudformation.Client satisfies it.
type StackWalker interface {
	DescribeStackResources(ctx context.Context, in *cfn.DescribeStackResourcesInput, optFns ...func(*cfn.Options)) (*cfn.DescribeStackResourcesOutput, error)
	DescribeStacks(ctx context.Context, in *cfn.DescribeStacksInput, optFns ...func(*cfn.Options)) (*cfn.DescribeStacksOutput, error)
}

// stackResources is the call that finds the stack holding a resource.
type stackResources interface {
	DescribeStackResources(ctx context.Context, in *cfn.DescribeStackResourcesInput, optFns ...func(*cfn.Options)) (*cfn.DescribeStackResourcesOutput, error)
}

// APIIDOutput is the root stack's output that holds the AppSync API id.
const APIIDOutput = "awsAppsyncApiId"

// poolStack finds the stack that holds the pool and the pool's logical id
// in it. A Gen 2 auth stack's name carries a hash no file records, so the
// pool's id is the way in.
func poolStack(ctx context.Context, api stackResources, poolID string) (stack, logicalID string, err error) {
	res, err := api.DescribeStackResources(ctx, &cfn.DescribeStackResourcesInput{PhysicalResourceId: aws.String(poolID)})
	if err != nil {
		var ae smithy.APIError
		if errors.As(err, &ae) && ae.ErrorCode() == "ValidationError" {
			return "", "", fmt.Errorf("no CloudFormation stack holds user pool %s (%s): is it deployed by this app, in this account and region?", poolID, ae.ErrorMessage())
		}
		return "", "", fmt.Errorf("find the stack of user pool %s: %w", poolID, err)
	}
	for _, r := range res.StackResources {
		if aws.ToString(r.PhysicalResourceId) == poolID && aws.ToString(r.ResourceType) == "AWS::Cognito::UserPool" {
			stack, logicalID = aws.ToString(r.StackName), aws.ToString(r.LogicalResourceId)
		}
	}
	if stack == "" {
		return "", "", fmt.Errorf("CloudFormation lists no AWS::Cognito::UserPool %s", poolID)
	}
	return stack, logicalID, nil
}

// APIIDFromStacks finds the AppSync API of the backend that deployed the
// pool: the stack holding the pool (Gen 2's nested auth stack), its root
// stack, and the root's awsAppsyncApiId output. It returns the id and the
// root stack's name.
func APIIDFromStacks(ctx context.Context, api StackWalker, poolID string) (apiID, root string, err error) {
	stack, _, err := poolStack(ctx, api, poolID)
	if err != nil {
		return "", "", err
	}
	describe := func(name string) (*cfn.DescribeStacksOutput, error) {
		out, err := api.DescribeStacks(ctx, &cfn.DescribeStacksInput{StackName: aws.String(name)})
		if err == nil && len(out.Stacks) != 1 {
			err = fmt.Errorf("CloudFormation described %d stacks for %s", len(out.Stacks), name)
		}
		if err != nil {
			return nil, fmt.Errorf("describe stack %s: %w", name, err)
		}
		return out, nil
	}
	out, err := describe(stack)
	if err != nil {
		return "", "", err
	}
	rootID := aws.ToString(out.Stacks[0].RootId) // empty for a stack that is not nested
	if rootID != "" && rootID != aws.ToString(out.Stacks[0].StackId) {
		if out, err = describe(rootID); err != nil {
			return "", "", err
		}
	}
	root = aws.ToString(out.Stacks[0].StackName)
	for _, o := range out.Stacks[0].Outputs {
		if aws.ToString(o.OutputKey) == APIIDOutput && aws.ToString(o.OutputValue) != "" {
			return aws.ToString(o.OutputValue), root, nil
		}
	}
	return "", root, fmt.Errorf("the root stack %s of user pool %s has no %s output: does the backend define data?", root, poolID, APIIDOutput)
}
