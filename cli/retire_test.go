package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	cip "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider"
	ctypes "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider/types"

	"github.com/poolmigrate/poolmigrate/migration"
	"github.com/poolmigrate/poolmigrate/testbed/testenv"
)

// retireBed is a migration whose window is closed: every user of the old
// pool's backup is in the new pool (by custom:prev_sub_id), verify is
// clean, no trigger is left. What each test then does to it is what an
// attacker or an unlucky operator would.
type retireBed struct {
	env         *testenv.Env
	dir         string
	old, target string
	backup      string
	subs        map[string]string // old username -> old sub
}

// retireFillers are the old pool's users besides r0, r1 and r2.
const retireFillers = 130

func newRetireBed(t *testing.T) *retireBed {
	t.Helper()
	env := testenv.Require(t)
	ctx := context.Background()
	b := &retireBed{env: env, subs: map[string]string{}}
	b.old = env.NewPool(t, testenv.PoolOptions{AutoVerified: []ctypes.VerifiedAttributeType{ctypes.VerifiedAttributeTypeEmail}})
	// More users than a page holds, so the old pool's listing takes
	// several pages (a short one among them) and the users who sign up
	// later sort onto the last: fillers f000… before them, r0… after.
	var seed []testenv.SeedUser
	for i := 0; i < retireFillers; i++ {
		seed = append(seed, testenv.SeedUser{Username: fmt.Sprintf("f%03d", i), Attrs: map[string]string{"email": fmt.Sprintf("f%03d@example.com", i), "email_verified": "true"}})
	}
	for i := 0; i < 3; i++ {
		seed = append(seed, testenv.SeedUser{Username: fmt.Sprintf("r%d", i), Attrs: map[string]string{"email": fmt.Sprintf("r%d@example.com", i), "email_verified": "true"}})
	}
	env.Seed(t, b.old, nil, seed)
	for name, sub := range b.oldUsers(t) {
		b.subs[name] = sub
	}
	b.dir = copyProject(t, "../examples/notes-app")
	deployedNotesApp(t, env, b.dir, b.old, "ret")
	b.backup = filepath.Join(t.TempDir(), "old.jsonl")
	if _, stderr, err := runApp(t, b.dir, nil, "backup", "--pool", b.old, "--out", b.backup); err != nil {
		t.Fatalf("backup: %v\n%s", err, stderr)
	}
	b.target = env.NewPool(t, testenv.PoolOptions{AutoVerified: []ctypes.VerifiedAttributeType{ctypes.VerifiedAttributeTypeEmail}, Custom: []string{"prev_sub_id", "prev_username"}})
	for name, sub := range b.subs {
		if _, err := env.Local.AdminCreateUser(ctx, &cip.AdminCreateUserInput{UserPoolId: &b.target, Username: aws.String(name), MessageAction: ctypes.MessageActionTypeSuppress,
			UserAttributes: []ctypes.AttributeType{{Name: aws.String("email"), Value: aws.String(name + "@example.com")}, {Name: aws.String("email_verified"), Value: aws.String("true")},
				{Name: aws.String("custom:prev_sub_id"), Value: aws.String(sub)}, {Name: aws.String("custom:prev_username"), Value: aws.String(name)}}}); err != nil {
			t.Fatal(err)
		}
	}
	return b
}

// oldUsers lists the old pool: username -> sub.
func (b *retireBed) oldUsers(t *testing.T) map[string]string {
	t.Helper()
	out := map[string]string{}
	for _, u := range must2[*cip.ListUsersOutput](t)(b.env.Local.ListUsers(context.Background(), &cip.ListUsersInput{UserPoolId: &b.old})).Users {
		for _, a := range u.Attributes {
			if *a.Name == "sub" {
				out[*u.Username] = *a.Value
			}
		}
	}
	return out
}

// addOldUser signs a user up in the old pool (after the backup).
func (b *retireBed) addOldUser(t *testing.T, name string) {
	t.Helper()
	if _, err := b.env.Local.AdminCreateUser(context.Background(), &cip.AdminCreateUserInput{UserPoolId: &b.old, Username: aws.String(name), MessageAction: ctypes.MessageActionTypeSuppress,
		UserAttributes: []ctypes.AttributeType{{Name: aws.String("email"), Value: aws.String(name + "@example.com")}, {Name: aws.String("email_verified"), Value: aws.String("true")}}}); err != nil {
		t.Fatal(err)
	}
}

