package cli

import (
	"bytes"
	"context"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	cip "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider"
	"github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider/types"

	"github.com/poolmigrate/poolmigrate/testbed/testenv"
)

type checkJSON struct {
	Blocking bool `json:"blocking"`
	Problems []struct {
		Code      string   `json:"code"`
		Blocking  bool     `json:"blocking"`
		Count     int      `json:"count"`
		Users     []string `json:"users"`
		Attribute string   `json:"attribute"`
	} `json:"problems"`
}

func (c checkJSON) byCode() map[string]string {
	out := map[string]string{}
	for _, p := range c.Problems {
		k := p.Code
		if p.Attribute != "" {
			k += ":" + p.Attribute
		}
		out[k] = strings.Join(p.Users, ",")
	}
	return out
}

// TestUsersOut runs backup → check → export on the test bed and feeds the
// CSV to the shim's strict import job, for a target that signs in by email.
func TestUsersOut(t *testing.T) {
	t.Parallel() // own pools, tables and folders
	env := testenv.Require(t)
	sp := plantSourcePool(t, env)
	dir := t.TempDir()
	backup := filepath.Join(dir, "old.jsonl")
	if _, stderr, err := runApp(t, dir, nil, "backup", "--pool", sp.id, "--out", backup, "--rps", "1000"); err != nil {
		t.Fatalf("backup: %v\n%s", err, stderr)
	}
	target := env.NewPool(t, emailSignInPool())

	// Before --fix the old-identity attributes are missing, and check says so.
	out, _, err := runApp(t, dir, nil, "check", "--backup", backup, "--target-pool", target, "--json")
	if ExitCode(err) != 1 {
		t.Fatalf("check: exit %d (%v), want 1", ExitCode(err), err)
	}
	var rep checkJSON
	if err := decodeInto(out, &rep); err != nil {
		t.Fatal(err)
	}
	if _, ok := rep.byCode()["PREV_ATTRIBUTES_MISSING:custom:prev_sub_id, custom:prev_username"]; !ok || !rep.Blocking {
		t.Errorf("missing prev attributes not reported: %v", rep.byCode())
	}

	out, _, err = runApp(t, dir, nil, "check", "--backup", backup, "--target-pool", target, "--json", "--fix")
	if ExitCode(err) != 1 {
		t.Fatalf("check --fix: exit %d (%v), want 1 (planted problems remain)", ExitCode(err), err)
	}
	rep = checkJSON{}
	if err := decodeInto(out, &rep); err != nil {
		t.Fatal(err)
	}
	got := rep.byCode()
	want := map[string]string{
		"DUPLICATE_EMAIL":    "dup.a,dup.b",
		"UNVERIFIED_CONTACT": "signedup,unverified",
		"MISSING_CONTACT":    "nocontact",
		"INVALID_USERNAME":   "nocontact",
		"INVALID_PHONE":      "badphone",
		"UNCONFIRMED_USER":   "signedup",
		// The target has no custom:tenant: its values would be dropped.
		"DROPPED_ATTRIBUTE:custom:tenant": "",
	}
	for k, v := range want {
		g, ok := got[k]
		if !ok || (v != "" && g != v) {
			t.Errorf("%s: got %q (present %v), want %q", k, g, ok, v)
		}
	}
	if len(got) != len(want) {
		t.Errorf("problems: got %v\nwant exactly %v", got, want)
	}
	for _, p := range rep.Problems {
		if p.Code == "DROPPED_ATTRIBUTE" && p.Count != regularUsers {
			t.Errorf("custom:tenant dropped for %d users, want %d", p.Count, regularUsers)
		}
	}

	// Without policies export refuses and names the flags.
	_, _, err = runApp(t, dir, nil, "export", "--backup", backup, "--target-pool", target, "--out", filepath.Join(dir, "refused"))
	if err == nil || !strings.Contains(err.Error(), "--on-duplicate") || !strings.Contains(err.Error(), "--skip INVALID_PHONE") {
		t.Fatalf("export without policies: %v", err)
	}

	csvDir := filepath.Join(dir, "csv")
	out, stderr, err := runApp(t, dir, nil, "export", "--backup", backup, "--target-pool", target, "--out", csvDir, "--json",
		"--on-duplicate", "keep-newest", "--on-unverified", "skip", "--skip", "INVALID_PHONE,INVALID_USERNAME")
	if err != nil {
		t.Fatalf("export: %v\n%s", err, stderr)
	}
	var res struct {
		Users, Exported, Rejected int64
		Files                     []string
		Rejects                   string
	}
	if err := decodeInto(out, &res); err != nil {
		t.Fatal(err)
	}
	// Rejected: one of the duplicates, the two unverified, the contact-less
	// user and the bad phone.
	if res.Users != int64(len(sp.users)) || res.Rejected != 5 || res.Exported+res.Rejected != res.Users || len(res.Files) != 1 {
		t.Fatalf("export: %+v (backup has %d users)", res, len(sp.users))
	}

	// The CSV passes the shim's strict import job.
	job := importCSV(t, env, target, res.Files[0])
	if job.Status != types.UserImportJobStatusTypeSucceeded || job.ImportedUsers != res.Exported || job.FailedUsers != 0 || job.SkippedUsers != 0 {
		t.Fatalf("import job: %s imported %d failed %d skipped %d (%s)", job.Status, job.ImportedUsers, job.FailedUsers, job.SkippedUsers, aws.ToString(job.CompletionMessage))
	}
	u, err := env.Cognito.AdminGetUser(context.Background(), &cip.AdminGetUserInput{UserPoolId: &target, Username: aws.String("user010@example.com")})
	if err != nil {
		t.Fatal(err)
	}
	attrs := map[string]string{}
	for _, a := range u.UserAttributes {
		attrs[*a.Name] = *a.Value
	}
	if attrs["name"] != "Müller, Jörg 10" || attrs["custom:prev_username"] != "user010" || attrs["custom:prev_sub_id"] == "" {
		t.Errorf("imported user attributes: %v", attrs)
	}
}

