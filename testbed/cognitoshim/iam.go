package cognitoshim

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"sort"
	"strings"
	"time"
)

// The shim's IAM keeps the roles created through it (CreateRole), their
// inline policies (PutRolePolicy), attached managed policies
// (AttachRolePolicy) and tags (Tags on CreateRole, TagRole), and answers
// GetRole, GetRolePolicy, ListRolePolicies, ListAttachedRolePolicies and
// ListRoleTags as IAM does: policy documents come back URL-encoded (RFC
// 3986), and an unknown role is NoSuchEntity. Only roles it created exist:
// Cognito (an import job's CloudWatch Logs role) and Lambda (a function's
// execution role) accept no other, and each only when the role's trust
// policy lets its service assume it.

type iamRole struct {
	Name, Arn, Trust string
	Policies         map[string]string
	Attached         []string // managed policy ARNs
	Tags             map[string]string
	Created          time.Time
}

const iamNS = "https://iam.amazonaws.com/doc/2010-05-08/"

var (
	roleNameRE = regexp.MustCompile(`^[\w+=,.@-]{1,64}$`)
	// Tag keys and values: letters, spaces, digits and _.:/=+-@ (IAM's
	// documented pattern); keys 1-128, values 0-256 characters.
	tagKeyRE    = regexp.MustCompile(`^[\p{L}\p{Z}\p{N}_.:/=+\-@]{1,128}$`)
	tagValueRE  = regexp.MustCompile(`^[\p{L}\p{Z}\p{N}_.:/=+\-@]{0,256}$`)
	policyArnRE = regexp.MustCompile(`^arn:aws:iam::(aws|\d{12}):policy/[\w+=,.@/-]+$`)
)

func iamOK(w http.ResponseWriter, action, result string) {
	if result != "" {
		result = "<" + action + "Result>" + result + "</" + action + "Result>"
	}
	fmt.Fprintf(w, `<%sResponse xmlns="%s">%s<ResponseMetadata><RequestId>testbed</RequestId></ResponseMetadata></%sResponse>`, action, iamNS, result, action)
}

// serveIAM answers the IAM actions; false when action is not one.
func (s *Server) serveIAM(w http.ResponseWriter, r *http.Request, action string) bool {
	switch action {
	case "CreateRole":
		s.iamCreateRole(w, r)
	case "GetRole":
		s.withRole(w, r, func(role *iamRole) { iamOK(w, action, roleXML(role)) })
	case "PutRolePolicy":
		policy := r.PostForm.Get("PolicyDocument")
		if !json.Valid([]byte(policy)) {
			queryError(w, 400, "MalformedPolicyDocument", "The policy is not valid JSON.")
			return true
		}
		s.withRole(w, r, func(role *iamRole) {
			role.Policies[r.PostForm.Get("PolicyName")] = policy
			iamOK(w, action, "")
		})
	case "DeleteRolePolicy": // iamdelete.go
		s.iamDeleteRolePolicy(w, r)
	case "DeleteRole":
		s.iamDeleteRole(w, r)
	case "GetRolePolicy":
		s.withRole(w, r, func(role *iamRole) {
			name := r.PostForm.Get("PolicyName")
			doc, ok := role.Policies[name]
			if !ok {
				queryError(w, 404, "NoSuchEntity", "The role policy with name "+name+" cannot be found.")
				return
			}
			iamOK(w, action, fmt.Sprintf(`<RoleName>%s</RoleName><PolicyName>%s</PolicyName><PolicyDocument>%s</PolicyDocument>`, xmlEscape(role.Name), xmlEscape(name), policyEscape(doc)))
		})
	case "ListRolePolicies":
		s.withRole(w, r, func(role *iamRole) {
			var b strings.Builder
			for _, n := range sortedKeys(role.Policies) {
				fmt.Fprintf(&b, "<member>%s</member>", xmlEscape(n))
			}
			iamOK(w, action, "<PolicyNames>"+b.String()+"</PolicyNames><IsTruncated>false</IsTruncated>")
		})
	case "AttachRolePolicy":
		arn := r.PostForm.Get("PolicyArn")
		if !policyArnRE.MatchString(arn) {
			queryError(w, 400, "InvalidInput", "ARN "+arn+" is not valid.")
			return true
		}
		s.withRole(w, r, func(role *iamRole) {
			role.Attached = append(role.Attached, arn)
			iamOK(w, action, "")
		})
	case "ListAttachedRolePolicies":
		s.withRole(w, r, func(role *iamRole) {
			var b strings.Builder
			for _, a := range role.Attached {
				fmt.Fprintf(&b, "<member><PolicyName>%s</PolicyName><PolicyArn>%s</PolicyArn></member>", xmlEscape(a[strings.LastIndex(a, "/")+1:]), xmlEscape(a))
			}
			iamOK(w, action, "<AttachedPolicies>"+b.String()+"</AttachedPolicies><IsTruncated>false</IsTruncated>")
		})
	case "TagRole":
		tags, msg := formTags(r)
		if msg != "" {
			queryError(w, 400, "InvalidInput", msg)
			return true
		}
		s.withRole(w, r, func(role *iamRole) {
			for k, v := range tags {
				role.Tags[k] = v
			}
			if len(role.Tags) > 50 {
				queryError(w, 400, "LimitExceeded", "The number of tags has reached the maximum limit.")
				return
			}
			iamOK(w, action, "")
		})
	case "ListRoleTags":
		s.withRole(w, r, func(role *iamRole) {
			iamOK(w, action, tagsXML(role.Tags)+"<IsTruncated>false</IsTruncated>")
		})
	default:
		return false
	}
	return true
}

