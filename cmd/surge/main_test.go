package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/surgehq/surge/internal/observe/logbuf"
	"github.com/surgehq/surge/internal/server"
	"github.com/surgehq/surge/internal/testkit/httpdo"
	"github.com/surgehq/surge/internal/testkit/syncbuf"
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

// waitListening waits until logs hold the "listening" record and returns
// it: a child process's addresses can be read from its log only.
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
	srv         *server.Server
	base, admin string
	// invoke and invokeToken are Lambda's Invoke API and its token, with
	// functions on.
	invoke, invokeToken string
	logs                *syncbuf.Buffer
	cancel              context.CancelFunc
	code                chan int
}

// startInProcess runs `surge serve` with args (after the defaults: JSON
// logs, ephemeral loopback ports, a temporary data directory), reads its
// addresses from the server it started, and stops it at cleanup.
func startInProcess(t *testing.T, args ...string) *inProcess {
	t.Helper()
	p := &inProcess{logs: &syncbuf.Buffer{}, code: make(chan int, 1)}
	ctx, cancel := context.WithCancel(context.Background())
	p.cancel = cancel
	all := append([]string{"--log-format", "json", "serve", "--addr", "127.0.0.1:0",
		"--admin-addr", "127.0.0.1:0", "--data", t.TempDir()}, args...)
	r := newRoot(io.Discard, p.logs)
	started := make(chan *server.Server, 1)
	r.started = func(s *server.Server) { started <- s }
	exited := make(chan struct{})
	go func() {
		p.code <- r.run(ctx, all)
		close(exited)
	}()
	select {
	case s := <-started:
		p.srv, p.base = s, "http://"+s.Addr()
		if a := s.AdminAddr(); a != "" {
			p.admin = "http://" + a
		}
		if a := s.InvokeAddr(); a != "" {
			p.invoke, p.invokeToken = "http://"+a, s.InvokeToken()
		}
	case <-exited:
		t.Fatalf("surge exited before listening; logs:\n%s", p.logs)
	case <-time.After(60 * time.Second):
		t.Fatalf("surge did not listen within 60s; logs:\n%s", p.logs)
	}
	t.Cleanup(func() { p.stop(t) })
	return p
}

// waitLog waits until the log, which is flushed every logbuf.FlushEvery,
// holds text.
func (p *inProcess) waitLog(t *testing.T, text string) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); !strings.Contains(p.logs.String(), text); {
		if time.Now().After(deadline) {
			t.Fatalf("no %q in the log within 10s:\n%s", text, p.logs)
		}
		time.Sleep(logbuf.FlushEvery / 4)
	}
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
	return httpdo.Do(method, url, body, headers...)
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

func TestRootBuildsTheNamedSubcommand(t *testing.T) {
	all := len(commands)
	for _, c := range []struct {
		args []string
		want []string // subcommands built; nil: all of them
	}{
		{[]string{"function"}, []string{"function"}},
		{[]string{"--log-level", "debug", "serve", "--addr", ":0"}, []string{"serve"}},
		{[]string{"--log-format=json", "load", "http://127.0.0.1:1"}, []string{"load"}},
		{[]string{"table", "create"}, []string{"table"}},
		{nil, nil},
		{[]string{"--help"}, nil},
		{[]string{"--log-level", "serve"}, nil}, // serve is the flag's value
		{[]string{"nosuch"}, nil},
		{[]string{"--", "serve"}, nil},
	} {
		r := newRoot(io.Discard, io.Discard, c.args...)
		var got []string
		for _, s := range r.cmd.Subcommands {
			got = append(got, s.Name)
		}
		if c.want == nil && len(got) != all || c.want != nil && !slices.Equal(got, c.want) {
			t.Errorf("%q: built %q, want %q (nil: all %d)", c.args, got, c.want, all)
		}
	}
	// An unknown subcommand is reported with the whole list.
	var out bytes.Buffer
	if code := run(context.Background(), []string{"nosuch"}, &out, &out); code == 0 || !strings.Contains(out.String(), "serve") {
		t.Errorf("surge nosuch: exit code %d, want an error that lists the subcommands:\n%s", code, out.String())
	}
}

func TestProfileFlags(t *testing.T) {
	dir := t.TempDir()
	cpu, mem := filepath.Join(dir, "cpu.pprof"), filepath.Join(dir, "mem.pprof")
	var out bytes.Buffer
	args := []string{"--cpu-profile", cpu, "--mem-profile", mem, "load", "http://127.0.0.1:1",
		"--requests", "3", "--rate", "100", "--preseed", "0", "--progress", "none"}
	if code := run(context.Background(), args, &out, &out); code != 0 {
		t.Fatalf("exit code %d:\n%s", code, out.String())
	}
	for _, f := range []string{cpu, mem} {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		// A profile is a gzipped protocol buffer.
		if len(b) < 20 || b[0] != 0x1f || b[1] != 0x8b {
			t.Errorf("%s: not a profile (%d bytes)", f, len(b))
		}
	}
	code := run(context.Background(), []string{"--cpu-profile", filepath.Join(dir, "no", "such", "dir"), "load", "http://127.0.0.1:1"}, &out, &out)
	if code == 0 || !strings.Contains(out.String(), "--cpu-profile") {
		t.Errorf("an unwritable profile: exit code %d, want an error naming the flag:\n%s", code, out.String())
	}
}
