package cognitoshim_test

import (
	"archive/zip"
	"bytes"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudformation"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	iamtypes "github.com/aws/aws-sdk-go-v2/service/iam/types"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	ltypes "github.com/aws/aws-sdk-go-v2/service/lambda/types"

	"github.com/poolmigrate/poolmigrate/testbed/cognitoshim"
	"github.com/poolmigrate/poolmigrate/testbed/testenv"
)

// The shim's IAM answers as IAM does: tags on roles, inline and attached
// policies listed, policy documents URL-encoded, unknown roles
// NoSuchEntity, reserved tag keys refused.
func TestIAMKeepsRolesAsIAMDoes(t *testing.T) {
	env := testenv.Require(t)
	c, _ := inProcess(t, env)
	iamc := iam.NewFromConfig(env.Config, func(o *iam.Options) { o.BaseEndpoint = c.Options().BaseEndpoint })
	name := "tagged-" + testenv.RandomSuffix()
	if _, err := iamc.CreateRole(ctx, &iam.CreateRoleInput{RoleName: &name, AssumeRolePolicyDocument: aws.String(testenv.LambdaTrust),
		Tags: []iamtypes.Tag{{Key: aws.String("poolmigrate:managed"), Value: aws.String("true")}}}); err != nil {
		t.Fatal(err)
	}
	if _, err := iamc.TagRole(ctx, &iam.TagRoleInput{RoleName: &name, Tags: []iamtypes.Tag{{Key: aws.String("team"), Value: aws.String("a b")}}}); err != nil {
		t.Fatal(err)
	}
	if _, err := iamc.TagRole(ctx, &iam.TagRoleInput{RoleName: &name, Tags: []iamtypes.Tag{{Key: aws.String("aws:x"), Value: aws.String("y")}}}); apiCode(err) != "InvalidInput" {
		t.Errorf("a reserved tag key: %v", err)
	}
	got, err := iamc.GetRole(ctx, &iam.GetRoleInput{RoleName: &name})
	if err != nil {
		t.Fatal(err)
	}
	raw := aws.ToString(got.Role.AssumeRolePolicyDocument)
	trust, _ := url.PathUnescape(raw)
	if strings.Contains(raw, "{") || trust != testenv.LambdaTrust {
		t.Errorf("trust policy %q: IAM returns it URL-encoded", raw)
	}
	tags, err := iamc.ListRoleTags(ctx, &iam.ListRoleTagsInput{RoleName: &name})
	if err != nil || len(tags.Tags) != 2 || len(got.Role.Tags) != 2 {
		t.Errorf("tags: %+v / %+v %v", tags, got.Role.Tags, err)
	}
	pol := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"logs:PutLogEvents","Resource":"*"}]}`
	if _, err := iamc.PutRolePolicy(ctx, &iam.PutRolePolicyInput{RoleName: &name, PolicyName: aws.String("p"), PolicyDocument: &pol}); err != nil {
		t.Fatal(err)
	}
	if gp, err := iamc.GetRolePolicy(ctx, &iam.GetRolePolicyInput{RoleName: &name, PolicyName: aws.String("p")}); err != nil || aws.ToString(gp.PolicyDocument) != url.QueryEscape(pol) && strings.ReplaceAll(url.QueryEscape(pol), "+", "%20") != aws.ToString(gp.PolicyDocument) {
		t.Errorf("GetRolePolicy: %v %v", gp, err)
	}
	if lp, err := iamc.ListRolePolicies(ctx, &iam.ListRolePoliciesInput{RoleName: &name}); err != nil || len(lp.PolicyNames) != 1 || lp.PolicyNames[0] != "p" {
		t.Errorf("ListRolePolicies: %+v %v", lp, err)
	}
	if _, err := iamc.AttachRolePolicy(ctx, &iam.AttachRolePolicyInput{RoleName: &name, PolicyArn: aws.String("arn:aws:iam::aws:policy/AdministratorAccess")}); err != nil {
		t.Fatal(err)
	}
	if la, err := iamc.ListAttachedRolePolicies(ctx, &iam.ListAttachedRolePoliciesInput{RoleName: &name}); err != nil || len(la.AttachedPolicies) != 1 {
		t.Errorf("ListAttachedRolePolicies: %+v %v", la, err)
	}
	if _, err := iamc.GetRole(ctx, &iam.GetRoleInput{RoleName: aws.String("never-" + testenv.RandomSuffix())}); apiCode(err) != "NoSuchEntity" {
		t.Errorf("an unknown role: %v", err)
	}
}

// The shim's Lambda takes its time as Lambda does: Pending after
// CreateFunction, InProgress after an update, ResourceConflictException
// for an update meanwhile, and a new role Lambda cannot assume at once.
func TestLambdaTakesItsTime(t *testing.T) {
	env := testenv.Require(t)
	c, clk := inProcess(t, env)
	endpoint := c.Options().BaseEndpoint
	iamc := iam.NewFromConfig(env.Config, func(o *iam.Options) { o.BaseEndpoint = endpoint })
	lc := lambda.NewFromConfig(env.Config, func(o *lambda.Options) { o.BaseEndpoint = endpoint; o.RetryMaxAttempts = 1 })
	role := testenv.CreateRole(t, iamc, "fn-"+testenv.RandomSuffix(), testenv.LambdaTrust, "")
	name := "slow-" + testenv.RandomSuffix()
	code := &ltypes.FunctionCode{ZipFile: bootstrapZip()}
	create := func() error {
		_, err := lc.CreateFunction(ctx, &lambda.CreateFunctionInput{FunctionName: &name, Runtime: ltypes.RuntimeProvidedal2023, Handler: aws.String("bootstrap"),
			Role: &role, Code: code, Timeout: aws.Int32(5), Tags: map[string]string{"poolmigrate:managed": "true"}})
		return err
	}
	if err := create(); apiCode(err) != "InvalidParameterValueException" {
		t.Fatalf("a role made a moment ago: %v", err)
	}
	if _, err := lc.CreateFunction(ctx, &lambda.CreateFunctionInput{FunctionName: aws.String("never-" + testenv.RandomSuffix()), Runtime: ltypes.RuntimeProvidedal2023,
		Handler: aws.String("bootstrap"), Role: aws.String("arn:aws:iam::000000000000:role/not-made-by-the-shim"), Code: code}); apiCode(err) != "InvalidParameterValueException" {
		t.Errorf("a role the shim never made: %v", err)
	}
	clk.add(time.Duration(cognitoshim.DefaultLambdaTiming.RoleDelayMS) * time.Millisecond)
	if err := create(); err != nil {
		t.Fatal(err)
	}
	state := func() (ltypes.State, ltypes.LastUpdateStatus, map[string]string) {
		out, err := lc.GetFunction(ctx, &lambda.GetFunctionInput{FunctionName: &name})
		if err != nil {
			t.Fatal(err)
		}
		return out.Configuration.State, out.Configuration.LastUpdateStatus, out.Tags
	}
	if st, _, tags := state(); st != ltypes.StatePending || tags["poolmigrate:managed"] != "true" {
		t.Errorf("just created: %s, tags %v", st, tags)
	}
	update := func() error {
		_, err := lc.UpdateFunctionConfiguration(ctx, &lambda.UpdateFunctionConfigurationInput{FunctionName: &name, Timeout: aws.Int32(5)})
		return err
	}
	if err := update(); apiCode(err) != "ResourceConflictException" {
		t.Errorf("an update while Pending: %v", err)
	}
	clk.add(time.Duration(cognitoshim.DefaultLambdaTiming.CreatePendingMS) * time.Millisecond)
	if st, us, _ := state(); st != ltypes.StateActive || us != ltypes.LastUpdateStatusSuccessful {
		t.Errorf("after a while: %s %s", st, us)
	}
	if err := update(); err != nil {
		t.Fatal(err)
	}
	if _, us, _ := state(); us != ltypes.LastUpdateStatusInProgress {
		t.Errorf("after an update: %s", us)
	}
	if _, err := lc.UpdateFunctionCode(ctx, &lambda.UpdateFunctionCodeInput{FunctionName: &name, ZipFile: bootstrapZip()}); apiCode(err) != "ResourceConflictException" {
		t.Errorf("an update while another is in progress: %v", err)
	}
	clk.add(time.Duration(cognitoshim.DefaultLambdaTiming.UpdateInProgressMS) * time.Millisecond)
	if _, us, _ := state(); us != ltypes.LastUpdateStatusSuccessful {
		t.Errorf("after the update: %s", us)
	}
	if _, err := lc.UpdateFunctionConfiguration(ctx, &lambda.UpdateFunctionConfigurationInput{FunctionName: &name, Timeout: aws.Int32(901)}); apiCode(err) != "InvalidParameterValueException" {
		t.Errorf("a timeout over 900 s: %v", err)
	}
	// What the clients rode out is counted, for tests of their waits.
	resp, err := http.Get(*endpoint + "/_testbed/lambda")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var ctl struct {
		Events map[string]cognitoshim.LambdaEvents
	}
	_ = json.NewDecoder(resp.Body).Decode(&ctl)
	if ev := ctl.Events[name]; ev.Conflicts != 2 || ev.RoleRefusals != 1 || ev.Pending != 1 || ev.InProgress != 1 {
		t.Errorf("events: %+v", ev)
	}
}

// The shim's CloudWatch Logs keeps log groups strictly.
func TestLogGroups(t *testing.T) {
	env := testenv.Require(t)
	c, _ := inProcess(t, env)
	lg := cloudwatchlogs.NewFromConfig(env.Config, func(o *cloudwatchlogs.Options) { o.BaseEndpoint = c.Options().BaseEndpoint; o.RetryMaxAttempts = 1 })
	name := "/aws/lambda/lg-" + testenv.RandomSuffix()
	arn := "arn:aws:logs:us-east-1:000000000000:log-group:" + name
	if _, err := lg.CreateLogGroup(ctx, &cloudwatchlogs.CreateLogGroupInput{LogGroupName: &name, Tags: map[string]string{"a": "1"}}); err != nil {
		t.Fatal(err)
	}
	for what, err := range map[string]error{
		"the same group again": func() error {
			_, err := lg.CreateLogGroup(ctx, &cloudwatchlogs.CreateLogGroupInput{LogGroupName: &name})
			return err
		}(),
		"a bad name": func() error {
			_, err := lg.CreateLogGroup(ctx, &cloudwatchlogs.CreateLogGroupInput{LogGroupName: aws.String("a b")})
			return err
		}(),
		"13 days": func() error {
			_, err := lg.PutRetentionPolicy(ctx, &cloudwatchlogs.PutRetentionPolicyInput{LogGroupName: &name, RetentionInDays: aws.Int32(13)})
			return err
		}(),
		"an ARN with :*": func() error {
			_, err := lg.TagResource(ctx, &cloudwatchlogs.TagResourceInput{ResourceArn: aws.String(arn + ":*"), Tags: map[string]string{"b": "2"}})
			return err
		}(),
		"an aws: tag": func() error {
			_, err := lg.TagResource(ctx, &cloudwatchlogs.TagResourceInput{ResourceArn: &arn, Tags: map[string]string{"aws:b": "2"}})
			return err
		}(),
		"retention of a missing group": func() error {
			_, err := lg.PutRetentionPolicy(ctx, &cloudwatchlogs.PutRetentionPolicyInput{LogGroupName: aws.String(name + "x"), RetentionInDays: aws.Int32(14)})
			return err
		}(),
	} {
		if err == nil {
			t.Errorf("%s: accepted", what)
		}
	}
	if _, err := lg.PutRetentionPolicy(ctx, &cloudwatchlogs.PutRetentionPolicyInput{LogGroupName: &name, RetentionInDays: aws.Int32(14)}); err != nil {
		t.Fatal(err)
	}
	if _, err := lg.TagResource(ctx, &cloudwatchlogs.TagResourceInput{ResourceArn: &arn, Tags: map[string]string{"b": "2"}}); err != nil {
		t.Fatal(err)
	}
	d, err := lg.DescribeLogGroups(ctx, &cloudwatchlogs.DescribeLogGroupsInput{LogGroupNamePrefix: &name})
	if err != nil || len(d.LogGroups) != 1 || aws.ToInt32(d.LogGroups[0].RetentionInDays) != 14 {
		t.Errorf("DescribeLogGroups: %+v %v", d, err)
	}
	if tags, err := lg.ListTagsForResource(ctx, &cloudwatchlogs.ListTagsForResourceInput{ResourceArn: &arn}); err != nil || len(tags.Tags) != 2 {
		t.Errorf("tags: %+v %v", tags, err)
	}
}

// A stack can be planted in any CloudFormation status, and planted again.
func TestStackStatus(t *testing.T) {
	env := testenv.Require(t)
	c, _ := inProcess(t, env)
	endpoint := *c.Options().BaseEndpoint
	cf := cloudformation.NewFromConfig(env.Config, func(o *cloudformation.Options) { o.BaseEndpoint = aws.String(endpoint) })
	name := "st-" + testenv.RandomSuffix()
	plant := func(status string) int {
		body, _ := json.Marshal(map[string]any{"name": name, "id": "arn:aws:cloudformation:us-east-1:000000000000:stack/" + name + "/1", "status": status})
		resp, err := http.Post(endpoint+"/_testbed/cloudformation/stacks", "application/json", bytes.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	status := func() string {
		out, err := cf.DescribeStacks(ctx, &cloudformation.DescribeStacksInput{StackName: &name})
		if err != nil || len(out.Stacks) != 1 {
			t.Fatalf("DescribeStacks: %v", err)
		}
		return string(out.Stacks[0].StackStatus)
	}
	if plant("UPDATE_IN_PROGRESS") != http.StatusNoContent || status() != "UPDATE_IN_PROGRESS" {
		t.Error("a stack planted in progress")
	}
	if plant("") != http.StatusNoContent || status() != "UPDATE_COMPLETE" {
		t.Error("planted again, without a status")
	}
	if plant("ALMOST_DONE") != http.StatusBadRequest {
		t.Error("a status CloudFormation does not have was planted")
	}
}

// bootstrapZip is a deployment package: an executable bootstrap.
func bootstrapZip() []byte {
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	h := &zip.FileHeader{Name: "bootstrap"}
	h.SetMode(0o755)
	w, _ := zw.CreateHeader(h)
	_, _ = w.Write([]byte("\x7fELF stand-in"))
	_ = zw.Close()
	return buf.Bytes()
}
