// Package admission is surge's admission control: a bounded number of
// requests in service at once, a short bounded queue in front of them,
// and a fast refusal past both, so that a service pushed beyond its
// capacity sheds what it cannot serve instead of queueing without bound.
//
// A request finds a free slot and is served; else it waits in the queue
// (first come, first served) for at most QueueTimeout; a request that
// finds the queue full (MaxQueue, or as many as the service gets through
// in QueueTimeout at its throughput), or whose wait runs out, is refused
// at once with
// 503 `unavailable`, Retry-After and X-Limit-Source: admission. Memory
// and latency then stay bounded by the slots and the queue, whatever the
// arrival rate, and the service is back to normal as soon as the excess
// stops, since nothing is left queued behind it.
//
// How many slots: by Little's law, requests in service = throughput ×
// time in service. The controller measures the throughput (completions a
// second, over windows of a quarter second) and allows
// throughput × Target requests in service, within [MinInFlight,
// MaxInFlight]: while requests take less than Target there is always a
// free slot, and once the service is saturated (more in service only
// makes each slower) the slots stop growing, so an admitted request
// spends about Target in service, whether a request costs 10 µs (a read)
// or 10 ms (a long list), and a store that answers slowly but in
// parallel (DynamoDB over a network) gets the slots it needs. MinInFlight
// keeps a service that has just started, or serves few slow requests,
// from queueing at all, and keeps the slots from shrinking for requests
// that are slower than Target by themselves.
//
// Refusals are 503, not 429: the client did nothing wrong (it is not over
// a rate it was given; that is the gateway's 429), the service is
// overloaded, which is what RFC 9110 says 503 means.
package admission

import (
	"container/list"
	"context"
	"fmt"
	"math"
	"net/http"
	"runtime"
	"sync"
	"time"

	"github.com/surgehq/surge/internal/api/rest"
	"github.com/surgehq/surge/internal/items"
)

// Defaults, per CPU (GOMAXPROCS) where they scale with the machine.
const (
	// DefaultMinPerCPU is the requests always allowed in service, per
	// CPU: no test or normal load with fewer concurrent requests than
	// this ever waits. For requests that are mostly CPU work (SQLite, or
	// memory), this is the bound that holds under overload: 32 per CPU in
	// service keep a request's time in service at 32 times its CPU time.
	DefaultMinPerCPU = 32
	// DefaultMaxPerCPU caps the requests in service per CPU, however fast
	// they complete.
	DefaultMaxPerCPU = 512
	// DefaultQueuePerCPU is the requests waiting for a slot per CPU. The
	// wait is bounded by QueueTimeout, so a longer queue adds no latency;
	// it absorbs bursts (a load generator or a client fleet that falls
	// behind sends in bunches) that can be served within the wait, and
	// bounds the memory they hold.
	DefaultQueuePerCPU = 256
	// DefaultTarget is the time in service the slots are sized for. It
	// must be above what a request takes by itself, even on a busy
	// machine: if requests take longer than Target for a reason that
	// fewer of them in service does not cure (a slow store, a CPU shared
	// with other work), the slots shrink to MinInFlight.
	DefaultTarget = 200 * time.Millisecond
	// DefaultQueueTimeout is the longest a request waits for a slot.
	DefaultQueueTimeout = 100 * time.Millisecond
)

// window is how often the throughput, and with it the slots, is updated.
const window = 250 * time.Millisecond

// Reasons of a refusal, as the Observer is told them.
const (
	// ReasonQueueFull: every slot was busy and the queue full.
	ReasonQueueFull = "queue_full"
	// ReasonQueueTimeout: the request waited QueueTimeout without a slot.
	ReasonQueueTimeout = "queue_timeout"
	// ReasonGone: the client went away while the request waited.
	ReasonGone = "client_gone"
)

// Observer is told what the controller does. Its methods are called on
// the request's goroutine and must return quickly.
type Observer interface {
	// Shed is called for every refused request, with its reason.
	Shed(reason string)
}

