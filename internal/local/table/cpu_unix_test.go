//go:build unix

package table_test

import (
	"syscall"
	"time"
)

// cpuTime returns the CPU time the process has used: benchmarks report it
// per operation beside the wall time, which a machine shared with other
// work inflates far more.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
