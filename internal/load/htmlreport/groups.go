package htmlreport

import (
	"math"
	"slices"
	"sort"
	"strconv"
	"strings"

	hdr "github.com/HdrHistogram/hdrhistogram-go"

	"github.com/surgehq/surge/internal/load"
)

// group is a heading over charts, and sentences where a chart's data is
// missing.
type group struct {
	Title string
	Items []item
}

type item struct {
	Chart   *chart
	Missing string
}

func (g *group) add(c *chart, missing string) {
	if c != nil {
		g.Items = append(g.Items, item{Chart: c})
		return
	}
	g.Items = append(g.Items, item{Missing: missing})
}

func (g *group) note(s string) { g.Items = append(g.Items, item{Missing: s}) }

// anyRun reports whether f holds for any run of the section.
func (b *builder) anyRun(f func(in *runIn) bool) bool {
	return slices.ContainsFunc(b.runs, f)
}

// groups returns every chart of the section, in the order of issue 12's
// list, with a sentence for each one the results cannot draw.
func (b *builder) groups() []group {
	return []group{
		b.throughput(),
		b.latency(),
		b.statuses(),
		b.coldStarts(),
		b.serverTiming(),
		b.payloads(),
		b.cacheAndInvocations(),
		b.capacity(),
	}
}

func (b *builder) throughput() group {
	g := group{Title: "Throughput"}
	defs := []timeDef{
		{name: "offered", unit: unitRate, wide: true, get: func(in *runIn) []float64 {
			if in.r.Scenario.Model != load.ModelOpen {
				return nil
			}
			y := make([]float64, len(in.t))
			for i, p := range in.r.Series {
				y[i] = p.Offered
			}
			return y
		}},
		{name: "achieved", unit: unitRate, get: func(in *runIn) []float64 {
			return in.perSecond(func(i int) (float64, bool) { return float64(in.r.Series[i].Done), true })
		}},
		{name: "errors", unit: unitRate, axis: 1, get: func(in *runIn) []float64 {
			return in.perSecond(func(i int) (float64, bool) { return float64(in.r.Series[i].Errors), true })
		}},
		{name: "late", unit: unitRate, axis: 1, get: func(in *runIn) []float64 {
			return in.perSecond(func(i int) (float64, bool) { return float64(in.r.Series[i].Late), true })
		}},
		{name: "dropped", unit: unitRate, axis: 1, get: func(in *runIn) []float64 {
			if !has(in.x, func(p *PointExtra) *int64 { return p.Dropped }) {
				return nil
			}
			ex := in.extraAt()
			return in.perSecond(func(i int) (float64, bool) {
				if ex[i] == nil || ex[i].Dropped == nil {
					return 0, true
				}
				return float64(*ex[i].Dropped), true
			})
		}},
	}
	g.add(b.timeChart("rate", "Offered and achieved rate, with errors, late and dropped requests",
		"Requests per second in each interval: offered is what the plan asked for (open model), achieved what completed; "+
			"errors, late sends and dropped requests on the right-hand axis.",
		"requests per second", "errors, late, dropped (/s)", defs), "The result has no time series.")
	if b.anyRun(func(in *runIn) bool {
		return in.r.Dropped > 0 && !has(in.x, func(p *PointExtra) *int64 { return p.Dropped })
	}) {
		var parts []string
		for _, in := range b.runs {
			parts = append(parts, strings.TrimSpace(in.label+" "+strconv.FormatInt(in.r.Dropped, 10)))
		}
		g.note("Dropped requests over time: the result counts them only in total (" + strings.Join(parts, ", ") +
			"), not per interval (series[].dropped).")
	}
	g.add(b.timeChart("concurrency", "Concurrency: requests in flight and concurrent executions",
		"Requests sent and not yet answered at each interval's end (the load generator's view), and the target's "+
			"concurrent executions where it reports them.",
		"requests or executions", "", []timeDef{
			{name: "in flight", unit: unitCount, get: func(in *runIn) []float64 {
				y := make([]float64, len(in.t))
				for i, p := range in.r.Series {
					y[i] = float64(p.InFlight)
				}
				return y
			}},
			{name: "concurrent executions", unit: unitCount, get: func(in *runIn) []float64 {
				if !has(in.x, func(p *PointExtra) *float64 { return p.Concurrency }) {
					return nil
				}
				ex := in.extraAt()
				y := make([]float64, len(in.t))
				for i := range y {
					if ex[i] != nil && ex[i].Concurrency != nil {
						y[i] = *ex[i].Concurrency
					}
				}
				return y
			}},
		}), "The result has no time series.")
	if !b.anyRun(func(in *runIn) bool { return has(in.x, func(p *PointExtra) *float64 { return p.Concurrency }) }) {
		g.note("Concurrent executions: the target did not report them (series[].concurrency).")
	}
	return g
}