// Config sets a Controller's bounds. The zero value of a field is its
// default.
type Config struct {
	// MinInFlight and MaxInFlight bound the requests in service at once;
	// between them, the slots follow throughput × Target. Equal, they fix
	// the slots.
	MinInFlight, MaxInFlight int
	// Target is the time in service the slots are sized for.
	Target time.Duration
	// MaxQueue is the most requests waiting for a slot; -1: none wait, a
	// request that finds every slot busy is refused at once.
	MaxQueue int
	// QueueTimeout is the longest a request waits for a slot.
	QueueTimeout time.Duration
	// Exempt are routes ("GET /healthz", as rest.RequestInfo has them)
	// that are always served: liveness answers even under overload.
	Exempt []string
	// Observer, when set, is told of every refusal.
	Observer Observer
	// Now is the clock of the throughput's windows (default time.Now).
	Now func() time.Time
}

// Defaults returns the configuration for this machine: the per-CPU
// defaults times GOMAXPROCS, DefaultTarget and DefaultQueueTimeout.
func Defaults() Config {
	n := runtime.GOMAXPROCS(0)
	return Config{MinInFlight: DefaultMinPerCPU * n, MaxInFlight: DefaultMaxPerCPU * n, Target: DefaultTarget,
		MaxQueue: DefaultQueuePerCPU * n, QueueTimeout: DefaultQueueTimeout}
}

