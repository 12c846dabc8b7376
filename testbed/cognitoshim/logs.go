package cognitoshim

import (
	"fmt"
	"io"
	"net/http"
	"regexp"
	"sort"
	"strings"
	"time"
)

// The shim's CloudWatch Logs answers GetLogEvents for import jobs' streams
// and keeps log groups for what deploys a trigger: CreateLogGroup (with
// tags), PutRetentionPolicy, TagResource, ListTagsForResource,
// DescribeLogGroups and DeleteLogGroup, refusing what CloudWatch Logs
// refuses: a name outside its pattern, a group that exists already (or
// does not), a retention that is not one of the documented periods, a tag
// key starting with aws:, a resource ARN not of the documented form
// arn:aws:logs:REGION:ACCOUNT:log-group:NAME (without ":*").

type logGroup struct {
	Name      string
	Retention int // days; 0: never expire
	Tags      map[string]string
	Created   time.Time
}

var (
	logGroupNameRE = regexp.MustCompile(`^[.\-_/#A-Za-z0-9]{1,512}$`)
	// The retention periods PutRetentionPolicy accepts, in days.
	logRetentionDays = map[int]bool{1: true, 3: true, 5: true, 7: true, 14: true, 30: true, 60: true, 90: true, 120: true, 150: true,
		180: true, 365: true, 400: true, 545: true, 731: true, 1096: true, 1827: true, 2192: true, 2557: true, 2922: true, 3288: true, 3653: true}
)

func (s *Server) serveLogs(w http.ResponseWriter, r *http.Request, op string) {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		writeError(w, errInternal("read request: %v", err))
		return
	}
	var out any
	var aerr *apiError
	switch op {
	case "GetLogEvents":
		out, aerr = s.getLogEvents(r, body)
	case "CreateLogGroup", "PutRetentionPolicy", "TagResource", "ListTagsForResource", "DescribeLogGroups", "DeleteLogGroup":
		var in struct {
			LogGroupName       string            `json:"logGroupName"`
			LogGroupNamePrefix string            `json:"logGroupNamePrefix"`
			RetentionInDays    *int              `json:"retentionInDays"`
			ResourceArn        string            `json:"resourceArn"`
			Tags               map[string]string `json:"tags"`
		}
		if aerr = decode(body, &in); aerr == nil {
			s.mu.Lock()
			if s.logGroups == nil {
				s.logGroups = map[string]*logGroup{}
			}
			out, aerr = s.logGroupOp(op, in.LogGroupName, in.LogGroupNamePrefix, in.RetentionInDays, in.ResourceArn, in.Tags)
			s.mu.Unlock()
		}
	default:
		aerr = errOf("UnknownOperationException", "the test bed's CloudWatch Logs does not answer %s", op)
	}
	if aerr != nil {
		s.logf("cognito-shim: logs %s rejected: %s: %s", op, aerr.Type, aerr.Message)
		writeError(w, aerr)
		return
	}
	writeJSON(w, out)
}

// logGroupOp runs one log group operation; s.mu is held.
func (s *Server) logGroupOp(op, name, prefix string, retention *int, arn string, tags map[string]string) (any, *apiError) {
	notFound := errOf("ResourceNotFoundException", "The specified log group does not exist.")
	switch op {
	case "CreateLogGroup":
		if !logGroupNameRE.MatchString(name) {
			return nil, errInvalid("1 validation error detected: Value '%s' at 'logGroupName' failed to satisfy constraint: Member must satisfy regular expression pattern: [\\.\\-_/#A-Za-z0-9]+", name)
		}
		if msg := checkLogTags(tags); msg != "" {
			return nil, errInvalid("%s", msg)
		}
		if _, ok := s.logGroups[name]; ok {
			return nil, errOf("ResourceAlreadyExistsException", "The specified log group already exists")
		}
		g := &logGroup{Name: name, Tags: map[string]string{}, Created: s.now().UTC()}
		for k, v := range tags {
			g.Tags[k] = v
		}
		s.logGroups[name] = g
		return struct{}{}, nil
	case "PutRetentionPolicy":
		g, ok := s.logGroups[name]
		if !ok {
			return nil, notFound
		}
		if retention == nil || !logRetentionDays[*retention] {
			return nil, errInvalid("1 validation error detected: Value at 'retentionInDays' failed to satisfy constraint: Member must satisfy enum value set: [1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653]")
		}
		g.Retention = *retention
		return struct{}{}, nil
	case "TagResource", "ListTagsForResource":
		g, e := s.logGroupByArn(arn)
		if e != nil {
			return nil, e
		}
		if op == "ListTagsForResource" {
			return map[string]any{"tags": g.Tags}, nil
		}
		if msg := checkLogTags(tags); msg != "" || len(tags) == 0 {
			return nil, errInvalid("tags: %s", msg)
		}
		for k, v := range tags {
			g.Tags[k] = v
		}
		if len(g.Tags) > 50 {
			return nil, errOf("TooManyTagsException", "A resource can have no more than 50 tags.")
		}
		return struct{}{}, nil
	case "DeleteLogGroup":
		if _, ok := s.logGroups[name]; !ok {
			return nil, notFound
		}
		delete(s.logGroups, name)
		return struct{}{}, nil
	}
	// DescribeLogGroups
	groups := []map[string]any{}
	for _, n := range sortedKeys(s.logGroups) {
		if !strings.HasPrefix(n, prefix) {
			continue
		}
		g := s.logGroups[n]
		m := map[string]any{"logGroupName": n, "creationTime": g.Created.UnixMilli(), "storedBytes": 0, "logGroupClass": "STANDARD",
			"arn": s.logGroupArn(n) + ":*", "logGroupArn": s.logGroupArn(n)}
		if g.Retention > 0 {
			m["retentionInDays"] = g.Retention
		}
		groups = append(groups, m)
	}
	return map[string]any{"logGroups": groups}, nil
}

func (s *Server) logGroupArn(name string) string {
	return fmt.Sprintf("arn:aws:logs:%s:%s:log-group:%s", s.region(), TestbedAccount, name)
}

func (s *Server) logGroupByArn(arn string) (*logGroup, *apiError) {
	prefix := s.logGroupArn("")
	name, ok := strings.CutPrefix(arn, prefix)
	if !ok || !logGroupNameRE.MatchString(name) {
		return nil, errInvalid("Invalid resource ARN %q: a log group's ARN is %sNAME, without :*", arn, prefix)
	}
	g, ok := s.logGroups[name]
	if !ok {
		return nil, errOf("ResourceNotFoundException", "The specified log group does not exist.")
	}
	return g, nil
}

func checkLogTags(tags map[string]string) string {
	if len(tags) > 50 {
		return "a resource can have no more than 50 tags"
	}
	keys := make([]string, 0, len(tags))
	for k := range tags {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		if !tagKeyRE.MatchString(k) || !tagValueRE.MatchString(tags[k]) {
			return fmt.Sprintf("tag %q: keys are 1-128 and values 0-256 letters, digits, spaces or _.:/=+-@", k)
		}
		if strings.HasPrefix(strings.ToLower(k), "aws:") {
			return fmt.Sprintf("tag %q: the aws: prefix is reserved", k)
		}
	}
	return ""
}
