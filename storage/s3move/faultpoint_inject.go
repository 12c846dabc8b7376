//go:build faultinject

package s3move

import (
	"os"
	"strconv"
	"strings"
	"sync/atomic"
)

// FaultEnv names the step at which a binary built with the faultinject
// tag kills itself, and when: "journaled:3" is the third copy journaled
// and not yet sent ("copied": made and not yet journaled done; "parts":
// a multipart copy's parts made, not yet completed).
const FaultEnv = "POOLMIGRATE_TEST_S3_KILL_AT"

var (
	faultStep = os.Getenv(FaultEnv)
	faultAt   int64
	faultSeen atomic.Int64
)

func init() {
	if i := strings.LastIndexByte(faultStep, ':'); i > 0 {
		if n, err := strconv.ParseInt(faultStep[i+1:], 10, 64); err == nil && n > 0 {
			faultStep, faultAt = faultStep[:i], n
			return
		}
	}
	faultStep = ""
}

// faultPoint kills the process (SIGKILL) the faultAt-th time it reaches
// faultStep.
func faultPoint(step string) {
	if faultStep == "" || step != faultStep || faultSeen.Add(1) != faultAt {
		return
	}
	os.Stderr.WriteString("fault injection: killed at " + step + "\n")
	if p, err := os.FindProcess(os.Getpid()); err == nil {
		_ = p.Kill()
	}
	select {}
}
