package load

import (
	"context"
	"math"
	"runtime"
	"sort"
	"strconv"
	"time"
)

// collector moves the shards' contents out once per interval, keeps the
// run's totals and builds the time series.
type collector struct {
	r        *runner
	interval *aggregate
	total    *aggregate
	sum      *opMetrics // the interval's operations merged, reused
	series   []Point
	last     time.Duration
	done     int64
	errors   int64
	late     int64
	dropped  int64 // droppedLag at the last interval
}

func newCollector(r *runner) *collector {
	n := len(r.names)
	return &collector{r: r, interval: newAggregate(n), total: newAggregate(n), sum: newOpMetrics()}
}

func (c *collector) collect(now time.Duration) { c.collectInterval(now, false) }

// collectInterval ends an interval at now; last says it is the run's
// last, after every response.
func (c *collector) collectInterval(now time.Duration, last bool) {
	r := c.r
	for _, s := range r.shards {
		c.interval.drain(s)
	}
	dt := now - c.last
	if dt <= 0 {
		return
	}
	all := c.sum
	all.reset()
	for _, m := range c.interval.ops {
		if m != nil && m.count > 0 {
			all.merge(m)
		}
	}
	sent := r.sent.Load()
	p := Point{
		T:      math.Round(now.Seconds()*1000) / 1000,
		Done:   all.count,
		Errors: all.errors,
		Late:   all.late,
		Rate:   float64(all.count) / dt.Seconds(),
		P99:    usToMs(float64(all.lat.ValueAtQuantile(99))),
	}
	c.done += all.count
	c.errors += all.errors
	c.late += all.late
	p.InFlight = max(0, sent-c.done)
	if r.s.Model == ModelOpen {
		p.Offered = float64(r.sched.CountAt(now)-r.sched.CountAt(c.last)) / dt.Seconds()
	}
	var prevSent int64
	for _, q := range c.series {
		prevSent += q.Sent
	}
	p.Sent = sent - prevSent
	// A part keeps each interval's histograms, so that merging parts
	// computes the merged intervals' percentiles exactly.
	keep := r.part != nil
	if keep {
		p.Hist, _ = EncodeHist(all.lat)
	}
	c.extras(&p, all, last)
	for i, m := range c.interval.ops {
		if m == nil || m.count == 0 {
			continue
		}
		op := OpPoint{
			Name:   r.names[i],
			Count:  m.count,
			Errors: m.errors,
			P50:    usToMs(float64(m.lat.ValueAtQuantile(50))),
			P95:    usToMs(float64(m.lat.ValueAtQuantile(95))),
			P99:    usToMs(float64(m.lat.ValueAtQuantile(99))),
		}
		if keep {
			op.Hist, _ = EncodeHist(m.lat)
		}
		p.Ops = append(p.Ops, op)
	}
	// A last sliver with nothing in it is noise, not a point.
	if !(p.Done == 0 && p.Sent == 0 && dt < r.interval/2) {
		c.series = append(c.series, p)
	}
	if r.stream != nil && !(p.Done == 0 && p.Sent == 0 && dt < r.interval/2) {
		c.streamInterval(p, now, sent)
	}
	c.total.merge(c.interval)
	c.interval.reset()
	c.last = now
	if r.progress != nil {
		r.progress(Progress{
			Model:   r.s.Model,
			Elapsed: now,
			Planned: c.planned(),
			Last:    p,
			Sent:    sent,
			Done:    c.done,
			Errors:  c.errors,
			Late:    c.late,
			Dropped: r.pacer.droppedLag.Load(),
		})
	}
}

// extras fills the point's optional members: statuses and their limit
// sources, cold starts, cache outcomes, dropped requests and the target's
// own figures.
func (c *collector) extras(p *Point, all *opMetrics, last bool) {
	r := c.r
	p.Statuses = statusCounts(&all.status)
	p.StatusSources = sourceCounts(all.sources)
	if all.cold > 0 {
		n := all.cold
		p.ColdStarts = &n
	}
	if all.hits+all.misses > 0 {
		h, m := all.hits, all.misses
		p.CacheHits, p.CacheMisses = &h, &m
	}
	if r.s.Model == ModelOpen {
		d := r.pacer.droppedLag.Load()
		if n := d - c.dropped; n > 0 {
			p.Dropped = &n
		}
		c.dropped = d
	}
	if r.ps != nil {
		r.ps.interval(context.Background(), p, last)
	}
}

