package testenv

import (
	"bytes"
	"encoding/json"
	"net/http"
	"os"
	"testing"

	"github.com/poolmigrate/poolmigrate/testbed/cognitoshim"
)

// Throttle makes the test bed's Cognito shim answer TooManyRequestsException
// by the rules (none: never) instead of AWS's quotas until the test ends,
// in this process's account only (account.go); Throttled reads what it
// refused there.
func (e *Env) Throttle(t testing.TB, rules ...cognitoshim.ThrottleRule) {
	t.Helper()
	if rules == nil {
		rules = []cognitoshim.ThrottleRule{}
	}
	e.setThrottle(t, map[string]any{"rules": rules})
	t.Cleanup(func() { e.setThrottle(t, map[string]any{"aws": true}) })
}

func (e *Env) setThrottle(t testing.TB, req map[string]any) {
	t.Helper()
	body, _ := json.Marshal(req)
	resp, err := http.Post(shimEndpoint(t)+"/_testbed/throttle?account="+e.Account(), "application/json", bytes.NewReader(body))
	if err != nil {
		t.Fatalf("set the shim's throttling: %v", err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNoContent {
		t.Fatalf("set the shim's throttling: %s (restart the test bed if it predates throttling)", resp.Status)
	}
}

// Throttled counts, by operation, the calls the shim refused since
// Throttle.
func (e *Env) Throttled(t testing.TB) map[string]int {
	t.Helper()
	resp, err := http.Get(shimEndpoint(t) + "/_testbed/throttle?account=" + e.Account())
	if err != nil {
		t.Fatalf("read the shim's throttling: %v", err)
	}
	defer resp.Body.Close()
	var out struct{ Throttled map[string]int }
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
		t.Fatalf("read the shim's throttling: %v", err)
	}
	return out.Throttled
}

func shimEndpoint(t testing.TB) string {
	t.Helper()
	endpoint := os.Getenv("AWS_ENDPOINT_URL_COGNITO_IDENTITY_PROVIDER")
	if endpoint == "" {
		t.Fatal("AWS_ENDPOINT_URL_COGNITO_IDENTITY_PROVIDER is not set: start the test bed with testbed/testbed.sh")
	}
	return endpoint
}
