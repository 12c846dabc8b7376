// Package deploy puts the user migration trigger in front of the new pool
// and takes it away again: an app client on the old pool that allows
// ADMIN_USER_PASSWORD_AUTH, an IAM role limited to the three calls the
// trigger makes on the old pool and its own logs, the Lambda function,
// the permission for Cognito (source: the new pool) to invoke it, and the
// new pool's LambdaConfig.UserMigration — set with UpdateUserPool, which
// resets every setting it is not given, so the whole current
// configuration is sent back.
package deploy

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"time"

	cip "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider"
	ctypes "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider/types"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	iamtypes "github.com/aws/aws-sdk-go-v2/service/iam/types"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	ltypes "github.com/aws/aws-sdk-go-v2/service/lambda/types"
	"github.com/aws/smithy-go"
)

// Cognito is the part of the Cognito API deploy uses.
type Cognito interface {
	DescribeUserPool(ctx context.Context, in *cip.DescribeUserPoolInput, optFns ...func(*cip.Options)) (*cip.DescribeUserPoolOutput, error)
	UpdateUserPool(ctx context.Context, in *cip.UpdateUserPoolInput, optFns ...func(*cip.Options)) (*cip.UpdateUserPoolOutput, error)
	ListUserPoolClients(ctx context.Context, in *cip.ListUserPoolClientsInput, optFns ...func(*cip.Options)) (*cip.ListUserPoolClientsOutput, error)
	CreateUserPoolClient(ctx context.Context, in *cip.CreateUserPoolClientInput, optFns ...func(*cip.Options)) (*cip.CreateUserPoolClientOutput, error)
	DeleteUserPoolClient(ctx context.Context, in *cip.DeleteUserPoolClientInput, optFns ...func(*cip.Options)) (*cip.DeleteUserPoolClientOutput, error)
}

// Lambda is the part of the Lambda API deploy uses.
type Lambda interface {
	GetFunction(ctx context.Context, in *lambda.GetFunctionInput, optFns ...func(*lambda.Options)) (*lambda.GetFunctionOutput, error)
	CreateFunction(ctx context.Context, in *lambda.CreateFunctionInput, optFns ...func(*lambda.Options)) (*lambda.CreateFunctionOutput, error)
	UpdateFunctionCode(ctx context.Context, in *lambda.UpdateFunctionCodeInput, optFns ...func(*lambda.Options)) (*lambda.UpdateFunctionCodeOutput, error)
	UpdateFunctionConfiguration(ctx context.Context, in *lambda.UpdateFunctionConfigurationInput, optFns ...func(*lambda.Options)) (*lambda.UpdateFunctionConfigurationOutput, error)
	DeleteFunction(ctx context.Context, in *lambda.DeleteFunctionInput, optFns ...func(*lambda.Options)) (*lambda.DeleteFunctionOutput, error)
	AddPermission(ctx context.Context, in *lambda.AddPermissionInput, optFns ...func(*lambda.Options)) (*lambda.AddPermissionOutput, error)
	GetPolicy(ctx context.Context, in *lambda.GetPolicyInput, optFns ...func(*lambda.Options)) (*lambda.GetPolicyOutput, error)
	RemovePermission(ctx context.Context, in *lambda.RemovePermissionInput, optFns ...func(*lambda.Options)) (*lambda.RemovePermissionOutput, error)
}

// IAM is the part of the IAM API deploy uses.
type IAM interface {
	GetRole(ctx context.Context, in *iam.GetRoleInput, optFns ...func(*iam.Options)) (*iam.GetRoleOutput, error)
	CreateRole(ctx context.Context, in *iam.CreateRoleInput, optFns ...func(*iam.Options)) (*iam.CreateRoleOutput, error)
	PutRolePolicy(ctx context.Context, in *iam.PutRolePolicyInput, optFns ...func(*iam.Options)) (*iam.PutRolePolicyOutput, error)
}

// ClientName is the name of the app client deploy creates on the old pool.
const ClientName = "poolmigrate-migration-trigger"