func (b *builder) latency() group {
	g := group{Title: "Latency"}
	g.add(b.timeChart("latency-all", "Latency p99 over time, all operations",
		"The 99th percentile of every request's latency in each interval, timed from its intended send time.",
		"latency (ms)", "", []timeDef{{name: "p99", unit: unitMs, get: func(in *runIn) []float64 {
			y := make([]float64, len(in.t))
			for i, p := range in.r.Series {
				y[i] = p.P99
				if p.Done == 0 {
					y[i] = math.NaN()
				}
			}
			return y
		}}}), "The result has no time series.")
	for _, name := range b.opNames() {
		pick := func(f func(load.OpPoint) float64) func(in *runIn) []float64 {
			return func(in *runIn) []float64 {
				y := nan(len(in.t))
				for i, p := range in.r.Series {
					for _, o := range p.Ops {
						if o.Name == name && o.Count > 0 {
							y[i] = f(o)
						}
					}
				}
				return y
			}
		}
		g.add(b.timeChart("latency-"+slug(name), name+": latency percentiles over time",
			"The p50, p95 and p99 latency of "+name+" requests in each interval.", "latency (ms)", "", []timeDef{
				{name: "p50", unit: unitMs, get: pick(func(o load.OpPoint) float64 { return o.P50 })},
				{name: "p95", unit: unitMs, get: pick(func(o load.OpPoint) float64 { return o.P95 })},
				{name: "p99", unit: unitMs, get: pick(func(o load.OpPoint) float64 { return o.P99 })},
			}), name+": no interval has a request of it.")
	}
	for _, name := range append(b.opNames(), "all") {
		hist := func(service bool) func(in *runIn) *hdr.Histogram {
			return func(in *runIn) *hdr.Histogram {
				o := opOf(in.r, name)
				if o == nil {
					return nil
				}
				if service {
					return decode(o.ServiceHist)
				}
				return decode(o.LatencyHist)
			}
		}
		title := name + ": latency distribution (HDR percentile plot)"
		if name == "all" {
			title = "All operations: latency distribution (HDR percentile plot)"
		}
		g.add(b.curveChart("hdr-"+slug(name), title,
			"Latency at each percentile, from the intended send time, beside the service time from the actual send; "+
				"the horizontal axis is logarithmic in the distance to 100% (90%, 99%, 99.9%...).",
			[]curveDef{{name: "latency", hist: hist(false)}, {name: "service time", hist: hist(true)}}),
			name+": no latency histogram in the result.")
	}
	return g
}

func (b *builder) statuses() group {
	g := group{Title: "Status codes and errors"}
	hasStatuses := func(in *runIn) bool {
		return slices.ContainsFunc(in.x.Series, func(p PointExtra) bool { return len(p.Statuses) > 0 })
	}
	if b.anyRun(hasStatuses) {
		codes := map[string]bool{}
		for _, in := range b.runs {
			for _, p := range in.x.Series {
				for c := range p.Statuses {
					codes[c] = true
				}
			}
		}
		var defs []timeDef
		for _, code := range sortedCodes(codes) {
			defs = append(defs, timeDef{name: code, unit: unitRate, get: func(in *runIn) []float64 {
				if !hasStatuses(in) {
					return nil
				}
				ex := in.extraAt()
				return in.perSecond(func(i int) (float64, bool) {
					if ex[i] == nil {
						return 0, true
					}
					return float64(ex[i].Statuses[code]), true
				})
			}})
		}
		g.add(b.timeChart("statuses-time", "Status codes over time",
			"Responses per second by status code in each interval.", "responses per second", "", defs), "")
	} else {
		g.note("Status codes over time: the result counts statuses only per operation for the whole run " +
			"(shown below), not per interval (series[].statuses).")
	}
	hasSources := func(in *runIn) bool {
		return slices.ContainsFunc(in.x.Series, func(p PointExtra) bool { return len(p.StatusSources) > 0 })
	}
	if b.anyRun(hasSources) {
		keys := map[string]bool{}
		for _, in := range b.runs {
			for _, p := range in.x.Series {
				for code, bySource := range p.StatusSources {
					for src := range bySource {
						keys[code+" "+src] = true
					}
				}
			}
		}
		var defs []timeDef
		for _, k := range sortedCodes(keys) {
			code, src, _ := strings.Cut(k, " ")
			defs = append(defs, timeDef{name: code + " from " + src, unit: unitRate, get: func(in *runIn) []float64 {
				if !hasSources(in) {
					return nil
				}
				ex := in.extraAt()
				return in.perSecond(func(i int) (float64, bool) {
					if ex[i] == nil {
						return 0, true
					}
					return float64(ex[i].StatusSources[code][src]), true
				})
			}})
		}
		g.add(b.timeChart("status-sources", "429 and 503 by source over time",
			"Throttled (429) and unavailable (503) responses per second, split by the part that answered them.",
			"responses per second", "", defs), "")
	} else {
		g.note("429 and 503 by source: the result does not say which part (gateway throttle, function " +
			"concurrency, pool) answered them (series[].statusSources).")
	}
	codes := map[string]bool{}
	for _, in := range b.runs {
		for _, o := range in.r.Ops {
			for c := range o.Statuses {
				codes[c] = true
			}
			for k := range o.ErrorKinds {
				codes["no response: "+k] = true
			}
		}
	}
	var defs []barDef
	for _, code := range sortedCodes(codes) {
		defs = append(defs, barDef{name: code, get: func(in *runIn, op string) float64 {
			o := in.r.Op(op)
			if o == nil {
				return math.NaN()
			}
			if kind, ok := strings.CutPrefix(code, "no response: "); ok {
				return nanIfZero(float64(o.ErrorKinds[kind]))
			}
			return nanIfZero(float64(o.Statuses[code]))
		}})
	}
	g.add(b.barChart("statuses-ops", "Responses by status code, per operation",
		"Every response of the run by status code (and requests that got none), stacked per operation.",
		"responses", unitCount, b.opNames(), true, defs), "No operation has a response.")
	b.sourcesByOp(&g)
	return g
}

