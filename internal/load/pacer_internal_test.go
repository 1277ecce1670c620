package load

import (
	"sync"
	"testing"
	"time"
)

// fakeClock is a clock that sleeps by jumping to the wake-up time, for one
// goroutine; tests move it forward to play a worker that was busy.
type fakeClock struct{ t time.Duration }

func (c *fakeClock) now() time.Duration { return c.t }
func (c *fakeClock) newTimer() timer    { return c }
func (c *fakeClock) sleepUntil(done <-chan struct{}, at time.Duration) (time.Duration, time.Duration, bool) {
	select {
	case <-done:
		return 0, 0, false
	default:
	}
	wait := max(0, at-c.t)
	c.t = max(c.t, at)
	return c.t, wait, true
}

func newTestPacer(t *testing.T, rate float64, d time.Duration) *pacer {
	t.Helper()
	s, err := NewSchedule(rate, []Stage{{d, rate}})
	if err != nil {
		t.Fatal(err)
	}
	return &pacer{sched: s, limit: s.Len(), lateAfter: 10 * time.Millisecond, deadline: d + time.Second}
}

type want struct {
	n          int64
	at, woke   time.Duration
	late       bool
	lead       time.Duration // how long the worker slept for it
	busyBefore time.Duration // clock jump before taking: the worker was busy
}

func checkTickets(t *testing.T, p *pacer, c *fakeClock, done chan struct{}, wants []want) {
	t.Helper()
	for i, w := range wants {
		c.t += w.busyBefore
		tk, ok := p.take(c, c, done)
		if !ok {
			t.Fatalf("take %d: got no ticket", i)
		}
		if tk.n != w.n || tk.at != w.at || tk.woke != w.woke || tk.late != w.late || tk.lead != w.lead {
			t.Fatalf("take %d = %+v, want n=%d at=%s woke=%s late=%v lead=%s", i, tk, w.n, w.at, w.woke, w.late, w.lead)
		}
	}
}

func TestPacerOnTime(t *testing.T) {
	p := newTestPacer(t, 4, time.Second)
	c := &fakeClock{}
	done := make(chan struct{})
	ms := time.Millisecond
	checkTickets(t, p, c, done, []want{
		{n: 0, at: 0, woke: 0},
		{n: 1, at: 250 * ms, woke: 250 * ms, lead: 250 * ms},
		{n: 2, at: 500 * ms, woke: 500 * ms, lead: 250 * ms},
		{n: 3, at: 750 * ms, woke: 750 * ms, lead: 250 * ms},
	})
	if _, ok := p.take(c, c, done); ok {
		t.Fatal("took a fifth ticket from a plan of four")
	}
}

func TestPacerBusyWorkerIsLate(t *testing.T) {
	p := newTestPacer(t, 4, time.Second)
	c := &fakeClock{}
	done := make(chan struct{})
	ms := time.Millisecond
	// The response to request 0 takes 600ms: requests 1 and 2 go out late,
	// at once; request 3 is on time again.
	checkTickets(t, p, c, done, []want{
		{n: 0, at: 0, woke: 0},
		{n: 1, at: 250 * ms, woke: 600 * ms, late: true, busyBefore: 600 * ms},
		{n: 2, at: 500 * ms, woke: 600 * ms, late: true},
		{n: 3, at: 750 * ms, woke: 750 * ms, lead: 150 * ms},
	})
	// Within lateAfter is not late.
	p = newTestPacer(t, 4, time.Second)
	c = &fakeClock{}
	checkTickets(t, p, c, done, []want{
		{n: 0, at: 0, woke: 0},
		{n: 1, at: 250 * ms, woke: 260 * ms, busyBefore: 260 * ms},
	})
}

func TestPacerMaxLagDrops(t *testing.T) {
	p := newTestPacer(t, 4, time.Second)
	p.maxLag = 200 * time.Millisecond
	c := &fakeClock{}
	done := make(chan struct{})
	ms := time.Millisecond
	checkTickets(t, p, c, done, []want{
		{n: 0, at: 0, woke: 0},
		// Request 1 is 350ms late at 600ms: dropped. Request 2 is 100ms late.
		{n: 2, at: 500 * ms, woke: 600 * ms, late: true, busyBefore: 600 * ms},
	})
	if got := p.droppedLag.Load(); got != 1 {
		t.Fatalf("droppedLag = %d, want 1", got)
	}
}

func TestPacerStops(t *testing.T) {
	t.Run("Deadline", func(t *testing.T) {
		p := newTestPacer(t, 4, time.Second)
		p.deadline = time.Second
		c := &fakeClock{t: 1500 * time.Millisecond}
		if _, ok := p.take(c, c, make(chan struct{})); ok {
			t.Fatal("took a ticket past the deadline")
		}
	})
	t.Run("Done", func(t *testing.T) {
		p := newTestPacer(t, 4, time.Second)
		done := make(chan struct{})
		close(done)
		c := &fakeClock{}
		if _, ok := p.take(c, c, done); ok {
			t.Fatal("took a ticket after done closed")
		}
	})
	t.Run("Limit", func(t *testing.T) {
		p := newTestPacer(t, 4, time.Second)
		p.limit = 2
		c := &fakeClock{}
		done := make(chan struct{})
		for range 2 {
			if _, ok := p.take(c, c, done); !ok {
				t.Fatal("no ticket within the limit")
			}
		}
		if _, ok := p.take(c, c, done); ok {
			t.Fatal("took a ticket past the limit")
		}
	})
}

// TestPacerConcurrentClaims checks that concurrent workers get every
// request exactly once.
func TestPacerConcurrentClaims(t *testing.T) {
	p := newTestPacer(t, 1e6, 20*time.Millisecond)
	p.deadline = 2 * time.Hour
	clk := &realClock{start: time.Now().Add(-time.Hour)} // everything is due
	done := make(chan struct{})
	var mu sync.Mutex
	seen := make(map[int64]int)
	var wg sync.WaitGroup
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			tm := clk.newTimer()
			var mine []int64
			for {
				tk, ok := p.take(clk, tm, done)
				if !ok {
					break
				}
				mine = append(mine, tk.n)
			}
			mu.Lock()
			for _, n := range mine {
				seen[n]++
			}
			mu.Unlock()
		}()
	}
	wg.Wait()
	if len(seen) != 20000 {
		t.Fatalf("%d distinct tickets, want 20000", len(seen))
	}
	for n, k := range seen {
		if k != 1 || n < 0 || n >= 20000 {
			t.Fatalf("ticket %d handed out %d times", n, k)
		}
	}
}

func BenchmarkPacerTake(b *testing.B) {
	s, _ := NewSchedule(1e9, []Stage{{time.Hour, 1e9}})
	p := &pacer{sched: s, limit: s.Len(), deadline: 2 * time.Hour}
	clk := &realClock{start: time.Now().Add(-2 * time.Hour)}
	tm := clk.newTimer()
	done := make(chan struct{})
	b.ReportAllocs()
	for b.Loop() {
		p.take(clk, tm, done)
	}
}
