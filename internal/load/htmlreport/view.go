package htmlreport

import (
	"cmp"
	"fmt"
	"math"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	hdr "github.com/HdrHistogram/hdrhistogram-go"

	"github.com/surgehq/surge/internal/load"
)

// cell is one table cell: its text, and the number it shows (for sorting
// and for tests), when it shows one.
type cell struct {
	Text  string
	Num   string // "" when the cell is not a number
	Class string
	// Span is the columns the cell spans, when more than one.
	Span int
}

func txt(s string) cell { return cell{Text: s} }

func num(text string, v float64) cell {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return cell{Text: text}
	}
	return cell{Text: text, Num: strconv.FormatFloat(v, 'g', -1, 64)}
}

// table is a server-rendered table.
type table struct {
	ID       string
	Caption  string
	Note     string
	Sortable bool
	// Text marks a table of words, left-aligned, rather than of figures.
	Text bool
	Head []string
	// Groups are row groups (tbody); a comparison's operation is one, so
	// that sorting moves its three rows together.
	Groups [][][]cell
	Foot   [][]cell
}

// verdict is one run's thresholds.
type verdict struct {
	Label  string // "" or "A"/"B"
	Status string // "pass", "fail" or "none"
	Text   string
	Rows   [][]cell
}

func verdictOf(label string, r *load.Result) verdict {
	v := verdict{Label: label, Status: "none", Text: "No thresholds were set."}
	if len(r.Thresholds) == 0 {
		return v
	}
	failed := 0
	for _, t := range r.Thresholds {
		status := "pass"
		if !t.Pass {
			status = "FAIL"
			failed++
		}
		v.Rows = append(v.Rows, []cell{{Text: status, Class: strings.ToLower(status)}, txt(t.Threshold.String()), thresholdActual(t)})
	}
	if failed == 0 {
		v.Status, v.Text = "pass", fmt.Sprintf("Passed: all %d thresholds held.", len(r.Thresholds))
	} else {
		v.Status, v.Text = "fail", fmt.Sprintf("Failed: %d of %d thresholds breached.", failed, len(r.Thresholds))
	}
	return v
}

// thresholdActual renders the measured value in the threshold's unit.
func thresholdActual(t load.ThresholdResult) cell {
	if t.Note != "" {
		return txt(t.Note)
	}
	th := t.Threshold
	switch {
	case th.Stat == "":
		return num(strconv.FormatFloat(t.Actual, 'g', -1, 64), t.Actual)
	case th.Percent:
		return num(pct(t.Actual), t.Actual)
	case th.Stat == "avg" || th.Stat == "min" || th.Stat == "max" || th.Stat == "p":
		return num(msec(t.Actual)+" ms", t.Actual)
	case th.Stat == "rate":
		return num(rate(t.Actual), t.Actual)
	}
	return num(strconv.FormatFloat(t.Actual, 'f', -1, 64), t.Actual)
}

// opColumns are the per-operation table's columns after the name.
var opColumns = []string{"count", "rate (/s)", "avg (ms)", "p50 (ms)", "p90 (ms)", "p95 (ms)", "p99 (ms)",
	"p99.9 (ms)", "max (ms)", "errors", "error rate"}

// opCells renders one operation's figures, from its latency or its
// service time.
func opCells(o *load.OpResult, elapsed float64, service bool) []cell {
	st := o.Latency
	if service {
		st = o.Service
	}
	r := 0.0
	if elapsed > 0 {
		r = float64(o.Count) / elapsed
	}
	ms := func(v float64) cell {
		if st.Count == 0 {
			return txt("-")
		}
		return num(msec(v), v)
	}
	return []cell{
		num(strconv.FormatInt(o.Count, 10), float64(o.Count)),
		num(strconv.FormatFloat(r, 'f', 1, 64), r),
		ms(st.Mean), ms(st.P50), ms(st.P90), ms(st.P95), ms(st.P99), ms(st.P999), ms(st.Max),
		num(strconv.FormatInt(o.Errors, 10), float64(o.Errors)),
		num(pct(o.ErrorRate()), o.ErrorRate()),
	}
}

