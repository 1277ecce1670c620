package load

import (
	"sync/atomic"
	"time"
)

// clock tells the time as an offset from the start of a run. The engine
// uses the monotonic clock; pacer tests inject one.
type clock interface {
	now() time.Duration
	newTimer() timer
}

// timer is one goroutine's way to sleep, reused across sleeps.
type timer interface {
	// sleepUntil returns at offset at, or false as soon as done closes. It
	// returns the time it woke (clock reads cost tens of nanoseconds on a
	// virtual machine, so callers reuse it) and how long it meant to wait.
	sleepUntil(done <-chan struct{}, at time.Duration) (now, wait time.Duration, ok bool)
}

// realClock is the monotonic clock since start.
type realClock struct{ start time.Time }

func (c *realClock) now() time.Duration { return time.Since(c.start) }

func (c *realClock) newTimer() timer {
	t := time.NewTimer(time.Hour)
	t.Stop()
	return &realTimer{c: c, t: t}
}

type realTimer struct {
	c *realClock
	t *time.Timer
}

func (r *realTimer) sleepUntil(done <-chan struct{}, at time.Duration) (time.Duration, time.Duration, bool) {
	now := r.c.now()
	d := at - now
	if d <= 0 {
		select {
		case <-done:
			return now, 0, false
		default:
			return now, 0, true
		}
	}
	// Since Go 1.23 Reset needs no drain: the channel holds no stale tick.
	r.t.Reset(d)
	select {
	case <-r.t.C:
		return r.c.now(), d, true
	case <-done:
		r.t.Stop()
		return 0, d, false
	}
}

// pacer hands out the requests of an open-model schedule. There is no
// ticking goroutine: each worker claims the next sequence number with one
// atomic add, computes that request's intended time from the schedule, and
// sleeps until then. A request whose time has passed when a worker gets to
// it (every worker was busy: the in-flight limit) is sent at once and
// marked late, or dropped past maxLag; either way it is counted.
type pacer struct {
	sched     *Schedule
	limit     int64         // requests in the plan, after any count cap
	maxLag    time.Duration // drop a request this late; 0 never drops
	lateAfter time.Duration // a request sent later than this is late
	// deadline is the offset past which nothing more is sent: the plan's
	// end plus the grace for a backlog.
	deadline time.Duration

	next       atomic.Int64
	droppedLag atomic.Int64
}

// ticket is a request the pacer handed out: its sequence number, its
// intended send time and when the worker woke to send it.
type ticket struct {
	n    int64
	at   time.Duration
	woke time.Duration
	late bool
	// lead is how long the worker waited for the request to be due.
	lead time.Duration
}

// take claims the next request and waits until it is due. It returns false
// when the plan is exhausted, the deadline has passed or done is closed.
func (p *pacer) take(c clock, t timer, done <-chan struct{}) (ticket, bool) {
	for {
		n := p.next.Add(1) - 1
		if n >= p.limit {
			return ticket{}, false
		}
		at := p.sched.At(n)
		now, lead, ok := t.sleepUntil(done, at)
		if !ok || now > p.deadline {
			return ticket{}, false
		}
		lag := now - at
		if p.maxLag > 0 && lag > p.maxLag {
			p.droppedLag.Add(1)
			continue
		}
		return ticket{n: n, at: at, woke: now, late: lag > p.lateAfter, lead: lead}, true
	}
}
