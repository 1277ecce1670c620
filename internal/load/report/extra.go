package report

import (
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"

	"github.com/surgehq/surge/internal/load"
)

// targetLines writes what the responses' own headers and the target's
// probe said: cold against warm latency, the response cache, the limits
// that refused requests, and the target's invocations and concurrency.
func targetLines(ew *errWriter, r *load.Result) {
	t := &r.Total
	if t.ColdLatency != nil && t.WarmLatency != nil && t.WarmLatency.Count > 0 {
		ew.printf("cold/warm    cold p50 %sms p99 %sms (%d), warm p50 %sms p99 %sms (%d): a cold start adds %sms at p50\n",
			msec(t.ColdLatency.P50), msec(t.ColdLatency.P99), t.ColdLatency.Count,
			msec(t.WarmLatency.P50), msec(t.WarmLatency.P99), t.WarmLatency.Count,
			msec(t.ColdLatency.P50-t.WarmLatency.P50))
	}
	if n := t.CacheHits + t.CacheMisses; n > 0 {
		ew.printf("cache        X-Cache hits %d, misses %d (%s of cacheable responses, %s of all)\n",
			t.CacheHits, t.CacheMisses, pct(float64(t.CacheHits)/float64(n)), pct(float64(t.CacheHits)/float64(max(1, t.Count))))
	}
	if len(t.StatusSources) > 0 {
		ew.printf("limited      %s\n", sources(t.StatusSources))
	}
	if tg := r.Target; tg != nil {
		var parts []string
		if tg.Invocations != nil {
			inv := *tg.Invocations
			s := fmt.Sprintf("invocations %d", inv)
			if t.Count > 0 {
				s += fmt.Sprintf(" (%s of responses)", pct(float64(inv)/float64(t.Count)))
			}
			parts = append(parts, s)
		}
		if tg.ConcurrencyMax != nil {
			parts = append(parts, "concurrent executions max "+strconv.FormatFloat(*tg.ConcurrencyMax, 'f', -1, 64))
		}
		if tg.Failed > 0 {
			parts = append(parts, fmt.Sprintf("%d of %d samples failed", tg.Failed, tg.Samples))
		}
		if len(parts) > 0 {
			ew.printf("target       %s, from %s\n", strings.Join(parts, ", "), tg.Source)
		}
	}
}

// sources renders refusals by status and source: "429: gateway.stage 12,
// lambda.concurrency 3; 503: admission 1".
func sources(m map[string]map[string]int64) string {
	statuses := make([]string, 0, len(m))
	for st := range m {
		statuses = append(statuses, st)
	}
	sort.Strings(statuses)
	var out []string
	for _, st := range statuses {
		names := make([]string, 0, len(m[st]))
		for n := range m[st] {
			names = append(names, n)
		}
		sort.Strings(names)
		var parts []string
		for _, n := range names {
			parts = append(parts, fmt.Sprintf("%s %d", n, m[st][n]))
		}
		out = append(out, st+": "+strings.Join(parts, ", "))
	}
	return strings.Join(out, "; ")
}

// payloadTable writes the latency by payload size class.
func payloadTable(ew *errWriter, r *load.Result) {
	if len(r.PayloadLatency) == 0 {
		return
	}
	rows := [][]string{{"operation", "payload", "count", "avg", "p50", "p95", "p99"}}
	for _, p := range r.PayloadLatency {
		st := p.Latency
		rows = append(rows, []string{p.Op, load.ByteSize(p.Size).String(), strconv.FormatInt(st.Count, 10),
			msec(st.Mean), msec(st.P50), msec(st.P95), msec(st.P99)})
	}
	ew.printf("\nlatency by payload size, ms\n")
	writeTable(ew, rows)
}

// kneeTable writes a knee search's result and its steps.
func kneeTable(ew *errWriter, k *load.Knee) {
	if k == nil {
		return
	}
	if len(k.Steps) <= 1 {
		ew.printf("\nknee step   offered %s, achieved %s (%s)\n", rate(k.Offered), rate(k.Rate), k.Criteria)
		return
	}
	ew.printf("\nknee search (%s; never above %s)\n", k.Criteria, rate(k.Bound))
	rows := [][]string{{"step", "offered", "achieved", "p50", "p99", "errors", "conc", "verdict"}}
	var why []string
	for i, s := range k.Steps {
		v := "pass"
		if !s.Pass {
			v = "FAIL"
			why = append(why, fmt.Sprintf("  step %d at %s failed: %s", i+1, rate(s.Offered), s.Why))
		}
		conc := "-"
		if s.Concurrency != nil {
			conc = strconv.FormatFloat(*s.Concurrency, 'f', -1, 64)
		}
		rows = append(rows, []string{strconv.Itoa(i+1) + " " + s.Phase, rate(s.Offered), rate(s.Achieved), msec(s.P50Ms), msec(s.P99Ms), pct(s.Errors), conc, v})
	}
	writeTable(ew, rows)
	for _, w := range why {
		ew.printf("%s\n", w)
	}
	if k.Offered > 0 {
		ew.printf("  knee: %s achieved at %s offered, p99 %sms", rate(k.Rate), rate(k.Offered), msec(k.P99Ms))
	} else {
		ew.printf("  knee: not found")
	}
	if k.Note != "" {
		ew.printf(" (%s)", k.Note)
	}
	ew.printf("\n")
}

