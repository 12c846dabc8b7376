package testenv

import (
	"os/exec"
	"syscall"
)

// DieWithTest makes cmd's whole process group die with the test binary:
// a go test timeout exits without running cleanups, and the Amplify CLI or
// cdk synth left behind would go on eating gigabytes (they did, under load,
// until the machine ran out of memory). The child gets SIGKILL when this
// process dies, and cancelling the command's context kills its group.
func DieWithTest(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	cmd.Cancel = func() error {
		if cmd.Process == nil {
			return nil
		}
		return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
	}
}
