package main

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// children returns the pids of the processes whose parent is pid, with
// their command lines.
func children(t *testing.T, pid int) map[int]string {
	t.Helper()
	out := map[int]string{}
	dirs, err := filepath.Glob("/proc/[0-9]*")
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range dirs {
		b, err := os.ReadFile(filepath.Join(d, "stat"))
		if err != nil {
			continue
		}
		// pid (comm) state ppid ...: comm may hold spaces, so read after
		// its closing parenthesis.
		f := strings.Fields(string(b[strings.LastIndexByte(string(b), ')')+1:]))
		if len(f) < 2 || f[1] != strconv.Itoa(pid) {
			continue
		}
		child, _ := strconv.Atoi(filepath.Base(d))
		cmdline, _ := os.ReadFile(filepath.Join(d, "cmdline"))
		out[child] = strings.ReplaceAll(string(cmdline), "\x00", " ")
	}
	return out
}

// alive reports whether pid is a running process (not gone, not a zombie
// waiting for whoever adopted it to reap it).
func alive(pid int) bool {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return false
	}
	f := strings.Fields(string(b[strings.LastIndexByte(string(b), ')')+1:]))
	return len(f) > 0 && f[0] != "Z" && f[0] != "X"
}

// Killing `surge serve` itself with SIGKILL, which it cannot see, leaves
// no function process behind: the instances, whether they answer their
// Runtime API (surge function) or never speak to it at all (sleep), are
// gone once surge is.
func TestServeKilledLeavesNoFunctionProcess(t *testing.T) {
	if testing.Short() {
		t.Skip("starts function processes")
	}
	for _, tc := range []struct {
		name string
		args []string
		want int // instances to wait for
	}{
		{"SurgeFunction", append(append([]string{}, functionArgs...), "--function-provisioned", "2"), 2},
		{"SilentProgram", []string{"--functions", "--function-command", "sleep 600", "--function-limits", "off"}, 3},
	} {
		t.Run(tc.name, func(t *testing.T) {
			args := append([]string{"serve", "--addr", "127.0.0.1:0", "--admin-addr", "", "--data", t.TempDir()}, tc.args...)
			p := startProcess(t, args...)
			pid := p.cmd.Process.Pid
			if tc.name == "SurgeFunction" {
				if code, _, body := do(t, "POST", p.base+"/items", map[string]any{"id": "o1"}); code != 201 {
					t.Fatalf("create: got %d %s", code, body)
				}
			} else {
				// Each request starts an instance that never asks for its
				// event: the requests wait on their cold starts.
				for range tc.want {
					go tryDo("GET", p.base+"/items/x", nil)
				}
			}
			var kids map[int]string
			for deadline := time.Now().Add(20 * time.Second); ; {
				if kids = children(t, pid); len(kids) >= tc.want {
					break
				}
				if time.Now().After(deadline) {
					t.Fatalf("got instances %v, want %d; log:\n%s", kids, tc.want, p.stderr)
				}
				time.Sleep(10 * time.Millisecond)
			}
			if err := p.cmd.Process.Signal(syscall.SIGKILL); err != nil {
				t.Fatal(err)
			}
			<-p.exited
			for deadline := time.Now().Add(10 * time.Second); ; {
				var left []string
				for c, cmdline := range kids {
					if alive(c) {
						left = append(left, strconv.Itoa(c)+" "+cmdline)
					}
				}
				if len(left) == 0 {
					break
				}
				if time.Now().After(deadline) {
					for c := range kids {
						_ = syscall.Kill(c, syscall.SIGKILL) // do not leave them to the next test
					}
					t.Fatalf("orphaned function processes 10s after surge was killed: %v", left)
				}
				time.Sleep(10 * time.Millisecond)
			}
			t.Logf("%d instances gone with surge: %v", len(kids), kids)
		})
	}
}
