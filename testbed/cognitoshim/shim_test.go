package cognitoshim_test

import (
	"archive/zip"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	cip "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider"
	"github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider/types"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	ltypes "github.com/aws/aws-sdk-go-v2/service/lambda/types"
	"github.com/aws/smithy-go"

	"github.com/poolmigrate/poolmigrate/testbed/cognitoshim"
	"github.com/poolmigrate/poolmigrate/testbed/testenv"
)

var ctx = context.Background()

// plantUsers creates n users directly in cognito-local.
func plantUsers(t *testing.T, env *testenv.Env, pool string, n int, name func(int) string) {
	t.Helper()
	for i := 0; i < n; i++ {
		_, err := env.Local.AdminCreateUser(ctx, &cip.AdminCreateUserInput{
			UserPoolId: &pool, Username: aws.String(name(i)), MessageAction: types.MessageActionTypeSuppress,
			UserAttributes: []types.AttributeType{{Name: aws.String("email"), Value: aws.String(name(i) + "@example.com")}},
		})
		if err != nil {
			t.Fatalf("plant user %d: %v", i, err)
		}
	}
}

func apiCode(err error) string {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		return ae.ErrorCode()
	}
	return ""
}

func TestListUsersPaginates(t *testing.T) {
	env := testenv.Require(t)
	pool := env.NewPool(t, testenv.PoolOptions{})
	plantUsers(t, env, pool, 130, func(i int) string { return fmt.Sprintf("user%03d", i) })

	var sizes []int
	seen := map[string]bool{}
	p := cip.NewListUsersPaginator(env.Cognito, &cip.ListUsersInput{UserPoolId: &pool, Limit: aws.Int32(60)})
	for p.HasMorePages() {
		out, err := p.NextPage(ctx)
		if err != nil {
			t.Fatal(err)
		}
		sizes = append(sizes, len(out.Users))
		for _, u := range out.Users {
			if seen[*u.Username] {
				t.Errorf("user %s on two pages", *u.Username)
			}
			seen[*u.Username] = true
		}
	}
	// The 2nd page comes back short, with a token, as AWS's pages may.
	if fmt.Sprint(sizes) != "[60 30 40]" {
		t.Errorf("page sizes %v, want [60 30 40]", sizes)
	}
	if len(seen) != 130 {
		t.Errorf("listed %d distinct users, want 130", len(seen))
	}

	// No Limit means 60, as on AWS.
	out, err := env.Cognito.ListUsers(ctx, &cip.ListUsersInput{UserPoolId: &pool})
	if err != nil || len(out.Users) != 60 || out.PaginationToken == nil {
		t.Errorf("default page: %d users, token %v, err %v; want 60 and a token", len(out.Users), out.PaginationToken != nil, err)
	}
}

func TestListUsersRejectsWhatAWSRejects(t *testing.T) {
	env := testenv.Require(t)
	pool := env.NewPool(t, testenv.PoolOptions{})
	plantUsers(t, env, pool, 5, func(i int) string { return fmt.Sprintf("u%d", i) })

	_, err := env.Cognito.ListUsers(ctx, &cip.ListUsersInput{UserPoolId: &pool, Limit: aws.Int32(61)})
	if apiCode(err) != "InvalidParameterException" {
		t.Errorf("Limit 61: got %v, want InvalidParameterException", err)
	}
	first, err := env.Cognito.ListUsers(ctx, &cip.ListUsersInput{UserPoolId: &pool, Limit: aws.Int32(2)})
	if err != nil || first.PaginationToken == nil {
		t.Fatalf("first page: %v", err)
	}
	tampered := *first.PaginationToken + "0"
	if _, err := env.Cognito.ListUsers(ctx, &cip.ListUsersInput{UserPoolId: &pool, Limit: aws.Int32(2), PaginationToken: &tampered}); apiCode(err) != "InvalidParameterException" {
		t.Errorf("tampered token: got %v", err)
	}
	if _, err := env.Cognito.ListUsers(ctx, &cip.ListUsersInput{UserPoolId: &pool, Limit: aws.Int32(2), PaginationToken: first.PaginationToken, Filter: aws.String(`username ^= "u"`)}); apiCode(err) != "InvalidParameterException" {
		t.Errorf("token reused with another filter: got %v", err)
	}
	if _, err := env.Cognito.ListUsers(ctx, &cip.ListUsersInput{UserPoolId: &pool, Filter: aws.String(`custom:prev_sub_id = "x"`)}); apiCode(err) != "InvalidParameterException" {
		t.Errorf("filter on a custom attribute: got %v", err)
	}
}

