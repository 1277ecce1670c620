package load

import (
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"
)

// Threshold is a pass/fail criterion on a run, such as "read.p99<50ms"
// (the p99 latency of reads under 50 ms) or "errors<1%". Its grammar:
//
//	threshold = [operation "."] ["service."] stat comparison value
//	stat      = "avg" | "min" | "max" | "p" quantile | "count" | "errors"
//	          | "rate" | "late" | "dropped" | "cold" | "checks"
//	comparison = "<" | "<=" | ">" | ">="
//
// Latency stats are timed from the intended send time unless "service."
// asks for the time from the actual send; their value is a duration
// ("50ms", "1.5s", or a plain number of milliseconds). errors, late,
// dropped, cold and checks (the failed evaluations of a collection's
// checks) take a percentage ("1%") or a count; rate takes requests per
// second. Without an operation, a threshold applies to all operations
// together. The operation is everything before the stat, so that a
// collection's request names (spaces, slashes, dots) need no quoting:
// "Create an item.p99<50ms"; the scenario's validation checks that the
// run has it.
type Threshold struct {
	// Source is the text it was parsed from.
	Source string
	// Op is the operation name, or "" for all of them.
	Op string
	// Service selects the service time instead of the latency.
	Service bool
	// Stat is the statistic: avg, min, max, p (with Quantile), count,
	// errors, rate, late, dropped, cold or checks.
	Stat string
	// Quantile is the percentile of a "p" stat, such as 99.9.
	Quantile float64
	// Cmp is the comparison.
	Cmp string
	// Value is the limit: milliseconds for latency stats, a fraction of one
	// when Percent, else a count or a rate.
	Value float64
	// Percent says Value is a fraction.
	Percent bool
}

// counted are the stats that count requests (or checks), and so take a
// percentage or a count.
var counted = []string{"count", "errors", "rate", "late", "dropped", "cold", "checks"}

// statShaped reports whether s is spelled as a stat: one of the names, or
// "p" and a digit (a percentile, checked later).
func statShaped(s string) bool {
	switch s {
	case "avg", "min", "max", "med":
		return true
	}
	return slices.Contains(counted, s) || len(s) > 1 && s[0] == 'p' && s[1] >= '0' && s[1] <= '9'
}

// splitMetric splits a metric such as "read.service.p99.9" into its
// operation ("read"), whether it asks for the service time, and its stat
// ("p99.9"): the stat is the longest tail after a dot that is spelled as
// one, and "service." may stand before it.
func splitMetric(metric string) (op string, service bool, stat string) {
	stat = metric
	if !statShaped(metric) {
		for i := 0; i < len(metric); i++ {
			if metric[i] == '.' && statShaped(metric[i+1:]) {
				op, stat = metric[:i], metric[i+1:]
				break
			}
		}
	}
	if op == "service" {
		return "", true, stat
	}
	if o, ok := strings.CutSuffix(op, ".service"); ok {
		return o, true, stat
	}
	return op, false, stat
}

// ParseThreshold reads a threshold such as "read.p99<50ms".
func ParseThreshold(s string) (Threshold, error) {
	t := Threshold{Source: s}
	src := strings.TrimSpace(s)
	i := strings.IndexAny(src, "<>")
	if i < 0 {
		return t, fmt.Errorf("threshold %q: no comparison (want <, <=, > or >=)", s)
	}
	metric, rest := strings.TrimSpace(src[:i]), src[i:]
	switch {
	case strings.HasPrefix(rest, "<="), strings.HasPrefix(rest, ">="):
		t.Cmp, rest = rest[:2], rest[2:]
	default:
		t.Cmp, rest = rest[:1], rest[1:]
	}
	value := strings.TrimSpace(rest)
	if metric == "" {
		return t, fmt.Errorf("threshold %q: no metric before %s", s, t.Cmp)
	}
	if value == "" {
		return t, fmt.Errorf("threshold %q: no value after %s", s, t.Cmp)
	}
	if _, known := opByName(metric); known {
		return t, fmt.Errorf("threshold %q: %q is an operation; add a stat such as %s.p99", s, metric, metric)
	}
	t.Op, t.Service, metric = splitMetric(metric)
	t.Stat = metric
	switch {
	case metric == "avg" || metric == "min" || metric == "max" || metric == "med":
		if metric == "med" {
			t.Stat, t.Quantile = "p", 50
		}
	case len(metric) > 1 && metric[0] == 'p' && metric[1] >= '0' && metric[1] <= '9':
		q, err := strconv.ParseFloat(metric[1:], 64)
		if err != nil || !(q > 0 && q <= 100) || strings.ContainsAny(metric[1:], "eE+-") {
			return t, fmt.Errorf("threshold %q: bad percentile %q (want p50, p99, p99.9 ...)", s, metric)
		}
		t.Stat, t.Quantile = "p", q
	case slices.Contains(counted, metric):
		if t.Service {
			return t, fmt.Errorf("threshold %q: service. applies to latency stats only", s)
		}
		if metric == "dropped" && t.Op != "" {
			return t, fmt.Errorf("threshold %q: dropped is counted for the whole run, not per operation", s)
		}
	default:
		return t, fmt.Errorf("threshold %q: unknown stat %q (want avg, min, max, pNN, count, errors, rate, late, dropped, cold or checks)", s, metric)
	}
	if err := t.parseValue(value); err != nil {
		return t, fmt.Errorf("threshold %q: %w", s, err)
	}
	return t, nil
}

