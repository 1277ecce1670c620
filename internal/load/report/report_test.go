package report_test

import (
	"bytes"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/surgehq/surge/internal/load"
	"github.com/surgehq/surge/internal/load/report"
)

var update = flag.Bool("update", false, "rewrite the golden files")

// golden compares got with testdata/name, or rewrites it with -update.
func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run with -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("output differs from %s (run with -update to accept):\n--- got\n%s\n--- want\n%s", path, got, want)
	}
}

// sample returns a result like a short seed-preset run's.
func sample(t testing.TB) *load.Result {
	t.Helper()
	s := load.DefaultScenario()
	s.Target = "http://127.0.0.1:8080"
	s.Preset = load.PresetSeed
	s.Rate = 100
	s.Duration = time.Minute
	ts, err := load.ParseThresholds("read.p99<50ms,errors<1%,rate>=100")
	if err != nil {
		t.Fatal(err)
	}
	s.Thresholds = ts
	st := func(n int64, avg, p50, p95, p99, max float64) load.Stats {
		return load.Stats{Count: n, Mean: avg, P50: p50, P95: p95, P99: p99, Max: max}
	}
	r := &load.Result{
		Schema: load.ResultSchema, Scenario: s,
		Started:        time.Date(2026, 11, 26, 8, 0, 0, 0, time.UTC),
		ElapsedSeconds: 60.012, PlanSeconds: 60, Stop: "completed",
		Planned: 6000, Due: 6000, Sent: 5990, Late: 12, Dropped: 10,
		OfferedRate: 100, AchievedRate: 99.81,
		BytesOut: 3 << 20, BytesIn: 9 << 20,
		Lag:     load.Stats{Count: 5990, P50: 0.05, P99: 0.41, Max: 31.2},
		Preseed: load.Preseed{Requested: 100, Created: 100},
		Client:  load.ClientInfo{Workers: 512, WorkersUsed: 24},
		Total: load.OpResult{Name: "all", Count: 5990, Errors: 72, ColdStarts: 3,
			Statuses:   map[string]int64{"200": 4100, "201": 1190, "204": 300, "404": 2, "503": 68},
			ErrorKinds: map[string]int64{"timeout": 2},
			Latency:    st(5990, 48.2, 41, 120.5, 277.1, 1210), Service: st(5990, 40.1, 38, 100.2, 201, 1190)},
		Ops: []load.OpResult{
			{Name: "create", Count: 1190, Errors: 30, ColdStarts: 2,
				Latency: st(1190, 74, 60, 171, 277, 1210), Service: st(1190, 70, 58, 160, 240, 1190),
				ServerTiming: []load.ServerMetric{
					{Name: "store", Stats: st(1190, 8.1, 6, 20, 35, 80)},
					{Name: "total", Stats: st(1190, 10.2, 8, 25, 41, 90)},
				}},
			{Name: "read", Count: 4500, Errors: 40, ColdStarts: 1,
				Latency: st(4500, 45, 40, 98, 140.25, 800), Service: st(4500, 38, 36, 90, 120, 790)},
			{Name: "delete", Count: 300, Errors: 2,
				Latency: st(300, 75, 70, 130, 160, 300), Service: st(300, 70, 66, 120, 150, 290)},
		},
	}
	r.Thresholds, _ = s.Thresholds.Eval(r)
	return r
}

func TestText(t *testing.T) {
	var buf bytes.Buffer
	if err := report.Text(&buf, sample(t)); err != nil {
		t.Fatal(err)
	}
	golden(t, "text.golden", buf.Bytes())
}

func TestTextClosedInterrupted(t *testing.T) {
	r := sample(t)
	r.Scenario.Model = load.ModelClosed
	r.Scenario.VUs = 50
	r.Scenario.Preset = ""
	r.Stop = "interrupted"
	r.Thresholds = nil
	r.Ops = r.Ops[:1]
	var buf bytes.Buffer
	if err := report.Text(&buf, r); err != nil {
		t.Fatal(err)
	}
	golden(t, "text-closed.golden", buf.Bytes())
}

