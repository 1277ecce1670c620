package gateway_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/surgehq/surge/internal/api/rest"
	"github.com/surgehq/surge/internal/items"
	"github.com/surgehq/surge/internal/local/gateway"
	"github.com/surgehq/surge/internal/server"
)

// version returns the version of an item answer.
func version(t *testing.T, r response) int {
	t.Helper()
	var it struct{ Version int }
	if err := json.Unmarshal([]byte(r.body), &it); err != nil {
		t.Fatalf("item body %q: %v", r.body, err)
	}
	return it.Version
}

func wantXCache(t *testing.T, what string, r response, want string) {
	t.Helper()
	if got := r.header.Get(gateway.CacheHeader); got != want {
		t.Errorf("%s: got X-Cache %q, want %q", what, got, want)
	}
}

// behind replaces an item in the store behind the gateway, as another
// writer that does not pass through it would.
func (h *harness) behind(tenant, id, js string) {
	h.t.Helper()
	if _, err := h.store.Replace(context.Background(), items.Key{Tenant: tenant, ID: id}, items.Attributes(js), items.Condition{}); err != nil {
		h.t.Fatal(err)
	}
}

func TestCacheHitMiss(t *testing.T) {
	h := newHarness(t, harnessOpts{cache: &server.CacheConfig{InvalidateOnWrite: true}})
	h.must(201, "POST", "/items", `{"id":"a","n":1}`)
	first := h.must(200, "GET", "/items/a", "")
	wantXCache(t, "first get", first, "Miss")
	h.behind(items.DefaultTenant, "a", `{"n":2}`)
	second := h.must(200, "GET", "/items/a", "")
	wantXCache(t, "second get", second, "Hit")
	if second.body != first.body || second.header.Get("Etag") != first.header.Get("Etag") ||
		second.header.Get("Content-Type") != "application/json" || second.header.Get("Cache-Control") != "no-cache" {
		t.Errorf("a hit differs from the answer cached: %v %s", second.header, second.body)
	}
	if !strings.Contains(second.header.Get("Server-Timing"), "cache;dur=") || strings.Contains(second.header.Get("Server-Timing"), "store;") {
		t.Errorf("hit's Server-Timing %q: want cache time and no store time", second.header.Get("Server-Timing"))
	}
	if !strings.Contains(first.header.Get("Server-Timing"), "store;dur=") {
		t.Errorf("miss's Server-Timing %q: want store time", first.header.Get("Server-Timing"))
	}
	// Not cached: other methods, errors, HEAD.
	h.must(404, "GET", "/items/missing", "")
	wantXCache(t, "404 again", h.must(404, "GET", "/items/missing", ""), "Miss")
	wantXCache(t, "healthz", h.must(200, "GET", "/healthz", ""), "")
	if got := h.counter("surge_gateway_cache_hits_total"); got != 1 {
		t.Errorf("hits: got %v, want 1", got)
	}
	if got := h.counter("surge_gateway_cache_misses_total"); got != 3 {
		t.Errorf("misses: got %v, want 3", got)
	}
	if got := h.counter("surge_gateway_cache_entries"); got != 1 {
		t.Errorf("entries: got %v, want 1", got)
	}
	if got := h.counter("surge_gateway_cache_bytes"); got < float64(len(first.body)) {
		t.Errorf("bytes: got %v, want at least the body's %d", got, len(first.body))
	}
}

func TestCacheTTL(t *testing.T) {
	h := newHarness(t, harnessOpts{cache: &server.CacheConfig{TTL: 60 * time.Second}})
	h.must(201, "POST", "/items", `{"id":"a"}`)
	h.must(200, "GET", "/items/a", "")
	h.behind(items.DefaultTenant, "a", `{"n":2}`)
	h.clock.Advance(59 * time.Second)
	if r := h.must(200, "GET", "/items/a", ""); version(t, r) != 1 {
		t.Fatal("before the TTL: got the store's item, want the cached one")
	}
	h.clock.Advance(time.Second)
	r := h.must(200, "GET", "/items/a", "")
	wantXCache(t, "at the TTL", r, "Miss")
	if version(t, r) != 2 {
		t.Fatal("at the TTL: got the cached item, want the store's")
	}
}

