package runtimes_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/surgehq/surge/internal/testkit/syncbuf"
)

// The AWS Lambda Runtime Interface Emulator, as cmd/bootstrap's test finds
// it: SURGE_RIE, else .tools/bin/aws-lambda-rie (scripts/setup installs
// it); SURGE_REQUIRE_RIE=1 makes its absence a failure.
const (
	envRIE        = "SURGE_RIE"
	envRequireRIE = "SURGE_REQUIRE_RIE"
)

func findRIE(t testing.TB) string {
	t.Helper()
	path := os.Getenv(envRIE)
	if path == "" {
		path, _ = filepath.Abs("../../../../.tools/bin/aws-lambda-rie")
	}
	if _, err := os.Stat(path); err != nil {
		msg := fmt.Sprintf("SKIP: the AWS Lambda Runtime Interface Emulator is not at %s (run scripts/setup, or set %s); set %s=1 to make this a failure",
			path, envRIE, envRequireRIE)
		if os.Getenv(envRequireRIE) == "1" {
			t.Fatal(msg)
		}
		fmt.Fprintln(os.Stderr, msg)
		t.Skip(msg)
	}
	return path
}

func loopbackAddr(t testing.TB) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// TestUnderEmulator runs each runtime's client under AWS's own Runtime API
// (the Runtime Interface Emulator) rather than surge's pool: an answer, a
// handler error and an init error come back as from Lambda.
func TestUnderEmulator(t *testing.T) {
	rie := findRIE(t)
	for _, c := range cases {
		for _, tc := range []struct {
			handler, event string
			check          func(t *testing.T, out map[string]any)
		}{
			{c.handler, `{"op":"echo"}`, func(t *testing.T, out map[string]any) {
				if out["requestId"] == "" || out["requestId"] == nil || out["functionName"] == nil {
					t.Errorf("got %v, want the context's request id and function name", out)
				}
			}},
			{c.handler, `{"op":"fail"}`, func(t *testing.T, out map[string]any) {
				if out["errorType"] != c.errorType || out["errorMessage"] != "the test asked to fail" {
					t.Errorf("got %v", out)
				}
			}},
			{c.missingModule[0], `{}`, func(t *testing.T, out map[string]any) {
				if out["errorType"] != c.missingModule[1] {
					t.Errorf("got %v, want %s", out, c.missingModule[1])
				}
			}},
		} {
			t.Run(c.name+"/"+tc.handler+tc.event, func(t *testing.T) {
				l := c.launch(t, tc.handler)
				addr := loopbackAddr(t)
				args := append([]string{"--runtime-interface-emulator-address", addr, "--runtime-api-address", loopbackAddr(t)}, l.Command...)
				cmd := exec.Command(rie, args...)
				cmd.Env = append(l.Environ([]string{"PATH=" + os.Getenv("PATH")}), "AWS_LAMBDA_FUNCTION_NAME=emulated")
				cmd.Dir = l.Dir
				logs := &syncbuf.Buffer{}
				cmd.Stdout, cmd.Stderr = logs, logs
				cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
				if err := cmd.Start(); err != nil {
					t.Fatal(err)
				}
				t.Cleanup(func() {
					syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
					cmd.Wait()
					if t.Failed() {
						t.Logf("emulator and function output:\n%s", logs)
					}
				})
				url := "http://" + addr + "/2015-03-31/functions/function/invocations"
				var resp *http.Response
				var err error
				ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
				defer cancel()
				for range 400 { // until it listens: 10 s at most
					req, _ := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader([]byte(tc.event)))
					if resp, err = http.DefaultClient.Do(req); err == nil {
						break
					}
					time.Sleep(25 * time.Millisecond)
				}
				if err != nil {
					t.Fatalf("invoke through the emulator: %v", err)
				}
				defer resp.Body.Close()
				b, _ := io.ReadAll(resp.Body)
				var out map[string]any
				if err := json.Unmarshal(b, &out); err != nil {
					t.Fatalf("answer %s: %v", b, err)
				}
				tc.check(t, out)
			})
		}
	}
}
