package load_test

import (
	"bytes"
	"context"
	"math/rand/v2"
	"strings"
	"sync"
	"testing"
	"time"

	hdr "github.com/HdrHistogram/hdrhistogram-go"

	"github.com/surgehq/surge/internal/load"
)

// newHist is a histogram of the range and precision surge records with.
func newHist() *hdr.Histogram { return hdr.New(1, int64(time.Hour/time.Microsecond), 3) }

func encode(t testing.TB, h *hdr.Histogram) string {
	t.Helper()
	s, err := load.EncodeHist(h)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// partResult is a part's result made by hand from samples of latency
// (µs), one point per second of the part.
func partResult(t testing.TB, s load.Scenario, p load.Part, samples [][]int64) *load.Result {
	t.Helper()
	total := newHist()
	r := &load.Result{Schema: load.ResultSchema, Scenario: s, Stop: "completed", Part: &load.PartResult{Part: p}}
	for sec, xs := range samples {
		h := newHist()
		for _, x := range xs {
			_ = h.RecordValue(x)
			_ = total.RecordValue(x)
		}
		n := int64(len(xs))
		r.Series = append(r.Series, load.Point{T: float64(sec + 1), Done: n, Sent: n, Rate: float64(n), Hist: encode(t, h),
			Ops: []load.OpPoint{{Name: "read", Count: n, Hist: encode(t, h)}}})
		r.Sent += n
	}
	r.Due, r.Planned = r.Sent, r.Sent
	r.ElapsedSeconds = float64(len(samples))
	r.Total = load.OpResult{Name: "all", Count: r.Sent, LatencyHist: encode(t, total), ServiceHist: encode(t, total)}
	r.Ops = []load.OpResult{r.Total}
	r.Ops[0].Name = "read"
	r.LagHist = encode(t, newHist())
	return r
}

// TestMergeIsExact merges three parts whose latencies differ widely (one
// fast, one slow, one with a heavy tail): every merged percentile, of the
// whole run and of each second, equals that of one histogram holding
// every sample, where an average of the parts' percentiles is far off.
func TestMergeIsExact(t *testing.T) {
	s := load.DefaultScenario()
	s.Rate, s.Duration = 300, 3*time.Second
	sp := load.Split{Shards: 3, StartAt: time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC), Seed: 5}
	parts, err := sp.Parts(&s)
	if err != nil {
		t.Fatal(err)
	}
	rnd := rand.New(rand.NewPCG(1, 2))
	gen := []func() int64{
		func() int64 { return 500 + rnd.Int64N(500) },
		func() int64 { return 20_000 + rnd.Int64N(30_000) },
		func() int64 {
			if rnd.IntN(50) == 0 {
				return 900_000 + rnd.Int64N(100_000)
			}
			return 1_000 + rnd.Int64N(2_000)
		},
	}
	all := newHist()
	perSec := []*hdr.Histogram{newHist(), newHist(), newHist()}
	var results []*load.Result
	var avgP99 float64
	for i, p := range parts {
		samples := make([][]int64, 3)
		for sec := range samples {
			for range 100 {
				x := gen[i]()
				samples[sec] = append(samples[sec], x)
				_ = all.RecordValue(x)
				_ = perSec[sec].RecordValue(x)
			}
		}
		r := partResult(t, s, p, samples)
		h, _ := load.DecodeHist(r.Total.LatencyHist)
		avgP99 += float64(h.ValueAtQuantile(99)) / 1000 / 3
		results = append(results, r)
	}
	m, err := load.Merge(results, load.MergeOptions{})
	if err != nil {
		t.Fatal(err)
	}
	ms := func(v int64) float64 { return float64(v) / 1000 }
	for q, got := range map[float64]float64{50: m.Total.Latency.P50, 90: m.Total.Latency.P90, 95: m.Total.Latency.P95,
		99: m.Total.Latency.P99, 99.9: m.Total.Latency.P999} {
		if want := ms(all.ValueAtQuantile(q)); got != want {
			t.Errorf("merged p%g %v ms, one histogram of every sample %v ms", q, got, want)
		}
	}
	if m.Total.Latency.Max != ms(all.Max()) || m.Total.Latency.Min != ms(all.Min()) || m.Total.Count != 900 || m.Total.Latency.Count != 900 {
		t.Errorf("merged %+v", m.Total.Latency)
	}
	if m.Total.Latency.P99 == avgP99 {
		t.Errorf("the merged p99 equals the average of the parts' p99s (%v): the samples do not tell the two apart", avgP99)
	}
	if len(m.Series) != 3 {
		t.Fatalf("merged series has %d points, want 3", len(m.Series))
	}
	for sec, p := range m.Series {
		if p.T != float64(sec+1) || p.Done != 300 || p.P99 != ms(perSec[sec].ValueAtQuantile(99)) ||
			len(p.Ops) != 1 || p.Ops[0].P95 != ms(perSec[sec].ValueAtQuantile(95)) {
			t.Errorf("point %d: %+v, want t=%d, 300 done, p99 %v ms", sec, p, sec+1, ms(perSec[sec].ValueAtQuantile(99)))
		}
	}
	if m.Stop != "completed" || m.Merged == nil || len(m.Merged.Parts) != 3 || len(m.Merged.Missing) != 0 || m.Planned != 900 {
		t.Errorf("stop %q, planned %d, merged %+v", m.Stop, m.Planned, m.Merged)
	}
	// A merged result is an ordinary result: it writes and reads back.
	var buf bytes.Buffer
	if err := m.WriteJSON(&buf); err != nil {
		t.Fatal(err)
	}
	if back, err := load.ReadResult(&buf); err != nil || back.Total.Latency != m.Total.Latency || back.Merged.PlanID != m.Merged.PlanID {
		t.Errorf("read back: %v", err)
	}
}

