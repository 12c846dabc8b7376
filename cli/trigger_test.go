package cli

import (
	"archive/zip"
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	cip "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider"
	cogtypes "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider/types"

	"github.com/poolmigrate/poolmigrate/testbed/testenv"
)

// TestTriggerDeployStatusRemove deploys the trigger through the test bed
// (the shim's Lambda, IAM and CloudWatch Logs, cognito-local behind the
// shim's strict UpdateUserPool, which refuses a request that would reset
// a setting), and checks what Cognito and Lambda now hold: the function,
// Cognito's permission for the new pool only, the new pool's
// UserMigration — and every other setting of the pool exactly as before,
// including the ones an UpdateUserPool resets when it is not sent them
// (the PLUS feature plan with threat protection, deletion protection,
// the name, attribute update settings, templates).
func TestTriggerDeployStatusRemove(t *testing.T) {
	t.Parallel() // own pools, tables and folders
	env := testenv.Require(t)
	testenv.SkipUnless(t, os.Getenv("AWS_ENDPOINT_URL_LAMBDA") != "", "restart the test bed (testbed/testbed.sh down; up): it predates the Lambda endpoint")
	ctx := context.Background()
	oldPool := env.NewPool(t, testenv.PoolOptions{})
	hand := "arn:aws:lambda:us-east-1:000000000000:function:preSignUpByHand"
	// Created through the shim, which keeps what cognito-local drops.
	out, err := env.Cognito.CreateUserPool(ctx, &cip.CreateUserPoolInput{PoolName: aws.String("t-new-" + testenv.RandomSuffix()),
		UserPoolTier: cogtypes.UserPoolTierTypePlus, DeletionProtection: cogtypes.DeletionProtectionTypeActive,
		UserPoolAddOns:              &cogtypes.UserPoolAddOnsType{AdvancedSecurityMode: cogtypes.AdvancedSecurityModeTypeEnforced},
		UserAttributeUpdateSettings: &cogtypes.UserAttributeUpdateSettingsType{AttributesRequireVerificationBeforeUpdate: []cogtypes.VerifiedAttributeType{cogtypes.VerifiedAttributeTypeEmail}},
		VerificationMessageTemplate: &cogtypes.VerificationMessageTemplateType{DefaultEmailOption: cogtypes.DefaultEmailOptionTypeConfirmWithCode, EmailSubject: aws.String("Your code"), EmailMessage: aws.String("The code is {####}")},
		DeviceConfiguration:         &cogtypes.DeviceConfigurationType{ChallengeRequiredOnNewDevice: true},
		AccountRecoverySetting:      &cogtypes.AccountRecoverySettingType{RecoveryMechanisms: []cogtypes.RecoveryOptionType{{Name: cogtypes.RecoveryOptionNameTypeVerifiedEmail, Priority: aws.Int32(1)}}},
		EmailConfiguration:          &cogtypes.EmailConfigurationType{EmailSendingAccount: cogtypes.EmailSendingAccountTypeCognitoDefault, ReplyToEmailAddress: aws.String("help@example.com")},
		AutoVerifiedAttributes:      []cogtypes.VerifiedAttributeType{cogtypes.VerifiedAttributeTypeEmail},
		EmailVerificationSubject:    aws.String("Your code"), EmailVerificationMessage: aws.String("The code is {####}"),
		SmsAuthenticationMessage: aws.String("MFA {####}"), MfaConfiguration: cogtypes.UserPoolMfaTypeOff,
		Policies:     &cogtypes.UserPoolPolicyType{PasswordPolicy: &cogtypes.PasswordPolicyType{MinimumLength: aws.Int32(12), RequireNumbers: true, TemporaryPasswordValidityDays: 3}},
		LambdaConfig: &cogtypes.LambdaConfigType{PreSignUp: aws.String(hand)},
		UserPoolTags: map[string]string{"app": "notes"},
		Schema: []cogtypes.SchemaAttributeType{
			{Name: aws.String("prev_sub_id"), AttributeDataType: cogtypes.AttributeDataTypeString, Mutable: aws.Bool(true)},
			{Name: aws.String("prev_username"), AttributeDataType: cogtypes.AttributeDataTypeString, Mutable: aws.Bool(true)}}})
	if err != nil {
		t.Fatal(err)
	}
	target := *out.UserPool.Id
	t.Cleanup(func() {
		_, _ = env.Local.DeleteUserPool(context.Background(), &cip.DeleteUserPoolInput{UserPoolId: &target})
	})
	describe := func() map[string]any {
		d, err := env.Cognito.DescribeUserPool(ctx, &cip.DescribeUserPoolInput{UserPoolId: &target})
		if err != nil {
			t.Fatal(err)
		}
		var m map[string]any
		data, _ := json.Marshal(d.UserPool)
		_ = json.Unmarshal(data, &m)
		delete(m, "LastModifiedDate")
		return m
	}
	before := describe()
	for k, want := range map[string]any{"UserPoolTier": "PLUS", "DeletionProtection": "ACTIVE", "UserAttributeUpdateSettings": map[string]any{"AttributesRequireVerificationBeforeUpdate": []any{"email"}}} {
		if !reflect.DeepEqual(before[k], want) {
			t.Fatalf("the test bed does not keep %s: %v", k, before[k])
		}
	}

	// The shim refuses what AWS would silently do: an UpdateUserPool that
	// leaves settings out resets them.
	if _, err := env.Cognito.UpdateUserPool(ctx, &cip.UpdateUserPoolInput{UserPoolId: &target, LambdaConfig: &cogtypes.LambdaConfigType{UserMigration: aws.String(hand)}}); err == nil || !strings.Contains(err.Error(), "would reset") {
		t.Fatalf("a partial UpdateUserPool: %v", err)
	}

	zipFile := filepath.Join(t.TempDir(), "trigger.zip")
	writeBootstrapZip(t, zipFile)
	args := []string{"--old-pool", oldPool, "--target-pool", target, "--zip", zipFile, "--yes"}
	dir := t.TempDir()
	if stdout, stderr, err := runApp(t, dir, nil, append([]string{"trigger", "deploy", "--dry-run"}, args...)...); err != nil || !strings.Contains(stdout, "cognito-idp:AdminInitiateAuth") {
		t.Fatalf("dry run: %v\n%s%s", err, stdout, stderr)
	}
	if got := describe(); !reflect.DeepEqual(got, before) {
		t.Fatal("the dry run changed the pool")
	}
	for i := 0; i < 2; i++ { // a second deploy changes nothing
		if stdout, stderr, err := runApp(t, dir, nil, append([]string{"trigger", "deploy"}, args...)...); err != nil {
			t.Fatalf("deploy %d: %v\n%s%s", i+1, err, stdout, stderr)
		}
	}
	after := describe()
	lc := after["LambdaConfig"].(map[string]any)
	fn := "arn:aws:lambda:us-east-1:000000000000:function:poolmigrate-migration-" + strings.ReplaceAll(target, "_", "-")
	if lc["UserMigration"] != fn || lc["PreSignUp"] != hand {
		t.Errorf("LambdaConfig after deploy: %v", lc)
	}
	lc["UserMigration"] = nil
	if !reflect.DeepEqual(after, before) {
		t.Errorf("deploy changed more than the trigger:\nbefore %v\nafter  %v", before, after)
	}
	stdout, _, err := runApp(t, dir, nil, "trigger", "status", "--old-pool", oldPool, "--target-pool", target, "--json")
	var st struct {
		Exists, Permitted, Attached bool
		Problems                    []string
	}
	if err != nil || json.Unmarshal([]byte(stdout), &st) != nil || !st.Exists || !st.Permitted || !st.Attached {
		t.Fatalf("status after deploy: %v %s", err, stdout)
	}
	// An `amplify push` of the auth stack writes the pool's triggers from
	// the project's files, which know nothing of this one.
	cur, _ := env.Cognito.DescribeUserPool(ctx, &cip.DescribeUserPoolInput{UserPoolId: &target})
	pushed := updateInputFor(cur.UserPool)
	pushed.LambdaConfig = &cogtypes.LambdaConfigType{PreSignUp: aws.String(hand)}
	if _, err := env.Cognito.UpdateUserPool(ctx, pushed); err != nil {
		t.Fatal(err)
	}
	if stdout, _, err := runApp(t, dir, nil, "trigger", "status", "--old-pool", oldPool, "--target-pool", target); err == nil || !strings.Contains(stdout, "has no user migration trigger") {
		t.Errorf("status after a push: %v %s", err, stdout)
	}
	if _, _, err := runApp(t, dir, nil, append([]string{"trigger", "deploy"}, args...)...); err != nil {
		t.Fatal(err)
	}
	if stdout, stderr, err := runApp(t, dir, nil, "trigger", "remove", "--old-pool", oldPool, "--target-pool", target, "--yes"); err != nil {
		t.Fatalf("remove: %v\n%s%s", err, stdout, stderr)
	}
	if got := describe(); !reflect.DeepEqual(got, before) {
		t.Errorf("remove did not give the pool back as it was:\nbefore %v\nafter  %v", before, got)
	}
	if stdout, _, err := runApp(t, dir, nil, "trigger", "status", "--old-pool", oldPool, "--target-pool", target); err == nil || !strings.Contains(stdout, "does not exist") {
		t.Errorf("status after remove: %v %s", err, stdout)
	}
}

