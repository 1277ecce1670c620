package load

import (
	"context"
	"errors"
	"fmt"
	"math"
	"strings"
	"time"
)

// KneeConfig is how FindKnee searches for the knee: the highest offered
// rate at which the target keeps up. Each field is a flag of `surge load
// --find-knee` (package cli binds them from the tags).
type KneeConfig struct {
	// Start is the first offered rate; 0 is Max/16.
	Start float64 `flag:"knee-start" help:"knee search: the first offered rate, per second (0: the upper bound / 16)"`
	// Max is the upper bound: no step offers more. It is required.
	Max float64 `flag:"knee-max" help:"knee search: the highest rate it may offer, never passed (0: --rate)"`
	// Factor multiplies the rate between steps until a step fails.
	Factor float64 `flag:"knee-factor" help:"knee search: growth of the offered rate between steps until one fails"`
	// Warm is how long each step's rate runs before the step is judged,
	// so that instances start and caches fill outside the judged part.
	Warm time.Duration `flag:"knee-warm" help:"knee search: time at each step's rate before it is judged (0: none)"`
	// Hold is how long each step is held and judged.
	Hold time.Duration `flag:"knee-hold" help:"knee search: how long each step is held and judged"`
	// Bisect bounds the bisection steps between the last rate that passed
	// and the first that failed.
	Bisect int `flag:"knee-bisect" help:"knee search: most bisection steps between the last good and the first bad rate"`
	// Resolution ends the bisection once the failing rate is within this
	// fraction above the passing one.
	Resolution float64 `flag:"knee-resolution" help:"knee search: stop bisecting once the bad rate is within this fraction of the good one"`
	// Tolerance: a step fails when it achieved less than Offered x
	// (1 - Tolerance) within its hold (the 5%).
	Tolerance float64 `flag:"knee-tolerance" help:"knee search: a step fails when its achieved rate falls short of the offered one by more than this fraction"`
	// MaxP99: a step fails when its p99 latency is over this.
	MaxP99 time.Duration `flag:"knee-p99" help:"knee search: a step fails when its p99 latency is over this"`
	// MaxErrors: a step fails when this fraction of its requests failed
	// or more.
	MaxErrors float64 `flag:"knee-errors" help:"knee search: a step fails when this fraction of its requests fail, or more"`
	// Retries runs a failed step again, up to this many times, before the
	// search takes it as failed: on a shared machine a moment of someone
	// else's load can fail a step that the target keeps up with.
	Retries int `flag:"knee-retries" help:"knee search: run a failed step again up to this many times before taking it as failed (a noisy machine's moment is not the knee)"`
}

// DefaultKneeConfig returns the search of `surge load --find-knee`: steps
// of 1.5x held 5 s after 1 s of warm-up, four bisections to within 5%,
// and the criteria (achieved within 5% of offered, p99 under
// 500 ms, errors under 1%).
func DefaultKneeConfig() KneeConfig {
	return KneeConfig{Factor: 1.5, Warm: time.Second, Hold: 5 * time.Second, Bisect: 4,
		Resolution: 0.05, Tolerance: 0.05, MaxP99: 500 * time.Millisecond, MaxErrors: 0.01}
}

// Validate reports every problem of c.
func (c *KneeConfig) Validate() []error {
	var errs []error
	if !(c.Max > 0) {
		errs = append(errs, errors.New("knee search: the upper bound (--knee-max) must be positive"))
	}
	if c.Start < 0 || c.Start > c.Max {
		errs = append(errs, fmt.Errorf("knee search: start %g must be within 0 and the upper bound %g", c.Start, c.Max))
	}
	if !(c.Factor > 1) {
		errs = append(errs, fmt.Errorf("knee search: factor %g must be over 1", c.Factor))
	}
	if c.Hold <= 0 {
		errs = append(errs, errors.New("knee search: hold must be positive"))
	}
	if c.Warm < 0 || c.Bisect < 0 || c.Resolution < 0 || c.MaxErrors < 0 || c.MaxP99 < 0 || c.Retries < 0 {
		errs = append(errs, errors.New("knee search: warm, bisect, resolution, errors, p99 and retries must not be negative"))
	}
	if c.Tolerance < 0 || c.Tolerance >= 1 {
		errs = append(errs, fmt.Errorf("knee search: tolerance %g must be within 0 and 1", c.Tolerance))
	}
	return errs
}

