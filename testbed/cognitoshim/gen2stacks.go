package cognitoshim

import (
	"encoding/json"
	"fmt"
	"net/http"
	"sort"
	"strings"
	"time"
)

// DescribeStackResources finds the stack a resource belongs to from its
// physical id, the way poolmigrate finds an Amplify Gen 2 app's auth stack
// from its user pool id (the stack's name has a hash no file records). As
// AWS documents it: with PhysicalResourceId, every resource of the stack
// holding that resource; with StackName, every resource of that stack;
// with neither, or for an unknown resource or stack, a ValidationError.
// Resource types come from the planted template.
func (s *Server) cfnDescribeStackResources(w http.ResponseWriter, r *http.Request) {
	name, phys := r.PostForm.Get("StackName"), r.PostForm.Get("PhysicalResourceId")
	var st *cfnStack
	switch {
	case name != "":
		var ok bool
		if st, ok = s.stack(name); !ok {
			queryError(w, 400, "ValidationError", fmt.Sprintf("Stack with id %s does not exist", name))
			return
		}
	case phys != "":
		s.mu.Lock()
		for _, cand := range s.stacks {
			for _, p := range cand.Resources {
				if p == phys {
					st = cand
				}
			}
		}
		s.mu.Unlock()
		if st == nil {
			queryError(w, 400, "ValidationError", fmt.Sprintf("Stack for %s does not exist", phys))
			return
		}
	default:
		queryError(w, 400, "ValidationError", "Either StackName or PhysicalResourceId must be specified.")
		return
	}
	var tmpl struct {
		Resources map[string]struct{ Type string }
	}
	_ = json.Unmarshal([]byte(st.Template), &tmpl)
	logical := make([]string, 0, len(st.Resources))
	for l := range st.Resources {
		logical = append(logical, l)
	}
	sort.Strings(logical)
	var members strings.Builder
	for _, l := range logical {
		typ := tmpl.Resources[l].Type
		if typ == "" {
			typ = "AWS::CloudFormation::Stack"
		}
		fmt.Fprintf(&members, `<member><StackId>%s</StackId><StackName>%s</StackName><LogicalResourceId>%s</LogicalResourceId><PhysicalResourceId>%s</PhysicalResourceId><ResourceType>%s</ResourceType><Timestamp>%s</Timestamp><ResourceStatus>UPDATE_COMPLETE</ResourceStatus></member>`,
			xmlEscape(st.ID), xmlEscape(st.Name), xmlEscape(l), xmlEscape(st.Resources[l]), xmlEscape(typ), st.Created.Format(time.RFC3339))
	}
	fmt.Fprintf(w, `<DescribeStackResourcesResponse xmlns="%s"><DescribeStackResourcesResult><StackResources>%s</StackResources></DescribeStackResourcesResult><ResponseMetadata><RequestId>testbed</RequestId></ResponseMetadata></DescribeStackResourcesResponse>`,
		cfnNS, members.String())
}
