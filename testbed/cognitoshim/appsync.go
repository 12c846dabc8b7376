package cognitoshim

import (
	"encoding/json"
	"fmt"
	"net/http"
	"regexp"
	"sort"
	"strconv"
	"strings"
)

// The shim answers the two AppSync calls that find an Amplify Gen 2
// backend's tables (point AWS_ENDPOINT_URL_APPSYNC at it): ListGraphqlApis
// (GET /v1/apis: the API whose GRAPHQL URI is amplify_outputs.json's
// data.url) and ListDataSources (GET /v1/apis/{apiId}/datasources: each
// model's <Model>Table and its dynamodbConfig.tableName). AppSync is a
// REST/JSON API; errors carry their type in X-Amzn-ErrorType and a JSON
// message, as AWS sends them. APIs are planted with a POST of a JSON
// appsyncAPI to appsyncPlantPath: the test bed deploys nothing.
//
// Strict where AWS documents it: maxResults outside 0..25 and a nextToken
// that is tampered with, expired or issued for another request are a
// BadRequestException; an unknown API id is a NotFoundException (HTTP
// 404). Undocumented, chosen here: a page holds 10 items when maxResults
// is 0 or absent, and items come sorted by id (APIs) or name (data
// sources).

const (
	appsyncPrefix    = "/v1/apis"
	appsyncPlantPath = "/_testbed/appsync/apis"
	appsyncMaxPage   = 25
	appsyncPage      = 10
)

type appsyncAPI struct {
	APIID       string              `json:"apiId"`
	Name        string              `json:"name"`
	GraphqlURL  string              `json:"graphqlUrl"`
	DataSources []appsyncDataSource `json:"dataSources"`
}

type appsyncDataSource struct {
	Name      string `json:"name"`
	Type      string `json:"type"` // AMAZON_DYNAMODB, NONE, AWS_LAMBDA, ...
	TableName string `json:"tableName,omitempty"`
}

var appsyncAPIIDRE = regexp.MustCompile(`^[a-z0-9]{26}$`)

func (s *Server) plantAppSyncAPI(w http.ResponseWriter, r *http.Request) {
	var api appsyncAPI
	if r.Method != http.MethodPost || json.NewDecoder(r.Body).Decode(&api) != nil || !appsyncAPIIDRE.MatchString(api.APIID) || api.GraphqlURL == "" {
		http.Error(w, `POST {"apiId" (26 lowercase letters and digits), "name", "graphqlUrl", "dataSources": [{"name", "type", "tableName"}]}`, http.StatusBadRequest)
		return
	}
	s.mu.Lock()
	if s.appsync == nil {
		s.appsync = map[string]*appsyncAPI{}
	}
	s.appsync[api.APIID] = &api
	s.mu.Unlock()
	w.WriteHeader(http.StatusNoContent)
}

func appsyncError(w http.ResponseWriter, status int, typ, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Amzn-ErrorType", typ)
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]string{"message": msg})
}

func (s *Server) serveAppSync(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet {
		appsyncError(w, 400, "BadRequestException", "the test bed's AppSync answers ListGraphqlApis and ListDataSources only")
		return
	}
	rest := strings.Trim(strings.TrimPrefix(r.URL.Path, appsyncPrefix), "/")
	parts := strings.Split(rest, "/")
	switch {
	case rest == "":
		s.listGraphqlAPIs(w, r)
	case len(parts) == 2 && parts[1] == "datasources":
		s.listDataSources(w, r, parts[0])
	default:
		appsyncError(w, 400, "BadRequestException", "the test bed's AppSync answers ListGraphqlApis and ListDataSources only")
	}
}

// appsyncPageOf checks maxResults and nextToken and returns the page size
// and the key to start after.
func (s *Server) appsyncPageOf(r *http.Request, kind, scope string) (int, string, bool, string) {
	limit := appsyncPage
	if v := r.URL.Query().Get("maxResults"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 || n > appsyncMaxPage {
			return 0, "", false, fmt.Sprintf("1 validation error detected: Value '%s' at 'maxResults' failed to satisfy constraint: Member must have value less than or equal to %d", v, appsyncMaxPage)
		}
		if n > 0 {
			limit = n
		}
	}
	after := ""
	if tok := r.URL.Query().Get("nextToken"); tok != "" {
		t, aerr := s.decodeToken(tok, kind, scope, "")
		if aerr != nil {
			return 0, "", false, aerr.Message
		}
		after = t.After
	}
	return limit, after, true, ""
}

func (s *Server) listGraphqlAPIs(w http.ResponseWriter, r *http.Request) {
	limit, after, ok, msg := s.appsyncPageOf(r, "appsync-apis", "")
	if !ok {
		appsyncError(w, 400, "BadRequestException", msg)
		return
	}
	s.mu.Lock()
	ids := make([]string, 0, len(s.appsync))
	for id := range s.appsync {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	var page []map[string]any
	next := ""
	for _, id := range ids {
		if id <= after {
			continue
		}
		if len(page) == limit {
			next = s.encodeToken(pageToken{Kind: "appsync-apis", After: page[len(page)-1]["apiId"].(string)})
			break
		}
		api := s.appsync[id]
		page = append(page, map[string]any{
			"apiId":              api.APIID,
			"name":               api.Name,
			"arn":                "arn:aws:appsync:us-east-1:" + TestbedAccount + ":apis/" + api.APIID,
			"authenticationType": "AMAZON_COGNITO_USER_POOLS",
			"uris":               map[string]string{"GRAPHQL": api.GraphqlURL},
			"apiType":            "GRAPHQL",
		})
	}
	s.mu.Unlock()
	out := map[string]any{"graphqlApis": nonNilPage(page)}
	if next != "" {
		out["nextToken"] = next
	}
	writeAppSyncJSON(w, out)
}

func (s *Server) listDataSources(w http.ResponseWriter, r *http.Request, apiID string) {
	s.mu.Lock()
	api, found := s.appsync[apiID]
	s.mu.Unlock()
	if !found {
		appsyncError(w, 404, "NotFoundException", "GraphQL API "+apiID+" not found.")
		return
	}
	limit, after, ok, msg := s.appsyncPageOf(r, "appsync-ds", apiID)
	if !ok {
		appsyncError(w, 400, "BadRequestException", msg)
		return
	}
	sources := append([]appsyncDataSource(nil), api.DataSources...)
	sort.Slice(sources, func(i, j int) bool { return sources[i].Name < sources[j].Name })
	var page []map[string]any
	next := ""
	for _, ds := range sources {
		if ds.Name <= after {
			continue
		}
		if len(page) == limit {
			next = s.encodeToken(pageToken{Kind: "appsync-ds", Pool: apiID, After: page[len(page)-1]["name"].(string)})
			break
		}
		item := map[string]any{
			"name":          ds.Name,
			"type":          ds.Type,
			"dataSourceArn": "arn:aws:appsync:us-east-1:" + TestbedAccount + ":apis/" + apiID + "/datasources/" + ds.Name,
		}
		if ds.Type == "AMAZON_DYNAMODB" {
			item["dynamodbConfig"] = map[string]any{"tableName": ds.TableName, "awsRegion": "us-east-1", "useCallerCredentials": false, "versioned": false}
		}
		page = append(page, item)
	}
	out := map[string]any{"dataSources": nonNilPage(page)}
	if next != "" {
		out["nextToken"] = next
	}
	writeAppSyncJSON(w, out)
}

func nonNilPage(p []map[string]any) []map[string]any {
	if p == nil {
		return []map[string]any{}
	}
	return p
}

func writeAppSyncJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(v)
}
