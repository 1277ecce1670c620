package autoscaling

import (
	"fmt"
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

func mustScaler(t *testing.T, p Policy, now time.Time) *Scaler {
	t.Helper()
	s, err := New(p, now)
	if err != nil {
		t.Fatal(err)
	}
	return s
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
		s, err := ParseSchedule(c.expr, c.tz, origin)
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
		got := s.Next(mustTime(t, c.after, c.tz))
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
		"rate(1 hours)", "rate(2 hour)", "rate(0 minutes)", "rate(5 weeks)", "rate(9999999999 days)", "rate(99999999999 minutes)", "at(tomorrow)", "every day", "cron(0 ? ? * MON *)"} {
		if _, err := ParseSchedule(bad, "", origin); err == nil {
			t.Errorf("%s: got no error", bad)
		}
	}
	if _, err := ParseSchedule("cron(0 8 ? * MON *)", "Mars/Olympus", origin); err == nil {
		t.Error("an unknown time zone: got no error")
	}
}

func TestScalerSchedules(t *testing.T) {
	now := mustTime(t, "2026-03-02 07:00", "UTC")
	s := mustScaler(t, Policy{Min: 5, Max: 50, Actions: []Action{
		{Schedule: "cron(0 8 ? * MON-FRI *)", Min: 10, Max: 50},
		{Schedule: "cron(0 19 ? * MON-FRI *)", Min: 5, Max: 50},
		{Schedule: "at(2026-03-02T20:00:00)", Min: -1, Max: 2},
	}}, now)
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
		if got := s.Tick(mustTime(t, st.at, "UTC"), 0); got != st.want || s.Min() != st.min || s.Max() != st.max {
			t.Errorf("at %s: got %d in [%d, %d], want %d in [%d, %d]", st.at, got, s.Min(), s.Max(), st.want, st.min, st.max)
		}
	}
}

func TestScalerLambdaAlarms(t *testing.T) {
	start := mustTime(t, "2026-03-02 07:00", "UTC")
	s := mustScaler(t, Policy{Min: 5, Max: 20, Target: 0.7, Alarms: LambdaAlarms}, start)
	// Feed per-second samples at a utilisation for some minutes and
	// return the capacity after.
	at := start
	run := func(minutes int, u float64) int {
		var got int
		for range minutes * 60 {
			at = at.Add(time.Second)
			got = s.Tick(at, u)
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

func TestScalerDynamoDBAlarms(t *testing.T) {
	start := mustTime(t, "2026-03-02 07:00", "UTC")
	var changes []Change
	s := mustScaler(t, Policy{Min: 10, Max: 100, Target: 0.7, Alarms: DynamoDBAlarms,
		OnChange: func(c Change) { changes = append(changes, c) }}, start)
	at := start
	// run adds one datapoint a minute and returns the capacity after.
	run := func(minutes int, u float64) int {
		var got int
		for range minutes {
			at = at.Add(time.Minute)
			got = s.Datapoint(at, u, true)
		}
		return got
	}
	// One minute over the target is not enough; the second is:
	// ceil(10 * 0.9 / 0.7) = 13.
	if got := run(1, 0.9); got != 10 {
		t.Fatalf("after 1 minute at 0.9: got %d, want 10", got)
	}
	if got := run(1, 0.9); got != 13 {
		t.Fatalf("after 2 minutes at 0.9: got %d, want 13", got)
	}
	if len(changes) != 1 || changes[0].From != 10 || changes[0].To != 13 || !changes[0].At.Equal(at) {
		t.Fatalf("got changes %+v, want one from 10 to 13 at %v", changes, at)
	}
	// 0.55 is under the target but over the scale-in threshold, 0.5: no
	// change however long.
	if got := run(30, 0.55); got != 13 {
		t.Fatalf("at 0.55: got %d, want 13", got)
	}
	// Under 0.5: 14 minutes are not enough, the 15th is:
	// ceil(13 * 0.3 / 0.7) = 6, held at the minimum 10.
	if got := run(14, 0.3); got != 13 {
		t.Fatalf("after 14 minutes at 0.3: got %d, want 13", got)
	}
	if got := run(1, 0.3); got != 10 {
		t.Fatalf("after 15 minutes at 0.3: got %d, want 10", got)
	}
	// Minutes without a datapoint (no traffic) break the runs: 40 minutes
	// without traffic do not scale in, and a datapoint over the target
	// between gaps does not scale out.
	s2 := mustScaler(t, Policy{Min: 1, Max: 100, Initial: 50, Target: 0.7, Alarms: DynamoDBAlarms}, start)
	at2 := start
	for i := range 40 {
		at2 = at2.Add(time.Minute)
		got := s2.Datapoint(at2, 0, false)
		if i == 20 {
			got = s2.Datapoint(at2, 0.9, true)
		}
		if got != 50 {
			t.Fatalf("minute %d without traffic: got %d, want 50", i, got)
		}
	}
}

func TestScalerDecreaseLimit(t *testing.T) {
	start := mustTime(t, "2026-03-02 00:00", "UTC")
	t.Run("scheduled", func(t *testing.T) {
		// Five scheduled actions lower the maximum a minute apart; the
		// fifth decrease of the first hour is refused, and made when the
		// limit allows it, an hour after the fourth.
		var refusals []Change
		var actions []Action
		for i := range 5 {
			actions = append(actions, Action{Name: fmt.Sprint("down", i+1), Schedule: fmt.Sprintf("at(2026-03-02T00:0%d:00)", i+1), Min: -1, Max: 90 - 10*i})
		}
		s := mustScaler(t, Policy{Min: 1, Max: 100, Initial: 100, Decreases: DynamoDBDecreases, Actions: actions,
			OnChange: func(c Change) {
				if c.From == c.To && c.Max < c.From {
					refusals = append(refusals, c)
				}
			}}, start)
		steps := []struct {
			at   string
			want int
		}{{"00:01", 90}, {"00:04", 60}, {"00:05", 60}, {"00:30", 60}, {"01:03", 60}, {"01:04", 50}}
		for _, st := range steps {
			if got := s.Advance(mustTime(t, "2026-03-02 "+st.at, "UTC")); got != st.want {
				t.Fatalf("at %s: got %d, want %d", st.at, got, st.want)
			}
		}
		// Refused at 00:05, and not told again at every call until 01:04.
		if len(refusals) != 1 || refusals[0].Max != 50 || refusals[0].To != 60 {
			t.Errorf("got refusals %+v, want the fifth decrease refused, once", refusals)
		}
	})
	t.Run("target tracking", func(t *testing.T) {
		// Every minute's datapoint asks to halve the capacity (one
		// datapoint scales in here): 1000, 500, ..., 1 is ten decreases,
		// four in the first hour, then one an hour.
		s := mustScaler(t, Policy{Min: 1, Max: 1000, Initial: 1000, Target: 0.7,
			Alarms: Alarms{OutPoints: 2, InPoints: 1, InRatio: 1, InOffset: 0.2}, Decreases: DynamoDBDecreases}, start)
		at, last := start, s.Desired()
		var times []string
		for range 24 * 60 {
			at = at.Add(time.Minute)
			if got := s.Datapoint(at, 0.35, true); got < last {
				times = append(times, at.Format("15:04"))
				last = got
			}
		}
		want := []string{"00:01", "00:02", "00:03", "00:04", "01:04", "02:04", "03:04", "04:04", "05:04", "06:04"}
		if fmt.Sprint(times) != fmt.Sprint(want) || last != 1 {
			t.Errorf("got decreases at %v down to %d, want at %v down to 1", times, last, want)
		}
	})
}
