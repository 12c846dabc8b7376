package main

import (
	"os/exec"
	"syscall"
)

// dieWithDemo makes cmd end when the demo does, also when it stops on a
// fatal error (which runs no deferred clean-up).
func dieWithDemo(cmd *exec.Cmd) { cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL} }
