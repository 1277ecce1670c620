package load_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// itemsServer is a small in-memory target that speaks the parts of API.md
// the workload uses, and counts what it was sent. It sets Server-Timing on
// every response and X-Cold-Start on the first one, as surge does.
type itemsServer struct {
	*httptest.Server
	mu       sync.Mutex
	items    map[string][]byte
	seq      int
	requests atomic.Int64
	cold     atomic.Bool
	byRoute  sync.Map // "METHOD /route" -> *atomic.Int64
	badBody  atomic.Int64
	// lastAPIKey is the x-api-key header of the last request that had one.
	lastAPIKey atomic.Value
	// waits are closed when the server has seen their count of requests.
	waits map[int64]chan struct{}
}

func newItemsServer(t testing.TB) *itemsServer {
	t.Helper()
	s := &itemsServer{items: map[string][]byte{}, waits: map[int64]chan struct{}{}}
	s.Server = httptest.NewServer(http.HandlerFunc(s.serve))
	t.Cleanup(s.Close)
	return s
}

func (s *itemsServer) count(route string) int64 {
	v, ok := s.byRoute.Load(route)
	if !ok {
		return 0
	}
	return v.(*atomic.Int64).Load()
}

// reached returns a channel that is closed once the server has seen n
// requests: a test waits on that state, not for a time.
func (s *itemsServer) reached(n int64) <-chan struct{} {
	s.mu.Lock()
	defer s.mu.Unlock()
	ch, ok := s.waits[n]
	if !ok {
		ch = make(chan struct{})
		s.waits[n] = ch
		if s.requests.Load() >= n {
			close(ch)
		}
	}
	return ch
}

func (s *itemsServer) serve(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	if ch, ok := s.waits[s.requests.Add(1)]; ok {
		close(ch)
	}
	s.mu.Unlock()
	if k := r.Header.Get("x-api-key"); k != "" {
		s.lastAPIKey.Store(k)
	}
	body, _ := io.ReadAll(r.Body)
	if len(body) > 0 && !json.Valid(body) {
		s.badBody.Add(1)
		http.Error(w, `{"code":"invalid"}`, http.StatusBadRequest)
		return
	}
	if !s.cold.Swap(true) {
		w.Header().Set("X-Cold-Start", "true")
	}
	w.Header().Set("Server-Timing", `store;dur=0.25, total;dur=0.5;desc="all, of it"`)
	w.Header().Set("Content-Type", "application/json")
	route := r.Method + " " + r.URL.Path
	if strings.HasPrefix(r.URL.Path, "/items/") && r.URL.Path != "/items/_batch" {
		route = r.Method + " /items/{id}"
	}
	v, _ := s.byRoute.LoadOrStore(route, new(atomic.Int64))
	v.(*atomic.Int64).Add(1)

	s.mu.Lock()
	defer s.mu.Unlock()
	id := strings.TrimPrefix(r.URL.Path, "/items/")
	switch route {
	case "POST /items":
		s.seq++
		id := "it" + strconv.Itoa(s.seq)
		s.items[id] = body
		w.Header().Set("Location", "/items/"+id)
		w.WriteHeader(http.StatusCreated)
		io.WriteString(w, `{"id":"`+id+`","version":1}`)
	case "GET /items":
		io.WriteString(w, `{"items":[]}`)
	case "GET /items/{id}", "PUT /items/{id}", "PATCH /items/{id}", "DELETE /items/{id}":
		if _, ok := s.items[id]; !ok {
			w.WriteHeader(http.StatusNotFound)
			io.WriteString(w, `{"code":"not_found"}`)
			return
		}
		switch r.Method {
		case "DELETE":
			delete(s.items, id)
			w.WriteHeader(http.StatusNoContent)
		case "PUT", "PATCH":
			s.items[id] = body
			io.WriteString(w, `{"id":"`+id+`"}`)
		default:
			w.Write(s.items[id])
		}
	case "POST /items/_batch":
		io.WriteString(w, `{"results":[]}`)
	case "POST /ops":
		var ev struct {
			Operation string
			Payload   struct {
				Item map[string]any
				Key  struct{ ID string }
			}
		}
		if err := json.Unmarshal(body, &ev); err != nil {
			w.WriteHeader(http.StatusBadRequest)
			return
		}
		switch ev.Operation {
		case "create":
			id, _ := ev.Payload.Item["id"].(string)
			if id == "" {
				w.WriteHeader(http.StatusBadRequest)
				return
			}
			s.items[id] = body
			io.WriteString(w, `{}`)
		case "read", "update", "delete":
			if _, ok := s.items[ev.Payload.Key.ID]; !ok {
				io.WriteString(w, `{}`)
				return
			}
			if ev.Operation == "delete" {
				delete(s.items, ev.Payload.Key.ID)
			}
			io.WriteString(w, `{"Item":{}}`)
		case "ping":
			io.WriteString(w, `"pong"`)
		default:
			io.WriteString(w, `{}`)
		}
	default:
		w.WriteHeader(http.StatusNotFound)
		io.WriteString(w, `{"code":"not_found"}`)
	}
}

// stallServer answers at once, except that it stalls every response for
// the first stall of each period, like a server in a stop-the-world pause.
type stallServer struct {
	*httptest.Server
	start  time.Time
	period time.Duration
	stall  time.Duration
}

func newStallServer(t testing.TB, period, stall time.Duration) *stallServer {
	t.Helper()
	s := &stallServer{start: time.Now(), period: period, stall: stall}
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if ph := time.Since(s.start) % s.period; ph < s.stall {
			time.Sleep(s.stall - ph)
		}
		io.WriteString(w, `{"items":[]}`)
	}))
	t.Cleanup(s.Close)
	return s
}

// trueLatency is the latency a request intended at absolute time t should
// see: the rest of the stall it falls in, if any.
func (s *stallServer) trueLatency(t time.Time) time.Duration {
	ph := t.Sub(s.start) % s.period
	if ph < 0 {
		ph += s.period
	}
	if ph < s.stall {
		return s.stall - ph
	}
	return 0
}
