package cognito

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"time"

	cip "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider"
	"github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider/types"
	"github.com/aws/smithy-go"
)

// ImportJobAPI is the part of the Cognito API the CSV import job uses.
type ImportJobAPI interface {
	CreateUserImportJob(ctx context.Context, in *cip.CreateUserImportJobInput, optFns ...func(*cip.Options)) (*cip.CreateUserImportJobOutput, error)
	StartUserImportJob(ctx context.Context, in *cip.StartUserImportJobInput, optFns ...func(*cip.Options)) (*cip.StartUserImportJobOutput, error)
	DescribeUserImportJob(ctx context.Context, in *cip.DescribeUserImportJobInput, optFns ...func(*cip.Options)) (*cip.DescribeUserImportJobOutput, error)
	StopUserImportJob(ctx context.Context, in *cip.StopUserImportJobInput, optFns ...func(*cip.Options)) (*cip.StopUserImportJobOutput, error)
}

// JobOptions configure RunImportJob.
type JobOptions struct {
	PoolID   string
	PoolName string
	RoleARN  string
	// HTTP uploads the file; nil means http.DefaultClient.
	HTTP *http.Client
	// Poll is the interval between DescribeUserImportJob calls.
	Poll time.Duration
	// StartWait bounds how long a start waits for another account's job.
	StartWait time.Duration
	Progress  func(JobProgress)
	Now       func() time.Time
}

// JobProgress reports a running job.
type JobProgress struct {
	File     string
	JobID    string
	Status   string
	Imported int64
	Skipped  int64
	Failed   int64
	Rows     int
}

// JobResult is a finished job.
type JobResult struct {
	File              string `json:"file"`
	JobID             string `json:"jobId"`
	JobName           string `json:"jobName"`
	Status            string `json:"status"`
	Imported          int64  `json:"imported"`
	Skipped           int64  `json:"skipped"`
	Failed            int64  `json:"failed"`
	CompletionMessage string `json:"completionMessage,omitempty"`
	// LogGroup and LogStream name where Cognito logs each line's result.
	LogGroup  string `json:"logGroup"`
	LogStream string `json:"logStream"`
}

// ErrUploadRejected is returned when the pre-signed URL refuses the file.
var ErrUploadRejected = errors.New("upload rejected")

var jobNameUnsafe = regexp.MustCompile(`[^\w\s+=,.@-]`)

