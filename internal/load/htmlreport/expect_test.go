package htmlreport_test

import (
	"bytes"
	"math"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/surgehq/surge/internal/load"
	"github.com/surgehq/surge/internal/load/htmlreport"
)

// atLeast1 stands for "one point or more": a percentile curve, whose
// length grows with the number of requests.
const atLeast1 = -1

// expected is, per chart id, the series each chart must draw and their
// points, worked out from the result (not from the report's own data).
type expected map[string]map[string]int

func (e expected) add(id, label string, points int) {
	if e[id] == nil {
		e[id] = map[string]int{}
	}
	e[id][label] = points
}

// slugOf mirrors the element ids' spelling of operation names.
func slugOf(s string) string {
	return strings.Map(func(r rune) rune {
		switch {
		case r >= 'a' && r <= 'z', r >= '0' && r <= '9', r == '-':
			return r
		case r >= 'A' && r <= 'Z':
			return r + 'a' - 'A'
		}
		return '_'
	}, s)
}

// expectRun lists the charts of section s of a report of r, with x its
// optional data (nil for none).
func expectRun(r *load.Result, x *htmlreport.Extra, s string) expected {
	e := expected{}
	n := len(r.Series)
	if r.Scenario.Model == load.ModelOpen {
		e.add(s+"-rate", "offered", n)
	}
	for _, l := range []string{"achieved", "errors", "late"} {
		e.add(s+"-rate", l, n)
	}
	e.add(s+"-concurrency", "in flight", n)
	done := 0
	for _, p := range r.Series {
		if p.Done > 0 {
			done++
		}
	}
	e.add(s+"-latency-all", "p99", done)
	for _, o := range r.Ops {
		k := 0
		for _, p := range r.Series {
			if slices.ContainsFunc(p.Ops, func(q load.OpPoint) bool { return q.Name == o.Name && q.Count > 0 }) {
				k++
			}
		}
		for _, l := range []string{"p50", "p95", "p99"} {
			e.add(s+"-latency-"+slugOf(o.Name), l, k)
		}
		e.add(s+"-hdr-"+slugOf(o.Name), "latency", atLeast1)
		e.add(s+"-hdr-"+slugOf(o.Name), "service time", atLeast1)
	}
	e.add(s+"-hdr-all", "latency", atLeast1)
	e.add(s+"-hdr-all", "service time", atLeast1)
	codes := map[string]int{}
	timing := map[string]int{}
	for _, o := range r.Ops {
		for c, v := range o.Statuses {
			if v > 0 {
				codes[c]++
			}
		}
		for k, v := range o.ErrorKinds {
			if v > 0 {
				codes["no response: "+k]++
			}
		}
		names := map[string]bool{}
		for _, m := range o.ServerTiming {
			if m.Name == "total" {
				names["gateway (rest of total)"] = true
			} else {
				names[m.Name] = true
			}
		}
		for k := range names {
			timing[k]++
		}
	}
	for c, k := range codes {
		e.add(s+"-statuses-ops", c, k)
	}
	for name, k := range timing {
		e.add(s+"-servertiming", name, k)
	}

	// What the target said of each operation: refusals by source, cache
	// answers, capacity units; a bar at zero is left out.
	perOp := func(id, label string, get func(o *load.OpResult) float64) {
		k := 0
		for i := range r.Ops {
			if get(&r.Ops[i]) > 0 {
				k++
			}
		}
		if k > 0 {
			e.add(s+"-"+id, label, k)
		}
	}
	perOp("cold-ops", "cold starts", func(o *load.OpResult) float64 { return float64(o.ColdStarts) })
	for _, o := range r.Ops {
		for code, bySource := range o.StatusSources {
			for src := range bySource {
				perOp("status-sources-ops", code+" from "+src, func(o *load.OpResult) float64 { return float64(o.StatusSources[code][src]) })
			}
		}
	}
	if r.Total.CacheHits+r.Total.CacheMisses > 0 {
		perOp("cache-ops", "cache hits", func(o *load.OpResult) float64 { return float64(o.CacheHits) })
		perOp("cache-ops", "cache misses", func(o *load.OpResult) float64 { return float64(o.CacheMisses) })
	}
	if r.Total.Capacity != nil {
		capOf := func(read bool) func(o *load.OpResult) float64 {
			return func(o *load.OpResult) float64 {
				switch {
				case o.Capacity == nil:
					return 0
				case read:
					return o.Capacity.Read
				}
				return o.Capacity.Write
			}
		}
		perOp("capacity-ops", "read units", capOf(true))
		perOp("capacity-ops", "write units", capOf(false))
	}
	if x == nil {
		// As the report does: the optional members the result's own
		// JSON form carries.
		x = extraOfResult(r)
	}
	some := func(get func(p *htmlreport.PointExtra) bool) bool {
		return slices.ContainsFunc(x.Series, func(p htmlreport.PointExtra) bool { return get(&p) })
	}
	if some(func(p *htmlreport.PointExtra) bool { return p.Dropped != nil }) {
		e.add(s+"-rate", "dropped", n)
	}
	if some(func(p *htmlreport.PointExtra) bool { return p.Concurrency != nil }) {
		e.add(s+"-concurrency", "concurrent executions", n)
	}
	if some(func(p *htmlreport.PointExtra) bool { return p.ColdStarts != nil }) {
		e.add(s+"-cold-time", "cold starts", n)
	}
	if some(func(p *htmlreport.PointExtra) bool { return p.CacheHits != nil || p.CacheMisses != nil }) {
		e.add(s+"-cache", "cache hits", n)
		e.add(s+"-cache", "cache misses", n)
	}
	if some(func(p *htmlreport.PointExtra) bool { return p.Invocations != nil }) {
		e.add(s+"-cache", "invocations", n)
	}
	statuses, sources := map[string]bool{}, map[string]bool{}
	for _, p := range x.Series {
		for c := range p.Statuses {
			statuses[c] = true
		}
		for c, m := range p.StatusSources {
			for src := range m {
				sources[c+" from "+src] = true
			}
		}
	}
	for c := range statuses {
		e.add(s+"-statuses-time", c, n)
	}
	for c := range sources {
		e.add(s+"-status-sources", c, n)
	}
	for _, o := range x.Ops {
		for label, enc := range map[string]string{"cold": o.ColdLatencyHist, "warm": o.WarmLatencyHist} {
			if h, err := load.DecodeHist(enc); err == nil && h.TotalCount() > 0 {
				e.add(s+"-coldwarm-"+slugOf(o.Name), label, atLeast1)
			}
		}
	}
	byOp := map[string]int{}
	for _, p := range x.PayloadLatency {
		byOp[p.Op]++
	}
	for op, k := range byOp {
		name := op
		if name == "" {
			name = "all operations"
		}
		for _, l := range []string{"p50", "p95", "p99"} {
			e.add(s+"-payload-"+slugOf(name), l, k)
		}
	}
	return e
}

