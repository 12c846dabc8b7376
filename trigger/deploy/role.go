package deploy

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"strings"

	"github.com/aws/aws-sdk-go-v2/service/iam"
	iamtypes "github.com/aws/aws-sdk-go-v2/service/iam/types"
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
const LambdaTrust = `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"lambda.amazonaws.com"},"Action":"sts:AssumeRole"}]}`

// inspectRole returns the ARN of deploy's role when it exists, "" when no
// role has its name, and refuses a role of its name that is someone
// else's or allows more than deploy gives it.
func inspectRole(ctx context.Context, i IAM, o Options) (string, error) {
	out, err := i.GetRole(ctx, &iam.GetRoleInput{RoleName: &o.Role})
	var nse *iamtypes.NoSuchEntityException
	switch {
	case errors.As(err, &nse):
		return "", nil
	case err != nil:
		return "", fmt.Errorf("read IAM role %s: %w", o.Role, err)
	}
	refuse := func(why string) error {
		return fmt.Errorf("IAM role %s exists, but %s: deploy will not give the trigger a role it did not make. Delete or rename that role, or deploy with --role NAME", o.Role, why)
	}
	tags := map[string]string{}
	for _, t := range out.Role.Tags {
		tags[deref(t.Key)] = deref(t.Value)
	}
	if why := o.ours(tags); why != "" {
		return "", refuse(why)
	}
	trust, err := url.PathUnescape(deref(out.Role.AssumeRolePolicyDocument)) // IAM returns policies URL-encoded
	if err != nil {
		return "", refuse("its trust policy cannot be read")
	}
	if why := onlyLambdaTrusted(trust); why != "" {
		return "", refuse(why)
	}
	if out.Role.PermissionsBoundary != nil {
		return "", refuse("it has a permissions boundary, which deploy does not set")
	}
	pols, err := i.ListRolePolicies(ctx, &iam.ListRolePoliciesInput{RoleName: &o.Role})
	if err != nil {
		return "", fmt.Errorf("list the inline policies of role %s: %w", o.Role, err)
	}
	for _, n := range pols.PolicyNames {
		if n != rolePolicyName {
			return "", refuse(fmt.Sprintf("it has an inline policy %q besides deploy's %q", n, rolePolicyName))
		}
	}
	att, err := i.ListAttachedRolePolicies(ctx, &iam.ListAttachedRolePoliciesInput{RoleName: &o.Role})
	if err != nil {
		return "", fmt.Errorf("list the managed policies of role %s: %w", o.Role, err)
	}
	if len(att.AttachedPolicies) > 0 {
		var arns []string
		for _, a := range att.AttachedPolicies {
			arns = append(arns, deref(a.PolicyArn))
		}
		return "", refuse("managed policies are attached to it (" + strings.Join(arns, ", ") + ")")
	}
	return deref(out.Role.Arn), nil
}

// onlyLambdaTrusted says why a trust policy lets anyone but Lambda assume
// the role, or anyone do anything else; "" when it does not.
func onlyLambdaTrusted(doc string) string {
	var p struct{ Statement json.RawMessage }
	if json.Unmarshal([]byte(doc), &p) != nil {
		return "its trust policy is not JSON"
	}
	var sts []map[string]json.RawMessage
	if json.Unmarshal(p.Statement, &sts) != nil {
		var one map[string]json.RawMessage
		if json.Unmarshal(p.Statement, &one) != nil {
			return "its trust policy has no statements"
		}
		sts = []map[string]json.RawMessage{one}
	}
	lambda := false
	for _, st := range sts {
		var effect string
		_ = json.Unmarshal(st["Effect"], &effect)
		if effect == "Deny" {
			continue
		}
		var principal map[string]json.RawMessage
		if json.Unmarshal(st["Principal"], &principal) != nil || len(principal) != 1 || len(st["Principal"]) == 0 {
			return "its trust policy names principals other than lambda.amazonaws.com"
		}
		services := stringOrList(principal["Service"])
		actions := stringOrList(st["Action"])
		if len(services) != 1 || services[0] != "lambda.amazonaws.com" {
			return fmt.Sprintf("its trust policy lets %v assume it, not only lambda.amazonaws.com", services)
		}
		if len(actions) != 1 || actions[0] != "sts:AssumeRole" {
			return fmt.Sprintf("its trust policy allows %v, not only sts:AssumeRole", actions)
		}
		lambda = true
	}
	if !lambda {
		return "its trust policy does not let lambda.amazonaws.com assume it"
	}
	return ""
}

func stringOrList(raw json.RawMessage) []string {
	var one string
	if json.Unmarshal(raw, &one) == nil {
		return []string{one}
	}
	var list []string
	_ = json.Unmarshal(raw, &list)
	return list
}

// ensureRole creates the role (tagged) when Inspect found none, and sets
// its one inline policy either way.
func ensureRole(ctx context.Context, i IAM, o Options, arn string, step func(string, ...any)) (string, error) {
	if arn == "" {
		var tags []iamtypes.Tag
		for k, v := range o.Tags() {
			tags = append(tags, iamtypes.Tag{Key: ptr(k), Value: ptr(v)})
		}
		out, err := i.CreateRole(ctx, &iam.CreateRoleInput{RoleName: &o.Role, AssumeRolePolicyDocument: ptr(LambdaTrust), Tags: tags,
			Description: ptr("poolmigrate: the user migration trigger of pool " + o.TargetPool)})
		if err != nil {
			return "", fmt.Errorf("create IAM role %s: %w", o.Role, err)
		}
		arn = deref(out.Role.Arn)
		step("created IAM role %s, trusted by Lambda only", arn)
	}
	if _, err := i.PutRolePolicy(ctx, &iam.PutRolePolicyInput{RoleName: &o.Role, PolicyName: ptr(rolePolicyName), PolicyDocument: ptr(o.RolePolicy())}); err != nil {
		return "", fmt.Errorf("set the policy of role %s: %w", o.Role, err)
	}
	step("role %s may call AdminInitiateAuth, AdminGetUser and ListUsers on %s, and write to %s", o.Role, o.OldPool, o.LogGroup())
	return arn, nil
}