func TestListUsersStatusFilterAndAttributesToGet(t *testing.T) {
	env := testenv.Require(t)
	pool := env.NewPool(t, testenv.PoolOptions{})
	plantUsers(t, env, pool, 3, func(i int) string { return fmt.Sprintf("s%d", i) })
	if _, err := env.Local.AdminDisableUser(ctx, &cip.AdminDisableUserInput{UserPoolId: &pool, Username: aws.String("s1")}); err != nil {
		t.Fatal(err)
	}
	out, err := env.Cognito.ListUsers(ctx, &cip.ListUsersInput{UserPoolId: &pool, Filter: aws.String(`status = "Disabled"`)})
	if err != nil || len(out.Users) != 1 || *out.Users[0].Username != "s1" {
		t.Errorf(`status = "Disabled": got %v, %v; want s1 alone`, out, err)
	}
	out, err = env.Cognito.ListUsers(ctx, &cip.ListUsersInput{UserPoolId: &pool, AttributesToGet: []string{"email"}})
	if err != nil {
		t.Fatal(err)
	}
	for _, u := range out.Users {
		if len(u.Attributes) != 1 || *u.Attributes[0].Name != "email" {
			t.Errorf("AttributesToGet [email]: user %s has %d attributes", *u.Username, len(u.Attributes))
		}
	}
}

func TestGroupsPaginateAndDuplicatesAreRefused(t *testing.T) {
	env := testenv.Require(t)
	pool := env.NewPool(t, testenv.PoolOptions{})
	for i := 0; i < 65; i++ {
		if _, err := env.Cognito.CreateGroup(ctx, &cip.CreateGroupInput{UserPoolId: &pool, GroupName: aws.String(fmt.Sprintf("g%02d", i))}); err != nil {
			t.Fatal(err)
		}
	}
	plantUsers(t, env, pool, 70, func(i int) string { return fmt.Sprintf("m%02d", i) })
	for i := 0; i < 70; i++ {
		if _, err := env.Cognito.AdminAddUserToGroup(ctx, &cip.AdminAddUserToGroupInput{UserPoolId: &pool, GroupName: aws.String("g00"), Username: aws.String(fmt.Sprintf("m%02d", i))}); err != nil {
			t.Fatal(err)
		}
	}
	var groups, pages int
	gp := cip.NewListGroupsPaginator(env.Cognito, &cip.ListGroupsInput{UserPoolId: &pool, Limit: aws.Int32(60)})
	for gp.HasMorePages() {
		out, err := gp.NextPage(ctx)
		if err != nil {
			t.Fatal(err)
		}
		pages++
		groups += len(out.Groups)
	}
	if groups != 65 || pages != 2 {
		t.Errorf("ListGroups: %d groups in %d pages, want 65 in 2", groups, pages)
	}
	var members int
	mp := cip.NewListUsersInGroupPaginator(env.Cognito, &cip.ListUsersInGroupInput{UserPoolId: &pool, GroupName: aws.String("g00"), Limit: aws.Int32(60)})
	pages = 0
	for mp.HasMorePages() {
		out, err := mp.NextPage(ctx)
		if err != nil {
			t.Fatal(err)
		}
		pages++
		members += len(out.Users)
	}
	if members != 70 || pages != 2 {
		t.Errorf("ListUsersInGroup: %d members in %d pages, want 70 in 2", members, pages)
	}

	_, err := env.Cognito.CreateGroup(ctx, &cip.CreateGroupInput{UserPoolId: &pool, GroupName: aws.String("g00")})
	if apiCode(err) != "GroupExistsException" {
		t.Errorf("duplicate CreateGroup: got %v, want GroupExistsException", err)
	}
	out, err := env.Cognito.ListUsersInGroup(ctx, &cip.ListUsersInGroupInput{UserPoolId: &pool, GroupName: aws.String("g00")})
	if err != nil || len(out.Users) != 60 {
		t.Errorf("members after the refused duplicate: %v, %v", len(out.Users), err)
	}
}