// statusCounts returns the nonzero counts by status, nil when none.
func statusCounts(st *[maxStatus]int64) map[string]int64 {
	var out map[string]int64
	for code, n := range st {
		if n > 0 {
			if out == nil {
				out = map[string]int64{}
			}
			out[strconv.Itoa(code)] = n
		}
	}
	return out
}

// sourceCounts returns refusals by status and limit source, nil when none.
func sourceCounts(src map[limitKey]int64) map[string]map[string]int64 {
	var out map[string]map[string]int64
	for k, n := range src {
		if n == 0 {
			continue
		}
		if out == nil {
			out = map[string]map[string]int64{}
		}
		st := strconv.Itoa(k.status)
		if out[st] == nil {
			out[st] = map[string]int64{}
		}
		out[st][k.source] += n
	}
	return out
}

func (c *collector) planned() time.Duration {
	if c.r.s.Model == ModelClosed && c.r.s.Duration == 0 && len(c.r.s.Stages) == 0 {
		return 0
	}
	return c.r.planEnd
}

func (c *collector) result(started time.Time, elapsed time.Duration) *Result {
	r := c.r
	res := &Result{
		Schema:         ResultSchema,
		Scenario:       redacted(r.s),
		Started:        started.UTC(),
		ElapsedSeconds: elapsed.Seconds(),
		PlanSeconds:    r.planEnd.Seconds(),
		Stop:           "completed",
		Sent:           r.sent.Load(),
		Late:           c.late,
		BytesOut:       r.wire.out.Load(),
		BytesIn:        r.wire.in.Load(),
		Series:         c.series,
		Client: ClientInfo{
			GoVersion:   runtime.Version(),
			NumCPU:      runtime.NumCPU(),
			GOMAXPROCS:  runtime.GOMAXPROCS(0),
			Workers:     r.workers,
			WorkersUsed: r.workers,
			MaxRSSBytes: maxRSS(),
		},
	}
	if r.s.Model == ModelOpen {
		res.Client.WorkersUsed = int(min(r.active.Load(), int64(r.workers)))
	}
	if res.Series == nil {
		res.Series = []Point{}
	}
	stopAt := r.planEnd
	if r.interrupted.Load() {
		res.Stop = "interrupted"
		stopAt = min(stopAt, time.Duration(r.stopAt.Load()))
	}
	if r.s.Model == ModelOpen {
		res.Planned = r.pacer.limit
		res.Due = r.pacer.limit
		if r.interrupted.Load() {
			res.Due = min(r.pacer.limit, r.sched.CountAt(stopAt))
		}
		res.Due = max(res.Due, res.Sent+r.pacer.droppedLag.Load())
		res.DroppedLag = r.pacer.droppedLag.Load()
		res.Dropped = res.Due - res.Sent
		if stopAt > 0 {
			res.OfferedRate = float64(res.Due) / stopAt.Seconds()
		}
		if r.limit < r.sched.Len() && res.Stop == "completed" {
			res.Stop = "count"
		}
	} else {
		res.Due = res.Sent
		if r.limit != math.MaxInt64 {
			res.Planned = r.limit
			if res.Stop == "completed" && res.Sent >= r.limit {
				res.Stop = "count"
			}
		}
		if elapsed > 0 {
			res.OfferedRate = float64(res.Sent) / elapsed.Seconds()
		}
	}
	tot := c.total.all()
	if elapsed > 0 {
		res.AchievedRate = float64(tot.count) / elapsed.Seconds()
	}
	res.Lag = statsOf(c.total.lag)
	res.LagHist, _ = EncodeHist(c.total.lag)
	res.Total = opResult("all", tot)
	res.Ops = []OpResult{}
	for i, m := range c.total.ops {
		if m == nil || m.count == 0 {
			continue
		}
		res.Ops = append(res.Ops, opResult(r.names[i], m))
		for k, h := range m.payload {
			if h == nil || h.TotalCount() == 0 || k >= len(r.s.Payloads) {
				continue
			}
			enc, _ := EncodeHist(h)
			res.PayloadLatency = append(res.PayloadLatency, PayloadLatency{
				Op: r.names[i], Size: int64(r.s.Payloads[k].Size), Latency: statsOf(h), LatencyHist: enc})
		}
	}
	if r.ps != nil {
		t := r.ps.res
		res.Target = &t
	}
	if r.part != nil {
		res.Part = &PartResult{Part: *r.part, ReadyLateMs: durMs(r.late)}
	}
	if rep, ok := r.wl.(interface{ report(*Result) }); ok {
		rep.report(res) // a collection's checks and captures
	}
	if r.s.iterations() > 0 && res.Stop == "completed" && elapsed < r.planEnd {
		res.Stop = "iterations"
	}
	res.Thresholds, _ = r.s.Thresholds.Eval(res)
	return res
}

