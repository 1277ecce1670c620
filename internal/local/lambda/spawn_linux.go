//go:build linux

package lambda

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"sync"
	"syscall"
)

// Instances are started with a parent-death signal (SIGKILL), so that
// killing surge itself, even with SIGKILL, which no code of surge sees,
// leaves no function process behind: the kernel kills each instance when
// its parent goes. The kernel sends that signal when the thread that
// forked the child ends, not the process, and Go ends idle threads, so
// every instance is forked from one OS thread that never ends: the
// spawner, a goroutine locked to its thread that only starts processes.
//
// With cgroup v1 the spawner joins an instance's groups before the fork
// (a child starts in its parent thread's groups, so it is limited from
// its first instruction) and goes back to surge's own groups after it;
// should it fail to go back, it is retired (parked for good, since its
// end would kill its children) and a new spawner takes its place. The
// spawner is never the process's main thread: that thread leads the
// thread group, and in cgroup v1's memory controller moving the leader
// moves the whole process, whose memory would then count against an
// instance's limit (and be killed by its OOM killer).

// spawnReq is one process to start on the spawner's thread.
type spawnReq struct {
	cmd        *exec.Cmd
	join, back []string // v1 tasks files to join before, and after
	done       chan spawnResult
}

type spawnResult struct {
	err     error
	retired bool // the spawner stays in the instance's groups
	tid     int  // the spawner's thread, answering a probe (a nil cmd)
}

var spawner struct {
	mu   sync.Mutex
	reqs chan spawnReq // nil until the first start, or after a retirement
}

// startProcess starts cmd as an instance, from the spawner's thread,
// with the parent-death signal set, inside s's groups when s is not nil.
func startProcess(cmd *exec.Cmd, s *slot) error {
	if cmd.SysProcAttr == nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{}
	}
	cmd.SysProcAttr.Pdeathsig = syscall.SIGKILL
	req := spawnReq{cmd: cmd, done: make(chan spawnResult, 1)}
	if s != nil {
		if s.fd >= 0 {
			cmd.SysProcAttr.UseCgroupFD = true
			cmd.SysProcAttr.CgroupFD = s.fd
		} else {
			req.join, req.back = s.tasks, s.back
		}
	}
	spawner.mu.Lock()
	defer spawner.mu.Unlock()
	if spawner.reqs == nil {
		spawner.reqs = make(chan spawnReq)
		go spawnLoop(spawner.reqs, syscall.Getpid())
	}
	spawner.reqs <- req
	res := <-req.done
	if res.retired {
		spawner.reqs = nil
	}
	return res.err
}

// spawnLoop is the spawner: it locks its goroutine to its thread for good
// and starts what it is sent. It returns only to park, retired. A
// goroutine may run on any thread, the main one too: on thread avoid
// (the main thread, whose id is the process's), it hands the loop to a
// new goroutine, which cannot run there while this one holds it, and
// returns once that one holds a thread of its own.
func spawnLoop(reqs chan spawnReq, avoid int) {
	runtime.LockOSThread()
	if syscall.Gettid() == avoid {
		locked := make(chan struct{})
		go func() {
			runtime.LockOSThread()
			close(locked)
			serveSpawns(reqs)
		}()
		<-locked
		runtime.UnlockOSThread()
		return
	}
	serveSpawns(reqs)
}

// serveSpawns runs on the spawner's locked thread, which is never
// unlocked: it must outlive every child it forks.
func serveSpawns(reqs chan spawnReq) {
	tid := []byte(strconv.Itoa(syscall.Gettid()))
	for req := range reqs {
		if req.cmd == nil { // a probe: which thread serves
			req.done <- spawnResult{tid: syscall.Gettid()}
			continue
		}
		if err := joinTasks(req.join, tid); err != nil {
			// A partial join is undone; if even that fails, retire.
			if berr := joinTasks(req.back, tid); berr != nil {
				req.done <- spawnResult{err: err, retired: true}
				select {} // parked: its children must keep their parent
			}
			req.done <- spawnResult{err: err}
			continue
		}
		err := req.cmd.Start()
		if berr := joinTasks(req.back, tid); berr != nil {
			req.done <- spawnResult{err: err, retired: true}
			select {}
		}
		req.done <- spawnResult{err: err}
	}
}

// joinTasks moves the thread tid into the groups of each tasks file.
func joinTasks(tasks []string, tid []byte) error {
	for _, f := range tasks {
		if err := os.WriteFile(f, tid, 0o644); err != nil {
			return fmt.Errorf("join %s: %w", filepath.Dir(f), err)
		}
	}
	return nil
}
