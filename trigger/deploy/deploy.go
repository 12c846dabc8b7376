// Package deploy puts the user migration trigger in front of the new pool
// and takes it away again: an app client on the old pool that allows
// ADMIN_USER_PASSWORD_AUTH, an IAM role limited to the three calls the
// trigger makes on the old pool and its own logs, the function's log group
// (with a retention), the Lambda function, the permission for Cognito
// (source: the new pool) to invoke it, and the new pool's
// LambdaConfig.UserMigration — set with UpdateUserPool, which resets every
// setting it is not given, so the whole configuration, read just before,
// is sent back.
//
// What it creates is tagged poolmigrate:managed=true with both pools'
// ids, and it reuses an existing role or function of its names only when
// so tagged and configured as it configures them (an app client, which
// cannot be tagged, only when its settings are exactly deploy's): anything
// else with those names is someone else's, and deploy refuses before
// changing anything.
package deploy

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"regexp"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	cip "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/lambda"

	"github.com/poolmigrate/poolmigrate/lambdaown"
)

// Cognito is the part of the Cognito API deploy uses.
type Cognito interface {
	DescribeUserPool(ctx context.Context, in *cip.DescribeUserPoolInput, optFns ...func(*cip.Options)) (*cip.DescribeUserPoolOutput, error)
	UpdateUserPool(ctx context.Context, in *cip.UpdateUserPoolInput, optFns ...func(*cip.Options)) (*cip.UpdateUserPoolOutput, error)
	ListUserPoolClients(ctx context.Context, in *cip.ListUserPoolClientsInput, optFns ...func(*cip.Options)) (*cip.ListUserPoolClientsOutput, error)
	DescribeUserPoolClient(ctx context.Context, in *cip.DescribeUserPoolClientInput, optFns ...func(*cip.Options)) (*cip.DescribeUserPoolClientOutput, error)
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
	ListRolePolicies(ctx context.Context, in *iam.ListRolePoliciesInput, optFns ...func(*iam.Options)) (*iam.ListRolePoliciesOutput, error)
	ListAttachedRolePolicies(ctx context.Context, in *iam.ListAttachedRolePoliciesInput, optFns ...func(*iam.Options)) (*iam.ListAttachedRolePoliciesOutput, error)
}

// Logs is the part of the CloudWatch Logs API deploy uses.
type Logs interface {
	CreateLogGroup(ctx context.Context, in *cloudwatchlogs.CreateLogGroupInput, optFns ...func(*cloudwatchlogs.Options)) (*cloudwatchlogs.CreateLogGroupOutput, error)
	PutRetentionPolicy(ctx context.Context, in *cloudwatchlogs.PutRetentionPolicyInput, optFns ...func(*cloudwatchlogs.Options)) (*cloudwatchlogs.PutRetentionPolicyOutput, error)
	TagResource(ctx context.Context, in *cloudwatchlogs.TagResourceInput, optFns ...func(*cloudwatchlogs.Options)) (*cloudwatchlogs.TagResourceOutput, error)
	ListTagsForResource(ctx context.Context, in *cloudwatchlogs.ListTagsForResourceInput, optFns ...func(*cloudwatchlogs.Options)) (*cloudwatchlogs.ListTagsForResourceOutput, error)
}

// APIs are the clients deploy, Check and Remove call.
type APIs struct {
	Cognito Cognito
	Lambda  Lambda
	IAM     IAM
	Logs    Logs
}

// ClientName is the name of the app client deploy creates on the old pool.
const ClientName = "poolmigrate-migration-trigger"

// Tags deploy puts on what it creates; a role or function of the tool's
// name without them (for these two pools) is not reused.
const (
	TagManaged = "poolmigrate:managed"
	TagOldPool = "poolmigrate:old-pool"
	TagNewPool = "poolmigrate:new-pool"
)

// FunctionTimeout is the function's timeout: Cognito waits five seconds
// for a user migration trigger, so a longer one would only run on after
// Cognito has given up (and retried).
const FunctionTimeout = 5

// MaxCaseCollisions is how many colliding names the function's settings
// hold (Lambda keeps 4 KB of environment, 17 bytes a name).
const MaxCaseCollisions = 180

// DefaultLogRetentionDays is how long the function's logs are kept.
const DefaultLogRetentionDays = 14

