// Package autoscaling is Application Auto Scaling as surge's local
// stand-ins use it, in one place: scheduled actions, whose cron(), rate()
// and at() expressions move a scalable target's minimum and maximum at
// times of day, and target tracking, whose CloudWatch alarms scale the
// target out after some one-minute datapoints over the target utilisation
// and in after more under a lower threshold.
//
// The local Lambda's provisioned concurrency and the local DynamoDB
// table's read and write capacity use it, each with the alarms AWS creates
// for it (LambdaAlarms, DynamoDBAlarms) and, for DynamoDB, the table's
// limit on decreases a day (DynamoDBDecreases).
//
// A Scaler is pure: time and utilisation come in through its methods, so
// that it is tested with exact tables. It reads no clock of its own, so a
// caller may run it on a compressed clock (the local table's lab factor)
// and every period, schedule and daily limit follows that clock.
package autoscaling

import (
	"errors"
	"fmt"
	"math"
	"time"
)

// Alarms are the CloudWatch alarms of a target tracking policy, as
// Application Auto Scaling creates them for a kind of scalable target: the
// high alarm scales out after OutPoints consecutive datapoints over the
// target, the low alarm scales in after InPoints consecutive datapoints
// under target*InRatio - InOffset. Each datapoint is one Period.
type Alarms struct {
	// Period is the length of one datapoint (default a minute).
	Period time.Duration
	// OutPoints is how many consecutive datapoints over the target scale
	// out.
	OutPoints int
	// InPoints is how many consecutive datapoints under the scale-in
	// threshold scale in.
	InPoints int
	// InRatio and InOffset place the scale-in threshold at
	// target*InRatio - InOffset.
	InRatio, InOffset float64
}

var (
	// LambdaAlarms are those of provisioned concurrency's target tracking
	// (the LambdaProvisionedConcurrencyUtilization metric): scale out after
	// 3 one-minute datapoints over the target, in after 15 under 90% of
	// it.
	LambdaAlarms = Alarms{Period: time.Minute, OutPoints: 3, InPoints: 15, InRatio: 0.9}
	// DynamoDBAlarms are those of a DynamoDB table's target tracking on
	// consumed over provisioned capacity: scale out after 2 consecutive
	// one-minute periods over the target (DynamoDB developer guide,
	// "Provisioned capacity mode": "auto scaling triggers when your
	// consumed capacity breaches the configured target utilization for
	// two consecutive minutes"), in after 15 consecutive periods 20
	// percentage points or more under it (a 70% target scales in under
	// 50%).
	DynamoDBAlarms = Alarms{Period: time.Minute, OutPoints: 2, InPoints: 15, InRatio: 1, InOffset: 0.2}
)

// InThreshold returns the scale-in threshold of a target.
func (a Alarms) InThreshold(target float64) float64 { return target*a.InRatio - a.InOffset }

// Action is a scheduled action: when its schedule fires, the capacity's
// bounds become Min and Max, and the capacity is raised to at least Min
// and lowered to at most Max, as Application Auto Scaling does.
type Action struct {
	// Name names the action in changes and logs.
	Name string
	// Schedule is cron(M H DoM Mon DoW Y), rate(N unit) or
	// at(yyyy-mm-ddThh:mm:ss) (see ParseSchedule).
	Schedule string
	// Timezone is an IANA zone name for cron() and at() (default UTC).
	Timezone string
	// Min and Max are the new bounds. A negative Min, or a Max of 0 or
	// less, leaves that bound as it is.
	Min, Max int
}

// DecreaseRule reports whether the capacity may be lowered at now, given
// the times of the decreases made before (oldest first, at most the last
// 25 hours of them). A Scaler whose decrease is refused keeps its
// capacity and tries again at the next evaluation, as Application Auto
// Scaling retries an UpdateTable that DynamoDB refused.
type DecreaseRule func(now time.Time, past []time.Time) bool

// Policy is a scalable target's bounds, scheduled actions and target
// tracking policy.
type Policy struct {
	// Min and Max are the capacity's bounds (MinCapacity, MaxCapacity).
	Min, Max int
	// Initial is the capacity at the start, clamped to [Min, Max]
	// (default Min).
	Initial int
	// Target, when above 0, turns on target tracking of the utilisation
	// (consumed over provisioned, 0 to 1; the seed's 0.7).
	Target float64
	// Alarms are target tracking's alarms (required with a Target).
	Alarms Alarms
	// Decreases limits how often the capacity may go down; nil leaves it
	// free.
	Decreases DecreaseRule
	// Actions are the scheduled actions.
	Actions []Action
	// OnChange, when set, is told of every change of the capacity or its
	// bounds, from the goroutine that called the Scaler.
	OnChange func(Change)
}