func (b *retireBed) args(extra ...string) []string {
	return append([]string{"retire-old-pool", "--old-pool", b.old, "--backup", b.backup, "--target-pool", b.target}, extra...)
}

// oldPoolExists asks cognito-local itself, not the tool.
func (b *retireBed) oldPoolExists(t *testing.T) bool {
	t.Helper()
	_, err := b.env.Local.DescribeUserPool(context.Background(), &cip.DescribeUserPoolInput{UserPoolId: &b.old})
	var nf *ctypes.ResourceNotFoundException
	if err != nil && !errors.As(err, &nf) {
		t.Fatalf("describe the old pool: %v", err)
	}
	return err == nil
}

// setMigrationTrigger attaches (arn) or detaches ("") a user migration
// trigger on a pool behind the tool's back, as a console user or an
// override's push would.
func (b *retireBed) setMigrationTrigger(t *testing.T, pool, arn string) {
	t.Helper()
	ctx := context.Background()
	cur := must2[*cip.DescribeUserPoolOutput](t)(b.env.Local.DescribeUserPool(ctx, &cip.DescribeUserPoolInput{UserPoolId: &pool})).UserPool
	lc := ctypes.LambdaConfigType{}
	if cur.LambdaConfig != nil {
		lc = *cur.LambdaConfig
	}
	lc.UserMigration = nil
	if arn != "" {
		lc.UserMigration = aws.String(arn)
	}
	if _, err := b.env.Local.UpdateUserPool(ctx, &cip.UpdateUserPoolInput{UserPoolId: &pool, LambdaConfig: &lc, AutoVerifiedAttributes: cur.AutoVerifiedAttributes}); err != nil {
		t.Fatal(err)
	}
}

// runAppIn is runApp with the operator's typing on stdin.
func runAppIn(t *testing.T, dir string, stdin io.Reader, args ...string) (stdout, stderr string, err error) {
	t.Helper()
	var out, errb bytes.Buffer
	app := &App{Stdin: stdin, Stdout: &out, Stderr: &errb, Getenv: os.Getenv, Getwd: func() (string, error) { return filepath.Abs(dir) }}
	err = app.Run(context.Background(), args)
	return out.String(), errb.String(), err
}

func decodeDecision(t *testing.T, out string) RetireDecision {
	t.Helper()
	var d RetireDecision
	if err := json.Unmarshal([]byte(out), &d); err != nil {
		t.Fatalf("retire --json: %v\n%s", err, out)
	}
	return d
}

func names(users []migration.RetireUser) map[string]string {
	out := map[string]string{}
	for _, u := range users {
		out[u.Username] = u.Change
	}
	return out
}