// LogRetentionDays are the periods CloudWatch Logs accepts, in days.
var LogRetentionDays = []int{1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653}

// Options say what to deploy where.
type Options struct {
	OldPool, TargetPool string
	Region, Account     string
	Function, Role      string // names; defaults from the target pool
	Zip                 []byte
	Arch                string // arm64 (default) or x86_64
	CarryAttributes     []string
	// CaseChecked says the old pool's usernames were read (from a
	// backup) for names alike but for case; CaseCollisions are those
	// names' trigger.CaseKeys, which the trigger refuses. Deploy needs
	// them when the old pool tells case apart and the new one does not.
	CaseChecked      bool
	CaseCollisions   []string
	LogRetentionDays int // default DefaultLogRetentionDays
	// Wait is how long to keep trying while IAM makes a new role usable
	// and Lambda finishes creating or updating the function.
	Wait time.Duration
	Logf func(format string, args ...any)
}

// FunctionName is the name deploy gives the trigger of targetPool by
// default, and the role's: poolmigrate-migration-<pool id, _ as ->. Every
// place that names the deployed function (the Gen 2 backend.ts block
// among them) takes it from here.
func FunctionName(targetPool string) string {
	return "poolmigrate-migration-" + strings.NewReplacer("_", "-").Replace(targetPool)
}

// Names fills the defaults: FunctionName(target pool) for the function
// and the role, arm64, 14 days of logs.
func (o *Options) Names() {
	base := FunctionName(o.TargetPool)
	if o.Function == "" {
		o.Function = base
	}
	if o.Role == "" {
		o.Role = base
	}
	if o.Arch == "" {
		o.Arch = "arm64"
	}
	if o.LogRetentionDays == 0 {
		o.LogRetentionDays = DefaultLogRetentionDays
	}
	if o.Wait == 0 {
		o.Wait = 5 * time.Minute
	}
	if o.Logf == nil {
		o.Logf = func(string, ...any) {}
	}
}

var (
	functionNameRE = regexp.MustCompile(`^[A-Za-z0-9_-]{1,64}$`)
	roleNameRE     = regexp.MustCompile(`^[\w+=,.@-]{1,64}$`)
	poolIDRE       = regexp.MustCompile(`^[\w-]+_[0-9a-zA-Z]+$`)
)

// Validate refuses names AWS would refuse, before any call.
func (o Options) Validate() error {
	for _, p := range []string{o.OldPool, o.TargetPool} {
		if len(p) > 55 || !poolIDRE.MatchString(p) {
			return fmt.Errorf("%q is not a user pool id (region_ID, like us-east-1_AbC123)", p)
		}
	}
	if o.OldPool == o.TargetPool {
		return fmt.Errorf("the old pool and the new pool are the same pool (%s)", o.OldPool)
	}
	if !functionNameRE.MatchString(o.Function) {
		return fmt.Errorf("function name %q: Lambda takes 1-64 letters, digits, - and _", o.Function)
	}
	if !roleNameRE.MatchString(o.Role) {
		return fmt.Errorf("role name %q: IAM takes 1-64 letters, digits and +=,.@_-", o.Role)
	}
	if len(o.CaseCollisions) > MaxCaseCollisions {
		return fmt.Errorf("%d usernames of the old pool equal another when case is ignored, more than the trigger's settings hold (%d): resolve them in the old pool first (`poolmigrate check` names them)", len(o.CaseCollisions), MaxCaseCollisions)
	}
	ok := false
	for _, d := range LogRetentionDays {
		ok = ok || d == o.LogRetentionDays
	}
	if !ok {
		return fmt.Errorf("log retention %d days: CloudWatch Logs keeps logs for one of %v days", o.LogRetentionDays, LogRetentionDays)
	}
	return nil
}

// Result is what deploy did.
type Result struct {
	FunctionArn string   `json:"functionArn"`
	RoleArn     string   `json:"roleArn"`
	ClientID    string   `json:"oldPoolClientId"`
	LogGroup    string   `json:"logGroup"`
	CodeSHA256  string   `json:"codeSha256"` // hex, of the package uploaded
	Steps       []string `json:"steps"`
}

func (o Options) poolArn(pool string) string {
	return fmt.Sprintf("arn:aws:cognito-idp:%s:%s:userpool/%s", o.Region, o.Account, pool)
}

