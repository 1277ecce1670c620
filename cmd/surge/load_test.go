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
		{[]string{"load", "--target", "http://a", "http://b"}, []string{"the target is given twice"}},
		{[]string{"load", "--error-status", "x", "http://127.0.0.1:1"}, []string{`error-status: parse error: strconv.Atoi: parsing "x"`}},
		// Every bad flag at once, and what Validate finds besides.
		{[]string{"load", "--rate", "abc", "--stages", "30s,1m:y", "--mix", "read=x,=3", "--payloads", "4XB,1KB=z",
			"--threshold", "read.p99,errors<lots", "-H", "nocolon", "--vus", "-1", "--ids", "normal", "http://127.0.0.1:1"},
			[]string{`rate: parse error: strconv.ParseFloat: parsing "abc"`, `stages: "30s": want DURATION:TARGET`, `stages: "1m:y": bad target`,
				`mix: "read=x": bad weight`, `mix: "=3": want NAME=WEIGHT`, `payloads: size "4XB": unknown unit`, `payloads: "1KB=z": bad weight`,
				`threshold: threshold "read.p99": no comparison`, `threshold: threshold "errors<lots": bad number`,
				`header: "nocolon": want 'Name: value'`, "vus -1: must be between", `ids.distribution "normal"`}},
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