// ratio renders a ratio such as p99/p50, "-" when there is none.
func ratio(v float64) string {
	if v <= 0 || math.IsNaN(v) || math.IsInf(v, 0) {
		return "-"
	}
	return strconv.FormatFloat(v, 'f', 2, 64) + "x"
}

// compareExtra writes the rows of the comparison that the responses'
// headers and the target's probe give, where either run has them.
func compareExtra(a, b *load.Result) [][]string {
	var rows [][]string
	add := func(name, va, vb, ch string) { rows = append(rows, []string{name, va, vb, ch}) }
	ta, tb := &a.Total, &b.Total
	if ta.ColdStarts+tb.ColdStarts > 0 {
		add("cold starts", strconv.FormatInt(ta.ColdStarts, 10), strconv.FormatInt(tb.ColdStarts, 10), change(float64(ta.ColdStarts), float64(tb.ColdStarts)))
	}
	if ta.CacheHits+ta.CacheMisses+tb.CacheHits+tb.CacheMisses > 0 {
		add("cache hits", strconv.FormatInt(ta.CacheHits, 10), strconv.FormatInt(tb.CacheHits, 10), change(float64(ta.CacheHits), float64(tb.CacheHits)))
	}
	if len(ta.StatusSources)+len(tb.StatusSources) > 0 {
		la, lb := ta.Limited(), tb.Limited()
		names := map[string]bool{}
		for n := range la {
			names[n] = true
		}
		for n := range lb {
			names[n] = true
		}
		keys := make([]string, 0, len(names))
		for n := range names {
			keys = append(keys, n)
		}
		sort.Strings(keys)
		for _, n := range keys {
			add("limited by "+n, strconv.FormatInt(la[n], 10), strconv.FormatInt(lb[n], 10), change(float64(la[n]), float64(lb[n])))
		}
	}
	inv := func(r *load.Result) (float64, bool) {
		if r.Target == nil || r.Target.Invocations == nil {
			return 0, false
		}
		return float64(*r.Target.Invocations), true
	}
	if ia, oka := inv(a); oka {
		if ib, okb := inv(b); okb {
			add("invocations", strconv.FormatFloat(ia, 'f', 0, 64), strconv.FormatFloat(ib, 'f', 0, 64), change(ia, ib))
		}
	}
	conc := func(r *load.Result) string {
		if r.Target == nil || r.Target.ConcurrencyMax == nil {
			return "-"
		}
		return strconv.FormatFloat(*r.Target.ConcurrencyMax, 'f', -1, 64)
	}
	if ca, cb := conc(a), conc(b); ca != "-" || cb != "-" {
		add("concurrency max", ca, cb, "")
	}
	if a.Knee != nil || b.Knee != nil {
		ka, kb := kneeRate(a), kneeRate(b)
		add("throughput at the knee", rateOr(ka), rateOr(kb), change(ka, kb))
	}
	add("latency sd", msec(ta.Latency.Stddev), msec(tb.Latency.Stddev), change(ta.Latency.Stddev, tb.Latency.Stddev))
	add("latency p99/p50", ratio(ta.Spread()), ratio(tb.Spread()), change(ta.Spread(), tb.Spread()))
	return rows
}

func kneeRate(r *load.Result) float64 {
	if r.Knee == nil {
		return math.NaN()
	}
	return r.Knee.Rate
}

func rateOr(v float64) string {
	if math.IsNaN(v) {
		return "-"
	}
	return rate(v)
}

// KneeStepLine renders a knee search's step as a progress line.
func KneeStepLine(s load.KneeStep) string {
	v := "pass"
	if !s.Pass {
		v = "FAIL: " + s.Why
	}
	conc := ""
	if s.Concurrency != nil {
		conc = "  concurrency " + strconv.FormatFloat(*s.Concurrency, 'f', -1, 64)
	}
	return fmt.Sprintf("knee %-6s offered %s  achieved %s  p50 %sms  p99 %sms  errors %s%s  %s",
		s.Phase, rate(s.Offered), rate(s.Achieved), msec(s.P50Ms), msec(s.P99Ms), pct(s.Errors), conc, v)
}
