package load_test

import (
	"bytes"
	"context"
	"math"
	"net"
	"net/http"
	"net/http/httptest"
	"reflect"
	"sort"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/surgehq/surge/internal/load"
)

// scenario returns a small valid scenario against target.
func scenario(target string) load.Scenario {
	s := load.DefaultScenario()
	s.Target = target
	s.Rate = 400
	s.Duration = 500 * time.Millisecond
	s.IDs.Preseed = 20
	s.MaxInFlight = 32
	s.Timeout = 2 * time.Second
	s.Grace = 30 * time.Second // a busy machine sends late, never drops: these tests count
	s.Payloads = []load.PayloadClass{{Size: 256, Weight: 3}, {Size: 4 << 10, Weight: 1}}
	return s
}

func mustRun(t *testing.T, ctx context.Context, s load.Scenario, opts ...load.Option) *load.Result {
	t.Helper()
	res, err := load.Run(ctx, s, append([]load.Option{load.WithSeed(1), load.WithInterval(100 * time.Millisecond)}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	return res
}

func TestRunOpenMix(t *testing.T) {
	srv := newItemsServer(t)
	s := scenario(srv.URL)
	s.Mix = map[string]float64{"create": 2, "read": 4, "update": 1, "patch": 1, "delete": 1, "list": 1, "batch": 1, "ops": 1}
	s.API.OpsMix = map[string]float64{"create": 1, "read": 1, "update": 1, "delete": 1, "list": 1, "echo": 1, "ping": 1}
	res := mustRun(t, context.Background(), s)

	if res.Planned != 200 || res.Due != 200 || res.Sent != 200 || res.Dropped != 0 {
		t.Fatalf("planned/due/sent/dropped = %d/%d/%d/%d, want 200/200/200/0", res.Planned, res.Due, res.Sent, res.Dropped)
	}
	if res.Stop != "completed" {
		t.Fatalf("stop = %q, want completed", res.Stop)
	}
	if got, want := srv.requests.Load(), int64(200+20); got != want {
		t.Fatalf("server saw %d requests, want %d (200 and 20 preseeded)", got, want)
	}
	if res.Preseed.Created != 20 {
		t.Fatalf("preseed = %+v, want 20 created", res.Preseed)
	}
	if srv.badBody.Load() != 0 {
		t.Fatalf("server got %d bodies that are not JSON", srv.badBody.Load())
	}
	var sum int64
	for _, o := range res.Ops {
		sum += o.Count
	}
	if sum != 200 || res.Total.Count != 200 {
		t.Fatalf("ops add up to %d, total %d, want 200", sum, res.Total.Count)
	}
	for _, name := range []string{"create", "read", "update", "patch", "delete", "list", "batch"} {
		if res.Op(name) == nil {
			t.Errorf("no %s in the result", name)
		}
	}
	// Chaining: reads, updates and patches go to items that exist, so only a
	// read racing a delete of the same id can miss.
	var notFound int64
	for _, o := range res.Ops {
		notFound += o.Statuses["404"]
	}
	if notFound > 3 {
		t.Errorf("%d responses were 404: ids are not chained from creates", notFound)
	}
	if got := srv.count("POST /items"); got < res.Op("create").Count {
		t.Errorf("server saw %d creates, result has %d", got, res.Op("create").Count)
	}
	// Every response carried Server-Timing; the first an X-Cold-Start, but
	// that was a preseed request, which is not measured.
	st := res.Total.ServerTiming
	if len(st) != 2 || st[0].Name != "store" || st[1].Name != "total" || st[1].Stats.Count != 200 || st[1].Stats.P50 != 0.5 {
		t.Errorf("server timing = %+v, want store and total 200 times, total 0.5ms", st)
	}
	if res.Total.ColdStarts != 0 {
		t.Errorf("cold starts = %d, want 0 (the only one was preseeding)", res.Total.ColdStarts)
	}
	if len(res.Series) < 2 {
		t.Errorf("series has %d points, want about 5", len(res.Series))
	}
	var done int64
	for _, p := range res.Series {
		done += p.Done
	}
	if done != 200 {
		t.Errorf("series done adds up to %d, want 200", done)
	}
	if res.BytesOut < 200*100 || res.BytesIn < 200*50 {
		t.Errorf("wire bytes out %d in %d: too few", res.BytesOut, res.BytesIn)
	}
}

func TestRunArrivalTimes(t *testing.T) {
	var mu sync.Mutex
	var arrivals []time.Time
	var conns atomic.Int64
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		arrivals = append(arrivals, time.Now())
		mu.Unlock()
		w.Write([]byte(`{"items":[]}`))
	}))
	srv.Config.ConnState = func(_ net.Conn, st http.ConnState) {
		if st == http.StateNew {
			conns.Add(1)
		}
	}
	srv.Start()
	defer srv.Close()
	s := scenario(srv.URL)
	s.MaxInFlight = 512
	s.Mix = map[string]float64{"list": 1}
	s.IDs.Preseed = 0
	s.Rate = 200
	s.Duration = time.Second
	s.Grace = 5 * time.Second
	// Timing can only be checked when the machine let the generator run:
	// a run whose own send lag shows it was starved is tried again.
	for attempt := 1; attempt <= 3; attempt++ {
		mu.Lock()
		arrivals = nil
		mu.Unlock()
		conns.Store(0)
		srv.CloseClientConnections()
		res := mustRun(t, context.Background(), s)
		// A plan that is kept ends with its last response, not after the
		// grace that a backlog would get: parked workers must not hold it up.
		if res.ElapsedSeconds > 3 {
			t.Fatalf("a 1s plan took %.1fs", res.ElapsedSeconds)
		}
		mu.Lock()
		got := append([]time.Time(nil), arrivals...)
		mu.Unlock()
		if len(got) != 200 || res.Sent != 200 {
			t.Fatalf("server saw %d requests, result sent %d, want 200", len(got), res.Sent)
		}
		if res.Lag.Max > 50 {
			t.Logf("attempt %d: the generator was starved (send lag up to %.0fms); again", attempt, res.Lag.Max)
			continue
		}
		checkArrivals(t, res.Started, got)
		// A target that keeps up needs a few connections, not max_inflight.
		if n := conns.Load(); n > 64 {
			t.Errorf("%d connections for 200 requests a second to a fast target", n)
		}
		return
	}
	t.Skip("the machine is too busy to check send times")
}

