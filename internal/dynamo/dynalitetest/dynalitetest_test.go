package dynalitetest_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/surgehq/surge/internal/dynamo/dynalitetest"
)

// The tests of starting and stopping run on the engine that
// SURGE_DYNAMODB_ENGINE names, so that each engine's run covers its own;
// those of a missing node or java run on both.

// alive reports whether pid, or with a negative pid that process group,
// has a process left.
func alive(pid int) bool { return syscall.Kill(pid, 0) == nil }

// waitGone waits, a bounded time, for pid and its process group (the
// leader's group: DynamoDB Local, and its wrapper, run in one of their own)
// to exit.
func waitGone(t *testing.T, pid int) {
	t.Helper()
	for range 200 {
		if !alive(pid) && !alive(-pid) {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("the engine (pid %d, or its process group) is still running", pid)
}

// startEngine starts the engine that SURGE_DYNAMODB_ENGINE names, and
// skips t where it is not installed.
func startEngine(t *testing.T) *dynalitetest.Server {
	t.Helper()
	var (
		s   *dynalitetest.Server
		err error
	)
	if dynalitetest.Engine() == dynalitetest.DynamoDBLocal {
		s, err = dynalitetest.StartDynamoDBLocal(context.Background())
	} else {
		s, err = dynalitetest.StartServer(context.Background())
	}
	if errors.Is(err, dynalitetest.ErrNoNode) || errors.Is(err, dynalitetest.ErrNoJava) {
		t.Skipf("%s is not installed: %v", dynalitetest.Engine(), err)
	}
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// watchdogs are the ways an engine is tied to the test process, by name:
// dynalite has one (its standard input); DynamoDB Local has the
// parent-death signal on Linux and the wrapper script everywhere.
func watchdogs() []string {
	if dynalitetest.Engine() != dynalitetest.DynamoDBLocal {
		return []string{"stdin"}
	}
	if dynalitetest.PdeathsigSupported {
		return []string{"pdeathsig", "wrapper"}
	}
	return []string{"wrapper"}
}

// useWatchdog makes the engines started next use the watchdog named name.
func useWatchdog(name string) (restore func()) {
	return dynalitetest.SetPdeathsig(name == "pdeathsig")
}

// answers reports whether the engine at endpoint answers a DynamoDB call.
func answers(endpoint string) error {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_, err := dynalitetest.NewClient(endpoint).ListTables(ctx, nil)
	return err
}

func TestStartServer(t *testing.T) {
	t.Parallel()
	for _, wd := range watchdogs() {
		t.Run(wd, func(t *testing.T) {
			defer useWatchdog(wd)()
			s := startEngine(t)
			if !strings.HasPrefix(s.Endpoint, "http://127.0.0.1:") {
				t.Errorf("endpoint %q is not on loopback", s.Endpoint)
			}
			if err := answers(s.Endpoint); err != nil {
				t.Fatalf("the engine does not answer: %v", err)
			}
			pid := s.PID()
			s.Close()
			s.Close()
			waitGone(t, pid)
			if answers(s.Endpoint) == nil {
				t.Error("the engine still answers after Close")
			}
		})
	}
}

// TestStartRunsTheChosenEngine: Start runs the engine that
// SURGE_DYNAMODB_ENGINE names (each answers a bare GET its own way), so
// that a run meant for DynamoDB Local does not quietly run on dynalite.
func TestStartRunsTheChosenEngine(t *testing.T) {
	t.Parallel()
	if os.Getenv(dynalitetest.EnvEndpoint) != "" {
		t.Skip("the engine is " + dynalitetest.EnvEndpoint + "'s")
	}
	resp, err := http.Get(dynalitetest.Start(t) + "/")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	switch engine := dynalitetest.Engine(); engine {
	case dynalitetest.Dynalite:
		if resp.StatusCode != http.StatusOK {
			t.Errorf("dynalite answers %s %s, want 200", resp.Status, body)
		}
	case dynalitetest.DynamoDBLocal:
		// DynamoDB Local wants every request signed.
		if resp.StatusCode != http.StatusBadRequest || !strings.Contains(string(body), "MissingAuthenticationToken") ||
			!strings.HasPrefix(resp.Header.Get("Server"), "Jetty") {
			t.Errorf("DynamoDB Local answers %s (server %q) %s, want 400 from Jetty with MissingAuthenticationToken",
				resp.Status, resp.Header.Get("Server"), body)
		}
	default:
		t.Fatalf("engine %q", engine)
	}
}

// TestNoOrphan kills a process that started an engine, without letting it
// clean up, and checks that the engine exits by itself.
func TestNoOrphan(t *testing.T) {
	if os.Getenv("DYNALITETEST_CHILD") == "orphan" {
		useWatchdog(os.Getenv("DYNALITETEST_WATCHDOG"))
		s := startEngine(t)
		fmt.Println("pid", s.PID())
		time.Sleep(time.Minute) // killed long before
		return
	}
	t.Parallel()
	for _, wd := range watchdogs() {
		t.Run(wd, func(t *testing.T) {
			cmd := exec.Command(os.Args[0], "-test.run=^TestNoOrphan$")
			cmd.Env = append(os.Environ(), "DYNALITETEST_CHILD=orphan", "DYNALITETEST_WATCHDOG="+wd)
			out, err := cmd.StdoutPipe()
			if err != nil {
				t.Fatal(err)
			}
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			var line string
			buf := make([]byte, 256)
			deadline := time.Now().Add(2 * time.Minute)
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
				if strings.Contains(line, "SKIP") {
					t.Skipf("child: %s", line)
				}
				t.Fatalf("child said %q", line)
			}
			if !alive(pid) {
				t.Fatalf("the engine (pid %d) is not running", pid)
			}
			cmd.Process.Kill()
			cmd.Wait()
			waitGone(t, pid)
		})
	}
}

// missingChild runs this test binary's test named test again as a child
// with an empty PATH (no node, no java) and the environment env, and
// returns whether it failed and what it printed.
func missingChild(t *testing.T, test string, env ...string) (failed bool, out string) {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^"+test+"$", "-test.v")
	cmd.Env = append(os.Environ(), append([]string{"DYNALITETEST_CHILD=start", "PATH=", dynalitetest.EnvEndpoint + "="}, env...)...)
	var b bytes.Buffer
	cmd.Stdout, cmd.Stderr = &b, &b
	err := cmd.Run()
	return err != nil, b.String()
}

// TestNodeMissing: without node the dynalite tests skip, loudly, or fail
// when SURGE_REQUIRE_DYNALITE=1.
func TestNodeMissing(t *testing.T) {
	if os.Getenv("DYNALITETEST_CHILD") == "start" {
		dynalitetest.Start(t)
		t.Log("started")
		return
	}
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
			failed, out := missingChild(t, "TestNodeMissing", dynalitetest.EnvEngine+"=", dynalitetest.EnvRequire+"="+c.require)
			if failed != c.wantFail {
				t.Fatalf("child failed=%v, want %v; output:\n%s", failed, c.wantFail, out)
			}
			if !strings.Contains(out, "Node.js 20") {
				t.Errorf("the child does not say how to install node:\n%s", out)
			}
			if strings.Contains(out, "started") {
				t.Errorf("the child went on without dynalite:\n%s", out)
			}
		})
	}
}

