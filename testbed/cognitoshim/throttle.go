package cognitoshim

import (
	"encoding/json"
	"net/http"
	"sync"
	"time"
)

// throttlePath is the control endpoint for throttling: POST {"rules": [...]}
// sets the rules (an empty list: none; {"aws": true}: AWSQuotas, the
// default) and zeroes the counts; GET answers
// {"throttled": {"AdminCreateUser": 12, ...}}, the calls refused so far.
// With ?account=<12 digits> both concern that account only (POST
// {"aws": true}: the default rules again), so tests in other accounts
// keep theirs; without, every account.
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

// throttleSwitch holds the rules in force, by account: the default
// rules (none: nil) hold for every account that was not given its own.
// Each account has its own buckets and counts, as AWS's quotas are per
// account.
type throttleSwitch struct {
	mu       sync.Mutex
	rules    []ThrottleRule // the default
	now      func() time.Time
	accounts map[string]*throttleState
}

type throttleState struct {
	rules     []ThrottleRule
	own       bool       // set for this account, not the default
	buckets   []*limiter // by rule; nil without RPS
	calls     map[string]int
	throttled map[string]int
}

func newThrottleState(rules []ThrottleRule, now func() time.Time) *throttleState {
	t := &throttleState{rules: rules, calls: map[string]int{}, throttled: map[string]int{}}
	for _, r := range rules {
		var b *limiter
		if r.RPS > 0 {
			b = newLimiter(r.RPS, now)
		}
		t.buckets = append(t.buckets, b)
	}
	return t
}

// WithThrottle starts the shim with throttling rules instead of
// AWSQuotas, the default (none: no throttling).
func WithThrottle(rules ...ThrottleRule) Option {
	return func(s *Server) {
		s.throttleSet = true
		s.SetThrottle(rules)
	}
}

// SetThrottle replaces the throttling rules of every account (none: no
// throttling) and zeroes the counts.
func (s *Server) SetThrottle(rules []ThrottleRule) {
	s.setThrottle(rules, func() time.Time { return s.now() })
}

// setThrottle sets every account's rules with the clock their buckets
// refill by.
func (s *Server) setThrottle(rules []ThrottleRule, now func() time.Time) {
	t := &s.throttle
	t.mu.Lock()
	defer t.mu.Unlock()
	t.rules, t.now, t.accounts = rules, now, map[string]*throttleState{}
}

// setAccountThrottle gives one account its own rules (none: no
// throttling) and zeroes its counts; aws: the default rules again.
func (s *Server) setAccountThrottle(account string, rules []ThrottleRule, aws bool) {
	t := &s.throttle
	t.mu.Lock()
	defer t.mu.Unlock()
	if aws {
		delete(t.accounts, account)
		return
	}
	st := newThrottleState(rules, t.now)
	st.own = true
	t.accounts[account] = st
}

// Throttled counts, by operation, the calls refused since the rules were
// set, in every account.
func (s *Server) Throttled() map[string]int { return s.throttledIn("") }

// throttledIn counts the calls refused in one account ("": all).
func (s *Server) throttledIn(account string) map[string]int {
	t := &s.throttle
	t.mu.Lock()
	defer t.mu.Unlock()
	out := map[string]int{}
	for a, st := range t.accounts {
		if account != "" && a != account {
			continue
		}
		for op, n := range st.throttled {
			out[op] += n
		}
	}
	return out
}

// throttled answers TooManyRequestsException when a rule of the
// caller's account refuses the call.
func (s *Server) throttled(r *http.Request, op string) *apiError {
	t := &s.throttle
	t.mu.Lock()
	defer t.mu.Unlock()
	account := accountOf(r)
	st := t.accounts[account]
	if st == nil {
		if len(t.rules) == 0 {
			return nil
		}
		st = newThrottleState(t.rules, t.now)
		t.accounts[account] = st
	}
	st.calls[op]++
	refused := false
	for i, rule := range st.rules {
		if !names(rule.Operations, op) {
			continue
		}
		if rule.Every > 0 && (st.calls[op]-1)%rule.Every == 0 {
			refused = true
		}
		if b := st.buckets[i]; b != nil && !refused && !b.allow() {
			refused = true
		}
	}
	if !refused {
		return nil
	}
	st.throttled[op]++
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
	account := r.URL.Query().Get("account")
	if account != "" && !accountIDRE.MatchString(account) {
		writeError(w, errInvalid("throttle: account %q is not a 12-digit account id", account))
		return
	}
	switch r.Method {
	case http.MethodGet:
		writeJSON(w, map[string]any{"throttled": s.throttledIn(account)})
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
			if account != "" {
				s.setAccountThrottle(account, nil, true)
			} else {
				s.setThrottle(AWSQuotas(), time.Now)
			}
			w.WriteHeader(http.StatusNoContent)
			return
		}
		if account != "" {
			s.setAccountThrottle(account, in.Rules, false)
		} else {
			s.SetThrottle(in.Rules)
		}
		w.WriteHeader(http.StatusNoContent)
	default:
		writeError(w, errInvalid("%s %s: GET or POST", r.Method, throttlePath))
	}
}
