// Package report renders what surge load measured: the end-of-run text
// report with a row per operation (like the seed article's table), the
// live progress display, and the comparison of two runs. It reads only
// load.Result, so a result saved as JSON redraws the same report later.
package report

import (
	"fmt"
	"io"
	"math"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/surgehq/surge/internal/load"
)

// Text writes the end-of-run report: what ran, a latency table and a
// service-time table with a row per operation, statuses, errors, cold
// starts, the server's own timing, and the thresholds.
func Text(w io.Writer, r *load.Result) error {
	ew := &errWriter{w: w}
	s := &r.Scenario
	ew.printf("surge load %s: %s\n", Subject(s), describePlan(r))
	switch {
	case r.Partial:
		ew.printf("  PARTIAL   the result file ends %s in, before the run did (killed or crashed): the figures cover the run up to that interval\n", seconds(r.ElapsedSeconds))
	case r.Stop != "completed":
		ew.printf("  stopped   %s after %s\n", r.Stop, seconds(r.ElapsedSeconds))
	}
	distribution(ew, r)
	late := ""
	if r.Sent > 0 {
		late = fmt.Sprintf(" (%s)", pct(float64(r.Late)/float64(r.Sent)))
	}
	if s.Model == load.ModelOpen {
		ew.printf("  requests  planned %d, due %d, sent %d, late %d%s, dropped %d",
			r.Planned, r.Due, r.Sent, r.Late, late, r.Dropped)
		if r.DroppedLag > 0 {
			ew.printf(" (%d past max lag)", r.DroppedLag)
		}
		ew.printf("\n")
	} else {
		ew.printf("  requests  sent %d\n", r.Sent)
	}
	ew.printf("  rate      offered %s, achieved %s, over %s\n", rate(r.OfferedRate), rate(r.AchievedRate), seconds(r.ElapsedSeconds))
	ew.printf("  data      out %s, in %s\n", bytesize(r.BytesOut), bytesize(r.BytesIn))
	if s.Model == load.ModelOpen && r.Client.Workers > 0 {
		ew.printf("  senders   %d used of %d (max in flight)\n", r.Client.WorkersUsed, r.Client.Workers)
	}
	if s.Model == load.ModelOpen && r.Lag.Count > 0 {
		ew.printf("  send lag  p50 %sms, p99 %sms, max %sms (actual send after the intended time)\n", msec(r.Lag.P50), msec(r.Lag.P99), msec(r.Lag.Max))
	}
	if r.Preseed.Requested > 0 {
		ew.printf("  preseed   %d of %d items created", r.Preseed.Created, r.Preseed.Requested)
		if r.Preseed.Failed > 0 {
			ew.printf(", %d failed", r.Preseed.Failed)
		}
		ew.printf("\n")
	}

	if s.Model == load.ModelOpen {
		ew.printf("\nlatency, from the intended send time (coordinated omission corrected), ms\n")
	} else {
		ew.printf("\nlatency, closed model (from the actual send), ms\n")
	}
	table(ew, r, func(o *load.OpResult) load.Stats { return o.Latency }, true)
	if s.Model == load.ModelOpen {
		ew.printf("\nservice time, from the actual send, ms\n")
		table(ew, r, func(o *load.OpResult) load.Stats { return o.Service }, false)
	}

	ew.printf("\n")
	if len(r.Total.Statuses) > 0 {
		ew.printf("statuses     %s\n", counts(r.Total.Statuses, true))
	}
	if len(r.Total.ErrorKinds) > 0 {
		ew.printf("no response  %s\n", counts(r.Total.ErrorKinds, false))
	}
	if r.Total.ColdStarts > 0 {
		var per []string
		for _, o := range r.Ops {
			if o.ColdStarts > 0 {
				per = append(per, fmt.Sprintf("%s %d", o.Name, o.ColdStarts))
			}
		}
		ew.printf("cold starts  %d (%s)\n", r.Total.ColdStarts, strings.Join(per, ", "))
	}
	targetLines(ew, r)
	serverTiming(ew, r)
	capacityAndCost(ew, r)
	payloadTable(ew, r)
	kneeTable(ew, r.Knee)
	checks(ew, r)
	if len(r.Thresholds) > 0 {
		ew.printf("\nthresholds\n")
		for _, t := range r.Thresholds {
			verdict := "PASS"
			if !t.Pass {
				verdict = "FAIL"
			}
			actual := thresholdActual(t)
			ew.printf("  %s  %-28s %s\n", verdict, t.Threshold.Source, actual)
		}
	}
	return ew.err
}

