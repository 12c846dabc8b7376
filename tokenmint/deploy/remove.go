package deploy

import (
	"context"
	"errors"
	"fmt"
	"strings"

	cip "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider"
	ctypes "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider/types"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	iamtypes "github.com/aws/aws-sdk-go-v2/service/iam/types"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	ltypes "github.com/aws/aws-sdk-go-v2/service/lambda/types"

	"github.com/poolmigrate/poolmigrate/lambdaown"
	tdeploy "github.com/poolmigrate/poolmigrate/trigger/deploy"
)

// Remove takes the trio away: the pool's three custom-auth triggers where
// they are deploy's function (every other setting kept), Cognito's
// permission and the function, the role and the app client — each only when
// it is deploy's; anything else of those names stays and is reported. The
// log group stays until its retention ends. Run again, it finishes what an
// interrupted Remove left.
func Remove(ctx context.Context, api APIs, o Options) (Result, error) {
	o.defaults()
	res := Result{LogGroup: o.LogGroup()}
	step := func(format string, args ...any) {
		s := fmt.Sprintf(format, args...)
		res.Steps = append(res.Steps, s)
		o.Logf("%s", s)
	}
	if err := o.validate(); err != nil {
		return res, err
	}
	pool, err := api.Cognito.DescribeUserPool(ctx, &cip.DescribeUserPoolInput{UserPoolId: &o.Pool})
	var gone *ctypes.ResourceNotFoundException
	switch {
	case errors.As(err, &gone):
		// The pool is gone (and its app clients with it): what deploy made
		// outside it is still removed.
		step("the pool %s does not exist any more", o.Pool)
	case err != nil:
		return res, fmt.Errorf("read the pool %s: %w", o.Pool, err)
	default:
		if in := UpdateInputWithout(pool.UserPool, o.Function); in != nil {
			if _, err := api.Cognito.UpdateUserPool(ctx, in); err != nil {
				return res, fmt.Errorf("detach the custom-auth triggers of %s: %w", o.Pool, err)
			}
			step("the pool %s no longer runs the tool's custom-auth triggers", o.Pool)
		}
	}
	fn, err := api.Lambda.GetFunction(ctx, &lambda.GetFunctionInput{FunctionName: &o.Function})
	var rnf *ltypes.ResourceNotFoundException
	switch {
	case errors.As(err, &rnf):
	case err != nil:
		return res, fmt.Errorf("read function %s: %w", o.Function, err)
	case o.ours(fn.Tags) != "":
		step("function %s stays: %s", o.Function, o.ours(fn.Tags))
	default:
		sid := o.statementID()
		if _, err := api.Lambda.RemovePermission(ctx, &lambda.RemovePermissionInput{FunctionName: &o.Function, StatementId: &sid}); err != nil && !errors.As(err, &rnf) {
			return res, fmt.Errorf("remove Cognito's permission on %s: %w", o.Function, err)
		}
		if _, err := api.Lambda.DeleteFunction(ctx, &lambda.DeleteFunctionInput{FunctionName: &o.Function}); err != nil && !errors.As(err, &rnf) {
			return res, fmt.Errorf("delete function %s: %w", o.Function, err)
		}
		step("deleted function %s", o.Function)
	}
	role, err := api.IAM.GetRole(ctx, &iam.GetRoleInput{RoleName: &o.Role})
	var nse *iamtypes.NoSuchEntityException
	switch {
	case errors.As(err, &nse):
	case err != nil:
		return res, fmt.Errorf("read IAM role %s: %w", o.Role, err)
	case o.ours(lambdaown.RoleTags(role.Role.Tags)) != "":
		step("IAM role %s stays: %s", o.Role, o.ours(lambdaown.RoleTags(role.Role.Tags)))
	default:
		if _, err := api.IAM.DeleteRolePolicy(ctx, &iam.DeleteRolePolicyInput{RoleName: &o.Role, PolicyName: lambdaown.Ptr(rolePolicyName)}); err != nil && !errors.As(err, &nse) {
			return res, fmt.Errorf("delete the policy of role %s: %w", o.Role, err)
		}
		if _, err := api.IAM.DeleteRole(ctx, &iam.DeleteRoleInput{RoleName: &o.Role}); err != nil && !errors.As(err, &nse) {
			return res, fmt.Errorf("delete IAM role %s: %w", o.Role, err)
		}
		step("deleted IAM role %s", o.Role)
	}
	var ids []string
	if gone == nil {
		if ids, err = namedClients(ctx, api.Cognito, o.Pool); err != nil {
			return res, err
		}
	}
	for _, id := range ids {
		out, err := api.Cognito.DescribeUserPoolClient(ctx, &cip.DescribeUserPoolClientInput{UserPoolId: &o.Pool, ClientId: &id})
		if err != nil {
			return res, fmt.Errorf("read app client %s of %s: %w", id, o.Pool, err)
		}
		if why := clientProblem(out.UserPoolClient); why != "" {
			step("app client %s stays: deploy did not make it as it makes it (%s)", id, why)
			continue
		}
		if _, err := api.Cognito.DeleteUserPoolClient(ctx, &cip.DeleteUserPoolClientInput{UserPoolId: &o.Pool, ClientId: &id}); err != nil {
			return res, fmt.Errorf("delete app client %s of %s: %w", id, o.Pool, err)
		}
		step("deleted app client %s", id)
	}
	step("log group %s stays until its retention ends (it records which users got tokens)", o.LogGroup())
	return res, nil
}

