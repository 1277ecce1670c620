package load

import (
	"errors"
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"
)

// Stage is one leg of a plan: the rate (requests per second in the open
// model, virtual users in the closed one) moves linearly from where the
// previous stage ended (or the plan's start rate) to Target over Duration.
// A stage with a zero Duration is a step: the rate jumps to Target.
type Stage struct {
	Duration time.Duration `yaml:"duration" json:"duration"`
	Target   float64       `yaml:"target" json:"target"`
}

// String renders a stage in its text form: "30s:100".
func (s Stage) String() string {
	return fmt.Sprintf("%s:%g", s.Duration, s.Target)
}

// Stages are a plan's legs, in order. Their text form is DURATION:TARGET
// pairs, such as "30s:100,1m:100,10s:300"; a scenario file may give that
// text, or a list whose items are each such a pair or a mapping of
// duration and target.
type Stages []Stage

// ParseStages reads stages such as "30s:100,1m:100,10s:300", reporting
// every bad stage.
func ParseStages(s string) (Stages, error) {
	st, err := parseList(s, parseStage)
	if err == nil && len(st) == 0 {
		err = errors.New("none given")
	}
	return st, err
}

func parseStage(part string) (Stage, error) {
	ds, ts, ok := strings.Cut(part, ":")
	if !ok {
		return Stage{}, fmt.Errorf("%q: want DURATION:TARGET", part)
	}
	d, err := time.ParseDuration(strings.TrimSpace(ds))
	if err != nil {
		return Stage{}, fmt.Errorf("%q: %w", part, err)
	}
	t, err := strconv.ParseFloat(strings.TrimSpace(ts), 64)
	if err != nil {
		return Stage{}, fmt.Errorf("%q: bad target: %w", part, err)
	}
	return Stage{Duration: d, Target: t}, nil
}

// Set replaces the stages with the ones s describes (flag.Value).
func (st *Stages) Set(s string) error {
	v, err := ParseStages(s)
	if err != nil {
		return err
	}
	*st = v
	return nil
}

// String returns the stages in their text form.
func (st Stages) String() string {
	parts := make([]string, len(st))
	for i, s := range st {
		parts[i] = s.String()
	}
	return strings.Join(parts, ",")
}

// UnmarshalYAML reads the stages from their text form or from a list.
func (st *Stages) UnmarshalYAML(n *yaml.Node) error {
	v, err := unmarshalList(n, parseStage, "duration", "target")
	if err != nil {
		return err
	}
	*st = v
	return nil
}

// countEpsilon absorbs float rounding in the cumulative count, so that a
// plan of exactly 10 requests is not computed as 10.000000001 and given an
// eleventh one. It is relative, as rounding grows with the count.
const countEpsilon = 1e-12

// ceilCount returns the number of whole requests due before a cumulative
// count of n: ceil(n), less rounding noise.
func ceilCount(n float64) int64 {
	c := int64(math.Ceil(n - countEpsilon*math.Max(1, math.Abs(n))))
	return max(c, 0)
}

// eps returns the rounding tolerance at count n.
func eps(n float64) float64 { return countEpsilon * math.Max(1, math.Abs(n)) }

// segment is a stage placed on the time line with its cumulative count.
type segment struct {
	start time.Duration // offset of the stage's beginning
	dur   time.Duration
	r0    float64 // rate at start, per second
	r1    float64 // rate at end, per second
	n0    float64 // requests scheduled before the stage
	n     float64 // requests scheduled within the stage
}

// Schedule is a plan turned into intended send times: the n-th request of
// the run (counting from 0) is due At(n) after the start. It is a pure
// function of the start rate and the stages: the n-th request is due at the
// time t where the integral of the rate from 0 to t reaches n. A Schedule is
// immutable and safe for concurrent use.
type Schedule struct {
	segs     []segment
	total    float64
	length   int64
	duration time.Duration
	// part, when set, makes this schedule one part of another (see
	// Schedule.Part): every method answers through it.
	part *partView
}

