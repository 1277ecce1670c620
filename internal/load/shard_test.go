package load_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/surgehq/surge/internal/load"
)

// splitPlans are plans of every shape a schedule has: a constant rate, a
// ramp from zero, the seed's stages, steps and pauses, and a count cap.
func splitPlans() []struct {
	name string
	s    load.Scenario
} {
	sc := func(f func(*load.Scenario)) load.Scenario {
		s := load.DefaultScenario()
		f(&s)
		return s
	}
	return []struct {
		name string
		s    load.Scenario
	}{
		{"Sustain", sc(func(s *load.Scenario) { s.Rate, s.Duration = 97, 10*time.Second })},
		{"Ramp", sc(func(s *load.Scenario) { s.Preset, s.Rate, s.Duration = load.PresetRamp, 50, 9*time.Second })},
		{"Seed", sc(func(s *load.Scenario) { s.Preset, s.Rate, s.Duration = load.PresetSeed, 40, 20*time.Second })},
		{"StepsAndPause", sc(func(s *load.Scenario) {
			s.StartRate = 10
			s.Stages = load.Stages{{Duration: 2 * time.Second, Target: 30}, {Duration: 0, Target: 0},
				{Duration: time.Second, Target: 0}, {Duration: 0, Target: 7}, {Duration: 3500 * time.Millisecond, Target: 7}}
		})},
		{"CountCap", sc(func(s *load.Scenario) { s.Rate, s.Duration, s.Requests = 100, 10*time.Second, 333 })},
	}
}

// TestSplitSendsThePlan checks, on the pure schedule, that the parts of a
// split plan together send exactly the planned arrivals: shard by shard,
// request i of shard k is the plan's request k + i*N at the plan's time;
// the parts' requests, put back on the plan's time line and sorted, are
// the plan's, none missing and none twice; and the offered load up to any
// time adds up.
func TestSplitSendsThePlan(t *testing.T) {
	for _, pl := range splitPlans() {
		for _, shards := range []int{1, 2, 3, 7} {
			for _, segment := range []time.Duration{0, 3 * time.Second} {
				t.Run(fmt.Sprintf("%s/%dShards/Segment%s", pl.name, shards, segment), func(t *testing.T) {
					s := pl.s
					start, stages, err := s.Plan()
					if err != nil {
						t.Fatal(err)
					}
					whole, err := load.NewSchedule(start, stages)
					if err != nil {
						t.Fatal(err)
					}
					n := whole.Len()
					if s.Requests > 0 {
						n = min(n, s.Requests)
					}
					sp := load.Split{Shards: shards, Segment: segment, StartAt: time.Unix(1_900_000_000, 0), Seed: 7}
					parts, err := sp.Parts(&s)
					if err != nil {
						t.Fatal(err)
					}
					var all []time.Duration
					perShard := make([][]time.Duration, shards)
					var planned int64
					for _, p := range parts {
						ps, err := whole.Part(p, n)
						if err != nil {
							t.Fatal(err)
						}
						if got, err := p.Planned(&s); err != nil || got != ps.Len() {
							t.Fatalf("%s: Planned %d %v, schedule has %d", p, got, err, ps.Len())
						}
						if ps.Duration() != p.To-p.From {
							t.Errorf("%s: duration %s, want %s", p, ps.Duration(), p.To-p.From)
						}
						planned += ps.Len()
						for i := range ps.Len() {
							at := p.From + ps.At(i)
							all = append(all, at)
							perShard[p.Shard] = append(perShard[p.Shard], at)
						}
					}
					if planned != n || int64(len(all)) != n {
						t.Fatalf("the parts plan %d requests, the plan %d", planned, n)
					}
					for k, got := range perShard {
						for i, at := range got {
							if want := whole.At(int64(k + i*shards)); at != want {
								t.Fatalf("shard %d request %d: at %s, want the plan's request %d at %s", k, i, at, k+i*shards, want)
							}
						}
					}
					slices.Sort(all)
					for i, at := range all {
						if want := whole.At(int64(i)); at != want {
							t.Fatalf("merged request %d at %s, the plan's at %s", i, at, want)
						}
					}
					for _, at := range []time.Duration{0, 1, 999 * time.Millisecond, 2500 * time.Millisecond, 3 * time.Second,
						5*time.Second + 1, 9 * time.Second, whole.Duration()} {
						var sum int64
						for _, p := range parts {
							ps, _ := whole.Part(p, n)
							if at > p.From {
								sum += ps.CountAt(at - p.From)
							}
						}
						if want := min(whole.CountAt(at), n); sum != want {
							t.Errorf("offered before %s: parts %d, plan %d", at, sum, want)
						}
					}
				})
			}
		}
	}
}

