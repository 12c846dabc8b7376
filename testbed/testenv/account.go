package testenv

import (
	"encoding/json"
	"net/http"
	"os"
	"sync"
	"testing"

	"github.com/poolmigrate/poolmigrate/testbed/cognitoshim"
)

// Each test process signs with an access key of its own, so an account
// of its own on the test bed: AWS counts request quotas and the one
// active import job per account, and so does the shim. Packages can then
// run their tests at once (go test -p 2) without sharing those limits,
// while the tests of one package share their process's account, as the
// tool in the same process does (it reads AWS_ACCESS_KEY_ID, as users set
// it). The key is set in the process's environment, so the tool run in
// the test process and the binaries it starts use it too.
// POOLMIGRATE_TESTBED_SHARED_ACCOUNT=1 keeps the test bed's default key.
var processAccount struct {
	once sync.Once
	err  string
}

// useOwnAccount sets AWS_ACCESS_KEY_ID to a key the shim hands out, once
// a process, unless the environment holds a key other than the test
// bed's default (someone chose it).
func useOwnAccount(t testing.TB) {
	t.Helper()
	processAccount.once.Do(func() {
		if os.Getenv("POOLMIGRATE_TESTBED_SHARED_ACCOUNT") == "1" || os.Getenv("AWS_ACCESS_KEY_ID") != cognitoshim.DefaultAccessKeyID {
			return
		}
		resp, err := http.Post(os.Getenv("AWS_ENDPOINT_URL_COGNITO_IDENTITY_PROVIDER")+"/_testbed/accounts", "application/json", nil)
		if err != nil {
			processAccount.err = "ask the shim for an account: " + err.Error()
			return
		}
		defer resp.Body.Close()
		var out struct{ AccessKeyID string }
		if resp.StatusCode != http.StatusOK || json.NewDecoder(resp.Body).Decode(&out) != nil || out.AccessKeyID == "" {
			processAccount.err = "ask the shim for an account: " + resp.Status + " (restart the test bed if it predates accounts: testbed/testbed.sh down && testbed/testbed.sh up)"
			return
		}
		os.Setenv("AWS_ACCESS_KEY_ID", out.AccessKeyID)
	})
	if processAccount.err != "" {
		t.Fatal(processAccount.err)
	}
}

// Account is the test bed account this process's calls count against.
func (e *Env) Account() string {
	return cognitoshim.AccountOf(os.Getenv("AWS_ACCESS_KEY_ID"))
}
