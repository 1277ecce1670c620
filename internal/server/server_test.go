package server_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/surgehq/surge/internal/items"
	"github.com/surgehq/surge/internal/server"
	"github.com/surgehq/surge/internal/testkit/httpdo"
	"github.com/surgehq/surge/internal/testkit/syncbuf"
)

// running is a Server serving in this test.
type running struct {
	s      *server.Server
	base   string
	admin  string
	logs   *syncbuf.Buffer
	cancel context.CancelFunc
	done   chan error
}

// start builds a Server from the defaults, on ephemeral loopback ports,
// in a temporary data directory, with JSON logs and the changes of
// adjust, and runs it until stop or the test's end.
func start(t *testing.T, adjust func(*server.Config)) *running {
	t.Helper()
	p := &running{logs: &syncbuf.Buffer{}, done: make(chan error, 1)}
	cfg := server.DefaultConfig()
	cfg.Addr, cfg.AdminAddr, cfg.Data = "127.0.0.1:0", "127.0.0.1:0", t.TempDir()
	cfg.Log = slog.New(slog.NewJSONHandler(p.logs, nil))
	if adjust != nil {
		adjust(&cfg)
	}
	s, err := server.New(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	p.s, p.base = s, "http://"+s.Addr()
	if a := s.AdminAddr(); a != "" {
		p.admin = "http://" + a
	}
	var ctx context.Context
	ctx, p.cancel = context.WithCancel(context.Background())
	go func() { p.done <- s.Run(ctx) }()
	t.Cleanup(func() {
		p.stop(t)
		if t.Failed() {
			t.Logf("server log:\n%s", p.logs)
		}
	})
	return p
}

// stop ends Run and returns its error (once; later calls return nil).
func (p *running) stop(t *testing.T) error {
	p.cancel()
	select {
	case err, ok := <-p.done:
		if !ok {
			return nil
		}
		close(p.done)
		return err
	case <-time.After(30 * time.Second):
		t.Fatal("the server did not stop within 30s")
		return nil
	}
}

// logRecords returns the JSON log records in logs.
func logRecords(t *testing.T, logs string) []map[string]any {
	t.Helper()
	var recs []map[string]any
	for _, line := range strings.Split(strings.TrimSpace(logs), "\n") {
		var rec map[string]any
		if err := json.Unmarshal([]byte(line), &rec); err != nil {
			t.Fatalf("log line %q is not JSON: %v", line, err)
		}
		recs = append(recs, rec)
	}
	return recs
}

func do(t *testing.T, method, url string, body any, headers ...string) (int, http.Header, []byte) {
	t.Helper()
	code, h, b, err := tryDo(method, url, body, headers...)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	return code, h, b
}

func tryDo(method, url string, body any, headers ...string) (int, http.Header, []byte, error) {
	return httpdo.Do(method, url, body, headers...)
}

// slowStore delays Get until release is closed, and panics on a Get of
// the id "panic", to inject faults.
type slowStore struct {
	items.Store
	entered chan struct{}
	release chan struct{}
}

func (s *slowStore) wrap(st items.Store) items.Store { s.Store = st; return s }

func (s *slowStore) Get(ctx context.Context, key items.Key, opt items.ReadOptions) (*items.Item, error) {
	switch key.ID {
	case "panic":
		panic("injected fault")
	case "slow":
		close(s.entered)
		<-s.release
	}
	return s.Store.Get(ctx, key, opt)
}

func TestGracefulShutdown(t *testing.T) {
	slow := &slowStore{entered: make(chan struct{}), release: make(chan struct{})}
	p := start(t, func(c *server.Config) { c.ShutdownTimeout = 20 * time.Second; c.WrapStore = slow.wrap })
	do(t, "POST", p.base+"/items", map[string]any{"id": "slow", "v": 1})

	type result struct {
		code int
		body []byte
		err  error
	}
	inflight := make(chan result, 1)
	go func() {
		code, _, body, err := tryDo("GET", p.base+"/items/slow", nil)
		inflight <- result{code, body, err}
	}()
	<-slow.entered

	stopped := make(chan error, 1)
	go func() { stopped <- p.stop(t) }()
	// The listener closes at once: new connections are refused...
	deadline := time.Now().Add(5 * time.Second)
	for {
		c := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}, Timeout: time.Second}
		resp, err := c.Get(p.base + "/healthz")
		if err != nil {
			break
		}
		resp.Body.Close()
		if time.Now().After(deadline) {
			t.Fatal("the server still accepts connections 5s into a shutdown")
		}
		time.Sleep(10 * time.Millisecond)
	}
	// ...while the request in flight goes on, and the server waits for it.
	select {
	case <-stopped:
		t.Fatal("the server stopped with a request in flight")
	case <-time.After(100 * time.Millisecond):
	}
	close(slow.release)
	r := <-inflight
	if r.err != nil || r.code != 200 || !bytes.Contains(r.body, []byte(`"v":1`)) {
		t.Fatalf("in-flight request: got %d %s %v, want 200 and the item", r.code, r.body, r.err)
	}
	if err := <-stopped; err != nil {
		t.Errorf("run: %v", err)
	}
	if !strings.Contains(p.logs.String(), `"msg":"stopped"`) {
		t.Error("no stopped log record")
	}
}

