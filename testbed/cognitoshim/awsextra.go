package cognitoshim

import (
	"encoding/xml"
	"fmt"
	"net/http"
	"strings"
)

// The shim also answers the few calls of other services that an import
// makes around the job: STS GetCallerIdentity (the account shown before
// writing), IAM CreateRole / GetRole / PutRolePolicy (import --create-role)
// and CloudWatch Logs GetLogEvents (the job's per-line results). Point
// AWS_ENDPOINT_URL_STS, AWS_ENDPOINT_URL_IAM and
// AWS_ENDPOINT_URL_CLOUDWATCH_LOGS at it.

// TestbedAccount is the account id the shim's STS and IAM answer with.
const TestbedAccount = "000000000000"

const logsTargetPrefix = "Logs_20140328."

func queryError(w http.ResponseWriter, status int, code, msg string) {
	w.Header().Set("Content-Type", "text/xml")
	w.WriteHeader(status)
	fmt.Fprintf(w, `<ErrorResponse><Error><Type>Sender</Type><Code>%s</Code><Message>%s</Message></Error><RequestId>testbed</RequestId></ErrorResponse>`, code, xmlEscape(msg))
}

func xmlEscape(s string) string {
	var b strings.Builder
	_ = xml.EscapeText(&b, []byte(s))
	return b.String()
}

// serveQuery answers the query-protocol services (STS and IAM).
func (s *Server) serveQuery(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		queryError(w, 400, "MalformedQueryString", err.Error())
		return
	}
	w.Header().Set("Content-Type", "text/xml")
	switch action := r.PostForm.Get("Action"); action {
	case "GetCallerIdentity":
		fmt.Fprintf(w, `<GetCallerIdentityResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><GetCallerIdentityResult><Arn>arn:aws:iam::%s:user/testbed</Arn><UserId>AIDATESTBED</UserId><Account>%s</Account></GetCallerIdentityResult><ResponseMetadata><RequestId>testbed</RequestId></ResponseMetadata></GetCallerIdentityResponse>`, TestbedAccount, TestbedAccount)
	case "DescribeStackResource":
		s.cfnDescribeStackResource(w, r)
	case "DescribeStacks":
		s.cfnDescribeStacks(w, r)
	case "DescribeStackResources":
		s.cfnDescribeStackResources(w, r)
	case "GetTemplate":
		s.cfnGetTemplate(w, r)
	default:
		if !s.serveIAM(w, r, action) {
			queryError(w, 400, "InvalidAction", "the test bed answers STS GetCallerIdentity, the IAM role calls and CloudFormation's stack reads only, not "+action)
		}
	}
}

// getLogEvents serves CloudWatch Logs GetLogEvents for import jobs' streams:
// group /aws/cognito/userpools/<pool id>/<pool name>, stream <job id>/<job name>.
func (s *Server) getLogEvents(r *http.Request, body []byte) (any, *apiError) {
	var in struct {
		LogGroupName  string `json:"logGroupName"`
		LogStreamName string `json:"logStreamName"`
		NextToken     string `json:"nextToken"`
		Limit         int    `json:"limit"`
	}
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	var job *importJob
	for _, j := range s.jobs {
		if in.LogGroupName == "/aws/cognito/userpools/"+j.pool+"/"+j.poolName && in.LogStreamName == j.id+"/"+j.name {
			job = j
		}
	}
	if job == nil || job.started.IsZero() {
		return nil, errOf("ResourceNotFoundException", "The specified log stream does not exist.")
	}
	start := 0
	if in.NextToken != "" {
		if _, err := fmt.Sscanf(in.NextToken, "f/%d", &start); err != nil || start < 0 || start > len(job.log) {
			return nil, errInvalid("The specified nextToken is invalid.")
		}
	}
	limit := in.Limit
	if limit <= 0 || limit > 10000 {
		limit = 10000
	}
	end := min(start+limit, len(job.log))
	events := []map[string]any{}
	ts := job.started.UnixMilli()
	for _, l := range job.log[start:end] {
		events = append(events, map[string]any{"timestamp": ts, "message": l, "ingestionTime": ts})
	}
	return map[string]any{"events": events, "nextForwardToken": fmt.Sprintf("f/%d", end), "nextBackwardToken": fmt.Sprintf("b/%d", start)}, nil
}
