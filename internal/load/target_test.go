package load_test

import (
	"context"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/surgehq/surge/internal/load"
)

// limitServer stands in front of an itemsServer as a gateway with a
// response cache and throttles would: by a request counter, it answers
// some GETs of an item from its "cache" (X-Cache: Hit), refuses some
// requests with 429 naming the gateway's stage limit or the function's
// concurrency, refuses some with a 503 that names nothing, and sends the
// rest on (an "invocation", the first two of them cold). It counts each
// answer, so that a test can hold the load tester's figures against them.
type limitServer struct {
	items *itemsServer
	mu    sync.Mutex
	n     int
	// What the server answered.
	hits, misses, stage, concurrency, unnamed, cold int64
	invocations                                     atomic.Int64
}

func (s *limitServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	s.n++
	n := s.n
	item := r.Method == http.MethodGet && strings.Count(strings.Trim(r.URL.Path, "/"), "/") == 1
	switch {
	case n%11 == 0:
		s.stage++
		s.mu.Unlock()
		w.Header().Set(load.LimitSourceHeader, "gateway.stage")
		http.Error(w, `{"code":"throttled"}`, http.StatusTooManyRequests)
		return
	case n%13 == 0:
		s.concurrency++
		s.mu.Unlock()
		w.Header().Set(load.LimitSourceHeader, "lambda.concurrency")
		http.Error(w, `{"code":"throttled"}`, http.StatusTooManyRequests)
		return
	case n%17 == 0:
		s.unnamed++
		s.mu.Unlock()
		http.Error(w, `{"code":"unavailable"}`, http.StatusServiceUnavailable)
		return
	case item && n%3 == 0:
		s.hits++
		s.mu.Unlock()
		w.Header().Set(load.CacheHeader, "Hit")
		w.Write([]byte(`{"id":"cached"}`))
		return
	case item:
		s.misses++
		w.Header().Set(load.CacheHeader, "Miss")
	}
	cold := s.cold < 2
	if cold {
		s.cold++
	}
	s.invocations.Add(1) // before the answer, so a sample after it counts it
	s.mu.Unlock()
	if cold {
		w.Header().Set("X-Cold-Start", "true")
	}
	s.items.serve(w, r)
}

// counterProbe reads the server's own invocation count, as a function
// pool's counter is read.
type counterProbe struct{ n *atomic.Int64 }

func (p counterProbe) Sample(context.Context) (load.TargetSample, error) {
	return load.TargetSample{Invocations: p.n.Load(), HasInvocations: true, Concurrency: 1, HasConcurrency: true}, nil
}

func TestRunTargetFigures(t *testing.T) {
	items := newItemsServer(t)
	ls := &limitServer{items: items}
	items.Config.Handler = ls
	s := scenario(items.URL)
	s.IDs.Preseed = 0
	s.Mix = load.Mix{"create": 3, "read": 5, "update": 1}
	res := mustRun(t, context.Background(), s, load.WithProbe(counterProbe{&ls.invocations}, "test"))

	tot := &res.Total
	if tot.Count == 0 || len(tot.ErrorKinds) > 0 {
		t.Fatalf("count %d, transport errors %v: want every request answered", tot.Count, tot.ErrorKinds)
	}
	if tot.CacheHits != ls.hits || tot.CacheMisses != ls.misses || ls.hits == 0 {
		t.Errorf("cache hits %d misses %d, want the server's %d and %d (and some hits)", tot.CacheHits, tot.CacheMisses, ls.hits, ls.misses)
	}
	want := map[string]map[string]int64{
		"429": {"gateway.stage": ls.stage, "lambda.concurrency": ls.concurrency},
		"503": {load.UnnamedSource: ls.unnamed},
	}
	for st, bySrc := range want {
		for src, n := range bySrc {
			if got := tot.StatusSources[st][src]; got != n || n == 0 {
				t.Errorf("status %s from %s: %d, want the server's %d (and some)", st, src, got, n)
			}
		}
	}
	if l := tot.Limited(); l["gateway.stage"] != ls.stage || l[load.UnnamedSource] != 0 {
		t.Errorf("Limited() = %v, want the named sources only", l)
	}
	if res.Target == nil || res.Target.Invocations == nil || *res.Target.Invocations != ls.invocations.Load() {
		t.Fatalf("target %+v, want %d invocations", res.Target, ls.invocations.Load())
	}
	var inv, statuses int64
	for _, p := range res.Series {
		if p.Invocations != nil {
			inv += *p.Invocations
		}
		for _, n := range p.Statuses {
			statuses += n
		}
	}
	if inv != *res.Target.Invocations || statuses != tot.Count {
		t.Errorf("series: invocations %d, statuses %d; want %d and %d", inv, statuses, *res.Target.Invocations, tot.Count)
	}
	if tot.ColdStarts != 2 || tot.ColdLatency == nil || tot.ColdLatency.Count != 2 || tot.WarmLatency == nil || tot.WarmLatency.Count != tot.Count-2 {
		t.Errorf("cold %d, cold latency %+v, warm %+v: want 2 cold and the rest warm of %d", tot.ColdStarts, tot.ColdLatency, tot.WarmLatency, tot.Count)
	}
	byOp := map[string]int64{}
	sizes := map[string]bool{}
	for _, p := range res.PayloadLatency {
		byOp[p.Op] += p.Latency.Count
		sizes[p.Op+" "+load.ByteSize(p.Size).String()] = true
		if p.LatencyHist == "" {
			t.Errorf("payload %s %d: no histogram", p.Op, p.Size)
		}
	}
	for _, op := range []string{"create", "update"} {
		if o := res.Op(op); o == nil || byOp[op] != o.Count {
			t.Errorf("%s: payload classes count %d, want the operation's count", op, byOp[op])
		}
	}
	if !sizes["create 256B"] || !sizes["create 4KB"] || byOp["read"] != 0 {
		t.Errorf("payload classes %v: want both sizes of create, none for reads", sizes)
	}
	if _, err := load.ReadResult(strings.NewReader(mustJSON(t, res))); err != nil {
		t.Fatalf("the result does not read back: %v", err)
	}
}

func mustJSON(t *testing.T, r *load.Result) string {
	t.Helper()
	var b strings.Builder
	if err := r.WriteJSON(&b); err != nil {
		t.Fatal(err)
	}
	return b.String()
}
