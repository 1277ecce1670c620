package load_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/surgehq/surge/internal/load"
)

// TestMeasureClock measures a generator's clock against a coordinator's
// whose clock is 3 s behind: the offset is +3 s, within its error bound,
// and the bound is small on loopback.
func TestMeasureClock(t *testing.T) {
	behind := func() time.Time { return time.Now().Add(-3 * time.Second) }
	srv := httptest.NewServer(load.ClockHandler(behind))
	t.Cleanup(srv.Close)
	c, err := load.MeasureClock(context.Background(), srv.Client(), srv.URL, time.Now)
	if err != nil {
		t.Fatal(err)
	}
	if c.Via != load.ClockViaHTTP || c.ErrorMs > 250 || c.OffsetMs < 3000-c.ErrorMs-1 || c.OffsetMs > 3000+c.ErrorMs+1 {
		t.Errorf("got %+v, want +3000 ms within its error", c)
	}
	bad := httptest.NewServer(http.NotFoundHandler())
	t.Cleanup(bad.Close)
	if _, err := load.MeasureClock(context.Background(), bad.Client(), bad.URL, time.Now); err == nil {
		t.Error("a URL that is not a clock measured")
	}
}

// TestMergeAlignsOnTheCoordinatorsClock: a part whose clock ran a second
// ahead started a second early by the coordinator's; its points move a
// second back on the merged time line.
func TestMergeAlignsOnTheCoordinatorsClock(t *testing.T) {
	s := load.DefaultScenario()
	s.Rate, s.Duration = 10, 3*time.Second
	sp := load.Split{Shards: 2, StartAt: time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC), Seed: 5}
	parts, _ := sp.Parts(&s)
	sec := [][]int64{{1000}, {2000}, {3000}}
	a, b := partResult(t, s, parts[0], sec), partResult(t, s, parts[1], sec)
	b.Part.Clock = load.Clock{OffsetMs: 1000, ErrorMs: 2, Via: load.ClockViaInvoke}
	m, err := load.Merge([]*load.Result{a, b}, load.MergeOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var got []float64
	for _, p := range m.Series {
		got = append(got, p.T, float64(p.Done))
	}
	want := []float64{0, 1, 1, 2, 2, 2, 3, 1}
	if len(got) != len(want) {
		t.Fatalf("series %v, want (t, done) %v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("series %v, want (t, done) %v", got, want)
		}
	}
}
