package cognitoshim

import (
	"encoding/json"
	"net/http"
)

// adminAddUserToGroup answers a missing group as AWS does, with a 400
// ResourceNotFoundException the caller can act on; cognito-local answers
// it with a 500, which the SDK retries as a fault of the service.
func (s *Server) adminAddUserToGroup(r *http.Request, body []byte) (any, *apiError) {
	var in struct{ UserPoolId, Username, GroupName string }
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	var groups struct{ Groups []struct{ GroupName string } }
	if e := s.call(r.Context(), "ListGroups", map[string]string{"UserPoolId": in.UserPoolId}, &groups); e != nil {
		return nil, e
	}
	found := false
	for _, g := range groups.Groups {
		found = found || g.GroupName == in.GroupName
	}
	if !found {
		return nil, errOf("ResourceNotFoundException", "Group not found.")
	}
	var out json.RawMessage
	if e := s.call(r.Context(), "AdminAddUserToGroup", json.RawMessage(body), &out); e != nil {
		return nil, e
	}
	return out, nil
}