func (o Options) functionArn() string {
	return fmt.Sprintf("arn:aws:lambda:%s:%s:function:%s", o.Region, o.Account, o.Function)
}

// LogGroup is the function's log group.
func (o Options) LogGroup() string { return "/aws/lambda/" + o.Function }

// Tags are the tags deploy puts on the role, the function and the log group.
func (o Options) Tags() map[string]string {
	return map[string]string{TagManaged: "true", TagOldPool: o.OldPool, TagNewPool: o.TargetPool}
}

// ours tells whether tags mark a resource as deploy's for these pools, or
// says why not.
func (o Options) ours(tags map[string]string) string {
	switch {
	case tags[TagManaged] != "true":
		return "it is not tagged " + TagManaged + "=true (not made by poolmigrate)"
	case tags[TagOldPool] != o.OldPool || tags[TagNewPool] != o.TargetPool:
		return fmt.Sprintf("it is poolmigrate's for the pools %s → %s, not %s → %s", tags[TagOldPool], tags[TagNewPool], o.OldPool, o.TargetPool)
	}
	return ""
}

func (o Options) statementID() string {
	return "poolmigrate-" + strings.NewReplacer("_", "-").Replace(o.TargetPool)
}

// CodeSHA256 is the hex SHA-256 of the package, as `trigger build` shows it.
func (o Options) CodeSHA256() string {
	sum := sha256.Sum256(o.Zip)
	return hex.EncodeToString(sum[:])
}

// lambdaSHA256 is the same digest as Lambda reports it (CodeSha256: base64).
func (o Options) lambdaSHA256() string {
	sum := sha256.Sum256(o.Zip)
	return base64.StdEncoding.EncodeToString(sum[:])
}

// Deploy puts the trigger in place; run again, it brings everything up to
// date (new code, settings) and changes nothing else. Everything it would
// refuse is found before it changes anything.
func Deploy(ctx context.Context, api APIs, o Options) (Result, error) {
	o.Names()
	res := Result{CodeSHA256: o.CodeSHA256(), LogGroup: o.LogGroup()}
	step := func(format string, args ...any) {
		s := fmt.Sprintf(format, args...)
		res.Steps = append(res.Steps, s)
		o.Logf("%s", s)
	}
	if err := o.Validate(); err != nil {
		return res, err
	}
	if len(o.Zip) == 0 {
		return res, fmt.Errorf("no deployment package to upload")
	}
	p, err := Inspect(ctx, api, o)
	if err != nil {
		return res, err
	}

	if res.ClientID = p.ClientID; res.ClientID == "" {
		if res.ClientID, err = createClient(ctx, api.Cognito, o.OldPool); err != nil {
			return res, err
		}
		step("created app client %s on the old pool %s, allowing only ADMIN_USER_PASSWORD_AUTH (and refresh), without a secret", res.ClientID, o.OldPool)
	} else {
		step("app client %s on the old pool %s is as deploy makes it", res.ClientID, o.OldPool)
	}

	if res.RoleArn, err = ensureRole(ctx, api.IAM, o, p.RoleArn, step); err != nil {
		return res, err
	}
	if err := ensureLogGroup(ctx, api.Logs, o); err != nil {
		return res, err
	}
	step("log group %s keeps the function's logs %d days", o.LogGroup(), o.LogRetentionDays)

	if res.FunctionArn, err = ensureFunction(ctx, api.Lambda, o, p.FunctionExists, res.ClientID, res.RoleArn, step); err != nil {
		return res, err
	}

	// Cognito may invoke it, for the new pool only.
	if ok, err := hasPermission(ctx, api.Lambda, o); err != nil {
		return res, err
	} else if !ok {
		sid := o.statementID()
		if _, err := api.Lambda.AddPermission(ctx, &lambda.AddPermissionInput{FunctionName: &o.Function, StatementId: &sid, Action: lambdaown.Ptr("lambda:InvokeFunction"),
			Principal: lambdaown.Ptr("cognito-idp.amazonaws.com"), SourceArn: lambdaown.Ptr(o.poolArn(o.TargetPool)), SourceAccount: &o.Account}); err != nil {
			return res, fmt.Errorf("let Cognito invoke %s: %w", o.Function, err)
		}
	}
	step("Cognito may invoke it for %s only", o.poolArn(o.TargetPool))

	// The new pool's trigger, with every other setting as it is now: read
	// again, so nothing changed since the first read is reverted.
	target, err := api.Cognito.DescribeUserPool(ctx, &cip.DescribeUserPoolInput{UserPoolId: &o.TargetPool})
	if err != nil {
		return res, fmt.Errorf("read the new pool %s: %w", o.TargetPool, err)
	}
	if cur := lambdaown.Deref(lambdaConfig(target.UserPool).UserMigration); cur != "" && cur != res.FunctionArn {
		return res, fmt.Errorf("the new pool %s got another user migration trigger meanwhile (%s): nothing attached; remove it first, or deploy with --function naming it", o.TargetPool, cur)
	}
	in := UpdateInput(target.UserPool)
	in.LambdaConfig.UserMigration = &res.FunctionArn
	if _, err := api.Cognito.UpdateUserPool(ctx, in); err != nil {
		return res, fmt.Errorf("set the user migration trigger of %s: %w", o.TargetPool, err)
	}
	step("the new pool %s migrates users through %s", o.TargetPool, res.FunctionArn)
	return res, nil
}

