// Package deploy puts the tool's custom-auth trio (package tokenmint) on a
// pool for one run and takes it away again: an app client of the tool's own
// (no secret, ALLOW_CUSTOM_AUTH and ALLOW_REFRESH_TOKEN_AUTH only,
// short-lived tokens, token revocation on), an IAM role that may only write
// the function's own logs (the function calls no AWS API), the function's
// log group with a retention, the function (cmd/tokenmint-lambda) with the
// run's public configuration (tokenmint.Run.Env), Cognito's permission to
// invoke it for this pool only, and the pool's DefineAuthChallenge,
// CreateAuthChallenge and VerifyAuthChallengeResponse triggers — set with
// UpdateUserPool, sending back every other setting as read just before
// (trigger/deploy.UpdateInput).
//
// It refuses, before changing anything, a pool that already has any of the
// three triggers (a passwordless app's: overwriting them would lock its
// users out), and any role, function, log group or app client of its names
// that it did not make (tags poolmigrate:managed=true,
// poolmigrate:pool=POOL, poolmigrate:purpose=tokenmint; an app client,
// which cannot be tagged, by its exact settings).
//
// Remove detaches the triggers (every other setting kept), and deletes the
// permission, the function, the role and the app client; the log group
// stays until its retention ends. Status says what is attached.
//
// Side effects, for the operator: while the trio is attached, each token
// minted runs the pool's PreTokenGeneration and PostAuthentication triggers
// (if it has them) and shows as a sign-in in the pool's logs and the user's
// auth events; nobody but the run's process can complete the flow.
//
//	res, err := deploy.Deploy(ctx, apis, deploy.Options{Pool: pool, Region: r, Account: a, Zip: zip, Run: run})
//	defer deploy.Remove(ctx, apis, deploy.Options{Pool: pool, Region: r, Account: a})
//	token, err := run.Mint(ctx, cognito, username)
package deploy

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"regexp"
	"strings"
	"time"

	cip "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider"
	ctypes "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider/types"
	"github.com/aws/aws-sdk-go-v2/service/iam"

	"github.com/poolmigrate/poolmigrate/lambdaown"
	"github.com/poolmigrate/poolmigrate/tokenmint"
	tdeploy "github.com/poolmigrate/poolmigrate/trigger/deploy"
)

// IAM is the part of the IAM API deploy and Remove use.
type IAM interface {
	tdeploy.IAM
	DeleteRolePolicy(ctx context.Context, in *iam.DeleteRolePolicyInput, optFns ...func(*iam.Options)) (*iam.DeleteRolePolicyOutput, error)
	DeleteRole(ctx context.Context, in *iam.DeleteRoleInput, optFns ...func(*iam.Options)) (*iam.DeleteRoleOutput, error)
}

// APIs are the clients Deploy, Remove and Status call (the SDK's clients
// satisfy them).
type APIs struct {
	Cognito tdeploy.Cognito
	Lambda  tdeploy.Lambda
	IAM     IAM
	Logs    tdeploy.Logs
}

// ClientName is the name of the tool's app client on the pool.
const ClientName = "poolmigrate-tokenmint"

// Tags put on what Deploy creates.
const (
	TagManaged = tdeploy.TagManaged
	TagPool    = "poolmigrate:pool"
	TagPurpose = "poolmigrate:purpose"
	purpose    = "tokenmint"
)

// FunctionTimeout is the function's timeout (Cognito waits 5 seconds for a
// trigger; the function answers in milliseconds).
const FunctionTimeout = 5

// SideEffects is what the operator is told before the trio goes on a pool.
const SideEffects = "while it is attached, each token minted runs the pool's PreTokenGeneration and PostAuthentication triggers (if it has them) and appears as a sign-in in the pool's logs and the user's auth events"

// Options say where to deploy.
type Options struct {
	Pool            string
	Region, Account string
	Function, Role  string // default FunctionName(Pool), for both
	Zip             []byte // cmd/tokenmint-lambda's package (tokenmint.Build)
	Arch            string // arm64 (default) or x86_64
	// Run is the run the function answers for: its public configuration
	// (and the app client Deploy makes) goes into the function's
	// environment. Deploy sets Run.Client.
	Run              *tokenmint.Run
	LogRetentionDays int           // default 14
	Wait             time.Duration // default 5 minutes
	Logf             func(format string, args ...any)
}