func checkArrivals(t *testing.T, start time.Time, arrivals []time.Time) {
	t.Helper()
	sort.Slice(arrivals, func(i, j int) bool { return arrivals[i].Before(arrivals[j]) })
	// The schedule spreads 200 requests over one second, 5 ms apart: the
	// last is due at 995 ms, and none can come before it is due.
	if first := arrivals[0].Sub(start); first < 0 {
		t.Fatalf("first arrival %s before the start", first)
	}
	if span := arrivals[199].Sub(arrivals[0]); span < 900*time.Millisecond {
		t.Fatalf("arrivals span %s, want about 995ms: requests were bunched", span)
	}
	// In every 100 ms window about 20 arrive: none is empty.
	var buckets [10]int
	for _, a := range arrivals {
		i := int(a.Sub(arrivals[0]) / (100 * time.Millisecond))
		if i >= 0 && i < 10 {
			buckets[i]++
		}
	}
	for i, n := range buckets {
		if n < 5 {
			t.Errorf("window %d had %d arrivals, want about 20: %v", i, n, buckets)
		}
	}
}

func TestRunCount(t *testing.T) {
	srv := newItemsServer(t)
	s := scenario(srv.URL)
	s.Requests = 37
	res := mustRun(t, context.Background(), s)
	if res.Sent != 37 || res.Planned != 37 || res.Stop != "count" {
		t.Fatalf("sent %d planned %d stop %q, want 37 37 count", res.Sent, res.Planned, res.Stop)
	}
	// A count and a rate without a duration: the run lasts as long as the
	// count takes.
	s.Duration = 0
	s.Rate = 370
	res = mustRun(t, context.Background(), s)
	if res.Sent != 37 || math.Abs(res.PlanSeconds-0.1) > 1e-9 {
		t.Fatalf("sent %d over a %vs plan, want 37 over 0.1s", res.Sent, res.PlanSeconds)
	}
}