// opTable is a run's table with a row per operation and the total below.
func opTable(id string, r *load.Result, service bool) table {
	t := table{ID: id, Sortable: true, Head: append([]string{"operation"}, opColumns...)}
	if service {
		t.Caption = "Service time per operation, from the actual send"
	} else if r.Scenario.Model == load.ModelOpen {
		t.Caption = "Latency per operation, from the intended send time (coordinated omission corrected)"
	} else {
		t.Caption = "Latency per operation (closed model: from the actual send)"
	}
	for i := range r.Ops {
		o := &r.Ops[i]
		t.Groups = append(t.Groups, [][]cell{append([]cell{txt(o.Name)}, opCells(o, r.ElapsedSeconds, service)...)})
	}
	t.Foot = [][]cell{append([]cell{txt("all")}, opCells(&r.Total, r.ElapsedSeconds, service)...)}
	return t
}

// compareTable shows both runs per operation and the change, with the
// test's verdict on the latency distributions: a group of four rows per
// operation (A, B, the change in per cent, and the test), sorted on the
// change.
func compareTable(id string, a, b *load.Result, names []string) table {
	alpha := strconv.FormatFloat(Alpha, 'g', -1, 64)
	t := table{ID: id, Sortable: true,
		Caption: "Latency per operation, A against B: the change row is B relative to A, and sorting orders the operations by it",
		Head:    append([]string{"operation", "run"}, opColumns...),
		Note: "A difference is flagged significant only when the " + TestName + " gives p < " + alpha +
			"; A12 is the probability that a request of B is slower than one of A (0.5: neither tends to be slower). " +
			"With many requests even a small shift is significant: read it with A12.",
	}
	for _, name := range append(slices.Clone(names), "all") {
		oa, ob := opOf(a, name), opOf(b, name)
		if oa == nil {
			oa = &load.OpResult{Name: name}
		}
		if ob == nil {
			ob = &load.OpResult{Name: name}
		}
		ca, cb := opCells(oa, a.ElapsedSeconds, false), opCells(ob, b.ElapsedSeconds, false)
		again := cell{Text: name, Class: "rep"}
		change := []cell{again, {Text: "change", Class: "key"}}
		for i := range ca {
			change = append(change, changeCell(ca[i], cb[i]))
		}
		test := testCell(MannWhitney(mustHist(oa.LatencyHist), mustHist(ob.LatencyHist)))
		test.Span = len(opColumns)
		rows := [][]cell{
			append([]cell{txt(name), txt("A")}, ca...),
			append([]cell{again, txt("B")}, cb...),
			change,
			{again, txt("test"), test},
		}
		if name == "all" {
			t.Foot = rows
		} else {
			t.Groups = append(t.Groups, rows)
		}
	}
	return t
}

// changeCell renders b's figure relative to a's, in per cent.
func changeCell(a, b cell) cell {
	va, errA := strconv.ParseFloat(a.Num, 64)
	vb, errB := strconv.ParseFloat(b.Num, 64)
	if errA != nil || errB != nil || va == 0 {
		return txt("-")
	}
	c := (vb - va) / va * 100
	s := strconv.FormatFloat(c, 'f', 1, 64) + "%"
	if c > 0 {
		s = "+" + s
	}
	return num(s, c)
}

func testCell(t UTest) cell {
	if !t.Enough {
		return cell{Text: fmt.Sprintf("not tested: fewer than %d requests on a side", minTestCount), Class: "nsig"}
	}
	p := "p = " + strconv.FormatFloat(t.P, 'g', 2, 64)
	if t.P < 1e-15 {
		p = "p < 1e-15" // past float64's resolution of 1 - P
	}
	a := "A12 = " + strconv.FormatFloat(t.A, 'f', 3, 64)
	if !t.Significant() {
		return cell{Text: "no significant difference (" + p + ", " + a + ")", Class: "nsig"}
	}
	dir, class := "B faster", "sig faster"
	if t.A > 0.5 {
		dir, class = "B slower", "sig slower"
	}
	return cell{Text: "⚑ significant: " + dir + " (" + p + ", " + a + ")", Class: class}
}

