package load

import (
	"context"
	cryptorand "crypto/rand"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"runtime"
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

// WithIDs adds existing items' ids to the run's pool before it starts,
// beside its preseed: a series of runs against one data set (the steps of
// a knee search, the phases of the lab) reads the same items.
func WithIDs(ids []string) Option { return func(r *runner) { r.ids = ids } }

// WithPart runs one part of a split plan (see Split): the part's share of
// the schedule, from the agreed start, with the part's own seed and id
// prefix; its result says which part it was. Only the open model splits.
func WithPart(p Part) Option { return func(r *runner) { r.part = &p } }

// WithWallClock sets the wall clock by which a part waits for its agreed
// start (default time.Now); the run itself is timed on the monotonic
// clock.
func WithWallClock(now func() time.Time) Option { return func(r *runner) { r.now = now } }

// WithNotes has what the run tells before it starts written to w: what a
// collection holds that is not understood (listed once), how its requests
// chain, how its setup went. By default it is discarded.
func WithNotes(w io.Writer) Option { return func(r *runner) { r.notes = w } }

// DefaultInterval is the time series' default interval.
const DefaultInterval = time.Second

// runner is one run's state.
type runner struct {
	s        Scenario
	sched    *Schedule
	sh       *shape
	pl       *payloads
	pool     *pool
	wl       workload
	names    []string // the workload's operations, by Op
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
	// probe, when set, is sampled every interval (WithProbe); ps follows
	// it through the run.
	probe       Probe
	probeSource string
	ps          *probeState
	ids         []string         // given by WithIDs
	part        *Part            // the part of a split plan this run is, if any
	now         func() time.Time // the wall clock a part starts by
	notes       io.Writer
	late        time.Duration // how long after its start a part was ready
	stream      *Stream       // the result file written as the run goes (WithStream)

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
		grow: make(chan struct{}, 100_000), exhausted: make(chan struct{}), now: time.Now, notes: io.Discard}
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
	var pw *postmanWorkload
	if s.Postman.File != "" {
		if pw, err = newPostmanWorkload(&r.s, r.notes); err != nil {
			return nil, err
		}
		r.wl = pw
	} else {
		r.wl = &crudWorkload{r: r}
	}
	r.names = r.wl.ops()
	if err := checkThresholdOps(s.Thresholds, r.names); err != nil {
		return nil, err
	}
	r.limit = math.MaxInt64
	if s.Requests > 0 {
		r.limit = s.Requests
	}
	ts := s // the scenario the transport sends: a part's has its User-Agent
	if r.part != nil {
		if err := r.usePart(&ts); err != nil {
			return nil, err
		}
	}
	r.planEnd = r.sched.Duration()
	rnd := rand.New(rand.NewPCG(r.seed, 0))
	r.pl = newPayloads(&s, rnd)
	r.pool = newPool(s.IDs.PoolSize, retireShare(s.Mix, s.API.OpsMix))
	r.pool.addFixed(r.ids)
	r.prefix = "surge-" + runHex(r.seed) + "-"
	if r.part != nil {
		r.prefix = r.part.idPrefix(runHex(r.part.Split.Seed))
	}
	if r.tr, err = newTransport(&ts, &r.wire); err != nil {
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
		r.shards = append(r.shards, newShard(len(r.names)))
	}

	var pre Preseed
	if pw != nil {
		if err := pw.runSetup(ctx, r.tr.newClient(), r.notes); err != nil {
			return nil, err
		}
	} else {
		pre = r.preseed(ctx)
	}
	m := startMeter(ctx, &s)
	res := r.run(ctx)
	res.Preseed = pre
	m.price(ctx, res)
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

// runHex is the part of a seed that names a run in the ids it chooses.
func runHex(seed uint64) string {
	var pb [6]byte
	binary.LittleEndian.PutUint32(pb[:], uint32(seed))
	binary.LittleEndian.PutUint16(pb[4:], uint16(seed>>32))
	return hex.EncodeToString(pb[:])
}

func (r *runner) run(ctx context.Context) *Result {
	started := r.startTime(ctx)
	r.clock = realClock{start: started}
	r.clk = &r.clock
	if r.stream != nil {
		r.streamStarted(started)
	}
	r.active.Store(int64(min(r.workers, initialActive)))
	if r.probe != nil {
		r.ps = newProbeState(r.probe, r.probeSource)
		r.ps.start(ctx)
	}

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
	col.collectInterval(elapsed, true)
	return col.result(started, elapsed)
}
