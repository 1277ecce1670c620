package lambda

import "time"

// cfsPeriod is the CPU controller's accounting period: an instance may
// run quota microseconds of CPU time in each period of this length.
const cfsPeriod = 100 * time.Millisecond

// cpuQuota is the CPU time per cfsPeriod of an instance with memoryMB of
// memory: memoryMB/MBPerVCPU of one CPU, as on Lambda.
func cpuQuota(memoryMB int) time.Duration {
	return time.Duration(int64(cfsPeriod) * int64(memoryMB) / MBPerVCPU)
}
