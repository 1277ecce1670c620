//go:build !linux

package dynalitetest

import "syscall"

// Only Linux has a parent-death signal; elsewhere the wrapper script ties
// the engine to the test process.
const pdeathsigSupported = false

func setPdeathsig(*syscall.SysProcAttr) {}
