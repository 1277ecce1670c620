package gateway_test

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/surgehq/surge/internal/items"
	"github.com/surgehq/surge/internal/server"
	"github.com/surgehq/surge/internal/testkit/manualclock"
	"github.com/surgehq/surge/internal/testkit/syncbuf"
)

// harnessOpts choose the parts of a harness's chain. A part's config
// sets what the test names; the harness fills in the sizes, routes, key
// and strategy of server.DefaultConfig, and leaves the switches as given.
type harnessOpts struct {
	cache    *server.CacheConfig
	throttle *server.ThrottleConfig
	keys     string // a keys file's YAML
	etags    bool
	// readCache turns the read cache on below the gateway.
	readCache bool
	// wrap, when set, wraps the store below the gateway (a test's fault
	// or timing injection).
	wrap func(items.Store) items.Store
}

// harness is surge's production chain (server.New) in front of the items
// API over a memory store, served over real HTTP, with a clock moved by
// hand.
type harness struct {
	t     *testing.T
	url   string
	admin string
	store items.Store // behind the gateway: writes here bypass it
	clock *manualclock.Clock
	logs  *syncbuf.Buffer
}

func newHarness(t *testing.T, o harnessOpts) *harness {
	t.Helper()
	h := &harness{t: t, clock: manualclock.New(time.Date(2030, 6, 1, 12, 0, 0, 0, time.UTC)), logs: &syncbuf.Buffer{}}
	d := server.DefaultConfig()
	cfg := d
	cfg.Addr, cfg.AdminAddr, cfg.Store = "127.0.0.1:0", "127.0.0.1:0", "mem:"
	cfg.AccessLog = false
	cfg.Log = slog.New(slog.NewJSONHandler(h.logs, nil))
	cfg.Now = h.clock.Now
	cfg.WrapStore = func(s items.Store) items.Store {
		h.store = s
		if o.wrap != nil {
			return o.wrap(s)
		}
		return s
	}
	cfg.ETags = o.etags
	cfg.ReadCache.Enabled = o.readCache
	if o.keys != "" {
		cfg.Auth.Keys = filepath.Join(t.TempDir(), "keys.yaml")
		if err := os.WriteFile(cfg.Auth.Keys, []byte(o.keys), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	if o.throttle != nil {
		cfg.Throttle = *o.throttle
	}
	if o.cache != nil {
		cc := *o.cache
		cc.Enabled = true
		if cc.TTL == 0 {
			cc.TTL = d.Cache.TTL
		}
		if cc.SizeMB == 0 {
			cc.SizeMB = d.Cache.SizeMB
		}
		if cc.Routes == nil {
			cc.Routes = d.Cache.Routes
		}
		if cc.Key == nil {
			cc.Key = d.Cache.Key
		}
		if cc.Unauthorized == "" {
			cc.Unauthorized = d.Cache.Unauthorized
		}
		cfg.Cache = cc
	}
	s, err := server.New(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("run: %v", err)
		}
		if t.Failed() {
			t.Logf("server log:\n%s", h.logs)
		}
	})
	h.url, h.admin = "http://"+s.Addr(), "http://"+s.AdminAddr()
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
	r, err := h.send(method, path, body, kv...)
	if err != nil {
		h.t.Fatal(err)
	}
	return r
}

// try is do for another goroutine than the test's: a failure is a
// response of status 0 with the error as its body.
func (h *harness) try(method, path, body string, kv ...string) response {
	r, err := h.send(method, path, body, kv...)
	if err != nil {
		return response{body: err.Error()}
	}
	return r
}

func (h *harness) send(method, path, body string, kv ...string) (response, error) {
	var r io.Reader
	if body != "" {
		r = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, h.url+path, r)
	if err != nil {
		return response{}, err
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
		return response{}, fmt.Errorf("%s %s: %w", method, path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return response{}, fmt.Errorf("%s %s: read the body: %w", method, path, err)
	}
	return response{resp.StatusCode, resp.Header, string(b)}, nil
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

// counter returns a counter's or gauge's value by name and label pairs, as
// the admin listener's /metrics shows it; 0 when there is no such series.
func (h *harness) counter(name string, labels ...string) float64 {
	h.t.Helper()
	resp, err := http.Get(h.admin + "/metrics")
	if err != nil {
		h.t.Fatal(err)
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(nil, 1<<20)
series:
	for sc.Scan() {
		line := sc.Text()
		if !strings.HasPrefix(line, name+" ") && !strings.HasPrefix(line, name+"{") {
			continue
		}
		i := strings.LastIndexByte(line, ' ')
		for j := 0; j+1 < len(labels); j += 2 {
			if !strings.Contains(line[:i], labels[j]+`="`+labels[j+1]+`"`) {
				continue series
			}
		}
		v, err := strconv.ParseFloat(line[i+1:], 64)
		if err != nil {
			h.t.Fatalf("metrics line %q: %v", line, err)
		}
		return v
	}
	if err := sc.Err(); err != nil {
		h.t.Fatal(err)
	}
	return 0
}
