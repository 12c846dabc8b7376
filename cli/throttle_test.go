package cli

import (
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider/types"

	"github.com/poolmigrate/poolmigrate/testbed/cognitoshim"
	"github.com/poolmigrate/poolmigrate/testbed/testenv"
)

// Throttling the shared test bed never does by itself: AWS's quotas, which
// the tool's own pace exceeds at --rate-scale 3, and TooManyRequestsException
// injected into the first and every fourth call of the operations under
// test. The outcome is read from Cognito once the throttling is off.

func throttled(ops ...string) []cognitoshim.ThrottleRule {
	return append(cognitoshim.AWSQuotas(), cognitoshim.ThrottleRule{Operations: ops, Every: 4})
}

// checkThrottled fails unless the shim refused each operation at least once.
func checkThrottled(t *testing.T, env *testenv.Env, ops ...string) {
	t.Helper()
	got := env.Throttled(t)
	for _, op := range ops {
		if got[op] == 0 {
			t.Errorf("the shim never throttled %s (throttled: %v)", op, got)
		}
	}
	t.Logf("throttled calls: %v", got)
}

// TestImportUnderThrottling: the admin import (AdminCreateUser,
// AdminSetUserPassword) and its restore, throttled, bring every user over.
func TestImportUnderThrottling(t *testing.T) {
	env := testenv.Require(t)
	m := setupExport(t, env, testenv.PoolOptions{
		AliasAttributes: []types.AliasAttributeType{types.AliasAttributeTypePreferredUsername},
		AutoVerified:    []types.VerifiedAttributeType{types.VerifiedAttributeTypeEmail},
	}, "--on-unverified", "skip", "--skip", "INVALID_PHONE")
	ops := []string{"AdminCreateUser", "AdminSetUserPassword"}
	env.Throttle(t, throttled(ops...)...)
	res, err := m.runImport(t, "--method", "admin", "--rate-scale", "3")
	checkThrottled(t, env, ops...)
	env.Throttle(t) // off: what follows reads the outcome
	if err != nil {
		t.Fatalf("import under throttling: %v (%+v)", err, res)
	}
	memberships, disabled := m.expected()
	if res.Imported != m.exported || res.Failed != 0 || res.MembershipsAdded != memberships || res.UsersDisabled != disabled {
		t.Errorf("import: %+v, want %d imported, %d memberships, %d disabled", res, m.exported, memberships, disabled)
	}
	m.verifyTarget(t, env, types.UserStatusTypeConfirmed)
}

// TestRestoreUnderThrottling: after a CSV import job, the restore of
// groups, memberships and disabled state, throttled, leaves the target
// exactly as the backup says.
func TestRestoreUnderThrottling(t *testing.T) {
	env := testenv.Require(t)
	m := setupExport(t, env, emailSignInPool(), "--on-duplicate", "keep-newest", "--on-unverified", "skip", "--skip", "INVALID_PHONE,INVALID_USERNAME")
	ops := []string{"ListGroups", "CreateGroup", "ListUsers", "AdminAddUserToGroup", "AdminDisableUser"}
	env.Throttle(t, throttled(ops...)...)
	res, err := m.runImport(t, "--role-arn", env.ImportRole(t), "--rate-scale", "3")
	checkThrottled(t, env, ops...)
	env.Throttle(t)
	if err != nil {
		t.Fatalf("import under throttling: %v (%+v)", err, res)
	}
	memberships, disabled := m.expected()
	if res.Imported != m.exported || res.Failed != 0 || res.GroupsCreated != 3 || res.MembershipsAdded != memberships || res.UsersDisabled != disabled {
		t.Errorf("import: %+v, want %d imported, 3 groups, %d memberships, %d disabled", res, m.exported, memberships, disabled)
	}
	m.verifyTarget(t, env, types.UserStatusTypeResetRequired)
}
