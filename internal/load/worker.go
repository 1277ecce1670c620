package load

import (
	"context"
	"math"
	"math/rand/v2"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

// worker is one sender: a goroutine with its own client, buffers and
// random source, recording into its shard.
type worker struct {
	r     *runner
	idx   int
	c     client
	src   source
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
		src:   r.wl.newSource(i, rnd),
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
		_, _ = w.send(tk) // an open-model source always has a request
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
		var more bool
		if now, more = w.send(ticket{at: now, woke: now}); !more {
			return // the user ran its iterations
		}
		if r.s.Think > 0 {
			var ok bool
			if now, _, ok = w.timer.sleepUntil(r.done, now+r.s.Think); !ok {
				return
			}
		}
	}
}

// send builds, sends and records one request; it returns when the request
// ended, and false when the worker's source had no request to send. The
// send time is when the worker woke for it: building the request takes far
// less than a clock read's worth of precision matters.
func (w *worker) send(tk ticket) (time.Duration, bool) {
	r := w.r
	if !w.src.next(&w.req) {
		return tk.woke, false
	}
	r.sent.Add(1)
	err := w.c.do(&w.req, &w.res)
	doneAt := r.clock.now()
	r.finished.Add(1)
	x := sample{intended: tk.at, sent: tk.woke, done: doneAt, late: tk.late, reqBytes: len(w.req.body)}
	if err != nil {
		x.failed, x.kind = true, classify(err)
	} else {
		x.status = w.res.status
		x.cold = w.res.coldStart
		x.respBytes = len(w.res.body)
		x.timing = w.res.serverTiming
		x.cache = w.res.cache
		x.limitSource = w.res.limitSource
		x.class = w.req.class
	}
	x.isErr = w.src.done(&w.req, &w.res, err, doneAt-tk.woke)
	w.shard.record(w.req.op, &x)
	return doneAt, true
}

// preseed creates items before the measured run, so that reads have items
// to read. It gives up early when the target fails more than it succeeds.
func (r *runner) preseed(ctx context.Context) Preseed {
	n := r.s.IDs.Preseed
	if r.part != nil {
		n = share(n, r.part.Shard, r.part.Split.Shards)
	}
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
