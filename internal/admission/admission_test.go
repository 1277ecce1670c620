package admission_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/surgehq/surge/internal/admission"
	"github.com/surgehq/surge/internal/api/rest"
	"github.com/surgehq/surge/internal/testkit/manualclock"
)

// reasons counts the refusals by reason.
type reasons struct {
	mu sync.Mutex
	n  map[string]int
}

func (r *reasons) Shed(reason string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.n == nil {
		r.n = map[string]int{}
	}
	r.n[reason]++
}

func (r *reasons) get(reason string) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.n[reason]
}

// gated is a handler whose requests wait until the gate opens.
type gated struct{ gate chan struct{} }

func (g gated) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path != "/healthz" {
		<-g.gate
	}
	w.WriteHeader(http.StatusOK)
}

// serve builds the middleware in front of a gated handler, behind
// rest.Routes, and returns the handler and its gate.
func serve(t *testing.T, cfg admission.Config) (*admission.Controller, http.Handler, chan struct{}) {
	t.Helper()
	c, err := admission.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	g := gated{gate: make(chan struct{})}
	routes := []rest.Route{{Method: "GET", Pattern: "/items/{id}"}, {Method: "GET", Pattern: "/healthz"}}
	return c, rest.Chain(g, rest.Routes(routes), c.Middleware()), g.gate
}

// waitStats waits until cond holds for c's stats, polling a state (10 s
// at most).
func waitStats(t *testing.T, c *admission.Controller, what string, cond func(admission.Stats) bool) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); !cond(c.Stats()); {
		if time.Now().After(deadline) {
			t.Fatalf("waiting for %s: stats %+v", what, c.Stats())
		}
		time.Sleep(time.Millisecond)
	}
}

func get(h http.Handler, path string) *httptest.ResponseRecorder {
	w := httptest.NewRecorder()
	h.ServeHTTP(w, httptest.NewRequest("GET", path, nil))
	return w
}

// With every slot busy and the queue full, each further request is
// refused at once (503, Retry-After, X-Limit-Source: admission); the
// requests admitted and queued all succeed when the service catches up,
// and the next request is served again.
func TestShedsPastTheSlotsAndTheQueue(t *testing.T) {
	const slots, queue, extra = 2, 3, 5
	obs := &reasons{}
	c, h, gate := serve(t, admission.Config{MaxInFlight: slots, MaxQueue: queue, QueueTimeout: time.Hour,
		Exempt: []string{"GET /healthz"}, Observer: obs})
	codes := make(chan int, slots+queue)
	var wg sync.WaitGroup
	start := func(n int) {
		for range n {
			wg.Add(1)
			go func() { defer wg.Done(); codes <- get(h, "/items/a").Code }()
		}
	}
	start(slots)
	waitStats(t, c, "the slots busy", func(s admission.Stats) bool { return s.InFlight == slots })
	start(queue)
	waitStats(t, c, "the queue full", func(s admission.Stats) bool { return s.Queued == queue })

	for range extra {
		w := get(h, "/items/b")
		if w.Code != 503 || w.Header().Get("Retry-After") != "1" || rest.LimitSource(w.Header()) != rest.LimitAdmission ||
			!strings.Contains(w.Body.String(), `"code":"unavailable"`) {
			t.Errorf("past the bounds: got %d %v %s", w.Code, w.Header(), w.Body)
		}
	}
	if w := get(h, "/healthz"); w.Code != 200 {
		t.Errorf("an exempt route under overload: got %d, want 200", w.Code)
	}
	if got := obs.get(admission.ReasonQueueFull); got != extra {
		t.Errorf("got %d refusals for a full queue, want %d", got, extra)
	}

	close(gate) // the service catches up
	wg.Wait()
	close(codes)
	ok := 0
	for code := range codes {
		if code == 200 {
			ok++
		}
	}
	if ok != slots+queue {
		t.Errorf("got %d of the %d admitted and queued requests served", ok, slots+queue)
	}
	if w := get(h, "/items/c"); w.Code != 200 || rest.LimitSource(w.Header()) != "" {
		t.Errorf("after the spike: got %d %v, want 200 without %s", w.Code, w.Header(), rest.LimitSourceHeader)
	}
	s := c.Stats()
	if s.Admitted != slots+queue+1 || s.Shed != extra || s.InFlight != 0 || s.Queued != 0 {
		t.Errorf("got stats %+v", s)
	}
}

