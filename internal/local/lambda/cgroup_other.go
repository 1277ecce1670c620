//go:build !linux

package lambda

import (
	"errors"
	"os/exec"
	"time"
)

// cgroups are Linux's; elsewhere instances run without limits.
type cgroups struct {
	cpuNote, memNote string
}

func newCgroups(string) (*cgroups, error) {
	return nil, errors.New("control groups are a Linux kernel feature")
}

func (cg *cgroups) slot(string, int, time.Duration) (*slot, error) {
	return nil, errors.New("no control groups")
}
func (cg *cgroups) close()           {}
func (cg *cgroups) describe() string { return "none" }

// slot is one instance's control groups: none here.
type slot struct{}

func (s *slot) start(cmd *exec.Cmd) error  { return cmd.Start() }
func (s *slot) maxMemory() int64           { return 0 }
func (s *slot) remove()                    {}
func (s *slot) setCPU(time.Duration) error { return nil }