// Options say what to deploy where.
type Options struct {
	OldPool, TargetPool string
	Region, Account     string
	Function, Role      string // names; defaults from the target pool
	Zip                 []byte
	Arch                string // arm64 (default) or x86_64
	CarryAttributes     []string
	// Wait is how long to keep trying while IAM makes a new role usable.
	Wait time.Duration
	Logf func(format string, args ...any)
}

// Names fills the default names: poolmigrate-migration-<target pool>.
func (o *Options) Names() {
	base := "poolmigrate-migration-" + strings.NewReplacer("_", "-").Replace(o.TargetPool)
	if o.Function == "" {
		o.Function = base
	}
	if o.Role == "" {
		o.Role = base
	}
	if o.Arch == "" {
		o.Arch = "arm64"
	}
	if o.Wait == 0 {
		o.Wait = 2 * time.Minute
	}
	if o.Logf == nil {
		o.Logf = func(string, ...any) {}
	}
}

// Result is what deploy did.
type Result struct {
	FunctionArn string   `json:"functionArn"`
	RoleArn     string   `json:"roleArn"`
	ClientID    string   `json:"oldPoolClientId"`
	Steps       []string `json:"steps"`
}

func (o Options) poolArn(pool string) string {
	return fmt.Sprintf("arn:aws:cognito-idp:%s:%s:userpool/%s", o.Region, o.Account, pool)
}

// RolePolicy is the trigger's only permissions: three calls on the old
// pool, and its own log group.
func (o Options) RolePolicy() string {
	p := map[string]any{"Version": "2012-10-17", "Statement": []map[string]any{
		{"Effect": "Allow", "Action": []string{"cognito-idp:AdminInitiateAuth", "cognito-idp:AdminGetUser", "cognito-idp:ListUsers"}, "Resource": o.poolArn(o.OldPool)},
		{"Effect": "Allow", "Action": []string{"logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents"},
			"Resource": fmt.Sprintf("arn:aws:logs:%s:%s:log-group:/aws/lambda/%s:*", o.Region, o.Account, o.Function)},
	}}
	data, _ := json.Marshal(p)
	return string(data)
}

const lambdaTrust = `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"lambda.amazonaws.com"},"Action":"sts:AssumeRole"}]}`