func TestSplitRefuses(t *testing.T) {
	s := load.DefaultScenario()
	closed := s
	closed.Model = load.ModelClosed
	tests := []struct {
		name string
		s    load.Scenario
		sp   load.Split
		want string
	}{
		{"NoShards", s, load.Split{}, "shards 0"},
		{"TooMany", s, load.Split{Shards: load.MaxShards + 1}, "shards 10001"},
		{"ShortSegment", s, load.Split{Shards: 2, Segment: time.Millisecond}, "at least 1s"},
		{"ClosedModel", closed, load.Split{Shards: 2}, "only the open model"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := tt.sp.Parts(&tt.s)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("got %v, want an error with %q", err, tt.want)
			}
		})
	}
}

func TestSplitID(t *testing.T) {
	s := load.DefaultScenario()
	s.Headers = load.Headers{"x-api-key": "secret"}
	sp := load.Split{Shards: 3, StartAt: time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC), Seed: 42}
	id := sp.ID(&s)
	same := s
	same.Thresholds = load.Thresholds{{Source: "errors<1%"}}
	same.Headers = load.Headers{"x-api-key": "another"}
	if sp.ID(&same) != id {
		t.Error("thresholds or header values change the plan's identity; they do not change what is sent")
	}
	other := s
	other.Rate++
	for name, got := range map[string]string{
		"rate":   sp.ID(&other),
		"shards": load.Split{Shards: 4, StartAt: sp.StartAt, Seed: 42}.ID(&s),
		"start":  load.Split{Shards: 3, StartAt: sp.StartAt.Add(time.Second), Seed: 42}.ID(&s),
		"seed":   load.Split{Shards: 3, StartAt: sp.StartAt, Seed: 43}.ID(&s),
	} {
		if got == id {
			t.Errorf("a different %s keeps the plan's identity", name)
		}
	}
}

// shardServer is a target that gives every item it creates an id, and
// remembers which shard (by User-Agent) created it: a request on an item
// from another shard is a crossing.
type shardServer struct {
	*httptest.Server
	mu        sync.Mutex
	owner     map[string]string
	seq       int
	requests  atomic.Int64
	crossings atomic.Int64
	byAgent   sync.Map // User-Agent -> *atomic.Int64
}

func newShardServer(t testing.TB) *shardServer {
	s := &shardServer{owner: map[string]string{}}
	s.Server = httptest.NewServer(http.HandlerFunc(s.serve))
	t.Cleanup(s.Close)
	return s
}

func (s *shardServer) serve(w http.ResponseWriter, r *http.Request) {
	s.requests.Add(1)
	_, _ = io.Copy(io.Discard, r.Body)
	ua := r.Header.Get("User-Agent")
	v, _ := s.byAgent.LoadOrStore(ua, new(atomic.Int64))
	v.(*atomic.Int64).Add(1)
	s.mu.Lock()
	defer s.mu.Unlock()
	if r.URL.Path == "/items" && r.Method == http.MethodPost {
		s.seq++
		id := "it" + strconv.Itoa(s.seq)
		s.owner[id] = ua
		w.WriteHeader(http.StatusCreated)
		io.WriteString(w, `{"id":"`+id+`"}`)
		return
	}
	if id, ok := strings.CutPrefix(r.URL.Path, "/items/"); ok {
		owner, known := s.owner[id]
		if !known {
			w.WriteHeader(http.StatusNotFound)
			return
		}
		if owner != ua {
			s.crossings.Add(1)
		}
		if r.Method == http.MethodDelete {
			delete(s.owner, id)
			w.WriteHeader(http.StatusNoContent)
			return
		}
	}
	io.WriteString(w, `{"id":"x","items":[]}`)
}

