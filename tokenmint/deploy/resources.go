package deploy

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	lgtypes "github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs/types"
	cip "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider"
	ctypes "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider/types"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	ltypes "github.com/aws/aws-sdk-go-v2/service/lambda/types"

	"github.com/poolmigrate/poolmigrate/lambdaown"
	tdeploy "github.com/poolmigrate/poolmigrate/trigger/deploy"
)

// The tool's app client: custom auth (and the refresh Cognito requires)
// only, no secret, no OAuth, the shortest token lives Cognito allows, its
// refresh tokens revocable, and write access to one harmless attribute
// only, so the access token (which Mint drops at once) could not change
// the user's identity attributes either.
var clientFlows = []ctypes.ExplicitAuthFlowsType{ctypes.ExplicitAuthFlowsTypeAllowCustomAuth, ctypes.ExplicitAuthFlowsTypeAllowRefreshTokenAuth}

const (
	clientTokenMinutes   = 5
	clientRefreshMinutes = 60
	clientWrites         = "updated_at"
)

func createClient(ctx context.Context, c tdeploy.Cognito, pool string) (string, error) {
	out, err := c.CreateUserPoolClient(ctx, &cip.CreateUserPoolClientInput{UserPoolId: &pool, ClientName: lambdaown.Ptr(ClientName), GenerateSecret: false,
		ExplicitAuthFlows: clientFlows, AccessTokenValidity: lambdaown.Ptr(int32(clientTokenMinutes)), IdTokenValidity: lambdaown.Ptr(int32(clientTokenMinutes)),
		RefreshTokenValidity: clientRefreshMinutes, EnableTokenRevocation: lambdaown.Ptr(true), AuthSessionValidity: lambdaown.Ptr(int32(3)),
		WriteAttributes: []string{clientWrites},
		TokenValidityUnits: &ctypes.TokenValidityUnitsType{AccessToken: ctypes.TimeUnitsTypeMinutes, IdToken: ctypes.TimeUnitsTypeMinutes,
			RefreshToken: ctypes.TimeUnitsTypeMinutes}})
	if err != nil {
		return "", fmt.Errorf("create the tool's app client on %s: %w", pool, err)
	}
	return *out.UserPoolClient.ClientId, nil
}

// clientProblem says how an app client differs from createClient's ("" when it does not).
func clientProblem(cl *ctypes.UserPoolClientType) string {
	var p []string
	if lambdaown.Deref(cl.ClientSecret) != "" {
		p = append(p, "it has a secret")
	}
	flows := slices.Clone(cl.ExplicitAuthFlows)
	slices.Sort(flows)
	want := slices.Clone(clientFlows)
	slices.Sort(want)
	if !slices.Equal(flows, want) {
		p = append(p, fmt.Sprintf("it allows the auth flows %v, not only %v", cl.ExplicitAuthFlows, clientFlows))
	}
	if (cl.AllowedOAuthFlowsUserPoolClient != nil && *cl.AllowedOAuthFlowsUserPoolClient) || len(cl.AllowedOAuthFlows) > 0 || len(cl.CallbackURLs) > 0 || len(cl.SupportedIdentityProviders) > 0 {
		p = append(p, "it allows OAuth or identity providers")
	}
	if !slices.Equal(cl.WriteAttributes, []string{clientWrites}) {
		p = append(p, fmt.Sprintf("it may write %v", cl.WriteAttributes))
	}
	if u := cl.TokenValidityUnits; u == nil || cl.IdTokenValidity == nil || cl.AccessTokenValidity == nil ||
		u.IdToken != ctypes.TimeUnitsTypeMinutes || *cl.IdTokenValidity > clientTokenMinutes ||
		u.AccessToken != ctypes.TimeUnitsTypeMinutes || *cl.AccessTokenValidity > clientTokenMinutes ||
		u.RefreshToken != ctypes.TimeUnitsTypeMinutes || cl.RefreshTokenValidity > clientRefreshMinutes {
		p = append(p, "its tokens live longer than deploy's")
	}
	return strings.Join(p, "; ")
}

// namedClients lists the ids of the pool's app clients named ClientName.
func namedClients(ctx context.Context, c tdeploy.Cognito, pool string) ([]string, error) {
	ids, err := lambdaown.NamedClients(ctx, c, pool, ClientName)
	if err != nil {
		return nil, fmt.Errorf("list the app clients of %s: %w", pool, err)
	}
	return ids, nil
}