func TestCacheWrites(t *testing.T) {
	for _, invalidate := range []bool{true, false} {
		t.Run(fmt.Sprintf("InvalidateOnWrite=%v", invalidate), func(t *testing.T) {
			h := newHarness(t, harnessOpts{cache: &server.CacheConfig{InvalidateOnWrite: invalidate}})
			h.must(201, "POST", "/items", `{"id":"a"}`)
			h.must(201, "POST", "/items", `{"id":"b"}`)
			h.must(200, "GET", "/items/a", "")
			h.must(200, "GET", "/items/b", "")
			list := h.must(200, "GET", "/items?limit=10", "")
			h.must(200, "PUT", "/items/a", `{"n":2}`)
			// Without invalidation the gateway serves the stale item, as
			// API Gateway does.
			r := h.must(200, "GET", "/items/a", "")
			if fresh := version(t, r) == 2; fresh != invalidate {
				t.Errorf("get after a PUT: got version %d (X-Cache %s)", version(t, r), r.header.Get("X-Cache"))
			}
			// Another item's entry survives a write.
			wantXCache(t, "the other item after a PUT", h.must(200, "GET", "/items/b", ""), "Hit")
			h.must(201, "POST", "/items", `{"id":"c"}`)
			r = h.must(200, "GET", "/items?limit=10", "")
			if fresh := strings.Contains(r.body, `"id":"c"`); fresh != invalidate {
				t.Errorf("list after a POST: got %s (was %s)", r.body, list.body)
			}
			// A batch may touch anything of the tenant.
			h.must(200, "POST", "/items/_batch", `{"operations":[{"op":"put","id":"b","item":{"n":3}}]}`)
			r = h.must(200, "GET", "/items/b", "")
			if fresh := version(t, r) == 2; fresh != invalidate {
				t.Errorf("get after a batch: got version %d", version(t, r))
			}
			h.must(200, "POST", "/ops", `{"operation":"delete","payload":{"Key":{"id":"b"}}}`)
			r = h.do("GET", "/items/b", "")
			if gone := r.status == 404; gone != invalidate {
				t.Errorf("get after a dispatcher delete: got %d", r.status)
			}
			h.must(204, "DELETE", "/items/a", "")
			r = h.do("GET", "/items/a", "")
			if gone := r.status == 404; gone != invalidate {
				t.Errorf("get after DELETE: got %d", r.status)
			}
			want := 0.0
			if invalidate {
				want = 6 // PUT, POST, batch, ops, DELETE, and the first POSTs before: 2
			}
			if got := h.counter("surge_gateway_cache_invalidations_total", "cause", "write"); invalidate && got < 5 || !invalidate && got != want {
				t.Errorf("write invalidations: got %v", got)
			}
		})
	}
}

func TestCacheKey(t *testing.T) {
	h := newHarness(t, harnessOpts{cache: &server.CacheConfig{InvalidateOnWrite: true}})
	for i := range 3 {
		h.must(201, "POST", "/items", fmt.Sprintf(`{"id":"i%d"}`, i))
	}
	page1 := h.must(200, "GET", "/items?limit=1", "")
	wantXCache(t, "limit=1", page1, "Miss")
	wantXCache(t, "limit=2", h.must(200, "GET", "/items?limit=2", ""), "Miss")
	wantXCache(t, "limit=1 again", h.must(200, "GET", "/items?limit=1", ""), "Hit")
	var p struct{ Next string }
	json.Unmarshal([]byte(page1.body), &p)
	page2 := h.must(200, "GET", "/items?limit=1&cursor="+p.Next, "")
	wantXCache(t, "page 2", page2, "Miss")
	if page2.body == page1.body {
		t.Error("the second page is the first one: the cursor is not in the key")
	}
	// An undeclared parameter is not in the key: API Gateway serves the
	// cached answer whatever it is.
	wantXCache(t, "undeclared parameter", h.must(200, "GET", "/items?limit=1&color=red", ""), "Hit")
	wantXCache(t, "item i0", h.must(200, "GET", "/items/i0", ""), "Miss")
	wantXCache(t, "item i1", h.must(200, "GET", "/items/i1", ""), "Miss")
	wantXCache(t, "item i0 again", h.must(200, "GET", "/items/i0", ""), "Hit")
	// An escaped path names the same item: the same entry, and a write
	// through either spelling invalidates it.
	wantXCache(t, "item i0 escaped", h.must(200, "GET", "/items/%690", ""), "Hit")
	h.must(200, "PUT", "/items/%690", `{"n":2}`)
	if r := h.must(200, "GET", "/items/i0", ""); version(t, r) != 2 {
		t.Error("a write through an escaped path left the entry stale")
	}
}