func TestAdminCreateUserRejectsUndeclaredAttributesAndSub(t *testing.T) {
	env := testenv.Require(t)
	pool := env.NewPool(t, testenv.PoolOptions{Custom: []string{"prev_sub_id"}})
	try := func(name string) error {
		_, err := env.Cognito.AdminCreateUser(ctx, &cip.AdminCreateUserInput{
			UserPoolId: &pool, Username: aws.String("x" + testenv.RandomSuffix()), MessageAction: types.MessageActionTypeSuppress,
			UserAttributes: []types.AttributeType{{Name: aws.String(name), Value: aws.String("v")}},
		})
		return err
	}
	if err := try("custom:not_declared"); apiCode(err) != "InvalidParameterException" {
		t.Errorf("undeclared custom attribute: got %v", err)
	}
	if err := try("sub"); apiCode(err) != "InvalidParameterException" {
		t.Errorf("sub: got %v", err)
	}
	if err := try("custom:prev_sub_id"); err != nil {
		t.Errorf("declared custom attribute: %v", err)
	}
}

func TestGetCSVHeader(t *testing.T) {
	env := testenv.Require(t)
	pool := env.NewPool(t, testenv.PoolOptions{Custom: []string{"prev_sub_id", "prev_username"}})
	out, err := env.Cognito.GetCSVHeader(ctx, &cip.GetCSVHeaderInput{UserPoolId: &pool})
	if err != nil {
		t.Fatal(err)
	}
	h := strings.Join(out.CSVHeader, ",")
	want := "name,given_name,family_name,middle_name,nickname,preferred_username,profile,picture,website,email,email_verified,gender,birthdate,zoneinfo,locale,phone_number,phone_number_verified,address,updated_at,custom:prev_sub_id,custom:prev_username,cognito:mfa_enabled,cognito:username"
	if h != want {
		t.Errorf("header\n got %s\nwant %s", h, want)
	}
	if _, err := env.Cognito.GetCSVHeader(ctx, &cip.GetCSVHeaderInput{UserPoolId: aws.String("us-east-1_missing")}); apiCode(err) != "ResourceNotFoundException" {
		t.Errorf("unknown pool: got %v", err)
	}
}

// csvFor builds an import file for pool header h from rows of column values.
func csvFor(h []string, rows ...map[string]string) []byte {
	var b strings.Builder
	b.WriteString(strings.Join(h, ","))
	for _, r := range rows {
		b.WriteString("\n")
		vals := make([]string, len(h))
		for i, c := range h {
			vals[i] = r[c]
		}
		b.WriteString(strings.Join(vals, ","))
	}
	return []byte(b.String())
}

func row(username string, kv ...string) map[string]string {
	r := map[string]string{"cognito:username": username, "cognito:mfa_enabled": "false", "email": username + "@example.com", "email_verified": "true"}
	for i := 0; i+1 < len(kv); i += 2 {
		r[kv[i]] = kv[i+1]
	}
	return r
}

// roleFor creates, through the IAM of the shim c talks to, a role an
// import job may use: the shim accepts no role it did not create.
func roleFor(t *testing.T, c *cip.Client) string {
	t.Helper()
	env := testenv.Require(t)
	return testenv.ImportRoleAt(t, iam.NewFromConfig(env.Config, func(o *iam.Options) { o.BaseEndpoint = c.Options().BaseEndpoint }))
}

