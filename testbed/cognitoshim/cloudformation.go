package cognitoshim

import (
	"encoding/json"
	"fmt"
	"net/http"
	"sort"
	"strings"
	"time"
)

// The shim answers the CloudFormation calls that find a deployed Amplify
// env's user pool from its stacks: DescribeStackResource (the root stack's
// nested auth stack, logical id auth<resource>), DescribeStacks (that
// stack's UserPoolId output) and GetTemplate (is the pool retained?). Point
// AWS_ENDPOINT_URL_CLOUDFORMATION at it. Stacks are planted with a POST of
// a JSON cfnStack to stacksPath: the test bed deploys nothing. Unknown
// stacks and resources get CloudFormation's ValidationError (HTTP 400),
// worded as AWS words it. A planted stack has the status it was planted
// with (UPDATE_COMPLETE unless said), so a test can show a push under way.

const stacksPath = "/_testbed/cloudformation/stacks"

type cfnStack struct {
	Name      string            `json:"name"`
	ID        string            `json:"id"` // the stack ARN
	Outputs   map[string]string `json:"outputs"`
	Resources map[string]string `json:"resources"` // logical id -> physical id (a nested stack's ARN)
	Template  string            `json:"template"`  // the deployed template's body
	// Status is the stack's StackStatus (default UPDATE_COMPLETE): plant
	// UPDATE_IN_PROGRESS for a push under way, then plant the stack again
	// with UPDATE_COMPLETE when it is done.
	Status  string    `json:"status"`
	Created time.Time `json:"-"`
}

// stackStatuses are CloudFormation's StackStatus values.
var stackStatuses = map[string]bool{}

func init() {
	for _, st := range strings.Fields(`CREATE_IN_PROGRESS CREATE_FAILED CREATE_COMPLETE ROLLBACK_IN_PROGRESS ROLLBACK_FAILED
		ROLLBACK_COMPLETE DELETE_IN_PROGRESS DELETE_FAILED DELETE_COMPLETE UPDATE_IN_PROGRESS UPDATE_COMPLETE_CLEANUP_IN_PROGRESS
		UPDATE_COMPLETE UPDATE_FAILED UPDATE_ROLLBACK_IN_PROGRESS UPDATE_ROLLBACK_FAILED UPDATE_ROLLBACK_COMPLETE_CLEANUP_IN_PROGRESS
		UPDATE_ROLLBACK_COMPLETE REVIEW_IN_PROGRESS IMPORT_IN_PROGRESS IMPORT_COMPLETE IMPORT_ROLLBACK_IN_PROGRESS
		IMPORT_ROLLBACK_FAILED IMPORT_ROLLBACK_COMPLETE`) {
		stackStatuses[st] = true
	}
}

func (s *Server) plantStack(w http.ResponseWriter, r *http.Request) {
	var st cfnStack
	if r.Method != http.MethodPost || json.NewDecoder(r.Body).Decode(&st) != nil || st.Name == "" || !strings.HasPrefix(st.ID, "arn:aws:cloudformation:") {
		http.Error(w, `POST {"name", "id" (a stack ARN), "outputs", "resources", "template", "status"}`, http.StatusBadRequest)
		return
	}
	if st.Status == "" {
		st.Status = "UPDATE_COMPLETE"
	}
	if !stackStatuses[st.Status] {
		http.Error(w, "status "+st.Status+" is not a CloudFormation StackStatus", http.StatusBadRequest)
		return
	}
	st.Created = time.Now().UTC()
	s.mu.Lock()
	if s.stacks == nil {
		s.stacks = map[string]*cfnStack{}
	}
	s.stacks[st.Name], s.stacks[st.ID] = &st, &st
	s.mu.Unlock()
	w.WriteHeader(http.StatusNoContent)
}

func (s *Server) stack(nameOrID string) (*cfnStack, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	st, ok := s.stacks[nameOrID]
	return st, ok
}

const cfnNS = "http://cloudformation.amazonaws.com/doc/2010-05-15/"

