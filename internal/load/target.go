package load

import (
	"bytes"
	"context"
	"time"
)

// The response headers through which a target tells the load tester what
// its parts did with a request (surge's own; docs/API.md).
const (
	// CacheHeader says whether the response cache answered: "Hit" or
	// "Miss".
	CacheHeader = "X-Cache"
	// LimitSourceHeader names the limit that refused a 429 or 503, such
	// as "gateway.stage" or "lambda.concurrency": rest.LimitSourceHeader,
	// whose values are the vocabulary, spelled here so that the generator
	// links nothing of the service (a test checks that the two agree).
	LimitSourceHeader = "X-Limit-Source"
)

// UnnamedSource counts a 429 or 503 whose response named no limit.
const UnnamedSource = "unnamed"

// cacheResult is a response cache's outcome as X-Cache says it.
type cacheResult uint8

const (
	cacheNone cacheResult = iota
	cacheHit
	cacheMiss
)

func cacheOutcome(v []byte) cacheResult {
	switch {
	case len(v) == 0:
		return cacheNone
	case bytes.EqualFold(v, []byte("Hit")):
		return cacheHit
	case bytes.EqualFold(v, []byte("Miss")):
		return cacheMiss
	}
	return cacheNone
}

// Probe reads what the target reports of itself, such as a function
// pool's own counters: the engine samples it once per interval, from the
// goroutine that collects the metrics, and puts what it reports beside
// what the responses said. A Probe that also implements Settler is asked
// to settle before the last sample.
type Probe interface {
	// Sample returns the target's counters now. An error leaves the
	// interval without the target's figures.
	Sample(ctx context.Context) (TargetSample, error)
}

// Settler is a Probe that can wait until the target has counted the
// requests it answered, so that the last sample is complete.
type Settler interface {
	Settle(ctx context.Context) error
}

// TargetSample is what a target reported at one moment. A member the
// target does not report is left unknown (its Has flag false).
type TargetSample struct {
	// Invocations counts the function invocations that ran since the
	// target started (a counter; the engine takes differences).
	Invocations    int64
	HasInvocations bool
	// Concurrency is the most concurrent executions since the previous
	// sample (CloudWatch's ConcurrentExecutions maximum), or the number
	// now where the target reports only that.
	Concurrency    float64
	HasConcurrency bool
}

// TargetResult is what the target reported of itself over a run, through
// a Probe.
type TargetResult struct {
	// Source says where the figures came from, such as "pool" or a
	// metrics URL.
	Source string `json:"source,omitempty"`
	// Invocations counts the function invocations during the run, when
	// the target reports them.
	Invocations *int64 `json:"invocations,omitempty"`
	// ConcurrencyMax is the most concurrent executions seen.
	ConcurrencyMax *float64 `json:"concurrencyMax,omitempty"`
	// Samples and Failed count the probe's samples and its failures.
	Samples int `json:"samples"`
	Failed  int `json:"failed,omitempty"`
}

// WithProbe has the run sample p once per interval; its figures go into
// each Point (invocations, concurrency) and the Result's Target.
func WithProbe(p Probe, source string) Option {
	return func(r *runner) { r.probe, r.probeSource = p, source }
}

// probeTimeout bounds one sample, so that a slow target cannot stall the
// collector.
const probeTimeout = 2 * time.Second

// probeState follows a probe through a run.
type probeState struct {
	p       Probe
	last    TargetSample
	base    TargetSample
	started bool
	res     TargetResult
}

func newProbeState(p Probe, source string) *probeState {
	return &probeState{p: p, res: TargetResult{Source: source}}
}

// start takes the sample that the run's counts start from.
func (s *probeState) start(ctx context.Context) {
	ts, err := s.sample(ctx)
	if err == nil {
		s.base, s.last, s.started = ts, ts, true
	}
}

func (s *probeState) sample(ctx context.Context) (TargetSample, error) {
	ctx, cancel := context.WithTimeout(ctx, probeTimeout)
	defer cancel()
	ts, err := s.p.Sample(ctx)
	s.res.Samples++
	if err != nil {
		s.res.Failed++
	}
	return ts, err
}

// interval samples the target and fills p's target members.
func (s *probeState) interval(ctx context.Context, p *Point, last bool) {
	if last {
		if st, ok := s.p.(Settler); ok {
			sctx, cancel := context.WithTimeout(ctx, 5*time.Second)
			_ = st.Settle(sctx)
			cancel()
		}
	}
	ts, err := s.sample(ctx)
	if err != nil {
		return
	}
	if !s.started {
		s.base, s.last, s.started = ts, ts, true
		// The first sample is the base: it says nothing of an interval.
		return
	}
	if ts.HasInvocations && s.last.HasInvocations {
		d := max(0, ts.Invocations-s.last.Invocations)
		p.Invocations = &d
		t := max(0, ts.Invocations-s.base.Invocations)
		s.res.Invocations = &t
	}
	if ts.HasConcurrency {
		c := ts.Concurrency
		p.Concurrency = &c
		if s.res.ConcurrencyMax == nil || c > *s.res.ConcurrencyMax {
			s.res.ConcurrencyMax = &c
		}
	}
	s.last = ts
}
