package load

import (
	"context"
	cryptorand "crypto/rand"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"runtime"
	"sort"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

// Progress is a run's state as the live display shows it, reported about
// once per interval.
type Progress struct {
	Model string
	// Elapsed is the time since the start; Planned the plan's length (0
	// when only a count bounds the run).
	Elapsed time.Duration
	Planned time.Duration
	// Last is the interval that just ended.
	Last Point
	// Totals since the start.
	Sent, Done, Errors, Late, Dropped int64
}

// Option changes how Run runs.
type Option func(*runner)

// WithProgress has fn called with the run's progress after every interval,
// from the goroutine that collects the metrics; fn must return quickly.
func WithProgress(fn func(Progress)) Option { return func(r *runner) { r.progress = fn } }

// WithInterval sets the time series' interval; the default is one second.
func WithInterval(d time.Duration) Option {
	return func(r *runner) {
		if d > 0 {
			r.interval = d
		}
	}
}

// WithSeed makes the run's random choices (payload contents, operations,
// ids) reproducible; by default they are seeded at random.
func WithSeed(seed uint64) Option { return func(r *runner) { r.seed, r.seeded = seed, true } }

// DefaultInterval is the time series' default interval.
const DefaultInterval = time.Second

// runner is one run's state.
type runner struct {
	s        Scenario
	sched    *Schedule
	sh       *shape
	pl       *payloads
	pool     *pool
	tr       transport
	wire     wire
	clock    realClock
	clk      clock // &clock, converted to the interface once, not per call
	pacer    pacer
	limit    int64 // the count cap, math.MaxInt64 when none
	planEnd  time.Duration
	workers  int
	shards   []*shard
	progress func(Progress)
	interval time.Duration
	seed     uint64
	seeded   bool
	prefix   string

	seq      atomic.Int64 // closed model: requests claimed
	sent     atomic.Int64
	finished atomic.Int64 // requests that ended; sent - finished are in flight
	// Open model: workers past the first few wait on grow until a late
	// request shows that the ones running cannot keep up. So a run uses
	// as many connections as its target needs, not MaxInFlight of them,
	// and the few goroutines in play stay hot in the caches.
	active atomic.Int64
	grow   chan struct{}
	// exhausted closes when the last request of the plan has been claimed:
	// parked workers then have nothing left to wait for.
	exhausted     chan struct{}
	exhaustedOnce sync.Once
	done          chan struct{}
	haltOnce      sync.Once
	stopAt        atomic.Int64
	interrupted   atomic.Bool
}

// Run drives the scenario's target and returns what it measured. It
// returns an error only when the run cannot start (an invalid scenario);
// failed requests are data in the Result. When ctx is cancelled it stops
// sending, waits for the requests in flight (each bounded by the timeout)
// and returns the result of what ran, with Stop "interrupted".
func Run(ctx context.Context, s Scenario, opts ...Option) (*Result, error) {
	if errs := s.Validate(); len(errs) > 0 {
		return nil, fmt.Errorf("invalid scenario: %w", errors.Join(errs...))
	}
	r := &runner{s: s, interval: DefaultInterval, done: make(chan struct{}),
		grow: make(chan struct{}, 100_000), exhausted: make(chan struct{})}
	for _, o := range opts {
		o(r)
	}
	if !r.seeded {
		var b [8]byte
		_, _ = cryptorand.Read(b[:])
		r.seed = binary.LittleEndian.Uint64(b[:])
	}
	start, stages, err := s.Plan()
	if err != nil {
		return nil, err
	}
	if r.sched, err = NewSchedule(start, stages); err != nil {
		return nil, err
	}
	if r.sh, err = newShape(&s); err != nil {
		return nil, err
	}
	r.limit = math.MaxInt64
	if s.Requests > 0 {
		r.limit = s.Requests
	}
	r.planEnd = r.sched.Duration()
	rnd := rand.New(rand.NewPCG(r.seed, 0))
	r.pl = newPayloads(&s, rnd)
	r.pool = newPool(s.IDs.PoolSize, retireShare(s.Mix, s.API.OpsMix))
	var pb [6]byte
	binary.LittleEndian.PutUint32(pb[:], uint32(r.seed))
	binary.LittleEndian.PutUint16(pb[4:], uint16(r.seed>>32))
	r.prefix = "surge-" + hex.EncodeToString(pb[:]) + "-"
	if r.tr, err = newTransport(&s, &r.wire); err != nil {
		return nil, err
	}
	defer r.tr.close()

	if s.Model == ModelOpen {
		r.workers = s.MaxInFlight
		r.pacer = pacer{
			sched:     r.sched,
			limit:     min(r.sched.Len(), r.limit),
			maxLag:    s.MaxLag,
			lateAfter: s.LateAfter,
			deadline:  r.planEnd + s.Grace,
		}
	} else {
		r.workers = int(math.Ceil(r.sched.Peak()))
	}
	r.workers = max(1, min(r.workers, 100_000))
	nShards := max(1, min(r.workers, 2*runtime.GOMAXPROCS(0)))
	for range nShards {
		r.shards = append(r.shards, newShard())
	}

	pre := r.preseed(ctx)
	res := r.run(ctx)
	res.Preseed = pre
	return res, nil
}

// halt stops the run: no request is sent after it, and sleeping workers
// wake.
func (r *runner) halt(interrupted bool) {
	r.haltOnce.Do(func() {
		r.stopAt.Store(int64(r.clock.now()))
		r.interrupted.Store(interrupted)
		close(r.done)
	})
}

func (r *runner) halted() bool {
	select {
	case <-r.done:
		return true
	default:
		return false
	}
}

func (r *runner) run(ctx context.Context) *Result {
	started := time.Now()
	r.clock = realClock{start: started}
	r.clk = &r.clock
	r.active.Store(int64(min(r.workers, initialActive)))

	var wg sync.WaitGroup
	for i := range r.workers {
		w := r.newWorker(i)
		wg.Add(1)
		go func() {
			defer wg.Done()
			if r.s.Model == ModelOpen {
				w.runOpen()
			} else {
				w.runClosed()
			}
		}()
	}
	finished := make(chan struct{})
	go func() {
		wg.Wait()
		close(finished)
	}()

	// The plan ends by itself; a backlog past the grace, or ctx, halts it.
	haltAfter := r.planEnd
	if r.s.Model == ModelOpen {
		haltAfter += r.s.Grace
	}
	deadline := time.NewTimer(haltAfter)
	defer deadline.Stop()

	col := newCollector(r)
	tick := time.NewTicker(r.interval)
	defer tick.Stop()
loop:
	for {
		select {
		case <-finished:
			break loop
		case <-ctx.Done():
			r.halt(true)
		case <-deadline.C:
			r.halt(false)
		case <-tick.C:
			col.collect(r.clock.now())
		}
	}
	elapsed := r.clock.now()
	col.collect(elapsed)
	return col.result(started, elapsed)
}

// worker is one sender: a goroutine with its own client, buffers and
// random source, recording into its shard.
type worker struct {
	r     *runner
	idx   int
	c     client
	b     *builder
	timer timer
	shard *shard
	req   request
	res   response
}

func (r *runner) newWorker(i int) *worker {
	rnd := rand.New(rand.NewPCG(r.seed, uint64(i)+1))
	return &worker{
		r:     r,
		idx:   i,
		c:     r.tr.newClient(),
		b:     newBuilder(&r.s, r.sh, r.pl, r.pool, rnd, r.prefix+strconv.Itoa(i)+"-"),
		timer: r.clock.newTimer(),
		shard: r.shards[i%len(r.shards)],
	}
}

// initialActive is how many open-model workers run from the start, and the
// fewest that run.
const initialActive = 8

// idleLead is how far ahead a worker's next request may be due before the
// worker leaves the running set: with more workers than the rate needs,
// each waits longer for its turn, and a sleeping worker costs a timer and a
// wake-up per request for nothing.
const idleLead = 20 * time.Millisecond

// park takes a worker out of the running set until a late request calls it
// back; it returns false when the run ends first.
func (w *worker) park() bool {
	select {
	case <-w.r.grow:
		return true
	case <-w.r.done:
		return false
	case <-w.r.exhausted:
		return false
	}
}

func (w *worker) runOpen() {
	r := w.r
	if w.idx >= initialActive && !w.park() {
		return
	}
	for {
		tk, ok := r.pacer.take(r.clk, w.timer, r.done)
		if !ok {
			r.exhaustedOnce.Do(func() { close(r.exhausted) })
			return
		}
		if tk.late {
			// Wake one more worker only when this request is late because
			// every running worker was out with a request: a late wake-up
			// of a busy machine is not a lack of workers, and more of them
			// would only make it busier. (A buffered send: never blocks.)
			active := r.active.Load()
			if active < int64(r.workers) && r.sent.Load()-r.finished.Load() >= active-1 {
				if r.active.Add(1) <= int64(r.workers) {
					r.grow <- struct{}{}
				}
			}
		}
		_ = w.send(tk)
		if tk.lead > idleLead && r.active.Load() > initialActive {
			// This worker waited long for its turn: there are more than
			// the rate needs. Leave the running set, unless another left
			// at the same time.
			if r.active.Add(-1) >= initialActive {
				if !w.park() {
					return
				}
			} else {
				r.active.Add(1)
			}
		}
	}
}

// inactiveWait is how often a closed-model user that its stage does not
// need yet looks again.
const inactiveWait = 10 * time.Millisecond

func (w *worker) runClosed() {
	r := w.r
	now := r.clock.now()
	for !r.halted() {
		if now >= r.planEnd {
			return
		}
		// User i runs while the planned number of users exceeds i.
		if float64(w.idx) >= r.sched.RateAt(now) {
			var ok bool
			if now, _, ok = w.timer.sleepUntil(r.done, min(now+inactiveWait, r.planEnd)); !ok {
				return
			}
			continue
		}
		if r.limit != math.MaxInt64 && r.seq.Add(1) > r.limit {
			return
		}
		// The next request goes out when this one ends: its end is the
		// next one's start, which saves a clock read per request.
		now = w.send(ticket{at: now, woke: now})
		if r.s.Think > 0 {
			var ok bool
			if now, _, ok = w.timer.sleepUntil(r.done, now+r.s.Think); !ok {
				return
			}
		}
	}
}

// send builds, sends and records one request; it returns when the request
// ended. The send time is when the worker woke for it: building the
// request takes far less than a clock read's worth of precision matters.
func (w *worker) send(tk ticket) time.Duration {
	r := w.r
	w.b.next(&w.req)
	r.sent.Add(1)
	err := w.c.do(&w.req, &w.res)
	r.pool.release(w.req.held)
	doneAt := r.clock.now()
	r.finished.Add(1)
	x := sample{intended: tk.at, sent: tk.woke, done: doneAt, late: tk.late, reqBytes: len(w.req.body)}
	if err != nil {
		x.failed, x.isErr, x.kind = true, true, classify(err)
	} else {
		x.status = w.res.status
		x.isErr = x.status >= r.sh.errStatus
		x.cold = w.res.coldStart
		x.respBytes = len(w.res.body)
		x.timing = w.res.serverTiming
		if !x.isErr {
			if w.req.wantID {
				if id, ok := r.sh.extractID(&w.res); ok {
					r.pool.add(id, w.b.r)
				}
			} else if w.req.newID != "" {
				r.pool.add(w.req.newID, w.b.r)
			}
		}
	}
	w.shard.record(w.req.op, &x)
	return doneAt
}

// preseed creates items before the measured run, so that reads have items
// to read. It gives up early when the target fails more than it succeeds.
func (r *runner) preseed(ctx context.Context) Preseed {
	n := r.s.IDs.Preseed
	p := Preseed{Requested: n}
	if n == 0 {
		return p
	}
	conc := max(1, min(16, r.s.MaxInFlight, n))
	var next, created, failed atomic.Int64
	var wg sync.WaitGroup
	for i := range conc {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c := r.tr.newClient()
			rnd := rand.New(rand.NewPCG(r.seed, uint64(1<<32+i)))
			b := newBuilder(&r.s, r.sh, r.pl, r.pool, rnd, r.prefix+"p"+strconv.Itoa(i)+"-")
			var req request
			var res response
			for next.Add(1) <= int64(n) && ctx.Err() == nil {
				if f := failed.Load(); f >= int64(conc) && f > created.Load() {
					return
				}
				b.build(OpCreate, &req)
				if err := c.do(&req, &res); err != nil || res.status >= r.sh.errStatus {
					failed.Add(1)
					continue
				}
				if id, ok := r.sh.extractID(&res); ok {
					r.pool.add(id, rnd)
					created.Add(1)
				} else {
					failed.Add(1)
				}
			}
		}()
	}
	wg.Wait()
	p.Created, p.Failed = int(created.Load()), int(failed.Load())
	return p
}

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
}