// expectCompare overlays two runs' expectations: each series twice, its
// label marked A or B. The status codes over time are the union of both
// runs' codes, drawn for each run that counts statuses per interval (a
// code the run never answered is a line at zero).
func expectCompare(a, b expected) expected {
	e := expected{}
	for tag, run := range map[string]expected{"A": a, "B": b} {
		for id, series := range run {
			for l, n := range series {
				e.add(id, l+" · "+tag, n)
			}
		}
	}
	for id := range e {
		if !strings.HasSuffix(id, "-statuses-time") && !strings.HasSuffix(id, "-status-sources") {
			continue
		}
		for tag, run := range map[string]expected{"A": a, "B": b} {
			n := 0
			for _, v := range run[id] {
				n = v
			}
			if n == 0 {
				continue
			}
			for _, other := range []expected{a, b} {
				for l := range other[id] {
					e.add(id, l+" · "+tag, n)
				}
			}
		}
	}
	return e
}

// checkCharts compares the drawn charts with the expected ones.
func checkCharts(t *testing.T, got map[string]chartState, want expected) {
	t.Helper()
	var ids []string
	for id := range want {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	for _, id := range ids {
		c, ok := got[id]
		if !ok {
			t.Errorf("chart %s was not drawn", id)
			continue
		}
		if c.Width < 200 {
			t.Errorf("chart %s is %g px wide", id, c.Width)
		}
		drawn := map[string]int{}
		for _, s := range c.Series {
			if !s.Show {
				t.Errorf("chart %s: series %q hidden", id, s.Label)
			}
			drawn[s.Label] = s.Points
		}
		for label, n := range want[id] {
			p, ok := drawn[label]
			switch {
			case !ok:
				t.Errorf("chart %s: no series %q (has %v)", id, label, drawn)
			case n == atLeast1 && p < 1:
				t.Errorf("chart %s: series %q has no point", id, label)
			case n != atLeast1 && p != n:
				t.Errorf("chart %s: series %q has %d points, want %d", id, label, p, n)
			}
		}
		for label := range drawn {
			if _, ok := want[id][label]; !ok {
				t.Errorf("chart %s: unexpected series %q", id, label)
			}
		}
	}
	for id := range got {
		if _, ok := want[id]; !ok {
			t.Errorf("unexpected chart %s", id)
		}
	}
}

// opRow is the text of one row of a per-operation table.
type opRow struct {
	Name  string
	Run   string
	Cells []string
}

// checkOpRow compares a table row's figures with an operation's result:
// counts exactly, the rest within the rounding of their printed form.
func checkOpRow(t *testing.T, where string, cells []string, o *load.OpResult, elapsed float64) {
	t.Helper()
	if len(cells) < 11 {
		t.Errorf("%s: %d cells, want 11", where, len(cells))
		return
	}
	st := o.Latency
	want := []struct {
		name string
		v    float64
	}{
		{"count", float64(o.Count)}, {"rate", float64(o.Count) / elapsed},
		{"avg", st.Mean}, {"p50", st.P50}, {"p90", st.P90}, {"p95", st.P95}, {"p99", st.P99},
		{"p99.9", st.P999}, {"max", st.Max}, {"errors", float64(o.Errors)}, {"error rate", 100 * o.ErrorRate()},
	}
	for i, w := range want {
		text := strings.TrimSuffix(cells[i], "%")
		got, err := strconv.ParseFloat(text, 64)
		if err != nil {
			t.Errorf("%s %s: %q is not a number", where, w.name, cells[i])
			continue
		}
		if tol := tolerance(text); math.Abs(got-w.v) > tol {
			t.Errorf("%s %s: table shows %s, result has %g", where, w.name, cells[i], w.v)
		}
	}
}

// tolerance is half a unit of the last printed digit.
func tolerance(text string) float64 {
	i := strings.IndexByte(text, '.')
	if i < 0 {
		return 0.5
	}
	return 0.5*math.Pow(10, -float64(len(text)-i-1)) + 1e-9
}

// extraOfResult reads the optional members of r's JSON form.
func extraOfResult(r *load.Result) *htmlreport.Extra {
	var buf bytes.Buffer
	if err := r.WriteJSON(&buf); err != nil {
		panic(err)
	}
	x, err := htmlreport.ReadExtra(&buf)
	if err != nil {
		panic(err)
	}
	return x
}
