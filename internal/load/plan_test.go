package load_test

import (
	"math"
	"reflect"
	"testing"
	"time"

	"github.com/surgehq/surge/internal/load"
)

func ms(f float64) time.Duration { return time.Duration(math.Round(f * 1e6)) }

func TestScheduleAt(t *testing.T) {
	tests := []struct {
		name   string
		start  float64
		stages []load.Stage
		want   []time.Duration
		dur    time.Duration
	}{
		{
			name:   "Constant",
			start:  4,
			stages: []load.Stage{{Duration: time.Second, Target: 4}},
			want:   []time.Duration{0, 250 * time.Millisecond, 500 * time.Millisecond, 750 * time.Millisecond},
			dur:    time.Second,
		},
		{
			// N(t) = t^2, so request n is due at sqrt(n) seconds.
			name:   "RampUpFromZero",
			stages: []load.Stage{{Duration: 2 * time.Second, Target: 4}},
			want:   []time.Duration{0, time.Second, 1414213562, 1732050808},
			dur:    2 * time.Second,
		},
		{
			// N(t) = 4t - t^2, so request n is due at 2 - sqrt(4 - n).
			name:   "RampDownToZero",
			start:  4,
			stages: []load.Stage{{Duration: 2 * time.Second, Target: 0}},
			want:   []time.Duration{0, 267949192, 585786438, time.Second},
			dur:    2 * time.Second,
		},
		{
			name:  "PauseAndStep",
			start: 4,
			stages: []load.Stage{
				{Duration: time.Second, Target: 4},
				{Duration: 0, Target: 0},
				{Duration: time.Second, Target: 0},
				{Duration: 0, Target: 2},
				{Duration: time.Second, Target: 2},
			},
			want: []time.Duration{0, 250 * time.Millisecond, 500 * time.Millisecond, 750 * time.Millisecond,
				2 * time.Second, 2500 * time.Millisecond},
			dur: 3 * time.Second,
		},
		{
			// 2.5 requests are planned: the third is due at 0.8s, inside the plan.
			name:   "FractionalTotal",
			start:  2.5,
			stages: []load.Stage{{Duration: time.Second, Target: 2.5}},
			want:   []time.Duration{0, 400 * time.Millisecond, 800 * time.Millisecond},
			dur:    time.Second,
		},
		{
			// From 2/s to 6/s over 1s: N(t) = 2t + 2t^2, total 4.
			// t(n) = (-2 + sqrt(4 + 8n)) / 4.
			name:   "RampBetweenRates",
			start:  2,
			stages: []load.Stage{{Duration: time.Second, Target: 6}},
			want:   []time.Duration{0, 366025404, 618033989, 822875656},
			dur:    time.Second,
		},
		{
			name:   "Empty",
			stages: nil,
			want:   nil,
			dur:    0,
		},
		{
			name:   "ZeroRate",
			stages: []load.Stage{{Duration: time.Minute, Target: 0}},
			want:   nil,
			dur:    time.Minute,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := load.NewSchedule(tt.start, tt.stages)
			if err != nil {
				t.Fatal(err)
			}
			if got, want := s.Len(), int64(len(tt.want)); got != want {
				t.Fatalf("Len() = %d, want %d", got, want)
			}
			if got := s.Duration(); got != tt.dur {
				t.Fatalf("Duration() = %s, want %s", got, tt.dur)
			}
			var got []time.Duration
			for n := int64(0); n < s.Len(); n++ {
				got = append(got, s.At(n))
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("At(0..) = %v, want %v", got, tt.want)
			}
			if got := s.At(s.Len()); got != tt.dur {
				t.Fatalf("At(Len()) = %s, want the duration %s", got, tt.dur)
			}
		})
	}
}

func TestScheduleCountAtAndRateAt(t *testing.T) {
	// 0 -> 4/s over 2s (N = t^2), then 4/s for 1s: 8 requests.
	s, err := load.NewSchedule(0, []load.Stage{{2 * time.Second, 4}, {time.Second, 4}})
	if err != nil {
		t.Fatal(err)
	}
	if got := s.Len(); got != 8 {
		t.Fatalf("Len() = %d, want 8", got)
	}
	counts := []struct {
		at   time.Duration
		want int64
	}{
		{0, 0},
		{ms(1), 1},       // request 0 is due at 0
		{time.Second, 1}, // request 1 is due at exactly 1s: not before it
		{time.Second + 1, 2},
		{ms(1500), 3}, // 2.25 due
		{2 * time.Second, 4},
		{ms(2250), 5},
		{ms(2999), 8},
		{3 * time.Second, 8},
		{time.Hour, 8},
	}
	for _, c := range counts {
		if got := s.CountAt(c.at); got != c.want {
			t.Errorf("CountAt(%s) = %d, want %d", c.at, got, c.want)
		}
	}
	rates := []struct {
		at   time.Duration
		want float64
	}{
		{-1, 0}, {0, 0}, {ms(500), 1}, {time.Second, 2}, {ms(2500), 4}, {3 * time.Second, 0},
	}
	for _, r := range rates {
		if got := s.RateAt(r.at); math.Abs(got-r.want) > 1e-12 {
			t.Errorf("RateAt(%s) = %v, want %v", r.at, got, r.want)
		}
	}
	if got := s.Peak(); got != 4 {
		t.Errorf("Peak() = %v, want 4", got)
	}
}

