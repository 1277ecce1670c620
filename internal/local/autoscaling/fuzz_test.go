package autoscaling

import (
	"testing"
	"time"
)

func FuzzParseSchedule(f *testing.F) {
	for _, s := range []string{"cron(0 8 ? * MON-FRI *)", "cron(*/5 1-3 1,15 JAN-MAR ? 2026-2030/2)", "rate(5 minutes)",
		"at(2026-01-01T00:00:00)", "cron(0 0 31 2 ? *)", "cron(59 23 ? DEC SAT 2199)", "cron(0/0 * * * ? *)", "rate(3660 days)", "at(2199-12-31T23:59:59)"} {
		f.Add(s)
	}
	origin := time.Date(2026, 3, 2, 7, 0, 0, 0, time.UTC)
	f.Fuzz(func(t *testing.T, expr string) {
		s, err := ParseSchedule(expr, "", origin)
		if err != nil {
			return
		}
		// next ends, and moves forward.
		after := origin
		for range 3 {
			n := s.Next(after)
			if n.IsZero() {
				return
			}
			if !n.After(after) {
				t.Fatalf("%q: next after %v is %v", expr, after, n)
			}
			after = n
		}
	})
}