func opResult(name string, m *opMetrics) OpResult {
	o := OpResult{
		Name:       name,
		Count:      m.count,
		Errors:     m.errors,
		ColdStarts: m.cold,
		Late:       m.late,
		ReqBytes:   m.reqBytes,
		RespBytes:  m.respBytes,
		Latency:    statsOf(m.lat),
		Service:    statsOf(m.svc),
	}
	o.LatencyHist, _ = EncodeHist(m.lat)
	o.ServiceHist, _ = EncodeHist(m.svc)
	if m.units > 0 {
		o.Capacity = &CapacityUnits{Read: m.rcu, Write: m.wcu, Requests: m.units, PerRequest: (m.rcu + m.wcu) / float64(m.units)}
	}
	if m.coldLat != nil && m.coldLat.TotalCount() > 0 {
		cold, warm := statsOf(m.coldLat), statsOf(nil)
		o.ColdLatency = &cold
		o.ColdLatencyHist, _ = EncodeHist(m.coldLat)
		if w := subtractHist(m.lat, m.coldLat); w != nil {
			warm = statsOf(w)
			o.WarmLatencyHist, _ = EncodeHist(w)
		}
		o.WarmLatency = &warm
	}
	o.CacheHits, o.CacheMisses = m.hits, m.misses
	o.StatusSources = sourceCounts(m.sources)
	for code, n := range m.status {
		if n > 0 {
			if o.Statuses == nil {
				o.Statuses = map[string]int64{}
			}
			o.Statuses[strconv.Itoa(code)] = n
		}
	}
	for k, n := range m.kinds {
		if n > 0 {
			if o.ErrorKinds == nil {
				o.ErrorKinds = map[string]int64{}
			}
			o.ErrorKinds[ErrKind(k).String()] = n
		}
	}
	names := make([]string, 0, len(m.timing))
	for name, h := range m.timing {
		if h.TotalCount() > 0 {
			names = append(names, name)
		}
	}
	sort.Strings(names)
	for _, name := range names {
		h := m.timing[name]
		enc, _ := EncodeHist(h)
		o.ServerTiming = append(o.ServerTiming, ServerMetric{Name: name, Stats: statsOf(h), Hist: enc})
	}
	return o
}

// redacted returns the scenario with its header values and a
// collection's variables given on the command line hidden: a result file
// is shared, and they carry credentials such as x-api-key or a password.
func redacted(s Scenario) Scenario {
	if len(s.Headers) > 0 {
		h := make(map[string]string, len(s.Headers))
		for k := range s.Headers {
			h[k] = "(redacted)"
		}
		s.Headers = h
	}
	if len(s.Postman.Vars) > 0 {
		v := make(Variables, len(s.Postman.Vars))
		for k := range s.Postman.Vars {
			v[k] = "(redacted)"
		}
		s.Postman.Vars = v
	}
	return s
}