func TestRunClosed(t *testing.T) {
	srv := newItemsServer(t)
	s := scenario(srv.URL)
	s.Model = load.ModelClosed
	s.VUs = 4
	s.Duration = 300 * time.Millisecond
	s.Mix = map[string]float64{"read": 1}
	res := mustRun(t, context.Background(), s)
	if res.Sent < 20 || res.Total.Count != res.Sent || res.Dropped != 0 {
		t.Fatalf("sent %d, done %d, dropped %d: want many, all done", res.Sent, res.Total.Count, res.Dropped)
	}
	if res.Client.Workers != 4 {
		t.Fatalf("workers = %d, want 4", res.Client.Workers)
	}
	// Closed: latency is the service time.
	if res.Total.Latency.Max != res.Total.Service.Max {
		t.Fatalf("latency max %v != service max %v", res.Total.Latency.Max, res.Total.Service.Max)
	}
	// Closed, count-bounded only.
	s.Duration = 0
	s.Requests = 50
	res = mustRun(t, context.Background(), s)
	if res.Sent != 50 || res.Stop != "count" {
		t.Fatalf("sent %d stop %q, want 50 count", res.Sent, res.Stop)
	}
}

func TestRunRefused(t *testing.T) {
	// Listen and close, so that the port is (almost surely) refused.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	s := scenario("http://" + addr)
	s.Rate = 100
	s.Duration = 200 * time.Millisecond
	begin := time.Now()
	res := mustRun(t, context.Background(), s)
	if took := time.Since(begin); took > 5*time.Second {
		t.Fatalf("run took %s against a refusing target", took)
	}
	if res.Total.Count != 20 || res.Total.Errors != 20 || res.Total.ErrorKinds["refused"] != 20 {
		t.Fatalf("count %d errors %d kinds %v, want 20 refused", res.Total.Count, res.Total.Errors, res.Total.ErrorKinds)
	}
	if res.Preseed.Created != 0 || res.Preseed.Failed == 0 {
		t.Fatalf("preseed = %+v, want all failed", res.Preseed)
	}
}

func TestRunTimeout(t *testing.T) {
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}))
	defer srv.Close()
	defer close(release)
	for _, client := range []string{load.ClientFast, load.ClientStd} {
		t.Run(client, func(t *testing.T) {
			s := scenario(srv.URL)
			s.Client = client
			s.IDs.Preseed = 0
			s.Mix = map[string]float64{"list": 1}
			s.Rate = 50
			s.Duration = 200 * time.Millisecond
			s.Timeout = 150 * time.Millisecond
			begin := time.Now()
			res := mustRun(t, context.Background(), s)
			if took := time.Since(begin); took > 3*time.Second {
				t.Fatalf("run took %s", took)
			}
			if res.Total.Count != 10 || res.Total.ErrorKinds["timeout"] != 10 {
				t.Fatalf("count %d kinds %v, want 10 timeouts", res.Total.Count, res.Total.ErrorKinds)
			}
		})
	}
}

