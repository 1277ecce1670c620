package lambda_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/surgehq/surge/internal/api/awsevent"
	"github.com/surgehq/surge/internal/api/itemsapi"
	"github.com/surgehq/surge/internal/items"
	"github.com/surgehq/surge/internal/local/lambda"
	"github.com/surgehq/surge/internal/observe/servertiming"
	"github.com/surgehq/surge/internal/store/sqlite"
)

// Benchmarks' environment (bench/pool-*.sh sets them):
//
//	SURGE_BENCH_FUNCTION  the function program and arguments, such as
//	                      "/tmp/surge function" or a host build of bootstrap
//	                      (default: this test binary as the items function)
//	SURGE_BENCH_MEMORY    memory size in MB; set, it turns cgroup limits on
//	                      (default: no limits, the machine's full speed)
//	SURGE_BENCH_ENV       more environment of the function, KEY=VALUE ...
const (
	envBenchFunction = "SURGE_BENCH_FUNCTION"
	envBenchMemory   = "SURGE_BENCH_MEMORY"
	envBenchEnv      = "SURGE_BENCH_ENV"
)

// benchPool starts a pool of the items function over a SQLite file.
func benchPool(b *testing.B, db string, cfg lambda.Config) *lambda.Pool {
	b.Helper()
	exe, _ := os.Executable()
	cfg.Command = []string{exe}
	cfg.Env = append(cfg.Env, "SURGE_LAMBDA_TEST_FUNCTION=items", "SURGE_STORE=sqlite:"+db, "SURGE_LOG_LEVEL=warn")
	cfg.Env = append(cfg.Env, strings.Fields(os.Getenv(envBenchEnv))...)
	if f := os.Getenv(envBenchFunction); f != "" {
		cfg.Command = strings.Fields(f)
	}
	cfg.Limits = lambda.LimitsOff
	if m := os.Getenv(envBenchMemory); m != "" {
		cfg.MemoryMB, _ = strconv.Atoi(m)
		cfg.Limits = lambda.LimitsAuto
	}
	p, err := lambda.New(cfg)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { p.Close() })
	return p
}

func benchDB(b *testing.B) (string, items.Store) {
	b.Helper()
	db := filepath.Join(b.TempDir(), "items.db")
	st, err := sqlite.Open(db)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { st.Close() })
	if _, err := st.Create(context.Background(), items.Key{Tenant: items.DefaultTenant, ID: "bench-1"},
		items.Attributes(`{"name":"widget","price":12.5,"tags":["a","b"]}`), nil); err != nil {
		b.Fatal(err)
	}
	return db, st
}

func percentile(v []time.Duration, q float64) time.Duration {
	s := slices.Clone(v)
	slices.Sort(s)
	return s[min(len(s)-1, int(q*float64(len(s))))]
}

func us(d time.Duration) float64 { return float64(d.Nanoseconds()) / 1000 }

