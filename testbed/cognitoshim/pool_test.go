package cognitoshim_test

import (
	"encoding/json"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	cip "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider"
	"github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider/types"

	"github.com/poolmigrate/poolmigrate/testbed/cognitoshim"
	"github.com/poolmigrate/poolmigrate/testbed/testenv"
	"github.com/poolmigrate/poolmigrate/trigger/deploy"
)

// The shim's list of settings UpdateUserPool cannot change agrees with
// the API model (the SDK's shapes): every other member of UserPoolType has
// a member of UpdateUserPoolInput that sets it, and none of the read-only
// ones does. So the shim refuses the omission of every settable setting,
// whatever the tool thinks.
func TestReadOnlySettingsMatchTheAPIModel(t *testing.T) {
	pool, update := reflect.TypeOf(types.UserPoolType{}), reflect.TypeOf(cip.UpdateUserPoolInput{})
	for i := 0; i < pool.NumField(); i++ {
		f := pool.Field(i)
		if !f.IsExported() {
			continue
		}
		_, settable := update.FieldByName(cognitoshim.UpdateKey(f.Name))
		if cognitoshim.ReadOnlySettings[f.Name] == settable {
			t.Errorf("UserPoolType.%s: read-only in the shim %v, settable by UpdateUserPool %v", f.Name, cognitoshim.ReadOnlySettings[f.Name], settable)
		}
	}
	for k := range cognitoshim.ReadOnlySettings {
		if _, ok := pool.FieldByName(k); !ok {
			t.Errorf("read-only setting %s is not a member of UserPoolType", k)
		}
	}
}

func describeJSON(t *testing.T, c *cip.Client, pool string) map[string]any {
	t.Helper()
	d, err := c.DescribeUserPool(ctx, &cip.DescribeUserPoolInput{UserPoolId: &pool})
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	data, _ := json.Marshal(d.UserPool)
	_ = json.Unmarshal(data, &m)
	delete(m, "LastModifiedDate")
	return m
}