func TestRunInterrupt(t *testing.T) {
	srv := newItemsServer(t)
	s := scenario(srv.URL)
	s.Rate = 200
	s.Duration = 10 * time.Second
	// Interrupt once the server has seen 30 of the run's requests (after
	// the 20 of the preseed), however slowly a loaded machine gets there.
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() {
		select {
		case <-srv.reached(20 + 30):
			cancel()
		case <-ctx.Done():
		}
	}()
	begin := time.Now()
	res := mustRun(t, ctx, s)
	if took := time.Since(begin); took > 5*time.Second {
		t.Fatalf("interrupted run took %s", took)
	}
	if res.Stop != "interrupted" {
		t.Fatalf("stop = %q, want interrupted", res.Stop)
	}
	if res.Sent < 30 || res.Sent > 1000 || res.Total.Count != res.Sent {
		t.Fatalf("sent %d, done %d: want the few due before the stop, all done", res.Sent, res.Total.Count)
	}
	if res.Due != res.Sent+res.Dropped || res.Planned != 2000 {
		t.Fatalf("due %d sent %d dropped %d planned %d", res.Due, res.Sent, res.Dropped, res.Planned)
	}
}

// TestRunLateAndDropped fills the in-flight limit against a slow server:
// requests that cannot be sent on time are counted late, or dropped past
// max_lag, and never lost.
func TestRunLateAndDropped(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		time.Sleep(40 * time.Millisecond)
	}))
	defer srv.Close()
	s := scenario(srv.URL)
	s.IDs.Preseed = 0
	s.Mix = map[string]float64{"list": 1}
	s.Rate = 200
	s.Duration = 500 * time.Millisecond
	s.MaxInFlight = 2 // 50 per second at most
	t.Run("Late", func(t *testing.T) {
		s := s
		s.Grace = 0
		res := mustRun(t, context.Background(), s)
		if res.Due != 100 || res.Sent+res.Dropped != 100 {
			t.Fatalf("due %d sent %d dropped %d: want due 100 = sent + dropped", res.Due, res.Sent, res.Dropped)
		}
		if res.Dropped < 50 || res.Late < res.Sent/2 {
			t.Fatalf("dropped %d late %d of %d sent: want most late and many dropped at the end", res.Dropped, res.Late, res.Sent)
		}
		// Latency counts the wait for a free slot; service time does not.
		if res.Total.Latency.Max < 100 || res.Total.Service.P50 > res.Total.Latency.P50 {
			t.Fatalf("latency %+v service %+v", res.Total.Latency, res.Total.Service)
		}
	})
	t.Run("MaxLag", func(t *testing.T) {
		s := s
		s.MaxLag = 30 * time.Millisecond
		res := mustRun(t, context.Background(), s)
		if res.DroppedLag < 30 || res.Due != res.Sent+res.Dropped || res.Dropped < res.DroppedLag {
			t.Fatalf("due %d sent %d dropped %d (lag %d)", res.Due, res.Sent, res.Dropped, res.DroppedLag)
		}
		if res.Total.Latency.Max > 150 {
			t.Fatalf("latency max %vms: requests past max_lag were sent", res.Total.Latency.Max)
		}
	})
}

// TestRunCoordinatedOmission runs against a server that stalls 200 ms of
// every second with a small in-flight limit: the reported latency p99 must
// match the one computed from the schedule, while the service time (what
// a closed-model tool reports) misses the stall.
func TestRunCoordinatedOmission(t *testing.T) {
	if testing.Short() {
		t.Skip("runs 2s")
	}
	if load.RaceEnabled {
		// The detector slows the client so much that it cannot drain the
		// backlog of each stall in time: its own lateness, rightly counted,
		// then swamps the server's.
		t.Skip("timing accuracy is not measurable under the race detector")
	}
	srv := newStallServer(t, time.Second, 200*time.Millisecond)
	s := scenario(srv.URL)
	s.IDs.Preseed = 0
	s.Mix = map[string]float64{"list": 1}
	// At most 4 requests are stuck in each stall, and a 2s run meets at
	// most 3 stalls: 12 of 2000, too few to move the service time's p99.
	s.Rate = 1000
	s.Duration = 2 * time.Second
	s.MaxInFlight = 4
	res := mustRun(t, context.Background(), s)

	sched, err := load.NewSchedule(1000, []load.Stage{{Duration: 2 * time.Second, Target: 1000}})
	if err != nil {
		t.Fatal(err)
	}
	var truth []float64
	for n := range sched.Len() {
		truth = append(truth, float64(srv.trueLatency(res.Started.Add(sched.At(n))))/1e6)
	}
	sort.Float64s(truth)
	want := truth[int(math.Ceil(0.99*float64(len(truth))))-1]
	got := res.Total.Latency.P99
	t.Logf("p99: reported %.1fms, true %.1fms; service p99 %.1fms", got, want, res.Total.Service.P99)
	if want < 150 {
		t.Fatalf("true p99 %.1fms: the stall server did not stall", want)
	}
	// The reported value can only be above the truth, by the service time.
	if got < 0.95*want || got > 1.05*want+10 {
		t.Fatalf("reported p99 %.1fms, want within 5%% of the true %.1fms", got, want)
	}
	if res.Total.Service.P99 > want/2 {
		t.Fatalf("service p99 %.1fms: want it to miss the stall (true p99 %.1fms)", res.Total.Service.P99, want)
	}
}