// writeBootstrapZip writes a deployment package: an executable bootstrap.
func writeBootstrapZip(t *testing.T, path string) {
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	h := &zip.FileHeader{Name: "bootstrap"}
	h.SetMode(0o755)
	w, _ := zw.CreateHeader(h)
	_, _ = w.Write([]byte("\x7fELF stand-in"))
	_ = zw.Close()
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
}

// updateInputFor sends a pool's configuration back, as a push would (with
// the temporary password's validity in Policies only: Cognito refuses its
// deprecated twin in AdminCreateUserConfig next to it).
func updateInputFor(p *cogtypes.UserPoolType) *cip.UpdateUserPoolInput {
	if c := p.AdminCreateUserConfig; c != nil {
		c.UnusedAccountValidityDays = 0
	}
	return &cip.UpdateUserPoolInput{UserPoolId: p.Id, PoolName: p.Name, UserPoolTier: p.UserPoolTier, IssuerConfiguration: p.IssuerConfiguration,
		KeyConfiguration: p.KeyConfiguration, AutoVerifiedAttributes: p.AutoVerifiedAttributes, EmailVerificationMessage: p.EmailVerificationMessage,
		EmailVerificationSubject: p.EmailVerificationSubject, SmsAuthenticationMessage: p.SmsAuthenticationMessage, MfaConfiguration: p.MfaConfiguration,
		Policies: p.Policies, UserPoolTags: p.UserPoolTags, AccountRecoverySetting: p.AccountRecoverySetting, AdminCreateUserConfig: p.AdminCreateUserConfig,
		DeviceConfiguration: p.DeviceConfiguration, EmailConfiguration: p.EmailConfiguration, SmsConfiguration: p.SmsConfiguration,
		SmsVerificationMessage: p.SmsVerificationMessage, UserAttributeUpdateSettings: p.UserAttributeUpdateSettings, UserPoolAddOns: p.UserPoolAddOns,
		VerificationMessageTemplate: p.VerificationMessageTemplate, DeletionProtection: p.DeletionProtection}
}