// distribution says which part of a split plan a result is, or of which
// parts it was merged, and which parts are missing.
func distribution(ew *errWriter, r *load.Result) {
	if p := r.Part; p != nil {
		ew.printf("  part      %s of plan %s, from %s", p.Part, p.PlanID, p.Split.StartAt.UTC().Format(time.RFC3339Nano))
		if p.Clock.Via != "" {
			ew.printf(", clock %+.1fms (±%.1fms)", p.Clock.OffsetMs, p.Clock.ErrorMs)
		}
		ew.printf("\n")
	}
	m := r.Merged
	if m == nil {
		return
	}
	var off, errMs float64
	for _, p := range m.Parts {
		if math.Abs(p.Clock.OffsetMs) >= math.Abs(off) {
			off, errMs = p.Clock.OffsetMs, p.Clock.ErrorMs
		}
	}
	ew.printf("  merged    %d of %d parts of plan %s (%d shards", len(m.Parts), len(m.Parts)+len(m.Missing), m.PlanID, m.Split.Shards)
	if m.Segments > 1 {
		ew.printf(" x %d segments of %s", m.Segments, m.Split.Segment)
	}
	ew.printf("), from %s; largest clock offset %+.1fms (±%.1fms)\n", m.Split.StartAt.UTC().Format(time.RFC3339Nano), off, errMs)
	if len(m.Missing) > 0 {
		ew.printf("  INCOMPLETE %d of %d planned requests are in parts with no result:\n", m.MissingRequests, r.Planned)
		for _, x := range m.Missing {
			ew.printf("    missing %s\n", x)
		}
	}
}

// capacityAndCost prints the capacity units the target reported per
// operation, and the run's cost when the target reported its usage.
func capacityAndCost(ew *errWriter, r *load.Result) {
	var parts []string
	for _, o := range r.Ops {
		if c := o.Capacity; c != nil {
			parts = append(parts, fmt.Sprintf("%s %s", o.Name, strconv.FormatFloat(c.PerRequest, 'f', -1, 64)))
		}
	}
	if len(parts) > 0 {
		ew.printf("capacity     units a request: %s\n", strings.Join(parts, ", "))
	}
	if c := r.Cost; c != nil {
		var by []string
		for _, p := range c.Parts {
			by = append(by, fmt.Sprintf("%s %s", p.Name, strconv.FormatFloat(p.Amount, 'f', 6, 64)))
		}
		ew.printf("cost         %s %s, %s per million requests (%s; %s prices of %s)\n", c.Currency,
			strconv.FormatFloat(c.Total, 'f', 6, 64), strconv.FormatFloat(c.PerMillion, 'f', 4, 64), strings.Join(by, ", "), c.Region, c.PricesDate)
	} else if r.CostError != "" {
		ew.printf("cost         none: %s\n", r.CostError)
	}
}

func thresholdActual(t load.ThresholdResult) string {
	if t.Note != "" {
		return "(" + t.Note + ")"
	}
	th := t.Threshold
	switch {
	case th.Percent:
		return "(actual " + pct(t.Actual) + ")"
	case th.Stat == "avg" || th.Stat == "min" || th.Stat == "max" || th.Stat == "p":
		return "(actual " + msec(t.Actual) + "ms)"
	case th.Stat == "rate":
		return "(actual " + rate(t.Actual) + ")"
	}
	return "(actual " + strconv.FormatFloat(t.Actual, 'f', -1, 64) + ")"
}

func describePlan(r *load.Result) string { return r.Scenario.Model + " model, " + r.Plan() }

// Subject names what a run drove: its target, or its collection.
func Subject(s *load.Scenario) string { return s.Subject() }

// checks writes a collection's checks and captures: per request, and
// every check that failed.
func checks(ew *errWriter, r *load.Result) {
	if len(r.Checks) == 0 && len(r.Captures) == 0 {
		return
	}
	t := &r.Total
	ew.printf("\nchecks of the collection: %d evaluated, %d failed (%s); captures: %d, %d found no value\n",
		t.Checks, t.ChecksFailed, pct(t.CheckFailureRate()), t.Captures, t.CapturesMissed)
	rows := [][]string{{"request", "checks", "failed", "captures", "missed"}}
	for _, o := range r.Ops {
		if o.Checks > 0 || o.Captures > 0 {
			rows = append(rows, []string{o.Name, strconv.FormatInt(o.Checks, 10), strconv.FormatInt(o.ChecksFailed, 10),
				strconv.FormatInt(o.Captures, 10), strconv.FormatInt(o.CapturesMissed, 10)})
		}
	}
	writeTable(ew, rows)
	rows = [][]string{{"failed check", "failed", "of"}}
	for _, c := range r.Checks {
		if c.Failed > 0 {
			what := c.Request + ": " + c.Check
			if c.Test != "" {
				what = c.Request + ": " + c.Test + ": " + c.Check
			}
			rows = append(rows, []string{what, strconv.FormatInt(c.Failed, 10), strconv.FormatInt(c.Passed+c.Failed, 10)})
		}
	}
	for _, c := range r.Captures {
		if c.Missed > 0 {
			rows = append(rows, []string{c.Request + ": capture " + c.Capture + " (no value)",
				strconv.FormatInt(c.Missed, 10), strconv.FormatInt(c.Made+c.Missed, 10)})
		}
	}
	if len(rows) > 1 {
		ew.printf("\n")
		writeTable(ew, rows)
	}
}