// Deploy puts the trigger in place; run again, it brings everything up to
// date (new code, settings) and changes nothing else.
func Deploy(ctx context.Context, c Cognito, l Lambda, i IAM, o Options) (Result, error) {
	o.Names()
	var res Result
	step := func(format string, args ...any) {
		s := fmt.Sprintf(format, args...)
		res.Steps = append(res.Steps, s)
		o.Logf("%s", s)
	}
	target, err := c.DescribeUserPool(ctx, &cip.DescribeUserPoolInput{UserPoolId: &o.TargetPool})
	if err != nil {
		return res, fmt.Errorf("read the new pool %s: %w", o.TargetPool, err)
	}
	if _, err := c.DescribeUserPool(ctx, &cip.DescribeUserPoolInput{UserPoolId: &o.OldPool}); err != nil {
		return res, fmt.Errorf("read the old pool %s: %w (it must still exist: see `poolmigrate retain-pool`)", o.OldPool, err)
	}
	if !hasAttribute(target.UserPool, "custom:prev_sub_id") || !hasAttribute(target.UserPool, "custom:prev_username") {
		return res, fmt.Errorf("the new pool %s lacks custom:prev_sub_id / custom:prev_username, which the trigger fills: add them with `poolmigrate check --fix`", o.TargetPool)
	}
	funcArn := fmt.Sprintf("arn:aws:lambda:%s:%s:function:%s", o.Region, o.Account, o.Function)
	if cur := lambdaConfig(target.UserPool).UserMigration; cur != nil && *cur != funcArn && *cur != "" {
		return res, fmt.Errorf("the new pool %s has a user migration trigger already (%s): remove it first, or deploy with --function naming it", o.TargetPool, *cur)
	}

	// The app client on the old pool.
	if res.ClientID, err = ensureClient(ctx, c, o.OldPool); err != nil {
		return res, err
	}
	step("app client %s on the old pool %s allows ADMIN_USER_PASSWORD_AUTH", res.ClientID, o.OldPool)

	// The role.
	role, err := i.GetRole(ctx, &iam.GetRoleInput{RoleName: &o.Role})
	var nse *iamtypes.NoSuchEntityException
	switch {
	case errors.As(err, &nse):
		out, err := i.CreateRole(ctx, &iam.CreateRoleInput{RoleName: &o.Role, AssumeRolePolicyDocument: ptr(lambdaTrust),
			Description: ptr("poolmigrate: the user migration trigger of pool " + o.TargetPool)})
		if err != nil {
			return res, fmt.Errorf("create IAM role %s: %w", o.Role, err)
		}
		res.RoleArn = *out.Role.Arn
		step("created IAM role %s", res.RoleArn)
	case err != nil:
		return res, fmt.Errorf("read IAM role %s: %w", o.Role, err)
	default:
		res.RoleArn = *role.Role.Arn
	}
	if _, err := i.PutRolePolicy(ctx, &iam.PutRolePolicyInput{RoleName: &o.Role, PolicyName: ptr("migration-trigger"), PolicyDocument: ptr(o.RolePolicy())}); err != nil {
		return res, fmt.Errorf("set the role's policy: %w", err)
	}
	step("role %s may call AdminInitiateAuth, AdminGetUser and ListUsers on %s, and write its logs", o.Role, o.OldPool)

	// The function.
	env := map[string]string{"OLD_USER_POOL_ID": o.OldPool, "OLD_APP_CLIENT_ID": res.ClientID}
	if len(o.CarryAttributes) > 0 {
		env["CARRY_ATTRIBUTES"] = strings.Join(o.CarryAttributes, ",")
	}
	arch := ltypes.ArchitectureArm64
	if o.Arch == "x86_64" || o.Arch == "amd64" {
		arch = ltypes.ArchitectureX8664
	}
	_, err = l.GetFunction(ctx, &lambda.GetFunctionInput{FunctionName: &o.Function})
	var rnf *ltypes.ResourceNotFoundException
	switch {
	case errors.As(err, &rnf):
		in := &lambda.CreateFunctionInput{FunctionName: &o.Function, Runtime: ltypes.RuntimeProvidedal2023, Handler: ptr("bootstrap"),
			Role: &res.RoleArn, Code: &ltypes.FunctionCode{ZipFile: o.Zip}, Architectures: []ltypes.Architecture{arch},
			Environment: &ltypes.Environment{Variables: env}, Timeout: ptr(int32(10)), MemorySize: ptr(int32(256)),
			Description: ptr("poolmigrate: signs users in against the old pool and migrates them")}
		out, err := retryIAM(ctx, o.Wait, func() (*lambda.CreateFunctionOutput, error) { return l.CreateFunction(ctx, in) })
		if err != nil {
			return res, fmt.Errorf("create function %s: %w", o.Function, err)
		}
		res.FunctionArn = *out.FunctionArn
		step("created function %s", res.FunctionArn)
	case err != nil:
		return res, fmt.Errorf("read function %s: %w", o.Function, err)
	default:
		if _, err := l.UpdateFunctionCode(ctx, &lambda.UpdateFunctionCodeInput{FunctionName: &o.Function, ZipFile: o.Zip, Architectures: []ltypes.Architecture{arch}}); err != nil {
			return res, fmt.Errorf("update the code of %s: %w", o.Function, err)
		}
		if err := waitUpdated(ctx, l, o.Function); err != nil {
			return res, err
		}
		out, err := l.UpdateFunctionConfiguration(ctx, &lambda.UpdateFunctionConfigurationInput{FunctionName: &o.Function, Role: &res.RoleArn, Environment: &ltypes.Environment{Variables: env}})
		if err != nil {
			return res, fmt.Errorf("update the settings of %s: %w", o.Function, err)
		}
		res.FunctionArn = *out.FunctionArn
		step("updated function %s", res.FunctionArn)
	}
	if err := waitUpdated(ctx, l, o.Function); err != nil {
		return res, err
	}

	// Cognito may invoke it, for the new pool only.
	sid := "poolmigrate-" + strings.NewReplacer("_", "-").Replace(o.TargetPool)
	if ok, err := hasPermission(ctx, l, o.Function, sid, o.poolArn(o.TargetPool)); err != nil {
		return res, err
	} else if !ok {
		if _, err := l.AddPermission(ctx, &lambda.AddPermissionInput{FunctionName: &o.Function, StatementId: &sid, Action: ptr("lambda:InvokeFunction"),
			Principal: ptr("cognito-idp.amazonaws.com"), SourceArn: ptr(o.poolArn(o.TargetPool)), SourceAccount: &o.Account}); err != nil {
			return res, fmt.Errorf("let Cognito invoke %s: %w", o.Function, err)
		}
	}
	step("Cognito may invoke it for %s only", o.poolArn(o.TargetPool))

	// The new pool's trigger, with every other setting as it is.
	in := UpdateInput(target.UserPool)
	in.LambdaConfig.UserMigration = &res.FunctionArn
	if _, err := c.UpdateUserPool(ctx, in); err != nil {
		return res, fmt.Errorf("set the user migration trigger of %s: %w", o.TargetPool, err)
	}
	step("the new pool %s migrates users through %s", o.TargetPool, res.FunctionArn)
	return res, nil
}

