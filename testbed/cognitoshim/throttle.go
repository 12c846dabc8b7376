package cognitoshim

import (
	"encoding/json"
	"net/http"
	"sync"
	"sync/atomic"
	"time"
)

// throttlePath is the control endpoint for throttling: POST {"rules": [...]}
// sets the rules (an empty list: none; {"aws": true}: AWSQuotas, the
// default) and zeroes the counts; GET answers
// {"throttled": {"AdminCreateUser": 12, ...}}, the calls refused so far.
const throttlePath = "/_testbed/throttle"

// ThrottleRule makes the shim answer TooManyRequestsException ("Rate
// exceeded", HTTP 400, as AWS does) to Cognito API calls, so tests see the
// tool ride out throttling the shared test bed never produces by itself.
// A call is refused when any rule naming its operation refuses it.
type ThrottleRule struct {
	// Operations are the operation names (the X-Amz-Target's, e.g.
	// "AdminCreateUser") the rule covers.
	Operations []string `json:"operations"`
	// RPS is a quota the operations share, as those of one AWS quota
	// category do: a token bucket of one second's burst. 0: none.
	RPS float64 `json:"rps,omitempty"`
	// Every injects the exception into each operation's 1st, (N+1)th,
	// (2N+1)th… call, whatever the rate (so every named operation that is
	// called is refused at least once). 0: never.
	Every int `json:"every,omitempty"`
}

// AWSQuotas are Cognito's default per-account request quotas as rules
// (AWS's quotas page; which operation belongs to which category is partly
// inferred, see ../shared/research/cognito-import.md §3.1). AWS also caps
// CreateGroup at 5 a second per pool, which this leaves out.
func AWSQuotas() []ThrottleRule {
	return append([]ThrottleRule{
		{Operations: []string{"ListUsers", "ListUsersInGroup"}, RPS: 30},                                                                               // UserList
		{Operations: []string{"AdminCreateUser", "SignUp", "ConfirmSignUp", "AdminConfirmSignUp"}, RPS: 50},                                            // UserCreation
		{Operations: []string{"AdminDisableUser", "AdminEnableUser", "AdminUpdateUserAttributes", "AdminSetUserPassword", "AdminDeleteUser"}, RPS: 25}, // UserUpdate
		{Operations: []string{"AdminAddUserToGroup", "AdminRemoveUserFromGroup"}, RPS: 25},                                                             // UserResourceUpdate
		{Operations: []string{"AdminListGroupsForUser"}, RPS: 50},                                                                                      // UserResourceRead
		{Operations: []string{"ListGroups", "GetGroup"}, RPS: 20},                                                                                      // UserPoolResourceRead
		{Operations: []string{"CreateGroup", "UpdateGroup", "DeleteGroup"}, RPS: 15},                                                                   // UserPoolResourceUpdate
		{Operations: []string{"AdminGetUser"}, RPS: 120},                                                                                               // UserRead
		{Operations: []string{"DescribeUserPool", "GetCSVHeader", "DescribeUserImportJob", "ListUserImportJobs"}, RPS: 15},                             // UserPoolRead
		{Operations: []string{"AdminInitiateAuth", "AdminRespondToAuthChallenge", "InitiateAuth", "RespondToAuthChallenge"}, RPS: 120},                 // UserAuthentication
	}, identityQuotas()...)
}

// throttleSwitch holds the rules in force (none: nil), swapped whole.
type throttleSwitch struct{ p atomic.Pointer[throttleState] }

type throttleState struct {
	mu        sync.Mutex
	rules     []ThrottleRule
	buckets   []*limiter // by rule; nil without RPS
	calls     map[string]int
	throttled map[string]int
}

// WithThrottle starts the shim with throttling rules instead of
// AWSQuotas, the default (none: no throttling).
func WithThrottle(rules ...ThrottleRule) Option {
	return func(s *Server) {
		s.throttleSet = true
		s.SetThrottle(rules)
	}
}

// SetThrottle replaces the throttling rules (none: no throttling) and
// zeroes the counts.
func (s *Server) SetThrottle(rules []ThrottleRule) {
	s.setThrottle(rules, func() time.Time { return s.now() })
}

// setThrottle sets the rules with the clock their buckets refill by.
func (s *Server) setThrottle(rules []ThrottleRule, now func() time.Time) {
	if len(rules) == 0 {
		s.throttle.p.Store(nil)
		return
	}
	t := &throttleState{rules: rules, calls: map[string]int{}, throttled: map[string]int{}}
	for _, r := range rules {
		var b *limiter
		if r.RPS > 0 {
			b = newLimiter(r.RPS, now)
		}
		t.buckets = append(t.buckets, b)
	}
	s.throttle.p.Store(t)
}

// Throttled counts, by operation, the calls refused since the rules were
// set.
func (s *Server) Throttled() map[string]int {
	t := s.throttle.p.Load()
	out := map[string]int{}
	if t == nil {
		return out
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	for op, n := range t.throttled {
		out[op] = n
	}
	return out
}

// throttled answers TooManyRequestsException when a rule refuses the call.
func (s *Server) throttled(op string) *apiError {
	t := s.throttle.p.Load()
	if t == nil {
		return nil
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	t.calls[op]++
	refused := false
	for i, r := range t.rules {
		if !names(r.Operations, op) {
			continue
		}
		if r.Every > 0 && (t.calls[op]-1)%r.Every == 0 {
			refused = true
		}
		if b := t.buckets[i]; b != nil && !refused && !b.allow() {
			refused = true
		}
	}
	if !refused {
		return nil
	}
	t.throttled[op]++
	return errOf("TooManyRequestsException", "Rate exceeded")
}

func names(ops []string, op string) bool {
	for _, o := range ops {
		if o == op {
			return true
		}
	}
	return false
}

// serveThrottle is the control endpoint.
func (s *Server) serveThrottle(w http.ResponseWriter, r *http.Request) {
	switch r.Method {
	case http.MethodGet:
		writeJSON(w, map[string]any{"throttled": s.Throttled()})
	case http.MethodPost:
		var in struct {
			Rules []ThrottleRule `json:"rules"`
			AWS   bool           `json:"aws"`
		}
		if err := json.NewDecoder(r.Body).Decode(&in); err != nil {
			writeError(w, errInvalid("throttle rules: %v", err))
			return
		}
		for _, rule := range in.Rules {
			if len(rule.Operations) == 0 || rule.RPS < 0 || rule.Every < 0 || (rule.RPS == 0 && rule.Every == 0) {
				writeError(w, errInvalid("a throttle rule needs operations and an rps or an every above 0: %+v", rule))
				return
			}
		}
		if in.AWS {
			if len(in.Rules) > 0 {
				writeError(w, errInvalid("throttle: rules or aws, not both"))
				return
			}
			s.setThrottle(AWSQuotas(), time.Now)
			w.WriteHeader(http.StatusNoContent)
			return
		}
		s.SetThrottle(in.Rules)
		w.WriteHeader(http.StatusNoContent)
	default:
		writeError(w, errInvalid("%s %s: GET or POST", r.Method, throttlePath))
	}
}