// TestTextCollection is the report of a collection's run as Postman's
// runner: its collection, its iterations, and its checks and captures
// per request with each failed one.
func TestTextCollection(t *testing.T) {
	r := sample(t)
	r.Scenario.Target = ""
	r.Scenario.Postman.File = "conduit.json"
	r.Scenario.Model, r.Scenario.VUs, r.Scenario.Iterations, r.Scenario.Preset = load.ModelClosed, 2, 5, ""
	r.Stop, r.Thresholds, r.Preseed, r.Total.ColdStarts = "iterations", nil, load.Preseed{}, 0
	r.Ops = []load.OpResult{
		{Name: "Login", Count: 10, Checks: 20, Captures: 10, Latency: r.Ops[0].Latency},
		{Name: "Favorite Article", Count: 10, Errors: 10, Checks: 20, ChecksFailed: 10, Latency: r.Ops[1].Latency},
	}
	r.Total.Checks, r.Total.ChecksFailed, r.Total.Captures = 40, 10, 10
	r.Checks = []load.CheckResult{
		{Request: "Login", Test: "status", Check: "status == 200", Passed: 10},
		{Request: "Login", Check: "body.user.token present", Passed: 10},
		{Request: "Favorite Article", Test: "Article's 'favorited' property is true", Check: "body.article.favorited == true", Passed: 0, Failed: 10},
		{Request: "Favorite Article", Check: "status == 200", Passed: 10},
	}
	r.Captures = []load.CaptureResult{{Request: "Login", Variable: "token", Capture: "globals.token = body.user.token", Made: 10}}
	ts, err := load.ParseThresholds("checks<1%,Favorite Article.checks<=0")
	if err != nil {
		t.Fatal(err)
	}
	r.Thresholds, _ = ts.Eval(r)
	var buf bytes.Buffer
	if err := report.Text(&buf, r); err != nil {
		t.Fatal(err)
	}
	golden(t, "text-collection.golden", buf.Bytes())
}

func TestCompare(t *testing.T) {
	a, b := sample(t), sample(t)
	b.AchievedRate = 175.6
	b.Ops[1].Latency.Mean, b.Ops[1].Latency.P95, b.Ops[1].Latency.P99 = 3.6, 9, 12
	b.Ops = append(b.Ops, load.OpResult{Name: "list", Count: 10, Latency: load.Stats{Count: 10, Mean: 5, P95: 8, P99: 9}})
	var buf bytes.Buffer
	if err := report.Compare(&buf, a, b); err != nil {
		t.Fatal(err)
	}
	golden(t, "compare.golden", buf.Bytes())
}

func TestLine(t *testing.T) {
	p := load.Progress{Model: load.ModelOpen, Elapsed: 12*time.Second + 340*time.Millisecond, Planned: time.Minute,
		Last: load.Point{Offered: 100, Rate: 99.5, P99: 4.123, InFlight: 3}, Done: 1200, Errors: 6, Late: 2, Dropped: 1}
	got := report.Line(p, true)
	want := "  12.3s/1m0s [====                ]  offered 100.0/s  achieved 99.5/s  p99 4.12ms  errors 6 (0.50%)  in flight 3  late 2  dropped 1"
	if got != want {
		t.Fatalf("Line() =\n%q, want\n%q", got, want)
	}
	p.Model, p.Planned = load.ModelClosed, 0
	got = report.Line(p, false)
	want = "  12.3s  achieved 99.5/s  p99 4.12ms  errors 6 (0.50%)  in flight 3"
	if got != want {
		t.Fatalf("Line() =\n%q, want\n%q", got, want)
	}
}

func TestLive(t *testing.T) {
	t.Run("Plain", func(t *testing.T) {
		var buf bytes.Buffer
		l := report.NewLive(&buf, false, 2*time.Second)
		for i := 1; i <= 5; i++ {
			l.Update(load.Progress{Model: load.ModelOpen, Elapsed: time.Duration(i) * time.Second})
		}
		l.Done()
		lines := strings.Split(strings.TrimSuffix(buf.String(), "\n"), "\n")
		// At 1s (the first), 3s and 5s: one line per two seconds.
		if len(lines) != 3 || strings.Contains(buf.String(), "\r") {
			t.Fatalf("got %d lines %q, want 3 plain lines", len(lines), buf.String())
		}
	})
	t.Run("TTY", func(t *testing.T) {
		var buf bytes.Buffer
		l := report.NewLive(&buf, true, time.Hour)
		for i := 1; i <= 3; i++ {
			l.Update(load.Progress{Model: load.ModelOpen, Elapsed: time.Duration(i) * time.Second})
		}
		l.Done()
		out := buf.String()
		if strings.Count(out, "\r\x1b[K") != 4 || strings.Contains(out, "\n") {
			t.Fatalf("got %q, want 3 redraws and a clear, no newline", out)
		}
	})
}

type failWriter struct{}

func (failWriter) Write([]byte) (int, error) { return 0, errors.New("disk full") }

