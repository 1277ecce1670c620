//go:build unix

package lambda

import (
	"errors"
	"syscall"
)

// newProcAttr puts an instance in a process group of its own.
func newProcAttr() *syscall.SysProcAttr { return &syscall.SysProcAttr{Setpgid: true} }

// killGroup ends an instance's process group (the instance and whatever it
// started), or the process alone when it has no group yet.
func killGroup(pid int) error {
	if err := syscall.Kill(-pid, syscall.SIGKILL); err != nil && !errors.Is(err, syscall.ESRCH) {
		return syscall.Kill(pid, syscall.SIGKILL)
	}
	return nil
}
