//go:build linux

package lambda

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// cgroups makes a control group per instance, under a group of the pool's
// own (surge-<pid>-<function>) inside the groups surge itself runs in, so
// that the limits nest inside whatever limits surge has, and removes them
// when the instance ends. Either controller may be missing: then only
// the other limit is enforced.
type cgroups struct {
	v2               bool
	cpuBase, memBase string // v1: the pool's group in each hierarchy; "" if unusable
	base             string // v2: the pool's group
	cpuOK, memOK     bool
	cpuNote, memNote string // why a limit is not enforced
}

// procSelf is where this process's mounts and groups are read.
var procSelf = "/proc/self"

// newCgroups finds the CPU and memory controllers and makes the pool's
// groups. It returns an error only when neither limit can be enforced.
func newCgroups(name string) (*cgroups, error) {
	mounts, err := cgroupMounts(filepath.Join(procSelf, "mountinfo"))
	if err != nil {
		return nil, err
	}
	own, err := ownCgroups(filepath.Join(procSelf, "cgroup"))
	if err != nil {
		return nil, err
	}
	group := fmt.Sprintf("surge-%d-%s", os.Getpid(), name)
	cg := &cgroups{}
	// cgroup v2, when it holds the CPU controller (a pure v2 machine).
	if m, ok := mounts["cgroup2"]; ok {
		if ctrl, err := os.ReadFile(filepath.Join(m, "cgroup.controllers")); err == nil && hasWord(string(ctrl), "cpu") {
			return cg, cg.setupV2(m, own[""], group, string(ctrl))
		}
	}
	for _, c := range []struct {
		ctrl string
		dst  *string
		ok   *bool
		note *string
	}{{"cpu", &cg.cpuBase, &cg.cpuOK, &cg.cpuNote}, {"memory", &cg.memBase, &cg.memOK, &cg.memNote}} {
		m, ok := mounts[c.ctrl]
		if !ok {
			*c.note = "no cgroup " + c.ctrl + " controller is mounted"
			continue
		}
		removeStale(filepath.Join(m, own[c.ctrl]))
		dir := filepath.Join(m, own[c.ctrl], group)
		if err := os.Mkdir(dir, 0o755); err != nil && !errors.Is(err, os.ErrExist) {
			*c.note = err.Error()
			continue
		}
		*c.dst, *c.ok = dir, true
	}
	if !cg.cpuOK && !cg.memOK {
		return nil, fmt.Errorf("cpu: %s; memory: %s", cg.cpuNote, cg.memNote)
	}
	return cg, nil
}

func (cg *cgroups) setupV2(mount, own, group, controllers string) error {
	cg.v2 = true
	parent := filepath.Join(mount, own)
	removeStale(parent)
	cg.base = filepath.Join(parent, group)
	if err := os.Mkdir(cg.base, 0o755); err != nil && !errors.Is(err, os.ErrExist) {
		return fmt.Errorf("make %s: %w", cg.base, err)
	}
	// The controllers must be enabled from the parent down; a parent with
	// processes of its own (not the root) may refuse, as v2's "no internal
	// processes" rule says.
	want := []string{}
	for _, c := range []string{"cpu", "memory"} {
		if hasWord(controllers, c) {
			want = append(want, "+"+c)
		}
	}
	for _, dir := range []string{parent, cg.base} {
		if err := os.WriteFile(filepath.Join(dir, "cgroup.subtree_control"), []byte(strings.Join(want, " ")), 0o644); err != nil {
			os.Remove(cg.base)
			return fmt.Errorf("enable %v in %s: %w", want, dir, err)
		}
	}
	cg.cpuOK = hasWord(controllers, "cpu")
	cg.memOK = hasWord(controllers, "memory")
	if !cg.memOK {
		cg.memNote = "no memory controller"
	}
	return nil
}

// slot is one instance's control groups.
type slot struct {
	dirs    []string // made, to remove
	tasks   []string // v1: the tasks files a thread joins
	back    []string // v1: the tasks files of surge's own groups, to go back to
	fd      int      // v2: the group's directory, for CLONE_INTO_CGROUP; -1 if none
	cpuFile string   // its CPU quota's file (cpu.max, cpu.cfs_quota_us), "" without
}