// Knee is the result of a knee search: the highest offered rate at which
// the target kept up, with the evidence of every step. In a Result it is
// the knee step's, and report readers read Rate, P99Ms and Note.
type Knee struct {
	// Rate is the achieved rate at the knee step, per second; Offered the
	// rate it offered. Both are 0 when no step passed.
	Rate    float64 `json:"rate"`
	Offered float64 `json:"offered"`
	// P99Ms and P50Ms are the knee step's latency.
	P50Ms float64 `json:"p50Ms,omitempty"`
	P99Ms float64 `json:"p99Ms,omitempty"`
	// Concurrency is the most concurrent executions the target reported
	// during the knee step.
	Concurrency *float64 `json:"concurrency,omitempty"`
	// Note says how the knee was found and what limited it.
	Note string `json:"note,omitempty"`
	// Bound is the upper bound the search kept to; Reached says the
	// last step at the bound passed (the knee is above it).
	Bound   float64 `json:"bound"`
	Reached bool    `json:"reached,omitempty"`
	// Criteria is the test each step had to pass, in words.
	Criteria string `json:"criteria,omitempty"`
	// Steps are the steps in the order they ran.
	Steps []KneeStep `json:"steps,omitempty"`
}

// KneeStep is one step of a knee search: what it offered and what the
// target did.
type KneeStep struct {
	// Phase is "grow" (the geometric steps) or "bisect".
	Phase string `json:"phase"`
	// Offered is the rate offered during the hold; Achieved the responses
	// completed within the hold, per second.
	Offered  float64 `json:"offered"`
	Achieved float64 `json:"achieved"`
	P50Ms    float64 `json:"p50Ms"`
	P99Ms    float64 `json:"p99Ms"`
	// Errors is the share of failed requests; Late and Dropped count
	// requests sent late and never sent.
	Errors  float64 `json:"errors"`
	Late    int64   `json:"late"`
	Dropped int64   `json:"dropped"`
	// Concurrency is the most concurrent executions the target reported,
	// where it does (a Probe).
	Concurrency *float64 `json:"concurrency,omitempty"`
	// Pass says the step met every criterion; Why names the ones it
	// missed.
	Pass bool   `json:"pass"`
	Why  string `json:"why,omitempty"`
}

func (k *Knee) check() error {
	if k == nil {
		return nil
	}
	if math.IsNaN(k.Rate) || math.IsNaN(k.Offered) || k.Rate < 0 || k.Offered < 0 {
		return errors.New("knee: bad rate")
	}
	if len(k.Steps) > 10_000 {
		return errors.New("knee: too many steps")
	}
	return nil
}

// KneeSearch is what FindKnee found: the knee and the result of each
// step's judged hold, in order, so that a report can redraw them.
type KneeSearch struct {
	Knee    Knee
	Results []*Result
	// At is the index in Results of the knee step, -1 when none passed.
	At int
}

// KneeOptions change how FindKnee runs its steps.
type KneeOptions struct {
	// Run are options of every step's run (a probe, a seed, ids).
	Run []Option
	// OnStep, when set, is told of each step once judged.
	OnStep func(KneeStep)
	// OnStart, when set, is told of each step's offered rate before it
	// runs, and whether it is the warm-up.
	OnStart func(offered float64, warm bool)
}