// TestRetireNamesUsersAfterTheBackup: users who signed up in the old pool
// after the backup, or changed there, are not in the backup; retire
// refuses, names them, and prints the commands that carry them over.
// Run as printed, those commands bring them over, and retire then goes
// through.
func TestRetireNamesUsersAfterTheBackup(t *testing.T) {
	t.Parallel() // own pools, tables and folders
	b := newRetireBed(t)
	ctx := context.Background()
	// UserLastModifiedDate has second precision on some backends.
	time.Sleep(1100 * time.Millisecond)
	b.addOldUser(t, "late")
	if _, err := b.env.Local.AdminUpdateUserAttributes(ctx, &cip.AdminUpdateUserAttributesInput{UserPoolId: &b.old, Username: aws.String("r1"),
		UserAttributes: []ctypes.AttributeType{{Name: aws.String("name"), Value: aws.String("Changed Later")}}}); err != nil {
		t.Fatal(err)
	}

	out, stderr, err := runApp(t, b.dir, nil, b.args("--json", "--confirm-pool-id", b.old)...)
	if err == nil || ExitCode(err) != 1 {
		t.Fatalf("retire with a user missing from the new pool: %v\n%s%s", err, out, stderr)
	}
	if !b.oldPoolExists(t) {
		t.Fatal("the old pool was deleted with a user who is not in the new pool")
	}
	d := decodeDecision(t, out)
	if got := names(d.Unmigrated); len(got) != 1 || got["late"] != migration.ChangeCreated || d.UnmigratedCount != 1 {
		t.Errorf("unmigrated: %+v (count %d), want late (created)", d.Unmigrated, d.UnmigratedCount)
	}
	if got := names(d.Changed); got["late"] != migration.ChangeCreated || got["r1"] != migration.ChangeModified || len(got) != 2 {
		t.Errorf("changed: %+v, want late (created) and r1 (modified)", d.Changed)
	}
	if d.Users != retireFillers+4 || d.Migrated != retireFillers+3 || d.Deleted || !strings.Contains(d.Refusal, "--accept-unmigrated 1") {
		t.Errorf("decision: users %d, migrated %d, deleted %v, refusal %q", d.Users, d.Migrated, d.Deleted, d.Refusal)
	}
	// The text report names the user and prints the same commands.
	text, _, err := runApp(t, b.dir, nil, b.args("--confirm-pool-id", b.old)...)
	if err == nil || !strings.Contains(text, "late  sub "+b.oldUsers(t)["late"]) || !strings.Contains(text, "(created after the backup)") {
		t.Errorf("text report: %v\n%s", err, text)
	}
	if len(d.Commands) < 4 || d.Commands[0][1] != "backup" || !strings.Contains(text, "poolmigrate backup --pool "+b.old+" --out ") || !strings.Contains(text, "poolmigrate retire-old-pool --old-pool "+b.old+" --backup ") {
		t.Fatalf("commands: %q\n%s", d.Commands, text)
	}

	// The commands, run exactly as printed (answering yes where asked).
	for _, c := range d.Commands[:len(d.Commands)-1] {
		if c[0] != "poolmigrate" {
			t.Fatalf("command %q", c)
		}
		if out, stderr, err := runAppIn(t, b.dir, strings.NewReader("y\n"), c[1:]...); err != nil {
			t.Fatalf("%s: %v\n%s%s", shellJoin(c), err, out, stderr)
		}
	}
	last := d.Commands[len(d.Commands)-1]
	if last[1] != "retire-old-pool" {
		t.Fatalf("the last command is %q, not retire-old-pool", last)
	}
	// late is now in the new pool, found by its old sub.
	found := false
	for _, u := range must2[*cip.ListUsersOutput](t)(b.env.Local.ListUsers(ctx, &cip.ListUsersInput{UserPoolId: &b.target})).Users {
		for _, a := range u.Attributes {
			found = found || (*a.Name == "custom:prev_sub_id" && *a.Value == b.oldUsers(t)["late"])
		}
	}
	if !found {
		t.Fatal("the carried-over commands did not bring late to the new pool")
	}
	out, stderr, err = runAppIn(t, b.dir, strings.NewReader(b.old+"\n"), append(last[1:], "--json")...)
	if err != nil {
		t.Fatalf("retire after carrying late over: %v\n%s%s", err, out, stderr)
	}
	if d := decodeDecision(t, out); !d.Deleted || d.UnmigratedCount != 0 || d.Users != retireFillers+4 {
		t.Errorf("decision: %+v", d)
	}
	if b.oldPoolExists(t) {
		t.Error("the old pool is still there after retire reported it deleted")
	}
}

