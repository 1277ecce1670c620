package gateway

import (
	"bytes"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

func TestETagMatch(t *testing.T) {
	for _, c := range []struct {
		inm, etag string
		want      bool
	}{
		{`"a"`, `"a"`, true},
		{`W/"a"`, `"a"`, true},
		{`"a"`, `W/"a"`, true},
		{`"b", "a"`, `"a"`, true},
		{`"b" ,W/"a"`, `"a"`, true},
		{`*`, `"a"`, true},
		{`"b"`, `"a"`, false},
		{`a`, `"a"`, false},
		{`"a`, `"a"`, false},
		{``, `"a"`, false},
		{`"a"`, ``, false},
		{`"ab"`, `"a"`, false},
	} {
		if got := etagMatch(c.inm, c.etag); got != c.want {
			t.Errorf("etagMatch(%q, %q): got %v, want %v", c.inm, c.etag, got, c.want)
		}
	}
}

func FuzzETagMatch(f *testing.F) {
	f.Add(`"a", W/"b"`, `"b"`)
	f.Add(`*`, `"x"`)
	f.Add(`W/`, `"`)
	f.Fuzz(func(t *testing.T, inm, etag string) {
		got := etagMatch(inm, etag)
		// A header that lists the tag itself always matches it.
		if strings.HasPrefix(etag, `"`) && strings.HasSuffix(etag, `"`) && len(etag) >= 2 &&
			!strings.Contains(etag[1:len(etag)-1], `"`) && !etagMatch(etag, etag) {
			t.Fatalf("%q does not match itself", etag)
		}
		_ = got
	})
}

func TestWantsInvalidation(t *testing.T) {
	for v, want := range map[string]bool{
		"max-age=0":              true,
		"no-cache, MAX-AGE=0":    true,
		" max-age=0 ":            true,
		"max-age=00":             false,
		"max-age=1":              false,
		"no-cache":               false,
		"":                       false,
		"s-maxage=0":             false,
		"max-age=0,no-transform": true,
	} {
		h := http.Header{}
		if v != "" {
			h.Set("Cache-Control", v)
		}
		if got := wantsInvalidation(h); got != want {
			t.Errorf("%q: got %v, want %v", v, got, want)
		}
	}
}

func FuzzWantsInvalidation(f *testing.F) {
	f.Add("max-age=0")
	f.Add(",,, ,max-age=0,")
	f.Fuzz(func(t *testing.T, v string) {
		got := wantsInvalidation(http.Header{"Cache-Control": {v}})
		if got && !strings.Contains(strings.ToLower(v), "max-age=0") {
			t.Fatalf("%q: invalidation without max-age=0", v)
		}
	})
}

// faultyStore is a response store that panics: a cache that fails.
type faultyStore struct{ responseStore }

func (faultyStore) GetIfPresent(string) (*cachedResponse, bool) { panic("injected lookup fault") }
func (faultyStore) Set(string, *cachedResponse) (*cachedResponse, bool) {
	panic("injected store fault")
}

// TestFailOpen checks that a cache or limiter that fails lets the request
// through and logs it.
func TestFailOpen(t *testing.T) {
	var logs bytes.Buffer
	log := slog.New(slog.NewJSONHandler(&logs, nil))
	ok := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "served") })
	routes := Routes([]Route{{Method: "GET", Pattern: "/x"}})
	get := func(h http.Handler) (int, string) {
		srv := httptest.NewServer(h)
		defer srv.Close()
		resp, err := http.Get(srv.URL + "/x")
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}

	c, err := NewCache(CacheConfig{TTL: time.Minute, MaxBytes: 1 << 20, Routes: []string{"GET /x"}, Unauthorized: UnauthorizedWarn},
		NewCacheMetrics(prometheus.NewRegistry()), log, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	real := c.store
	c.store = faultyStore{real}
	if code, body := get(Chain(ok, routes, c.Middleware)); code != 200 || body != "served" {
		t.Errorf("failed cache lookup: got %d %q, want the function's answer", code, body)
	}
	if !strings.Contains(logs.String(), "response cache lookup failed") {
		t.Errorf("the failure was not logged: %s", logs.String())
	}
	// A store that fails after a good lookup still sends the answer.
	c.store = faultySet{real}
	logs.Reset()
	if code, body := get(Chain(ok, routes, c.Middleware)); code != 200 || body != "served" {
		t.Errorf("failed cache store: got %d %q, want the function's answer", code, body)
	}
	if !strings.Contains(logs.String(), "response cache store failed") {
		t.Errorf("the failure was not logged: %s", logs.String())
	}

	th := NewThrottle(ThrottleConfig{Stage: Limit{Rate: 1, Burst: 1}, Now: func() time.Time { panic("injected clock fault") }},
		NewThrottleMetrics(prometheus.NewRegistry()))
	logs.Reset()
	for range 3 {
		if code, body := get(Chain(ok, routes, th.Middleware(log, nil))); code != 200 || body != "served" {
			t.Errorf("failed throttle: got %d %q, want the function's answer", code, body)
		}
	}
	if !strings.Contains(logs.String(), "throttle failed") {
		t.Errorf("the failure was not logged: %s", logs.String())
	}
}

// faultySet is a response store whose writes panic.
type faultySet struct{ responseStore }

func (faultySet) Set(string, *cachedResponse) (*cachedResponse, bool) { panic("injected store fault") }