// TestScheduleLarge checks that a long plan stays exact at its end, where
// float rounding would show first.
func TestScheduleLarge(t *testing.T) {
	s, err := load.NewSchedule(50000, []load.Stage{{time.Hour, 50000}})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := s.Len(), int64(180_000_000); got != want {
		t.Fatalf("Len() = %d, want %d", got, want)
	}
	if got, want := s.At(179_999_999), time.Hour-20*time.Microsecond; got != want {
		t.Fatalf("At(last) = %s, want %s", got, want)
	}
	for n := int64(1); n < 1000; n++ {
		if s.At(n) <= s.At(n-1) {
			t.Fatalf("At(%d) = %s not after At(%d) = %s", n, s.At(n), n-1, s.At(n-1))
		}
	}
}

func TestNewScheduleErrors(t *testing.T) {
	bad := []struct {
		name   string
		start  float64
		stages []load.Stage
	}{
		{"NegativeStart", -1, nil},
		{"NaNStart", math.NaN(), nil},
		{"NegativeDuration", 0, []load.Stage{{-time.Second, 1}}},
		{"NegativeTarget", 0, []load.Stage{{time.Second, -1}}},
		{"InfTarget", 0, []load.Stage{{time.Second, math.Inf(1)}}},
		{"TooMany", 1e12, []load.Stage{{time.Hour * 24 * 365, 1e12}}},
	}
	for _, b := range bad {
		t.Run(b.name, func(t *testing.T) {
			if _, err := load.NewSchedule(b.start, b.stages); err == nil {
				t.Fatal("got no error")
			}
		})
	}
}

func TestPreset(t *testing.T) {
	tests := []struct {
		name      string
		wantStart float64
		want      []load.Stage
	}{
		{load.PresetSustain, 10, []load.Stage{{100 * time.Second, 10}}},
		{load.PresetRamp, 0, []load.Stage{{100 * time.Second, 10}}},
		{load.PresetSpike, 10, []load.Stage{
			{40 * time.Second, 10}, {5 * time.Second, 30}, {10 * time.Second, 30},
			{5 * time.Second, 10}, {40 * time.Second, 10},
		}},
		{load.PresetSeed, 0, []load.Stage{
			{20 * time.Second, 10}, {40 * time.Second, 10}, {5 * time.Second, 30},
			{10 * time.Second, 30}, {5 * time.Second, 10}, {20 * time.Second, 10},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			start, stages, err := load.Preset(tt.name, 10, 100*time.Second)
			if err != nil {
				t.Fatal(err)
			}
			if start != tt.wantStart {
				t.Errorf("start = %v, want %v", start, tt.wantStart)
			}
			if !reflect.DeepEqual(stages, tt.want) {
				t.Errorf("stages = %v, want %v", stages, tt.want)
			}
		})
	}
	t.Run("SeedCounts", func(t *testing.T) {
		// 20s ramp to 10/s (100), 40s at 10 (400), 5s to 30 (100), 10s at 30
		// (300), 5s back to 10 (100), 20s at 10 (200): 1200 requests.
		start, stages, _ := load.Preset(load.PresetSeed, 10, 100*time.Second)
		s, err := load.NewSchedule(start, stages)
		if err != nil {
			t.Fatal(err)
		}
		if got := s.Len(); got != 1200 {
			t.Fatalf("Len() = %d, want 1200", got)
		}
		if got := s.Peak(); got != 30 {
			t.Fatalf("Peak() = %v, want 30", got)
		}
		if got, want := s.At(500), 60*time.Second; got != want {
			t.Fatalf("At(500) = %s, want %s (the spike's start)", got, want)
		}
	})
	t.Run("OddDuration", func(t *testing.T) {
		_, stages, err := load.Preset(load.PresetSpike, 1, 7*time.Second+3)
		if err != nil {
			t.Fatal(err)
		}
		var total time.Duration
		for _, s := range stages {
			total += s.Duration
		}
		if total != 7*time.Second+3 {
			t.Fatalf("stages add up to %s, want %s", total, 7*time.Second+3)
		}
	})
	t.Run("ErrUnknown", func(t *testing.T) {
		if _, _, err := load.Preset("wave", 1, time.Second); err == nil {
			t.Fatal("got no error")
		}
	})
}
