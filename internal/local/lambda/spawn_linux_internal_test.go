package lambda

import (
	"runtime"
	"syscall"
	"testing"
)

// The spawner never serves from the thread it must avoid (the main
// thread, in surge): started there, it hands its loop to another thread.
func TestSpawnerLeavesTheAvoidedThread(t *testing.T) {
	reqs := make(chan spawnReq)
	defer close(reqs)
	here := make(chan int)
	go func() {
		runtime.LockOSThread()
		defer runtime.UnlockOSThread()
		tid := syscall.Gettid()
		here <- tid
		spawnLoop(reqs, tid) // returns at once: it hands the loop over
	}()
	avoided := <-here
	res := make(chan spawnResult, 1)
	reqs <- spawnReq{done: res}
	if got := (<-res).tid; got == avoided || got == 0 {
		t.Fatalf("the spawner serves from thread %d, the one it was to avoid (%d)", got, avoided)
	}
}
