//go:build !linux

package lambda

import "os/exec"

// startProcess starts cmd as an instance. Without Linux's parent-death
// signal, an instance whose surge was killed outright exits when its
// Runtime API refuses it.
func startProcess(cmd *exec.Cmd, s *slot) error {
	if s != nil {
		return s.start(cmd)
	}
	return cmd.Start()
}