// TestLoadBadScenarioFile: a file's errors, each with its line, and the
// flags' errors come out together.
func TestLoadBadScenarioFile(t *testing.T) {
	file := filepath.Join(t.TempDir(), "s.yaml")
	if err := os.WriteFile(file, []byte("rate: abc\nstages: [30s, {duration: 1s, targt: 3}]\nthresholds: [read.p99]\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	code, _, stderr := runSurge(t, "load", "--scenario", file, "--mix", "nope", "http://127.0.0.1:1")
	if code != 2 {
		t.Fatalf("exit code %d, want 2: %s", code, stderr)
	}
	for _, want := range []string{"line 1: cannot unmarshal !!str `abc` into float64", `line 2: "30s": want DURATION:TARGET`,
		"line 2: field targt not found", `line 3: threshold "read.p99": no comparison`, `mix: "nope": want NAME=WEIGHT`} {
		if !strings.Contains(stderr, want) {
			t.Errorf("stderr lacks %q:\n%s", want, stderr)
		}
	}
}

// TestLoadPrecedence: defaults, then the scenario file, then the
// environment, then the command line, each over exactly the fields it
// names; and what a flag means beyond its field.
func TestLoadPrecedence(t *testing.T) {
	srv := okServer(t)
	// A short run that every case's file starts with.
	const base = "duration: 100ms\nids: {preseed: 0}\nmix: {list: 1}\ntimeout: 1s\n"
	tests := []struct {
		name  string
		file  string // the scenario file after base; "-" for none
		env   map[string]string
		args  []string
		check func(s load.Scenario) bool
	}{
		{"FileOverDefaults", "rate: 60\n", nil, nil,
			func(s load.Scenario) bool { return s.Rate == 60 && s.MaxInFlight == 512 }},
		{"EnvOverFile", "rate: 60\n", map[string]string{"SURGE_RATE": "70"}, nil,
			func(s load.Scenario) bool { return s.Rate == 70 }},
		{"FlagOverEnv", "rate: 60\n", map[string]string{"SURGE_RATE": "70"}, []string{"--rate", "50"},
			func(s load.Scenario) bool { return s.Rate == 50 }},
		{"FlagsOverExactlyTheirFields", "think: 5ms\napi: {items: /things, list_query: a=1}\n", nil, []string{"--list-query", "b=2"},
			func(s load.Scenario) bool {
				return s.Think == 5*time.Millisecond && s.API.Items == "/things" && s.API.ListQuery == "b=2" && s.API.Batch == "/items/_batch"
			}},
		{"ThresholdsAdd", "thresholds: [\"errors<1%\"]\n", nil, []string{"--threshold", "p99<10s", "--threshold", "count>=1,rate>=0"},
			func(s load.Scenario) bool { return s.Thresholds.String() == "errors<1%,p99<10s,count>=1,rate>=0" }},
		{"HeadersAdd", "headers: {a: b}\n", map[string]string{"SURGE_HEADER": "c: d"}, nil,
			func(s load.Scenario) bool { return len(s.Headers) == 2 && s.Headers["a"] != "" && s.Headers["c"] != "" }},
		{"MixReplaces", "", nil, []string{"--mix", "list=2", "--ops-mix", "ping=1"},
			func(s load.Scenario) bool { return s.Mix.String() == "list=2" && s.API.OpsMix.String() == "ping=1" }},
		{"PresetOverFileStages", "stages: 50ms:100,50ms:100\n", nil, []string{"--preset", "ramp"},
			func(s load.Scenario) bool { return s.Preset == "ramp" && s.Stages == nil }},
		{"StagesOverPreset", "", nil, []string{"--preset", "ramp", "--stages", "100ms:100"},
			func(s load.Scenario) bool { return s.Stages.String() == "100ms:100" }},
		{"ItemsPathMovesBatch", "", nil, []string{"--items-path", "/things/"},
			func(s load.Scenario) bool { return s.API.Items == "/things/" && s.API.Batch == "/things/_batch" }},
		{"HTTP2ImpliesNethttp", "", nil, []string{"--http2"},
			func(s load.Scenario) bool { return s.HTTP2 && s.Client == load.ClientStd }},
		{"RequestsAloneBoundRun", "-", nil, []string{"-n", "3", "--mix", "list=1", "--preseed", "0"},
			func(s load.Scenario) bool { return s.Requests == 3 && s.Duration == 0 && s.Rate == 100 }},
		{"RequestsKeepFileDuration", "", nil, []string{"-n", "3"},
			func(s load.Scenario) bool { return s.Requests == 3 && s.Duration == 100*time.Millisecond }},
		{"ArgumentIsTarget", "target: http://127.0.0.1:1\n", nil, nil,
			func(s load.Scenario) bool { return s.Target == srv.URL }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			out := filepath.Join(dir, "r.json")
			args := []string{"load", "--progress", "none", "--out", out}
			if tt.file != "-" {
				file := filepath.Join(dir, "s.yaml")
				if err := os.WriteFile(file, []byte(base+tt.file), 0o644); err != nil {
					t.Fatal(err)
				}
				args = append(args, "--scenario", file)
			}
			for k, v := range tt.env {
				t.Setenv(k, v)
			}
			args = append(append(args, tt.args...), srv.URL)
			if code, stdout, stderr := runSurge(t, args...); code != 0 {
				t.Fatalf("%q: exit code %d\n%s\n%s", args, code, stdout, stderr)
			}
			if s := readResultFile(t, out).Scenario; !tt.check(s) {
				t.Fatalf("%q: scenario %+v", args, s)
			}
		})
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

	// --html writes the report of a run, of a saved result and of a
	// comparison; internal/load/htmlreport's browser tests check what it draws.
	html := func(name string) string {
		t.Helper()
		p := filepath.Join(dir, name)
		b, err := os.ReadFile(p)
		if err != nil || !bytes.Contains(b, []byte("<!doctype html>")) || !bytes.Contains(b, []byte("list")) {
			t.Fatalf("%s: not an HTML report (%v)", name, err)
		}
		return string(b)
	}
	if code, _, stderr := runSurge(t, quickLoad("--mix", "list=1", "--html", filepath.Join(dir, "run.html"), srv.URL)...); code != 0 {
		t.Fatalf("load --html: exit %d: %s", code, stderr)
	}
	html("run.html")
	if code, _, stderr := runSurge(t, "load", "report", "--html", filepath.Join(dir, "report.html"), a); code != 0 {
		t.Fatalf("report --html: exit %d: %s", code, stderr)
	}
	html("report.html")
	if code, _, stderr := runSurge(t, "load", "compare", "--html", filepath.Join(dir, "compare.html"), a, b); code != 0 {
		t.Fatalf("compare --html: exit %d: %s", code, stderr)
	}
	if c := html("compare.html"); !strings.Contains(c, "Mann-Whitney") {
		t.Errorf("compare.html names no significance test")
	}
	bad := filepath.Join(dir, "bad.json")
	os.WriteFile(bad, []byte(`{"schema":"other"}`), 0o644)
	if code, _, stderr := runSurge(t, "load", "report", bad); code != 1 || !strings.Contains(stderr, "schema") {
		t.Fatalf("report of a bad file: exit %d %s", code, stderr)
	}
}