func newCollector(r *runner) *collector {
	return &collector{r: r, interval: newAggregate(), total: newAggregate(), sum: newOpMetrics()}
}

func (c *collector) collect(now time.Duration) {
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
	for i, m := range c.interval.ops {
		if m == nil || m.count == 0 {
			continue
		}
		p.Ops = append(p.Ops, OpPoint{
			Name:   Op(i).String(),
			Count:  m.count,
			Errors: m.errors,
			P50:    usToMs(float64(m.lat.ValueAtQuantile(50))),
			P95:    usToMs(float64(m.lat.ValueAtQuantile(95))),
			P99:    usToMs(float64(m.lat.ValueAtQuantile(99))),
		})
	}
	// A last sliver with nothing in it is noise, not a point.
	if !(p.Done == 0 && p.Sent == 0 && dt < r.interval/2) {
		c.series = append(c.series, p)
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
		res.Ops = append(res.Ops, opResult(Op(i).String(), m))
	}
	res.Thresholds, _, _ = EvalThresholds(res, r.s.Thresholds) // parsed in Validate
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

// redacted returns the scenario with its header values hidden: a result
// file is shared, and headers carry credentials such as x-api-key.
func redacted(s Scenario) Scenario {
	if len(s.Headers) == 0 {
		return s
	}
	h := make(map[string]string, len(s.Headers))
	for k := range s.Headers {
		h[k] = "(redacted)"
	}
	s.Headers = h
	return s
}
