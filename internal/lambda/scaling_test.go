package lambda

import (
	"testing"
	"time"
)

func mustTime(t *testing.T, s, tz string) time.Time {
	t.Helper()
	loc, err := time.LoadLocation(tz)
	if err != nil {
		t.Fatal(err)
	}
	v, err := time.ParseInLocation("2006-01-02 15:04", s, loc)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func TestScheduleNext(t *testing.T) {
	origin := mustTime(t, "2026-03-02 07:30", "UTC") // a Monday
	cases := []struct {
		expr, tz, after, want string
	}{
		// The template's business hours.
		{"cron(0 8 ? * MON-FRI *)", "UTC", "2026-03-02 07:30", "2026-03-02 08:00"},
		{"cron(0 8 ? * MON-FRI *)", "UTC", "2026-03-02 08:00", "2026-03-03 08:00"},
		{"cron(0 8 ? * MON-FRI *)", "UTC", "2026-03-06 09:00", "2026-03-09 08:00"}, // Friday -> Monday
		{"cron(0 19 ? * MON-FRI *)", "Europe/Amsterdam", "2026-03-02 07:30", "2026-03-02 19:00"},
		// Across the switch to summer time (29 March 2026 in Europe).
		{"cron(0 8 ? * SUN *)", "Europe/Amsterdam", "2026-03-28 12:00", "2026-03-29 08:00"},
		{"cron(*/15 * * * ? *)", "UTC", "2026-03-02 07:31", "2026-03-02 07:45"},
		{"cron(0 0 1 JAN,JUL ? *)", "UTC", "2026-03-02 07:30", "2026-07-01 00:00"},
		{"cron(30 6 L ? * *)", "UTC", "", ""},                                    // L is refused
		{"cron(0 12 ? * 1 2027)", "UTC", "2026-03-02 07:30", "2027-01-03 12:00"}, // 1 = SUN
		{"cron(0 12 ? * 1 2020)", "UTC", "2026-03-02 07:30", "never"},
		{"rate(5 minutes)", "UTC", "2026-03-02 07:31", "2026-03-02 07:35"},
		{"rate(1 hour)", "UTC", "2026-03-02 07:30", "2026-03-02 08:30"},
		{"at(2026-03-02T09:15:00)", "UTC", "2026-03-02 07:30", "2026-03-02 09:15"},
		{"at(2026-03-02T09:15:00)", "UTC", "2026-03-02 09:15", "never"},
	}
	for _, c := range cases {
		s, err := parseScheduleFrom(c.expr, c.tz, origin)
		if c.want == "" {
			if err == nil {
				t.Errorf("%s: got no error", c.expr)
			}
			continue
		}
		if err != nil {
			t.Errorf("%s: %v", c.expr, err)
			continue
		}
		got := s.next(mustTime(t, c.after, c.tz))
		if c.want == "never" {
			if !got.IsZero() {
				t.Errorf("%s after %s: got %v, want never", c.expr, c.after, got)
			}
			continue
		}
		if want := mustTime(t, c.want, c.tz); !got.Equal(want) {
			t.Errorf("%s after %s (%s): got %v, want %v", c.expr, c.after, c.tz, got, want)
		}
	}
	for _, bad := range []string{"cron(0 8 * * MON-FRI *)", "cron(0 8 ? * ? *)", "cron(60 8 ? * MON *)", "cron(0 8 ? * MON)",
		"rate(1 hours)", "rate(2 hour)", "rate(0 minutes)", "rate(5 weeks)", "at(tomorrow)", "every day", "cron(0 ? ? * MON *)"} {
		if _, err := parseSchedule(bad, ""); err == nil {
			t.Errorf("%s: got no error", bad)
		}
	}
	if _, err := parseSchedule("cron(0 8 ? * MON *)", "Mars/Olympus"); err == nil {
		t.Error("an unknown time zone: got no error")
	}
}

func TestScalerSchedules(t *testing.T) {
	now := mustTime(t, "2026-03-02 07:00", "UTC")
	cfg := &Config{Provisioned: 5, MaxProvisioned: 50, Schedule: []ScheduledAction{
		{Schedule: "cron(0 8 ? * MON-FRI *)", Min: 10, Max: 50},
		{Schedule: "cron(0 19 ? * MON-FRI *)", Min: 5, Max: 50},
		{Schedule: "at(2026-03-02T20:00:00)", Min: -1, Max: 2},
	}}
	s := newScaler(cfg, now)
	steps := []struct {
		at       string
		want     int
		min, max int
	}{
		{"2026-03-02 07:59", 5, 5, 50},
		{"2026-03-02 08:00", 10, 10, 50},
		// Without target tracking, a lower minimum does not lower the
		// capacity, as with Application Auto Scaling.
		{"2026-03-02 19:00", 10, 5, 50},
		// A lower maximum does.
		// A maximum under the minimum is raised to it.
		{"2026-03-02 20:00", 5, 5, 5},
	}
	for _, st := range steps {
		if got := s.tick(mustTime(t, st.at, "UTC"), 0); got != st.want || s.min != st.min || s.max != st.max {
			t.Errorf("at %s: got %d in [%d, %d], want %d in [%d, %d]", st.at, got, s.min, s.max, st.want, st.min, st.max)
		}
	}
}

func TestScalerTargetTracking(t *testing.T) {
	start := mustTime(t, "2026-03-02 07:00", "UTC")
	s := newScaler(&Config{Provisioned: 5, MaxProvisioned: 20, TargetUtilization: 0.7}, start)
	// Feed per-second samples at a utilisation for some minutes and
	// return the capacity after.
	at := start
	run := func(minutes int, u float64) int {
		var got int
		for range minutes * 60 {
			at = at.Add(time.Second)
			got = s.tick(at, u)
		}
		return got
	}
	// Two minutes over the target are not enough; the third is.
	if got := run(2, 0.9); got != 5 {
		t.Fatalf("after 2 minutes at 0.9: got %d, want 5", got)
	}
	// The third minute's average is seen as the fourth minute begins:
	// ceil(5 * 0.9 / 0.7) = 7.
	if got := run(2, 0.9); got != 7 {
		t.Fatalf("after 4 minutes at 0.9: got %d, want 7", got)
	}
	// At the target: no change.
	if got := run(20, 0.7); got != 7 {
		t.Fatalf("at the target: got %d, want 7", got)
	}
	// Under 90% of the target: 15 minutes pass first, then
	// ceil(7 * 0.3 / 0.7) = 3, held at the minimum 5.
	if got := run(14, 0.3); got != 7 {
		t.Fatalf("after 14 minutes at 0.3: got %d, want 7", got)
	}
	if got := run(3, 0.3); got != 5 {
		t.Fatalf("after 17 minutes at 0.3: got %d, want 5 (the minimum)", got)
	}
	// Never over the maximum.
	if got := run(30, 1); got != 20 {
		t.Fatalf("at full utilisation: got %d, want the maximum 20", got)
	}
}