// FunctionName is the default name of the function and the role for pool.
func FunctionName(pool string) string {
	return "poolmigrate-tokenmint-" + strings.NewReplacer("_", "-").Replace(pool)
}

func (o *Options) defaults() {
	if o.Function == "" {
		o.Function = FunctionName(o.Pool)
	}
	if o.Role == "" {
		o.Role = FunctionName(o.Pool)
	}
	if o.Arch == "" {
		o.Arch = "arm64"
	}
	if o.LogRetentionDays == 0 {
		o.LogRetentionDays = tdeploy.DefaultLogRetentionDays
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

func (o Options) validate() error {
	switch {
	case len(o.Pool) > 55 || !poolIDRE.MatchString(o.Pool):
		return fmt.Errorf("%q is not a user pool id (region_ID, like us-east-1_AbC123)", o.Pool)
	case !functionNameRE.MatchString(o.Function):
		return fmt.Errorf("function name %q: Lambda takes 1-64 letters, digits, - and _", o.Function)
	case !roleNameRE.MatchString(o.Role):
		return fmt.Errorf("role name %q: IAM takes 1-64 letters, digits and +=,.@_-", o.Role)
	}
	return nil
}

func (o Options) poolArn() string {
	return fmt.Sprintf("arn:aws:cognito-idp:%s:%s:userpool/%s", o.Region, o.Account, o.Pool)
}

// LogGroup is the function's log group.
func (o Options) LogGroup() string { return "/aws/lambda/" + o.Function }

func (o Options) logGroupArn() string {
	return fmt.Sprintf("arn:aws:logs:%s:%s:log-group:%s", o.Region, o.Account, o.LogGroup())
}

// Tags are the tags put on the role, the function and the log group.
func (o Options) Tags() map[string]string {
	return map[string]string{TagManaged: "true", TagPool: o.Pool, TagPurpose: purpose}
}

// ours says why tags do not mark a resource as deploy's for this pool ("" when they do).
func (o Options) ours(tags map[string]string) string {
	switch {
	case tags[TagManaged] != "true" || tags[TagPurpose] != purpose:
		return "it is not tagged " + TagManaged + "=true, " + TagPurpose + "=" + purpose + " (not made by poolmigrate's token deploy)"
	case tags[TagPool] != o.Pool:
		return fmt.Sprintf("it is poolmigrate's for the pool %s, not %s", tags[TagPool], o.Pool)
	}
	return ""
}

func (o Options) statementID() string {
	return "poolmigrate-tokenmint-" + strings.NewReplacer("_", "-").Replace(o.Pool)
}

func (o Options) lambdaSHA256() string {
	sum := sha256.Sum256(o.Zip)
	return base64.StdEncoding.EncodeToString(sum[:])
}

// Triggers are the pool settings the trio occupies.
var Triggers = []string{"DefineAuthChallenge", "CreateAuthChallenge", "VerifyAuthChallengeResponse"}

// customTriggers are the pool's three custom-auth triggers, by name ("" when unset).
func customTriggers(p *ctypes.UserPoolType) map[string]string {
	t := map[string]string{}
	if lc := p.LambdaConfig; lc != nil {
		t["DefineAuthChallenge"], t["CreateAuthChallenge"], t["VerifyAuthChallengeResponse"] = lambdaown.Deref(lc.DefineAuthChallenge), lambdaown.Deref(lc.CreateAuthChallenge), lambdaown.Deref(lc.VerifyAuthChallengeResponse)
	}
	return t
}

// foreignTriggers names the pool's custom-auth triggers that are not the
// function named fn.
func foreignTriggers(p *ctypes.UserPoolType, fn string) []string {
	var out []string
	for _, name := range Triggers {
		if arn := customTriggers(p)[name]; arn != "" && !strings.HasSuffix(arn, ":function:"+fn) {
			out = append(out, name+"="+arn)
		}
	}
	return out
}

// Result is what Deploy did.
type Result struct {
	ClientID    string   `json:"clientId"`
	FunctionArn string   `json:"functionArn"`
	RoleArn     string   `json:"roleArn"`
	LogGroup    string   `json:"logGroup"`
	SideEffects string   `json:"sideEffects"`
	Steps       []string `json:"steps"`
}

// Deploy attaches the trio for o.Run. Everything it refuses is found before
// it changes anything.
func Deploy(ctx context.Context, api APIs, o Options) (Result, error) {
	o.defaults()
	res := Result{LogGroup: o.LogGroup(), SideEffects: SideEffects}
	step := func(format string, args ...any) {
		s := fmt.Sprintf(format, args...)
		res.Steps = append(res.Steps, s)
		o.Logf("%s", s)
	}
	if err := o.validate(); err != nil {
		return res, err
	}
	if len(o.Zip) == 0 || o.Run == nil || o.Run.Pool != o.Pool {
		return res, fmt.Errorf("deploy the token trio: a deployment package and a run for the pool %s are needed", o.Pool)
	}
	plan, err := Inspect(ctx, api, o)
	if err != nil {
		return res, err
	}
	if res.ClientID = plan.ClientID; res.ClientID == "" {
		if res.ClientID, err = createClient(ctx, api.Cognito, o.Pool); err != nil {
			return res, err
		}
		step("created app client %s (%s) on %s: custom auth and refresh only, no secret, 5-minute tokens, revocable", res.ClientID, ClientName, o.Pool)
	}
	o.Run.Client = res.ClientID
	if res.RoleArn, err = ensureRole(ctx, api.IAM, o, plan.RoleArn, step); err != nil {
		return res, err
	}
	if err := ensureLogGroup(ctx, api.Logs, o); err != nil {
		return res, err
	}
	step("log group %s keeps the function's logs %d days", o.LogGroup(), o.LogRetentionDays)
	if res.FunctionArn, err = ensureFunction(ctx, api.Lambda, o, plan.FunctionExists, res.RoleArn, step); err != nil {
		return res, err
	}
	if err := ensurePermission(ctx, api.Lambda, o); err != nil {
		return res, err
	}
	step("Cognito may invoke %s for %s only", o.Function, o.poolArn())

	// The triggers, with every other setting as it is now: read again, so
	// nothing changed since Inspect is reverted or overwritten.
	pool, err := api.Cognito.DescribeUserPool(ctx, &cip.DescribeUserPoolInput{UserPoolId: &o.Pool})
	if err != nil {
		return res, fmt.Errorf("read the pool %s: %w", o.Pool, err)
	}
	if f := foreignTriggers(pool.UserPool, o.Function); len(f) > 0 {
		return res, fmt.Errorf("the pool %s got custom-auth triggers of someone else's meanwhile (%s): nothing attached; run remove to take away what deploy made", o.Pool, strings.Join(f, ", "))
	}
	in := tdeploy.UpdateInput(pool.UserPool)
	in.LambdaConfig.DefineAuthChallenge, in.LambdaConfig.CreateAuthChallenge, in.LambdaConfig.VerifyAuthChallengeResponse = &res.FunctionArn, &res.FunctionArn, &res.FunctionArn
	if _, err := api.Cognito.UpdateUserPool(ctx, in); err != nil {
		return res, fmt.Errorf("attach the custom-auth triggers to %s: %w", o.Pool, err)
	}
	step("the pool %s answers custom sign-ins through %s until %s; %s", o.Pool, res.FunctionArn, o.Run.Expires.UTC().Format(time.RFC3339), SideEffects)
	return res, nil
}

// Plan is what Inspect found of deploy's own.
type Plan struct {
	ClientID       string
	RoleArn        string
	FunctionExists bool
}

// Inspect reads what Deploy would change and refuses, without writing
// anything, what it would refuse.
func Inspect(ctx context.Context, api APIs, o Options) (Plan, error) {
	o.defaults()
	var p Plan
	if err := o.validate(); err != nil {
		return p, err
	}
	pool, err := api.Cognito.DescribeUserPool(ctx, &cip.DescribeUserPoolInput{UserPoolId: &o.Pool})
	if err != nil {
		return p, fmt.Errorf("read the pool %s: %w", o.Pool, err)
	}
	if f := foreignTriggers(pool.UserPool, o.Function); len(f) > 0 {
		return p, fmt.Errorf("the pool %s already has custom-auth triggers (%s): it is a passwordless or custom sign-in app, and replacing them would lock its users out. Tokens cannot be minted by the tool on this pool; nothing was changed", o.Pool, strings.Join(f, ", "))
	}
	if p.ClientID, err = ourClient(ctx, api.Cognito, o.Pool); err != nil {
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