// UpdateInput is an UpdateUserPool request that sends a pool's whole
// current configuration back (UpdateUserPool resets what it is not given).
func UpdateInput(p *ctypes.UserPoolType) *cip.UpdateUserPoolInput {
	in := &cip.UpdateUserPoolInput{
		UserPoolId:                  p.Id,
		AccountRecoverySetting:      p.AccountRecoverySetting,
		AdminCreateUserConfig:       p.AdminCreateUserConfig,
		AutoVerifiedAttributes:      p.AutoVerifiedAttributes,
		DeletionProtection:          p.DeletionProtection,
		DeviceConfiguration:         p.DeviceConfiguration,
		EmailConfiguration:          p.EmailConfiguration,
		EmailVerificationMessage:    p.EmailVerificationMessage,
		EmailVerificationSubject:    p.EmailVerificationSubject,
		LambdaConfig:                lambdaConfig(p),
		MfaConfiguration:            p.MfaConfiguration,
		Policies:                    p.Policies,
		SmsAuthenticationMessage:    p.SmsAuthenticationMessage,
		SmsConfiguration:            p.SmsConfiguration,
		SmsVerificationMessage:      p.SmsVerificationMessage,
		UserAttributeUpdateSettings: p.UserAttributeUpdateSettings,
		UserPoolAddOns:              p.UserPoolAddOns,
		UserPoolTags:                p.UserPoolTags,
		VerificationMessageTemplate: p.VerificationMessageTemplate,
	}
	if in.AdminCreateUserConfig != nil && in.Policies != nil && in.Policies.PasswordPolicy != nil && in.Policies.PasswordPolicy.TemporaryPasswordValidityDays > 0 {
		// Describe returns the deprecated UnusedAccountValidityDays next to
		// its successor; Update refuses both at once.
		c := *in.AdminCreateUserConfig
		c.UnusedAccountValidityDays = 0
		in.AdminCreateUserConfig = &c
	}
	return in
}

func lambdaConfig(p *ctypes.UserPoolType) *ctypes.LambdaConfigType {
	if p.LambdaConfig == nil {
		return &ctypes.LambdaConfigType{}
	}
	c := *p.LambdaConfig
	return &c
}

func hasAttribute(p *ctypes.UserPoolType, name string) bool {
	for _, a := range p.SchemaAttributes {
		if a.Name != nil && (*a.Name == name || "custom:"+*a.Name == name) {
			return true
		}
	}
	return false
}