func (b *builder) coldStarts() group {
	g := group{Title: "Cold starts"}
	if !b.anyRun(func(in *runIn) bool { return in.r.Total.ColdStarts > 0 }) {
		g.note("Cold starts: the target did not report any (no response carried X-Cold-Start: true).")
	} else {
		g.add(b.barChart("cold-ops", "Cold starts per operation",
			"Responses from a freshly started function instance (X-Cold-Start: true).", "cold starts", unitCount,
			b.opNames(), false, []barDef{{name: "cold starts", get: func(in *runIn, op string) float64 {
				if o := in.r.Op(op); o != nil {
					return nanIfZero(float64(o.ColdStarts))
				}
				return math.NaN()
			}}}), "")
	}
	if b.anyRun(func(in *runIn) bool { return has(in.x, func(p *PointExtra) *int64 { return p.ColdStarts }) }) {
		g.add(b.timeChart("cold-time", "Cold starts over time", "Cold starts in each interval.", "cold starts per second", "",
			[]timeDef{{name: "cold starts", unit: unitRate, get: func(in *runIn) []float64 {
				if !has(in.x, func(p *PointExtra) *int64 { return p.ColdStarts }) {
					return nil
				}
				ex := in.extraAt()
				return in.perSecond(func(i int) (float64, bool) {
					if ex[i] == nil || ex[i].ColdStarts == nil {
						return 0, true
					}
					return float64(*ex[i].ColdStarts), true
				})
			}}}), "")
	} else {
		g.note("Cold starts over time: the result counts them only per operation, not per interval (series[].coldStarts).")
	}
	var names []string
	for _, in := range b.runs {
		for _, o := range in.x.Ops {
			if o.ColdLatencyHist != "" && !slices.Contains(names, o.Name) {
				names = append(names, o.Name)
			}
		}
	}
	for _, name := range names {
		hist := func(cold bool) func(in *runIn) *hdr.Histogram {
			return func(in *runIn) *hdr.Histogram {
				o := in.x.op(name)
				if o == nil {
					return nil
				}
				if cold {
					return decode(o.ColdLatencyHist)
				}
				return decode(o.WarmLatencyHist)
			}
		}
		g.add(b.curveChart("coldwarm-"+slug(name), name+": cold against warm latency",
			"Latency percentiles of the responses from a freshly started instance and of the others.",
			[]curveDef{{name: "cold", hist: hist(true)}, {name: "warm", hist: hist(false)}}), "")
	}
	if len(names) == 0 {
		g.note("Cold against warm latency: the result does not split latency by cold start (ops[].coldLatencyHist, ops[].warmLatencyHist).")
	}
	return g
}

