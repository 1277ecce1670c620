package dynalitetest

import (
	"fmt"
	"io"
	"os/exec"
	"runtime"
	"sync/atomic"
	"syscall"
)

// usePdeathsig says whether an engine process is tied to the test process
// by the kernel (Linux's parent-death signal) rather than by wrapperScript.
// Tests turn it off to try the wrapper on Linux too.
var usePdeathsig atomic.Bool

func init() { usePdeathsig.Store(pdeathsigSupported) }

// wrapperScript runs its arguments in the background and ends them when
// its standard input, a pipe from the test process, reaches its end: when
// Close closes it, or when the test process dies, however it dies. It
// waits for them, so that the engine is gone once the wrapper is.
const wrapperScript = `"$@" </dev/null &
pid=$!
read -r line
kill -TERM "$pid" 2>/dev/null
wait "$pid"`

// watched is an engine process that cannot outlive the test process.
type watched struct {
	exited chan struct{} // closed once it has exited
	stop   func()        // asks it to exit
	kill   func()        // ends its process group at once
}

// startWatched starts cmd in a process group of its own, tied to the test
// process so that it ends when that does: by the parent-death signal on
// Linux, by wrapperScript elsewhere. cmd's Stdin and SysProcAttr must be
// unset.
func startWatched(cmd *exec.Cmd) (*watched, error) {
	w := &watched{exited: make(chan struct{})}
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	var stdin io.WriteCloser
	if usePdeathsig.Load() {
		setPdeathsig(cmd.SysProcAttr)
	} else {
		sh, err := exec.LookPath("sh")
		if err != nil {
			return nil, fmt.Errorf("no sh for the engine's wrapper: %w", err)
		}
		cmd.Args = append([]string{"sh", "-c", wrapperScript, "sh", cmd.Path}, cmd.Args[1:]...)
		cmd.Path = sh
		if stdin, err = cmd.StdinPipe(); err != nil {
			return nil, err
		}
	}
	// Linux sends the parent-death signal when the thread that started the
	// child ends, not the process; Go ends a thread whose goroutine exits
	// while locked to it. So the start happens on a locked thread that
	// stays until the child has exited.
	started := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		defer runtime.UnlockOSThread()
		if err := cmd.Start(); err != nil {
			started <- err
			return
		}
		started <- nil
		cmd.Wait()
		close(w.exited)
	}()
	if err := <-started; err != nil {
		return nil, err
	}
	pgid := cmd.Process.Pid
	w.kill = func() { syscall.Kill(-pgid, syscall.SIGKILL) }
	if stdin != nil {
		w.stop = func() { stdin.Close() }
	} else {
		w.stop = func() { syscall.Kill(-pgid, syscall.SIGTERM) }
	}
	return w, nil
}