// mustHist decodes a histogram already checked, or gives an empty one.
func mustHist(s string) *hdr.Histogram {
	if h := decode(s); h != nil {
		return h
	}
	h, _ := load.DecodeHist("")
	return h
}

// figure is one of a run's key figures, as text and as a number.
type figure struct {
	name string
	text func(r *load.Result, x *Extra) (string, float64)
}

var figures = []figure{
	{"started", func(r *load.Result, _ *Extra) (string, float64) {
		return r.Started.UTC().Format("2006-01-02 15:04:05 UTC"), math.NaN()
	}},
	{"duration", func(r *load.Result, _ *Extra) (string, float64) {
		return seconds(r.ElapsedSeconds) + " (plan " + seconds(r.PlanSeconds) + ")", r.ElapsedSeconds
	}},
	{"ended", func(r *load.Result, _ *Extra) (string, float64) { return r.Stop, math.NaN() }},
	{"requests completed", func(r *load.Result, _ *Extra) (string, float64) {
		return strconv.FormatInt(r.Total.Count, 10), float64(r.Total.Count)
	}},
	{"planned, due, sent", func(r *load.Result, _ *Extra) (string, float64) {
		return fmt.Sprintf("%d, %d, %d", r.Planned, r.Due, r.Sent), math.NaN()
	}},
	{"offered rate", func(r *load.Result, _ *Extra) (string, float64) { return rate(r.OfferedRate), r.OfferedRate }},
	{"achieved rate", func(r *load.Result, _ *Extra) (string, float64) { return rate(r.AchievedRate), r.AchievedRate }},
	{"errors", func(r *load.Result, _ *Extra) (string, float64) {
		return fmt.Sprintf("%d (%s)", r.Total.Errors, pct(r.Total.ErrorRate())), float64(r.Total.Errors)
	}},
	{"late sends", func(r *load.Result, _ *Extra) (string, float64) {
		return strconv.FormatInt(r.Late, 10), float64(r.Late)
	}},
	{"dropped", func(r *load.Result, _ *Extra) (string, float64) {
		return strconv.FormatInt(r.Dropped, 10), float64(r.Dropped)
	}},
	{"send lag p99", func(r *load.Result, _ *Extra) (string, float64) {
		if r.Lag.Count == 0 {
			return "-", math.NaN()
		}
		return msec(r.Lag.P99) + " ms", r.Lag.P99
	}},
	{"cold starts", func(r *load.Result, _ *Extra) (string, float64) {
		return strconv.FormatInt(r.Total.ColdStarts, 10), float64(r.Total.ColdStarts)
	}},
	{"data out, in", func(r *load.Result, _ *Extra) (string, float64) {
		return bytesize(r.BytesOut) + ", " + bytesize(r.BytesIn), math.NaN()
	}},
	{"response cache hits, misses", func(r *load.Result, _ *Extra) (string, float64) {
		t := r.Total
		if t.CacheHits+t.CacheMisses == 0 {
			return "-", math.NaN()
		}
		return fmt.Sprintf("%d, %d (%s hits)", t.CacheHits, t.CacheMisses, pct(float64(t.CacheHits)/float64(t.CacheHits+t.CacheMisses))), float64(t.CacheHits)
	}},
	{"function invocations", func(r *load.Result, _ *Extra) (string, float64) {
		if r.Target == nil || r.Target.Invocations == nil {
			return "-", math.NaN()
		}
		return strconv.FormatInt(*r.Target.Invocations, 10) + " (the target's count)", float64(*r.Target.Invocations)
	}},
	{"peak concurrent executions", func(r *load.Result, _ *Extra) (string, float64) {
		if r.Target == nil || r.Target.ConcurrencyMax == nil {
			return "-", math.NaN()
		}
		return strconv.FormatFloat(*r.Target.ConcurrencyMax, 'f', -1, 64), *r.Target.ConcurrencyMax
	}},
	{"capacity units read, write", func(r *load.Result, _ *Extra) (string, float64) {
		c := r.Total.Capacity
		if c == nil {
			return "-", math.NaN()
		}
		return fmt.Sprintf("%s, %s (%s a request)", units(c.Read), units(c.Write), units(c.PerRequest)), c.Read + c.Write
	}},
	{"throughput at the knee", func(_ *load.Result, x *Extra) (string, float64) {
		if x.Knee == nil {
			return "-", math.NaN()
		}
		s := rate(x.Knee.Rate)
		if x.Knee.P99Ms > 0 {
			s += " (p99 " + msec(x.Knee.P99Ms) + " ms)"
		}
		if x.Knee.Note != "" {
			s += "; " + x.Knee.Note
		}
		return s, x.Knee.Rate
	}},
	{"cost", func(_ *load.Result, x *Extra) (string, float64) {
		if x.Cost == nil {
			return "-", math.NaN()
		}
		s := x.Cost.Currency + " " + strconv.FormatFloat(x.Cost.Total, 'f', 4, 64)
		if x.Cost.PerMillion > 0 {
			s += " (" + x.Cost.Currency + " " + strconv.FormatFloat(x.Cost.PerMillion, 'f', 2, 64) + " per million requests)"
		}
		var parts []string
		for _, p := range x.Cost.Parts {
			parts = append(parts, p.Name+" "+strconv.FormatFloat(p.Amount, 'f', 4, 64))
		}
		if len(parts) > 0 {
			s += ": " + strings.Join(parts, ", ")
		}
		return s, x.Cost.Total
	}},
}

