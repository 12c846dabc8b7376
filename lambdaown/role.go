package lambdaown

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

// LambdaTrust is the trust policy of a function's role: Lambda, and nobody
// else, may assume it.
const LambdaTrust = `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"lambda.amazonaws.com"},"Action":"sts:AssumeRole"}]}`

// RoleReader is the part of the IAM API InspectRole uses.
type RoleReader interface {
	GetRole(ctx context.Context, in *iam.GetRoleInput, optFns ...func(*iam.Options)) (*iam.GetRoleOutput, error)
	ListRolePolicies(ctx context.Context, in *iam.ListRolePoliciesInput, optFns ...func(*iam.Options)) (*iam.ListRolePoliciesOutput, error)
	ListAttachedRolePolicies(ctx context.Context, in *iam.ListAttachedRolePoliciesInput, optFns ...func(*iam.Options)) (*iam.ListAttachedRolePoliciesOutput, error)
}

// RoleWriter is the part of the IAM API EnsureRole uses.
type RoleWriter interface {
	CreateRole(ctx context.Context, in *iam.CreateRoleInput, optFns ...func(*iam.Options)) (*iam.CreateRoleOutput, error)
	PutRolePolicy(ctx context.Context, in *iam.PutRolePolicyInput, optFns ...func(*iam.Options)) (*iam.PutRolePolicyOutput, error)
}

// Role is the role a tool-owned function runs as.
type Role struct {
	Name        string
	PolicyName  string // its one inline policy
	Policy      string // that policy's document
	Description string
	Tags        map[string]string
	Ours        Ours
}

// RoleTags are an IAM resource's tags as a map.
func RoleTags(tags []iamtypes.Tag) map[string]string {
	m := map[string]string{}
	for _, t := range tags {
		m[Deref(t.Key)] = Deref(t.Value)
	}
	return m
}

// Inspect reads the role of r's name: its ARN when it exists ("" when no
// role has the name), and why, when it exists, it is not the deploy's own
// as the deploy makes it ("" when it is): tags not marking it as ours, a
// trust policy letting anyone but Lambda assume it, a permissions
// boundary, another inline policy, a managed policy.
func (r Role) Inspect(ctx context.Context, i RoleReader) (arn, why string, err error) {
	out, err := i.GetRole(ctx, &iam.GetRoleInput{RoleName: &r.Name})
	var nse *iamtypes.NoSuchEntityException
	switch {
	case errors.As(err, &nse):
		return "", "", nil
	case err != nil:
		return "", "", fmt.Errorf("read IAM role %s: %w", r.Name, err)
	}
	if why := r.Ours(RoleTags(out.Role.Tags)); why != "" {
		return "", why, nil
	}
	trust, err := url.PathUnescape(Deref(out.Role.AssumeRolePolicyDocument)) // IAM returns policies URL-encoded
	if err != nil {
		return "", "its trust policy cannot be read", nil
	}
	if why := OnlyLambdaTrusted(trust); why != "" {
		return "", why, nil
	}
	if out.Role.PermissionsBoundary != nil {
		return "", "it has a permissions boundary, which deploy does not set", nil
	}
	pols, err := i.ListRolePolicies(ctx, &iam.ListRolePoliciesInput{RoleName: &r.Name})
	if err != nil {
		return "", "", fmt.Errorf("list the inline policies of role %s: %w", r.Name, err)
	}
	for _, n := range pols.PolicyNames {
		if n != r.PolicyName {
			return "", fmt.Sprintf("it has an inline policy %q besides deploy's %q", n, r.PolicyName), nil
		}
	}
	att, err := i.ListAttachedRolePolicies(ctx, &iam.ListAttachedRolePoliciesInput{RoleName: &r.Name})
	if err != nil {
		return "", "", fmt.Errorf("list the managed policies of role %s: %w", r.Name, err)
	}
	if len(att.AttachedPolicies) > 0 {
		var arns []string
		for _, a := range att.AttachedPolicies {
			arns = append(arns, Deref(a.PolicyArn))
		}
		return "", "managed policies are attached to it (" + strings.Join(arns, ", ") + ")", nil
	}
	return Deref(out.Role.Arn), "", nil
}

// Ensure creates the role (tagged, trusted by Lambda only) when arn is ""
// (Inspect found none), and sets its one inline policy either way; it
// returns the role's ARN.
func (r Role) Ensure(ctx context.Context, i RoleWriter, arn string, step func(string, ...any)) (string, error) {
	if arn == "" {
		var tags []iamtypes.Tag
		for k, v := range r.Tags {
			tags = append(tags, iamtypes.Tag{Key: Ptr(k), Value: Ptr(v)})
		}
		out, err := i.CreateRole(ctx, &iam.CreateRoleInput{RoleName: &r.Name, AssumeRolePolicyDocument: Ptr(LambdaTrust), Tags: tags,
			Description: Ptr(r.Description)})
		if err != nil {
			return "", fmt.Errorf("create IAM role %s: %w", r.Name, err)
		}
		arn = Deref(out.Role.Arn)
		step("created IAM role %s, trusted by Lambda only", arn)
	}
	if _, err := i.PutRolePolicy(ctx, &iam.PutRolePolicyInput{RoleName: &r.Name, PolicyName: Ptr(r.PolicyName), PolicyDocument: Ptr(r.Policy)}); err != nil {
		return "", fmt.Errorf("set the policy of role %s: %w", r.Name, err)
	}
	return arn, nil
}

// OnlyLambdaTrusted says why a trust policy (decoded) lets anyone but
// Lambda assume the role, or anyone do anything else; "" when it does not.
func OnlyLambdaTrusted(doc string) string {
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