// TestRetireAcceptUnmigrated: deleting users for good takes their exact
// number, given and typed; any other number deletes nothing.
func TestRetireAcceptUnmigrated(t *testing.T) {
	t.Parallel() // own pools, tables and folders
	b := newRetireBed(t)
	b.addOldUser(t, "late1")
	b.addOldUser(t, "late2")
	for name, c := range map[string]struct {
		args  []string
		stdin string
		want  string
	}{
		"not accepted":                    {args: []string{"--confirm-pool-id", b.old}, want: "--accept-unmigrated 2"},
		"one too few":                     {args: []string{"--accept-unmigrated", "1", "--confirm-unmigrated", "1", "--confirm-pool-id", b.old}, want: "--accept-unmigrated 1, but 2 users"},
		"one too many":                    {args: []string{"--accept-unmigrated", "3", "--confirm-unmigrated", "3", "--confirm-pool-id", b.old}, want: "--accept-unmigrated 3, but 2 users"},
		"zero":                            {args: []string{"--accept-unmigrated", "0", "--confirm-pool-id", b.old}, want: "--accept-unmigrated 0, but 2 users"},
		"typed again wrong":               {args: []string{"--accept-unmigrated", "2", "--confirm-unmigrated", "1", "--confirm-pool-id", b.old}, want: "the number typed"},
		"not typed (no terminal)":         {args: []string{"--accept-unmigrated", "2", "--confirm-pool-id", b.old}, want: "the number typed"},
		"typed at the prompt, wrong":      {args: []string{"--accept-unmigrated", "2"}, stdin: "two\n" + b.old + "\n", want: "the number typed"},
		"right number, wrong pool id":     {args: []string{"--accept-unmigrated", "2"}, stdin: "2\nus-east-1_Wrong\n", want: "the id typed"},
		"--yes does not stand for typing": {args: []string{"--accept-unmigrated", "2", "--yes"}, want: "the number typed"},
	} {
		t.Run(name, func(t *testing.T) {
			out, stderr, err := runAppIn(t, b.dir, strings.NewReader(c.stdin), b.args(c.args...)...)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Errorf("err %v, want it to say %q\n%s%s", err, c.want, out, stderr)
			}
			if !b.oldPoolExists(t) {
				t.Fatal("the old pool was deleted")
			}
		})
	}
	// The exact number, given and typed at the prompt, with the pool id.
	out, stderr, err := runAppIn(t, b.dir, strings.NewReader("2\n"+b.old+"\n"), b.args("--accept-unmigrated", "2")...)
	if err != nil || !strings.Contains(out, "Deleted the old user pool") {
		t.Fatalf("retire accepting the two: %v\n%s%s", err, out, stderr)
	}
	if b.oldPoolExists(t) {
		t.Error("the old pool is still there")
	}
}

// TestRetireRefusesWhileATriggerIsAttached: any user migration trigger,
// whatever its function's name, on the new pool or on the old one, keeps
// the old pool; so does a trigger attached while the operator types the
// pool id (checked again right before DeleteUserPool).
func TestRetireRefusesWhileATriggerIsAttached(t *testing.T) {
	t.Parallel() // own pools, tables and folders
	b := newRetireBed(t)
	const foreign = "arn:aws:lambda:us-east-1:000000000000:function:someone-elses-migrator"
	for name, pool := range map[string]string{"on the new pool": b.target, "on the old pool": b.old} {
		t.Run(name, func(t *testing.T) {
			b.setMigrationTrigger(t, pool, foreign)
			defer b.setMigrationTrigger(t, pool, "")
			out, stderr, err := runApp(t, b.dir, nil, b.args("--json", "--confirm-pool-id", b.old)...)
			if err == nil || !b.oldPoolExists(t) {
				t.Fatalf("retired with a migration trigger attached %s: %v\n%s%s", name, err, out, stderr)
			}
			d := decodeDecision(t, out)
			if len(d.Blockers) != 1 || d.Blockers[0].Code != migration.BlockTriggerAttached || !strings.Contains(d.Blockers[0].Message, foreign) || !strings.Contains(d.Blockers[0].Message, pool) {
				t.Errorf("blockers: %+v", d.Blockers)
			}
		})
	}
	// Attached while the pool id is being typed.
	stdin := &hookReader{r: strings.NewReader(b.old + "\n"), hook: func() { b.setMigrationTrigger(t, b.target, foreign) }}
	out, stderr, err := runAppIn(t, b.dir, stdin, b.args()...)
	if err == nil || !strings.Contains(err.Error(), foreign) || !b.oldPoolExists(t) {
		t.Fatalf("a trigger attached during the confirmation: %v\n%s%s", err, out, stderr)
	}
	if !stdin.fired.Load() {
		t.Fatal("the test never reached the confirmation")
	}
	b.setMigrationTrigger(t, b.target, "")
	if out, stderr, err := runAppIn(t, b.dir, strings.NewReader(b.old+"\n"), b.args()...); err != nil || b.oldPoolExists(t) {
		t.Fatalf("retire once the trigger is gone: %v\n%s%s", err, out, stderr)
	}
}