// TestPartsRunThePlan runs the three parts of a split plan at once, in
// this process, against one target: the target gets exactly the planned
// requests, each shard its share, each under its own User-Agent, and no
// shard reads, changes or deletes another's items. Every part waits for
// the agreed start.
func TestPartsRunThePlan(t *testing.T) {
	srv := newShardServer(t)
	s := load.DefaultScenario()
	s.Target, s.Rate, s.Duration = srv.URL, 300, time.Second
	s.IDs.Preseed = 10
	s.Grace = 30 * time.Second // a busy machine sends late, never drops
	s.Payloads = load.Payloads{{Size: 64, Weight: 1}}
	sp := load.Split{Shards: 3, StartAt: time.Now().Add(300 * time.Millisecond), Seed: 99}
	parts, err := sp.Parts(&s)
	if err != nil {
		t.Fatal(err)
	}
	results := make([]*load.Result, len(parts))
	var wg sync.WaitGroup
	for i, p := range parts {
		wg.Add(1)
		go func() {
			defer wg.Done()
			res, err := load.Run(context.Background(), s, load.WithPart(p))
			if err != nil {
				t.Error(err)
				return
			}
			results[i] = res
		}()
	}
	wg.Wait()
	if t.Failed() {
		return
	}
	var sent, created int64
	for i, r := range results {
		p := parts[i]
		if r.Part == nil || r.Part.Shard != p.Shard || r.Part.PlanID != sp.ID(&s) {
			t.Fatalf("part %d: result says %+v", i, r.Part)
		}
		if want := int64(100); r.Planned != want || r.Sent != want || r.Total.Count != want {
			t.Errorf("shard %d: planned %d sent %d done %d, want %d each", p.Shard, r.Planned, r.Sent, r.Total.Count, want)
		}
		if r.Started.Before(sp.StartAt.Add(-time.Millisecond)) {
			t.Errorf("shard %d started at %s, before the agreed %s", p.Shard, r.Started, sp.StartAt)
		}
		for _, q := range r.Series {
			if q.Done > 0 && q.Hist == "" {
				t.Errorf("shard %d: a point without its histogram", p.Shard)
			}
		}
		sent += r.Sent
		created += int64(r.Preseed.Created)
		if n, ok := srv.byAgent.Load(fmt.Sprintf("surge-load (shard %d of 3)", p.Shard)); !ok || n.(*atomic.Int64).Load() != r.Sent+int64(r.Preseed.Requested) {
			t.Errorf("shard %d: the target saw %v requests under its User-Agent, want %d", p.Shard, n, r.Sent+int64(r.Preseed.Requested))
		}
		if r.Preseed.Requested != []int{4, 3, 3}[p.Shard] {
			t.Errorf("shard %d preseeds %d items, want its round-robin share of 10", p.Shard, r.Preseed.Requested)
		}
	}
	if got := srv.requests.Load(); got != sent+created || sent != 300 || created != 10 {
		t.Errorf("the target got %d requests; the parts sent %d and preseeded %d, the plan has 300 and 10", got, sent, created)
	}
	if c := srv.crossings.Load(); c != 0 {
		t.Errorf("%d requests touched another shard's item", c)
	}
}

// TestPartStartsByItsClock gives a part a wall clock a second ahead of
// the real one: it then reads the agreed start as past and starts at
// once, counting itself that late.
func TestPartStartsByItsClock(t *testing.T) {
	srv := newShardServer(t)
	s := load.DefaultScenario()
	s.Target, s.Rate, s.Duration, s.IDs.Preseed, s.Grace = srv.URL, 20, 200*time.Millisecond, 0, 30*time.Second
	sp := load.Split{Shards: 1, StartAt: time.Now().Add(100 * time.Millisecond), Seed: 1}
	parts, _ := sp.Parts(&s)
	ahead := func() time.Time { return time.Now().Add(time.Second) }
	res, err := load.Run(context.Background(), s, load.WithPart(parts[0]), load.WithWallClock(ahead))
	if err != nil {
		t.Fatal(err)
	}
	if res.Part.ReadyLateMs < 850 || res.Part.ReadyLateMs > 1000 {
		t.Errorf("ready %v ms late, want about 900", res.Part.ReadyLateMs)
	}
	// Its requests were all due before it started: every one is late.
	if res.Sent != 4 || res.Late != 4 {
		t.Errorf("sent %d, late %d; want 4 and 4", res.Sent, res.Late)
	}
}
