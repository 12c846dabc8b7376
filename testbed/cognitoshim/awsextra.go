package cognitoshim

import (
	"encoding/json"
	"encoding/xml"
	"fmt"
	"net/http"
	"regexp"
	"strings"
	"time"
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

type iamRole struct {
	Name, Arn, Trust string
	Policies         map[string]string
	Created          time.Time
}

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
	case "CreateRole":
		s.iamCreateRole(w, r)
	case "DescribeStackResource":
		s.cfnDescribeStackResource(w, r)
	case "DescribeStacks":
		s.cfnDescribeStacks(w, r)
	case "DescribeStackResources":
		s.cfnDescribeStackResources(w, r)
	case "GetTemplate":
		s.cfnGetTemplate(w, r)
	case "GetRole":
		s.mu.Lock()
		role, ok := s.roles[r.PostForm.Get("RoleName")]
		s.mu.Unlock()
		if !ok {
			queryError(w, 404, "NoSuchEntity", "The role with name "+r.PostForm.Get("RoleName")+" cannot be found.")
			return
		}
		fmt.Fprintf(w, `<GetRoleResponse xmlns="https://iam.amazonaws.com/doc/2010-05-08/"><GetRoleResult>%s</GetRoleResult><ResponseMetadata><RequestId>testbed</RequestId></ResponseMetadata></GetRoleResponse>`, roleXML(role))
	case "PutRolePolicy":
		name, policy := r.PostForm.Get("RoleName"), r.PostForm.Get("PolicyDocument")
		if !json.Valid([]byte(policy)) {
			queryError(w, 400, "MalformedPolicyDocument", "The policy is not valid JSON.")
			return
		}
		s.mu.Lock()
		role, ok := s.roles[name]
		if ok {
			role.Policies[r.PostForm.Get("PolicyName")] = policy
		}
		s.mu.Unlock()
		if !ok {
			queryError(w, 404, "NoSuchEntity", "The role with name "+name+" cannot be found.")
			return
		}
		fmt.Fprint(w, `<PutRolePolicyResponse xmlns="https://iam.amazonaws.com/doc/2010-05-08/"><ResponseMetadata><RequestId>testbed</RequestId></ResponseMetadata></PutRolePolicyResponse>`)
	default:
		queryError(w, 400, "InvalidAction", "the test bed answers GetCallerIdentity, CreateRole, GetRole and PutRolePolicy only, not "+action)
	}
}

var roleNameRE = regexp.MustCompile(`^[\w+=,.@-]{1,64}$`)

func (s *Server) iamCreateRole(w http.ResponseWriter, r *http.Request) {
	name, trust := r.PostForm.Get("RoleName"), r.PostForm.Get("AssumeRolePolicyDocument")
	if !roleNameRE.MatchString(name) {
		queryError(w, 400, "ValidationError", "The specified value for roleName is invalid.")
		return
	}
	if !json.Valid([]byte(trust)) {
		queryError(w, 400, "MalformedPolicyDocument", "The trust policy is not valid JSON.")
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.roles[name]; ok {
		queryError(w, 409, "EntityAlreadyExists", "Role with name "+name+" already exists.")
		return
	}
	role := &iamRole{Name: name, Arn: fmt.Sprintf("arn:aws:iam::%s:role/%s", TestbedAccount, name), Trust: trust, Policies: map[string]string{}, Created: s.now().UTC()}
	s.roles[name] = role
	fmt.Fprintf(w, `<CreateRoleResponse xmlns="https://iam.amazonaws.com/doc/2010-05-08/"><CreateRoleResult>%s</CreateRoleResult><ResponseMetadata><RequestId>testbed</RequestId></ResponseMetadata></CreateRoleResponse>`, roleXML(role))
}

func roleXML(r *iamRole) string {
	return fmt.Sprintf(`<Role><Path>/</Path><RoleName>%s</RoleName><RoleId>AROATESTBED%s</RoleId><Arn>%s</Arn><CreateDate>%s</CreateDate><AssumeRolePolicyDocument>%s</AssumeRolePolicyDocument></Role>`,
		xmlEscape(r.Name), strings.ToUpper(fmt.Sprintf("%x", len(r.Name))), xmlEscape(r.Arn), r.Created.Format(time.RFC3339), xmlEscape(r.Trust))
}

// roleProblem says why Cognito could not use a role the shim's IAM knows:
// it must trust cognito-idp.amazonaws.com and allow writing logs. Roles the
// shim never created are taken on trust (tests name arbitrary ARNs), except
// the "missing" test hook.
func (s *Server) roleProblem(arn string) string {
	name := arn[strings.LastIndex(arn, "/")+1:]
	if strings.HasPrefix(name, "missing") {
		return "The CloudWatch Logs role could not be assumed. Check that " + arn + " exists and trusts cognito-idp.amazonaws.com."
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	role, ok := s.roles[name]
	if !ok {
		return ""
	}
	if !strings.Contains(role.Trust, "cognito-idp.amazonaws.com") || !strings.Contains(role.Trust, "sts:AssumeRole") {
		return "The CloudWatch Logs role " + arn + " does not trust cognito-idp.amazonaws.com."
	}
	for _, p := range role.Policies {
		if strings.Contains(p, "logs:PutLogEvents") && strings.Contains(p, "/aws/cognito/") {
			return ""
		}
	}
	return "The CloudWatch Logs role " + arn + " may not write to log groups /aws/cognito/*."
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