func (t *Threshold) latency() bool {
	return t.Stat == "avg" || t.Stat == "min" || t.Stat == "max" || t.Stat == "p"
}

func (t *Threshold) parseValue(v string) error {
	if pct, ok := strings.CutSuffix(v, "%"); ok {
		switch t.Stat {
		case "errors", "late", "dropped", "cold", "checks":
		default:
			return fmt.Errorf("a percentage does not apply to %s", t.Stat)
		}
		f, err := strconv.ParseFloat(strings.TrimSpace(pct), 64)
		if err != nil || !finite(f) || f < 0 || f > 100 {
			return fmt.Errorf("bad percentage %q", v)
		}
		t.Value, t.Percent = f/100, true
		return nil
	}
	if t.latency() {
		if f, err := strconv.ParseFloat(v, 64); err == nil {
			if !finite(f) || f < 0 {
				return fmt.Errorf("bad duration %q", v)
			}
			t.Value = f // milliseconds
			return nil
		}
		d, err := time.ParseDuration(v)
		if err != nil || d < 0 {
			return fmt.Errorf("bad duration %q (want 50ms, 1.5s or a number of milliseconds)", v)
		}
		t.Value = float64(d) / float64(time.Millisecond)
		return nil
	}
	if t.Stat == "rate" {
		v = strings.TrimSuffix(v, "/s")
	}
	f, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
	if err != nil || !finite(f) || f < 0 {
		return fmt.Errorf("bad number %q", v)
	}
	t.Value = f
	return nil
}

// String returns the source text.
func (t Threshold) String() string { return t.Source }

// MarshalText returns the source text: a threshold is written as the text
// it was read from.
func (t Threshold) MarshalText() ([]byte, error) { return []byte(t.Source), nil }

// UnmarshalText parses a threshold with ParseThreshold.
func (t *Threshold) UnmarshalText(text []byte) error {
	v, err := ParseThreshold(string(text))
	if err != nil {
		return err
	}
	*t = v
	return nil
}

// Thresholds are a run's pass/fail criteria. Their text form is thresholds
// separated by commas, such as "read.p99<50ms,errors<1%"; a piece with no
// comparison belongs to the threshold after it, so that a collection's
// request named with a comma may be one's operation. A scenario file may
// give that text or a list.
type Thresholds []Threshold

// ParseThresholds reads thresholds such as "read.p99<50ms,errors<1%",
// reporting every bad one.
func ParseThresholds(s string) (Thresholds, error) {
	var out Thresholds
	var errs []error
	var pending []string
	for _, part := range strings.Split(s, ",") {
		if strings.TrimSpace(part) == "" && len(pending) == 0 {
			continue
		}
		if !strings.ContainsAny(part, "<>") {
			pending = append(pending, part)
			continue
		}
		if len(pending) > 0 {
			if t, err := ParseThreshold(strings.Join(append(pending, part), ",")); err == nil {
				out, pending = append(out, t), nil
				continue
			}
		}
		for _, p := range append(pending, part) {
			if strings.TrimSpace(p) == "" {
				continue
			}
			if t, err := ParseThreshold(strings.TrimSpace(p)); err != nil {
				errs = append(errs, err)
			} else {
				out = append(out, t)
			}
		}
		pending = nil
	}
	for _, p := range pending {
		if strings.TrimSpace(p) != "" {
			_, err := ParseThreshold(strings.TrimSpace(p))
			errs = append(errs, err)
		}
	}
	return out, errors.Join(errs...)
}