// withDefaults fills c's zero values.
func (c Config) withDefaults() Config {
	d := Defaults()
	if c.MinInFlight == 0 {
		c.MinInFlight = d.MinInFlight
		if c.MaxInFlight > 0 {
			c.MinInFlight = min(c.MinInFlight, c.MaxInFlight)
		}
	}
	if c.MaxInFlight == 0 {
		c.MaxInFlight = max(d.MaxInFlight, c.MinInFlight)
	}
	if c.Target == 0 {
		c.Target = d.Target
	}
	if c.MaxQueue == 0 {
		c.MaxQueue = d.MaxQueue
	}
	if c.QueueTimeout == 0 {
		c.QueueTimeout = d.QueueTimeout
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	return c
}

// Validate reports what is wrong with c.
func (c Config) Validate() []error {
	var errs []error
	if c.MinInFlight < 0 || c.MaxInFlight < 0 {
		errs = append(errs, fmt.Errorf("admission: in flight %d to %d: want 1 or more (0: the default)", c.MinInFlight, c.MaxInFlight))
	}
	if c.MinInFlight > 0 && c.MaxInFlight > 0 && c.MinInFlight > c.MaxInFlight {
		errs = append(errs, fmt.Errorf("admission: min in flight %d is over max in flight %d", c.MinInFlight, c.MaxInFlight))
	}
	if c.MaxQueue < -1 {
		errs = append(errs, fmt.Errorf("admission: max queue %d: want -1 (none) or more", c.MaxQueue))
	}
	if c.Target < 0 || c.QueueTimeout < 0 {
		errs = append(errs, fmt.Errorf("admission: target %v, queue timeout %v: want 0 or more", c.Target, c.QueueTimeout))
	}
	return errs
}

// Stats are a Controller's state and counts.
type Stats struct {
	// InFlight and Queued are the requests in service and waiting now;
	// Limit the slots now, and Room how many may wait.
	InFlight, Queued, Limit, Room int
	// Admitted counts the requests served since the start (exempt ones
	// aside); Shed those refused.
	Admitted, Shed int64
}

// Controller admits requests within its bounds. Create it with New; it is
// safe for concurrent use.
type Controller struct {
	cfg    Config
	exempt map[string]bool
	obs    Observer

	mu       sync.Mutex
	inFlight int
	limit    int
	queue    list.List // of *waiter, oldest first
	admitted int64
	shed     int64
	winStart time.Time // the throughput window's start
	winDone  int64     // completions in it
	rate     float64   // completions a second over the last window; 0 before one
}

// waiter is a request in the queue; granted is set, under mu, when a slot
// is handed to it.
type waiter struct {
	ready   chan struct{}
	granted bool
}

// New returns a Controller with cfg's bounds, its zero values defaulted.
func New(cfg Config) (*Controller, error) {
	if errs := cfg.Validate(); len(errs) > 0 {
		return nil, errs[0]
	}
	cfg = cfg.withDefaults()
	c := &Controller{cfg: cfg, exempt: map[string]bool{}, obs: cfg.Observer, limit: cfg.MinInFlight, winStart: cfg.Now()}
	for _, r := range cfg.Exempt {
		c.exempt[r] = true
	}
	return c, nil
}

// Config returns the controller's bounds, defaults filled in.
func (c *Controller) Config() Config { return c.cfg }

// Stats returns the controller's state and counts.
func (c *Controller) Stats() Stats {
	c.mu.Lock()
	defer c.mu.Unlock()
	return Stats{InFlight: c.inFlight, Queued: c.queue.Len(), Limit: c.limit, Room: c.queueRoom(), Admitted: c.admitted, Shed: c.shed}
}

// errOverloaded is the answer to a refused request.
var errOverloaded = &items.Error{Code: items.EUNAVAILABLE, Message: "The service is overloaded; retry shortly.", RetryAfter: 1}

// Acquire takes a slot for one request, waiting in the queue if there is
// room in it; it returns "" with the slot taken (give it back with
// Release), or the reason of the refusal.
func (c *Controller) Acquire(ctx context.Context) (reason string) {
	c.mu.Lock()
	if c.inFlight < c.limit && c.queue.Len() == 0 {
		c.inFlight++
		c.admitted++
		c.mu.Unlock()
		return ""
	}
	if c.queue.Len() >= c.queueRoom() {
		c.shed++
		c.mu.Unlock()
		return c.refused(ReasonQueueFull)
	}
	w := &waiter{ready: make(chan struct{})}
	e := c.queue.PushBack(w)
	c.mu.Unlock()

	t := time.NewTimer(c.cfg.QueueTimeout)
	defer t.Stop()
	reason = ReasonQueueTimeout
	select {
	case <-w.ready:
		return ""
	case <-t.C:
	case <-ctx.Done():
		reason = ReasonGone
	}
	c.mu.Lock()
	if w.granted { // a slot came as the wait ended: take it
		c.mu.Unlock()
		return ""
	}
	c.queue.Remove(e)
	c.shed++
	c.mu.Unlock()
	return c.refused(reason)
}

// Release gives back a slot that Acquire took, and hands it to the
// oldest waiter if the slots allow.
func (c *Controller) Release() {
	c.mu.Lock()
	c.inFlight--
	c.winDone++
	if now := c.cfg.Now(); now.Sub(c.winStart) >= window {
		c.rate = float64(c.winDone) / now.Sub(c.winStart).Seconds()
		c.limit = min(c.cfg.MaxInFlight, max(c.cfg.MinInFlight, int(math.Ceil(c.rate*c.cfg.Target.Seconds()))))
		c.winStart, c.winDone = now, 0
	}
	for c.inFlight < c.limit && c.queue.Len() > 0 {
		w := c.queue.Remove(c.queue.Front()).(*waiter)
		w.granted = true
		c.inFlight++
		c.admitted++
		close(w.ready)
	}
	c.mu.Unlock()
}

// queueRoom is how many requests may wait now: MaxQueue, but no more than
// the service can admit within QueueTimeout at its throughput (and never
// fewer than twice MinInFlight, so that a burst after a quiet spell is
// not refused for the quiet spell's low throughput). A request that could
// not get a slot within the wait is refused at once rather than after
// waiting for nothing. c.mu is held.
func (c *Controller) queueRoom() int {
	room := max(c.cfg.MaxQueue, 0)
	if c.rate > 0 {
		room = min(room, max(2*c.cfg.MinInFlight, int(math.Ceil(c.rate*c.cfg.QueueTimeout.Seconds()))))
	}
	return room
}

func (c *Controller) refused(reason string) string {
	if c.obs != nil {
		c.obs.Shed(reason)
	}
	return reason
}

// Middleware returns the admission middleware: a request is served
// within the bounds, or refused with 503 `unavailable`, Retry-After: 1
// and X-Limit-Source: admission. It must come after rest.Routes (for the
// exempt routes), and sits right in front of the integration, so that
// the gateway's cache hits and throttled requests take no slot.
func (c *Controller) Middleware() rest.Middleware {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if len(c.exempt) > 0 {
				if ri := rest.Info(r.Context()); ri != nil && c.exempt[ri.Route] {
					next.ServeHTTP(w, r)
					return
				}
			}
			if reason := c.Acquire(r.Context()); reason != "" {
				rest.WriteLimited(w, rest.LimitAdmission, errOverloaded)
				return
			}
			defer c.Release()
			next.ServeHTTP(w, r)
		})
	}
}