// Change is a change of the capacity or of its bounds.
type Change struct {
	// At is when it happened, on the Scaler's clock.
	At time.Time
	// From and To are the capacity before and after (equal when only the
	// bounds changed, or when a decrease was refused).
	From, To int
	// Min and Max are the bounds after.
	Min, Max int
	// Reason says why: a scheduled action, an alarm, or a refused
	// decrease.
	Reason string
}

// Validate reports what is wrong with p.
func (p *Policy) Validate() []error {
	var errs []error
	add := func(format string, a ...any) { errs = append(errs, fmt.Errorf(format, a...)) }
	if p.Min < 0 || p.Max < p.Min {
		add("capacity bounds [%d, %d]: want 0 <= min <= max", p.Min, p.Max)
	}
	if p.Target < 0 || p.Target > 1 {
		add("target utilization %v: want 0 (off) to 1", p.Target)
	}
	if p.Target > 0 {
		a := p.Alarms
		if a.OutPoints < 1 || a.InPoints < 1 || a.Period < 0 {
			add("alarms: want at least 1 datapoint out and in, and a period of 0 (a minute) or more")
		}
		if th := a.InThreshold(p.Target); th > p.Target {
			add("alarms: scale-in threshold %v over the target %v", th, p.Target)
		}
	}
	for i, a := range p.Actions {
		if _, err := ParseSchedule(a.Schedule, a.Timezone, time.Time{}); err != nil {
			add("scheduled action %d: %v", i+1, err)
		}
		if a.Max > 0 && a.Min > a.Max {
			add("scheduled action %d: min %d over max %d", i+1, a.Min, a.Max)
		}
	}
	return errs
}

// Scaler decides a scalable target's capacity from its scheduled actions
// and, when a target is set, from the utilisation it observes. It is not
// safe for concurrent use.
type Scaler struct {
	min, max  int
	desired   int
	target    float64
	alarms    Alarms
	decreases DecreaseRule
	onChange  func(Change)
	actions   []scheduled

	// period is the start of the period being averaged by Tick.
	period time.Time
	sum    float64
	n      int
	// points are the completed datapoints since the last scaling, newest
	// last, at most InPoints of them.
	points []float64
	// past are the times of the decreases of the last 25 hours.
	past []time.Time
	// refused is the capacity of the decrease last refused (0: none),
	// reported once until the capacity changes.
	refused int
}

type scheduled struct {
	action Action
	sched  Schedule
	next   time.Time
}

// New returns a Scaler at p's initial capacity, with the schedules counted
// from now. It fails when p is not valid.
func New(p Policy, now time.Time) (*Scaler, error) {
	if errs := p.Validate(); len(errs) > 0 {
		return nil, fmt.Errorf("autoscaling: %w", errors.Join(errs...))
	}
	if p.Alarms.Period == 0 {
		p.Alarms.Period = time.Minute
	}
	s := &Scaler{min: p.Min, max: p.Max, target: p.Target, alarms: p.Alarms, decreases: p.Decreases,
		onChange: p.OnChange, period: now}
	s.desired = s.clamp(max(p.Initial, p.Min))
	for _, a := range p.Actions {
		sc, err := ParseSchedule(a.Schedule, a.Timezone, now)
		if err != nil {
			return nil, fmt.Errorf("autoscaling: scheduled action %q: %w", a.Name, err)
		}
		s.actions = append(s.actions, scheduled{action: a, sched: sc, next: sc.Next(now)})
	}
	return s, nil
}

// Desired returns the capacity the Scaler has decided.
func (s *Scaler) Desired() int { return s.desired }

// Min returns the capacity's lower bound now.
func (s *Scaler) Min() int { return s.min }

// Max returns the capacity's upper bound now.
func (s *Scaler) Max() int { return s.max }

// Tick runs the scheduled actions due by now and target tracking with the
// utilisation u (0 to 1) sampled since the last Tick, and returns the
// capacity. The samples of a period are averaged into its datapoint (the
// local Lambda samples its provisioned concurrency's utilisation once a
// second); a period without samples has no datapoint and leaves the
// alarms' counts as they were. A scheduled action that was due more than
// once since the last call runs once.
func (s *Scaler) Tick(now time.Time, u float64) int {
	s.runActions(now)
	if s.target > 0 {
		for !now.Before(s.period.Add(s.alarms.Period)) {
			if s.n > 0 {
				s.push(now, s.sum/float64(s.n))
			}
			s.sum, s.n = 0, 0
			s.period = s.period.Add(s.alarms.Period)
			if now.Sub(s.period) > time.Hour {
				s.period = now.Truncate(s.alarms.Period) // a long gap: skip ahead
			}
		}
		s.sum += u
		s.n++
	}
	return s.desired
}