// upload PUTs data to the pre-signed URL like a careful client: exactly the
// x-amz-server-side-encryption header and a known length.
func upload(t *testing.T, url string, data []byte, extra map[string]string) *http.Response {
	t.Helper()
	req, err := http.NewRequest(http.MethodPut, url, bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("x-amz-server-side-encryption", "aws:kms")
	for k, v := range extra {
		if v == "" {
			req.Header.Del(k)
		} else {
			req.Header.Set(k, v)
		}
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp
}

// runImport creates, uploads, starts and waits for a job.
func runImport(t *testing.T, c *cip.Client, pool string, data []byte) *types.UserImportJobType {
	t.Helper()
	job, err := c.CreateUserImportJob(ctx, &cip.CreateUserImportJobInput{UserPoolId: &pool, JobName: aws.String("t-" + testenv.RandomSuffix()), CloudWatchLogsRoleArn: aws.String(roleFor(t, c))})
	if err != nil {
		t.Fatal(err)
	}
	if resp := upload(t, *job.UserImportJob.PreSignedUrl, data, nil); resp.StatusCode != 200 {
		t.Fatalf("upload: %s", resp.Status)
	}
	if _, err := c.StartUserImportJob(ctx, &cip.StartUserImportJobInput{UserPoolId: &pool, JobId: job.UserImportJob.JobId}); err != nil {
		t.Fatal(err)
	}
	return waitJob(t, c, pool, *job.UserImportJob.JobId)
}

func waitJob(t *testing.T, c *cip.Client, pool, id string) *types.UserImportJobType {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		out, err := c.DescribeUserImportJob(ctx, &cip.DescribeUserImportJobInput{UserPoolId: &pool, JobId: &id})
		if err != nil {
			t.Fatal(err)
		}
		switch out.UserImportJob.Status {
		case types.UserImportJobStatusTypeSucceeded, types.UserImportJobStatusTypeFailed, types.UserImportJobStatusTypeStopped:
			return out.UserImportJob
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("job %s did not finish", id)
	return nil
}

func header(t *testing.T, c *cip.Client, pool string) []string {
	t.Helper()
	out, err := c.GetCSVHeader(ctx, &cip.GetCSVHeaderInput{UserPoolId: &pool})
	if err != nil {
		t.Fatal(err)
	}
	return out.CSVHeader
}

func importLog(t *testing.T, pool, jobURL, id string) string {
	t.Helper()
	base := jobURL[:strings.Index(jobURL, "/import-upload/")]
	resp, err := http.Get(base + "/_shim/import-log/" + id)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return string(b)
}

func TestImportJobImportsAGoodFile(t *testing.T) {
	env := testenv.Require(t)
	pool := env.NewPool(t, testenv.PoolOptions{AutoVerified: []types.VerifiedAttributeType{types.VerifiedAttributeTypeEmail}, Custom: []string{"prev_sub_id"}})
	h := header(t, env.Cognito, pool)
	data := csvFor(h,
		row("alice", "name", `Smith\, Alice`, "custom:prev_sub_id", "11111111-1111-1111-1111-111111111111", "updated_at", "1700000000"),
		row("bob", "name", "Bøb Ñoño", "phone_number", "+14155550100", "cognito:mfa_enabled", "FALSE"),
	)
	job := runImport(t, env.Cognito, pool, data)
	if job.Status != types.UserImportJobStatusTypeSucceeded || job.ImportedUsers != 2 || job.FailedUsers != 0 {
		t.Fatalf("job: status %s imported %d failed %d skipped %d: %s", job.Status, job.ImportedUsers, job.FailedUsers, job.SkippedUsers, aws.ToString(job.CompletionMessage))
	}
	u, err := env.Cognito.AdminGetUser(ctx, &cip.AdminGetUserInput{UserPoolId: &pool, Username: aws.String("alice")})
	if err != nil {
		t.Fatal(err)
	}
	attrs := map[string]string{}
	for _, a := range u.UserAttributes {
		attrs[*a.Name] = *a.Value
	}
	if attrs["name"] != "Smith, Alice" || attrs["custom:prev_sub_id"] != "11111111-1111-1111-1111-111111111111" || attrs["email_verified"] != "true" {
		t.Errorf("alice's attributes: %v", attrs)
	}
	if u.UserStatus != types.UserStatusTypeResetRequired {
		t.Errorf("imported user status %s, want RESET_REQUIRED", u.UserStatus)
	}
	// Running the same file again skips everyone.
	again := runImport(t, env.Cognito, pool, data)
	if again.SkippedUsers != 2 || again.ImportedUsers != 0 {
		t.Errorf("re-run: imported %d skipped %d, want 0 and 2", again.ImportedUsers, again.SkippedUsers)
	}
}

func TestImportJobRejectsBadRows(t *testing.T) {
	env := testenv.Require(t)
	pool := env.NewPool(t, testenv.PoolOptions{AutoVerified: []types.VerifiedAttributeType{types.VerifiedAttributeTypeEmail}})
	h := header(t, env.Cognito, pool)
	good := row("good")
	rows := []map[string]string{
		good,
		row("quoted", "name", `"Quoted Name"`),
		row("unverified", "email_verified", "false"),
		row("millis", "updated_at", "1700000000000"),
		row("badphone", "phone_number", "(415) 555-0100"),
		row("mfa", "cognito:mfa_enabled", "true"),
		row("has space"),
		row("noverifiedemail", "email", "", "email_verified", "true"),
		row("good2"),
		row("good3"),
		row("good4"),
		row("good5"),
		row("good6"),
		row("good7"),
		row("good8"),
		row("good9"),
	}
	data := csvFor(h, rows...)
	// An unescaped comma shifts the columns of one more row.
	data = append(data, []byte("\n"+strings.Replace(string(csvFor(h, row("comma", "name", "Doe, John"))[len(strings.Join(h, ","))+1:]), `Doe, John`, "Doe, John", 1))...)
	job := runImport(t, env.Cognito, pool, data)
	if job.ImportedUsers != 9 || job.FailedUsers != 8 {
		t.Errorf("imported %d failed %d skipped %d, want 9 imported and 8 failed: %s", job.ImportedUsers, job.FailedUsers, job.SkippedUsers, aws.ToString(job.CompletionMessage))
	}
	log := importLog(t, pool, *job.PreSignedUrl, *job.JobId)
	for _, want := range []string{
		"[SUCCEEDED] Line Number 1 -",
		"[FAILED] Line Number 2 - The data does not match the schema: the value of name is in quotation marks",
		"[FAILED] Line Number 3 - The User Record does not set any of the auto verified attributes to true",
		"[FAILED] Line Number 4 - The data does not match the schema: updated_at must be the epoch time in seconds",
		"[FAILED] Line Number 5 - The data does not match the schema: phone_number must be in E.164",
		"[FAILED] Line Number 6 - The user pool has MFA off",
		"[FAILED] Line Number 7 - The value of cognito:username cannot contain spaces",
		"[FAILED] Line Number 8 - The User Record sets email_verified to true but has no email",
		"[FAILED] Line Number 17 - The data does not match the schema: the row has",
	} {
		if !strings.Contains(log, want) {
			t.Errorf("log lacks %q:\n%s", want, log)
		}
	}
}

func TestImportJobFailsOnBadFiles(t *testing.T) {
	env := testenv.Require(t)
	pool := env.NewPool(t, testenv.PoolOptions{AutoVerified: []types.VerifiedAttributeType{types.VerifiedAttributeTypeEmail}})
	h := header(t, env.Cognito, pool)
	cases := map[string]struct {
		data []byte
		msg  string
	}{
		"byte order mark":  {data: append([]byte("\xef\xbb\xbf"), csvFor(h, row("bom"))...), msg: "byte order mark"},
		"missing column":   {data: csvFor(h[:len(h)-2], row("short")), msg: `column "cognito:mfa_enabled"`},
		"unknown column":   {data: csvFor(append(append([]string{}, h...), "sub"), row("withsub")), msg: `column "sub" is not in`},
		"quoted header":    {data: []byte(`"` + strings.Join(h, `","`) + `"` + "\n"), msg: "is not in the user pool's CSV header"},
		"all rows failing": {data: csvFor(h, row("a", "email_verified", "false"), row("b", "email_verified", "false")), msg: "Too many users have failed"},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			job := runImport(t, env.Cognito, pool, tc.data)
			if job.Status != types.UserImportJobStatusTypeFailed || !strings.Contains(aws.ToString(job.CompletionMessage), tc.msg) {
				t.Errorf("status %s message %q, want Failed with %q", job.Status, aws.ToString(job.CompletionMessage), tc.msg)
			}
		})
	}

	noVerify := env.NewPool(t, testenv.PoolOptions{})
	job := runImport(t, env.Cognito, noVerify, csvFor(header(t, env.Cognito, noVerify), row("x")))
	if job.Status != types.UserImportJobStatusTypeFailed || !strings.Contains(aws.ToString(job.CompletionMessage), "no auto-verified attributes") {
		t.Errorf("pool without auto-verified attributes: %s %q", job.Status, aws.ToString(job.CompletionMessage))
	}
}

// A clock the test moves, for expiry.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time      { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) add(d time.Duration) { c.mu.Lock(); c.t = c.t.Add(d); c.mu.Unlock() }

// inProcess runs a shim with a test clock in front of the same cognito-local.
func inProcess(t *testing.T, env *testenv.Env) (*cip.Client, *clock) {
	t.Helper()
	clk := &clock{t: time.Now()}
	srv := httptest.NewServer(cognitoshim.New(env.LocalEndpoint, cognitoshim.WithClock(clk.now), cognitoshim.WithLogger(t.Logf)))
	t.Cleanup(srv.Close)
	// No retries: the SDK retries LimitExceededException as throttling,
	// which would hide the answer under test.
	c := cip.NewFromConfig(env.Config, func(o *cip.Options) {
		o.BaseEndpoint = aws.String(srv.URL)
		o.RetryMaxAttempts = 1
	})
	return c, clk
}

func TestUploadIsStrict(t *testing.T) {
	env := testenv.Require(t)
	c, clk := inProcess(t, env)
	pool := env.NewPool(t, testenv.PoolOptions{AutoVerified: []types.VerifiedAttributeType{types.VerifiedAttributeTypeEmail}})
	data := csvFor(header(t, c, pool), row("up"))
	job, err := c.CreateUserImportJob(ctx, &cip.CreateUserImportJobInput{UserPoolId: &pool, JobName: aws.String("strict"), CloudWatchLogsRoleArn: aws.String(roleFor(t, c))})
	if err != nil {
		t.Fatal(err)
	}
	url, id := *job.UserImportJob.PreSignedUrl, job.UserImportJob.JobId

	if _, err := c.StartUserImportJob(ctx, &cip.StartUserImportJobInput{UserPoolId: &pool, JobId: id}); apiCode(err) != "PreconditionNotMetException" {
		t.Errorf("start before upload: got %v", err)
	}
	if r := upload(t, url, data, map[string]string{"Content-Type": "text/csv"}); r.StatusCode != 403 {
		t.Errorf("upload with Content-Type: %s, want 403", r.Status)
	}
	if r := upload(t, url, data, map[string]string{"x-amz-server-side-encryption": ""}); r.StatusCode != 403 {
		t.Errorf("upload without x-amz-server-side-encryption: %s, want 403", r.Status)
	}
	if r := upload(t, strings.Replace(url, "X-Amz-Signature=", "X-Amz-Signature=0", 1), data, nil); r.StatusCode != 403 {
		t.Errorf("upload with a tampered signature: %s, want 403", r.Status)
	}
	clk.add(16 * time.Minute)
	if r := upload(t, url, data, nil); r.StatusCode != 403 {
		t.Errorf("upload after 16 minutes: %s, want 403", r.Status)
	}

	// A fresh job, uploaded in time, runs; a token older than an hour fails.
	job2, err := c.CreateUserImportJob(ctx, &cip.CreateUserImportJobInput{UserPoolId: &pool, JobName: aws.String("strict2"), CloudWatchLogsRoleArn: aws.String(roleFor(t, c))})
	if err != nil {
		t.Fatal(err)
	}
	if r := upload(t, *job2.UserImportJob.PreSignedUrl, data, nil); r.StatusCode != 200 {
		t.Fatalf("upload in time: %s", r.Status)
	}
	if _, err := c.CreateUserImportJob(ctx, &cip.CreateUserImportJobInput{UserPoolId: &pool, JobName: aws.String("bad/name"), CloudWatchLogsRoleArn: aws.String(roleFor(t, c))}); apiCode(err) != "InvalidParameterException" {
		t.Errorf("job name with a slash: got %v", err)
	}
	if _, err := c.CreateUserImportJob(ctx, &cip.CreateUserImportJobInput{UserPoolId: &pool, JobName: aws.String("x"), CloudWatchLogsRoleArn: aws.String("not-an-arn-at-all-really")}); apiCode(err) != "InvalidParameterException" {
		t.Errorf("bad role ARN: got %v", err)
	}

	page, err := c.ListUsers(ctx, &cip.ListUsersInput{UserPoolId: &pool, Limit: aws.Int32(1)})
	if err != nil {
		t.Fatal(err)
	}
	_ = page
	plantUsers(t, env, pool, 2, func(i int) string { return fmt.Sprintf("tok%d", i) })
	page, err = c.ListUsers(ctx, &cip.ListUsersInput{UserPoolId: &pool, Limit: aws.Int32(1)})
	if err != nil || page.PaginationToken == nil {
		t.Fatalf("first page: %v", err)
	}
	clk.add(61 * time.Minute)
	if _, err := c.ListUsers(ctx, &cip.ListUsersInput{UserPoolId: &pool, Limit: aws.Int32(1), PaginationToken: page.PaginationToken}); apiCode(err) != "InvalidParameterException" {
		t.Errorf("token older than an hour: got %v", err)
	}
}

func TestOneActiveJobPerAccount(t *testing.T) {
	env := testenv.Require(t)
	c, _ := inProcess(t, env)
	pool := env.NewPool(t, testenv.PoolOptions{AutoVerified: []types.VerifiedAttributeType{types.VerifiedAttributeTypeEmail}})
	h := header(t, c, pool)
	var rows []map[string]string
	for i := 0; i < 400; i++ {
		rows = append(rows, row(fmt.Sprintf("bulk%03d", i)))
	}
	create := func(name string, data []byte) *string {
		job, err := c.CreateUserImportJob(ctx, &cip.CreateUserImportJobInput{UserPoolId: &pool, JobName: aws.String(name), CloudWatchLogsRoleArn: aws.String(roleFor(t, c))})
		if err != nil {
			t.Fatal(err)
		}
		if r := upload(t, *job.UserImportJob.PreSignedUrl, data, nil); r.StatusCode != 200 {
			t.Fatal(r.Status)
		}
		return job.UserImportJob.JobId
	}
	a := create("a", csvFor(h, rows...))
	b := create("b", csvFor(h, row("other")))
	if _, err := c.StartUserImportJob(ctx, &cip.StartUserImportJobInput{UserPoolId: &pool, JobId: a}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.StartUserImportJob(ctx, &cip.StartUserImportJobInput{UserPoolId: &pool, JobId: b}); apiCode(err) != "LimitExceededException" {
		t.Errorf("second active job: got %v, want LimitExceededException", err)
	}
	if _, err := c.StopUserImportJob(ctx, &cip.StopUserImportJobInput{UserPoolId: &pool, JobId: a}); err != nil {
		t.Fatal(err)
	}
	if j := waitJob(t, c, pool, *a); j.Status != types.UserImportJobStatusTypeStopped || j.ImportedUsers >= 400 {
		t.Errorf("stopped job: %s with %d of 400 imported", j.Status, j.ImportedUsers)
	}
	if _, err := c.StartUserImportJob(ctx, &cip.StartUserImportJobInput{UserPoolId: &pool, JobId: b}); err != nil {
		t.Errorf("start after the first stopped: %v", err)
	}
	waitJob(t, c, pool, *b)
}

func TestIAMRolesAreCheckedWhenAJobStarts(t *testing.T) {
	env := testenv.Require(t)
	c, _ := inProcess(t, env)
	pool := env.NewPool(t, testenv.PoolOptions{AutoVerified: []types.VerifiedAttributeType{types.VerifiedAttributeTypeEmail}})
	data := csvFor(header(t, c, pool), row("roleuser"))
	srvURL := *c.Options().BaseEndpoint
	iamc := iam.NewFromConfig(env.Config, func(o *iam.Options) { o.BaseEndpoint = aws.String(srvURL) })
	name := "no-logs-" + testenv.RandomSuffix()
	trust := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"cognito-idp.amazonaws.com"},"Action":"sts:AssumeRole"}]}`
	role, err := iamc.CreateRole(ctx, &iam.CreateRoleInput{RoleName: aws.String(name), AssumeRolePolicyDocument: aws.String(trust)})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := iamc.CreateRole(ctx, &iam.CreateRoleInput{RoleName: aws.String(name), AssumeRolePolicyDocument: aws.String(trust)}); apiCode(err) != "EntityAlreadyExists" {
		t.Errorf("second CreateRole: %v", err)
	}
	run := func() *types.UserImportJobType {
		job, err := c.CreateUserImportJob(ctx, &cip.CreateUserImportJobInput{UserPoolId: &pool, JobName: aws.String("r"), CloudWatchLogsRoleArn: role.Role.Arn})
		if err != nil {
			t.Fatal(err)
		}
		if r := upload(t, *job.UserImportJob.PreSignedUrl, data, nil); r.StatusCode != 200 {
			t.Fatal(r.Status)
		}
		if _, err := c.StartUserImportJob(ctx, &cip.StartUserImportJobInput{UserPoolId: &pool, JobId: job.UserImportJob.JobId}); err != nil {
			t.Fatal(err)
		}
		return waitJob(t, c, pool, *job.UserImportJob.JobId)
	}
	if j := run(); j.Status != types.UserImportJobStatusTypeFailed || !strings.Contains(aws.ToString(j.CompletionMessage), "may not write") {
		t.Errorf("role without log permissions: %s %q", j.Status, aws.ToString(j.CompletionMessage))
	}
	policy := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["logs:CreateLogGroup","logs:CreateLogStream","logs:DescribeLogStreams","logs:PutLogEvents"],"Resource":["arn:aws:logs:us-east-1:000000000000:log-group:/aws/cognito/*"]}]}`
	if _, err := iamc.PutRolePolicy(ctx, &iam.PutRolePolicyInput{RoleName: aws.String(name), PolicyName: aws.String("logs"), PolicyDocument: aws.String(policy)}); err != nil {
		t.Fatal(err)
	}
	if j := run(); j.Status != types.UserImportJobStatusTypeSucceeded {
		t.Errorf("role with log permissions: %s %q", j.Status, aws.ToString(j.CompletionMessage))
	}
}

