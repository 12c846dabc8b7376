package cognito

import (
	"context"
	"errors"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/smithy-go"
)

// RoleAPI is the part of the IAM API that --create-role uses.
type RoleAPI interface {
	GetRole(ctx context.Context, in *iam.GetRoleInput, optFns ...func(*iam.Options)) (*iam.GetRoleOutput, error)
	CreateRole(ctx context.Context, in *iam.CreateRoleInput, optFns ...func(*iam.Options)) (*iam.CreateRoleOutput, error)
	PutRolePolicy(ctx context.Context, in *iam.PutRolePolicyInput, optFns ...func(*iam.Options)) (*iam.PutRolePolicyOutput, error)
}

// The role the developer guide documents for the import job's CloudWatch
// Logs: trusted by Cognito, allowed to write /aws/cognito/* log groups.
const importTrustPolicy = `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"cognito-idp.amazonaws.com"},"Action":"sts:AssumeRole"}]}`

func importLogsPolicy(region, account string) string {
	return fmt.Sprintf(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["logs:CreateLogGroup","logs:CreateLogStream","logs:DescribeLogStreams","logs:PutLogEvents"],"Resource":["arn:aws:logs:%s:%s:log-group:/aws/cognito/*"]}]}`, region, account)
}

// EnsureImportRole returns the ARN of the role name, creating it with the
// documented trust and permissions when it does not exist. created tells
// whether it was made now (IAM takes a few seconds to let Cognito use it).
func EnsureImportRole(ctx context.Context, api RoleAPI, name, region, account string) (arn string, created bool, err error) {
	got, err := api.GetRole(ctx, &iam.GetRoleInput{RoleName: &name})
	if err == nil {
		return deref(got.Role.Arn), false, nil
	}
	var ae smithy.APIError
	if !errors.As(err, &ae) || ae.ErrorCode() != "NoSuchEntity" {
		return "", false, fmt.Errorf("look up IAM role %s: %w", name, err)
	}
	out, err := api.CreateRole(ctx, &iam.CreateRoleInput{RoleName: &name, AssumeRolePolicyDocument: ptr(importTrustPolicy),
		Description: ptr("Lets Amazon Cognito user import jobs write CloudWatch Logs (created by poolmigrate)")})
	if err != nil {
		return "", false, fmt.Errorf("create IAM role %s (or pass --role-arn of an existing one): %w", name, err)
	}
	if _, err := api.PutRolePolicy(ctx, &iam.PutRolePolicyInput{RoleName: &name, PolicyName: ptr("cognito-import-logs"), PolicyDocument: ptr(importLogsPolicy(region, account))}); err != nil {
		return "", true, fmt.Errorf("give IAM role %s its CloudWatch Logs permissions: %w", name, err)
	}
	return deref(out.Role.Arn), true, nil
}