// Plan is what Inspect found: what exists already, and is deploy's.
type Plan struct {
	ClientID       string // deploy's app client on the old pool, if there is one
	RoleArn        string // deploy's role, if it exists
	FunctionExists bool   // deploy's function exists
	// CaseFolds: the old pool tells usernames apart by case, the new one
	// does not.
	CaseFolds bool
}

// Inspect reads what Deploy would change and refuses, without writing
// anything, what it would refuse: a pool missing or not ready, carried
// attributes that cannot be carried, a trigger of someone else's, and an
// app client, role or function of deploy's names that deploy did not make
// as it makes them. A dry run is Inspect.
func Inspect(ctx context.Context, api APIs, o Options) (Plan, error) {
	o.Names()
	var p Plan
	if err := o.Validate(); err != nil {
		return p, err
	}
	target, err := api.Cognito.DescribeUserPool(ctx, &cip.DescribeUserPoolInput{UserPoolId: &o.TargetPool})
	if err != nil {
		return p, fmt.Errorf("read the new pool %s: %w", o.TargetPool, err)
	}
	old, err := api.Cognito.DescribeUserPool(ctx, &cip.DescribeUserPoolInput{UserPoolId: &o.OldPool})
	if err != nil {
		return p, fmt.Errorf("read the old pool %s: %w (it must still exist: see `poolmigrate retain-pool`)", o.OldPool, err)
	}
	if p.CaseFolds = caseSensitive(old.UserPool) && !caseSensitive(target.UserPool); p.CaseFolds && !o.CaseChecked {
		return p, fmt.Errorf("the old pool %s tells usernames apart by case and the new pool %s does not: of two users named alike but for case (Alice, alice), whoever signs in first would take the name and lock the other out. Pass --backup FILE (the old pool's, from `poolmigrate backup`): deploy names them and the trigger refuses them", o.OldPool, o.TargetPool)
	}
	if !hasAttribute(target.UserPool, prevSubAttr) || !hasAttribute(target.UserPool, prevUsernameAttr) {
		return p, fmt.Errorf("the new pool %s lacks %s / %s, which the trigger fills: add them with `poolmigrate check --fix`", o.TargetPool, prevSubAttr, prevUsernameAttr)
	}
	if err := CheckCarry(o.CarryAttributes, target.UserPool); err != nil {
		return p, err
	}
	if cur := lambdaown.Deref(lambdaConfig(target.UserPool).UserMigration); cur != "" && cur != o.functionArn() {
		return p, fmt.Errorf("the new pool %s has a user migration trigger already (%s): remove it first, or deploy with --function naming it", o.TargetPool, cur)
	}
	if p.ClientID, err = ourClient(ctx, api.Cognito, o.OldPool); err != nil {
		return p, err
	}
	if p.RoleArn, err = inspectRole(ctx, api.IAM, o); err != nil {
		return p, err
	}
	if p.FunctionExists, err = inspectFunction(ctx, api.Lambda, o); err != nil {
		return p, err
	}
	if err := inspectLogGroup(ctx, api.Logs, o); err != nil {
		return p, err
	}
	return p, nil
}
