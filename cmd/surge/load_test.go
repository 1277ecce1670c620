package main

import (
	"bytes"
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/surgehq/surge/internal/load"
)

// quickLoad is the start of a short load command line: no progress, no
// preseeding, a 300 ms run.
func quickLoad(args ...string) []string {
	return append([]string{"load", "--progress", "none", "--rate", "100", "--duration", "300ms", "--preseed", "0"}, args...)
}

func readResultFile(t *testing.T, path string) *load.Result {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	r, err := load.ReadResult(f)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func okServer(t *testing.T) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPost {
			w.WriteHeader(http.StatusCreated)
		}
		w.Write([]byte(`{"id":"x","items":[]}`))
	}))
	t.Cleanup(srv.Close)
	return srv
}

// TestLoadAgainstServe drives `surge serve` with every operation of the
// contract: a workload that speaks API.md gets no errors from it.
func TestLoadAgainstServe(t *testing.T) {
	srv := startInProcess(t, "--store", "mem:", "--access-log=false")
	out := filepath.Join(t.TempDir(), "r.json")
	code, stdout, stderr := runSurge(t, "load", "--progress", "none", "--rate", "200", "--duration", "1s",
		"--preseed", "20", "--mix", "create=2,read=4,update=1,patch=1,delete=1,list=1,batch=1,ops=1",
		"--ops-mix", "create=1,read=1,update=1,delete=1,list=1,echo=1,ping=1",
		"--out", out, "--threshold", "errors<=0", srv.base)
	if code != 0 {
		t.Fatalf("exit code %d\nstdout:\n%s\nstderr:\n%s", code, stdout, stderr)
	}
	r := readResultFile(t, out)
	if r.Sent != 200 || r.Total.Count != 200 || r.Total.Errors != 0 {
		t.Fatalf("sent %d done %d errors %d statuses %v kinds %v", r.Sent, r.Total.Count, r.Total.Errors, r.Total.Statuses, r.Total.ErrorKinds)
	}
	if r.Preseed.Created != 20 {
		t.Fatalf("preseed %+v", r.Preseed)
	}
	for _, op := range []string{"create", "read", "update", "patch", "delete", "list", "batch"} {
		if r.Op(op) == nil {
			t.Errorf("no %s in the result", op)
		}
	}
	// surge reports the store's time and the total in Server-Timing.
	if st := r.Op("read").ServerTiming; len(st) == 0 {
		t.Errorf("no Server-Timing breakdown for reads")
	}
	for _, want := range []string{"latency, from the intended send time", "service time, from the actual send", "  read ", "PASS  errors<=0"} {
		if !strings.Contains(stdout, want) {
			t.Errorf("report lacks %q:\n%s", want, stdout)
		}
	}
}

func TestLoadThresholdExitCode(t *testing.T) {
	srv := okServer(t)
	// No latency is under zero: that threshold must fail.
	code, stdout, stderr := runSurge(t, quickLoad("--mix", "list=1", "--threshold", "p99<0ms,errors<1%", srv.URL)...)
	if code != thresholdExit {
		t.Fatalf("exit code %d, want %d\n%s\n%s", code, thresholdExit, stdout, stderr)
	}
	if !strings.Contains(stdout, "FAIL  p99<0ms") || !strings.Contains(stdout, "PASS  errors<1%") {
		t.Fatalf("report:\n%s", stdout)
	}
	if !strings.Contains(stderr, "thresholds breached: p99<0ms") {
		t.Fatalf("stderr: %s", stderr)
	}
	code, _, stderr = runSurge(t, quickLoad("--mix", "list=1", "--threshold", "errors<1%", srv.URL)...)
	if code != 0 {
		t.Fatalf("exit code %d with passing thresholds: %s", code, stderr)
	}
}

func TestLoadInterrupt(t *testing.T) {
	// Ctrl-C once the server has answered a few of the run's requests,
	// however slowly a loaded machine gets there.
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var seen atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte(`{"id":"x","items":[]}`))
		if seen.Add(1) == 3 {
			cancel()
		}
	}))
	defer srv.Close()
	var out, errb bytes.Buffer
	begin := time.Now()
	code := run(ctx, []string{"load", "--progress", "none", "--rate", "100", "--duration", "1m", "--preseed", "0", "--mix", "list=1", srv.URL}, &out, &errb)
	if took := time.Since(begin); took > 10*time.Second {
		t.Fatalf("took %s to stop", took)
	}
	if code != 0 {
		t.Fatalf("exit code %d: %s", code, errb.String())
	}
	if !strings.Contains(out.String(), "stopped   interrupted") || !strings.Contains(out.String(), "  list ") {
		t.Fatalf("report after Ctrl-C:\n%s", out.String())
	}
}

func TestLoadRefused(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	code, stdout, stderr := runSurge(t, quickLoad("--mix", "read=1", "http://"+addr)...)
	if code != 0 {
		t.Fatalf("exit code %d: %s", code, stderr)
	}
	if !strings.Contains(stdout, "refused: 30") || !strings.Contains(stdout, "100.00%") {
		t.Fatalf("report:\n%s", stdout)
	}
}

