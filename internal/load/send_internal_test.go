package load

import (
	"math/rand/v2"
	"net"
	"testing"
	"time"

	"github.com/valyala/fasthttp"
	"github.com/valyala/fasthttp/fasthttputil"
)

// newInmemWorker returns a worker whose client talks to an in-memory
// fasthttp server, so that a benchmark measures the client's side.
func newInmemWorker(tb testing.TB, mix map[string]float64) *worker {
	tb.Helper()
	ln := fasthttputil.NewInmemoryListener()
	srv := &fasthttp.Server{Handler: func(ctx *fasthttp.RequestCtx) {
		ctx.Response.Header.Set("Server-Timing", "store;dur=0.41, total;dur=0.93")
		if ctx.IsPost() {
			ctx.SetStatusCode(201)
			ctx.SetBodyString(`{"id":"abc123","version":1}`)
			return
		}
		ctx.SetBodyString(`{"id":"abc123","version":1,"name":"x"}`)
	}}
	go srv.Serve(ln) //nolint:errcheck // ends when the listener closes
	tb.Cleanup(func() { ln.Close() })

	s := DefaultScenario()
	s.Mix = mix
	s.IDs.Preseed = 0
	r := &runner{s: s, done: make(chan struct{}), interval: time.Second}
	r.sh, _ = newShape(&s)
	rnd := rand.New(rand.NewPCG(1, 2))
	r.pl = newPayloads(&s, rnd)
	r.pool = newPool(1000, 0)
	for i := range 100 {
		r.pool.add("id"+string(rune('a'+i%26)), rnd)
	}
	tr, err := newTransport(&s, &r.wire)
	if err != nil {
		tb.Fatal(err)
	}
	ft := tr.(*fastTransport)
	ft.hc.Dial = func(string) (net.Conn, error) {
		c, err := ln.Dial()
		if err != nil {
			return nil, err
		}
		return &countConn{Conn: c, w: &r.wire}, nil
	}
	r.tr = tr
	r.clock = realClock{start: time.Now()}
	r.clk = &r.clock
	r.wl = &crudWorkload{r: r}
	r.names = r.wl.ops()
	r.shards = []*shard{newShard(int(numOps))}
	r.workers = 1
	return r.newWorker(0)
}

// BenchmarkSend is one request through the whole client path: build,
// send over fasthttp, parse Server-Timing, record.
func BenchmarkSend(b *testing.B) {
	for _, c := range []struct {
		name string
		mix  map[string]float64
	}{
		{"Read", map[string]float64{"read": 1}},
		{"Mix", DefaultMix()},
	} {
		b.Run(c.name, func(b *testing.B) {
			w := newInmemWorker(b, c.mix)
			b.ReportAllocs()
			for b.Loop() {
				now := w.r.clock.now()
				w.send(ticket{at: now, woke: now})
			}
		})
	}
}

// TestSendAllocs keeps the read path free of allocations: a load
// generator that allocates per request spends its CPU on the collector
// instead of on the target.
func TestSendAllocs(t *testing.T) {
	if raceEnabled {
		t.Skip("allocation counts differ under the race detector")
	}
	w := newInmemWorker(t, map[string]float64{"read": 1})
	for range 10 { // warm up buffers and the connection
		now := w.r.clock.now()
		w.send(ticket{at: now, woke: now})
	}
	allocs := testing.AllocsPerRun(200, func() {
		now := w.r.clock.now()
		w.send(ticket{at: now, woke: now})
	})
	// The in-memory server's side is counted too; the client adds none.
	if allocs > 1 {
		t.Fatalf("%v allocations per read request, want at most 1", allocs)
	}
}