func TestShutdownDeadline(t *testing.T) {
	slow := &slowStore{entered: make(chan struct{}), release: make(chan struct{})}
	defer close(slow.release)
	p := start(t, func(c *server.Config) { c.ShutdownTimeout = 200 * time.Millisecond; c.WrapStore = slow.wrap })
	do(t, "POST", p.base+"/items", map[string]any{"id": "slow"})
	go tryDo("GET", p.base+"/items/slow", nil)
	<-slow.entered
	start := time.Now()
	p.stop(t)
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("shutdown took %v with a 200ms deadline", d)
	}
	if !strings.Contains(p.logs.String(), "cut off") {
		t.Error("no log of the requests cut off at the deadline")
	}
}

func TestPanicRecovered(t *testing.T) {
	slow := &slowStore{}
	p := start(t, func(c *server.Config) { c.WrapStore = slow.wrap })
	code, h, body := do(t, "GET", p.base+"/items/panic", nil)
	if code != 500 || string(body) != `{"code":"internal","message":"Internal error."}` {
		t.Errorf("got %d %s, want 500 Internal error.", code, body)
	}
	// The server lives on.
	if code, _, _ := do(t, "GET", p.base+"/healthz", nil); code != 200 {
		t.Errorf("after a panic, /healthz: got %d", code)
	}
	p.stop(t)
	var logged bool
	for _, rec := range logRecords(t, p.logs.String()) {
		if rec["msg"] == "panic" {
			logged = true
			if rec["request_id"] != h.Get("X-Request-Id") || !strings.Contains(fmt.Sprint(rec["stack"]), "slowStore") {
				t.Errorf("panic log %v lacks the request id or the stack", rec)
			}
		}
	}
	if !logged {
		t.Error("the panic was not logged")
	}
}

// counting is a caller's own observer of the response cache and the
// throttle, beside Prometheus.
type counting struct {
	mu                  sync.Mutex
	hits, misses        int
	throttled           map[string]int
	invalidated, denied int
}

func (c *counting) CacheHit()     { c.mu.Lock(); c.hits++; c.mu.Unlock() }
func (c *counting) CacheMiss()    { c.mu.Lock(); c.misses++; c.mu.Unlock() }
func (c *counting) CacheEvicted() {}
func (c *counting) CacheDenied()  { c.mu.Lock(); c.denied++; c.mu.Unlock() }
func (c *counting) CacheInvalidated(string) {
	c.mu.Lock()
	c.invalidated++
	c.mu.Unlock()
}
func (c *counting) Throttled(level string) { c.mu.Lock(); c.throttled[level]++; c.mu.Unlock() }

// TestObservers checks that a caller's observers see what the Prometheus
// ones count, and that Handler serves the same chain as the listener.
func TestObservers(t *testing.T) {
	obs := &counting{throttled: map[string]int{}}
	p := start(t, func(c *server.Config) {
		c.Store = "mem:"
		c.Cache.Enabled = true
		c.Throttle.StageRate, c.Throttle.StageBurst = 1e-9, 3 // three requests, then no refill
		c.Observers.Cache, c.Observers.Throttle = obs, obs
	})
	if p.s.Pools() != nil {
		t.Error("Pools without functions: got some")
	}
	do(t, "POST", p.base+"/items", map[string]any{"id": "a"})
	do(t, "GET", p.base+"/items/a", nil)
	rec := httptest.NewRecorder()
	p.s.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/items/a", nil))
	if rec.Code != 200 || rec.Header().Get("X-Cache") != "Hit" {
		t.Errorf("through Handler: got %d X-Cache %q, want 200 Hit", rec.Code, rec.Header().Get("X-Cache"))
	}
	if code, _, _ := do(t, "GET", p.base+"/items/a", nil); code != 429 {
		t.Errorf("fourth request: got %d, want 429", code)
	}
	obs.mu.Lock()
	defer obs.mu.Unlock()
	if obs.hits != 1 || obs.misses != 1 || obs.throttled["stage"] != 1 || obs.invalidated != 1 {
		t.Errorf("got %+v, want 1 hit, 1 miss, 1 stage throttle, 1 invalidation (the POST)", obs)
	}
	_, _, metrics := do(t, "GET", p.admin+"/metrics", nil)
	for _, want := range []string{"surge_gateway_cache_hits_total 1", "surge_gateway_cache_misses_total 1",
		`surge_gateway_throttled_total{level="stage"} 1`} {
		if !bytes.Contains(metrics, []byte(want)) {
			t.Errorf("/metrics lacks %q", want)
		}
	}
}