// FindKnee searches for the knee of s's target: it offers rates that
// grow by c.Factor from c.Start, each held c.Hold (after c.Warm at the
// same rate), until a step fails or the upper bound c.Max passes, then
// bisects between the last rate that passed and the first that failed, at
// most c.Bisect times. A step passes when the rate it achieved within its
// hold is within c.Tolerance of the one offered, its p99 is at most
// c.MaxP99 and under c.MaxErrors of its requests failed. No step ever
// offers more than c.Max. The scenario's mix, payloads and API are kept;
// its plan is replaced by each step's constant rate (open model).
func FindKnee(ctx context.Context, s Scenario, c KneeConfig, opts KneeOptions) (*KneeSearch, error) {
	if c.Start == 0 {
		c.Start = c.Max / 16
	}
	if errs := c.Validate(); len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	ks := &KneeSearch{At: -1, Knee: Knee{Bound: c.Max, Criteria: c.criteria()}}
	step := func(phase string, rate float64) (bool, error) {
		rate = math.Min(rate, c.Max)
		for try := 0; ; try++ {
			st, res, err := c.runStep(ctx, s, rate, opts)
			if err != nil {
				return false, err
			}
			st.Phase = phase
			if try > 0 {
				st.Phase = "retry"
			}
			ks.Knee.Steps = append(ks.Knee.Steps, st)
			ks.Results = append(ks.Results, res)
			if opts.OnStep != nil {
				opts.OnStep(st)
			}
			if st.Pass && (ks.At < 0 || st.Offered >= ks.Knee.Steps[ks.At].Offered) {
				ks.At = len(ks.Results) - 1
			}
			if st.Pass || try >= c.Retries || ctx.Err() != nil {
				return st.Pass, nil
			}
		}
	}
	good, bad := 0.0, math.Inf(1)
	for rate := c.Start; ; rate *= c.Factor {
		rate = math.Min(rate, c.Max)
		pass, err := step("grow", rate)
		if err != nil {
			return ks, err
		}
		if !pass {
			bad = rate
			break
		}
		good = rate
		if rate >= c.Max {
			ks.Knee.Reached = true
			break
		}
		if ctx.Err() != nil {
			return ks, ctx.Err()
		}
	}
	for i := 0; i < c.Bisect && !math.IsInf(bad, 1) && bad > good*(1+c.Resolution) && ctx.Err() == nil; i++ {
		mid := (good + bad) / 2
		if good == 0 {
			mid = bad / c.Factor // the first step failed: look below it
		}
		pass, err := step("bisect", mid)
		if err != nil {
			return ks, err
		}
		if pass {
			good = mid
		} else {
			bad = mid
		}
	}
	ks.Knee.note(ks.At, c)
	if ks.At >= 0 {
		k := ks.Knee.Steps[ks.At]
		ks.Knee.Rate, ks.Knee.Offered, ks.Knee.P50Ms, ks.Knee.P99Ms, ks.Knee.Concurrency = k.Achieved, k.Offered, k.P50Ms, k.P99Ms, k.Concurrency
	}
	return ks, ctx.Err()
}

func (c *KneeConfig) criteria() string {
	return fmt.Sprintf("achieved within %g%% of offered, p99 at most %s, errors under %g%%",
		100*c.Tolerance, c.MaxP99, 100*c.MaxErrors)
}

// note says how the search ended.
func (k *Knee) note(at int, c KneeConfig) {
	// The lowest rate that failed and never passed (a retry may pass).
	passed := map[float64]bool{}
	for _, st := range k.Steps {
		if st.Pass {
			passed[st.Offered] = true
		}
	}
	var failed *KneeStep
	for i := range k.Steps {
		if st := &k.Steps[i]; !st.Pass && !passed[st.Offered] && (failed == nil || st.Offered < failed.Offered) {
			failed = st
		}
	}
	switch {
	case at < 0 && failed != nil:
		k.Note = fmt.Sprintf("no step passed; the lowest, %.0f/s, failed: %s", failed.Offered, failed.Why)
	case k.Reached && failed == nil:
		k.Note = fmt.Sprintf("every step passed up to the bound of %.0f/s: the knee is above it", c.Max)
	case failed != nil:
		k.Note = fmt.Sprintf("%.0f/s passed; %.0f/s failed: %s", k.Steps[at].Offered, failed.Offered, failed.Why)
	}
}

// runStep runs one step: the warm-up, then the judged hold.
func (c *KneeConfig) runStep(ctx context.Context, s Scenario, rate float64, opts KneeOptions) (KneeStep, *Result, error) {
	s.Model, s.Preset, s.StartRate, s.Requests, s.Thresholds = ModelOpen, "", rate, 0, nil
	if c.Warm > 0 {
		if opts.OnStart != nil {
			opts.OnStart(rate, true)
		}
		w := s
		w.Stages = Stages{{Duration: c.Warm, Target: rate}}
		if _, err := Run(ctx, w, opts.Run...); err != nil {
			return KneeStep{}, nil, fmt.Errorf("knee step at %.1f/s: warm-up: %w", rate, err)
		}
		s.IDs.Preseed = 0 // the warm-up created them
	}
	if opts.OnStart != nil {
		opts.OnStart(rate, false)
	}
	s.Stages = Stages{{Duration: c.Hold, Target: rate}}
	// Intervals of a twentieth of the hold, so that the responses
	// completed within it are counted to within 5% of its length.
	every := max(c.Hold/20, 10*time.Millisecond)
	res, err := Run(ctx, s, append(append([]Option(nil), opts.Run...), WithInterval(every))...)
	if err != nil {
		return KneeStep{}, nil, fmt.Errorf("knee step at %.1f/s: %w", rate, err)
	}
	st := KneeStep{Offered: rate, Achieved: doneWithin(res, c.Hold, every) / c.Hold.Seconds(),
		P50Ms: res.Total.Latency.P50, P99Ms: res.Total.Latency.P99, Errors: res.Total.ErrorRate(),
		Late: res.Late, Dropped: res.Dropped}
	if res.Target != nil {
		st.Concurrency = res.Target.ConcurrencyMax
	}
	var why []string
	if st.Achieved < rate*(1-c.Tolerance) {
		why = append(why, fmt.Sprintf("achieved %.1f/s, under %.1f/s", st.Achieved, rate*(1-c.Tolerance)))
	}
	if c.MaxP99 > 0 && st.P99Ms > float64(c.MaxP99)/float64(time.Millisecond) {
		why = append(why, fmt.Sprintf("p99 %.1fms over %s", st.P99Ms, c.MaxP99))
	}
	if st.Errors >= c.MaxErrors && res.Total.Errors > 0 {
		why = append(why, fmt.Sprintf("errors %.2f%%, not under %g%%", 100*st.Errors, 100*c.MaxErrors))
	}
	st.Pass = len(why) == 0
	st.Why = joinWords(why)
	res.Knee = &Knee{Rate: st.Achieved, Offered: rate, P50Ms: st.P50Ms, P99Ms: st.P99Ms, Concurrency: st.Concurrency,
		Note: "one step of a knee search", Bound: c.Max, Criteria: c.criteria(), Steps: []KneeStep{st}}
	return st, res, nil
}