// optionalFigures are the key figures left out when no run carries them.
var optionalFigures = []string{"response cache hits, misses", "function invocations", "peak concurrent executions",
	"capacity units read, write", "throughput at the knee", "cost"}

// units prints capacity units to a tenth.
func units(v float64) string { return strconv.FormatFloat(math.Round(v*10)/10, 'f', -1, 64) }

// summaryTable has the key figures of one run, or of both runs and the
// change.
func summaryTable(id string, runs []*runIn) table {
	t := table{ID: id, Head: []string{"figure"}}
	for _, in := range runs {
		t.Head = append(t.Head, strings.TrimSpace("value "+in.label))
	}
	if len(runs) == 2 {
		t.Head = append(t.Head, "change")
	}
	for _, f := range figures {
		row := []cell{txt(f.name)}
		var cs []cell
		for _, in := range runs {
			s, v := f.text(in.r, in.x)
			cs = append(cs, num(s, v))
		}
		if slices.Contains(optionalFigures, f.name) &&
			!slices.ContainsFunc(cs, func(c cell) bool { return c.Text != "-" }) {
			continue // neither run carries it
		}
		row = append(row, cs...)
		if len(runs) == 2 {
			switch f.name {
			case "started", "ended", "planned, due, sent", "data out, in":
				row = append(row, txt(""))
			default:
				row = append(row, changeCell(cs[0], cs[1]))
			}
		}
		t.Groups = append(t.Groups, [][]cell{row})
	}
	return t
}

// setting is one line of a run's settings or machine.
type setting struct{ Name, Value string }

func settingsOf(r *load.Result) []setting {
	s := &r.Scenario
	out := []setting{
		{"target", s.Subject()},
		{"model", s.Model},
		{"plan", r.Plan()},
	}
	add := func(name, value string) {
		if value != "" {
			out = append(out, setting{name, value})
		}
	}
	if p := &s.Postman; p.File != "" {
		add("folders", strings.Join(p.Folders, "; "))
		add("setup folders", strings.Join(p.Setup, "; "))
		add("environment", p.Env)
		add("globals", p.Globals)
		if s.Model == load.ModelOpen {
			add("request mix", weights(p.Mix))
			add("captured values", p.Scope)
		}
	} else {
		add("mix", weights(s.Mix))
	}
	if s.Mix["ops"] > 0 {
		add("dispatcher mix", weights(s.API.OpsMix))
	}
	var pl []string
	for _, p := range s.Payloads {
		pl = append(pl, p.Size.String()+"="+strconv.FormatFloat(p.Weight, 'g', -1, 64))
	}
	add("payloads", strings.Join(pl, ", "))
	add("ids", fmt.Sprintf("%s, %d preseeded, pool of %d", s.IDs.Distribution, s.IDs.Preseed, s.IDs.PoolSize))
	if s.Model == load.ModelOpen {
		add("max in flight", strconv.Itoa(s.MaxInFlight))
		add("late after", s.LateAfter.String())
		if s.MaxLag > 0 {
			add("max lag", s.MaxLag.String())
		}
	}
	add("timeout", s.Timeout.String())
	client := s.Client
	if s.HTTP2 {
		client += ", HTTP/2"
	}
	add("client", client)
	if len(s.Headers) > 0 {
		var names []string
		for k := range s.Headers {
			names = append(names, k)
		}
		sort.Strings(names)
		add("headers", strings.Join(names, ", ")+" (values not shown)")
	}
	add("thresholds", strings.ReplaceAll(s.Thresholds.String(), ",", ", "))
	return out
}