// TestMergeRealParts merges the results of parts that ran against a
// target: counts add up to the parts' and to the plan, the series' counts
// to the totals, and the scenario's thresholds are judged on the merged
// result (each part alone sent at most half the count the threshold asks
// for).
func TestMergeRealParts(t *testing.T) {
	srv := newShardServer(t)
	s := load.DefaultScenario()
	s.Target, s.Rate, s.Duration, s.IDs.Preseed, s.Grace = srv.URL, 200, time.Second, 0, 30*time.Second
	s.Thresholds = load.Thresholds{mustThreshold(t, "count>=100"), mustThreshold(t, "errors<1%")}
	sp := load.Split{Shards: 4, StartAt: time.Now().Add(200 * time.Millisecond), Seed: 3}
	parts, _ := sp.Parts(&s)
	results := make([]*load.Result, len(parts))
	var wg sync.WaitGroup
	for i, p := range parts {
		wg.Add(1)
		go func() {
			defer wg.Done()
			results[i], _ = load.Run(context.Background(), s, load.WithPart(p))
		}()
	}
	wg.Wait()
	for _, r := range results {
		if r == nil || r.Thresholds[0].Pass {
			t.Fatalf("a part alone: %+v", r)
		}
	}
	m, err := load.Merge(results, load.MergeOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var sent, done, bytesOut int64
	for _, r := range results {
		sent += r.Sent
		done += r.Total.Count
		bytesOut += r.BytesOut
	}
	var seriesDone int64
	for _, p := range m.Series {
		seriesDone += p.Done
	}
	if m.Sent != sent || m.Total.Count != done || m.BytesOut != bytesOut || m.Planned != 200 || seriesDone != done {
		t.Errorf("merged sent %d done %d bytes %d planned %d series %d; parts sent %d done %d bytes %d", m.Sent, m.Total.Count,
			m.BytesOut, m.Planned, seriesDone, sent, done, bytesOut)
	}
	var opsDone int64
	for _, o := range m.Ops {
		opsDone += o.Count
	}
	if opsDone != done {
		t.Errorf("operations add to %d, want %d", opsDone, done)
	}
	if len(m.Thresholds) != 2 || !m.Thresholds[0].Pass || !m.Thresholds[1].Pass {
		t.Errorf("merged thresholds: %+v", m.Thresholds)
	}
}

func mustThreshold(t testing.TB, s string) load.Threshold {
	th, err := load.ParseThreshold(s)
	if err != nil {
		t.Fatal(err)
	}
	return th
}

func TestMergeRefusesAndReportsMissing(t *testing.T) {
	s := load.DefaultScenario()
	s.Rate, s.Duration = 100, 2*time.Second
	sp := load.Split{Shards: 3, Segment: time.Second, StartAt: time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC), Seed: 5}
	parts, _ := sp.Parts(&s)
	if len(parts) != 6 {
		t.Fatalf("%d parts, want 3 shards x 2 segments", len(parts))
	}
	one := [][]int64{{1000, 2000}}
	mk := func(i int) *load.Result {
		n, _ := parts[i].Planned(&s)
		r := partResult(t, s, parts[i], one)
		r.Planned = n
		return r
	}
	other := s
	other.Rate = 150
	otherParts, _ := sp.Parts(&other)
	notPart := mk(0)
	notPart.Part = nil
	edited := mk(1)
	edited.Scenario.Rate = 1000

	t.Run("DifferentPlans", func(t *testing.T) {
		_, err := load.Merge([]*load.Result{mk(0), partResult(t, other, otherParts[1], one)}, load.MergeOptions{Names: []string{"a.json", "b.json"}})
		if err == nil || !strings.Contains(err.Error(), "a.json and b.json are results of different plans") ||
			!strings.Contains(err.Error(), "scenario.rate 100 and 150") {
			t.Fatalf("got %v", err)
		}
	})
	t.Run("DifferentSplits", func(t *testing.T) {
		sp2 := sp
		sp2.Shards = 2
		p2, _ := sp2.Parts(&s)
		_, err := load.Merge([]*load.Result{mk(0), partResult(t, s, p2[1], one)}, load.MergeOptions{})
		if err == nil || !strings.Contains(err.Error(), "shards 3 and 2") {
			t.Fatalf("got %v", err)
		}
	})
	t.Run("Twice", func(t *testing.T) {
		_, err := load.Merge([]*load.Result{mk(2), mk(2)}, load.MergeOptions{Names: []string{"x.json", "y.json"}})
		if err == nil || !strings.Contains(err.Error(), "shard 2 of 3, segment 0 of 2 (0s to 1s) is given twice: x.json and y.json") {
			t.Fatalf("got %v", err)
		}
	})
	t.Run("NotAPart", func(t *testing.T) {
		_, err := load.Merge([]*load.Result{notPart}, load.MergeOptions{})
		if err == nil || !strings.Contains(err.Error(), "not the result of a part") {
			t.Fatalf("got %v", err)
		}
	})
	t.Run("Edited", func(t *testing.T) {
		_, err := load.Merge([]*load.Result{mk(0), edited}, load.MergeOptions{})
		if err == nil || !strings.Contains(err.Error(), "the file was changed") {
			t.Fatalf("got %v", err)
		}
	})
	t.Run("Missing", func(t *testing.T) {
		// Shard 1's second segment failed; shard 2's first returned nothing.
		var rs []*load.Result
		for i := range parts {
			if i != 2 && i != 4 {
				rs = append(rs, mk(i))
			}
		}
		m, err := load.Merge(rs, load.MergeOptions{Failures: []load.Failure{{Part: parts[4], Reason: "Runtime.ExitError: signal: killed"}}})
		if err != nil {
			t.Fatal(err)
		}
		if m.Stop != load.StopIncomplete || len(m.Merged.Missing) != 2 {
			t.Fatalf("stop %q, missing %+v", m.Stop, m.Merged.Missing)
		}
		m0, m1 := m.Merged.Missing[0], m.Merged.Missing[1]
		p2, _ := parts[2].Planned(&s)
		p4, _ := parts[4].Planned(&s)
		if m0.Shard != 2 || m0.Segment != 0 || m0.Reason != "no result given" || m0.Planned != p2 || m0.From != 0 || m0.To != time.Second ||
			m1.Shard != 1 || m1.Segment != 1 || m1.Reason != "Runtime.ExitError: signal: killed" || m1.Planned != p4 || m1.From != time.Second {
			t.Errorf("missing %+v", m.Merged.Missing)
		}
		if m.Merged.MissingRequests != p2+p4 || m.Planned != 200 {
			t.Errorf("missing requests %d, planned %d; want %d and the plan's 200", m.Merged.MissingRequests, m.Planned, p2+p4)
		}
	})
	t.Run("AllFailed", func(t *testing.T) {
		m, err := load.Merge(nil, load.MergeOptions{Scenario: &s, Split: &sp})
		if err != nil {
			t.Fatal(err)
		}
		if m.Stop != load.StopIncomplete || m.Merged.MissingRequests != 200 || m.Sent != 0 {
			t.Errorf("stop %q, missing %d, sent %d", m.Stop, m.Merged.MissingRequests, m.Sent)
		}
	})
}

// FuzzMerge merges results read from any bytes with a valid part: a
// crafted file is refused with an error, never a panic or a run away.
func FuzzMerge(f *testing.F) {
	s := load.DefaultScenario()
	s.Rate, s.Duration = 10, time.Second
	sp := load.Split{Shards: 2, StartAt: time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC), Seed: 5}
	parts, _ := sp.Parts(&s)
	good := partResult(f, s, parts[0], [][]int64{{1000}})
	var buf bytes.Buffer
	_ = good.WriteJSON(&buf)
	f.Add(buf.Bytes())
	f.Add(bytes.Replace(buf.Bytes(), []byte(`"shards": 2`), []byte(`"shards": 10000`), 1))
	f.Add(bytes.Replace(buf.Bytes(), []byte(`"segment": 0,`), []byte(`"segment": 1000000000,`), 1))
	other := partResult(f, s, parts[1], [][]int64{{2000}})
	f.Fuzz(func(t *testing.T, b []byte) {
		r, err := load.ReadResult(bytes.NewReader(b))
		if err != nil {
			return
		}
		_, _ = load.Merge([]*load.Result{r, other}, load.MergeOptions{})
	})
}