// hookReader runs hook before the first read: something happening while
// the operator types.
type hookReader struct {
	r     io.Reader
	hook  func()
	once  sync.Once
	fired atomic.Bool
}

func (h *hookReader) Read(p []byte) (int, error) {
	h.once.Do(func() { h.hook(); h.fired.Store(true) })
	return h.r.Read(p)
}

// TestRetireRefusesWhenItCannotTell: a lookup that fails (no permission,
// a throttled or broken endpoint) never counts as "no trigger": retire
// deletes nothing and says what it could not read. The failures come from
// an in-process proxy in front of the test bed.
func TestRetireRefusesWhenItCannotTell(t *testing.T) {
	b := newRetireBed(t)
	cognitoURL := os.Getenv("AWS_ENDPOINT_URL_COGNITO_IDENTITY_PROVIDER")
	lambdaURL := os.Getenv("AWS_ENDPOINT_URL_LAMBDA")
	testenv.SkipUnless(t, lambdaURL != "", "restart the test bed (testbed/testbed.sh down; up): it predates the Lambda endpoint")
	cases := map[string]struct {
		endpoint string // the variable the proxy takes over
		fail     func(op, pool string, n int) bool
		want     string
	}{
		"Lambda GetFunction denied": {endpoint: "AWS_ENDPOINT_URL_LAMBDA", fail: func(op, _ string, _ int) bool { return op == "lambda" }, want: "lambda:GetFunction"},
		"the new pool unreadable": {endpoint: "AWS_ENDPOINT_URL_COGNITO_IDENTITY_PROVIDER",
			fail: func(op, pool string, _ int) bool { return op == "DescribeUserPool" && pool == b.target }, want: "read the new pool " + b.target},
		"the old pool unreadable": {endpoint: "AWS_ENDPOINT_URL_COGNITO_IDENTITY_PROVIDER",
			fail: func(op, pool string, _ int) bool { return op == "DescribeUserPool" && pool == b.old }, want: "read the old pool " + b.old},
		"the old pool's users unlisted": {endpoint: "AWS_ENDPOINT_URL_COGNITO_IDENTITY_PROVIDER",
			fail: func(op, pool string, _ int) bool { return op == "ListUsers" && pool == b.old }, want: "list the old pool " + b.old},
		// Readable while planning, not at the check right before the
		// deletion.
		"the new pool unreadable at the last check": {endpoint: "AWS_ENDPOINT_URL_COGNITO_IDENTITY_PROVIDER",
			fail: func(op, pool string, n int) bool { return op == "DescribeUserPool" && pool == b.target && n > 1 }, want: "read the new pool " + b.target},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			upstream := cognitoURL
			if c.endpoint == "AWS_ENDPOINT_URL_LAMBDA" {
				upstream = lambdaURL
			}
			p := newFailingProxy(t, upstream, c.fail)
			t.Setenv(c.endpoint, p.URL)
			out, stderr, err := runApp(t, b.dir, nil, b.args("--confirm-pool-id", b.old)...)
			if err == nil || !strings.Contains(err.Error(), c.want) || !strings.Contains(err.Error(), "deletes nothing") {
				t.Errorf("err %v, want it to name %q and delete nothing\n%s%s", err, c.want, out, stderr)
			}
			if !b.oldPoolExists(t) {
				t.Fatal("the old pool was deleted although a lookup failed")
			}
		})
	}
}

// newFailingProxy forwards to upstream but answers AccessDeniedException
// where fail says so (op: the Cognito operation, or "lambda" for any
// Lambda call; pool: the request's UserPoolId; n: how many times that
// operation was asked for that pool so far, this one included).
func newFailingProxy(t *testing.T, upstream string, fail func(op, pool string, n int) bool) *httptest.Server {
	return newAWSProxy(t, upstream, func(op, pool string, n int) (string, string) {
		if fail(op, pool, n) {
			return "AccessDeniedException", "test bed proxy: denied"
		}
		return "", ""
	}, nil)
}