// Datapoint runs the scheduled actions due by now and adds one complete
// period's datapoint v to target tracking, for a caller that measures its
// periods itself (the local table sums its consumed capacity over each
// minute, as CloudWatch does). ok false is a period with no datapoint:
// it breaks the alarms' runs of consecutive datapoints, so that a target
// with no traffic at all is not scaled in (DynamoDB: "auto scaling does
// not scale down your provisioned capacity if your table's consumed
// capacity becomes zero").
func (s *Scaler) Datapoint(now time.Time, v float64, ok bool) int {
	s.runActions(now)
	if s.target > 0 {
		if ok {
			s.push(now, v)
		} else {
			s.points = s.points[:0]
		}
	}
	return s.desired
}

// Set records a change of the capacity made outside the Scaler (an
// UpdateTable by hand): the capacity is n, even outside the bounds, until
// the next call brings it within them, as Application Auto Scaling does
// whenever it next acts. The datapoints start over.
func (s *Scaler) Set(n int) {
	s.desired = max(n, 0)
	s.points = s.points[:0]
}

// Advance runs the scheduled actions due by now, and a decrease refused
// before, without a datapoint, and returns the capacity.
func (s *Scaler) Advance(now time.Time) int {
	s.runActions(now)
	return s.desired
}

func (s *Scaler) runActions(now time.Time) {
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
		a.next = a.sched.Next(now)
		s.set(now, s.clamp(s.desired), "scheduled action "+a.action.Name, true)
	}
	// A bound that a refused decrease left the capacity over.
	if c := s.clamp(s.desired); c != s.desired {
		s.set(now, c, "bounds", false)
	}
}

// push adds a datapoint, newest last, and checks the alarms.
func (s *Scaler) push(now time.Time, v float64) {
	s.points = append(s.points, v)
	if len(s.points) > s.alarms.InPoints && len(s.points) > s.alarms.OutPoints {
		s.points = s.points[1:]
	}
	s.evaluate(now)
}

// evaluate scales out when the last OutPoints datapoints are all over the
// target, and in when the last InPoints are all under the scale-in
// threshold, to ceil(capacity * utilisation / target) of the newest, as
// target tracking does. The datapoints start over after each scaling.
func (s *Scaler) evaluate(now time.Time) {
	if s.desired == 0 {
		return // no capacity: no utilisation to track
	}
	last := s.points[len(s.points)-1]
	// The epsilon keeps a datapoint that is the target but for rounding
	// (0.7000000001) from scaling.
	newCap := s.clamp(int(math.Ceil(float64(s.desired)*last/s.target - epsilon)))
	if n := s.alarms.OutPoints; len(s.points) >= n && allOver(s.points[len(s.points)-n:], s.target) && newCap > s.desired {
		s.set(now, newCap, fmt.Sprintf("target tracking: %d datapoints over %.4g", n, s.target), false)
		s.points = s.points[:0]
		return
	}
	if n := s.alarms.InPoints; len(s.points) >= n && allUnder(s.points[len(s.points)-n:], s.alarms.InThreshold(s.target)) && newCap < s.desired {
		if s.set(now, newCap, fmt.Sprintf("target tracking: %d datapoints under %.4g", n, s.alarms.InThreshold(s.target)), false) {
			s.points = s.points[:0]
		}
	}
}

// set moves the capacity to c, unless it is a decrease that the rule
// refuses, and reports the change (or the refusal, or a change of bounds
// when always is set). It returns whether the capacity is c.
func (s *Scaler) set(now time.Time, c int, reason string, always bool) bool {
	from := s.desired
	if c < from && s.decreases != nil {
		s.trimPast(now)
		if !s.decreases(now, s.past) {
			if s.refused != c+1 {
				s.refused = c + 1
				s.report(Change{At: now, From: from, To: from, Min: s.min, Max: s.max, Reason: reason + ": decrease refused by the limit on decreases"})
			}
			return false
		}
	}
	s.refused = 0
	if c < from {
		s.past = append(s.past, now)
	}
	s.desired = c
	if c != from || always {
		s.report(Change{At: now, From: from, To: c, Min: s.min, Max: s.max, Reason: reason})
	}
	return true
}

func (s *Scaler) report(c Change) {
	if s.onChange != nil {
		s.onChange(c)
	}
}

// trimPast keeps the decreases of the last 25 hours, enough for a rule
// over a UTC day and the hour before.
func (s *Scaler) trimPast(now time.Time) {
	i := 0
	for i < len(s.past) && now.Sub(s.past[i]) > 25*time.Hour {
		i++
	}
	s.past = s.past[i:]
}

func (s *Scaler) clamp(n int) int { return max(s.min, min(s.max, n)) }

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
