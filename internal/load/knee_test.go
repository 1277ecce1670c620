package load_test

import (
	"context"
	"fmt"
	"math"
	"net/http"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"github.com/surgehq/surge/internal/load"
	"github.com/surgehq/surge/internal/local/gateway"
)

// throttledServer is an itemsServer behind the gateway's own stage
// throttle of rate requests a second: its knee is the throttle's rate.
func throttledServer(t *testing.T, rate float64) *itemsServer {
	t.Helper()
	srv := newItemsServer(t)
	th := gateway.NewThrottle(gateway.ThrottleConfig{Stage: gateway.NewLimit(rate, int(rate/10))})
	srv.Config.Handler = th.Middleware()(http.HandlerFunc(srv.serve))
	return srv
}

func kneeConfig(max float64) load.KneeConfig {
	c := load.DefaultKneeConfig()
	c.Start, c.Max, c.Factor = 100, max, 1.5
	c.Warm, c.Hold = 200*time.Millisecond, time.Second
	c.Bisect, c.Resolution = 3, 0.05
	return c
}

func TestFindKnee(t *testing.T) {
	srv := throttledServer(t, 300)
	s := scenario(srv.URL)
	var started []float64
	ks, err := load.FindKnee(context.Background(), s, kneeConfig(2000), load.KneeOptions{
		Run:     []load.Option{load.WithSeed(1), load.WithInterval(100 * time.Millisecond)},
		OnStart: func(offered float64, warm bool) { started = append(started, offered) },
	})
	if err != nil {
		t.Fatal(err)
	}
	k := ks.Knee
	// The throttle refuses what passes 300/s and its burst of 30 in a
	// one-second hold, and 1% of refusals fail a step: no step passes
	// above (300 + 30) / 0.99. (How far below it the knee is found
	// depends on how busy the machine is: a generator that cannot keep the
	// pace fails a step too, and says so.)
	if ks.At < 0 || ks.Results[ks.At].Knee == nil || k.Offered > 334 || k.Rate <= 0 || k.Reached || k.Note == "" {
		t.Fatalf("knee %+v (step %d): want one found under 334/s (the throttle's rate and burst), with a note", k, ks.At)
	}
	lastGrow, good, bad := 0, 0.0, 1e18
	for i, st := range k.Steps {
		if st.Offered > 2000 {
			t.Errorf("step %d offered %.1f/s, over the bound", i, st.Offered)
		}
		if !st.Pass && st.Why == "" {
			t.Errorf("step %d at %.1f/s failed without a reason", i, st.Offered)
		}
		if st.Pass && st.Offered > 334 {
			t.Errorf("step %d at %.1f/s passed, over the throttle's rate", i, st.Offered)
		}
		switch st.Phase {
		case "grow":
			// 100, 150, 225, ... until one fails.
			if want := 100 * math.Pow(1.5, float64(i)); math.Abs(st.Offered-want) > 1e-9 || i != lastGrow {
				t.Errorf("grow step %d offered %.1f/s, want %.1f/s right after the grow steps before it", i, st.Offered, want)
			}
			lastGrow = i + 1
		case "bisect":
			if st.Offered <= good || st.Offered >= bad {
				t.Errorf("bisect step %d at %.1f/s, outside the last good %.1f/s and first bad %.1f/s", i, st.Offered, good, bad)
			}
		}
		if st.Pass {
			good = st.Offered
		} else {
			bad = min(bad, st.Offered)
		}
	}
	bisect := len(k.Steps) - lastGrow
	if k.Steps[lastGrow-1].Pass || bisect == 0 || bisect > 3 || len(ks.Results) != len(k.Steps) || len(started) != 2*len(k.Steps) {
		t.Errorf("%d grow and %d bisect steps, %d results, %d starts: want the grow steps to end on a failure, then 1 to 3 bisections, a warm-up and a hold each",
			lastGrow, bisect, len(ks.Results), len(started))
	}
}

func TestFindKneeBound(t *testing.T) {
	srv := throttledServer(t, 1000)
	s := scenario(srv.URL)
	ks, err := load.FindKnee(context.Background(), s, kneeConfig(180), load.KneeOptions{
		Run: []load.Option{load.WithSeed(1), load.WithInterval(100 * time.Millisecond)}})
	if err != nil {
		t.Fatal(err)
	}
	k := ks.Knee
	// 100, 150, then the bound itself, never more; when all three pass
	// (the throttle is far above), the search ends there, the bound
	// reached.
	want := []float64{100, 150, 180}
	for i, st := range k.Steps {
		if st.Offered > 180 {
			t.Fatalf("a step offered %.1f/s, over the bound of 180", st.Offered)
		}
		if st.Phase == "grow" && st.Offered != want[i] {
			t.Errorf("grow step %d offered %.1f/s, want %.1f/s", i, st.Offered, want[i])
		}
	}
	passed := len(k.Steps) == 3
	for _, st := range k.Steps {
		passed = passed && st.Pass
	}
	if passed != k.Reached || (k.Reached && k.Offered != 180) {
		t.Fatalf("knee %+v: the bound is reached exactly when the three steps up to it passed", k)
	}
}

func TestKneeConfigValidate(t *testing.T) {
	for name, c := range map[string]load.KneeConfig{
		"NoBound":     {Factor: 1.5, Hold: time.Second},
		"Factor":      {Max: 10, Factor: 1, Hold: time.Second},
		"Hold":        {Max: 10, Factor: 2},
		"StartOver":   {Max: 10, Start: 20, Factor: 2, Hold: time.Second},
		"Tolerance":   {Max: 10, Factor: 2, Hold: time.Second, Tolerance: 1},
		"NegativeP99": {Max: 10, Factor: 2, Hold: time.Second, MaxP99: -1},
	} {
		if len(c.Validate()) == 0 {
			t.Errorf("%s: %+v validated", name, c)
		}
	}
	c := load.DefaultKneeConfig()
	c.Max = 100
	if errs := c.Validate(); len(errs) > 0 {
		t.Errorf("the default config with a bound: %v", errs)
	}
}

// TestFindKneeRetries fails the second step's first hold on purpose (the
// target refuses everything while it runs, as a busy moment of a shared
// machine might): with a retry, the step runs again, passes, and the
// search goes on above it.
func TestFindKneeRetries(t *testing.T) {
	srv := newItemsServer(t)
	var hiccup atomic.Bool
	srv.Config.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if hiccup.Load() {
			http.Error(w, `{"code":"unavailable"}`, http.StatusServiceUnavailable)
			return
		}
		srv.serve(w, r)
	})
	c := kneeConfig(180)
	c.Retries = 1
	holds := 0
	ks, err := load.FindKnee(context.Background(), scenario(srv.URL), c, load.KneeOptions{
		Run: []load.Option{load.WithSeed(1), load.WithInterval(100 * time.Millisecond)},
		OnStart: func(offered float64, warm bool) {
			if !warm {
				holds++
			}
			hiccup.Store(!warm && holds == 2) // the second hold only
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	var phases []string
	for _, st := range ks.Knee.Steps {
		phases = append(phases, fmt.Sprintf("%s %.0f %v", st.Phase, st.Offered, st.Pass))
	}
	want := []string{"grow 100 true", "grow 150 false", "retry 150 true", "grow 180 true"}
	if !slices.Equal(phases, want) || !ks.Knee.Reached || ks.Knee.Offered != 180 {
		t.Fatalf("steps %q, knee %+v: want the failed step run again, and the search on to the bound", phases, ks.Knee)
	}
}