func TestCacheLimits(t *testing.T) {
	// A response over 1 MB is not cached, as in API Gateway; one of 1 MB is.
	for _, size := range []int{gateway.MaxCacheableBody, gateway.MaxCacheableBody + 1} {
		body := strings.Repeat("z", size)
		calls := 0
		h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			calls++
			w.Header().Set("Content-Type", "text/plain")
			w.Write([]byte(body[:size/2]))
			w.Write([]byte(body[size/2:]))
		})
		c, err := gateway.NewCache(gateway.CacheConfig{TTL: time.Minute, MaxBytes: 8 << 20, Routes: []string{"GET /big"},
			Unauthorized: gateway.UnauthorizedWarn})
		if err != nil {
			t.Fatal(err)
		}
		srv := httptest.NewServer(rest.Chain(h, rest.Routes([]rest.Route{{Method: "GET", Pattern: "/big"}}), c.Middleware()))
		for i := range 2 {
			resp, err := http.Get(srv.URL + "/big")
			if err != nil {
				t.Fatal(err)
			}
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if len(b) != size || resp.Header.Get("X-Cache") != "Miss" && i == 0 {
				t.Fatalf("size %d, get %d: got %d bytes, X-Cache %q", size, i, len(b), resp.Header.Get("X-Cache"))
			}
		}
		srv.Close()
		c.Close()
		if want := map[bool]int{true: 1, false: 2}[size <= gateway.MaxCacheableBody]; calls != want {
			t.Errorf("response of %d bytes: the function was called %d times, want %d", size, calls, want)
		}
	}
}

func TestCacheMemoryBound(t *testing.T) {
	const bound = 1 << 20
	h := newHarness(t, harnessOpts{cache: &server.CacheConfig{SizeMB: bound >> 20}})
	pad := strings.Repeat("y", 80<<10)
	for i := range 40 {
		h.must(201, "POST", "/items", fmt.Sprintf(`{"id":"m%02d","pad":"%s"}`, i, pad))
	}
	for range 2 {
		for i := range 40 {
			h.must(200, "GET", fmt.Sprintf("/items/m%02d", i), "")
		}
	}
	// Otter evicts in its maintenance pass, which may lag a write a
	// little: wait for that state, up to a deadline.
	var bytes, evictions float64
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); {
		bytes, evictions = h.counter("surge_gateway_cache_bytes"), h.counter("surge_gateway_cache_evictions_total")
		if bytes <= bound && evictions > 0 {
			break
		}
		runtime.Gosched()
	}
	if bytes > bound || evictions == 0 {
		t.Errorf("got %v bytes held and %v evictions, want at most %d and some", bytes, evictions, bound)
	}
}

const cacheKeys = `
keys:
  "alpha-key-0123456789abcdef": {tenant: alpha, invalidate-cache: true}
  "beta-key-0123456789abcdefg": {tenant: beta}
`

var (
	alpha = []string{"x-api-key", "alpha-key-0123456789abcdef"}
	beta  = []string{"x-api-key", "beta-key-0123456789abcdefg"}
)

func TestCacheTenants(t *testing.T) {
	h := newHarness(t, harnessOpts{keys: cacheKeys, cache: &server.CacheConfig{}})
	h.must(201, "POST", "/items", `{"id":"x","owner":"alpha"}`, alpha...)
	h.must(200, "GET", "/items/x", "", alpha...)
	wantXCache(t, "alpha's hit", h.must(200, "GET", "/items/x", "", alpha...), "Hit")
	// beta's key for the same path is another key: no hit of alpha's.
	r := h.must(404, "GET", "/items/x", "", beta...)
	wantXCache(t, "beta's get of alpha's id", r, "Miss")
	h.must(200, "GET", "/items", "", alpha...)
	r = h.must(200, "GET", "/items", "", beta...)
	if strings.Contains(r.body, "alpha") {
		t.Errorf("beta's list shows alpha's item: %s", r.body)
	}
	// beta's writes do not invalidate alpha's entries, nor the other way.
	h.must(201, "POST", "/items", `{"id":"x","owner":"beta"}`, beta...)
	wantXCache(t, "alpha after beta's write", h.must(200, "GET", "/items/x", "", alpha...), "Hit")
	r = h.must(200, "GET", "/items/x", "", beta...)
	if !strings.Contains(r.body, `"owner":"beta"`) {
		t.Errorf("beta's item: got %s", r.body)
	}
}