// setCPU sets the slot's CPU time per period to quota.
func (s *slot) setCPU(quota time.Duration) error {
	if s.cpuFile == "" {
		return nil
	}
	v := strconv.FormatInt(quota.Microseconds(), 10)
	if filepath.Base(s.cpuFile) == "cpu.max" {
		v = fmt.Sprintf("%d %d", quota.Microseconds(), cfsPeriod.Microseconds())
	}
	return os.WriteFile(s.cpuFile, []byte(v), 0o644)
}

// slot makes the groups of instance name with memoryMB's limits, and
// initQuota of CPU time per period until setCPU (0: memoryMB's share).
func (cg *cgroups) slot(name string, memoryMB int, initQuota time.Duration) (*slot, error) {
	s := &slot{fd: -1}
	quota := cpuQuota(memoryMB)
	if initQuota > quota {
		quota = initQuota
	}
	memBytes := strconv.FormatInt(int64(memoryMB)<<20, 10)
	if cg.v2 {
		dir := filepath.Join(cg.base, name)
		if err := os.Mkdir(dir, 0o755); err != nil {
			return nil, fmt.Errorf("make %s: %w", dir, err)
		}
		s.dirs = append(s.dirs, dir)
		if cg.cpuOK {
			s.cpuFile = filepath.Join(dir, "cpu.max")
			v := fmt.Sprintf("%d %d", quota.Microseconds(), cfsPeriod.Microseconds())
			if err := os.WriteFile(filepath.Join(dir, "cpu.max"), []byte(v), 0o644); err != nil {
				s.remove()
				return nil, fmt.Errorf("set cpu.max: %w", err)
			}
		}
		if cg.memOK {
			if err := os.WriteFile(filepath.Join(dir, "memory.max"), []byte(memBytes), 0o644); err != nil {
				s.remove()
				return nil, fmt.Errorf("set memory.max: %w", err)
			}
			_ = os.WriteFile(filepath.Join(dir, "memory.swap.max"), []byte("0"), 0o644)
		}
		fd, err := syscall.Open(dir, syscall.O_DIRECTORY|syscall.O_RDONLY|syscall.O_CLOEXEC, 0)
		if err != nil {
			s.remove()
			return nil, fmt.Errorf("open %s: %w", dir, err)
		}
		s.fd = fd
		return s, nil
	}
	if cg.cpuOK {
		dir := filepath.Join(cg.cpuBase, name)
		if err := os.Mkdir(dir, 0o755); err != nil {
			return nil, fmt.Errorf("make %s: %w", dir, err)
		}
		s.dirs = append(s.dirs, dir)
		s.cpuFile = filepath.Join(dir, "cpu.cfs_quota_us")
		if err := writeFiles(dir, "cpu.cfs_period_us", strconv.FormatInt(cfsPeriod.Microseconds(), 10),
			"cpu.cfs_quota_us", strconv.FormatInt(quota.Microseconds(), 10)); err != nil {
			s.remove()
			return nil, err
		}
		s.tasks = append(s.tasks, filepath.Join(dir, "tasks"))
		s.back = append(s.back, filepath.Join(filepath.Dir(cg.cpuBase), "tasks"))
	}
	if cg.memOK {
		dir := filepath.Join(cg.memBase, name)
		if err := os.Mkdir(dir, 0o755); err != nil {
			s.remove()
			return nil, fmt.Errorf("make %s: %w", dir, err)
		}
		s.dirs = append(s.dirs, dir)
		if err := writeFiles(dir, "memory.limit_in_bytes", memBytes); err != nil {
			s.remove()
			return nil, err
		}
		// Without swap accounting this file is absent; with it, no swap.
		_ = os.WriteFile(filepath.Join(dir, "memory.memsw.limit_in_bytes"), []byte(memBytes), 0o644)
		s.tasks = append(s.tasks, filepath.Join(dir, "tasks"))
		s.back = append(s.back, filepath.Join(filepath.Dir(cg.memBase), "tasks"))
	}
	return s, nil
}

func writeFiles(dir string, kv ...string) error {
	for i := 0; i+1 < len(kv); i += 2 {
		if err := os.WriteFile(filepath.Join(dir, kv[i]), []byte(kv[i+1]), 0o644); err != nil {
			return fmt.Errorf("set %s: %w", kv[i], err)
		}
	}
	return nil
}