// newAWSProxy forwards to upstream; refuse may answer an error of AWS's
// shape instead (its type and message; "" forwards), and edit may change
// an answer's JSON.
func newAWSProxy(t *testing.T, upstream string, refuse func(op, pool string, n int) (string, string), edit func(op, pool string, answer map[string]any)) *httptest.Server {
	t.Helper()
	u, err := url.Parse(upstream)
	if err != nil {
		t.Fatal(err)
	}
	rp := httputil.NewSingleHostReverseProxy(u)
	rp.ModifyResponse = func(resp *http.Response) error {
		op, pool := resp.Request.Header.Get("X-Test-Op"), resp.Request.Header.Get("X-Test-Pool")
		if edit == nil || resp.StatusCode != http.StatusOK {
			return nil
		}
		data, err := io.ReadAll(resp.Body)
		if err != nil {
			return err
		}
		var answer map[string]any
		if json.Unmarshal(data, &answer) == nil {
			edit(op, pool, answer)
			data, _ = json.Marshal(answer)
		}
		resp.Body = io.NopCloser(bytes.NewReader(data))
		resp.ContentLength = int64(len(data))
		resp.Header.Del("Content-Length")
		return nil
	}
	var mu sync.Mutex
	seen := map[string]int{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		r.Body = io.NopCloser(bytes.NewReader(body))
		op := strings.TrimPrefix(r.Header.Get("X-Amz-Target"), "AWSCognitoIdentityProviderService.")
		if strings.HasPrefix(r.URL.Path, "/2015-03-31/functions") {
			op = "lambda"
		}
		var in struct{ UserPoolId string }
		_ = json.Unmarshal(body, &in)
		mu.Lock()
		seen[op+" "+in.UserPoolId]++
		n := seen[op+" "+in.UserPoolId]
		mu.Unlock()
		if typ, msg := refuse(op, in.UserPoolId, n); typ != "" {
			w.Header().Set("X-Amzn-ErrorType", typ)
			w.Header().Set("Content-Type", "application/x-amz-json-1.1")
			w.WriteHeader(http.StatusBadRequest)
			_ = json.NewEncoder(w).Encode(map[string]string{"__type": typ, "message": msg})
			return
		}
		r.Header.Set("X-Test-Op", op)
		r.Header.Set("X-Test-Pool", in.UserPoolId)
		rp.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	return srv
}

// TestRetireDeletionProtection: a protected pool is not deleted, and the
// message says how to turn the protection off, whether retire sees the
// protection when it plans or only from DeleteUserPool's refusal
// (protection turned on after the last check). cognito-local keeps no
// DeletionProtection: an in-process proxy answers as AWS does.
func TestRetireDeletionProtection(t *testing.T) {
	b := newRetireBed(t)
	// AWS's refusal (DeleteUserPool on a protected pool).
	const awsMsg = "The user pool cannot be deleted because deletion protection is activated. Deletion protection must be inactivated first."
	for name, describeActive := range map[string]bool{"seen when planning": true, "refused by DeleteUserPool": false} {
		t.Run(name, func(t *testing.T) {
			p := newAWSProxy(t, os.Getenv("AWS_ENDPOINT_URL_COGNITO_IDENTITY_PROVIDER"), func(op, pool string, _ int) (string, string) {
				if op == "DeleteUserPool" && pool == b.old {
					return "InvalidParameterException", awsMsg
				}
				return "", ""
			}, func(op, pool string, answer map[string]any) {
				if op == "DescribeUserPool" && pool == b.old && describeActive {
					answer["UserPool"].(map[string]any)["DeletionProtection"] = "ACTIVE"
				}
			})
			t.Setenv("AWS_ENDPOINT_URL_COGNITO_IDENTITY_PROVIDER", p.URL)
			out, stderr, err := runApp(t, b.dir, nil, b.args("--confirm-pool-id", b.old)...)
			if err == nil || !strings.Contains(err.Error(), "deletion protection on") || !strings.Contains(err.Error(), "Deactivate") || !b.oldPoolExists(t) {
				t.Fatalf("retire of a protected pool: %v\n%s%s", err, out, stderr)
			}
		})
	}
}