// BenchmarkColdStart measures a cold start as a client sees it: a request
// (a REST API event for GET /healthz, which does not touch the store) that
// finds no instance, from the call to the answer: process start, the Go
// runtime's and the function's init, the Runtime API's first exchange,
// the invocation. After each, the instance is reclaimed as idle. Reported:
// first-ms p50 and p99, and init-ms p50 (process start to the runtime's
// first /next, Lambda's Init Duration).
func BenchmarkColdStart(b *testing.B) {
	db, _ := benchDB(b)
	c := newClock()
	p := benchPool(b, db, lambda.Config{Name: "cold", Now: c.Now, TickEvery: -1, IdleTimeout: time.Minute})
	ev, _ := awsevent.NewV1Event(httptest.NewRequest("GET", "/healthz", nil), awsevent.EventOptions{})
	payload, _ := json.Marshal(ev)
	var first, inits []time.Duration
	for b.Loop() {
		t0 := time.Now()
		res, err := p.Invoke(context.Background(), payload, lambda.InvokeOptions{})
		d := time.Since(t0)
		if err != nil || res.FunctionError != "" || !res.Cold {
			b.Fatalf("got %v %+v", err, res)
		}
		first, inits = append(first, d), append(inits, res.InitDuration)
		p.Tick(c.Advance(time.Minute))
		if err := p.Wait(context.Background(), func(s lambda.Stats) bool { return s.Idle+s.Busy+s.Initializing == 0 }); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(us(percentile(first, 0.5))/1000, "first-p50-ms")
	b.ReportMetric(us(percentile(first, 0.99))/1000, "first-p99-ms")
	b.ReportMetric(us(percentile(inits, 0.5))/1000, "init-p50-ms")
}

// BenchmarkPathAddedLatency compares GET /items/{id}, one request at a
// time (low load), served in process (the items handler behind
// Server-Timing, over loopback HTTP) and through the pool (the
// integration in front of a warm instance, over the Runtime API),
// interleaved so that both see the same machine. Reported: the p50 and
// p99 of each, in µs, and the pool path's added p50.
func BenchmarkPathAddedLatency(b *testing.B) {
	db, st := benchDB(b)
	inproc := httptest.NewServer(servertiming.Middleware(itemsapi.New(st)))
	b.Cleanup(inproc.Close)
	p := benchPool(b, db, lambda.Config{Name: "path", ReservedConcurrency: 1})
	pooled := httptest.NewServer(servertiming.Middleware(lambda.NewIntegration(p, lambda.IntegrationOptions{Routes: itemsRoutes()})))
	b.Cleanup(pooled.Close)
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 4}, Timeout: 10 * time.Second}
	var lambdaDur, poolDur []time.Duration
	get := func(base string) time.Duration {
		t0 := time.Now()
		resp, err := client.Get(base + "/items/bench-1")
		if err != nil {
			b.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		d := time.Since(t0)
		if resp.StatusCode != 200 {
			b.Fatalf("%s: got %d", base, resp.StatusCode)
		}
		if base == pooled.URL {
			for _, m := range strings.Split(resp.Header.Get("Server-Timing"), ",") {
				name, v, _ := strings.Cut(strings.TrimSpace(m), ";dur=")
				ms, _ := strconv.ParseFloat(v, 64)
				switch name {
				case "lambda":
					lambdaDur = append(lambdaDur, time.Duration(ms*1e6))
				case "pool":
					poolDur = append(poolDur, time.Duration(ms*1e6))
				}
			}
		}
		return d
	}
	for range 200 { // warm both, and the instance
		get(inproc.URL)
		get(pooled.URL)
	}
	// A pause between requests makes the load low, as the goal says: the
	// instance is back in /next when the next request comes, as it is
	// whenever requests are not back to back.
	var a, c []time.Duration
	lambdaDur, poolDur = lambdaDur[:0], poolDur[:0]
	for b.Loop() {
		a = append(a, get(inproc.URL))
		time.Sleep(time.Millisecond)
		c = append(c, get(pooled.URL))
		time.Sleep(time.Millisecond)
	}
	b.ReportMetric(us(percentile(a, 0.5)), "inproc-p50-us")
	b.ReportMetric(us(percentile(a, 0.99)), "inproc-p99-us")
	b.ReportMetric(us(percentile(c, 0.5)), "pool-p50-us")
	b.ReportMetric(us(percentile(c, 0.99)), "pool-p99-us")
	b.ReportMetric(us(percentile(c, 0.5)-percentile(a, 0.5)), "added-p50-us")
	// Where the pool path's time goes: the invocation on its instance
	// (Lambda's Duration: the Runtime API's exchange and the function) and
	// the integration's own share (event, hand-off, response).
	b.ReportMetric(us(percentile(lambdaDur, 0.5)), "lambda-p50-us")
	b.ReportMetric(us(percentile(poolDur, 0.5)), "integration-p50-us")
}

// BenchmarkInvokeWarm is one synchronous invocation on a warm instance,
// the Runtime API's round trip with the smallest function work
// (GET /healthz), without the HTTP front.
func BenchmarkInvokeWarm(b *testing.B) {
	db, _ := benchDB(b)
	p := benchPool(b, db, lambda.Config{Name: "warm", ReservedConcurrency: 1})
	ev, _ := awsevent.NewV1Event(httptest.NewRequest("GET", "/healthz", nil), awsevent.EventOptions{})
	payload, _ := json.Marshal(ev)
	for range 100 {
		p.Invoke(context.Background(), payload, lambda.InvokeOptions{})
	}
	b.ReportAllocs()
	for b.Loop() {
		if res, err := p.Invoke(context.Background(), payload, lambda.InvokeOptions{}); err != nil || res.FunctionError != "" {
			b.Fatalf("%v %+v", err, res)
		}
	}
}

// BenchmarkInvokeWarmLogs is BenchmarkInvokeWarm without and with a log
// sink, in the same run: what writing each invocation's START, END and
// REPORT lines in order costs (two markers through the instance's output
// pipe, the lines to the sink, the peak memory read every 100 ms).
func BenchmarkInvokeWarmLogs(b *testing.B) {
	db, _ := benchDB(b)
	ev, _ := awsevent.NewV1Event(httptest.NewRequest("GET", "/healthz", nil), awsevent.EventOptions{})
	payload, _ := json.Marshal(ev)
	for _, tc := range []struct {
		name string
		logs lambda.LogSink
	}{{"off", nil}, {"on", discardLogs{}}} {
		b.Run(tc.name, func(b *testing.B) {
			p := benchPool(b, db, lambda.Config{Name: "warm-" + tc.name, ReservedConcurrency: 1, Logs: tc.logs})
			for range 100 {
				p.Invoke(context.Background(), payload, lambda.InvokeOptions{})
			}
			b.ReportAllocs()
			for b.Loop() {
				if res, err := p.Invoke(context.Background(), payload, lambda.InvokeOptions{}); err != nil || res.FunctionError != "" {
					b.Fatalf("%v %+v", err, res)
				}
			}
		})
	}
}

// discardLogs is a LogSink that keeps nothing.
type discardLogs struct{}

func (discardLogs) Line(string, string, []byte) {}
