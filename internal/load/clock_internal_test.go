package load

import (
	"testing"
	"time"
)

func FuzzParseClockReply(f *testing.F) {
	f.Add([]byte(`{"received":"2026-12-01T10:00:00.000000001Z","replied":"2026-12-01T10:00:00.000000002Z"}`))
	f.Add([]byte(`{"received":"2026-12-01T10:00:00Z","replied":"2026-12-01T09:00:00Z"}`))
	f.Add([]byte(`{}`))
	f.Add([]byte(`[`))
	f.Fuzz(func(t *testing.T, b []byte) {
		rep, err := parseClockReply(b)
		if err == nil && (rep.Received.IsZero() || rep.Replied.Before(rep.Received)) {
			t.Fatalf("accepted %q as %+v", b, rep)
		}
	})
}

func TestClockSample(t *testing.T) {
	// The generator's clock is 3 s ahead; 40 ms there, 10 ms back, and 5 s
	// of work between receipt and reply.
	t0 := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	s := ClockSample{
		Sent:     t0,
		Received: t0.Add(3*time.Second + 40*time.Millisecond),
		Replied:  t0.Add(3*time.Second + 40*time.Millisecond + 5*time.Second),
		Returned: t0.Add(40*time.Millisecond + 5*time.Second + 10*time.Millisecond),
	}
	if s.Delay() != 50*time.Millisecond {
		t.Errorf("delay %s, want the 50 ms on the network", s.Delay())
	}
	// The offset is off by half the asymmetry (15 ms), within the error.
	c := s.Clock(ClockViaInvoke)
	if c.OffsetMs != 3015 || c.ErrorMs != 25 || c.Via != "invoke" {
		t.Errorf("got %+v, want 3015 ms within 25 ms", c)
	}
}
