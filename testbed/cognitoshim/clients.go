package cognitoshim

import (
	"net/http"
	"sort"
)

// maxClientPage is ListUserPoolClients' largest MaxResults.
const maxClientPage = 60

// listUserPoolClients answers as AWS does: a page of at most MaxResults
// (1 to 60) client descriptions, each only ClientId, ClientName and
// UserPoolId (cognito-local returns whole clients, in one page), so a
// caller must ask DescribeUserPoolClient for WriteAttributes and the rest.
func (s *Server) listUserPoolClients(r *http.Request, body []byte) (any, *apiError) {
	var in struct {
		UserPoolId string
		MaxResults *int
		NextToken  string
	}
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	limit, err := pageLimit(in.MaxResults, maxClientPage, "maxResults")
	if err != nil {
		return nil, err
	}
	var all struct {
		UserPoolClients []struct{ ClientId, ClientName, UserPoolId string }
	}
	if e := s.call(r.Context(), "ListUserPoolClients", map[string]any{"UserPoolId": in.UserPoolId}, &all); e != nil {
		return nil, e
	}
	clients := all.UserPoolClients
	sort.Slice(clients, func(i, j int) bool { return clients[i].ClientId < clients[j].ClientId })
	start := 0
	if in.NextToken != "" {
		t, e := s.decodeToken(in.NextToken, "ListUserPoolClients", in.UserPoolId, "")
		if e != nil {
			return nil, e
		}
		start = sort.Search(len(clients), func(i int) bool { return clients[i].ClientId > t.After })
	}
	end := min(start+limit, len(clients))
	page := make([]map[string]string, 0, end-start)
	for _, c := range clients[start:end] {
		page = append(page, map[string]string{"ClientId": c.ClientId, "ClientName": c.ClientName, "UserPoolId": c.UserPoolId})
	}
	out := map[string]any{"UserPoolClients": page}
	if end < len(clients) {
		out["NextToken"] = s.encodeToken(pageToken{Kind: "ListUserPoolClients", Pool: in.UserPoolId, After: clients[end-1].ClientId})
	}
	return out, nil
}
