package lambda

import (
	"strings"
	"testing"
	"time"
)

func FuzzParseServerTiming(f *testing.F) {
	for _, s := range []string{"store;dur=0.41, total;dur=0.93", `a;desc="x";dur=1`, "bad name;dur=1", "x;dur=-1", "x;dur=1e300",
		", ,;;=,", "store;DUR=2", `cache;dur="3.5"`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, v string) {
		for _, m := range parseServerTiming(v) {
			if m.name == "" || !tokenOK(m.name) || strings.ContainsAny(m.name, ",;= ") {
				t.Errorf("%q: got name %q", v, m.name)
			}
			if m.dur < 0 {
				t.Errorf("%q: got a negative duration %v", v, m.dur)
			}
		}
	})
}

func FuzzParseFunctionName(f *testing.F) {
	for _, s := range []string{"fn", "fn:$LATEST", "fn:live", "arn:aws:lambda:us-east-1:000000000000:function:fn",
		"arn:aws:lambda:us-east-1:000000000000:function:fn:7", "000000000000:function:fn", "a:b:c:d", "fn:", ":", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		name, q, err := parseFunctionName(s)
		if err != nil {
			return
		}
		if !nameRe.MatchString(name) || strings.Contains(q, ":") {
			t.Errorf("%q: got name %q qualifier %q", s, name, q)
		}
	})
}

func FuzzParseSchedule(f *testing.F) {
	for _, s := range []string{"cron(0 8 ? * MON-FRI *)", "cron(*/5 1-3 1,15 JAN-MAR ? 2026-2030/2)", "rate(5 minutes)",
		"at(2026-01-01T00:00:00)", "cron(0 0 31 2 ? *)", "cron(59 23 ? DEC SAT 2199)", "cron(0/0 * * * ? *)"} {
		f.Add(s)
	}
	origin := time.Date(2026, 3, 2, 7, 0, 0, 0, time.UTC)
	f.Fuzz(func(t *testing.T, expr string) {
		s, err := parseScheduleFrom(expr, "", origin)
		if err != nil {
			return
		}
		// next ends, and moves forward.
		after := origin
		for range 3 {
			n := s.next(after)
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
