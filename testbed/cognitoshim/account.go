package cognitoshim

import (
	"fmt"
	"hash/fnv"
	"net/http"
	"regexp"
	"strconv"
	"sync/atomic"
)

// AWS counts request quotas and the one active import job per account
// (and region). (Keys are letters and digits only: DynamoDB Local refuses
// others.) The shim tells accounts apart by the access key id in a
// request's SigV4 credential scope: the test bed's default key (and a
// request with none) is TestbedAccount, testbedN is account N, and any
// other key an account of its own. STS and IAM still answer as
// TestbedAccount; only the per-account limits are kept apart, so tests
// running at once each have their own.
const (
	// DefaultAccessKeyID is the test bed's default access key id.
	DefaultAccessKeyID = "testbed"
	// AccountKeys is how many testbedN keys (N = 1…AccountKeys) accountsPath
	// hands out in turn; testbed.sh gives each an S3 identity too.
	AccountKeys = 32
	// accountsPath: POST answers {"accessKeyId": "testbedN"}, the next of
	// the AccountKeys keys in turn, for a test process of its own account.
	accountsPath = "/_testbed/accounts"
)

var (
	credentialRE = regexp.MustCompile(`Credential=([^/,\s]+)/`)
	numberedKey  = regexp.MustCompile(`^testbed([1-9][0-9]{0,8})$`)
)

// AccountOf is the account an access key id belongs to on the test bed.
func AccountOf(accessKeyID string) string {
	if accessKeyID == "" || accessKeyID == DefaultAccessKeyID {
		return TestbedAccount
	}
	if m := numberedKey.FindStringSubmatch(accessKeyID); m != nil {
		n, _ := strconv.Atoi(m[1])
		return fmt.Sprintf("%012d", n)
	}
	h := fnv.New64a()
	h.Write([]byte(accessKeyID))
	// Above a billion: never one of the numbered keys' accounts.
	return fmt.Sprintf("%012d", 1_000_000_000+h.Sum64()%(1_000_000_000_000-1_000_000_000))
}

// accountOf is the account of a request's credentials (with no SigV4
// Authorization header: TestbedAccount).
func accountOf(r *http.Request) string {
	if r == nil {
		return TestbedAccount
	}
	m := credentialRE.FindStringSubmatch(r.Header.Get("Authorization"))
	if m == nil {
		return TestbedAccount
	}
	return AccountOf(m[1])
}

// accountKeys hands out the testbedN keys in turn.
type accountKeys struct{ next atomic.Uint64 }

func (s *Server) serveAccounts(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		writeError(w, errInvalid("%s %s: POST", r.Method, accountsPath))
		return
	}
	n := s.accountKeys.next.Add(1)
	writeJSON(w, map[string]string{"accessKeyId": fmt.Sprintf("testbed%d", (n-1)%AccountKeys+1)})
}