func TestCacheInvalidation(t *testing.T) {
	stale := func(t *testing.T, h *harness, kv ...string) response {
		t.Helper()
		h.must(201, "POST", "/items", `{"id":"a"}`, alpha...)
		h.must(200, "GET", "/items/a", "", alpha...)
		h.behind("alpha", "a", `{"n":2}`)
		return h.do("GET", "/items/a", "", append([]string{"Cache-Control", "max-age=0"}, kv...)...)
	}
	t.Run("Authorized", func(t *testing.T) {
		h := newHarness(t, harnessOpts{keys: cacheKeys + `  "gamma-key-0123456789abcdef": {tenant: alpha}` + "\n",
			cache: &server.CacheConfig{RequireAuthorization: true, Unauthorized: gateway.UnauthorizedFail}})
		r := stale(t, h, alpha...)
		wantXCache(t, "authorized invalidation", r, "Miss")
		if r.status != 200 || version(t, r) != 2 {
			t.Fatalf("authorized invalidation: got %d %s, want the store's item", r.status, r.body)
		}
		// The fresh answer replaced the entry, for everyone of the tenant.
		r = h.must(200, "GET", "/items/a", "", "x-api-key", "gamma-key-0123456789abcdef")
		if version(t, r) != 2 {
			t.Error("after an invalidation: got the old entry")
		}
		if got := h.counter("surge_gateway_cache_invalidations_total", "cause", "client"); got != 1 {
			t.Errorf("client invalidations: got %v", got)
		}
	})
	for _, c := range []struct {
		strategy string
		status   int
		warning  bool
	}{
		{gateway.UnauthorizedFail, 403, false},
		{gateway.UnauthorizedWarn, 200, true},
		{gateway.UnauthorizedIgnore, 200, false},
	} {
		t.Run("Unauthorized/"+c.strategy, func(t *testing.T) {
			// gamma is alpha's tenant without the right to invalidate.
			h := newHarness(t, harnessOpts{keys: cacheKeys + `  "gamma-key-0123456789abcdef": {tenant: alpha}` + "\n",
				cache: &server.CacheConfig{RequireAuthorization: true, Unauthorized: c.strategy}})
			r := stale(t, h, "x-api-key", "gamma-key-0123456789abcdef")
			if r.status != c.status {
				t.Fatalf("got %d %s, want %d", r.status, r.body, c.status)
			}
			if c.status == 403 && !strings.Contains(r.body, `"code":"forbidden"`) {
				t.Errorf("403 body: %s", r.body)
			}
			if c.status == 200 {
				wantXCache(t, "ignored invalidation", r, "Hit")
				if version(t, r) != 1 {
					t.Error("an unauthorized invalidation got the store's item")
				}
			}
			if got := r.header.Get("Warning") != ""; got != c.warning {
				t.Errorf("Warning header %q, want one: %v", r.header.Get("Warning"), c.warning)
			}
			if got := h.counter("surge_gateway_cache_invalidations_denied_total"); got != 1 {
				t.Errorf("denied: got %v", got)
			}
		})
	}
	t.Run("NoAuthorizationRequired", func(t *testing.T) {
		h := newHarness(t, harnessOpts{keys: cacheKeys, cache: &server.CacheConfig{RequireAuthorization: false}})
		h.must(201, "POST", "/items", `{"id":"a"}`, beta...)
		h.must(200, "GET", "/items/a", "", beta...)
		h.behind("beta", "a", `{"n":2}`)
		r := h.must(200, "GET", "/items/a", "", "x-api-key", beta[1], "Cache-Control", "no-store, max-age=0")
		if version(t, r) != 2 {
			t.Error("anyone may invalidate: got the cached item")
		}
	})
}