func TestTextWriteError(t *testing.T) {
	if err := report.Text(failWriter{}, sample(t)); err == nil {
		t.Fatal("got no error from a failing writer")
	}
}

// TestResultJSON keeps the result file's form (surge.load.result/v1) byte
// for byte: the golden file was written before the scenario's parts had
// types of their own, and a file read back writes the same bytes.
func TestResultJSON(t *testing.T) {
	r := sample(t)
	r.Scenario.Stages = load.Stages{{Duration: 30 * time.Second, Target: 100}, {Duration: 0, Target: 2.5}}
	r.Scenario.Headers = load.Headers{"x-api-key": "(redacted)", "a": "b"}
	r.Scenario.Mix = load.Mix{"read": 5, "create": 1.5}
	r.Scenario.API.OpsMix = load.Mix{"ping": 1}
	var buf bytes.Buffer
	if err := r.WriteJSON(&buf); err != nil {
		t.Fatal(err)
	}
	golden(t, "result.golden.json", buf.Bytes())
	back, err := load.ReadResult(bytes.NewReader(buf.Bytes()))
	if err != nil {
		t.Fatal(err)
	}
	var again bytes.Buffer
	if err := back.WriteJSON(&again); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(again.Bytes(), buf.Bytes()) {
		t.Fatalf("a result read back writes differently:\n%s", again.Bytes())
	}
}

// withTarget adds what the responses' headers and a probe report to r:
// cold against warm latency, cache outcomes, limit sources, the target's
// invocations and concurrency, payload classes and a knee search.
func withTarget(r *load.Result) *load.Result {
	cold := load.Stats{Count: 3, Mean: 700, P50: 690, P99: 1210}
	warm := load.Stats{Count: 5987, Mean: 47.9, P50: 41, P99: 270}
	r.Total.ColdLatency, r.Total.WarmLatency = &cold, &warm
	r.Total.CacheHits, r.Total.CacheMisses = 2900, 1600
	r.Total.StatusSources = map[string]map[string]int64{
		"429": {"gateway.stage": 40, "lambda.concurrency": 8}, "503": {"unnamed": 68}}
	inv, conc := int64(3050), 17.0
	r.Target = &load.TargetResult{Source: "pool", Invocations: &inv, ConcurrencyMax: &conc, Samples: 61}
	r.PayloadLatency = []load.PayloadLatency{
		{Op: "create", Size: 256, Latency: load.Stats{Count: 830, Mean: 70, P50: 58, P95: 160, P99: 260}},
		{Op: "create", Size: 4 << 10, Latency: load.Stats{Count: 300, Mean: 80, P50: 62, P95: 180, P99: 290}},
	}
	c := 14.0
	r.Knee = &load.Knee{Rate: 148.7, Offered: 150, P50Ms: 40, P99Ms: 180, Bound: 600, Concurrency: &c,
		Criteria: "achieved within 5% of offered, p99 at most 500ms, errors under 1%",
		Note:     "150/s passed; 225/s failed: p99 910.0ms over 500ms",
		Steps: []load.KneeStep{
			{Phase: "grow", Offered: 100, Achieved: 99.8, P50Ms: 38, P99Ms: 120, Pass: true},
			{Phase: "grow", Offered: 150, Achieved: 148.7, P50Ms: 40, P99Ms: 180, Concurrency: &c, Pass: true},
			{Phase: "grow", Offered: 225, Achieved: 190.2, P50Ms: 300, P99Ms: 910, Errors: 0.031, Why: "achieved 190.2/s, under 213.8/s; p99 910.0ms over 500ms"},
		}}
	return r
}

func TestTextTarget(t *testing.T) {
	var buf bytes.Buffer
	if err := report.Text(&buf, withTarget(sample(t))); err != nil {
		t.Fatal(err)
	}
	golden(t, "text-target.golden", buf.Bytes())
}

func TestCompareTarget(t *testing.T) {
	a, b := withTarget(sample(t)), withTarget(sample(t))
	b.Total.ColdStarts, b.Total.CacheHits = 0, 3100
	b.Total.StatusSources = map[string]map[string]int64{"429": {"gateway.stage": 90}}
	inv, conc := int64(1900), 9.0
	b.Target = &load.TargetResult{Source: "pool", Invocations: &inv, ConcurrencyMax: &conc}
	b.Knee.Rate = 261.2
	var buf bytes.Buffer
	if err := report.Compare(&buf, a, b); err != nil {
		t.Fatal(err)
	}
	golden(t, "compare-target.golden", buf.Bytes())
}