// doneWithin counts the responses completed within the first d of a run,
// by its time series of intervals of every: a backlog answered after the
// plan does not count as keeping up.
func doneWithin(r *Result, d, every time.Duration) float64 {
	limit := (d + every/2).Seconds()
	var n int64
	for _, p := range r.Series {
		if p.T <= limit {
			n += p.Done
		}
	}
	return float64(n)
}

func joinWords(parts []string) string { return strings.Join(parts, "; ") }

// Result returns the result that stands for the search: the knee step's
// run (or the last step's, when none passed), carrying the whole search
// as its Knee.
func (ks *KneeSearch) Result() *Result {
	if len(ks.Results) == 0 {
		return nil
	}
	i := ks.At
	if i < 0 {
		i = len(ks.Results) - 1
	}
	r := *ks.Results[i]
	k := ks.Knee
	r.Knee = &k
	return &r
}

// SearchKnee is FindKnee for a command: the upper bound defaults to the
// scenario's rate, and it returns the search's Result.
func SearchKnee(ctx context.Context, s Scenario, c KneeConfig, opts KneeOptions) (*Result, error) {
	if c.Max == 0 {
		c.Max = s.Rate
	}
	ks, err := FindKnee(ctx, s, c, opts)
	if ks == nil || len(ks.Results) == 0 {
		if err == nil {
			err = errors.New("knee search: no step ran")
		}
		return nil, err
	}
	r := ks.Result()
	if err != nil && !errors.Is(err, context.Canceled) && !errors.Is(err, context.DeadlineExceeded) {
		return nil, err
	}
	if err != nil {
		r.Knee.Note = strings.TrimSpace(r.Knee.Note + " (the search was interrupted)")
	}
	return r, nil
}

// Search is what `surge load` does beyond its scenario, each field a flag:
// a knee search instead of one run, and the target's own metrics beside
// each interval.
type Search struct {
	// FindKnee runs a knee search (SearchKnee) instead of the scenario's
	// plan.
	FindKnee bool `flag:"find-knee" help:"search for the knee: offer rates growing by --knee-factor, then bisect, up to --knee-max (default --rate), and report the highest rate the target keeps up with"`
	// Metrics is the target's Prometheus metrics URL, read by a
	// MetricsProbe.
	Metrics string `flag:"metrics" help:"the target's Prometheus metrics URL (surge's admin /metrics): its function invocations and concurrent executions beside each interval"`
	Knee    KneeConfig
}

// DefaultSearch returns one run, no metrics, and DefaultKneeConfig.
func DefaultSearch() Search { return Search{Knee: DefaultKneeConfig()} }

// Run runs the scenario as the search says: one run, or a knee search
// whose steps onStep is told of.
func (c *Search) Run(ctx context.Context, s Scenario, opts []Option, onStep func(KneeStep)) (*Result, error) {
	if c.Metrics != "" {
		opts = append(opts, WithProbe(&MetricsProbe{URL: c.Metrics}, c.Metrics))
	}
	if !c.FindKnee {
		return Run(ctx, s, opts...)
	}
	return SearchKnee(ctx, s, c.Knee, KneeOptions{Run: opts, OnStep: onStep})
}
