package servertiming_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/surgehq/surge/internal/observe/servertiming"
)

// durations parses a Server-Timing value into name -> milliseconds, in order.
func durations(t *testing.T, v string) ([]string, map[string]float64) {
	t.Helper()
	re := regexp.MustCompile(`^([A-Za-z0-9_.-]+);dur=([0-9]+\.[0-9]{2})$`)
	var names []string
	m := map[string]float64{}
	for _, part := range strings.Split(v, ", ") {
		sm := re.FindStringSubmatch(part)
		if sm == nil {
			t.Fatalf("metric %q of %q is not name;dur=ms.2f", part, v)
		}
		f, _ := strconv.ParseFloat(sm[2], 64)
		names = append(names, sm[1])
		m[sm[1]] = f
	}
	return names, m
}

func TestMiddleware(t *testing.T) {
	t.Run("OK", func(t *testing.T) {
		h := servertiming.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			servertiming.Add(r.Context(), "store", 2*time.Millisecond)
			servertiming.Add(r.Context(), "cache", 250*time.Microsecond)
			servertiming.Add(r.Context(), "store", 3*time.Millisecond+100*time.Microsecond)
			start := time.Now()
			time.Sleep(time.Millisecond)
			servertiming.Since(r.Context(), "auth", start)
			w.WriteHeader(http.StatusCreated)
			// Recorded after the header is written: not reported.
			servertiming.Add(r.Context(), "late", time.Second)
		}))
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest("GET", "/", nil))
		if rec.Code != http.StatusCreated {
			t.Fatalf("got status %d, want 201", rec.Code)
		}
		names, m := durations(t, rec.Header().Get("Server-Timing"))
		if got, want := strings.Join(names, ","), "store,cache,auth,total"; got != want {
			t.Fatalf("got metrics %s, want %s", got, want)
		}
		if m["store"] != 5.10 {
			t.Errorf("got store %v, want 5.10", m["store"])
		}
		if m["cache"] != 0.25 {
			t.Errorf("got cache %v, want 0.25", m["cache"])
		}
		if m["auth"] < 1 {
			t.Errorf("got auth %v, want >= 1", m["auth"])
		}
		if m["total"] < m["auth"] {
			t.Errorf("got total %v, want >= auth %v", m["total"], m["auth"])
		}
	})
	t.Run("WriteWithoutWriteHeader", func(t *testing.T) {
		h := servertiming.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			io.WriteString(w, "hello")
		}))
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest("GET", "/", nil))
		names, _ := durations(t, rec.Header().Get("Server-Timing"))
		if len(names) != 1 || names[0] != "total" {
			t.Errorf("got %v, want only total", names)
		}
	})
	t.Run("NothingWritten", func(t *testing.T) {
		srv := httptest.NewServer(servertiming.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			servertiming.Add(r.Context(), "store", time.Millisecond)
		})))
		defer srv.Close()
		resp, err := http.Get(srv.URL)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 200 {
			t.Errorf("got status %d", resp.StatusCode)
		}
		if _, m := durations(t, resp.Header.Get("Server-Timing")); m["store"] != 1 {
			t.Errorf("got store %v, want 1.00", m["store"])
		}
	})
	t.Run("ManyNames", func(t *testing.T) {
		h := servertiming.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			for i := range 10 {
				servertiming.Add(r.Context(), "m"+strconv.Itoa(i), time.Millisecond)
			}
			for i := range 10 {
				servertiming.Add(r.Context(), "m"+strconv.Itoa(i), time.Millisecond)
			}
			w.WriteHeader(200)
		}))
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest("GET", "/", nil))
		names, m := durations(t, rec.Header().Get("Server-Timing"))
		if len(names) != 11 {
			t.Fatalf("got %d metrics, want 11: %v", len(names), names)
		}
		for i := range 10 {
			if n := "m" + strconv.Itoa(i); names[i] != n || m[n] != 2 {
				t.Errorf("metric %d: got %s=%v, want %s=2.00", i, names[i], m[names[i]], n)
			}
		}
	})
	t.Run("Nested", func(t *testing.T) {
		var inner *servertiming.Recorder
		h := servertiming.Middleware(servertiming.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			inner = servertiming.FromContext(r.Context())
			servertiming.Add(r.Context(), "store", time.Millisecond)
			w.WriteHeader(204)
		})))
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest("GET", "/", nil))
		if got := rec.Header().Values("Server-Timing"); len(got) != 1 {
			t.Fatalf("got %d Server-Timing fields, want 1: %q", len(got), got)
		}
		if inner == nil {
			t.Fatal("no recorder in the inner handler's context")
		}
		if _, m := durations(t, rec.Header().Get("Server-Timing")); m["store"] != 1 {
			t.Errorf("got store %v, want 1.00", m["store"])
		}
	})
	t.Run("ContextKeepsParent", func(t *testing.T) {
		type key struct{}
		parent, cancel := context.WithCancel(context.WithValue(context.Background(), key{}, "v"))
		var got any
		var done bool
		h := servertiming.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			got = r.Context().Value(key{})
			cancel()
			select {
			case <-r.Context().Done():
				done = true
			case <-time.After(5 * time.Second):
			}
		}))
		h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", "/", nil).WithContext(parent))
		if got != "v" {
			t.Errorf("got value %v, want v", got)
		}
		if !done {
			t.Error("cancelling the parent did not cancel the request context")
		}
	})
}