// UpdateUserPool keeps the pool's whole configuration: for each setting
// the pool has, an update that leaves it out (which AWS answers by
// resetting it) is refused, naming it; a whole one changes nothing but
// what it changes.
func TestUpdateUserPoolRefusesWhatWouldReset(t *testing.T) {
	env := testenv.Require(t)
	c, _ := inProcess(t, env)
	out, err := c.CreateUserPool(ctx, &cip.CreateUserPoolInput{PoolName: aws.String("t-full-" + testenv.RandomSuffix()),
		UserPoolTier: types.UserPoolTierTypePlus, DeletionProtection: types.DeletionProtectionTypeActive,
		UserPoolAddOns:              &types.UserPoolAddOnsType{AdvancedSecurityMode: types.AdvancedSecurityModeTypeAudit},
		UserAttributeUpdateSettings: &types.UserAttributeUpdateSettingsType{AttributesRequireVerificationBeforeUpdate: []types.VerifiedAttributeType{types.VerifiedAttributeTypeEmail}},
		AutoVerifiedAttributes:      []types.VerifiedAttributeType{types.VerifiedAttributeTypeEmail},
		VerificationMessageTemplate: &types.VerificationMessageTemplateType{DefaultEmailOption: types.DefaultEmailOptionTypeConfirmWithCode, EmailMessage: aws.String("code {####}")},
		SmsAuthenticationMessage:    aws.String("MFA {####}"),
		DeviceConfiguration:         &types.DeviceConfigurationType{ChallengeRequiredOnNewDevice: true},
		EmailConfiguration:          &types.EmailConfigurationType{EmailSendingAccount: types.EmailSendingAccountTypeCognitoDefault},
		UserPoolTags:                map[string]string{"app": "x"},
	})
	if err != nil {
		t.Fatal(err)
	}
	pool := *out.UserPool.Id
	t.Cleanup(func() { _, _ = env.Local.DeleteUserPool(ctx, &cip.DeleteUserPoolInput{UserPoolId: &pool}) })
	before := describeJSON(t, c, pool)
	if before["UserPoolTier"] != "PLUS" || before["DeletionProtection"] != "ACTIVE" || before["Name"] == nil {
		t.Fatalf("the pool as described: %v", before)
	}
	d, _ := c.DescribeUserPool(ctx, &cip.DescribeUserPoolInput{UserPoolId: &pool})
	full := deploy.UpdateInput(d.UserPool)

	// Each member left out, one at a time.
	v := reflect.ValueOf(full).Elem()
	tried := 0
	for i := 0; i < v.NumField(); i++ {
		f := v.Type().Field(i)
		if !f.IsExported() || f.Name == "UserPoolId" || f.Name == "LambdaConfig" || v.Field(i).IsZero() {
			continue // LambdaConfig: the SDK sends an empty one
		}
		partial := *full
		reflect.ValueOf(&partial).Elem().Field(i).Set(reflect.Zero(f.Type))
		_, err := c.UpdateUserPool(ctx, &partial)
		if apiCode(err) != "InvalidParameterException" || !strings.Contains(err.Error(), "would reset the pool's "+f.Name) {
			t.Errorf("an update without %s: %v", f.Name, err)
		}
		tried++
	}
	if tried < 12 {
		t.Errorf("only %d settings were tried: the fixture pool sets too little", tried)
	}
	for _, must := range []string{"PoolName", "UserPoolTier", "DeletionProtection", "UserAttributeUpdateSettings", "UserPoolAddOns"} {
		if reflect.ValueOf(full).Elem().FieldByName(must).IsZero() {
			t.Errorf("%s was not tried", must)
		}
	}
	if got := describeJSON(t, c, pool); !reflect.DeepEqual(got, before) {
		t.Fatalf("refused updates changed the pool:\nbefore %v\nafter  %v", before, got)
	}

	// The whole configuration back changes nothing.
	if _, err := c.UpdateUserPool(ctx, full); err != nil {
		t.Fatal(err)
	}
	if got := describeJSON(t, c, pool); !reflect.DeepEqual(got, before) {
		t.Errorf("a whole update changed the pool:\nbefore %v\nafter  %v", before, got)
	}
	// Threat protection needs PLUS; a downgrade with it off goes through,
	// visibly; deletion protection keeps the pool.
	down := *full
	down.UserPoolTier = types.UserPoolTierTypeEssentials
	if _, err := c.UpdateUserPool(ctx, &down); apiCode(err) != "FeatureUnavailableInTierException" {
		t.Errorf("ESSENTIALS with threat protection: %v", err)
	}
	down.UserPoolAddOns = &types.UserPoolAddOnsType{AdvancedSecurityMode: types.AdvancedSecurityModeTypeOff}
	down.PoolName = aws.String("renamed-" + testenv.RandomSuffix())
	if _, err := c.UpdateUserPool(ctx, &down); err != nil {
		t.Fatal(err)
	}
	if got := describeJSON(t, c, pool); got["UserPoolTier"] != "ESSENTIALS" || got["Name"] != *down.PoolName {
		t.Errorf("after the downgrade and the new name: %v %v", got["UserPoolTier"], got["Name"])
	}
	if _, err := c.DeleteUserPool(ctx, &cip.DeleteUserPoolInput{UserPoolId: &pool}); apiCode(err) != "InvalidParameterException" {
		t.Errorf("deleting a protected pool: %v", err)
	}
	both := *full
	both.AdminCreateUserConfig = &types.AdminCreateUserConfigType{UnusedAccountValidityDays: 7}
	both.Policies = &types.UserPoolPolicyType{PasswordPolicy: &types.PasswordPolicyType{MinimumLength: aws.Int32(8), TemporaryPasswordValidityDays: 7}}
	if _, err := c.UpdateUserPool(ctx, &both); apiCode(err) != "InvalidParameterException" {
		t.Errorf("UnusedAccountValidityDays with TemporaryPasswordValidityDays: %v", err)
	}
}

// A pool created past the shim (in cognito-local) shows AWS's defaults
// for what cognito-local does not keep.
func TestDescribeUserPoolShowsAWSDefaults(t *testing.T) {
	env := testenv.Require(t)
	srv := httptest.NewServer(cognitoshim.New(env.LocalEndpoint, cognitoshim.WithLogger(t.Logf)))
	t.Cleanup(srv.Close)
	c := cip.NewFromConfig(env.Config, func(o *cip.Options) { o.BaseEndpoint = aws.String(srv.URL) })
	pool := env.NewPool(t, testenv.PoolOptions{})
	got := describeJSON(t, c, pool)
	if got["UserPoolTier"] != "ESSENTIALS" || got["DeletionProtection"] != "INACTIVE" {
		t.Errorf("defaults: tier %v, deletion protection %v", got["UserPoolTier"], got["DeletionProtection"])
	}
	d, _ := c.DescribeUserPool(ctx, &cip.DescribeUserPoolInput{UserPoolId: &pool})
	in := deploy.UpdateInput(d.UserPool)
	in.PoolName = nil
	if _, err := c.UpdateUserPool(ctx, in); err == nil || !strings.Contains(err.Error(), "PoolName") {
		t.Errorf("an update without PoolName: %v", err)
	}
}