// ourClient is the id of deploy's app client, "" when there is none; one
// of its name with other settings (or two) is refused.
func ourClient(ctx context.Context, c tdeploy.Cognito, pool string) (string, error) {
	ids, err := namedClients(ctx, c, pool)
	if err != nil || len(ids) == 0 {
		return "", err
	}
	if len(ids) > 1 {
		return "", fmt.Errorf("the pool %s has %d app clients named %s (%s): deploy makes one; delete the others", pool, len(ids), ClientName, strings.Join(ids, ", "))
	}
	out, err := c.DescribeUserPoolClient(ctx, &cip.DescribeUserPoolClientInput{UserPoolId: &pool, ClientId: &ids[0]})
	if err != nil {
		return "", fmt.Errorf("read app client %s of %s: %w", ids[0], pool, err)
	}
	if why := clientProblem(out.UserPoolClient); why != "" {
		return "", fmt.Errorf("the pool %s has an app client %s named %s that deploy did not make as it makes it: %s. Delete it and deploy again", pool, ids[0], ClientName, why)
	}
	return ids[0], nil
}

// rolePolicyName is the role's one inline policy.
const rolePolicyName = "tokenmint"

// RolePolicy is the function's only permission: writing its own logs.
func (o Options) RolePolicy() string {
	data, _ := json.Marshal(map[string]any{"Version": "2012-10-17", "Statement": []map[string]any{
		{"Effect": "Allow", "Action": []string{"logs:CreateLogStream", "logs:PutLogEvents"},
			"Resource": fmt.Sprintf("arn:aws:logs:%s:%s:log-group:%s:*", o.Region, o.Account, o.LogGroup())},
	}})
	return string(data)
}

// role is the role the function runs as.
func (o Options) role() lambdaown.Role {
	return lambdaown.Role{Name: o.Role, PolicyName: rolePolicyName, Policy: o.RolePolicy(), Tags: o.Tags(), Ours: o.ours,
		Description: "poolmigrate: the custom-auth token function of pool " + o.Pool}
}

// inspectRole is the ARN of deploy's role ("" when none has its name); a
// role of its name that is someone else's, or allows more, is refused.
func inspectRole(ctx context.Context, i IAM, o Options) (string, error) {
	arn, why, err := o.role().Inspect(ctx, i)
	if err != nil {
		return "", err
	}
	if why != "" {
		return "", fmt.Errorf("IAM role %s exists, but %s: deploy will not use a role it did not make. Delete or rename it, or pass another role name", o.Role, why)
	}
	return arn, nil
}

func ensureRole(ctx context.Context, i IAM, o Options, arn string, step func(string, ...any)) (string, error) {
	arn, err := o.role().Ensure(ctx, i, arn, step)
	if err != nil {
		return "", err
	}
	step("role %s may only write to %s", o.Role, o.LogGroup())
	return arn, nil
}

func inspectLogGroup(ctx context.Context, lg tdeploy.Logs, o Options) error {
	why, err := lambdaown.InspectLogGroup(ctx, lg, o.LogGroup(), o.logGroupArn(), o.ours)
	if err != nil {
		return err
	}
	if why != "" {
		return fmt.Errorf("log group %s exists, but %s: deploy will not send the function's log to a group it did not make", o.LogGroup(), why)
	}
	return nil
}

func ensureLogGroup(ctx context.Context, lg tdeploy.Logs, o Options) error {
	name := o.LogGroup()
	_, err := lg.CreateLogGroup(ctx, &cloudwatchlogs.CreateLogGroupInput{LogGroupName: &name, Tags: o.Tags()})
	var exists *lgtypes.ResourceAlreadyExistsException
	switch {
	case errors.As(err, &exists):
	case err != nil:
		return fmt.Errorf("create log group %s: %w", name, err)
	}
	if _, err := lg.PutRetentionPolicy(ctx, &cloudwatchlogs.PutRetentionPolicyInput{LogGroupName: &name, RetentionInDays: lambdaown.Ptr(int32(o.LogRetentionDays))}); err != nil {
		return fmt.Errorf("set the retention of log group %s: %w", name, err)
	}
	return nil
}

// inspectFunction tells whether deploy's function exists; one of its name
// that is someone else's, or that others may invoke, is refused.
func inspectFunction(ctx context.Context, l tdeploy.Lambda, o Options) (bool, error) {
	out, err := lambdaown.GetFunction(ctx, l, o.Function)
	if out == nil || err != nil {
		return false, err
	}
	if why := o.ours(out.Tags); why != "" {
		return false, fmt.Errorf("function %s exists, but %s (or you may not call lambda:ListTags): deploy will not replace a function it did not make", o.Function, why)
	}
	sids, err := statementIDs(ctx, l, o.Function)
	if err != nil {
		return false, err
	}
	for _, sid := range sids {
		if sid != o.statementID() {
			return false, fmt.Errorf("function %s lets others invoke it (statement %s of its resource policy is not deploy's): remove it (aws lambda remove-permission) or delete the function", o.Function, sid)
		}
	}
	return true, nil
}

func (o Options) architecture() ltypes.Architecture {
	if o.Arch == "x86_64" || o.Arch == "amd64" {
		return ltypes.ArchitectureX8664
	}
	return ltypes.ArchitectureArm64
}