func ensureClient(ctx context.Context, c Cognito, pool string) (string, error) {
	ids, err := ourClients(ctx, c, pool)
	if err != nil {
		return "", fmt.Errorf("list the app clients of %s: %w", pool, err)
	}
	if len(ids) > 0 {
		return ids[0], nil
	}
	out, err := c.CreateUserPoolClient(ctx, &cip.CreateUserPoolClientInput{UserPoolId: &pool, ClientName: ptr(ClientName), GenerateSecret: false,
		ExplicitAuthFlows: []ctypes.ExplicitAuthFlowsType{ctypes.ExplicitAuthFlowsTypeAllowAdminUserPasswordAuth, ctypes.ExplicitAuthFlowsTypeAllowRefreshTokenAuth}})
	if err != nil {
		return "", fmt.Errorf("create an app client on the old pool %s: %w", pool, err)
	}
	return *out.UserPoolClient.ClientId, nil
}

// ourClients lists the ids of the pool's app clients named ClientName.
func ourClients(ctx context.Context, c Cognito, pool string) ([]string, error) {
	var ids []string
	p := cip.NewListUserPoolClientsPaginator(c, &cip.ListUserPoolClientsInput{UserPoolId: &pool, MaxResults: ptr(int32(60))})
	for p.HasMorePages() {
		out, err := p.NextPage(ctx)
		if err != nil {
			return nil, err
		}
		for _, cl := range out.UserPoolClients {
			if deref(cl.ClientName) == ClientName {
				ids = append(ids, deref(cl.ClientId))
			}
		}
	}
	return ids, nil
}

var sourceArnRE = regexp.MustCompile(`"AWS:SourceArn"\s*:\s*"([^"]+)"`)

// hasPermission tells whether statement sid lets Cognito invoke the
// function from sourceArn; a statement of that id with another source is
// removed so it can be made again.
func hasPermission(ctx context.Context, l Lambda, fn, sid, sourceArn string) (bool, error) {
	out, err := l.GetPolicy(ctx, &lambda.GetPolicyInput{FunctionName: &fn})
	var rnf *ltypes.ResourceNotFoundException
	if errors.As(err, &rnf) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("read the policy of %s: %w", fn, err)
	}
	var pol struct {
		Statement []json.RawMessage
	}
	if out.Policy != nil {
		_ = json.Unmarshal([]byte(*out.Policy), &pol)
	}
	for _, st := range pol.Statement {
		var s struct{ Sid string }
		_ = json.Unmarshal(st, &s)
		if s.Sid != sid {
			continue
		}
		if m := sourceArnRE.FindSubmatch(st); m != nil && string(m[1]) == sourceArn {
			return true, nil
		}
		if _, err := l.RemovePermission(ctx, &lambda.RemovePermissionInput{FunctionName: &fn, StatementId: &sid}); err != nil {
			return false, fmt.Errorf("replace permission %s of %s: %w", sid, fn, err)
		}
	}
	return false, nil
}

// retryIAM retries while Lambda cannot yet assume a role IAM just made.
func retryIAM[T any](ctx context.Context, wait time.Duration, f func() (T, error)) (T, error) {
	deadline := time.Now().Add(wait)
	delay := time.Second
	for {
		v, err := f()
		var ae smithy.APIError
		if err == nil || !errors.As(err, &ae) || ae.ErrorCode() != "InvalidParameterValueException" || !strings.Contains(ae.ErrorMessage(), "cannot be assumed") || time.Now().After(deadline) {
			return v, err
		}
		select {
		case <-time.After(delay):
		case <-ctx.Done():
			return v, ctx.Err()
		}
		delay = min(delay*2, 10*time.Second)
	}
}