// withRole runs f on the role named by the request's RoleName, under the
// lock, or answers NoSuchEntity.
func (s *Server) withRole(w http.ResponseWriter, r *http.Request, f func(*iamRole)) {
	name := r.PostForm.Get("RoleName")
	s.mu.Lock()
	defer s.mu.Unlock()
	role, ok := s.roles[name]
	if !ok {
		queryError(w, 404, "NoSuchEntity", "The role with name "+name+" cannot be found.")
		return
	}
	f(role)
}

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
	tags, msg := formTags(r)
	if msg != "" {
		queryError(w, 400, "InvalidInput", msg)
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.roles[name]; ok {
		queryError(w, 409, "EntityAlreadyExists", "Role with name "+name+" already exists.")
		return
	}
	role := &iamRole{Name: name, Arn: fmt.Sprintf("arn:aws:iam::%s:role/%s", TestbedAccount, name), Trust: trust,
		Policies: map[string]string{}, Tags: tags, Created: s.now().UTC()}
	s.roles[name] = role
	iamOK(w, "CreateRole", roleXML(role))
}

// formTags reads Tags.member.N.Key/Value.
func formTags(r *http.Request) (map[string]string, string) {
	tags := map[string]string{}
	for i := 1; ; i++ {
		k, ok := r.PostForm[fmt.Sprintf("Tags.member.%d.Key", i)]
		if !ok {
			break
		}
		v := r.PostForm.Get(fmt.Sprintf("Tags.member.%d.Value", i))
		if len(k) != 1 || !tagKeyRE.MatchString(k[0]) || !tagValueRE.MatchString(v) {
			return nil, fmt.Sprintf("1 validation error detected: Value at 'tags.%d.member' failed to satisfy constraint", i)
		}
		if strings.HasPrefix(strings.ToLower(k[0]), "aws:") {
			return nil, "User is not authorized to use the aws: prefix in tag keys."
		}
		tags[k[0]] = v
	}
	if len(tags) > 50 {
		return nil, "The number of tags has reached the maximum limit."
	}
	return tags, ""
}

func tagsXML(tags map[string]string) string {
	var b strings.Builder
	b.WriteString("<Tags>")
	for _, k := range sortedKeys(tags) {
		fmt.Fprintf(&b, "<member><Key>%s</Key><Value>%s</Value></member>", xmlEscape(k), xmlEscape(tags[k]))
	}
	b.WriteString("</Tags>")
	return b.String()
}

func roleXML(r *iamRole) string {
	tags := ""
	if len(r.Tags) > 0 {
		tags = tagsXML(r.Tags)
	}
	return fmt.Sprintf(`<Role><Path>/</Path><RoleName>%s</RoleName><RoleId>AROATESTBED%s</RoleId><Arn>%s</Arn><CreateDate>%s</CreateDate><AssumeRolePolicyDocument>%s</AssumeRolePolicyDocument>%s</Role>`,
		xmlEscape(r.Name), strings.ToUpper(fmt.Sprintf("%x", len(r.Name))), xmlEscape(r.Arn), r.Created.Format(time.RFC3339), policyEscape(r.Trust), tags)
}

// policyEscape URL-encodes a policy document as IAM returns it (RFC 3986:
// every byte but the unreserved characters), then escapes it for XML.
func policyEscape(doc string) string {
	return xmlEscape(strings.ReplaceAll(url.QueryEscape(doc), "+", "%20"))
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// trusts tells whether a trust policy lets service assume the role: an
// Allow statement with the action sts:AssumeRole and the service among its
// Service principals.
func trusts(doc, service string) bool {
	var p struct {
		Statement json.RawMessage
	}
	if json.Unmarshal([]byte(doc), &p) != nil {
		return false
	}
	type statement struct {
		Effect    string
		Action    json.RawMessage
		Principal struct{ Service json.RawMessage }
	}
	var sts []statement
	if json.Unmarshal(p.Statement, &sts) != nil {
		var one statement
		if json.Unmarshal(p.Statement, &one) != nil {
			return false
		}
		sts = []statement{one}
	}
	for _, st := range sts {
		if st.Effect == "Allow" && contains(stringOrList(st.Action), "sts:AssumeRole") && contains(stringOrList(st.Principal.Service), service) {
			return true
		}
	}
	return false
}

func stringOrList(raw json.RawMessage) []string {
	var one string
	if json.Unmarshal(raw, &one) == nil {
		return []string{one}
	}
	var list []string
	_ = json.Unmarshal(raw, &list)
	return list
}

func contains(list []string, v string) bool {
	for _, x := range list {
		if x == v {
			return true
		}
	}
	return false
}

// roleByArn returns the role the shim created with that ARN. Call it with
// s.mu held.
func (s *Server) roleByArn(arn string) (*iamRole, bool) {
	for _, r := range s.roles {
		if r.Arn == arn {
			return r, true
		}
	}
	return nil, false
}

// roleProblem says why Cognito could not use arn as an import job's
// CloudWatch Logs role: only a role the shim's IAM created, trusting
// cognito-idp.amazonaws.com and allowed to write the jobs' logs, will do
// (AWS: the job fails when Cognito cannot assume the role or write).
func (s *Server) roleProblem(arn string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	role, ok := s.roleByArn(arn)
	if !ok {
		return "The CloudWatch Logs role " + arn + " could not be assumed: it does not exist. Check that it exists and trusts cognito-idp.amazonaws.com."
	}
	if !trusts(role.Trust, "cognito-idp.amazonaws.com") {
		return "The CloudWatch Logs role " + arn + " does not trust cognito-idp.amazonaws.com."
	}
	for _, p := range role.Policies {
		if strings.Contains(p, "logs:PutLogEvents") && strings.Contains(p, "/aws/cognito/") {
			return ""
		}
	}
	return "The CloudWatch Logs role " + arn + " may not write to log groups /aws/cognito/*."
}
