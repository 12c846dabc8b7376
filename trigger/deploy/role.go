package deploy

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/poolmigrate/poolmigrate/lambdaown"
)

// rolePolicyName is the name of the role's one inline policy.
const rolePolicyName = "migration-trigger"

// RolePolicy is the trigger's only permissions: three calls on the old
// pool, and writing to its own log group (which deploy creates, with a
// retention: the function need not create it).
func (o Options) RolePolicy() string {
	p := map[string]any{"Version": "2012-10-17", "Statement": []map[string]any{
		{"Effect": "Allow", "Action": []string{"cognito-idp:AdminInitiateAuth", "cognito-idp:AdminGetUser", "cognito-idp:ListUsers"}, "Resource": o.poolArn(o.OldPool)},
		{"Effect": "Allow", "Action": []string{"logs:CreateLogStream", "logs:PutLogEvents"},
			"Resource": fmt.Sprintf("arn:aws:logs:%s:%s:log-group:%s:*", o.Region, o.Account, o.LogGroup())},
	}}
	data, _ := json.Marshal(p)
	return string(data)
}

// LambdaTrust is the role's trust policy: Lambda, and nobody else, may
// assume it.
const LambdaTrust = lambdaown.LambdaTrust

// role is the role deploy gives the trigger.
func (o Options) role() lambdaown.Role {
	return lambdaown.Role{Name: o.Role, PolicyName: rolePolicyName, Policy: o.RolePolicy(), Tags: o.Tags(), Ours: o.ours,
		Description: "poolmigrate: the user migration trigger of pool " + o.TargetPool}
}

// inspectRole returns the ARN of deploy's role when it exists, "" when no
// role has its name, and refuses a role of its name that is someone
// else's or allows more than deploy gives it.
func inspectRole(ctx context.Context, i IAM, o Options) (string, error) {
	arn, why, err := o.role().Inspect(ctx, i)
	if err != nil {
		return "", err
	}
	if why != "" {
		return "", fmt.Errorf("IAM role %s exists, but %s: deploy will not give the trigger a role it did not make. Delete or rename that role, or deploy with --role NAME", o.Role, why)
	}
	return arn, nil
}

// onlyLambdaTrusted says why a trust policy lets anyone but Lambda assume
// the role, or anyone do anything else; "" when it does not.
func onlyLambdaTrusted(doc string) string { return lambdaown.OnlyLambdaTrusted(doc) }

// ensureRole creates the role (tagged) when Inspect found none, and sets
// its one inline policy either way.
func ensureRole(ctx context.Context, i IAM, o Options, arn string, step func(string, ...any)) (string, error) {
	arn, err := o.role().Ensure(ctx, i, arn, step)
	if err != nil {
		return "", err
	}
	step("role %s may call AdminInitiateAuth, AdminGetUser and ListUsers on %s, and write to %s", o.Role, o.OldPool, o.LogGroup())
	return arn, nil
}
