//go:build !unix

package lambda

import (
	"os"
	"syscall"
)

// newProcAttr: no process groups here.
func newProcAttr() *syscall.SysProcAttr { return nil }

// killGroup ends an instance's process.
func killGroup(pid int) error {
	p, err := os.FindProcess(pid)
	if err != nil {
		return err
	}
	return p.Kill()
}
