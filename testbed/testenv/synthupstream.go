package testenv

import (
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net/http"
	"strings"
	"sync"
	"time"

	cip "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider"
)

// Upstream serves the pool over the Cognito JSON protocol the way the
// Cognito shim's upstream (cognito-local) answers the shim during a backup:
// DescribeUserPool, ListUsers with every user a `sub ^= "prefix"` filter
// matches in one answer (the shim pages them), and ListGroups (none). Each
// answer waits latency first. Answers to ListUsers are kept for the
// shards being paged (the shim asks for the whole shard on every page), so
// the upstream costs the benchmark's 2 cores little.
//
// It is for benchmarks of the tool's pacing against the shim's UserList
// quota on pools cognito-local cannot serve at that rate: cognito-local
// filters its whole pool in JavaScript for every request, which for 100,000
// users on the 2-core test machine takes from 40 ms (idle) to half a second
// (shared), so it, not the quota, would set the pace.
func (s SynthPool) Upstream(poolID string, latency time.Duration) http.Handler {
	var mu sync.Mutex
	answers := map[string][]byte{}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		time.Sleep(latency)
		body, _ := io.ReadAll(r.Body)
		var in struct {
			UserPoolId string
			Filter     string
		}
		_ = json.Unmarshal(body, &in)
		if in.UserPoolId != poolID {
			upstreamError(w, "ResourceNotFoundException", "User pool "+in.UserPoolId+" does not exist.")
			return
		}
		var out any
		switch op := strings.TrimPrefix(r.Header.Get("X-Amz-Target"), "AWSCognitoIdentityProviderService."); op {
		case "DescribeUserPool":
			out = map[string]any{"UserPool": map[string]any{"Id": poolID, "Name": "synthetic", "EstimatedNumberOfUsers": s.N, "MfaConfiguration": "OFF"}}
		case "ListGroups":
			out = map[string]any{"Groups": []any{}}
		case "ListUsers":
			mu.Lock()
			data, ok := answers[in.Filter]
			mu.Unlock()
			if ok {
				w.Header().Set("Content-Type", "application/x-amz-json-1.1")
				_, _ = w.Write(data)
				return
			}
			filter := in.Filter
			if filter == "" {
				filter = `sub ^= ""`
			}
			page, err := s.ListUsers(r.Context(), &cip.ListUsersInput{Filter: &filter, Limit: ptr(int32(math.MaxInt32))})
			if err != nil {
				upstreamError(w, "InternalErrorException", err.Error())
				return
			}
			users := make([]map[string]any, len(page.Users))
			for i, u := range page.Users {
				attrs := make([]map[string]string, len(u.Attributes))
				for j, a := range u.Attributes {
					attrs[j] = map[string]string{"Name": *a.Name, "Value": *a.Value}
				}
				users[i] = map[string]any{"Username": *u.Username, "Attributes": attrs, "Enabled": u.Enabled, "UserStatus": string(u.UserStatus),
					"UserCreateDate": u.UserCreateDate.Unix(), "UserLastModifiedDate": u.UserLastModifiedDate.Unix()}
			}
			data, _ = json.Marshal(map[string]any{"Users": users})
			mu.Lock()
			if len(answers) >= 64 {
				clear(answers)
			}
			answers[in.Filter] = data
			mu.Unlock()
			w.Header().Set("Content-Type", "application/x-amz-json-1.1")
			_, _ = w.Write(data)
			return
		default:
			upstreamError(w, "NotImplementedException", fmt.Sprintf("the synthetic pool does not answer %s", op))
			return
		}
		w.Header().Set("Content-Type", "application/x-amz-json-1.1")
		_ = json.NewEncoder(w).Encode(out)
	})
}

func upstreamError(w http.ResponseWriter, typ, msg string) {
	w.Header().Set("Content-Type", "application/x-amz-json-1.1")
	w.WriteHeader(http.StatusBadRequest)
	_ = json.NewEncoder(w).Encode(map[string]string{"__type": typ, "message": msg})
}
