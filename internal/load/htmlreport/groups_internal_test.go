package htmlreport

import (
	"math"
	"testing"

	hdr "github.com/HdrHistogram/hdrhistogram-go"

	"github.com/surgehq/surge/internal/load"
)

// TestTimingParts checks how Server-Timing metrics become stacked parts:
// each metric's own time per request, less the metrics nested in it.
func TestTimingParts(t *testing.T) {
	metric := func(name string, n int64, mean float64) load.ServerMetric {
		return load.ServerMetric{Name: name, Stats: load.Stats{Count: n, Mean: mean}}
	}
	for _, tc := range []struct {
		name    string
		count   int64
		metrics []load.ServerMetric
		want    map[string]float64
	}{
		{"in process", 100, []load.ServerMetric{metric("store", 100, 0.4), metric("total", 100, 0.9)},
			map[string]float64{"store": 0.4, "gateway (rest of total)": 0.5}},
		{"a cached half has no store time", 100, []load.ServerMetric{
			metric("cache", 100, 0.05), metric("store", 50, 0.4), metric("total", 100, 0.6)},
			map[string]float64{"cache": 0.05, "store": 0.2, "gateway (rest of total)": 0.35}},
		{"function pool", 10, []load.ServerMetric{
			metric("init", 2, 30), metric("lambda", 10, 5), metric("function", 10, 4), metric("store", 10, 2),
			metric("readcache", 10, 0.5), metric("pool", 10, 1), metric("total", 10, 13)},
			map[string]float64{"init": 6, "lambda": 1, "function": 2, "store": 1.5, "readcache": 0.5, "pool": 1,
				"gateway (rest of total)": 13 - 6 - 5 - 1}},
		{"store in a pool without function", 10, []load.ServerMetric{
			metric("lambda", 10, 5), metric("store", 10, 2)},
			map[string]float64{"lambda": 3, "store": 2}},
		{"parts over the total", 10, []load.ServerMetric{metric("store", 10, 2), metric("total", 10, 1.5)},
			map[string]float64{"store": 2, "gateway (rest of total)": 0}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := timingParts(&load.OpResult{Count: tc.count, ServerTiming: tc.metrics})
			if len(got) != len(tc.want) {
				t.Errorf("parts %v, want %v", got, tc.want)
			}
			for k, v := range tc.want {
				if math.Abs(got[k]-v) > 1e-9 {
					t.Errorf("%s: %g ms per request, want %g", k, got[k], v)
				}
			}
		})
	}
	if got := timingParts(&load.OpResult{Count: 0}); got != nil {
		t.Errorf("no requests: %v", got)
	}
}

// TestCurve checks a percentile curve against the histogram it reads.
func TestCurve(t *testing.T) {
	h, _ := load.DecodeHist("")
	for v := int64(1); v <= 1000; v++ {
		_ = h.RecordValue(v * 10)
	}
	x, y := curve(h)
	if x[0] != 1 || y[0] != 0.01 {
		t.Errorf("first point (%g, %g), want (1, 0.01): the least value", x[0], y[0])
	}
	// The maximum as load's Stats give it: the top of its bucket.
	if max := float64(h.Max()) / 1000; x[len(x)-1] != 1000 || y[len(y)-1] != max {
		t.Errorf("last point (%g, %g), want the maximum %g ms at x = count", x[len(x)-1], y[len(y)-1], max)
	}
	for i := 1; i < len(x); i++ {
		if x[i] <= x[i-1] || y[i] < y[i-1] {
			t.Fatalf("not increasing at %d: (%g, %g) after (%g, %g)", i, x[i], y[i], x[i-1], y[i-1])
		}
		if x[i] == 10 && math.Abs(y[i]-9) > 0.01 {
			t.Errorf("p90 at x = 10: %g ms, want 9", y[i])
		}
	}
	if x, _ := curve(func() *hdr.Histogram { e, _ := load.DecodeHist(""); return e }()); x != nil {
		t.Errorf("an empty histogram has a curve: %v", x)
	}
}
