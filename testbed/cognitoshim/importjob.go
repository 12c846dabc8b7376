package cognitoshim

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Import job limits as the Cognito developer guide states them.
const (
	uploadPath     = "/import-upload/"
	importLogPath  = "/_shim/import-log/"
	urlTTL         = 15 * time.Minute
	maxCSVBytes    = 100 * 1024 * 1024
	maxJobsPerPool = 1000
	amzDateLayout  = "20060102T150405Z"
)

// Job statuses.
const (
	statusCreated    = "Created"
	statusPending    = "Pending"
	statusInProgress = "InProgress"
	statusStopping   = "Stopping"
	statusStopped    = "Stopped"
	statusSucceeded  = "Succeeded"
	statusFailed     = "Failed"
)

type importJob struct {
	name, id, pool, url, role string
	account                   string // of the credentials that created it
	poolName                  string
	created, started, done    time.Time
	status                    string
	imported, skipped, failed int64
	message                   string
	csv                       []byte
	uploaded                  bool
	stop                      bool
	log                       []string
}

func (j *importJob) view() map[string]any {
	v := map[string]any{
		"JobName": j.name, "JobId": j.id, "UserPoolId": j.pool, "PreSignedUrl": j.url,
		"CreationDate": epoch(j.created), "Status": j.status, "CloudWatchLogsRoleArn": j.role,
		"ImportedUsers": j.imported, "SkippedUsers": j.skipped, "FailedUsers": j.failed,
	}
	if !j.started.IsZero() {
		v["StartDate"] = epoch(j.started)
	}
	if !j.done.IsZero() {
		v["CompletionDate"] = epoch(j.done)
	}
	if j.message != "" {
		v["CompletionMessage"] = j.message
	}
	return v
}

func (j *importJob) active() bool {
	return j.status == statusPending || j.status == statusInProgress || j.status == statusStopping
}

var (
	jobNameRE = regexp.MustCompile(`^[\w\s+=,.@-]{1,128}$`)
	roleARNRE = regexp.MustCompile(`^arn:aws[\w-]*:iam::\d{12}:role/[\w+=,.@/-]+$`)
)