// TestJavaMissing: without java the DynamoDB Local tests skip, loudly, or
// fail when SURGE_REQUIRE_DYNAMODB_LOCAL=1.
func TestJavaMissing(t *testing.T) {
	if os.Getenv("DYNALITETEST_CHILD") == "start" {
		dynalitetest.Start(t)
		t.Log("started")
		return
	}
	t.Run("StartDynamoDBLocal", func(t *testing.T) {
		t.Setenv("PATH", "")
		if _, err := dynalitetest.StartDynamoDBLocal(context.Background()); !errors.Is(err, dynalitetest.ErrNoJava) {
			t.Fatalf("got %v, want ErrNoJava", err)
		}
	})
	for _, c := range []struct {
		require  string
		wantFail bool
	}{{"", false}, {"1", true}} {
		t.Run("Require="+c.require, func(t *testing.T) {
			failed, out := missingChild(t, "TestJavaMissing", dynalitetest.EnvEngine+"="+dynalitetest.DynamoDBLocal,
				dynalitetest.EnvRequireDynamoDBLocal+"="+c.require)
			if failed != c.wantFail {
				t.Fatalf("child failed=%v, want %v; output:\n%s", failed, c.wantFail, out)
			}
			if !strings.Contains(out, "Java 17") || !strings.Contains(out, dynalitetest.EnvRequireDynamoDBLocal) {
				t.Errorf("the child does not say how to install java, or how to require it:\n%s", out)
			}
			if strings.Contains(out, "started") {
				t.Errorf("the child went on without DynamoDB Local:\n%s", out)
			}
		})
	}
}