// Set adds the thresholds s describes to the others (flag.Value): the flag
// may be repeated, and a list in one environment variable splits safely.
func (ts *Thresholds) Set(s string) error {
	v, err := ParseThresholds(s)
	if err != nil {
		return err
	}
	*ts = append(*ts, v...)
	return nil
}

// String returns the thresholds in their text form.
func (ts Thresholds) String() string {
	parts := make([]string, len(ts))
	for i, t := range ts {
		parts[i] = t.Source
	}
	return strings.Join(parts, ",")
}

// UnmarshalYAML reads the thresholds from their text form or from a list
// of them.
func (ts *Thresholds) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind == yaml.ScalarNode {
		v, err := ParseThresholds(n.Value)
		if err != nil {
			return &yaml.TypeError{Errors: atLine(n.Line, err)}
		}
		*ts = v
		return nil
	}
	v, err := unmarshalList(n, ParseThreshold)
	if err != nil {
		return err
	}
	*ts = v
	return nil
}

// Eval checks every threshold against a result; it reports whether all
// passed.
func (ts Thresholds) Eval(r *Result) ([]ThresholdResult, bool) {
	var out []ThresholdResult
	pass := true
	for _, t := range ts {
		tr := t.Eval(r)
		pass = pass && tr.Pass
		out = append(out, tr)
	}
	return out, pass
}

// Breached returns the text of each threshold the result failed.
func (r *Result) Breached() []string {
	var failed []string
	for _, t := range r.Thresholds {
		if !t.Pass {
			failed = append(failed, t.Threshold.Source)
		}
	}
	return failed
}

// ThresholdResult is a threshold checked against a run.
type ThresholdResult struct {
	// Threshold is the threshold checked; its JSON form is its text.
	Threshold Threshold `json:"threshold"`
	// Actual is the measured value, in the threshold's unit: milliseconds,
	// a fraction, a count or a rate.
	Actual float64 `json:"actual"`
	Pass   bool    `json:"pass"`
	// Note explains a failure that is not a comparison, such as no data.
	Note string `json:"note,omitempty"`
}

// Eval checks the threshold against a result.
func (t Threshold) Eval(r *Result) ThresholdResult {
	tr := ThresholdResult{Threshold: t}
	actual, err := t.measure(r)
	if err != nil {
		tr.Note = err.Error()
		return tr
	}
	tr.Actual = actual
	switch t.Cmp {
	case "<":
		tr.Pass = actual < t.Value
	case "<=":
		tr.Pass = actual <= t.Value
	case ">":
		tr.Pass = actual > t.Value
	case ">=":
		tr.Pass = actual >= t.Value
	}
	return tr
}

var (
	errNoData   = errors.New("no data")
	errNoChecks = errors.New("no checks ran")
)

func (t Threshold) measure(r *Result) (float64, error) {
	op := &r.Total
	if t.Op != "" {
		op = r.Op(t.Op)
		if op == nil {
			op = &OpResult{Name: t.Op}
		}
	}
	frac := func(n, of int64) float64 {
		if of == 0 {
			return 0
		}
		return float64(n) / float64(of)
	}
	pick := func(n, of int64) float64 {
		if t.Percent {
			return frac(n, of)
		}
		return float64(n)
	}
	switch t.Stat {
	case "count":
		return float64(op.Count), nil
	case "errors":
		return pick(op.Errors, op.Count), nil
	case "cold":
		return pick(op.ColdStarts, op.Count), nil
	case "late":
		return pick(op.Late, op.Count), nil
	case "dropped":
		return pick(r.Dropped, r.Due), nil
	case "checks":
		if op.Checks == 0 {
			return 0, errNoChecks
		}
		return pick(op.ChecksFailed, op.Checks), nil
	case "rate":
		if r.ElapsedSeconds <= 0 {
			return 0, nil
		}
		return float64(op.Count) / r.ElapsedSeconds, nil
	}
	st := op.Latency
	enc := op.LatencyHist
	if t.Service {
		st, enc = op.Service, op.ServiceHist
	}
	if st.Count == 0 {
		return 0, errNoData
	}
	switch t.Stat {
	case "avg":
		return st.Mean, nil
	case "min":
		return st.Min, nil
	case "max":
		return st.Max, nil
	}
	switch t.Quantile {
	case 50:
		return st.P50, nil
	case 90:
		return st.P90, nil
	case 95:
		return st.P95, nil
	case 99:
		return st.P99, nil
	case 99.9:
		return st.P999, nil
	}
	h, err := DecodeHist(enc)
	if err != nil {
		return 0, err
	}
	return usToMs(float64(h.ValueAtQuantile(t.Quantile))), nil
}