// maxMemory returns the most memory the slot's processes used, in bytes,
// or 0 when it is not known.
func (s *slot) maxMemory() int64 {
	for _, d := range s.dirs {
		for _, f := range []string{"memory.max_usage_in_bytes", "memory.peak"} {
			if b, err := os.ReadFile(filepath.Join(d, f)); err == nil {
				n, _ := strconv.ParseInt(strings.TrimSpace(string(b)), 10, 64)
				return n
			}
		}
	}
	return 0
}

// remove removes the slot's groups; their processes must have ended. The
// kernel may take a moment to let go of a group whose last process was
// just reaped, so it tries a few times.
func (s *slot) remove() {
	if s.fd >= 0 {
		syscall.Close(s.fd)
		s.fd = -1
	}
	for _, d := range s.dirs {
		for i := 0; i < 20; i++ {
			if err := os.Remove(d); err == nil || errors.Is(err, os.ErrNotExist) {
				break
			}
			time.Sleep(5 * time.Millisecond)
		}
	}
	s.dirs = nil
}

// close removes the pool's groups (and any instance group left in them,
// which must be empty of processes by now).
func (cg *cgroups) close() {
	for _, base := range []string{cg.cpuBase, cg.memBase, cg.base} {
		if base == "" {
			continue
		}
		if entries, err := os.ReadDir(base); err == nil {
			for _, e := range entries {
				if e.IsDir() {
					os.Remove(filepath.Join(base, e.Name()))
				}
			}
		}
		os.Remove(base)
	}
}

// describe says which limits are enforced, for the log.
func (cg *cgroups) describe() string {
	v := "v1"
	if cg.v2 {
		v = "v2"
	}
	var parts []string
	if cg.cpuOK {
		parts = append(parts, "cpu")
	}
	if cg.memOK {
		parts = append(parts, "memory")
	}
	return "cgroup " + v + " " + strings.Join(parts, "+")
}

// cgroupMounts maps each v1 controller (and "cgroup2") to its mount point.
func cgroupMounts(path string) (map[string]string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	m := map[string]string{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		pre, post, ok := strings.Cut(sc.Text(), " - ")
		if !ok {
			continue
		}
		pf, qf := strings.Fields(pre), strings.Fields(post)
		if len(pf) < 5 || len(qf) < 3 {
			continue
		}
		// Only a mount of a hierarchy's root maps paths simply.
		if pf[3] != "/" {
			continue
		}
		switch qf[0] {
		case "cgroup2":
			if _, ok := m["cgroup2"]; !ok {
				m["cgroup2"] = pf[4]
			}
		case "cgroup":
			for _, opt := range strings.Split(qf[2], ",") {
				if opt == "cpu" || opt == "memory" {
					if _, ok := m[opt]; !ok {
						m[opt] = pf[4]
					}
				}
			}
		}
	}
	return m, sc.Err()
}

// ownCgroups maps each v1 controller of /proc/self/cgroup to this
// process's group path in its hierarchy, and "" to its v2 path.
func ownCgroups(path string) (map[string]string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	m := map[string]string{}
	for _, line := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		f := strings.SplitN(line, ":", 3)
		if len(f) != 3 {
			continue
		}
		if f[1] == "" {
			m[""] = f[2]
			continue
		}
		for _, c := range strings.Split(f[1], ",") {
			m[c] = f[2]
		}
	}
	return m, nil
}

func hasWord(s, w string) bool {
	for _, f := range strings.Fields(s) {
		if f == w {
			return true
		}
	}
	return false
}

// removeStale removes the groups that pools of surge processes no longer
// running left in parent (a surge killed with -9 cannot remove its own).
// A group that still holds a process is kept: rmdir refuses it.
func removeStale(parent string) {
	entries, err := os.ReadDir(parent)
	if err != nil {
		return
	}
	for _, e := range entries {
		rest, ok := strings.CutPrefix(e.Name(), "surge-")
		if !e.IsDir() || !ok {
			continue
		}
		pidText, _, _ := strings.Cut(rest, "-")
		pid, err := strconv.Atoi(pidText)
		if err != nil || pid == os.Getpid() || syscall.Kill(pid, 0) == nil {
			continue
		}
		dir := filepath.Join(parent, e.Name())
		if subs, err := os.ReadDir(dir); err == nil {
			for _, sub := range subs {
				if sub.IsDir() {
					os.Remove(filepath.Join(dir, sub.Name()))
				}
			}
		}
		os.Remove(dir)
	}
}
