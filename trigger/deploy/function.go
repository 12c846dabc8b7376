package deploy

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	lgtypes "github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs/types"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	ltypes "github.com/aws/aws-sdk-go-v2/service/lambda/types"

	"github.com/poolmigrate/poolmigrate/lambdaown"
)

// inspectFunction tells whether deploy's function exists, and refuses a
// function of its name that is not deploy's for these pools.
func inspectFunction(ctx context.Context, l Lambda, o Options) (bool, error) {
	out, err := lambdaown.GetFunction(ctx, l, o.Function)
	if out == nil || err != nil {
		return false, err
	}
	refuse := func(why string) error {
		return fmt.Errorf("function %s exists, but %s: deploy will not replace a function it did not make. Delete or rename it, or deploy with --function NAME", o.Function, why)
	}
	if why := o.ours(out.Tags); why != "" {
		// GetFunction shows tags only to callers allowed lambda:ListTags.
		return false, refuse(why + " (or you may not call lambda:ListTags)")
	}
	if out.Configuration != nil && out.Configuration.PackageType == ltypes.PackageTypeImage {
		return false, refuse("it is a container image, not a .zip package")
	}
	foreign, err := foreignStatements(ctx, l, o)
	if err != nil {
		return false, err
	}
	if len(foreign) > 0 {
		return false, fmt.Errorf("function %s lets others invoke it: its resource policy has statements deploy did not write (%s), and the function sees every password. Remove them (aws lambda remove-permission --function-name %s --statement-id ID), or deploy with --function NAME", o.Function, strings.Join(foreign, ", "), o.Function)
	}
	return true, nil
}

func (o Options) architecture() ltypes.Architecture {
	if o.Arch == "x86_64" || o.Arch == "amd64" {
		return ltypes.ArchitectureX8664
	}
	return ltypes.ArchitectureArm64
}

// ensureFunction creates the function, or brings deploy's up to date (its
// code, then its settings), and waits until Lambda has finished with it.
func ensureFunction(ctx context.Context, l Lambda, o Options, exists bool, clientID, roleArn string, step func(string, ...any)) (string, error) {
	env := &ltypes.Environment{Variables: map[string]string{"OLD_USER_POOL_ID": o.OldPool, "OLD_APP_CLIENT_ID": clientID}}
	if len(o.CarryAttributes) > 0 {
		env.Variables["CARRY_ATTRIBUTES"] = strings.Join(o.CarryAttributes, ",")
	}
	if len(o.CaseCollisions) > 0 {
		env.Variables["CASE_COLLISIONS"] = strings.Join(o.CaseCollisions, ",")
	}
	arch := o.architecture()
	var arn, sum string
	if !exists {
		in := &lambda.CreateFunctionInput{FunctionName: &o.Function, Runtime: ltypes.RuntimeProvidedal2023, Handler: lambdaown.Ptr("bootstrap"),
			Role: &roleArn, Code: &ltypes.FunctionCode{ZipFile: o.Zip}, Architectures: []ltypes.Architecture{arch},
			Environment: env, Timeout: lambdaown.Ptr(int32(FunctionTimeout)), MemorySize: lambdaown.Ptr(int32(256)), Tags: o.Tags(),
			Description: lambdaown.Ptr("poolmigrate: signs users in against the old pool and migrates them")}
		out, err := lambdaown.RetryLambda(ctx, o.Wait, func() (*lambda.CreateFunctionOutput, error) { return l.CreateFunction(ctx, in) })
		if err != nil {
			return "", fmt.Errorf("create function %s: %w", o.Function, err)
		}
		arn, sum = lambdaown.Deref(out.FunctionArn), lambdaown.Deref(out.CodeSha256)
		step("created function %s (timeout %d s)", arn, FunctionTimeout)
	} else {
		out, err := lambdaown.RetryLambda(ctx, o.Wait, func() (*lambda.UpdateFunctionCodeOutput, error) {
			return l.UpdateFunctionCode(ctx, &lambda.UpdateFunctionCodeInput{FunctionName: &o.Function, ZipFile: o.Zip, Architectures: []ltypes.Architecture{arch}})
		})
		if err != nil {
			return "", fmt.Errorf("update the code of %s: %w", o.Function, err)
		}
		sum = lambdaown.Deref(out.CodeSha256)
		if err := lambdaown.WaitReady(ctx, l, o.Function, o.Wait); err != nil {
			return "", err
		}
		cfg, err := lambdaown.RetryLambda(ctx, o.Wait, func() (*lambda.UpdateFunctionConfigurationOutput, error) {
			// Layers: none. A layer's code runs in the function, beside
			// every password; whatever one was added is taken off.
			return l.UpdateFunctionConfiguration(ctx, &lambda.UpdateFunctionConfigurationInput{FunctionName: &o.Function, Role: &roleArn, Environment: env,
				Timeout: lambdaown.Ptr(int32(FunctionTimeout)), MemorySize: lambdaown.Ptr(int32(256)), Runtime: ltypes.RuntimeProvidedal2023, Handler: lambdaown.Ptr("bootstrap"),
				Layers: []string{}})
		})
		if err != nil {
			return "", fmt.Errorf("update the settings of %s: %w", o.Function, err)
		}
		arn = lambdaown.Deref(cfg.FunctionArn)
		step("updated function %s (code and settings, timeout %d s)", arn, FunctionTimeout)
	}
	if sum != o.lambdaSHA256() {
		return "", fmt.Errorf("function %s holds code with SHA-256 %s (base64), not the package's %s: the upload was altered; run deploy again", o.Function, sum, o.lambdaSHA256())
	}
	if err := lambdaown.WaitReady(ctx, l, o.Function, o.Wait); err != nil {
		return "", err
	}
	return arn, nil
}

