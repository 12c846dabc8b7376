package deploy

import (
	"context"
	"errors"
	"fmt"
	"strings"

	cip "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider"
	ctypes "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider/types"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	ltypes "github.com/aws/aws-sdk-go-v2/service/lambda/types"

	"github.com/poolmigrate/poolmigrate/lambdaown"
)

// Status is what Check found.
type Status struct {
	Function    string `json:"function"`
	FunctionArn string `json:"functionArn,omitempty"`
	Exists      bool   `json:"exists"`
	Permitted   bool   `json:"permitted"` // Cognito may invoke it for the new pool
	Attached    bool   `json:"attached"`  // the new pool's UserMigration is the function
	AttachedTo  string `json:"attachedTo,omitempty"`
	// Foreign are the statements of the function's resource policy that
	// deploy did not write (their ids).
	Foreign  []string `json:"foreignStatements,omitempty"`
	Problems []string `json:"problems"`
}

// OK tells whether the trigger works, and only for Cognito.
func (s Status) OK() bool { return s.Exists && s.Permitted && s.Attached && len(s.Foreign) == 0 }

// Check reports whether the trigger is in place. An `amplify push` of the
// auth stack rewrites LambdaConfig from the project's files, which know
// nothing of the trigger: Check sees it detached.
func Check(ctx context.Context, c Cognito, l Lambda, o Options) (Status, error) {
	o.Names()
	st := Status{Function: o.Function, Problems: []string{}}
	out, err := l.GetFunction(ctx, &lambda.GetFunctionInput{FunctionName: &o.Function})
	var rnf *ltypes.ResourceNotFoundException
	switch {
	case errors.As(err, &rnf):
		st.Problems = append(st.Problems, "function "+o.Function+" does not exist: run `poolmigrate trigger deploy`")
	case err != nil:
		return st, fmt.Errorf("read function %s: %w", o.Function, err)
	default:
		st.Exists, st.FunctionArn = true, lambdaown.Deref(out.Configuration.FunctionArn)
		sts, err := policyStatements(ctx, l, o.Function)
		for _, s := range sts {
			if o.isOurs(s) {
				st.Permitted = true
			} else {
				st.Foreign = append(st.Foreign, s.Sid)
			}
		}
		if err != nil || !st.Permitted {
			st.Problems = append(st.Problems, "Cognito may not invoke "+o.Function+" for "+o.TargetPool+": run `poolmigrate trigger deploy` again")
		}
		if len(st.Foreign) > 0 {
			st.Problems = append(st.Problems, fmt.Sprintf("the resource policy of %s has statements deploy did not write (%s): whoever they name may invoke the function, which sees every password; remove them (aws lambda remove-permission)", o.Function, strings.Join(st.Foreign, ", ")))
		}
	}
	target, err := c.DescribeUserPool(ctx, &cip.DescribeUserPoolInput{UserPoolId: &o.TargetPool})
	if err != nil {
		return st, fmt.Errorf("read the new pool %s: %w", o.TargetPool, err)
	}
	st.AttachedTo = lambdaown.Deref(lambdaConfig(target.UserPool).UserMigration)
	st.Attached = st.Exists && st.AttachedTo == st.FunctionArn
	if !st.Attached {
		what := "has no user migration trigger"
		if st.AttachedTo != "" {
			what = "migrates users through " + st.AttachedTo
		}
		st.Problems = append(st.Problems, fmt.Sprintf("the new pool %s %s (an `amplify push` of the auth stack rewrites its triggers): run `poolmigrate trigger deploy` again, or wire it into the auth resource with an override", o.TargetPool, what))
	}
	return st, nil
}

// Remove takes the trigger away: the new pool's UserMigration (every other
// setting kept), Cognito's permission, the function, the old pool's app
// client. It deletes only what is deploy's: a function without deploy's
// tags for these pools, or an app client of its name with other settings,
// stays (and is reported). The role and the log group stay (the logs
// expire with their retention; IAM roles cost nothing: delete it by hand).
func Remove(ctx context.Context, c Cognito, l Lambda, o Options) (Result, error) {
	o.Names()
	var res Result
	step := func(format string, args ...any) {
		s := fmt.Sprintf(format, args...)
		res.Steps = append(res.Steps, s)
		o.Logf("%s", s)
	}
	if err := o.Validate(); err != nil {
		return res, err
	}
	target, err := c.DescribeUserPool(ctx, &cip.DescribeUserPoolInput{UserPoolId: &o.TargetPool})
	if err != nil {
		return res, fmt.Errorf("read the new pool %s: %w", o.TargetPool, err)
	}
	if cur := lambdaConfig(target.UserPool).UserMigration; cur != nil && strings.HasSuffix(*cur, ":function:"+o.Function) {
		in := UpdateInput(target.UserPool)
		in.LambdaConfig.UserMigration = nil
		if _, err := c.UpdateUserPool(ctx, in); err != nil {
			return res, fmt.Errorf("remove the user migration trigger of %s: %w", o.TargetPool, err)
		}
		step("the new pool %s no longer migrates users", o.TargetPool)
	}
	fn, err := l.GetFunction(ctx, &lambda.GetFunctionInput{FunctionName: &o.Function})
	var rnf *ltypes.ResourceNotFoundException
	switch {
	case errors.As(err, &rnf):
	case err != nil:
		return res, fmt.Errorf("read function %s: %w", o.Function, err)
	case o.ours(fn.Tags) != "":
		step("function %s stays: %s (or you may not call lambda:ListTags)", o.Function, o.ours(fn.Tags))
	default:
		sid := o.statementID()
		if _, err := l.RemovePermission(ctx, &lambda.RemovePermissionInput{FunctionName: &o.Function, StatementId: &sid}); err != nil && !errors.As(err, &rnf) {
			return res, fmt.Errorf("remove Cognito's permission on %s: %w", o.Function, err)
		}
		if _, err := l.DeleteFunction(ctx, &lambda.DeleteFunctionInput{FunctionName: &o.Function}); err != nil && !errors.As(err, &rnf) {
			return res, fmt.Errorf("delete function %s: %w", o.Function, err)
		}
		step("deleted function %s", o.Function)
	}
	ids, err := namedClients(ctx, c, o.OldPool)
	var nf *ctypes.ResourceNotFoundException
	if err != nil && !errors.As(err, &nf) { // not found: the old pool is gone already
		return res, fmt.Errorf("list the app clients of %s: %w", o.OldPool, err)
	}
	for _, id := range ids {
		cl, err := describeClient(ctx, c, o.OldPool, id)
		if err != nil {
			return res, err
		}
		if why := clientProblem(cl); why != "" {
			step("the app client %s of the old pool stays: deploy did not make it as it makes it (%s)", id, why)
			continue
		}
		if _, err := c.DeleteUserPoolClient(ctx, &cip.DeleteUserPoolClientInput{UserPoolId: &o.OldPool, ClientId: &id}); err != nil {
			return res, fmt.Errorf("delete app client %s of %s: %w", id, o.OldPool, err)
		}
		step("deleted the app client %s of the old pool", id)
	}
	step("the IAM role %s and the log group %s stay; delete them when you like", o.Role, o.LogGroup())
	return res, nil
}