func (s *Server) cfnDescribeStackResource(w http.ResponseWriter, r *http.Request) {
	name, logical := r.PostForm.Get("StackName"), r.PostForm.Get("LogicalResourceId")
	st, ok := s.stack(name)
	if !ok {
		queryError(w, 400, "ValidationError", fmt.Sprintf("Stack '%s' does not exist", name))
		return
	}
	phys, ok := st.Resources[logical]
	if !ok {
		queryError(w, 400, "ValidationError", fmt.Sprintf("Resource %s does not exist for stack %s", logical, st.Name))
		return
	}
	typ := "AWS::CloudFormation::Stack"
	if !strings.HasPrefix(phys, "arn:aws:cloudformation:") {
		typ = "AWS::CloudFormation::CustomResource"
	}
	fmt.Fprintf(w, `<DescribeStackResourceResponse xmlns="%s"><DescribeStackResourceResult><StackResourceDetail><StackId>%s</StackId><StackName>%s</StackName><LogicalResourceId>%s</LogicalResourceId><PhysicalResourceId>%s</PhysicalResourceId><ResourceType>%s</ResourceType><LastUpdatedTimestamp>%s</LastUpdatedTimestamp><ResourceStatus>UPDATE_COMPLETE</ResourceStatus></StackResourceDetail></DescribeStackResourceResult><ResponseMetadata><RequestId>testbed</RequestId></ResponseMetadata></DescribeStackResourceResponse>`,
		cfnNS, xmlEscape(st.ID), xmlEscape(st.Name), xmlEscape(logical), xmlEscape(phys), typ, st.Created.Format(time.RFC3339))
}

func (s *Server) cfnDescribeStacks(w http.ResponseWriter, r *http.Request) {
	name := r.PostForm.Get("StackName")
	if name == "" {
		queryError(w, 400, "ValidationError", "the test bed's DescribeStacks needs StackName")
		return
	}
	st, ok := s.stack(name)
	if !ok {
		queryError(w, 400, "ValidationError", fmt.Sprintf("Stack with id %s does not exist", name))
		return
	}
	keys := make([]string, 0, len(st.Outputs))
	for k := range st.Outputs {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var outs strings.Builder
	for _, k := range keys {
		fmt.Fprintf(&outs, `<member><OutputKey>%s</OutputKey><OutputValue>%s</OutputValue></member>`, xmlEscape(k), xmlEscape(st.Outputs[k]))
	}
	// A nested stack names its parent and its root, as CloudFormation's
	// ParentId and RootId do; a root stack has neither.
	var nesting string
	if parent := s.parentOf(st); parent != nil {
		root := parent
		for p, depth := s.parentOf(root), 0; p != nil && depth < 16; p, depth = s.parentOf(p), depth+1 {
			root = p // depth: planted stacks that nest each other end somewhere
		}
		nesting = fmt.Sprintf(`<ParentId>%s</ParentId><RootId>%s</RootId>`, xmlEscape(parent.ID), xmlEscape(root.ID))
	}
	fmt.Fprintf(w, `<DescribeStacksResponse xmlns="%s"><DescribeStacksResult><Stacks><member><StackName>%s</StackName><StackId>%s</StackId>%s<CreationTime>%s</CreationTime><StackStatus>%s</StackStatus><Outputs>%s</Outputs></member></Stacks></DescribeStacksResult><ResponseMetadata><RequestId>testbed</RequestId></ResponseMetadata></DescribeStacksResponse>`,
		cfnNS, xmlEscape(st.Name), xmlEscape(st.ID), nesting, st.Created.Format(time.RFC3339), st.Status, outs.String())
}

// parentOf is the planted stack that holds st as a nested stack (a
// resource whose physical id is st's ARN), or nil.
func (s *Server) parentOf(st *cfnStack) *cfnStack {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, cand := range s.stacks {
		if cand == st {
			continue
		}
		for _, phys := range cand.Resources {
			if phys == st.ID {
				return cand
			}
		}
	}
	return nil
}

func (s *Server) cfnGetTemplate(w http.ResponseWriter, r *http.Request) {
	name := r.PostForm.Get("StackName")
	st, ok := s.stack(name)
	if !ok {
		queryError(w, 400, "ValidationError", fmt.Sprintf("Stack with id %s does not exist", name))
		return
	}
	fmt.Fprintf(w, `<GetTemplateResponse xmlns="%s"><GetTemplateResult><TemplateBody>%s</TemplateBody><StagesAvailable><member>Original</member><member>Processed</member></StagesAvailable></GetTemplateResult><ResponseMetadata><RequestId>testbed</RequestId></ResponseMetadata></GetTemplateResponse>`,
		cfnNS, xmlEscape(st.Template))
}