// TestUnknownEngine: a misspelt SURGE_DYNAMODB_ENGINE fails the tests
// rather than running them on the default engine.
func TestUnknownEngine(t *testing.T) {
	if os.Getenv("DYNALITETEST_CHILD") == "start" {
		dynalitetest.Start(t)
		t.Log("started")
		return
	}
	t.Parallel()
	failed, out := missingChild(t, "TestUnknownEngine", dynalitetest.EnvEngine+"=dynamodblocal")
	if !failed || !strings.Contains(out, "want dynalite or dynamodb-local") || strings.Contains(out, "started") {
		t.Fatalf("child failed=%v, want a failure naming the engines; output:\n%s", failed, out)
	}
}

// envTestInstall turns on TestInstall for DynamoDB Local, whose npm ci
// installs some 280 packages (amplify-dynamodb-simulator's JavaScript
// dependencies, which the harness does not use): 20 to 50 seconds.
const envTestInstall = "SURGE_TEST_DYNAMODB_LOCAL_INSTALL"

// TestInstall: where the engine's node_modules is missing, starting it
// runs npm ci in its tools directory first. The start runs in a child
// process whose working directory is a module root holding only the tools
// directory's package files.
func TestInstall(t *testing.T) {
	if os.Getenv("DYNALITETEST_CHILD") == "install" {
		s := startEngine(t)
		s.Close()
		return
	}
	if testing.Short() {
		t.Skip("runs npm ci")
	}
	if _, err := exec.LookPath("npm"); err != nil {
		t.Skip("npm is not installed")
	}
	t.Parallel()
	tool, files, probe := "dynalite", []string{"package.json", "package-lock.json", "serve.js"}, filepath.Join("dynalite", "package.json")
	if dynalitetest.Engine() == dynalitetest.DynamoDBLocal {
		if os.Getenv(envTestInstall) != "1" {
			t.Skip("a long npm ci; " + envTestInstall + "=1 runs it")
		}
		if _, err := exec.LookPath("java"); err != nil {
			t.Skip("java is not installed")
		}
		tool, files, probe = "dynamodb-local", []string{"package.json", "package-lock.json"},
			filepath.Join("amplify-dynamodb-simulator", "emulator", "DynamoDBLocal.jar")
	}
	src, err := filepath.Abs(filepath.Join("..", "..", "..", "tools", tool))
	if err != nil {
		t.Fatal(err)
	}
	root := t.TempDir()
	dst := filepath.Join(root, "tools", tool)
	if err := os.MkdirAll(dst, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, name := range files {
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
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(exe, "-test.run=^TestInstall$", "-test.v")
	cmd.Dir = root
	cmd.Env = append(os.Environ(), "DYNALITETEST_CHILD=install", dynalitetest.EnvDynalite+"=", dynalitetest.EnvDynamoDBLocal+"=")
	out, err := cmd.CombinedOutput()
	if err != nil || !strings.Contains(string(out), "--- PASS: TestInstall") {
		t.Fatalf("child: %v\n%s", err, out)
	}
	if _, err := os.Stat(filepath.Join(dst, "node_modules", probe)); err != nil {
		t.Fatalf("%s was not installed: %v", tool, err)
	}
}