func TestRunInvalid(t *testing.T) {
	s := load.DefaultScenario()
	s.Rate = -1
	s.Mix = map[string]float64{"fly": 1}
	_, err := load.Run(context.Background(), s)
	if err == nil {
		t.Fatal("got no error")
	}
	for _, want := range []string{"rate", "fly"} {
		if !bytes.Contains([]byte(err.Error()), []byte(want)) {
			t.Errorf("error %q does not mention %q", err, want)
		}
	}
}

func TestRunProgressAndJSON(t *testing.T) {
	srv := newItemsServer(t)
	s := scenario(srv.URL)
	s.Thresholds = mustThresholds(t, "errors<1%,read.p99<10s,rate>1000000")
	var mu sync.Mutex
	var seen []load.Progress
	res := mustRun(t, context.Background(), s, load.WithProgress(func(p load.Progress) {
		mu.Lock()
		seen = append(seen, p)
		mu.Unlock()
	}))
	// About five intervals and the final one; a slow machine (or the race
	// detector) drops ticks, never the final call.
	if len(seen) < 2 {
		t.Fatalf("progress called %d times, want about 6", len(seen))
	}
	if last := seen[len(seen)-1]; last.Done != res.Total.Count || last.Planned != 500*time.Millisecond {
		t.Fatalf("last progress %+v, want done %d", last, res.Total.Count)
	}
	if len(res.Thresholds) != 3 || !res.Thresholds[0].Pass || !res.Thresholds[1].Pass || res.Thresholds[2].Pass {
		t.Fatalf("thresholds = %+v, want pass pass fail", res.Thresholds)
	}
	var buf bytes.Buffer
	if err := res.WriteJSON(&buf); err != nil {
		t.Fatal(err)
	}
	back, err := load.ReadResult(&buf)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(back.Total, res.Total) || !reflect.DeepEqual(back.Series, res.Series) ||
		!reflect.DeepEqual(back.Scenario, res.Scenario) || back.Sent != res.Sent {
		t.Fatal("the result read back differs from the one written")
	}
	// A threshold evaluated later, on the result read back, sees the same.
	tr, pass := mustThresholds(t, "read.p99.9<10s,read.service.p99<10s").Eval(back)
	if !pass || len(tr) != 2 {
		t.Fatalf("thresholds on the read-back result: %+v %v", tr, pass)
	}
}

