package report

import (
	"io"
	"math"
	"strconv"

	"github.com/surgehq/surge/internal/load"
)

// Compare writes how run b differs from run a (a baseline and a change,
// such as before and after an optimization): rate, errors, and per
// operation the count, avg, p95 and p99 latency with their change.
func Compare(w io.Writer, a, b *load.Result) error {
	ew := &errWriter{w: w}
	ew.printf("A: %s  %s, %s\n", a.Started.Format("2006-01-02 15:04:05Z"), Subject(&a.Scenario), describePlan(a))
	ew.printf("B: %s  %s, %s\n\n", b.Started.Format("2006-01-02 15:04:05Z"), Subject(&b.Scenario), describePlan(b))
	writeTable(ew, append([][]string{
		{"", "A", "B", "change"},
		{"achieved rate", rate(a.AchievedRate), rate(b.AchievedRate), change(a.AchievedRate, b.AchievedRate)},
		{"errors", pct(a.Total.ErrorRate()), pct(b.Total.ErrorRate()), ""},
		{"dropped", strconv.FormatInt(a.Dropped, 10), strconv.FormatInt(b.Dropped, 10), ""},
	}, compareExtra(a, b)...))
	ew.printf("\nlatency, ms\n")
	rows := [][]string{{"operation", "count A", "count B", "avg A", "avg B", "change",
		"p95 A", "p95 B", "change", "p99 A", "p99 B", "change"}}
	names := []string{}
	seen := map[string]bool{}
	for _, r := range []*load.Result{a, b} {
		for _, o := range r.Ops {
			if !seen[o.Name] {
				seen[o.Name] = true
				names = append(names, o.Name)
			}
		}
	}
	names = append(names, "all")
	for _, n := range names {
		oa, ob := opOf(a, n), opOf(b, n)
		la, lb := oa.Latency, ob.Latency
		rows = append(rows, []string{n, strconv.FormatInt(oa.Count, 10), strconv.FormatInt(ob.Count, 10),
			msecOr(la, la.Mean), msecOr(lb, lb.Mean), change(la.Mean, lb.Mean),
			msecOr(la, la.P95), msecOr(lb, lb.P95), change(la.P95, lb.P95),
			msecOr(la, la.P99), msecOr(lb, lb.P99), change(la.P99, lb.P99)})
	}
	writeTable(ew, rows)
	return ew.err
}

func opOf(r *load.Result, name string) load.OpResult {
	if name == "all" {
		return r.Total
	}
	if o := r.Op(name); o != nil {
		return *o
	}
	return load.OpResult{Name: name}
}

// msecOr renders v, or "-" when the distribution is empty.
func msecOr(s load.Stats, v float64) string {
	if s.Count == 0 {
		return "-"
	}
	return msec(v)
}

// change renders b relative to a as a signed percentage.
func change(a, b float64) string {
	if a == 0 || math.IsNaN(a) || math.IsNaN(b) {
		return "-"
	}
	c := (b - a) / a * 100
	s := strconv.FormatFloat(c, 'f', 1, 64) + "%"
	if c > 0 {
		s = "+" + s
	}
	return s
}