func TestConditional(t *testing.T) {
	for _, cached := range []bool{false, true} {
		t.Run(fmt.Sprintf("Cache=%v", cached), func(t *testing.T) {
			o := harnessOpts{etags: true}
			if cached {
				o.cache = &server.CacheConfig{InvalidateOnWrite: true}
			}
			h := newHarness(t, o)
			h.must(201, "POST", "/items", `{"id":"a"}`)
			r := h.must(200, "GET", "/items", "")
			tag := r.header.Get("Etag")
			if !strings.HasPrefix(tag, `"`) || r.header.Get("Cache-Control") != "no-cache" {
				t.Fatalf("list: got ETag %q Cache-Control %q", tag, r.header.Get("Cache-Control"))
			}
			nm := h.must(304, "GET", "/items", "", "If-None-Match", tag)
			if nm.body != "" || nm.header.Get("Etag") != tag {
				t.Errorf("304: got body %q ETag %q", nm.body, nm.header.Get("Etag"))
			}
			if cached {
				wantXCache(t, "304 from the cache", nm, "Hit")
			}
			h.must(200, "GET", "/items", "", "If-None-Match", `"other", W/`+tag[:len(tag)-1]+`x"`)
			h.must(304, "GET", "/items", "", "If-None-Match", `"other", W/`+tag)
			// Item answers: 304 from the cache too.
			ir := h.must(200, "GET", "/items/a", "")
			h.must(200, "GET", "/items/a", "")
			nm = h.must(304, "GET", "/items/a", "", "If-None-Match", ir.header.Get("Etag"))
			if cached {
				wantXCache(t, "item 304 from the cache", nm, "Hit")
			}
			h.must(201, "POST", "/items", `{"id":"b"}`)
			r = h.must(200, "GET", "/items", "", "If-None-Match", tag)
			if r.header.Get("Etag") == tag {
				t.Error("the list changed, its ETag did not")
			}
		})
	}
}

// TestConditionalThroughTheGateway evaluates If-Match and If-None-Match
// where the gateway answers itself: cached item answers (a hit never
// reaches the function), and list pages tagged by Conditional.
func TestConditionalThroughTheGateway(t *testing.T) {
	cases := []struct {
		name   string
		h      []string // {T} is the answer's ETag
		status int
	}{
		{"IfMatchTag", []string{"If-Match", "{T}"}, 200},
		{"IfMatchOther", []string{"If-Match", `"other"`}, 412},
		{"IfMatchEmptyTag", []string{"If-Match", `""`}, 412},
		{"IfMatchWeak", []string{"If-Match", "W/{T}"}, 412},
		{"IfMatchStar", []string{"If-Match", "*"}, 200},
		{"IfNoneMatchTag", []string{"If-None-Match", "{T}"}, 304},
		{"IfNoneMatchStar", []string{"If-None-Match", "*"}, 304},
		{"IfNoneMatchOther", []string{"If-None-Match", `"other"`}, 200},
		{"IfMatchFailsFirst", []string{"If-Match", `"other"`, "If-None-Match", "{T}"}, 412},
		{"IfMatchThenIfNoneMatch", []string{"If-Match", "{T}", "If-None-Match", "{T}"}, 304},
	}
	for _, cached := range []bool{false, true} {
		for _, path := range []string{"/items/a", "/items?limit=5"} {
			t.Run(fmt.Sprintf("Cache=%v%s", cached, path), func(t *testing.T) {
				o := harnessOpts{etags: true}
				if cached {
					o.cache = &server.CacheConfig{InvalidateOnWrite: true}
				}
				h := newHarness(t, o)
				h.must(201, "POST", "/items", `{"id":"a"}`)
				tag := h.must(200, "GET", path, "").header.Get("Etag")
				for _, c := range cases {
					kv := make([]string, len(c.h))
					for i, v := range c.h {
						kv[i] = strings.ReplaceAll(v, "{T}", tag)
					}
					r := h.do("GET", path, "", kv...)
					if r.status != c.status {
						t.Errorf("%s: got %d %s, want %d", c.name, r.status, r.body, c.status)
					}
					if cached {
						wantXCache(t, c.name, r, "Hit")
					}
					if c.status == 412 && !strings.Contains(r.body, `"precondition_failed"`) {
						t.Errorf("%s: 412 body %s", c.name, r.body)
					}
				}
			})
		}
	}
}
