package htmlreport_test

import (
	"bytes"
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	hdr "github.com/HdrHistogram/hdrhistogram-go"

	"github.com/surgehq/surge/internal/api/itemsapi"
	"github.com/surgehq/surge/internal/load"
	"github.com/surgehq/surge/internal/load/htmlreport"
	"github.com/surgehq/surge/internal/observe/servertiming"
	"github.com/surgehq/surge/internal/store/memstore"
)

// newHist makes a histogram of the range and precision load records with.
func newHist() *hdr.Histogram {
	h, err := load.DecodeHist("")
	if err != nil {
		panic(err)
	}
	return h
}

func encode(t testing.TB, h *hdr.Histogram) string {
	t.Helper()
	s, err := load.EncodeHist(h)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// roundTrip writes r as a run's JSON file and reads it back, as
// `surge load report` does.
func roundTrip(t testing.TB, r *load.Result) *load.Result {
	t.Helper()
	var buf bytes.Buffer
	if err := r.WriteJSON(&buf); err != nil {
		t.Fatal(err)
	}
	out, err := load.ReadResult(&buf)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// synthOp describes one operation of a generated run.
type synthOp struct {
	name     string
	share    float64 // of the offered rate
	medianUs float64 // latency median at low load
	ok       string  // its success status
}

var synthOps = []synthOp{
	{"read", 0.40, 1800, "200"},
	{"create", 0.15, 4200, "201"},
	{"update", 0.10, 3900, "200"},
	{"patch", 0.08, 3500, "200"},
	{"delete", 0.07, 3000, "204"},
	{"list", 0.10, 6500, "200"},
	{"batch", 0.05, 9000, "200"},
	{"ops.read", 0.05, 2100, "200"},
}

// synthetic generates a seed-preset run of the given length at a peak of
// peak requests per second, with every operation above: real HDR
// histograms of pseudo-random latencies that grow with the load (and in
// the spike), throttling and cold starts in the spike, Server-Timing, and
// the optional data of every chart. slow scales the latencies (a change
// to compare). The same arguments give the same result.
func synthetic(t testing.TB, seconds int, peak float64, seed uint64, slow float64) (*load.Result, *htmlreport.Extra) {
	t.Helper()
	return syntheticOf(t, synthOps, seconds, peak, seed, slow)
}

// syntheticOf is synthetic with a chosen set of operations.
func syntheticOf(t testing.TB, ops []synthOp, seconds int, peak float64, seed uint64, slow float64) (*load.Result, *htmlreport.Extra) {
	t.Helper()
	key := fmt.Sprint(ops, seconds, peak, seed, slow)
	synthMu.Lock()
	defer synthMu.Unlock()
	c, ok := synthCache[key]
	if !ok {
		r, x := generate(t, ops, seconds, peak, seed, slow)
		var buf bytes.Buffer
		if err := r.WriteJSON(&buf); err != nil {
			t.Fatal(err)
		}
		c = synthRun{json: buf.Bytes(), extra: x}
		synthCache[key] = c
	}
	// A fresh copy each time: tests change the results they get.
	r, err := load.ReadResult(bytes.NewReader(c.json))
	if err != nil {
		t.Fatal(err)
	}
	return r, c.extra
}

// Generated runs are kept for the package's tests: the long ones take
// seconds to make under the race detector.
var (
	synthMu    sync.Mutex
	synthCache = map[string]synthRun{}
)

type synthRun struct {
	json  []byte
	extra *htmlreport.Extra
}

func generate(t testing.TB, synthOps []synthOp, seconds int, peak float64, seed uint64, slow float64) (*load.Result, *htmlreport.Extra) {
	t.Helper()
	rng := rand.New(rand.NewPCG(seed, 7))
	s := load.DefaultScenario()
	s.Target = "http://127.0.0.1:8080"
	s.Preset = load.PresetSeed
	s.Rate = peak
	s.Duration = time.Duration(seconds) * time.Second
	s.Mix = map[string]float64{}
	var sum float64
	for _, o := range synthOps {
		sum += o.share
	}
	if math.Abs(sum-1) > 1e-9 { // a subset: its shares scaled to the whole rate
		ops := slices.Clone(synthOps)
		for i := range ops {
			ops[i].share /= sum
		}
		synthOps = ops
	}
	for _, o := range synthOps {
		s.Mix[strings.Split(o.name, ".")[0]] += math.Round(o.share*200) / 10
	}
	s.Thresholds = mustThresholds(t, "read.p99<25ms,errors<2%,create.p95<40ms")
	start, stages, err := s.Plan()
	if err != nil {
		t.Fatal(err)
	}
	sched, err := load.NewSchedule(start, stages)
	if err != nil {
		t.Fatal(err)
	}
	type acc struct {
		lat, svc, cold, warm *hdr.Histogram
		res                  load.OpResult
		timing               map[string]*hdr.Histogram
	}
	accs := make([]*acc, len(synthOps))
	for i, o := range synthOps {
		accs[i] = &acc{lat: newHist(), svc: newHist(), cold: newHist(), warm: newHist(), timing: map[string]*hdr.Histogram{},
			res: load.OpResult{Name: o.name, Statuses: map[string]int64{}}}
	}
	total := &acc{lat: newHist(), svc: newHist(), res: load.OpResult{Name: "all", Statuses: map[string]int64{}}}
	lag := newHist()
	payload := map[int64]*hdr.Histogram{256: newHist(), 4096: newHist(), 65536: newHist()}
	r := &load.Result{Schema: load.ResultSchema, Scenario: s,
		Started:     time.Date(2026, 11, 26, 9, 30, 0, 0, time.UTC),
		PlanSeconds: float64(seconds), Stop: "completed",
		Client: load.ClientInfo{GoVersion: "go1.26.8", NumCPU: 2, GOMAXPROCS: 2, Workers: 512, WorkersUsed: 40, MaxRSSBytes: 48 << 20}}
	x := &htmlreport.Extra{}
	var bytesOut, bytesIn int64
	for sec := 1; sec <= seconds; sec++ {
		at := time.Duration(sec) * time.Second
		due := sched.CountAt(at) - sched.CountAt(at-time.Second)
		rateNow := sched.RateAt(at - time.Second/2)
		busy := rateNow / (peak * 1.2) // past 1: the target saturates
		p := load2point(sec, float64(due))
		px := htmlreport.PointExtra{T: float64(sec), Statuses: map[string]int64{}, StatusSources: map[string]map[string]int64{}}
		var cold, dropped int64
		for i, o := range synthOps {
			a := accs[i]
			n := int64(math.Round(float64(due) * o.share))
			if n == 0 {
				continue
			}
			var vals []float64
			var errs int64
			for range n {
				mult := 1.0
				if busy > 1 {
					mult = 1 + 6*(busy-1)*(busy-1)
				}
				us := o.medianUs * slow * mult * math.Exp(0.45*rng.NormFloat64())
				if rng.Float64() < 0.004 {
					us *= 8 // the tail
				}
				isCold := (sec <= 2 || busy > 1.5) && rng.Float64() < 0.01
				if isCold {
					us += 30000 + 5000*rng.Float64()
					cold++
					a.res.ColdStarts++
					_ = a.cold.RecordValue(int64(us))
				} else {
					_ = a.warm.RecordValue(int64(us))
				}
				lagUs := 20 + 30*rng.ExpFloat64()
				if busy > 1.3 {
					lagUs += 3000 * rng.Float64()
				}
				status, src := o.ok, ""
				switch u := rng.Float64(); {
				case busy > 1.4 && u < 0.04:
					status = "429"
					src = "gateway"
					if u < 0.01 {
						src = "function"
					}
					if px.StatusSources["429"] == nil {
						px.StatusSources["429"] = map[string]int64{}
					}
					px.StatusSources["429"][src]++
				case u > 0.9995:
					status = "503"
					if px.StatusSources["503"] == nil {
						px.StatusSources["503"] = map[string]int64{}
					}
					px.StatusSources["503"]["pool"]++
					src = "pool"
				case o.name == "read" && u > 0.997:
					status = "404"
				}
				if src != "" {
					if a.res.StatusSources == nil {
						a.res.StatusSources = map[string]map[string]int64{}
					}
					if a.res.StatusSources[status] == nil {
						a.res.StatusSources[status] = map[string]int64{}
					}
					a.res.StatusSources[status][src]++
				}
				if status[0] >= '4' {
					errs++
				}
				a.res.Statuses[status]++
				px.Statuses[status]++
				total.res.Statuses[status]++
				_ = a.lat.RecordValue(int64(us + lagUs))
				_ = a.svc.RecordValue(int64(us))
				_ = lag.RecordValue(int64(lagUs))
				vals = append(vals, (us+lagUs)/1000)
				for _, part := range []struct {
					name string
					frac float64
				}{{"total", 0.93}, {"lambda", 0.8}, {"function", 0.72}, {"store", 0.5}, {"pool", 0.08}} {
					h := a.timing[part.name]
					if h == nil {
						h = newHist()
						a.timing[part.name] = h
					}
					_ = h.RecordValue(int64(us * part.frac))
				}
				if isCold {
					h := a.timing["init"]
					if h == nil {
						h = newHist()
						a.timing["init"] = h
					}
					_ = h.RecordValue(int64(25000 + 5000*rng.Float64()))
				}
				size := []int64{256, 256, 256, 4096, 65536}[rng.IntN(5)]
				_ = payload[size].RecordValue(int64(us + lagUs + float64(size)/20))
				bytesOut += size + 200
				bytesIn += size + 300
			}
			slices.Sort(vals)
			q := func(f float64) float64 { return math.Round(vals[int(f*float64(len(vals)-1))]*1000) / 1000 }
			p.Ops = append(p.Ops, load.OpPoint{Name: o.name, Count: n, Errors: errs, P50: q(0.5), P95: q(0.95), P99: q(0.99)})
			p.Done += n
			p.Errors += errs
			a.res.Count += n
			a.res.Errors += errs
		}
		if busy > 1.6 {
			dropped = int64(float64(due) * 0.01)
		}
		p.Sent = p.Done
		p.Rate = float64(p.Done)
		p.Late = int64(float64(p.Done) * math.Max(0, busy-1.2) * 0.1)
		p.InFlight = int64(rateNow * 0.004 * (1 + 4*math.Max(0, busy-1)))
		var all []float64
		for _, op := range p.Ops {
			all = append(all, op.P99)
		}
		p.P99 = slices.Max(append(all, 0))
		r.Series = append(r.Series, p)
		r.Late += p.Late
		r.Dropped += dropped
		hits := int64(float64(p.Done) * 0.4 * 0.85)
		inv := p.Done - hits
		conc := rateNow * 0.005 * (1 + 3*math.Max(0, busy-1))
		px.ColdStarts, px.Dropped, px.CacheHits = &cold, &dropped, &hits
		misses := int64(float64(p.Done)*0.4) - hits
		px.CacheMisses, px.Invocations, px.Concurrency = &misses, &inv, &conc
		x.Series = append(x.Series, px)
	}
	for i, a := range accs {
		a.res.Latency = statsOf(a.lat)
		a.res.Service = statsOf(a.svc)
		a.res.LatencyHist = encode(t, a.lat)
		a.res.ServiceHist = encode(t, a.svc)
		a.res.ReqBytes, a.res.RespBytes = bytesOut/8, bytesIn/8
		// Reads are half a read unit from the cache's misses, writes a
		// write unit each; the cache answers 85% of reads.
		if strings.HasSuffix(a.res.Name, "read") {
			a.res.CacheHits = a.res.Count * 85 / 100
			a.res.CacheMisses = a.res.Count - a.res.CacheHits
			a.res.Capacity = &load.CapacityUnits{Read: float64(a.res.CacheMisses) / 2, Requests: a.res.CacheMisses, PerRequest: 0.5}
		} else {
			a.res.Capacity = &load.CapacityUnits{Write: float64(a.res.Count), Requests: a.res.Count, PerRequest: 1}
		}
		names := make([]string, 0, len(a.timing))
		for n := range a.timing {
			names = append(names, n)
		}
		slices.Sort(names)
		for _, n := range names {
			a.res.ServerTiming = append(a.res.ServerTiming, load.ServerMetric{Name: n, Stats: statsOf(a.timing[n]), Hist: encode(t, a.timing[n])})
		}
		r.Ops = append(r.Ops, a.res)
		total.lat.Merge(a.lat)
		total.svc.Merge(a.svc)
		total.res.Count += a.res.Count
		total.res.Errors += a.res.Errors
		total.res.ColdStarts += a.res.ColdStarts
		total.res.CacheHits += a.res.CacheHits
		total.res.CacheMisses += a.res.CacheMisses
		if total.res.Capacity == nil {
			total.res.Capacity = &load.CapacityUnits{}
		}
		c := total.res.Capacity
		c.Read, c.Write, c.Requests = c.Read+a.res.Capacity.Read, c.Write+a.res.Capacity.Write, c.Requests+a.res.Capacity.Requests
		c.PerRequest = (c.Read + c.Write) / float64(c.Requests)
		x.Ops = append(x.Ops, htmlreport.OpExtra{Name: synthOps[i].name,
			ColdLatencyHist: encode(t, a.cold), WarmLatencyHist: encode(t, a.warm)})
	}
	total.res.Latency = statsOf(total.lat)
	total.res.Service = statsOf(total.svc)
	total.res.LatencyHist = encode(t, total.lat)
	total.res.ServiceHist = encode(t, total.svc)
	r.Total = total.res
	r.Lag, r.LagHist = statsOf(lag), encode(t, lag)
	r.Due = sched.CountAt(time.Duration(seconds) * time.Second)
	r.Planned = r.Due
	r.Sent = r.Due - r.Dropped
	r.ElapsedSeconds = float64(seconds) + 0.012
	r.OfferedRate = float64(r.Due) / float64(seconds)
	r.AchievedRate = float64(r.Total.Count) / r.ElapsedSeconds
	r.BytesOut, r.BytesIn = bytesOut, bytesIn
	r.Thresholds, _ = s.Thresholds.Eval(r)
	for _, size := range []int64{256, 4096, 65536} {
		x.PayloadLatency = append(x.PayloadLatency, htmlreport.PayloadLatency{Size: size, LatencyHist: encode(t, payload[size])})
	}
	x.Knee = &htmlreport.Knee{Rate: math.Round(peak * 1.2 / slow), P99Ms: 31 * slow, Note: "p99 more than doubles past it"}
	x.Cost = &htmlreport.Cost{Currency: "USD", Total: 0.0021 * float64(seconds) / 60 * slow, PerMillion: 3.7 * slow,
		Parts: []htmlreport.CostPart{{Name: "Lambda", Amount: 0.0012 * float64(seconds) / 60}, {Name: "API Gateway", Amount: 0.0009 * float64(seconds) / 60}}}
	return roundTrip(t, r), x
}

func load2point(sec int, due float64) load.Point {
	return load.Point{T: float64(sec), Offered: due}
}

// statsOf summarises a histogram as load does.
func statsOf(h *hdr.Histogram) load.Stats {
	if h.TotalCount() == 0 {
		return load.Stats{}
	}
	ms := func(v float64) float64 { return math.Round(v) / 1000 }
	return load.Stats{Count: h.TotalCount(), Min: ms(float64(h.Min())), Mean: ms(h.Mean()), Stddev: ms(h.StdDev()),
		P50: ms(float64(h.ValueAtQuantile(50))), P90: ms(float64(h.ValueAtQuantile(90))), P95: ms(float64(h.ValueAtQuantile(95))),
		P99: ms(float64(h.ValueAtQuantile(99))), P999: ms(float64(h.ValueAtQuantile(99.9))), Max: ms(float64(h.Max()))}
}

// itemsTarget serves the items API over a memory store on loopback, with
// the Server-Timing middleware, as `surge serve --store mem:` does; delay,
// when set, slows every GET of one item down by that much.
func itemsTarget(t testing.TB, delay time.Duration) string {
	t.Helper()
	var h http.Handler = itemsapi.New(memstore.New())
	if delay > 0 {
		next := h
		h = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.Method == http.MethodGet && strings.Count(r.URL.Path, "/") == 2 {
				time.Sleep(delay)
			}
			next.ServeHTTP(w, r)
		})
	}
	srv := httptest.NewServer(servertiming.Middleware(h))
	t.Cleanup(srv.Close)
	return srv.URL
}

