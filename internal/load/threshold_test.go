package load_test

import (
	"strings"
	"testing"

	"github.com/surgehq/surge/internal/load"
)

func TestParseThreshold(t *testing.T) {
	good := []struct {
		in   string
		want load.Threshold
	}{
		{"read.p99<50ms", load.Threshold{Op: "read", Stat: "p", Quantile: 99, Cmp: "<", Value: 50}},
		{"errors<1%", load.Threshold{Stat: "errors", Cmp: "<", Value: 0.01, Percent: true}},
		{" p99.9 <= 1.5s ", load.Threshold{Stat: "p", Quantile: 99.9, Cmp: "<=", Value: 1500}},
		{"create.service.avg<250us", load.Threshold{Op: "create", Service: true, Stat: "avg", Cmp: "<", Value: 0.25}},
		{"ops:read.max<20", load.Threshold{Op: "ops:read", Stat: "max", Cmp: "<", Value: 20}},
		{"patch.med<3ms", load.Threshold{Op: "patch", Stat: "p", Quantile: 50, Cmp: "<", Value: 3}},
		{"rate>=990/s", load.Threshold{Stat: "rate", Cmp: ">=", Value: 990}},
		{"dropped<=0", load.Threshold{Stat: "dropped", Cmp: "<=", Value: 0}},
		{"read.late<5%", load.Threshold{Op: "read", Stat: "late", Cmp: "<", Value: 0.05, Percent: true}},
		{"cold>3", load.Threshold{Stat: "cold", Cmp: ">", Value: 3}},
		{"count>=100", load.Threshold{Stat: "count", Cmp: ">=", Value: 100}},
		// A collection's requests: the operation is all before the stat.
		{"Create an item.p99<50ms", load.Threshold{Op: "Create an item", Stat: "p", Quantile: 99, Cmp: "<", Value: 50}},
		{"Articles / v1.2 All.service.p99.9<1s", load.Threshold{Op: "Articles / v1.2 All", Service: true, Stat: "p", Quantile: 99.9, Cmp: "<", Value: 1000}},
		{"checks<1%", load.Threshold{Stat: "checks", Cmp: "<", Value: 0.01, Percent: true}},
		{"Login.checks<=2", load.Threshold{Op: "Login", Stat: "checks", Cmp: "<=", Value: 2}},
		{"fly.p99<5ms", load.Threshold{Op: "fly", Stat: "p", Quantile: 99, Cmp: "<", Value: 5}},
	}
	for _, g := range good {
		got, err := load.ParseThreshold(g.in)
		if err != nil {
			t.Errorf("ParseThreshold(%q): %v", g.in, err)
			continue
		}
		g.want.Source = g.in
		if got != g.want {
			t.Errorf("ParseThreshold(%q) = %+v, want %+v", g.in, got, g.want)
		}
	}
	bad := []struct{ in, want string }{
		{"read.p99", "no comparison"},
		{"<5ms", "no metric"},
		{"read.p99<", "no value"},
		{"read<5ms", "is an operation"},
		{"read.p101<5ms", "bad percentile"},
		{"read.p0<5ms", "bad percentile"},
		{"read.p1e2<5ms", "bad percentile"},
		{"read.mean<5ms", "unknown stat"},
		{"read.p99<5%", "percentage does not apply"},
		{"read.p99<fast", "bad duration"},
		{"read.p99<-5ms", "bad duration"},
		{"errors<101%", "bad percentage"},
		{"errors<lots", "bad number"},
		{"service.errors<1", "latency stats only"},
		{"read.dropped<1", "whole run"},
		{"Login.service.checks<1", "latency stats only"},
		{"Login.checks<5ms", "bad number"},
	}
	for _, b := range bad {
		_, err := load.ParseThreshold(b.in)
		if err == nil || !strings.Contains(err.Error(), b.want) {
			t.Errorf("ParseThreshold(%q) = %v, want an error mentioning %q", b.in, err, b.want)
		}
	}
}

func TestThresholdEval(t *testing.T) {
	r := &load.Result{
		ElapsedSeconds: 10, Due: 1000, Dropped: 20,
		Total: load.OpResult{Name: "all", Count: 1000, Errors: 15, Late: 30, ColdStarts: 2,
			Latency: load.Stats{Count: 1000, Mean: 4, P50: 3, P99: 40, Max: 90},
			Service: load.Stats{Count: 1000, P99: 8}},
		Ops: []load.OpResult{{Name: "read", Count: 800, Errors: 0, Latency: load.Stats{Count: 800, P99: 30}},
			{Name: "Log in", Count: 100, Checks: 400, ChecksFailed: 8}},
	}
	r.Total.Checks, r.Total.ChecksFailed = 400, 8
	tests := []struct {
		in     string
		actual float64
		pass   bool
		note   string
	}{
		{"p99<50ms", 40, true, ""},
		{"p99<40ms", 40, false, ""},
		{"p99<=40ms", 40, true, ""},
		{"service.p99<10ms", 8, true, ""},
		{"read.p99<25ms", 30, false, ""},
		{"avg<5", 4, true, ""},
		{"max<=1s", 90, true, ""},
		{"errors<1%", 0.015, false, ""},
		{"errors<=15", 15, true, ""},
		{"read.errors<1%", 0, true, ""},
		{"rate>=100", 100, true, ""},
		{"read.rate>100", 80, false, ""},
		{"dropped<5%", 0.02, true, ""},
		{"late<3%", 0.03, false, ""},
		{"cold<=2", 2, true, ""},
		{"create.p99<1s", 0, false, "no data"},
		{"create.errors<1%", 0, true, ""},
		{"checks<1%", 0.02, false, ""},
		{"Log in.checks<=8", 8, true, ""},
		{"read.checks<1%", 0, false, "no checks ran"},
	}
	for _, tt := range tests {
		th, err := load.ParseThreshold(tt.in)
		if err != nil {
			t.Fatal(err)
		}
		got := th.Eval(r)
		if got.Actual != tt.actual || got.Pass != tt.pass || got.Note != tt.note {
			t.Errorf("%s: got %+v, want actual %v pass %v note %q", tt.in, got, tt.actual, tt.pass, tt.note)
		}
	}
}

func FuzzParseThreshold(f *testing.F) {
	for _, s := range []string{"read.p99<50ms", "errors<1%", "p99.9<=1.5s", "ops:read.service.max>2", "rate>=5/s", "dropped<0",
		"Create an item.p99<50ms", "A / B.checks<1%"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		th, err := load.ParseThreshold(s)
		if err != nil {
			return
		}
		// What parses evaluates without panicking, and parses the same again.
		_ = th.Eval(&load.Result{})
		again, err := load.ParseThreshold(th.Source)
		if err != nil || again != th {
			t.Fatalf("reparse of %q: %+v, %v", s, again, err)
		}
		if th.Percent && (th.Value < 0 || th.Value > 1) {
			t.Fatalf("%q: percent value %v out of [0,1]", s, th.Value)
		}
	})
}

// mustThresholds parses thresholds for a test.
func mustThresholds(tb testing.TB, s string) load.Thresholds {
	tb.Helper()
	ts, err := load.ParseThresholds(s)
	if err != nil {
		tb.Fatal(err)
	}
	return ts
}
