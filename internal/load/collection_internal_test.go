package load

import (
	"io"
	"math/rand/v2"
	"net/http/httptest"
	"path/filepath"
	"testing"
	"time"

	"github.com/surgehq/surge/internal/api/itemsapi"
	"github.com/surgehq/surge/internal/store/memstore"
)

// newCollectionWorker returns a worker that sends surge's collection, in
// the given model, to surge's items API over loopback: a benchmark
// measures a collection's request through the whole path (render, send,
// judge, chain), the API's own work and the loopback beside it.
func newCollectionWorker(tb testing.TB, model string) *worker {
	tb.Helper()
	srv := httptest.NewServer(itemsapi.New(memstore.New()))
	tb.Cleanup(srv.Close)

	s := DefaultScenario()
	s.Target, s.Model, s.VUs = "", model, 1
	s.Postman.File = filepath.Join("..", "..", "examples", "postman", "surge.postman_collection.json")
	s.Postman.Vars = Variables{"baseUrl": srv.URL}
	if model == ModelOpen {
		s.Postman.Mix = Weights{"*": 1, "Read an item": 0, "Replace an item": 0, "Dispatch: delete": 0}
	}
	r := &runner{s: s, done: make(chan struct{}), interval: time.Second}
	var err error
	if r.sh, err = newShape(&r.s); err != nil {
		tb.Fatal(err)
	}
	pw, err := newPostmanWorkload(&r.s, io.Discard)
	if err != nil {
		tb.Fatal(err)
	}
	r.wl, r.names = pw, pw.ops()
	tr, err := newTransport(&r.s, &r.wire)
	if err != nil {
		tb.Fatal(err)
	}
	r.tr = tr
	r.clock = realClock{start: time.Now()}
	r.clk = &r.clock
	r.shards = []*shard{newShard(len(r.names))}
	r.workers = 1
	return r.newWorker(0)
}

// BenchmarkCollectionSend is one request of surge's collection through
// the whole path, as Postman's runner sends it (in order) and as the open
// model's mix does (chained through the pools); BenchmarkCRUDSend is the
// CRUD mix's over the same path, for comparison.
func BenchmarkCollectionSend(b *testing.B) {
	for _, model := range []string{ModelClosed, ModelOpen} {
		b.Run(model, func(b *testing.B) {
			w := newCollectionWorker(b, model)
			b.ReportAllocs()
			for b.Loop() {
				now := w.r.clock.now()
				if _, ok := w.send(ticket{at: now, woke: now}); !ok {
					b.Fatal("the source ran dry")
				}
			}
		})
	}
}

// TestCollectionSendChecks: the benchmark's requests are real ones, every
// check of them passing.
func TestCollectionSendChecks(t *testing.T) {
	for _, model := range []string{ModelClosed, ModelOpen} {
		w := newCollectionWorker(t, model)
		for range 200 {
			now := w.r.clock.now()
			w.send(ticket{at: now, woke: now})
		}
		res := &Result{Ops: []OpResult{}}
		w.r.wl.(*postmanWorkload).report(res)
		if res.Total.Checks == 0 || res.Total.ChecksFailed != 0 || res.Total.CapturesMissed != 0 {
			t.Errorf("%s: %d checks, %d failed, %d captures missed: %+v", model, res.Total.Checks, res.Total.ChecksFailed,
				res.Total.CapturesMissed, res.Checks)
		}
	}
}

func BenchmarkCRUDSend(b *testing.B) {
	srv := httptest.NewServer(itemsapi.New(memstore.New()))
	b.Cleanup(srv.Close)
	s := DefaultScenario()
	s.Target = srv.URL
	r := &runner{s: s, done: make(chan struct{}), interval: time.Second}
	r.sh, _ = newShape(&r.s)
	rnd := rand.New(rand.NewPCG(1, 2))
	r.pl = newPayloads(&r.s, rnd)
	r.pool = newPool(1000, retireShare(s.Mix, s.API.OpsMix))
	r.wl = &crudWorkload{r: r}
	r.names = r.wl.ops()
	tr, err := newTransport(&r.s, &r.wire)
	if err != nil {
		b.Fatal(err)
	}
	r.tr = tr
	r.clock = realClock{start: time.Now()}
	r.clk = &r.clock
	r.shards = []*shard{newShard(len(r.names))}
	r.workers = 1
	w := r.newWorker(0)
	b.ReportAllocs()
	for b.Loop() {
		now := w.r.clock.now()
		w.send(ticket{at: now, woke: now})
	}
}
