package trigger

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"regexp"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"
	cip "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider"
	"github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider/types"

	"github.com/poolmigrate/poolmigrate/testbed/cognitoshim"
	"github.com/poolmigrate/poolmigrate/testbed/testenv"
)

// TestSignInWithTheOldPassword runs the trigger for real: built from
// cmd/migration-trigger, served by the AWS Lambda Runtime Interface
// Emulator, and invoked by a cognito-local whose UserMigration trigger
// points at it. The trigger reaches the old pool through the project's
// Cognito shim, which answers the old pool's sign-in as AWS does (MFA and
// new-password challenges). Users sign in to the NEW pool with their OLD
// passwords; attackers try what they would.
//
// cognito-local answers a refused migration with an error (sometimes HTTP
// 500), as it would a crashed trigger, so every refusal is checked by the
// reason the trigger logged for it, by the new pool's users, and by the
// trigger still serving. cognito-local names migrated users with a random
// UUID (AWS uses the name typed): they are found by custom:prev_sub_id.
func TestSignInWithTheOldPassword(t *testing.T) {
	rie := os.Getenv("POOLMIGRATE_TESTBED_RIE")
	if rie == "" {
		testenv.Skip(t, "the Lambda Runtime Interface Emulator is not installed: run testbed/testbed.sh up (or scripts/test.sh)")
	}
	defer func() {
		if r := recover(); r != nil {
			t.Fatal(r)
		}
	}()
	ctx := context.Background()
	// What `poolmigrate trigger build` makes, for this machine's
	// architecture (the emulator runs it here).
	src, err := FindSource(".")
	if err != nil {
		t.Fatal(err)
	}
	built, err := Build(ctx, src, t.TempDir(), runtime.GOARCH)
	if err != nil {
		t.Fatal(err)
	}

	// cognito-local, with its UserMigration trigger at the emulator and
	// the old pool planted with a federated user (no API makes one), and
	// the shim in front of it.
	const oldPool = "us-east-1_OldPool01"
	riePort, apiPort := testenv.FreePort(t), testenv.FreePort(t)
	rieURL := fmt.Sprintf("http://127.0.0.1:%d", riePort)
	local := testenv.StartCognitoLocal(t, map[string]any{
		"TriggerFunctions": map[string]string{"UserMigration": "function"},
		"LambdaClient":     map[string]any{"endpoint": rieURL, "region": "us-east-1", "credentials": map[string]string{"accessKeyId": "local", "secretAccessKey": "local"}},
	}, map[string][]byte{oldPool: oldPoolFile(t, oldPool)})
	shim := httptest.NewServer(cognitoshim.New(local, cognitoshim.WithLogger(t.Logf)))
	t.Cleanup(shim.Close)
	cfg, err := config.LoadDefaultConfig(ctx, config.WithRegion("us-east-1"),
		config.WithCredentialsProvider(credentials.NewStaticCredentialsProvider("local", "local", "")))
	if err != nil {
		t.Fatal(err)
	}
	idp := cip.NewFromConfig(cfg, func(o *cip.Options) { o.BaseEndpoint = aws.String(shim.URL) })

	old := plantOldUsers(t, idp, oldPool)

	// The trigger under the emulator, pointed at the old pool through the
	// shim.
	rieCmd := exec.Command(rie, "--runtime-interface-emulator-address", fmt.Sprintf("127.0.0.1:%d", riePort), "--runtime-api-address", fmt.Sprintf("127.0.0.1:%d", apiPort), built.Bootstrap)
	rieCmd.Env = append(os.Environ(), "OLD_USER_POOL_ID="+oldPool, "OLD_APP_CLIENT_ID="+old.client,
		"AWS_ENDPOINT_URL_COGNITO_IDENTITY_PROVIDER="+shim.URL, "AWS_REGION=us-east-1", "AWS_ACCESS_KEY_ID=local", "AWS_SECRET_ACCESS_KEY=local")
	rieLogs := &syncBuffer{}
	rieCmd.Stdout, rieCmd.Stderr = rieLogs, rieLogs
	if err := rieCmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- rieCmd.Wait() }()
	t.Cleanup(func() { _ = rieCmd.Process.Kill(); <-exited })
	testenv.WaitHTTP(t, rieURL+"/", 20*time.Second, rieLogs.String)
	healthy := func(when string) {
		t.Helper()
		select {
		case err := <-exited:
			t.Fatalf("%s: the emulator exited (%v):\n%s", when, err, rieLogs.String())
		default:
		}
		if strings.Contains(rieLogs.String(), "panic:") || strings.Contains(rieLogs.String(), "Runtime.ExitError") {
			t.Fatalf("%s: the trigger crashed:\n%s", when, rieLogs.String())
		}
	}

	// The new pool, with the old-identity attributes.
	newPool := *must(idp.CreateUserPool(ctx, &cip.CreateUserPoolInput{PoolName: aws.String("new"), Schema: []types.SchemaAttributeType{
		{Name: aws.String("prev_sub_id"), AttributeDataType: types.AttributeDataTypeString, Mutable: aws.Bool(true)},
		{Name: aws.String("prev_username"), AttributeDataType: types.AttributeDataTypeString, Mutable: aws.Bool(true)}}})).UserPool.Id
	newClient := *must(idp.CreateUserPoolClient(ctx, &cip.CreateUserPoolClientInput{UserPoolId: &newPool, ClientName: aws.String("app"),
		ExplicitAuthFlows: []types.ExplicitAuthFlowsType{types.ExplicitAuthFlowsTypeAllowUserPasswordAuth}})).UserPoolClient.ClientId
	signIn := func(user, password string) (*cip.InitiateAuthOutput, error) {
		return idp.InitiateAuth(ctx, &cip.InitiateAuthInput{ClientId: &newClient, AuthFlow: types.AuthFlowTypeUserPasswordAuth,
			AuthParameters: map[string]string{"USERNAME": user, "PASSWORD": password}})
	}
	migrated := func() map[string]map[string]string { // old sub -> attributes
		out := map[string]map[string]string{}
		p := cip.NewListUsersPaginator(idp, &cip.ListUsersInput{UserPoolId: &newPool})
		for p.HasMorePages() {
			for _, u := range must(p.NextPage(ctx)).Users {
				attrs := map[string]string{"status": string(u.UserStatus)}
				for _, a := range u.Attributes {
					attrs[*a.Name] = *a.Value
				}
				out[attrs[PrevSubAttr]] = attrs
			}
		}
		return out
	}
	// logged waits for the trigger's next line about a sign-in (the
	// emulator writes it out on its own time) and returns it.
	logged := func(from int, what string) string {
		t.Helper()
		line := regexp.MustCompile(`(?m)^(refused|migrated) source=.*$`)
		for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(20 * time.Millisecond) {
			if m := line.FindString(rieLogs.String()[from:]); m != "" {
				return m
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s: the trigger logged no outcome:\n%s", what, rieLogs.String())
			}
		}
	}

	// Right password: tokens, and alice now exists in the new pool.
	from := rieLogs.Len()
	out, err := signIn("alice", "Old-Secret-1a!")
	if err != nil || out.AuthenticationResult == nil || out.AuthenticationResult.AccessToken == nil {
		t.Fatalf("alice with her old password: %v\n%s", err, rieLogs.String())
	}
	if got := logged(from, "alice"); got != "migrated source=Authentication old_sub="+old.subs["alice"] {
		t.Errorf("alice: the trigger logged %q", got)
	}
	if a := migrated()[old.subs["alice"]]; a == nil || a[PrevUsernameAttr] != "alice" || a["email"] != "alice@example.com" || a["email_verified"] != "true" || a["status"] != "CONFIRMED" {
		t.Errorf("alice in the new pool: %v", a)
	}

	// Each refused for its own reason, with no tokens and nobody created.
	for _, c := range []struct{ what, user, password, reason string }{
		{"a wrong password", "bob", "not-his-password", "auth_error code=NotAuthorizedException"},
		{"an unknown user", "nobody-here", "Old-Secret-1a!", "not_found"},
		{"a disabled user", "dave", "Old-Secret-1d!", "disabled"},
		{"an e-mail two users verified", "shared@example.com", "Old-Secret-1f!", "ambiguous"},
		{"an SMS MFA user's password", "smsuser", "Sms-Secret-1!", "challenge:SMS_MFA"},
		{"a TOTP MFA user's password, by e-mail", "totp@example.com", "Totp-Secret-1!", "challenge:SOFTWARE_TOKEN_MFA"},
		{"a temporary password", "tempuser", "Temp-Secret-1!", "status:FORCE_CHANGE_PASSWORD"},
		{"a victim's address the attacker never verified, with the attacker's password", "victim@example.com", "Mallory-Secret-1!", "auth_error code=NotAuthorizedException"},
		{"an address only its unverified claimant has", "unclaimed@example.com", "Eve-Secret-1!", "not_found"},
		{"a federated user", "Google_1097", "Any-Secret-1!", "status:EXTERNAL_PROVIDER"},
		{"a federated user's address", "fed@example.com", "Any-Secret-1!", "not_found"},
	} {
		before := migrated()
		from := rieLogs.Len()
		out, err := signIn(c.user, c.password)
		if err == nil || out != nil {
			t.Errorf("%s: signed in (%v)", c.what, out)
			continue
		}
		got := logged(from, c.what)
		if !regexp.MustCompile(`^refused source=Authentication reason=` + regexp.QuoteMeta(c.reason) + `( old_sub=\S+)?$`).MatchString(got) {
			t.Errorf("%s: the trigger logged %q, want reason %s (the sign-in's error: %v)", c.what, got, c.reason, err)
		}
		if after := migrated(); len(after) != len(before) {
			t.Errorf("%s: the new pool went from %d to %d users: %v", c.what, len(before), len(after), after)
		}
		healthy(c.what)
	}
	for _, who := range []string{"bob", "mallory", "smsuser", "totpuser", "tempuser", "eve", "federated"} {
		if a, ok := migrated()[old.subs[who]]; ok {
			t.Errorf("%s is in the new pool: %v", who, a)
		}
	}

	// Still serving: a plain user by e-mail, and the verified owner of the
	// address an unverified user also claims.
	for _, c := range [][3]string{{"bob@example.com", "Old-Secret-1b!", "bob"}, {"victim@example.com", "Victor-Secret-1!", "victor"}} {
		if out, err := signIn(c[0], c[1]); err != nil || out.AuthenticationResult == nil {
			t.Fatalf("%s: %v\n%s", c[2], err, rieLogs.String())
		}
		if a := migrated()[old.subs[c[2]]]; a == nil || a[PrevUsernameAttr] != c[2] {
			t.Errorf("%s in the new pool: %v", c[2], a)
		}
	}

	// Forgot password (cognito-local does not send this source): the
	// handler through the emulator, directly.
	for _, c := range []struct{ typed, wantSub, reason string }{
		{"alice@example.com", old.subs["alice"], ""},
		{"Google_1097", "", "status:EXTERNAL_PROVIDER"},
		{"fed@example.com", "", "not_found"},
		{"smsuser", "", "mfa:SMS_MFA"},
		{"totp@example.com", "", "mfa:SOFTWARE_TOKEN_MFA"},
	} {
		from := rieLogs.Len()
		ev := events.CognitoEventUserPoolsMigrateUser{}
		ev.TriggerSource, ev.UserName, ev.UserPoolID = SourceForgotPassword, c.typed, newPool
		body, _ := json.Marshal(ev)
		resp, err := http.Post(rieURL+"/2015-03-31/functions/function/invocations", "application/json", bytes.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		data, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		var answer struct {
			events.CognitoEventUserPoolsMigrateUser
			ErrorMessage string `json:"errorMessage"`
		}
		if err := json.Unmarshal(data, &answer); err != nil {
			t.Fatalf("forgot password %s: %v %s", c.typed, err, data)
		}
		r := answer.CognitoEventUserPoolsMigrateUserResponse
		got := logged(from, "forgot password "+c.typed)
		if c.wantSub != "" {
			if r.UserAttributes[PrevSubAttr] != c.wantSub || r.MessageAction != "SUPPRESS" || answer.ErrorMessage != "" || got != "migrated source=ForgotPassword old_sub="+c.wantSub {
				t.Errorf("forgot password %s: %s (logged %q)", c.typed, data, got)
			}
		} else if answer.ErrorMessage != ErrRefused.Error() || len(r.UserAttributes) != 0 ||
			!regexp.MustCompile(`^refused source=ForgotPassword reason=`+regexp.QuoteMeta(c.reason)+`( old_sub=\S+)?$`).MatchString(got) {
			t.Errorf("forgot password %s: %s (logged %q, want reason %s)", c.typed, data, got, c.reason)
		}
	}
	healthy("the end")

	// Nothing typed and no password reached the trigger's output.
	for _, secret := range append(old.passwords, "not-his-password", "Any-Secret-1!", "@example.com", "smsuser", "tempuser", "Google_1097", "nobody-here") {
		if strings.Contains(rieLogs.String(), secret) {
			t.Errorf("the trigger's output holds %q:\n%s", secret, rieLogs.String())
		}
	}
}

// syncBuffer is the emulator's output, written by its copying goroutines
// and read by the test.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

func (b *syncBuffer) Len() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Len()
}

// must panics on an error; the test turns the panic into a failure.
func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}