func (b *builder) payloads() group {
	g := group{Title: "Payload sizes"}
	var ops []string
	sizes := map[int64]bool{}
	for _, in := range b.runs {
		for _, p := range in.x.PayloadLatency {
			if !slices.Contains(ops, p.Op) {
				ops = append(ops, p.Op)
			}
			sizes[p.Size] = true
		}
	}
	if len(ops) == 0 {
		g.note("Latency by payload size class: the result does not split latency by payload (payloadLatency).")
		return g
	}
	var classes []int64
	for s := range sizes {
		classes = append(classes, s)
	}
	slices.Sort(classes)
	cats := make([]string, len(classes))
	for i, s := range classes {
		cats[i] = load.ByteSize(s).String()
	}
	for _, op := range ops {
		name := op
		if name == "" {
			name = "all operations"
		}
		var defs []timeDef
		for _, q := range []float64{50, 95, 99} {
			defs = append(defs, timeDef{name: "p" + strconv.FormatFloat(q, 'f', -1, 64), unit: unitMs, get: func(in *runIn) []float64 {
				y := nan(len(classes))
				for _, p := range in.x.PayloadLatency {
					if p.Op != op {
						continue
					}
					if h := decode(p.LatencyHist); h != nil && h.TotalCount() > 0 {
						y[slices.Index(classes, p.Size)] = usToMs(h.ValueAtQuantile(q))
					}
				}
				return y
			}})
		}
		c := &chart{ID: b.id + "-payload-" + slug(name), Kind: kindCat, Title: "Latency by payload size class: " + name,
			Desc: "The p50, p95 and p99 latency of the requests of each body size class.", Cats: cats,
			XLabel: "payload size class", YLabel: "latency (ms)"}
		for di, d := range defs {
			for ri, in := range b.runs {
				if y := d.get(in); !allNaN(y) {
					c.Series = append(c.Series, series{Label: label(d.name, in), Color: di, Dash: dashOf(ri), Unit: unitMs, Y: y})
				}
			}
		}
		if len(c.Series) == 0 {
			c = nil
		}
		g.add(c, "Latency by payload size class: "+name+" has no request.")
	}
	return g
}

func (b *builder) cacheAndInvocations() group {
	g := group{Title: "Response cache and function invocations"}
	count := func(name string, get func(p *PointExtra) *int64, axis int) timeDef {
		return timeDef{name: name, unit: unitRate, axis: axis, get: func(in *runIn) []float64 {
			if !has(in.x, get) {
				return nil
			}
			ex := in.extraAt()
			return in.perSecond(func(i int) (float64, bool) {
				if ex[i] == nil || get(ex[i]) == nil {
					return 0, true
				}
				return float64(*get(ex[i])), true
			})
		}}
	}
	hits := func(p *PointExtra) *int64 { return p.CacheHits }
	misses := func(p *PointExtra) *int64 { return p.CacheMisses }
	inv := func(p *PointExtra) *int64 { return p.Invocations }
	c := b.timeChart("cache", "Response cache hits and function invocations over time",
		"Responses served from the response cache (hits) or not (misses), and function invocations, per second.",
		"per second", "", []timeDef{count("cache hits", hits, 0), count("cache misses", misses, 0), count("invocations", inv, 0)})
	var missing []string
	if !b.anyRun(func(in *runIn) bool { return has(in.x, hits) || has(in.x, misses) }) {
		missing = append(missing, "response cache hits (series[].cacheHits, series[].cacheMisses)")
	}
	if !b.anyRun(func(in *runIn) bool { return has(in.x, inv) }) {
		missing = append(missing, "function invocations (series[].invocations)")
	}
	if c != nil {
		g.add(c, "")
	}
	b.cacheByOp(&g)
	if len(missing) > 0 {
		g.note("The target did not report " + strings.Join(missing, " or ") + ".")
	}
	return g
}

// sortedCodes orders status codes numerically, then other keys.
func sortedCodes(set map[string]bool) []string {
	keys := make([]string, 0, len(set))
	for k := range set {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool {
		a, errA := strconv.Atoi(strings.Fields(keys[i] + " x")[0])
		c, errC := strconv.Atoi(strings.Fields(keys[j] + " x")[0])
		switch {
		case errA == nil && errC == nil && a != c:
			return a < c
		case (errA == nil) != (errC == nil):
			return errA == nil
		}
		return keys[i] < keys[j]
	})
	return keys
}

func nanIfZero(v float64) float64 {
	if v == 0 {
		return math.NaN()
	}
	return v
}

// slug makes an operation's name safe in an element id.
func slug(s string) string {
	var b strings.Builder
	for _, r := range s {
		switch {
		case r >= 'a' && r <= 'z', r >= '0' && r <= '9', r == '-':
			b.WriteRune(r)
		case r >= 'A' && r <= 'Z':
			b.WriteRune(r + 'a' - 'A')
		default:
			b.WriteByte('_')
		}
	}
	return b.String()
}