func TestFlushAndResponseController(t *testing.T) {
	var flusher, deadline, fullDuplex error
	srv := httptest.NewServer(servertiming.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, ok := w.(http.Flusher); !ok {
			flusher = errors.New("the writer is not an http.Flusher")
		}
		servertiming.Add(r.Context(), "store", time.Millisecond)
		rc := http.NewResponseController(w)
		deadline = rc.SetWriteDeadline(time.Now().Add(10 * time.Second))
		fullDuplex = rc.EnableFullDuplex()
		io.WriteString(w, "part1;")
		w.(http.Flusher).Flush()
		io.WriteString(w, "part2")
	})))
	defer srv.Close()
	resp, err := http.Get(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if string(body) != "part1;part2" {
		t.Errorf("got body %q", body)
	}
	for name, err := range map[string]error{"Flusher": flusher, "SetWriteDeadline": deadline, "EnableFullDuplex": fullDuplex} {
		if err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
	if resp.TransferEncoding == nil || resp.TransferEncoding[0] != "chunked" {
		t.Errorf("got transfer encoding %v, want chunked (the flush reached the connection)", resp.TransferEncoding)
	}
	if _, m := durations(t, resp.Header.Get("Server-Timing")); m["store"] != 1 {
		t.Errorf("got store %v, want 1.00", m["store"])
	}
}

func TestNoRecorder(t *testing.T) {
	ctx := context.Background()
	servertiming.Add(ctx, "store", time.Second) // must not panic
	servertiming.Since(ctx, "store", time.Now())
	if servertiming.FromContext(ctx) != nil {
		t.Error("got a recorder from a bare context")
	}
}

func TestNewContext(t *testing.T) {
	ctx, rec := servertiming.NewContext(context.Background())
	var wg sync.WaitGroup
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 100 {
				servertiming.Add(ctx, "store", time.Microsecond)
			}
		}()
	}
	wg.Wait()
	if d, ok := rec.Get("store"); !ok || d != 800*time.Microsecond {
		t.Errorf("got %v %v, want 800µs true", d, ok)
	}
	if _, ok := rec.Get("none"); ok {
		t.Error("got a metric never recorded")
	}
	if got := string(rec.AppendHeader(nil, rec.Start().Add(1234567*time.Nanosecond))); got != "store;dur=0.80, total;dur=1.23" {
		t.Errorf("got %q", got)
	}
	if !strings.HasPrefix(rec.Header(), "store;dur=0.80, total;dur=") {
		t.Errorf("got %q", rec.Header())
	}
}

// nopWriter is a ResponseWriter that keeps nothing, so that benchmarks
// measure the middleware alone.
type nopWriter struct{ h http.Header }

func (w *nopWriter) Header() http.Header         { return w.h }
func (w *nopWriter) Write(p []byte) (int, error) { return len(p), nil }
func (w *nopWriter) WriteHeader(int)             {}

func BenchmarkMiddleware(b *testing.B) {
	h := servertiming.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		servertiming.Since(r.Context(), "store", time.Now())
		w.WriteHeader(200)
	}))
	r := httptest.NewRequest("GET", "/", nil)
	w := &nopWriter{h: http.Header{}}
	b.ReportAllocs()
	for b.Loop() {
		h.ServeHTTP(w, r)
	}
}

func BenchmarkAddWithoutRecorder(b *testing.B) {
	ctx := context.WithValue(context.Background(), struct{}{}, 1)
	b.ReportAllocs()
	for b.Loop() {
		servertiming.Add(ctx, "store", time.Millisecond)
	}
}

func TestValues(t *testing.T) {
	h := servertiming.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		servertiming.Add(r.Context(), "store", 2*time.Millisecond)
		servertiming.AddValue(r.Context(), "rcu", 0.5)
		servertiming.AddValue(r.Context(), "wcu", 2)
		servertiming.AddValue(r.Context(), "rcu", 1)
		if v, ok := servertiming.FromContext(r.Context()).Value("rcu"); !ok || v != 1.5 {
			t.Errorf("got rcu %v %v, want 1.5", v, ok)
		}
		w.WriteHeader(http.StatusOK)
	}))
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", "/", nil))
	got := rec.Header().Get("Server-Timing")
	if !regexp.MustCompile(`^store;dur=2\.00, rcu;desc=1\.5, wcu;desc=2, total;dur=[0-9]+\.[0-9]{2}$`).MatchString(got) {
		t.Fatalf("got Server-Timing %q", got)
	}
	// Without a Recorder, AddValue does nothing.
	servertiming.AddValue(context.Background(), "rcu", 1)
}