func machineOf(r *load.Result) []setting {
	c := r.Client
	out := []setting{
		{"Go", c.GoVersion},
		{"CPUs (GOMAXPROCS)", fmt.Sprintf("%d (%d)", c.NumCPU, c.GOMAXPROCS)},
	}
	if r.Scenario.Model == load.ModelOpen && c.Workers > 0 {
		out = append(out, setting{"senders used", fmt.Sprintf("%d of %d", c.WorkersUsed, c.Workers)})
	}
	if c.MaxRSSBytes > 0 {
		out = append(out, setting{"peak memory (RSS)", bytesize(c.MaxRSSBytes)})
	}
	return out
}

func weights(m map[string]float64) string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var parts []string
	for _, k := range keys {
		parts = append(parts, k+"="+strconv.FormatFloat(m[k], 'g', -1, 64))
	}
	return strings.Join(parts, ", ")
}

// checkTables are a run's tables of a collection's checks and captures:
// a row each, sortable, the failures first.
func checkTables(id, label string, r *load.Result) []table {
	if len(r.Checks) == 0 && len(r.Captures) == 0 {
		return nil
	}
	of := ""
	if label != "" {
		of = " of " + label
	}
	tot := &r.Total
	checks := table{ID: id + "-checks" + strings.ToLower(label), Sortable: true, Text: true,
		Caption: "Checks" + of + ": each assertion of the collection's test scripts, counted on every response it applied to",
		Head:    []string{"request", "test", "check", "passed", "failed", "failed (%)"},
		Note: fmt.Sprintf("%d evaluated, %d failed (%s). A request with a failed check counts as an error; one to which no check applied, at the error status.",
			tot.Checks, tot.ChecksFailed, pct(tot.CheckFailureRate())),
	}
	rows := slices.Clone(r.Checks)
	slices.SortStableFunc(rows, func(a, b load.CheckResult) int { return cmp.Compare(b.Failed, a.Failed) })
	for _, c := range rows {
		rate := 0.0
		if n := c.Passed + c.Failed; n > 0 {
			rate = float64(c.Failed) / float64(n)
		}
		fail := num(strconv.FormatInt(c.Failed, 10), float64(c.Failed))
		if c.Failed > 0 {
			fail.Class = "fail"
		}
		checks.Groups = append(checks.Groups, [][]cell{{txt(c.Request), txt(c.Test), txt(c.Check),
			num(strconv.FormatInt(c.Passed, 10), float64(c.Passed)), fail, num(pct(rate), rate)}})
	}
	captures := table{ID: id + "-captures" + strings.ToLower(label), Sortable: true, Text: true,
		Caption: "Captures" + of + ": the variables set from responses, which later requests read",
		Head:    []string{"request", "variable", "capture", "made", "missed"},
		Note:    fmt.Sprintf("%d made, %d found no value.", tot.Captures-tot.CapturesMissed, tot.CapturesMissed),
	}
	for _, c := range r.Captures {
		miss := num(strconv.FormatInt(c.Missed, 10), float64(c.Missed))
		if c.Missed > 0 {
			miss.Class = "fail"
		}
		captures.Groups = append(captures.Groups, [][]cell{{txt(c.Request), txt(c.Variable), txt(c.Capture),
			num(strconv.FormatInt(c.Made, 10), float64(c.Made)), miss}})
	}
	out := []table{checks}
	if len(r.Captures) > 0 {
		out = append(out, captures)
	}
	return out
}

// msec renders milliseconds with three significant digits or more, as
// the text report does.
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