// waitUpdated waits until a function is ready for the next change.
func waitUpdated(ctx context.Context, l Lambda, fn string) error {
	for i := 0; i < 120; i++ {
		out, err := l.GetFunction(ctx, &lambda.GetFunctionInput{FunctionName: &fn})
		if err != nil {
			return fmt.Errorf("read function %s: %w", fn, err)
		}
		cfg := out.Configuration
		if cfg == nil || (cfg.State != ltypes.StatePending && cfg.LastUpdateStatus != ltypes.LastUpdateStatusInProgress) {
			if cfg != nil && (cfg.State == ltypes.StateFailed || cfg.LastUpdateStatus == ltypes.LastUpdateStatusFailed) {
				return fmt.Errorf("function %s failed: %s", fn, deref(cfg.StateReason)+deref(cfg.LastUpdateStatusReason))
			}
			return nil
		}
		select {
		case <-time.After(time.Second):
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	return fmt.Errorf("function %s is still being updated after two minutes", fn)
}

func ptr[T any](v T) *T { return &v }

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

// Status is what Check found.
type Status struct {
	Function    string   `json:"function"`
	FunctionArn string   `json:"functionArn,omitempty"`
	Exists      bool     `json:"exists"`
	Permitted   bool     `json:"permitted"` // Cognito may invoke it for the new pool
	Attached    bool     `json:"attached"`  // the new pool's UserMigration is the function
	AttachedTo  string   `json:"attachedTo,omitempty"`
	Problems    []string `json:"problems"`
}

// OK tells whether the trigger works.
func (s Status) OK() bool { return s.Exists && s.Permitted && s.Attached }

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
		st.Exists, st.FunctionArn = true, deref(out.Configuration.FunctionArn)
		sid := "poolmigrate-" + strings.NewReplacer("_", "-").Replace(o.TargetPool)
		pol, err := l.GetPolicy(ctx, &lambda.GetPolicyInput{FunctionName: &o.Function})
		if err == nil && pol.Policy != nil && strings.Contains(*pol.Policy, `"`+sid+`"`) && strings.Contains(*pol.Policy, o.poolArn(o.TargetPool)) {
			st.Permitted = true
		} else {
			st.Problems = append(st.Problems, "Cognito may not invoke "+o.Function+" for "+o.TargetPool+": run `poolmigrate trigger deploy` again")
		}
	}
	target, err := c.DescribeUserPool(ctx, &cip.DescribeUserPoolInput{UserPoolId: &o.TargetPool})
	if err != nil {
		return st, fmt.Errorf("read the new pool %s: %w", o.TargetPool, err)
	}
	st.AttachedTo = deref(lambdaConfig(target.UserPool).UserMigration)
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
// client. The role stays (IAM roles cost nothing; delete it by hand).
func Remove(ctx context.Context, c Cognito, l Lambda, o Options) (Result, error) {
	o.Names()
	var res Result
	step := func(format string, args ...any) {
		s := fmt.Sprintf(format, args...)
		res.Steps = append(res.Steps, s)
		o.Logf("%s", s)
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
	sid := "poolmigrate-" + strings.NewReplacer("_", "-").Replace(o.TargetPool)
	var rnf *ltypes.ResourceNotFoundException
	if _, err := l.RemovePermission(ctx, &lambda.RemovePermissionInput{FunctionName: &o.Function, StatementId: &sid}); err != nil && !errors.As(err, &rnf) {
		return res, fmt.Errorf("remove Cognito's permission on %s: %w", o.Function, err)
	}
	if _, err := l.DeleteFunction(ctx, &lambda.DeleteFunctionInput{FunctionName: &o.Function}); err == nil {
		step("deleted function %s", o.Function)
	} else if !errors.As(err, &rnf) {
		return res, fmt.Errorf("delete function %s: %w", o.Function, err)
	}
	ids, err := ourClients(ctx, c, o.OldPool)
	var nf *ctypes.ResourceNotFoundException
	if err != nil && !errors.As(err, &nf) { // not found: the old pool is gone already
		return res, fmt.Errorf("list the app clients of %s: %w", o.OldPool, err)
	}
	for _, id := range ids {
		if _, err := c.DeleteUserPoolClient(ctx, &cip.DeleteUserPoolClientInput{UserPoolId: &o.OldPool, ClientId: &id}); err != nil {
			return res, fmt.Errorf("delete app client %s of %s: %w", id, o.OldPool, err)
		}
		step("deleted the app client %s of the old pool", id)
	}
	step("the IAM role %s stays; delete it when you like", o.Role)
	return res, nil
}
