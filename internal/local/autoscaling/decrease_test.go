package autoscaling

import (
	"testing"
	"time"
)

func TestDynamoDBDecreases(t *testing.T) {
	day := time.Date(2026, 3, 2, 0, 0, 0, 0, time.UTC)
	at := func(hm string) time.Time {
		d, err := time.Parse("15:04", hm)
		if err != nil {
			t.Fatal(err)
		}
		return day.Add(time.Duration(d.Hour())*time.Hour + time.Duration(d.Minute())*time.Minute)
	}
	cases := []struct {
		name string
		past []string
		now  string
		want bool
	}{
		{"first of the day", nil, "09:00", true},
		{"second in the first hour", []string{"09:00"}, "09:30", true},
		{"fourth in the first hour", []string{"09:00", "09:10", "09:20"}, "09:59", true},
		{"fifth in the first hour", []string{"09:00", "09:10", "09:20", "09:30"}, "09:40", false},
		{"an hour after the fourth", []string{"09:00", "09:10", "09:20", "09:30"}, "10:30", true},
		{"under an hour after the fourth", []string{"09:00", "09:10", "09:20", "09:30"}, "10:29", false},
		{"second, after the first hour, within an hour of the last", []string{"09:00", "09:50"}, "10:10", false},
		{"second, after the first hour, an hour after the last", []string{"09:00"}, "11:00", true},
		{"yesterday's do not count", []string{"-1:00"}, "00:01", true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var past []time.Time
			for _, p := range c.past {
				if p == "-1:00" {
					past = append(past, day.Add(-time.Hour))
					continue
				}
				past = append(past, at(p))
			}
			if got := DynamoDBDecreases(at(c.now), past); got != c.want {
				t.Errorf("got %v, want %v", got, c.want)
			}
		})
	}
	// Greedy decreases over a whole day: 27 at most.
	var past []time.Time
	for m := range 24 * 60 {
		now := day.Add(time.Duration(m) * time.Minute)
		if DynamoDBDecreases(now, past) {
			past = append(past, now)
		}
	}
	if len(past) != 27 {
		t.Errorf("got %d decreases in a day, want 27", len(past))
	}
}
