package deploy

import (
	"fmt"
	"sort"
	"strings"

	cip "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider"
	ctypes "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider/types"

	"github.com/poolmigrate/poolmigrate/lambdaown"
)

// The custom attributes the trigger fills with each user's old identity.
const (
	prevSubAttr      = "custom:prev_sub_id"
	prevUsernameAttr = "custom:prev_username"
)

// UpdateInput is an UpdateUserPool request that sends a pool's whole
// current configuration back: UpdateUserPool resets every setting it is
// not given (a PLUS pool falls to ESSENTIALS and loses threat protection,
// deletion protection goes off, templates go back to the defaults). Every
// member of UpdateUserPoolInput is filled from DescribeUserPool's
// UserPoolType; TestUpdateInputSendsEverySetting fails when an SDK
// upgrade adds one that is not.
func UpdateInput(p *ctypes.UserPoolType) *cip.UpdateUserPoolInput {
	in := &cip.UpdateUserPoolInput{
		UserPoolId:                  p.Id,
		PoolName:                    p.Name,
		UserPoolTier:                p.UserPoolTier,
		AccountRecoverySetting:      p.AccountRecoverySetting,
		AdminCreateUserConfig:       p.AdminCreateUserConfig,
		AutoVerifiedAttributes:      p.AutoVerifiedAttributes,
		DeletionProtection:          p.DeletionProtection,
		DeviceConfiguration:         p.DeviceConfiguration,
		EmailConfiguration:          p.EmailConfiguration,
		EmailVerificationMessage:    p.EmailVerificationMessage,
		EmailVerificationSubject:    p.EmailVerificationSubject,
		IssuerConfiguration:         p.IssuerConfiguration,
		KeyConfiguration:            p.KeyConfiguration,
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

// lambdaConfig is a copy of the pool's triggers, to change one of them.
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

// CheckCarry refuses attributes the trigger must not carry to the new
// pool, and attributes the new pool does not have. Cognito owns sub, the
// cognito: attributes and identities (federated links): a migration
// response setting them fails for every user. custom:prev_* are the
// trigger's own record of the old identity, which a value from the old
// pool would overwrite. An attribute outside the new pool's schema makes
// every migration fail too.
func CheckCarry(attrs []string, pool *ctypes.UserPoolType) error {
	var denied, unknown []string
	for _, a := range attrs {
		switch {
		case a == "sub" || a == "identities" || strings.HasPrefix(a, "cognito:") || strings.HasPrefix(a, "custom:prev_"):
			denied = append(denied, a)
		case !hasAttribute(pool, a):
			unknown = append(unknown, a)
		}
	}
	sort.Strings(denied)
	sort.Strings(unknown)
	if len(denied) > 0 {
		return fmt.Errorf("the trigger may not carry %s: Cognito sets sub, cognito:* and identities itself, and the trigger writes custom:prev_sub_id / custom:prev_username; leave them out of --carry (CARRY_ATTRIBUTES)", strings.Join(denied, ", "))
	}
	if len(unknown) > 0 {
		hint := "add it to the new pool (custom attributes: `poolmigrate check --fix` adds the old pool's, or the Cognito console) or leave it out of --carry"
		return fmt.Errorf("the new pool %s has no attribute %s: every migration would fail; %s", lambdaown.Deref(pool.Id), strings.Join(unknown, ", "), hint)
	}
	return nil
}

// caseSensitive tells whether a pool tells usernames apart by case: so
// does a pool made without UsernameConfiguration (through the API, or
// before the setting existed).
func caseSensitive(p *ctypes.UserPoolType) bool {
	return p.UsernameConfiguration == nil || p.UsernameConfiguration.CaseSensitive == nil || *p.UsernameConfiguration.CaseSensitive
}