// The shim's Lambda refuses what Lambda refuses when deploying a trigger.
func TestLambdaRefusesWhatLambdaRefuses(t *testing.T) {
	env := testenv.Require(t)
	c, clk := inProcess(t, env)
	srvURL := *c.Options().BaseEndpoint
	iamc := iam.NewFromConfig(env.Config, func(o *iam.Options) { o.BaseEndpoint = aws.String(srvURL) })
	lc := lambda.NewFromConfig(env.Config, func(o *lambda.Options) { o.BaseEndpoint = aws.String(srvURL) })
	role := func(service string) string {
		out, err := iamc.CreateRole(ctx, &iam.CreateRoleInput{RoleName: aws.String("fn-" + testenv.RandomSuffix()),
			AssumeRolePolicyDocument: aws.String(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"` + service + `"},"Action":"sts:AssumeRole"}]}`)})
		if err != nil {
			t.Fatal(err)
		}
		return *out.Role.Arn
	}
	zipWith := func(name string, mode os.FileMode) []byte {
		var buf bytes.Buffer
		zw := zip.NewWriter(&buf)
		h := &zip.FileHeader{Name: name}
		h.SetMode(mode)
		w, _ := zw.CreateHeader(h)
		_, _ = w.Write([]byte("x"))
		_ = zw.Close()
		return buf.Bytes()
	}
	create := func(roleArn string, code []byte) error {
		_, err := lc.CreateFunction(ctx, &lambda.CreateFunctionInput{FunctionName: aws.String("f-" + testenv.RandomSuffix()), Runtime: ltypes.RuntimeProvidedal2023,
			Handler: aws.String("bootstrap"), Role: aws.String(roleArn), Code: &ltypes.FunctionCode{ZipFile: code}})
		return err
	}
	good, cognitoRole := role("lambda.amazonaws.com"), role("cognito-idp.amazonaws.com")
	// IAM takes a moment before Lambda may assume a new role.
	if err := create(good, zipWith("bootstrap", 0o755)); apiCode(err) != "InvalidParameterValueException" || !strings.Contains(err.Error(), "cannot be assumed") {
		t.Errorf("a role created a moment ago: %v", err)
	}
	clk.add(time.Duration(cognitoshim.DefaultLambdaTiming.RoleDelayMS) * time.Millisecond)
	if err := create(cognitoRole, zipWith("bootstrap", 0o755)); apiCode(err) != "InvalidParameterValueException" {
		t.Errorf("a role Lambda cannot assume: %v", err)
	}
	if err := create(good, zipWith("bootstrap", 0o644)); apiCode(err) != "InvalidParameterValueException" {
		t.Errorf("a bootstrap that is not executable: %v", err)
	}
	if err := create(good, zipWith("main", 0o755)); apiCode(err) != "InvalidParameterValueException" {
		t.Errorf("no bootstrap: %v", err)
	}
	name := "ok-" + testenv.RandomSuffix()
	if _, err := lc.CreateFunction(ctx, &lambda.CreateFunctionInput{FunctionName: &name, Runtime: ltypes.RuntimeProvidedal2023, Handler: aws.String("bootstrap"),
		Role: &good, Code: &ltypes.FunctionCode{ZipFile: zipWith("bootstrap", 0o755)}}); err != nil {
		t.Fatal(err)
	}
	perm := func(sid, source string) error {
		_, err := lc.AddPermission(ctx, &lambda.AddPermissionInput{FunctionName: &name, StatementId: aws.String(sid), Action: aws.String("lambda:InvokeFunction"),
			Principal: aws.String("cognito-idp.amazonaws.com"), SourceArn: aws.String(source)})
		return err
	}
	if err := perm("a", "arn:aws:s3:::bucket"); apiCode(err) != "InvalidParameterValueException" {
		t.Errorf("Cognito with a source that is not a user pool: %v", err)
	}
	if err := perm("b", "arn:aws:cognito-idp:us-east-1:000000000000:userpool/us-east-1_Abc123"); err != nil {
		t.Fatal(err)
	}
	if err := perm("b", "arn:aws:cognito-idp:us-east-1:000000000000:userpool/us-east-1_Abc123"); apiCode(err) != "ResourceConflictException" {
		t.Errorf("a duplicate statement id: %v", err)
	}
}