// inspectLogGroup refuses a log group of the function's name that is not
// deploy's for these pools: someone else's group (with its subscriptions
// and readers) would receive the function's log.
func inspectLogGroup(ctx context.Context, lg Logs, o Options) error {
	if lg == nil {
		return nil
	}
	why, err := lambdaown.InspectLogGroup(ctx, lg, o.LogGroup(), o.logGroupArn(), o.ours)
	if err != nil {
		return err
	}
	if why != "" {
		return fmt.Errorf("log group %s exists, but %s: deploy will not send the function's log to a group it did not make. Delete it, or deploy with --function NAME", o.LogGroup(), why)
	}
	return nil
}

func (o Options) logGroupArn() string {
	return fmt.Sprintf("arn:aws:logs:%s:%s:log-group:%s", o.Region, o.Account, o.LogGroup())
}

// ensureLogGroup creates the function's log group, tagged, before the
// function can write to it (Lambda would create it without a retention),
// and sets its retention. A group left by an earlier deploy (Inspect saw
// it tagged as deploy's) is tagged again and kept.
func ensureLogGroup(ctx context.Context, lg Logs, o Options) error {
	name := o.LogGroup()
	_, err := lg.CreateLogGroup(ctx, &cloudwatchlogs.CreateLogGroupInput{LogGroupName: &name, Tags: o.Tags()})
	var exists *lgtypes.ResourceAlreadyExistsException
	switch {
	case errors.As(err, &exists):
		arn := o.logGroupArn()
		if _, err := lg.TagResource(ctx, &cloudwatchlogs.TagResourceInput{ResourceArn: &arn, Tags: o.Tags()}); err != nil {
			return fmt.Errorf("tag log group %s: %w", name, err)
		}
	case err != nil:
		return fmt.Errorf("create log group %s: %w", name, err)
	}
	if _, err := lg.PutRetentionPolicy(ctx, &cloudwatchlogs.PutRetentionPolicyInput{LogGroupName: &name, RetentionInDays: lambdaown.Ptr(int32(o.LogRetentionDays))}); err != nil {
		return fmt.Errorf("set the retention of log group %s: %w", name, err)
	}
	return nil
}

// statement is a statement of a function's resource policy, as GetPolicy
// gives it.
type statement struct {
	Sid       string
	Effect    string
	Principal json.RawMessage
	Action    json.RawMessage
	Condition map[string]map[string]json.RawMessage
}

// policyStatements reads the function's resource policy (none: no
// statements).
func policyStatements(ctx context.Context, l Lambda, fn string) ([]statement, error) {
	out, err := l.GetPolicy(ctx, &lambda.GetPolicyInput{FunctionName: &fn})
	var rnf *ltypes.ResourceNotFoundException
	if errors.As(err, &rnf) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read the policy of %s: %w", fn, err)
	}
	var pol struct{ Statement []statement }
	if out.Policy != nil {
		if err := json.Unmarshal([]byte(*out.Policy), &pol); err != nil {
			return nil, fmt.Errorf("read the policy of %s: %w", fn, err)
		}
	}
	return pol.Statement, nil
}

// isOurs says whether st is exactly the statement deploy writes: Cognito
// (the service) may invoke the function, from the new pool only.
func (o Options) isOurs(st statement) bool {
	str := func(raw json.RawMessage) string {
		var s string
		_ = json.Unmarshal(raw, &s)
		return s
	}
	var principal struct{ Service json.RawMessage }
	_ = json.Unmarshal(st.Principal, &principal)
	if st.Sid != o.statementID() || st.Effect != "Allow" || str(principal.Service) != "cognito-idp.amazonaws.com" || str(st.Action) != "lambda:InvokeFunction" {
		return false
	}
	for op, conds := range st.Condition {
		for key, v := range conds {
			switch {
			case op == "ArnLike" && key == "AWS:SourceArn" && str(v) == o.poolArn(o.TargetPool):
			case op == "StringEquals" && key == "AWS:SourceAccount" && str(v) == o.Account:
			default:
				return false
			}
		}
	}
	return str(st.Condition["ArnLike"]["AWS:SourceArn"]) == o.poolArn(o.TargetPool)
}

// foreignStatements names the statements of the function's resource
// policy that deploy did not write: each lets someone else invoke a
// function that sees every password.
func foreignStatements(ctx context.Context, l Lambda, o Options) ([]string, error) {
	sts, err := policyStatements(ctx, l, o.Function)
	if err != nil {
		return nil, err
	}
	var foreign []string
	for _, st := range sts {
		if st.Sid != o.statementID() {
			foreign = append(foreign, st.Sid)
		}
	}
	return foreign, nil
}

// hasPermission tells whether the function's policy holds deploy's
// statement as deploy writes it; a statement of that id saying anything
// else is removed so it can be made again.
func hasPermission(ctx context.Context, l Lambda, o Options) (bool, error) {
	sts, err := policyStatements(ctx, l, o.Function)
	if err != nil {
		return false, err
	}
	sid := o.statementID()
	for _, st := range sts {
		if st.Sid != sid {
			continue
		}
		if o.isOurs(st) {
			return true, nil
		}
		if _, err := l.RemovePermission(ctx, &lambda.RemovePermissionInput{FunctionName: &o.Function, StatementId: &sid}); err != nil {
			return false, fmt.Errorf("replace permission %s of %s: %w", sid, o.Function, err)
		}
	}
	return false, nil
}