// NewSchedule builds the schedule of a plan that starts at rate start and
// goes through stages. Rates must be finite and not negative, durations not
// negative.
func NewSchedule(start float64, stages []Stage) (*Schedule, error) {
	if math.IsNaN(start) || math.IsInf(start, 0) || start < 0 {
		return nil, fmt.Errorf("start rate %v: must be a finite number >= 0", start)
	}
	s := &Schedule{}
	prev := start
	var at time.Duration
	var n float64
	for i, st := range stages {
		if st.Duration < 0 {
			return nil, fmt.Errorf("stage %d: duration %s is negative", i+1, st.Duration)
		}
		if math.IsNaN(st.Target) || math.IsInf(st.Target, 0) || st.Target < 0 {
			return nil, fmt.Errorf("stage %d: target %v must be a finite number >= 0", i+1, st.Target)
		}
		if at > math.MaxInt64-st.Duration {
			return nil, errors.New("stages: total duration overflows")
		}
		seg := segment{start: at, dur: st.Duration, r0: prev, r1: st.Target, n0: n}
		seg.n = (seg.r0 + seg.r1) / 2 * st.Duration.Seconds()
		s.segs = append(s.segs, seg)
		at += st.Duration
		n += seg.n
		prev = st.Target
	}
	s.total = n
	s.duration = at
	if n > 1<<53 {
		return nil, fmt.Errorf("stages: %g requests is more than a run can schedule", n)
	}
	s.length = ceilCount(n)
	return s, nil
}

// Len returns the number of requests the schedule holds.
func (s *Schedule) Len() int64 {
	if s.part != nil {
		return s.part.n
	}
	return s.length
}

// Duration returns the length of the plan.
func (s *Schedule) Duration() time.Duration {
	if s.part != nil {
		return s.part.dur
	}
	return s.duration
}

// At returns the intended send time of request n as an offset from the
// start. For n outside [0, Len()) it returns the plan's duration.
func (s *Schedule) At(n int64) time.Duration {
	if s.part != nil {
		return s.part.at(n)
	}
	if n < 0 || n >= s.length {
		return s.duration
	}
	x := float64(n)
	// The first segment whose cumulative end passes n holds it; a segment
	// with no requests (zero rate or zero duration) never passes it, since
	// its end equals its beginning.
	i := sort.Search(len(s.segs), func(i int) bool {
		g := &s.segs[i]
		return g.n0+g.n > x+eps(x)
	})
	if i == len(s.segs) {
		return s.duration
	}
	g := &s.segs[i]
	return g.start + secondsToDuration(g.offsetOf(x-g.n0))
}

// offsetOf solves r0*t + a*t^2/2 = x for t in seconds, where a is the
// segment's acceleration. The form 2x / (r0 + sqrt(r0^2 + 2ax)) stays exact
// when a is zero (a constant rate) and when r0 is zero (a ramp from zero).
func (g *segment) offsetOf(x float64) float64 {
	if x <= 0 {
		return 0
	}
	d := g.dur.Seconds()
	a := (g.r1 - g.r0) / d
	disc := g.r0*g.r0 + 2*a*x
	if disc < 0 {
		disc = 0 // only by rounding, at the very end of a ramp down
	}
	den := g.r0 + math.Sqrt(disc)
	if den <= 0 {
		return d
	}
	t := 2 * x / den
	if t > d {
		t = d
	}
	return t
}

// countBefore returns the number of requests due before offset t within
// the segment (t clamped to the segment).
func (g *segment) countBefore(t time.Duration) float64 {
	if t <= g.start {
		return 0
	}
	if t >= g.start+g.dur {
		return g.n
	}
	tau := (t - g.start).Seconds()
	a := (g.r1 - g.r0) / g.dur.Seconds()
	return g.r0*tau + a*tau*tau/2
}