// table writes a row per operation and one for all of them.
func table(ew *errWriter, r *load.Result, stats func(*load.OpResult) load.Stats, withErrors bool) {
	head := []string{"operation", "count", "avg", "p50", "p95", "p99", "max"}
	if withErrors {
		head = append(head, "errors", "stddev", "p99/p50")
	}
	rows := [][]string{head}
	row := func(o *load.OpResult) {
		st := stats(o)
		line := []string{o.Name, strconv.FormatInt(o.Count, 10),
			msec(st.Mean), msec(st.P50), msec(st.P95), msec(st.P99), msec(st.Max)}
		if withErrors {
			line = append(line, pct(o.ErrorRate()), msec(st.Stddev), ratio(o.Spread()))
		}
		rows = append(rows, line)
	}
	for i := range r.Ops {
		row(&r.Ops[i])
	}
	if len(r.Ops) != 1 {
		row(&r.Total)
	}
	writeTable(ew, rows)
}

func serverTiming(ew *errWriter, r *load.Result) {
	rows := [][]string{{"operation", "metric", "count", "avg", "p50", "p95", "p99"}}
	for _, o := range r.Ops {
		for _, m := range o.ServerTiming {
			st := m.Stats
			rows = append(rows, []string{o.Name, m.Name, strconv.FormatInt(st.Count, 10),
				msec(st.Mean), msec(st.P50), msec(st.P95), msec(st.P99)})
		}
	}
	if len(rows) == 1 {
		return
	}
	ew.printf("\nserver timing (Server-Timing header), ms\n")
	writeTable(ew, rows)
}

// writeTable writes rows as columns: the first left-aligned (names), the
// others right-aligned (numbers), two spaces apart, indented by two.
func writeTable(ew *errWriter, rows [][]string) {
	var width []int
	for _, r := range rows {
		for i, c := range r {
			if i >= len(width) {
				width = append(width, 0)
			}
			width[i] = max(width[i], len(c))
		}
	}
	var b strings.Builder
	for _, r := range rows {
		b.Reset()
		b.WriteString("  ")
		for i, c := range r {
			pad := strings.Repeat(" ", width[i]-len(c))
			if i == 0 {
				b.WriteString(c + pad)
			} else {
				b.WriteString("  " + pad + c)
			}
		}
		ew.printf("%s\n", strings.TrimRight(b.String(), " "))
	}
}

// counts renders a map of counts as "k: n" pairs, sorted by key (numeric
// keys in numeric order).
func counts(m map[string]int64, numeric bool) string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool {
		if numeric {
			a, _ := strconv.Atoi(keys[i])
			b, _ := strconv.Atoi(keys[j])
			if a != b {
				return a < b
			}
		}
		return keys[i] < keys[j]
	})
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = fmt.Sprintf("%s: %d", k, m[k])
	}
	return strings.Join(parts, "  ")
}

// msec renders milliseconds with three significant digits or more.
func msec(v float64) string {
	switch {
	case math.IsNaN(v):
		return "-"
	case v >= 100:
		return strconv.FormatFloat(v, 'f', 0, 64)
	case v >= 10:
		return strconv.FormatFloat(v, 'f', 1, 64)
	}
	return strconv.FormatFloat(v, 'f', 2, 64)
}

func pct(f float64) string { return strconv.FormatFloat(100*f, 'f', 2, 64) + "%" }

func rate(v float64) string { return strconv.FormatFloat(v, 'f', 1, 64) + "/s" }

func seconds(s float64) string {
	return time.Duration(s * float64(time.Second)).Round(time.Millisecond).String()
}

func bytesize(n int64) string {
	switch {
	case n >= 1<<30:
		return strconv.FormatFloat(float64(n)/(1<<30), 'f', 2, 64) + " GiB"
	case n >= 1<<20:
		return strconv.FormatFloat(float64(n)/(1<<20), 'f', 1, 64) + " MiB"
	case n >= 1<<10:
		return strconv.FormatFloat(float64(n)/(1<<10), 'f', 1, 64) + " KiB"
	}
	return strconv.FormatInt(n, 10) + " B"
}

// errWriter keeps the first write error, so rendering code stays linear.
type errWriter struct {
	w   io.Writer
	err error
}

func (e *errWriter) Write(p []byte) (int, error) {
	if e.err != nil {
		return 0, e.err
	}
	n, err := e.w.Write(p)
	e.err = err
	return n, err
}

func (e *errWriter) printf(format string, args ...any) {
	if e.err == nil {
		_, e.err = fmt.Fprintf(e.w, format, args...)
	}
}
