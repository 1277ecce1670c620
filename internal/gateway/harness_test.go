package gateway_test

import (
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/surgehq/surge/internal/auth"
	"github.com/surgehq/surge/internal/gateway"
	"github.com/surgehq/surge/internal/itemsapi"
	"github.com/surgehq/surge/internal/manualclock"
	"github.com/surgehq/surge/internal/memstore"
	"github.com/surgehq/surge/internal/syncbuf"
	"github.com/surgehq/surge/internal/timing"
)

// harnessOpts choose the parts of a harness's chain.
type harnessOpts struct {
	cache    *gateway.CacheConfig
	throttle *gateway.ThrottleConfig
	keys     string // a keys file's YAML
	etags    bool
}

// harness is the gateway's chain in front of the items API over a memory
// store, served over real HTTP, with a clock moved by hand.
type harness struct {
	t     *testing.T
	url   string
	store *memstore.Store // behind the gateway: writes here bypass it
	clock *manualclock.Clock
	reg   *prometheus.Registry
	logs  *syncbuf.Buffer
	cache *gateway.Cache
}

func newHarness(t *testing.T, o harnessOpts) *harness {
	t.Helper()
	h := &harness{t: t, store: memstore.New(), clock: manualclock.New(time.Date(2030, 6, 1, 12, 0, 0, 0, time.UTC)), reg: prometheus.NewRegistry(), logs: &syncbuf.Buffer{}}
	log := slog.New(slog.NewJSONHandler(h.logs, nil))
	var routes []gateway.Route
	for _, r := range itemsapi.Routes() {
		routes = append(routes, gateway.Route{Method: r.Method, Pattern: r.Pattern})
	}
	mws := []gateway.Middleware{gateway.Routes(routes), timing.Middleware, gateway.RequestID, gateway.Recover(log, itemsapi.WriteError)}
	if o.keys != "" {
		keys, err := auth.ParseKeys([]byte(o.keys))
		if err != nil {
			t.Fatal(err)
		}
		a, err := auth.New(keys, nil)
		if err != nil {
			t.Fatal(err)
		}
		mws = append(mws, gateway.Auth(a, false, gateway.NewAuthMetrics(h.reg), itemsapi.WriteError))
	}
	if o.throttle != nil {
		cfg := *o.throttle
		cfg.Now = h.clock.Now
		mws = append(mws, gateway.NewThrottle(cfg, gateway.NewThrottleMetrics(h.reg)).Middleware(log, itemsapi.WriteError))
	}
	if o.cache != nil {
		cfg := *o.cache
		cfg.Now = h.clock.Now
		if cfg.Routes == nil {
			cfg.Routes = []string{"GET /items/{id}", "GET /items"}
		}
		if cfg.Key == nil {
			cfg.Key = gateway.DefaultCacheKey
		}
		if cfg.MaxBytes == 0 {
			cfg.MaxBytes = 64 << 20
		}
		if cfg.TTL == 0 {
			cfg.TTL = gateway.DefaultCacheTTL
		}
		if cfg.Unauthorized == "" {
			cfg.Unauthorized = gateway.UnauthorizedWarn
		}
		c, err := gateway.NewCache(cfg, gateway.NewCacheMetrics(h.reg), log, itemsapi.WriteError)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(c.Close)
		h.cache = c
		mws = append(mws, c.Middleware)
	}
	if o.etags {
		mws = append(mws, gateway.Conditional([]string{"GET /items"}, "no-cache"))
	}
	srv := httptest.NewServer(gateway.Chain(itemsapi.New(h.store), mws...))
	t.Cleanup(srv.Close)
	h.url = srv.URL
	return h
}

// response is an answer as the tests look at it.
type response struct {
	status int
	header http.Header
	body   string
}

// do sends a request with an optional body and header pairs.
func (h *harness) do(method, path, body string, kv ...string) response {
	h.t.Helper()
	var r io.Reader
	if body != "" {
		r = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, h.url+path, r)
	if err != nil {
		h.t.Fatal(err)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
		if method == "PATCH" {
			req.Header.Set("Content-Type", "application/merge-patch+json")
		}
	}
	for i := 0; i+1 < len(kv); i += 2 {
		req.Header.Set(kv[i], kv[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		h.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		h.t.Fatal(err)
	}
	return response{resp.StatusCode, resp.Header, string(b)}
}

// must sends a request and checks its status.
func (h *harness) must(status int, method, path, body string, kv ...string) response {
	h.t.Helper()
	r := h.do(method, path, body, kv...)
	if r.status != status {
		h.t.Fatalf("%s %s: got %d %s, want %d", method, path, r.status, r.body, status)
	}
	return r
}

// counter returns a counter's value by name and label pairs.
func (h *harness) counter(name string, labels ...string) float64 {
	h.t.Helper()
	mfs, err := h.reg.Gather()
	if err != nil {
		h.t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
	metrics:
		for _, m := range mf.GetMetric() {
			for i := 0; i+1 < len(labels); i += 2 {
				found := false
				for _, lp := range m.GetLabel() {
					if lp.GetName() == labels[i] && lp.GetValue() == labels[i+1] {
						found = true
					}
				}
				if !found {
					continue metrics
				}
			}
			if c := m.GetCounter(); c != nil {
				return c.GetValue()
			}
			return m.GetGauge().GetValue()
		}
	}
	return 0
}

var _ = testutil.ToFloat64
