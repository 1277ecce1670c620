package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/surgehq/surge/internal/syncbuf"
)

// TestMain lets the test binary stand in for the surge binary: with
// SURGE_TEST_MAIN=1 it runs the command line it was given, so that the
// process tests (kill -9, several servers on one file, signals) run the real
// program without a separate build.
func TestMain(m *testing.M) {
	if os.Getenv("SURGE_TEST_MAIN") == "1" {
		main()
		return
	}
	os.Exit(m.Run())
}

// logRecords returns the JSON log records in logs.
func logRecords(t *testing.T, logs string) []map[string]any {
	t.Helper()
	var recs []map[string]any
	sc := bufio.NewScanner(strings.NewReader(logs))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		var rec map[string]any
		if err := json.Unmarshal(sc.Bytes(), &rec); err != nil {
			t.Fatalf("log line %q is not JSON: %v", sc.Text(), err)
		}
		recs = append(recs, rec)
	}
	return recs
}

// waitListening waits until logs hold the "listening" record and returns it.
func waitListening(t *testing.T, logs func() string, exited <-chan struct{}) map[string]any {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		for _, line := range strings.Split(logs(), "\n") {
			if strings.Contains(line, `"msg":"listening"`) {
				var rec map[string]any
				if err := json.Unmarshal([]byte(line), &rec); err == nil {
					return rec
				}
			}
		}
		select {
		case <-exited:
			t.Fatalf("surge exited before listening; logs:\n%s", logs())
		case <-time.After(10 * time.Millisecond):
		}
	}
	t.Fatalf("surge did not listen within 30s; logs:\n%s", logs())
	return nil
}

// inProcess is `surge serve` running in this process.
type inProcess struct {
	base, admin string
	logs        *syncbuf.Buffer
	cancel      context.CancelFunc
	code        chan int
}

// startInProcess runs `surge serve` with args (after the defaults: JSON
// logs, ephemeral loopback ports, a temporary data directory) and stops it
// at cleanup.
func startInProcess(t *testing.T, args ...string) *inProcess {
	t.Helper()
	p := &inProcess{logs: &syncbuf.Buffer{}, code: make(chan int, 1)}
	ctx, cancel := context.WithCancel(context.Background())
	p.cancel = cancel
	all := append([]string{"--log-format", "json", "serve", "--addr", "127.0.0.1:0",
		"--admin-addr", "127.0.0.1:0", "--data", t.TempDir()}, args...)
	exited := make(chan struct{})
	go func() {
		p.code <- run(ctx, all, io.Discard, p.logs)
		close(exited)
	}()
	rec := waitListening(t, p.logs.String, exited)
	p.base = "http://" + rec["addr"].(string)
	if a, ok := rec["admin_addr"].(string); ok {
		p.admin = "http://" + a
	}
	t.Cleanup(func() { p.stop(t) })
	return p
}

// stop cancels the server and returns its exit code (once; later calls
// return -1).
func (p *inProcess) stop(t *testing.T) int {
	p.cancel()
	select {
	case c, ok := <-p.code:
		if !ok {
			return -1
		}
		close(p.code)
		return c
	case <-time.After(30 * time.Second):
		t.Fatal("surge did not stop within 30s")
		return -1
	}
}

// process is `surge` running as a child process.
type process struct {
	cmd    *exec.Cmd
	base   string
	stderr *syncbuf.Buffer
	exited chan struct{}
}

// startProcess runs the surge command line args (after --log-format json)
// as a child process and waits until it listens.
func startProcess(t *testing.T, args ...string) *process {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	p := &process{stderr: &syncbuf.Buffer{}, exited: make(chan struct{})}
	p.cmd = exec.Command(exe, append([]string{"--log-format", "json"}, args...)...)
	p.cmd.Env = append(os.Environ(), "SURGE_TEST_MAIN=1")
	p.cmd.Stderr = p.stderr
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		_ = p.cmd.Wait()
		close(p.exited)
	}()
	t.Cleanup(func() {
		_ = p.cmd.Process.Kill()
		<-p.exited
	})
	rec := waitListening(t, p.stderr.String, p.exited)
	p.base = "http://" + rec["addr"].(string)
	return p
}

// signal sends sig and waits for the process to exit, returning its code.
func (p *process) signal(t *testing.T, sig os.Signal) int {
	t.Helper()
	if err := p.cmd.Process.Signal(sig); err != nil {
		t.Fatal(err)
	}
	select {
	case <-p.exited:
	case <-time.After(30 * time.Second):
		t.Fatalf("surge did not exit within 30s of %v", sig)
	}
	return p.cmd.ProcessState.ExitCode()
}

// client is an HTTP client for the tests, with a bounded timeout.
var client = &http.Client{Timeout: 10 * time.Second}

// do sends a request with a JSON body (nil for none) and returns the status,
// headers and body.
func do(t *testing.T, method, url string, body any, headers ...string) (int, http.Header, []byte) {
	t.Helper()
	code, h, b, err := tryDo(method, url, body, headers...)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	return code, h, b
}

func tryDo(method, url string, body any, headers ...string) (int, http.Header, []byte, error) {
	var r io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		r = strings.NewReader(b)
	default:
		j, err := json.Marshal(b)
		if err != nil {
			return 0, nil, nil, err
		}
		r = bytes.NewReader(j)
	}
	req, err := http.NewRequest(method, url, r)
	if err != nil {
		return 0, nil, nil, err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	resp, err := client.Do(req)
	if err != nil {
		return 0, nil, nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return 0, nil, nil, fmt.Errorf("read body: %w", err)
	}
	return resp.StatusCode, resp.Header, b, nil
}

func TestFlagsAfterArguments(t *testing.T) {
	// Nothing listens on port 1 of loopback: every request is refused, and
	// the report counts them, which shows the flags after the URL applied.
	var out bytes.Buffer
	args := []string{"load", "http://127.0.0.1:1", "--requests", "7", "--rate", "100", "--preseed", "0", "--progress", "none"}
	if code := run(context.Background(), args, &out, &out); code != 0 {
		t.Fatalf("exit code %d:\n%s", code, out.String())
	}
	if !strings.Contains(out.String(), "refused: 7") {
		t.Errorf("want 7 refused requests in the report:\n%s", out.String())
	}
}