func TestLoadScenarioFileAndOverrides(t *testing.T) {
	srv := okServer(t)
	dir := t.TempDir()
	file := filepath.Join(dir, "s.yaml")
	yaml := "target: " + srv.URL + "\nrate: 100\nduration: 300ms\nmix: {list: 1}\nids: {preseed: 0}\nthresholds: [\"errors<1%\"]\n"
	if err := os.WriteFile(file, []byte(yaml), 0o644); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "r.json")
	// The file says 100/s; the flag says 50/s; the environment adds a
	// threshold list.
	t.Setenv("SURGE_THRESHOLD", "p99<10s,count>=15")
	code, stdout, stderr := runSurge(t, "load", "--progress", "none", "--scenario", file, "--rate", "50", "--out", out)
	if code != 0 {
		t.Fatalf("exit code %d\n%s\n%s", code, stdout, stderr)
	}
	r := readResultFile(t, out)
	if r.Sent != 15 || r.Scenario.Rate != 50 {
		t.Fatalf("sent %d at %v/s, want 15 at 50/s", r.Sent, r.Scenario.Rate)
	}
	if len(r.Thresholds) != 3 {
		t.Fatalf("thresholds %+v, want the file's and the environment's", r.Thresholds)
	}
}

func TestLoadFlagsFromEnvironment(t *testing.T) {
	srv := okServer(t)
	out := filepath.Join(t.TempDir(), "r.json")
	t.Setenv("SURGE_RATE", "40")
	t.Setenv("SURGE_DURATION", "250ms")
	t.Setenv("SURGE_MIX", "list=1")
	t.Setenv("SURGE_PRESEED", "0")
	t.Setenv("SURGE_TARGET", srv.URL)
	t.Setenv("SURGE_OUT", out)
	code, _, stderr := runSurge(t, "load", "--progress", "none")
	if code != 0 {
		t.Fatalf("exit code %d: %s", code, stderr)
	}
	if r := readResultFile(t, out); r.Sent != 10 {
		t.Fatalf("sent %d, want 10 (40/s for 250ms)", r.Sent)
	}
}

func TestLoadBadFlags(t *testing.T) {
	tests := []struct {
		args []string
		want []string
	}{
		{[]string{"load", "--mix", "fly=1", "--rate", "-1", "http://127.0.0.1:1"}, []string{`unknown operation "fly"`, "rate"}},
		{[]string{"load", "--stages", "30s", "http://127.0.0.1:1"}, []string{"want DURATION:TARGET"}},
		{[]string{"load", "--payloads", "4XB", "http://127.0.0.1:1"}, []string{"unknown unit"}},
		{[]string{"load", "--threshold", "read.p99", "http://127.0.0.1:1"}, []string{"no comparison"}},
		{[]string{"load", "--header", "nocolon", "http://127.0.0.1:1"}, []string{"Name: value"}},
		{[]string{"load", "--scenario", "/nonexistent.yaml"}, []string{"nonexistent.yaml"}},
		{[]string{"load", "ftp://x"}, []string{"scheme"}},
		{[]string{"load", "http://a", "http://b"}, []string{"at most one argument"}},
	}
	for _, tt := range tests {
		code, _, stderr := runSurge(t, tt.args...)
		if code != 2 {
			t.Errorf("%q: exit code %d, want 2", tt.args, code)
		}
		for _, w := range tt.want {
			if !strings.Contains(stderr, w) {
				t.Errorf("%q: stderr %q lacks %q", tt.args, stderr, w)
			}
		}
	}
}

func TestLoadReportAndCompare(t *testing.T) {
	srv := okServer(t)
	dir := t.TempDir()
	a, b := filepath.Join(dir, "a.json"), filepath.Join(dir, "b.json")
	for _, f := range []string{a, b} {
		if code, _, stderr := runSurge(t, quickLoad("--mix", "list=1", "--out", f, srv.URL)...); code != 0 {
			t.Fatalf("exit code %d: %s", code, stderr)
		}
	}
	code, stdout, stderr := runSurge(t, "load", "report", a)
	if code != 0 || !strings.Contains(stdout, "  list ") {
		t.Fatalf("report: exit %d\n%s\n%s", code, stdout, stderr)
	}
	code, stdout, _ = runSurge(t, "load", "report", "--threshold", "count>1000", a)
	if code != thresholdExit || !strings.Contains(stdout, "FAIL  count>1000") {
		t.Fatalf("report with a threshold: exit %d\n%s", code, stdout)
	}
	code, stdout, stderr = runSurge(t, "load", "compare", a, b)
	if code != 0 || !strings.Contains(stdout, "achieved rate") || !strings.Contains(stdout, "  list ") {
		t.Fatalf("compare: exit %d\n%s\n%s", code, stdout, stderr)
	}
	if code, _, _ := runSurge(t, "load", "compare", a); code != 2 {
		t.Fatalf("compare with one file: exit %d, want 2", code)
	}
	bad := filepath.Join(dir, "bad.json")
	os.WriteFile(bad, []byte(`{"schema":"other"}`), 0o644)
	if code, _, stderr := runSurge(t, "load", "report", bad); code != 1 || !strings.Contains(stderr, "schema") {
		t.Fatalf("report of a bad file: exit %d %s", code, stderr)
	}
}