// importCSV runs one file through the shim's import job.
func importCSV(t *testing.T, env *testenv.Env, pool, file string) *types.UserImportJobType {
	t.Helper()
	ctx := context.Background()
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	job, err := env.Cognito.CreateUserImportJob(ctx, &cip.CreateUserImportJobInput{UserPoolId: &pool, JobName: aws.String("t"), CloudWatchLogsRoleArn: aws.String(env.ImportRole(t))})
	if err != nil {
		t.Fatal(err)
	}
	req, _ := http.NewRequest(http.MethodPut, *job.UserImportJob.PreSignedUrl, bytes.NewReader(data))
	req.Header.Set("x-amz-server-side-encryption", "aws:kms")
	resp, err := http.DefaultClient.Do(req)
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("upload: %v %v", resp, err)
	}
	resp.Body.Close()
	if _, err := env.Cognito.StartUserImportJob(ctx, &cip.StartUserImportJobInput{UserPoolId: &pool, JobId: job.UserImportJob.JobId}); err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(2 * time.Minute); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		d, err := env.Cognito.DescribeUserImportJob(ctx, &cip.DescribeUserImportJobInput{UserPoolId: &pool, JobId: job.UserImportJob.JobId})
		if err != nil {
			t.Fatal(err)
		}
		switch d.UserImportJob.Status {
		case types.UserImportJobStatusTypeSucceeded, types.UserImportJobStatusTypeFailed, types.UserImportJobStatusTypeStopped:
			return d.UserImportJob
		}
	}
	t.Fatal("import job did not finish")
	return nil
}

// emailSignInPool is the new pool the migration tests move to: sign-in by
// e-mail, e-mail verified automatically, usernames case-insensitive.
func emailSignInPool() testenv.PoolOptions {
	return testenv.PoolOptions{
		UsernameAttributes: []types.UsernameAttributeType{types.UsernameAttributeTypeEmail},
		AutoVerified:       []types.VerifiedAttributeType{types.VerifiedAttributeTypeEmail},
		CaseInsensitive:    true,
	}
}