// UpdateInputWithout is the UpdateUserPool request that takes away those of
// the pool's custom-auth triggers that are function fn, every other setting
// sent back as it is; nil when none is.
func UpdateInputWithout(p *ctypes.UserPoolType, fn string) *cip.UpdateUserPoolInput {
	in := tdeploy.UpdateInput(p)
	changed := false
	for _, t := range []**string{&in.LambdaConfig.DefineAuthChallenge, &in.LambdaConfig.CreateAuthChallenge, &in.LambdaConfig.VerifyAuthChallengeResponse} {
		if *t != nil && strings.HasSuffix(**t, ":function:"+fn) {
			*t, changed = nil, true
		}
	}
	if !changed {
		return nil
	}
	return in
}

// Status is what is attached.
type Status struct {
	Pool        string   `json:"pool"`
	Function    string   `json:"function"`
	FunctionArn string   `json:"functionArn,omitempty"`
	ClientID    string   `json:"clientId,omitempty"`
	Role        bool     `json:"role"`
	Attached    []string `json:"attached"` // the triggers that are the tool's function
	Foreign     []string `json:"foreignTriggers,omitempty"`
	// SideEffects names the pool's triggers that run for every token minted.
	SideEffects []string `json:"sideEffects,omitempty"`
	Problems    []string `json:"problems"`
}

// GetStatus reads what deploy put on the pool, and what would run with it.
func GetStatus(ctx context.Context, api APIs, o Options) (Status, error) {
	o.defaults()
	st := Status{Pool: o.Pool, Function: o.Function, Attached: []string{}, Problems: []string{}}
	if err := o.validate(); err != nil {
		return st, err
	}
	pool, err := api.Cognito.DescribeUserPool(ctx, &cip.DescribeUserPoolInput{UserPoolId: &o.Pool})
	if err != nil {
		return st, fmt.Errorf("read the pool %s: %w", o.Pool, err)
	}
	for _, name := range Triggers {
		if arn := customTriggers(pool.UserPool)[name]; strings.HasSuffix(arn, ":function:"+o.Function) {
			st.Attached = append(st.Attached, name)
		}
	}
	st.Foreign = foreignTriggers(pool.UserPool, o.Function)
	if lc := pool.UserPool.LambdaConfig; lc != nil {
		if lc.PreTokenGeneration != nil || lc.PreTokenGenerationConfig != nil {
			st.SideEffects = append(st.SideEffects, "PreTokenGeneration runs for each token minted")
		}
		if lc.PostAuthentication != nil {
			st.SideEffects = append(st.SideEffects, "PostAuthentication runs for each token minted")
		}
	}
	fn, err := api.Lambda.GetFunction(ctx, &lambda.GetFunctionInput{FunctionName: &o.Function})
	var rnf *ltypes.ResourceNotFoundException
	switch {
	case errors.As(err, &rnf):
	case err != nil:
		return st, fmt.Errorf("read function %s: %w", o.Function, err)
	case o.ours(fn.Tags) == "":
		st.FunctionArn = lambdaown.Deref(fn.Configuration.FunctionArn)
	default:
		st.Problems = append(st.Problems, fmt.Sprintf("function %s is not the tool's: %s", o.Function, o.ours(fn.Tags)))
	}
	if st.ClientID, err = ourClient(ctx, api.Cognito, o.Pool); err != nil {
		st.Problems = append(st.Problems, err.Error())
	}
	role, err := api.IAM.GetRole(ctx, &iam.GetRoleInput{RoleName: &o.Role})
	var nse *iamtypes.NoSuchEntityException
	switch {
	case errors.As(err, &nse):
	case err != nil:
		return st, fmt.Errorf("read IAM role %s: %w", o.Role, err)
	default:
		st.Role = o.ours(lambdaown.RoleTags(role.Role.Tags)) == ""
	}
	if len(st.Attached) > 0 && len(st.Attached) < len(Triggers) {
		st.Problems = append(st.Problems, fmt.Sprintf("only %s of the three triggers are attached: deploy again or remove", strings.Join(st.Attached, ", ")))
	}
	if len(st.Foreign) > 0 {
		st.Problems = append(st.Problems, "the pool has custom-auth triggers of someone else's: "+strings.Join(st.Foreign, ", "))
	}
	return st, nil
}