// CountAt returns how many requests are due strictly before offset t: the
// offered load up to t.
func (s *Schedule) CountAt(t time.Duration) int64 {
	if s.part != nil {
		return s.part.countAt(t)
	}
	if t <= 0 {
		return 0
	}
	if t >= s.duration {
		return s.length
	}
	i := sort.Search(len(s.segs), func(i int) bool {
		return s.segs[i].start+s.segs[i].dur > t
	})
	if i == len(s.segs) {
		return s.length
	}
	g := &s.segs[i]
	return min(ceilCount(g.n0+g.countBefore(t)), s.length)
}

// RateAt returns the planned rate at offset t; zero outside the plan.
func (s *Schedule) RateAt(t time.Duration) float64 {
	if s.part != nil {
		return s.part.rateAt(t)
	}
	if t < 0 || t >= s.duration {
		return 0
	}
	i := sort.Search(len(s.segs), func(i int) bool {
		return s.segs[i].start+s.segs[i].dur > t
	})
	if i == len(s.segs) {
		return 0
	}
	g := &s.segs[i]
	if g.dur == 0 {
		return g.r1
	}
	f := (t - g.start).Seconds() / g.dur.Seconds()
	return g.r0 + (g.r1-g.r0)*f
}

// Peak returns the highest rate the plan reaches.
func (s *Schedule) Peak() float64 {
	if s.part != nil {
		return s.part.base.Peak() / float64(s.part.stride)
	}
	var p float64
	for _, g := range s.segs {
		p = math.Max(p, math.Max(g.r0, g.r1))
	}
	return p
}

func secondsToDuration(sec float64) time.Duration {
	return time.Duration(math.Round(sec * 1e9))
}

// Preset names, each a shape of load scaled by a peak rate and a total
// duration.
const (
	// PresetSustain holds the peak rate for the whole duration.
	PresetSustain = "sustain"
	// PresetRamp ramps linearly from zero to the peak rate.
	PresetRamp = "ramp"
	// PresetSpike holds the peak, spikes to three times it, and comes back.
	PresetSpike = "spike"
	// PresetSeed is the seed article's method: a gradual ramp-up, a
	// sustained peak, a spike to three times the peak, and the recovery.
	PresetSeed = "seed"
)

// Presets lists the preset names in the order help texts show them.
var Presets = []string{PresetSustain, PresetRamp, PresetSpike, PresetSeed}

// Preset returns the start rate and stages of a named shape of load with
// the given peak and total duration. Stage durations are whole fractions
// of d (in percent), so the result is exact and testable.
func Preset(name string, peak float64, d time.Duration) (start float64, stages []Stage, err error) {
	if math.IsNaN(peak) || math.IsInf(peak, 0) || peak < 0 {
		return 0, nil, fmt.Errorf("preset %s: peak rate %v must be a finite number >= 0", name, peak)
	}
	if d <= 0 {
		return 0, nil, fmt.Errorf("preset %s: duration %s must be positive", name, d)
	}
	pct := func(p int64) time.Duration { return d * time.Duration(p) / 100 }
	spike := 3 * peak
	switch name {
	case PresetSustain:
		return peak, []Stage{{d, peak}}, nil
	case PresetRamp:
		return 0, []Stage{{d, peak}}, nil
	case PresetSpike:
		// The last stage takes the remainder, so the stages add up to d.
		st := []Stage{{pct(40), peak}, {pct(5), spike}, {pct(10), spike}, {pct(5), peak}}
		return peak, append(st, Stage{d - sum(st), peak}), nil
	case PresetSeed:
		st := []Stage{{pct(20), peak}, {pct(40), peak}, {pct(5), spike}, {pct(10), spike}, {pct(5), peak}}
		return 0, append(st, Stage{d - sum(st), peak}), nil
	}
	return 0, nil, fmt.Errorf("unknown preset %q (want one of %v)", name, Presets)
}

func sum(st []Stage) time.Duration {
	var d time.Duration
	for _, s := range st {
		d += s.Duration
	}
	return d
}
