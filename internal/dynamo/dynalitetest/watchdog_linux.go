package dynalitetest

import "syscall"

const pdeathsigSupported = true

// setPdeathsig has the kernel kill the engine when the test process dies.
func setPdeathsig(a *syscall.SysProcAttr) { a.Pdeathsig = syscall.SIGKILL }
