package lambda

import (
	"math"
	"time"
)

// Target tracking's alarms, as Application Auto Scaling sets them for a
// target tracking policy: scale out after scaleOutPoints one-minute
// datapoints over the target, scale in after scaleInPoints under
// scaleInRatio of it.
const (
	scaleOutPoints = 3
	scaleInPoints  = 15
	scaleInRatio   = 0.9
)

// scaler decides the provisioned concurrency from the scheduled actions
// and, when a target is set, from the utilisation it observes. It is pure:
// time and utilisation come in through tick, so it is tested with exact
// tables. It is not safe for concurrent use.
type scaler struct {
	min, max int // Application Auto Scaling's MinCapacity and MaxCapacity
	desired  int
	target   float64
	actions  []scheduled

	// minute is the start of the minute being averaged.
	minute time.Time
	sum    float64
	n      int
	// points are the completed one-minute averages since the last
	// scaling, newest last, at most scaleInPoints of them.
	points []float64
}

type scheduled struct {
	action ScheduledAction
	sched  schedule
	next   time.Time
}

// newScaler starts at cfg's provisioned concurrency, its bounds
// [Provisioned, MaxProvisioned], with the schedules counted from now.
func newScaler(cfg *Config, now time.Time) *scaler {
	s := &scaler{min: cfg.Provisioned, max: cfg.MaxProvisioned, desired: cfg.Provisioned, target: cfg.TargetUtilization, minute: now}
	for _, a := range cfg.Schedule {
		sc, err := parseScheduleFrom(a.Schedule, a.Timezone, now)
		if err != nil {
			continue // Validate reported it
		}
		s.actions = append(s.actions, scheduled{action: a, sched: sc, next: sc.next(now)})
	}
	return s
}

// tick runs the scheduled actions due by now and target tracking with the
// utilisation u (0 to 1) observed since the last tick, and returns the
// desired provisioned concurrency. A scheduled action that was due more
// than once since the last tick runs once.
func (s *scaler) tick(now time.Time, u float64) int {
	for i := range s.actions {
		a := &s.actions[i]
		if a.next.IsZero() || a.next.After(now) {
			continue
		}
		if a.action.Min >= 0 {
			s.min = a.action.Min
		}
		if a.action.Max > 0 {
			s.max = a.action.Max
		}
		if s.max < s.min {
			s.max = s.min
		}
		a.next = a.sched.next(now)
	}
	s.desired = s.clamp(s.desired)
	if s.target > 0 {
		s.track(now, u)
	}
	return s.desired
}

// track folds u into the current minute and, at each minute's end,
// checks the alarms.
func (s *scaler) track(now time.Time, u float64) {
	for !now.Before(s.minute.Add(time.Minute)) {
		if s.n > 0 {
			s.points = append(s.points, s.sum/float64(s.n))
			if len(s.points) > scaleInPoints {
				s.points = s.points[1:]
			}
			s.evaluate()
		}
		s.sum, s.n = 0, 0
		s.minute = s.minute.Add(time.Minute)
		if now.Sub(s.minute) > time.Hour {
			s.minute = now.Truncate(time.Minute) // a long gap: skip ahead
		}
	}
	s.sum += u
	s.n++
}

// evaluate scales out when the last scaleOutPoints averages are all over
// the target, and in when the last scaleInPoints are all under
// scaleInRatio of it, to ceil(capacity * utilisation / target), as target
// tracking does. The datapoints start over after each scaling.
func (s *scaler) evaluate() {
	if s.desired == 0 {
		return // no provisioned concurrency: no utilisation to track
	}
	last := s.points[len(s.points)-1]
	// The epsilon keeps an average that is the target but for rounding
	// (0.7000000001) from scaling.
	newCap := s.clamp(int(math.Ceil(float64(s.desired)*last/s.target - epsilon)))
	if len(s.points) >= scaleOutPoints && allOver(s.points[len(s.points)-scaleOutPoints:], s.target) && newCap > s.desired {
		s.desired, s.points = newCap, s.points[:0]
		return
	}
	if len(s.points) >= scaleInPoints && allUnder(s.points, s.target*scaleInRatio) && newCap < s.desired {
		s.desired, s.points = newCap, s.points[:0]
	}
}

func (s *scaler) clamp(n int) int { return max(s.min, min(s.max, n)) }

const epsilon = 1e-9

func allOver(v []float64, t float64) bool {
	for _, x := range v {
		if x <= t+epsilon {
			return false
		}
	}
	return true
}

func allUnder(v []float64, t float64) bool {
	for _, x := range v {
		if x >= t-epsilon {
			return false
		}
	}
	return true
}