// TestRunLocationIDs drives an API whose create response has the id only
// in its Location header, with a base path, as another CRUD API might.
func TestRunLocationIDs(t *testing.T) {
	srv := newItemsServer(t)
	mux := http.NewServeMux()
	mux.Handle("/prod/", http.StripPrefix("/prod", srv.Config.Handler))
	front := httptest.NewServer(mux)
	defer front.Close()
	s := scenario(front.URL)
	s.API.BasePath = "/prod"
	s.API.IDFrom = load.IDFromLocation
	s.Mix = map[string]float64{"create": 1, "read": 3}
	s.Headers = map[string]string{"x-api-key": "secret-key"}
	res := mustRun(t, context.Background(), s)
	// The key was sent, and the result, which may be shared, hides it.
	if got := srv.lastAPIKey.Load(); got == nil || got.(string) != "secret-key" {
		t.Fatalf("server saw x-api-key %v, want secret-key", got)
	}
	if v := res.Scenario.Headers["x-api-key"]; v != "(redacted)" {
		t.Fatalf("result holds header value %q", v)
	}
	if res.Total.Errors != 0 || res.Op("read") == nil || res.Op("read").Count < 100 {
		t.Fatalf("errors %d, ops %+v", res.Total.Errors, res.Ops)
	}
	if res.Preseed.Created != 20 {
		t.Fatalf("preseed = %+v", res.Preseed)
	}
}

func TestRunHTTP2(t *testing.T) {
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Proto", r.Proto)
		if r.ProtoMajor != 2 {
			w.WriteHeader(http.StatusHTTPVersionNotSupported)
			return
		}
		w.Write([]byte(`{"items":[]}`))
	}))
	var p http.Protocols
	p.SetUnencryptedHTTP2(true)
	srv.Config.Protocols = &p
	srv.Start()
	defer srv.Close()
	s := scenario(srv.URL)
	s.Client = load.ClientStd
	s.HTTP2 = true
	s.IDs.Preseed = 0
	s.Mix = map[string]float64{"list": 1}
	res := mustRun(t, context.Background(), s)
	if res.Total.Count != 200 || res.Total.Errors != 0 {
		t.Fatalf("count %d errors %d statuses %v kinds %v", res.Total.Count, res.Total.Errors, res.Total.Statuses, res.Total.ErrorKinds)
	}
}

func TestRunColdStartsAndThink(t *testing.T) {
	srv := newItemsServer(t)
	s := scenario(srv.URL)
	s.IDs.Preseed = 0
	s.Model = load.ModelClosed
	s.VUs = 2
	s.Think = 20 * time.Millisecond
	s.Duration = 300 * time.Millisecond
	s.Mix = map[string]float64{"create": 1}
	res := mustRun(t, context.Background(), s)
	// The fixture marks its first response as a cold start.
	if res.Total.ColdStarts != 1 || res.Op("create").ColdStarts != 1 {
		t.Fatalf("cold starts %d, want 1", res.Total.ColdStarts)
	}
	// Two users thinking 20ms between requests send at most 2*300/20.
	if res.Sent < 4 || res.Sent > 32 {
		t.Fatalf("sent %d, want about 30 with a 20ms think time", res.Sent)
	}
}

// TestRunClosedStages ramps virtual users: user i runs only once the plan
// asks for more than i users.
func TestRunClosedStages(t *testing.T) {
	srv := newItemsServer(t)
	s := scenario(srv.URL)
	s.IDs.Preseed = 0
	s.Model = load.ModelClosed
	s.Think = 10 * time.Millisecond
	s.Stages = []load.Stage{{Duration: 200 * time.Millisecond, Target: 1}, {Duration: 0, Target: 4}, {Duration: 200 * time.Millisecond, Target: 4}}
	s.StartRate = 1
	s.Mix = map[string]float64{"list": 1}
	res := mustRun(t, context.Background(), s)
	if res.Client.Workers != 4 {
		t.Fatalf("workers %d, want 4", res.Client.Workers)
	}
	// 1 user for 200ms then 4 for 200ms, each at most 100 a second.
	if res.Sent < 10 || res.Sent > 105 {
		t.Fatalf("sent %d, want between 10 and 100", res.Sent)
	}
	var first, second int64
	for _, p := range res.Series {
		if p.T <= 0.2 {
			first += p.Done
		} else {
			second += p.Done
		}
	}
	if second < 2*first {
		t.Fatalf("done %d with one user, %d with four: want about four times as many", first, second)
	}
}
