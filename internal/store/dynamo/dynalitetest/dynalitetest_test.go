package dynalitetest_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/surgehq/surge/internal/store/dynamo/dynalitetest"
)

func alive(pid int) bool { return syscall.Kill(pid, 0) == nil }

// waitGone waits, a bounded time, for pid to exit.
func waitGone(t *testing.T, pid int) {
	t.Helper()
	for range 100 {
		if !alive(pid) {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("dynalite (pid %d) is still running", pid)
}

func TestStartServer(t *testing.T) {
	s, err := dynalitetest.StartServer(context.Background())
	if errors.Is(err, dynalitetest.ErrNoNode) {
		t.Skip("node is not installed")
	}
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(s.Endpoint, "http://127.0.0.1:") {
		t.Errorf("endpoint %q is not on loopback", s.Endpoint)
	}
	resp, err := http.Get(s.Endpoint + "/")
	if err != nil {
		t.Fatalf("dynalite does not answer: %v", err)
	}
	resp.Body.Close()
	pid := s.PID()
	s.Close()
	s.Close()
	waitGone(t, pid)
	if _, err := http.Get(s.Endpoint + "/"); err == nil {
		t.Error("dynalite still answers after Close")
	}
}

// TestNoOrphan kills a process that started dynalite, without letting it
// clean up, and checks that dynalite exits by itself.
func TestNoOrphan(t *testing.T) {
	if os.Getenv("DYNALITETEST_CHILD") == "orphan" {
		s, err := dynalitetest.StartServer(context.Background())
		if err != nil {
			fmt.Println("error", err)
			os.Exit(3)
		}
		fmt.Println("pid", s.PID())
		time.Sleep(time.Minute) // killed long before
		return
	}
	if _, err := exec.LookPath("node"); err != nil {
		t.Skip("node is not installed")
	}
	cmd := exec.Command(os.Args[0], "-test.run=^TestNoOrphan$")
	cmd.Env = append(os.Environ(), "DYNALITETEST_CHILD=orphan")
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var line string
	buf := make([]byte, 256)
	deadline := time.Now().Add(time.Minute)
	for !strings.Contains(line, "\n") && time.Now().Before(deadline) {
		n, err := out.Read(buf)
		line += string(buf[:n])
		if err != nil {
			break
		}
	}
	pidText, ok := strings.CutPrefix(strings.TrimSpace(line), "pid ")
	pid, err := strconv.Atoi(pidText)
	if !ok || err != nil {
		cmd.Process.Kill()
		cmd.Wait()
		t.Fatalf("child said %q", line)
	}
	if !alive(pid) {
		t.Fatalf("dynalite (pid %d) is not running", pid)
	}
	cmd.Process.Kill()
	cmd.Wait()
	waitGone(t, pid)
}

// TestNodeMissing: without node the tests skip, loudly, or fail when
// SURGE_REQUIRE_DYNALITE=1.
func TestNodeMissing(t *testing.T) {
	if os.Getenv("DYNALITETEST_CHILD") == "start" {
		dynalitetest.Start(t)
		t.Log("started")
		return
	}
	t.Setenv(dynalitetest.EnvEndpoint, "")
	t.Run("StartServer", func(t *testing.T) {
		t.Setenv("PATH", "")
		if _, err := dynalitetest.StartServer(context.Background()); !errors.Is(err, dynalitetest.ErrNoNode) {
			t.Fatalf("got %v, want ErrNoNode", err)
		}
	})
	for _, c := range []struct {
		require  string
		wantFail bool
	}{{"", false}, {"1", true}} {
		t.Run("Require="+c.require, func(t *testing.T) {
			cmd := exec.Command(os.Args[0], "-test.run=^TestNodeMissing$", "-test.v")
			cmd.Env = append(os.Environ(), "DYNALITETEST_CHILD=start", "PATH=", dynalitetest.EnvRequire+"="+c.require)
			var out bytes.Buffer
			cmd.Stdout, cmd.Stderr = &out, &out
			err := cmd.Run()
			if failed := err != nil; failed != c.wantFail {
				t.Fatalf("child failed=%v (%v), want %v; output:\n%s", failed, err, c.wantFail, out.String())
			}
			if !strings.Contains(out.String(), "Node.js 20") {
				t.Errorf("the child does not say how to install node:\n%s", out.String())
			}
			if strings.Contains(out.String(), "started") {
				t.Errorf("the child went on without dynalite:\n%s", out.String())
			}
		})
	}
}

// TestInstall: where tools/dynalite/node_modules is missing, StartServer
// runs npm ci there first.
func TestInstall(t *testing.T) {
	if testing.Short() {
		t.Skip("runs npm ci")
	}
	if _, err := exec.LookPath("npm"); err != nil {
		t.Skip("npm is not installed")
	}
	t.Setenv(dynalitetest.EnvDynalite, "")
	src, err := filepath.Abs("../../../../tools/dynalite")
	if err != nil {
		t.Fatal(err)
	}
	root := t.TempDir()
	dst := filepath.Join(root, "tools", "dynalite")
	if err := os.MkdirAll(dst, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"package.json", "package-lock.json", "serve.js"} {
		b, err := os.ReadFile(filepath.Join(src, name))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dst, name), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(root, "go.mod"), []byte("module example.com/x\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Chdir(root)
	s, err := dynalitetest.StartServer(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if _, err := os.Stat(filepath.Join(dst, "node_modules", "dynalite", "package.json")); err != nil {
		t.Fatalf("dynalite was not installed: %v", err)
	}
}
