package trigger

import (
	"context"
	"encoding/json"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	cip "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider"
	"github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider/types"
)

// The federated user planted in the old pool.
const federatedSub = "7d1c1f0e-5a0b-4c2e-9d7e-000000001097"

// oldPoolFile is the old pool as cognito-local stores it: username
// sign-in, MFA optional, and one user who signs in with Google — a status
// only a federated sign-in creates, which no API can.
func oldPoolFile(t *testing.T, id string) []byte {
	t.Helper()
	type attr struct{ Name, Value string }
	schema := []map[string]any{}
	for _, name := range []string{"sub", "email", "email_verified", "phone_number", "phone_number_verified", "name", "identities"} {
		typ := "String"
		if name == "email_verified" || name == "phone_number_verified" {
			typ = "Boolean"
		}
		schema = append(schema, map[string]any{"Name": name, "AttributeDataType": typ, "Mutable": name != "sub", "Required": name == "sub"})
	}
	data, err := json.Marshal(map[string]any{
		"Users": map[string]any{"Google_1097": map[string]any{
			"Username": "Google_1097", "Enabled": true, "UserStatus": "EXTERNAL_PROVIDER", "RefreshTokens": []string{},
			"UserCreateDate": "2026-01-02T03:04:05.000Z", "UserLastModifiedDate": "2026-01-02T03:04:05.000Z",
			"Attributes": []attr{{"sub", federatedSub}, {"email", "fed@example.com"}, {"email_verified", "true"},
				{"identities", `[{"userId":"1097","providerName":"Google","providerType":"Google","primary":true}]`}},
		}},
		"Groups":  map[string]any{},
		"Options": map[string]any{"Id": id, "Name": "old", "UsernameAttributes": []string{}, "MfaConfiguration": "OPTIONAL", "SchemaAttributes": schema},
	})
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// oldPool is what plantOldUsers made: the trigger's app client, each
// user's sub by name, and every password.
type oldPool struct {
	client    string
	subs      map[string]string
	passwords []string
}

// plantOldUsers creates the old pool's users through the shim:
// alice and bob; dave, disabled; frank and frank2, who both verified one
// address; smsuser and totpuser with a second factor; tempuser, who still
// has the temporary password; victor, who verified victim@example.com,
// and mallory, who typed that address and never verified it; eve, alone
// with an address she never verified.
func plantOldUsers(t *testing.T, idp *cip.Client, pool string) oldPool {
	t.Helper()
	ctx := context.Background()
	old := oldPool{subs: map[string]string{"federated": federatedSub}}
	old.client = *must(idp.CreateUserPoolClient(ctx, &cip.CreateUserPoolClientInput{UserPoolId: &pool, ClientName: aws.String("trigger"),
		ExplicitAuthFlows: []types.ExplicitAuthFlowsType{types.ExplicitAuthFlowsTypeAllowAdminUserPasswordAuth}})).UserPoolClient.ClientId
	verified := func(email string) []string { return []string{"email", email, "email_verified", "true"} }
	for _, u := range []struct {
		name, password string
		temporary      bool
		attrs          []string
	}{
		{"alice", "Old-Secret-1a!", false, verified("alice@example.com")},
		{"bob", "Old-Secret-1b!", false, verified("bob@example.com")},
		{"dave", "Old-Secret-1d!", false, verified("dave@example.com")},
		{"frank", "Old-Secret-1f!", false, verified("shared@example.com")},
		{"frank2", "Old-Secret-1g!", false, verified("shared@example.com")},
		{"smsuser", "Sms-Secret-1!", false, append(verified("sms@example.com"), "phone_number", "+15550100123", "phone_number_verified", "true")},
		{"totpuser", "Totp-Secret-1!", false, verified("totp@example.com")},
		{"tempuser", "Temp-Secret-1!", true, verified("temp@example.com")},
		{"victor", "Victor-Secret-1!", false, verified("victim@example.com")},
		{"mallory", "Mallory-Secret-1!", false, []string{"email", "victim@example.com", "email_verified", "false"}},
		{"eve", "Eve-Secret-1!", false, []string{"email", "unclaimed@example.com", "email_verified", "false"}},
	} {
		in := &cip.AdminCreateUserInput{UserPoolId: &pool, Username: aws.String(u.name), MessageAction: types.MessageActionTypeSuppress, TemporaryPassword: aws.String(u.password)}
		for i := 0; i+1 < len(u.attrs); i += 2 {
			in.UserAttributes = append(in.UserAttributes, types.AttributeType{Name: aws.String(u.attrs[i]), Value: aws.String(u.attrs[i+1])})
		}
		out := must(idp.AdminCreateUser(ctx, in))
		for _, a := range out.User.Attributes {
			if *a.Name == "sub" {
				old.subs[u.name] = *a.Value
			}
		}
		if !u.temporary {
			must(idp.AdminSetUserPassword(ctx, &cip.AdminSetUserPasswordInput{UserPoolId: &pool, Username: aws.String(u.name), Password: aws.String(u.password), Permanent: true}))
		}
		old.passwords = append(old.passwords, u.password)
	}
	must(idp.AdminDisableUser(ctx, &cip.AdminDisableUserInput{UserPoolId: &pool, Username: aws.String("dave")}))
	must(idp.AdminSetUserMFAPreference(ctx, &cip.AdminSetUserMFAPreferenceInput{UserPoolId: &pool, Username: aws.String("smsuser"),
		SMSMfaSettings: &types.SMSMfaSettingsType{Enabled: true, PreferredMfa: true}}))
	must(idp.AdminSetUserMFAPreference(ctx, &cip.AdminSetUserMFAPreferenceInput{UserPoolId: &pool, Username: aws.String("totpuser"),
		SoftwareTokenMfaSettings: &types.SoftwareTokenMfaSettingsType{Enabled: true, PreferredMfa: true}}))
	// The fixture is what the test says it is.
	for name, want := range map[string]types.UserStatusType{"alice": types.UserStatusTypeConfirmed, "tempuser": types.UserStatusTypeForceChangePassword, "Google_1097": types.UserStatusTypeExternalProvider} {
		if got := must(idp.AdminGetUser(ctx, &cip.AdminGetUserInput{UserPoolId: &pool, Username: aws.String(name)})).UserStatus; got != want {
			t.Fatalf("%s is %s in the old pool, want %s", name, got, want)
		}
	}
	return old
}