// A request that waits out the queue timeout is refused; one whose client
// leaves while it waits is counted as gone.
func TestQueueTimeoutAndClientGone(t *testing.T) {
	obs := &reasons{}
	c, h, gate := serve(t, admission.Config{MaxInFlight: 1, MaxQueue: 4, QueueTimeout: time.Nanosecond, Observer: obs})
	done := make(chan struct{})
	go func() { get(h, "/items/a"); close(done) }()
	waitStats(t, c, "the slot busy", func(s admission.Stats) bool { return s.InFlight == 1 })
	if w := get(h, "/items/b"); w.Code != 503 || rest.LimitSource(w.Header()) != rest.LimitAdmission {
		t.Errorf("timed out in the queue: got %d %v", w.Code, w.Header())
	}
	if obs.get(admission.ReasonQueueTimeout) != 1 {
		t.Errorf("got reasons %v, want one queue timeout", obs.n)
	}

	c2, err := admission.New(admission.Config{MaxInFlight: 1, MaxQueue: 1, QueueTimeout: time.Hour, Observer: obs})
	if err != nil {
		t.Fatal(err)
	}
	if r := c2.Acquire(context.Background()); r != "" {
		t.Fatalf("a free slot: got %q", r)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if r := c2.Acquire(ctx); r != admission.ReasonGone {
		t.Errorf("a client gone while queued: got %q, want %q", r, admission.ReasonGone)
	}
	c2.Release()
	if r := c2.Acquire(context.Background()); r != "" {
		t.Errorf("after the release: got %q", r)
	}
	close(gate)
	<-done
}

// Without a queue, a request that finds every slot busy is refused at
// once.
func TestNoQueue(t *testing.T) {
	c, h, gate := serve(t, admission.Config{MaxInFlight: 1, MaxQueue: -1})
	done := make(chan struct{})
	go func() { get(h, "/items/a"); close(done) }()
	waitStats(t, c, "the slot busy", func(s admission.Stats) bool { return s.InFlight == 1 })
	if w := get(h, "/items/b"); w.Code != 503 {
		t.Errorf("got %d, want 503", w.Code)
	}
	close(gate)
	<-done
}

func TestConfig(t *testing.T) {
	d := admission.Defaults()
	if d.MinInFlight < admission.DefaultMinPerCPU || d.MaxInFlight < admission.DefaultMaxPerCPU ||
		d.MaxQueue < admission.DefaultQueuePerCPU || d.QueueTimeout != admission.DefaultQueueTimeout || d.Target != admission.DefaultTarget {
		t.Errorf("got defaults %+v", d)
	}
	for _, bad := range []admission.Config{{MaxInFlight: -1}, {MinInFlight: 5, MaxInFlight: 4}, {MaxQueue: -2}, {QueueTimeout: -1}, {Target: -1}} {
		if _, err := admission.New(bad); err == nil {
			t.Errorf("%+v: got no error", bad)
		}
	}
	c, err := admission.New(admission.Config{MaxQueue: 3})
	if err != nil || c.Config().MaxInFlight != d.MaxInFlight || c.Config().MinInFlight != d.MinInFlight ||
		c.Config().QueueTimeout != admission.DefaultQueueTimeout || c.Stats().Limit != d.MinInFlight {
		t.Errorf("zero values: got %+v %+v, %v", c.Config(), c.Stats(), err)
	}
	if c, _ := admission.New(admission.Config{MaxInFlight: 4}); c.Config().MinInFlight != 4 {
		t.Errorf("a max under the default min: got min %d, want 4", c.Config().MinInFlight)
	}
}

// The slots follow throughput × Target between the bounds: by Little's
// law, a service that completes N requests a second spends about Target
// on each when it has N × Target in service.
func TestSlotsFollowThroughput(t *testing.T) {
	clock := manualclock.New(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	c, err := admission.New(admission.Config{MinInFlight: 2, MaxInFlight: 50, Target: 100 * time.Millisecond, MaxQueue: -1, Now: clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	run := func(n int, over time.Duration) {
		for i := range n {
			if r := c.Acquire(context.Background()); r != "" {
				t.Fatalf("request %d: refused (%s) with %+v", i, r, c.Stats())
			}
			clock.Advance(over / time.Duration(n))
			c.Release()
		}
	}
	if got := c.Stats().Limit; got != 2 {
		t.Fatalf("before any completion: got %d slots, want the minimum 2", got)
	}
	run(100, time.Second/4) // 400 a second: 40 in service at 100 ms each
	if got := c.Stats().Limit; got != 40 {
		t.Errorf("at 400 a second: got %d slots, want 40", got)
	}
	if got := c.Stats().Room; got != 0 {
		t.Errorf("without a queue: got room for %d, want 0", got)
	}
	run(1000, time.Second/4) // 4,000 a second: capped at 50
	if got := c.Stats().Limit; got != 50 {
		t.Errorf("at 4000 a second: got %d slots, want the maximum 50", got)
	}
	run(2, time.Second) // 2 a second: back to the minimum
	if got := c.Stats().Limit; got != 2 {
		t.Errorf("at 2 a second: got %d slots, want the minimum 2", got)
	}
	// Past the slots, with no queue: refused.
	for range 2 {
		c.Acquire(context.Background())
	}
	if r := c.Acquire(context.Background()); r != admission.ReasonQueueFull {
		t.Errorf("past 2 slots without a queue: got %q", r)
	}
}

func BenchmarkMiddleware(b *testing.B) {
	c, err := admission.New(admission.Defaults())
	if err != nil {
		b.Fatal(err)
	}
	h := c.Middleware()(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	r := httptest.NewRequest("GET", "/items/a", nil)
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			h.ServeHTTP(nil, r)
		}
	})
}

// The queue holds no more requests than the service gets through within
// the queue timeout at its throughput (at least twice the minimum slots),
// and MaxQueue before any throughput is known.
func TestQueueRoomFollowsThroughput(t *testing.T) {
	clock := manualclock.New(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	c, err := admission.New(admission.Config{MinInFlight: 4, MaxInFlight: 4, MaxQueue: 500, QueueTimeout: 100 * time.Millisecond, Now: clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	if got := c.Stats().Room; got != 500 {
		t.Errorf("before any completion: got room for %d, want MaxQueue 500", got)
	}
	complete := func(n int, over time.Duration) {
		for range n {
			if r := c.Acquire(context.Background()); r != "" {
				t.Fatalf("refused: %s", r)
			}
			clock.Advance(over / time.Duration(n))
			c.Release()
		}
	}
	complete(250, time.Second/4) // 1,000 a second: 100 within 100 ms
	if got := c.Stats().Room; got != 100 {
		t.Errorf("at 1000 a second: got room for %d, want 100", got)
	}
	complete(1, time.Second) // 1 a second: the floor, twice the minimum slots
	if got := c.Stats().Room; got != 8 {
		t.Errorf("at 1 a second: got room for %d, want 8", got)
	}
	complete(10000, time.Second/4) // 40,000 a second: capped at MaxQueue
	if got := c.Stats().Room; got != 500 {
		t.Errorf("at 40000 a second: got room for %d, want 500", got)
	}
}