// ensureFunction creates the function, or brings deploy's up to date, with
// the run's configuration, and waits until Lambda is done with it.
func ensureFunction(ctx context.Context, l tdeploy.Lambda, o Options, exists bool, roleArn string, step func(string, ...any)) (string, error) {
	env := &ltypes.Environment{Variables: o.Run.Env()}
	var arn, sum string
	if !exists {
		in := &lambda.CreateFunctionInput{FunctionName: &o.Function, Runtime: ltypes.RuntimeProvidedal2023, Handler: lambdaown.Ptr("bootstrap"),
			Role: &roleArn, Code: &ltypes.FunctionCode{ZipFile: o.Zip}, Architectures: []ltypes.Architecture{o.architecture()},
			Environment: env, Timeout: lambdaown.Ptr(int32(FunctionTimeout)), MemorySize: lambdaown.Ptr(int32(128)), Tags: o.Tags(),
			Description: lambdaown.Ptr("poolmigrate: custom-auth challenges answered only by the run's key")}
		out, err := lambdaown.RetryLambda(ctx, o.Wait, func() (*lambda.CreateFunctionOutput, error) { return l.CreateFunction(ctx, in) })
		if err != nil {
			return "", fmt.Errorf("create function %s: %w", o.Function, err)
		}
		arn, sum = lambdaown.Deref(out.FunctionArn), lambdaown.Deref(out.CodeSha256)
		step("created function %s", arn)
	} else {
		out, err := lambdaown.RetryLambda(ctx, o.Wait, func() (*lambda.UpdateFunctionCodeOutput, error) {
			return l.UpdateFunctionCode(ctx, &lambda.UpdateFunctionCodeInput{FunctionName: &o.Function, ZipFile: o.Zip, Architectures: []ltypes.Architecture{o.architecture()}})
		})
		if err != nil {
			return "", fmt.Errorf("update the code of %s: %w", o.Function, err)
		}
		sum = lambdaown.Deref(out.CodeSha256)
		if err := lambdaown.WaitReady(ctx, l, o.Function, o.Wait); err != nil {
			return "", err
		}
		cfg, err := lambdaown.RetryLambda(ctx, o.Wait, func() (*lambda.UpdateFunctionConfigurationOutput, error) {
			return l.UpdateFunctionConfiguration(ctx, &lambda.UpdateFunctionConfigurationInput{FunctionName: &o.Function, Role: &roleArn, Environment: env,
				Timeout: lambdaown.Ptr(int32(FunctionTimeout)), MemorySize: lambdaown.Ptr(int32(128)), Runtime: ltypes.RuntimeProvidedal2023, Handler: lambdaown.Ptr("bootstrap"), Layers: []string{}})
		})
		if err != nil {
			return "", fmt.Errorf("update the settings of %s: %w", o.Function, err)
		}
		arn = lambdaown.Deref(cfg.FunctionArn)
		step("updated function %s for this run", arn)
	}
	if sum != o.lambdaSHA256() {
		return "", fmt.Errorf("function %s holds code with SHA-256 %s (base64), not the package's %s: the upload was altered; deploy again", o.Function, sum, o.lambdaSHA256())
	}
	if err := lambdaown.WaitReady(ctx, l, o.Function, o.Wait); err != nil {
		return "", err
	}
	return arn, nil
}

// statementIDs lists the ids of the function's resource policy statements.
func statementIDs(ctx context.Context, l tdeploy.Lambda, fn string) ([]string, error) {
	out, err := l.GetPolicy(ctx, &lambda.GetPolicyInput{FunctionName: &fn})
	var rnf *ltypes.ResourceNotFoundException
	if errors.As(err, &rnf) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read the policy of %s: %w", fn, err)
	}
	var pol struct{ Statement []struct{ Sid string } }
	if err := json.Unmarshal([]byte(lambdaown.Deref(out.Policy)), &pol); err != nil {
		return nil, fmt.Errorf("read the policy of %s: %w", fn, err)
	}
	var ids []string
	for _, st := range pol.Statement {
		ids = append(ids, st.Sid)
	}
	return ids, nil
}

// ensurePermission lets Cognito invoke the function for the pool only
// (the statement is made again each deploy).
func ensurePermission(ctx context.Context, l tdeploy.Lambda, o Options) error {
	sid := o.statementID()
	sids, err := statementIDs(ctx, l, o.Function)
	if err != nil {
		return err
	}
	if slices.Contains(sids, sid) {
		if _, err := l.RemovePermission(ctx, &lambda.RemovePermissionInput{FunctionName: &o.Function, StatementId: &sid}); err != nil {
			return fmt.Errorf("replace permission %s of %s: %w", sid, o.Function, err)
		}
	}
	if _, err := l.AddPermission(ctx, &lambda.AddPermissionInput{FunctionName: &o.Function, StatementId: &sid, Action: lambdaown.Ptr("lambda:InvokeFunction"),
		Principal: lambdaown.Ptr("cognito-idp.amazonaws.com"), SourceArn: lambdaown.Ptr(o.poolArn()), SourceAccount: &o.Account}); err != nil {
		return fmt.Errorf("let Cognito invoke %s: %w", o.Function, err)
	}
	return nil
}