func (s *Server) createUserImportJob(r *http.Request, body []byte) (any, *apiError) {
	var in struct{ JobName, UserPoolId, CloudWatchLogsRoleArn string }
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	if !jobNameRE.MatchString(in.JobName) {
		return nil, errInvalid("1 validation error detected: Value '%s' at 'jobName' failed to satisfy constraint: Member must satisfy regular expression pattern: [\\w\\s+=,.@-]+ and have length between 1 and 128", in.JobName)
	}
	if len(in.CloudWatchLogsRoleArn) < 20 || len(in.CloudWatchLogsRoleArn) > 2048 || !roleARNRE.MatchString(in.CloudWatchLogsRoleArn) {
		return nil, errInvalid("1 validation error detected: Value '%s' at 'cloudWatchLogsRoleArn' failed to satisfy constraint: Member must be an IAM role ARN", in.CloudWatchLogsRoleArn)
	}
	if _, e := s.describePool(r.Context(), in.UserPoolId); e != nil {
		return nil, e
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, j := range s.jobs {
		if j.pool == in.UserPoolId {
			n++
		}
	}
	if n >= maxJobsPerPool {
		return nil, errOf("LimitExceededException", "The user pool has reached its limit of %d import jobs.", maxJobsPerPool)
	}
	now := s.now()
	j := &importJob{
		name: in.JobName, pool: in.UserPoolId, role: in.CloudWatchLogsRoleArn, created: now, status: statusCreated,
		account: accountOf(r),
		id:      "import-" + randomID(),
	}
	date := now.UTC().Format(amzDateLayout)
	q := url.Values{
		"X-Amz-Algorithm":     {"AWS4-HMAC-SHA256"},
		"X-Amz-Date":          {date},
		"X-Amz-Expires":       {strconv.Itoa(int(urlTTL.Seconds()))},
		"X-Amz-SignedHeaders": {"host;x-amz-server-side-encryption"},
		"X-Amz-Signature":     {s.sign("upload", j.id, date)},
	}
	j.url = "http://" + r.Host + uploadPath + j.id + "?" + q.Encode()
	s.jobs[j.id] = j
	s.jobOrder = append(s.jobOrder, j.id)
	return map[string]any{"UserImportJob": j.view()}, nil
}

// s3Error answers like S3 does, in XML.
func s3Error(w http.ResponseWriter, status int, code, msg string) {
	w.Header().Set("Content-Type", "application/xml")
	w.WriteHeader(status)
	fmt.Fprintf(w, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>%s</Code><Message>%s</Message></Error>", code, msg)
}

const sigMismatch = "The request signature we calculated does not match the signature you provided. Check your key and signing method."

// serveUpload is the pre-signed S3 PUT of the CSV file. The URL signs the
// host and the x-amz-server-side-encryption header: that header must be
// sent as aws:kms, and a Content-Type (which clients add by habit) breaks
// the signature, as users of the real URL find out.
func (s *Server) serveUpload(w http.ResponseWriter, r *http.Request) {
	id := strings.TrimPrefix(r.URL.Path, uploadPath)
	q := r.URL.Query()
	s.mu.Lock()
	j := s.jobs[id]
	s.mu.Unlock()
	if r.Method != http.MethodPut {
		s3Error(w, http.StatusForbidden, "SignatureDoesNotMatch", sigMismatch)
		return
	}
	if j == nil || q.Get("X-Amz-Signature") != s.sign("upload", id, q.Get("X-Amz-Date")) {
		s3Error(w, http.StatusForbidden, "SignatureDoesNotMatch", sigMismatch)
		return
	}
	signed, err := time.Parse(amzDateLayout, q.Get("X-Amz-Date"))
	if err != nil || s.now().After(signed.Add(urlTTL)) {
		s3Error(w, http.StatusForbidden, "AccessDenied", "Request has expired")
		return
	}
	if r.Header.Get("X-Amz-Server-Side-Encryption") != "aws:kms" {
		s.logf("cognito-shim: upload of %s rejected: x-amz-server-side-encryption is %q, want aws:kms", id, r.Header.Get("X-Amz-Server-Side-Encryption"))
		s3Error(w, http.StatusForbidden, "SignatureDoesNotMatch", sigMismatch)
		return
	}
	if ct := r.Header.Get("Content-Type"); ct != "" {
		s.logf("cognito-shim: upload of %s rejected: Content-Type %q is not part of the signature", id, ct)
		s3Error(w, http.StatusForbidden, "SignatureDoesNotMatch", sigMismatch)
		return
	}
	if r.ContentLength < 0 {
		s3Error(w, http.StatusLengthRequired, "MissingContentLength", "You must provide the Content-Length HTTP header.")
		return
	}
	if r.ContentLength > maxCSVBytes {
		s3Error(w, http.StatusBadRequest, "EntityTooLarge", "Your proposed upload exceeds the maximum allowed size")
		return
	}
	data, err := io.ReadAll(io.LimitReader(r.Body, maxCSVBytes+1))
	if err != nil || int64(len(data)) != r.ContentLength {
		s3Error(w, http.StatusBadRequest, "IncompleteBody", "You did not provide the number of bytes specified by the Content-Length HTTP header.")
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if j.status != statusCreated {
		s3Error(w, http.StatusForbidden, "AccessDenied", "Access Denied")
		return
	}
	j.csv, j.uploaded = data, true
	w.Header().Set("ETag", `"`+s.sign(string(data))[:32]+`"`)
	w.WriteHeader(http.StatusOK)
}

func (s *Server) jobFor(pool, id string) (*importJob, *apiError) {
	j := s.jobs[id]
	if j == nil || j.pool != pool {
		return nil, errOf("ResourceNotFoundException", "Import job %s not found in user pool %s.", id, pool)
	}
	return j, nil
}

func (s *Server) startUserImportJob(r *http.Request, body []byte) (any, *apiError) {
	return s.withJob(body, func(j *importJob) (any, *apiError) {
		if j.status != statusCreated {
			return nil, errOf("InvalidParameterException", "Import job %s is %s; only a Created job can be started.", j.id, j.status)
		}
		if !j.uploaded {
			return nil, errOf("PreconditionNotMetException", "No csv file was uploaded for %s", j.id)
		}
		// One active job per account (and region: the test bed has one).
		for _, other := range s.jobs {
			if other.active() && other.account == j.account {
				return nil, errOf("LimitExceededException", "Only one import job can be active at a time per account; %s is %s.", other.id, other.status)
			}
		}
		j.status, j.started = statusPending, s.now()
		go s.runJob(j)
		return map[string]any{"UserImportJob": j.view()}, nil
	})
}

func (s *Server) describeUserImportJob(r *http.Request, body []byte) (any, *apiError) {
	return s.withJob(body, func(j *importJob) (any, *apiError) {
		return map[string]any{"UserImportJob": j.view()}, nil
	})
}

func (s *Server) stopUserImportJob(r *http.Request, body []byte) (any, *apiError) {
	return s.withJob(body, func(j *importJob) (any, *apiError) {
		if j.status != statusPending && j.status != statusInProgress {
			return nil, errOf("InvalidParameterException", "Import job %s is %s; only a Pending or InProgress job can be stopped.", j.id, j.status)
		}
		j.stop, j.status = true, statusStopping
		return map[string]any{"UserImportJob": j.view()}, nil
	})
}

// withJob decodes the pool and job ids of a job call and runs fn on the
// job, holding the shim's lock.
func (s *Server) withJob(body []byte, fn func(*importJob) (any, *apiError)) (any, *apiError) {
	var in struct{ UserPoolId, JobId string }
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	j, e := s.jobFor(in.UserPoolId, in.JobId)
	if e != nil {
		return nil, e
	}
	return fn(j)
}

func (s *Server) listUserImportJobs(r *http.Request, body []byte) (any, *apiError) {
	var in struct {
		UserPoolId      string
		MaxResults      int
		PaginationToken string
	}
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	if in.MaxResults < 1 || in.MaxResults > 60 {
		return nil, errInvalid("1 validation error detected: Value '%d' at 'maxResults' failed to satisfy constraint: Member must have value between 1 and 60", in.MaxResults)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	var ids []string
	for _, id := range s.jobOrder {
		if s.jobs[id].pool == in.UserPoolId {
			ids = append(ids, id)
		}
	}
	sort.Strings(ids)
	start := 0
	if in.PaginationToken != "" {
		t, e := s.decodeToken(in.PaginationToken, "ListUserImportJobs", in.UserPoolId, "")
		if e != nil {
			return nil, e
		}
		start = sort.Search(len(ids), func(i int) bool { return ids[i] > t.After })
	}
	end := min(start+in.MaxResults, len(ids))
	var jobs []map[string]any
	for _, id := range ids[start:end] {
		jobs = append(jobs, s.jobs[id].view())
	}
	out := map[string]any{"UserImportJobs": jobs}
	if end < len(ids) {
		out["PaginationToken"] = s.encodeToken(pageToken{Kind: "ListUserImportJobs", Pool: in.UserPoolId, After: ids[end-1]})
	}
	return out, nil
}

// serveImportLog returns a job's per-line results, the lines AWS writes to
// the job's CloudWatch Logs stream. It is the shim's own endpoint.
func (s *Server) serveImportLog(w http.ResponseWriter, r *http.Request) {
	id := strings.TrimPrefix(r.URL.Path, importLogPath)
	s.mu.Lock()
	j := s.jobs[id]
	var lines []string
	if j != nil {
		lines = append(lines, j.log...)
	}
	s.mu.Unlock()
	if j == nil {
		http.NotFound(w, r)
		return
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	for _, l := range lines {
		fmt.Fprintln(w, l)
	}
}

// runJob processes an uploaded CSV the way the import job does: job-level
// problems fail the whole job, row-level problems fail or skip the row.
func (s *Server) runJob(j *importJob) {
	ctx := context.Background()
	s.mu.Lock()
	j.status = statusInProgress
	data, pool, role := j.csv, j.pool, j.role
	s.mu.Unlock()

	finish := func(status, msg string) {
		s.mu.Lock()
		defer s.mu.Unlock()
		j.status, j.message, j.done = status, msg, s.now()
	}
	if msg := s.roleProblem(role); msg != "" {
		finish(statusFailed, msg)
		return
	}
	p, e := s.describePool(ctx, pool)
	if e != nil {
		finish(statusFailed, "The user pool could not be read: "+e.Message)
		return
	}
	s.mu.Lock()
	j.poolName = p.Name
	s.mu.Unlock()
	if len(p.AutoVerifiedAttributes) == 0 {
		finish(statusFailed, "The user pool has no auto-verified attributes (email or phone_number); users could not reset their passwords, so the import cannot start.")
		return
	}
	rows, jobErr := parseImportCSV(data, csvHeader(p))
	if jobErr != "" {
		finish(statusFailed, jobErr)
		return
	}
	for i, row := range rows {
		s.mu.Lock()
		stop := j.stop
		s.mu.Unlock()
		if stop {
			finish(statusStopped, "The Import Job was stopped by the developer.")
			return
		}
		result, msg := s.importRow(ctx, p, row)
		s.mu.Lock()
		switch result {
		case "SUCCEEDED":
			j.imported++
		case "SKIPPED":
			j.skipped++
		default:
			j.failed++
		}
		j.log = append(j.log, fmt.Sprintf("[%s] Line Number %d - %s", result, i+1, msg))
		s.mu.Unlock()
	}
	s.mu.Lock()
	failed, imported := j.failed, j.imported
	s.mu.Unlock()
	// AWS fails a job when too many rows fail, at a ratio it does not
	// document; the shim fails it when at least half the rows it tried to
	// create failed.
	if failed > 0 && failed >= imported {
		finish(statusFailed, "Too many users have failed or been skipped during the import.")
		return
	}
	finish(statusSucceeded, "Import Job Completed Successfully.")
}

// randomID makes job ids unique, as AWS's are, whatever the clock says.
func randomID() string {
	b := make([]byte, 6)
	if _, err := rand.Read(b); err != nil {
		panic(err)
	}
	return hex.EncodeToString(b)
}