// RunImportJob imports one CSV file: create the job, PUT the file to the
// pre-signed URL within its 15 minutes (a fresh job when it expired), start
// it (waiting while another job of the account is active), and poll it to a
// final status. If ctx ends while the job runs, the job is stopped, so the
// account's one active job is free for a re-run.
func RunImportJob(ctx context.Context, api ImportJobAPI, o JobOptions, file string, rows int) (JobResult, error) {
	if o.HTTP == nil {
		o.HTTP = http.DefaultClient
	}
	if o.Poll == 0 {
		o.Poll = 2 * time.Second
	}
	if o.StartWait == 0 {
		o.StartWait = 30 * time.Minute
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Progress == nil {
		o.Progress = func(JobProgress) {}
	}
	data, err := os.ReadFile(file)
	if err != nil {
		return JobResult{}, fmt.Errorf("read %s: %w", file, err)
	}
	name := jobNameUnsafe.ReplaceAllString(fmt.Sprintf("poolmigrate %s %s", strings.TrimSuffix(filepath.Base(file), ".csv"), o.Now().UTC().Format("20060102T150405")), "-")
	res := JobResult{File: file, JobName: name, LogGroup: fmt.Sprintf("/aws/cognito/userpools/%s/%s", o.PoolID, o.PoolName)}

	var job *types.UserImportJobType
	for attempt := 0; ; attempt++ {
		out, err := api.CreateUserImportJob(ctx, &cip.CreateUserImportJobInput{UserPoolId: &o.PoolID, JobName: &name, CloudWatchLogsRoleArn: &o.RoleARN})
		if err != nil {
			return res, fmt.Errorf("create import job for %s: %w", file, err)
		}
		job = out.UserImportJob
		err = upload(ctx, o.HTTP, deref(job.PreSignedUrl), data)
		if err == nil {
			break
		}
		// An expired URL needs a new job; anything else is final.
		if !errors.Is(err, errURLExpired) || attempt > 0 {
			return res, fmt.Errorf("upload %s for job %s: %w", file, deref(job.JobId), err)
		}
	}
	res.JobID = deref(job.JobId)
	res.LogStream = res.JobID + "/" + name

	if err := startJob(ctx, api, o, res.JobID); err != nil {
		return res, err
	}
	for {
		out, err := api.DescribeUserImportJob(ctx, &cip.DescribeUserImportJobInput{UserPoolId: &o.PoolID, JobId: &res.JobID})
		if err != nil {
			if ctx.Err() != nil {
				stopJob(api, o.PoolID, res.JobID)
				return res, fmt.Errorf("import job %s interrupted; it was stopped, and a re-run skips the users it already imported: %w", res.JobID, ctx.Err())
			}
			return res, fmt.Errorf("describe import job %s: %w", res.JobID, err)
		}
		j := out.UserImportJob
		res.Status, res.Imported, res.Skipped, res.Failed, res.CompletionMessage = string(j.Status), j.ImportedUsers, j.SkippedUsers, j.FailedUsers, deref(j.CompletionMessage)
		o.Progress(JobProgress{File: file, JobID: res.JobID, Status: res.Status, Imported: j.ImportedUsers, Skipped: j.SkippedUsers, Failed: j.FailedUsers, Rows: rows})
		switch j.Status {
		case types.UserImportJobStatusTypeSucceeded, types.UserImportJobStatusTypeFailed,
			types.UserImportJobStatusTypeStopped, types.UserImportJobStatusTypeExpired:
			return res, nil
		}
		select {
		case <-ctx.Done():
			stopJob(api, o.PoolID, res.JobID)
			return res, fmt.Errorf("import job %s interrupted; it was stopped, and a re-run skips the users it already imported: %w", res.JobID, ctx.Err())
		case <-time.After(o.Poll):
		}
	}
}

// startJob starts the job, waiting while another job of the account is
// active (only one may be).
func startJob(ctx context.Context, api ImportJobAPI, o JobOptions, id string) error {
	deadline := o.Now().Add(o.StartWait)
	backoff := o.Poll
	for {
		_, err := api.StartUserImportJob(ctx, &cip.StartUserImportJobInput{UserPoolId: &o.PoolID, JobId: &id})
		// StartUserImportJob does not declare LimitExceededException, so
		// the SDK returns it untyped: compare codes.
		busy := apiCode(err) == "LimitExceededException" || apiCode(err) == "TooManyRequestsException"
		switch {
		case err == nil:
			return nil
		case apiCode(err) == "PreconditionNotMetException":
			return fmt.Errorf("start import job %s: %w (the file did not arrive)", id, err)
		case busy && o.Now().Before(deadline):
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-time.After(backoff):
			}
			backoff = min(backoff*2, 30*time.Second)
		case busy:
			return fmt.Errorf("start import job %s: another import job of this account stayed active for %s: %w", id, o.StartWait, err)
		default:
			return fmt.Errorf("start import job %s: %w", id, err)
		}
	}
}

func stopJob(api ImportJobAPI, pool, id string) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_, _ = api.StopUserImportJob(ctx, &cip.StopUserImportJobInput{UserPoolId: &pool, JobId: &id})
}

var errURLExpired = errors.New("the pre-signed URL expired")

// upload PUTs the file with exactly the header the URL was signed with and
// a known length: a Content-Type, which HTTP clients like to add, breaks the
// signature, and S3 refuses chunked uploads to pre-signed URLs.
func upload(ctx context.Context, c *http.Client, url string, data []byte) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPut, url, bytes.NewReader(data))
	if err != nil {
		return err
	}
	req.ContentLength = int64(len(data))
	req.Header.Set("x-amz-server-side-encryption", "aws:kms")
	resp, err := c.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode/100 == 2 {
		return nil
	}
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
	code := between(string(body), "<Code>", "</Code>")
	msg := between(string(body), "<Message>", "</Message>")
	if strings.Contains(msg, "expired") {
		return errURLExpired
	}
	return fmt.Errorf("%w: %s %s: %s", ErrUploadRejected, resp.Status, code, msg)
}

func between(s, a, b string) string {
	i := strings.Index(s, a)
	if i < 0 {
		return ""
	}
	s = s[i+len(a):]
	if j := strings.Index(s, b); j >= 0 {
		return s[:j]
	}
	return s
}

// apiCode is the AWS error code of err, or "".
func apiCode(err error) string {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		return ae.ErrorCode()
	}
	return ""
}
