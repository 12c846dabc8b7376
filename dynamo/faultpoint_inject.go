//go:build faultinject

package dynamo

import (
	"os"
	"strconv"
	"strings"
	"sync/atomic"
)

// FaultEnv names the step at which a binary built with the faultinject tag
// kills itself, and when: "journaled:move:3" is the third time a move has
// been journaled and not yet sent. Tests use it to kill a remap at a
// chosen step (before or after the journal append, before or after the
// write, in the middle of a batch) and check the resume and the rollback.
const FaultEnv = "POOLMIGRATE_TEST_KILL_AT"

var (
	faultStep = os.Getenv(FaultEnv)
	faultAt   int64
	faultSeen atomic.Int64
)

func init() {
	if i := strings.LastIndexByte(faultStep, ':'); i > 0 {
		n, err := strconv.ParseInt(faultStep[i+1:], 10, 64)
		if err == nil && n > 0 {
			faultStep, faultAt = faultStep[:i], n
			return
		}
	}
	faultStep = ""
}

// faultPoint kills the process (SIGKILL, no clean-up of any kind) the
// faultAt-th time it reaches faultStep.
func faultPoint(step string) {
	if faultStep == "" || step != faultStep || faultSeen.Add(1) != faultAt {
		return
	}
	os.Stderr.WriteString("fault injection: killed at " + step + "\n")
	if p, err := os.FindProcess(os.Getpid()); err == nil {
		_ = p.Kill()
	}
	select {} // the kill is on its way
}