// realRun runs surge load against itemsTarget for about 1.6 seconds in
// three stages, with a time series every 100 ms.
func realRun(t testing.TB, delay time.Duration, seed uint64) *load.Result {
	t.Helper()
	s := load.DefaultScenario()
	s.Target = itemsTarget(t, delay)
	s.StartRate = 40
	s.Stages = []load.Stage{{Duration: 400 * time.Millisecond, Target: 150}, {Duration: 800 * time.Millisecond, Target: 150},
		{Duration: 400 * time.Millisecond, Target: 250}}
	s.Mix = map[string]float64{"read": 6, "create": 2, "update": 1, "delete": 1, "list": 1}
	s.IDs.Preseed = 50
	s.Thresholds = mustThresholds(t, "read.p99<500ms,errors<50%,create.p50<0.001ms")
	return runScenario(t, s, 30*time.Second, seed)
}

// runScenario runs s for at most limit, then interrupts it as Ctrl-C
// does, and reads its result back from its JSON.
func runScenario(t testing.TB, s load.Scenario, limit time.Duration, seed uint64) *load.Result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), limit)
	defer cancel()
	r, err := load.Run(ctx, s, load.WithInterval(100*time.Millisecond), load.WithSeed(seed))
	if err != nil {
		t.Fatal(err)
	}
	return roundTrip(t, r)
}

// Real runs are shared by the tests that read them: each takes seconds.
var (
	realOnce       sync.Once
	realA, realB   *load.Result
	realRunFailure string
)

// realRuns returns a run against the items API, and a second one whose
// single-item reads are 20 ms slower.
func realRuns(t *testing.T) (*load.Result, *load.Result) {
	t.Helper()
	realOnce.Do(func() {
		ok := t.Run("runs", func(t *testing.T) {
			realA = realRun(t, 0, 1)
			realB = realRun(t, 20*time.Millisecond, 2)
		})
		if !ok {
			realRunFailure = "the real runs failed"
		}
	})
	if realRunFailure != "" {
		t.Fatal(realRunFailure)
	}
	return realA, realB
}

// mustThresholds parses thresholds written as the --threshold flag takes them.
func mustThresholds(t testing.TB, s string) load.Thresholds {
	t.Helper()
	ts, err := load.ParseThresholds(s)
	if err != nil {
		t.Fatal(err)
	}
	return ts
}
