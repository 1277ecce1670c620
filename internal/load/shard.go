package load

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"strconv"
	"strings"
	"time"
)

// Split is how a distributed run divides one plan between generators:
// Shards of them at once, all starting at one agreed wall-clock time, each
// running the plan's time line in segments of at most Segment (a
// generator on AWS Lambda lives at most 15 minutes). Shard k of N sends
// the plan's requests k, k+N, k+2N, ...: the rate divided, with phases
// staggered, so that the shards' arrivals together are exactly the plan's.
type Split struct {
	// Shards is the number of generators, 1 or more.
	Shards int `json:"shards"`
	// Segment is the longest stretch of the plan one generator runs; 0
	// runs the whole plan as one segment.
	Segment time.Duration `json:"segment"`
	// StartAt is the agreed wall-clock time at which the plan starts.
	StartAt time.Time `json:"startAt"`
	// Seed is the run's seed; each part derives its own from it.
	Seed uint64 `json:"seed"`
}

// MaxShards bounds a split: every shard is a process somewhere.
const MaxShards = 10_000

// maxParts bounds the parts of a split plan (shards times segments): a day
// in 15-minute segments on 1,000 shards is 96,000.
const maxParts = 1_000_000

// Part is the share of a split plan that one generator runs: one shard,
// over one segment [From, To) of the plan's time line.
type Part struct {
	Split Split `json:"split"`
	// PlanID identifies the plan (Split.ID): parts of different plans are
	// never merged.
	PlanID string `json:"planId"`
	// Shard is the generator's index, 0 to Split.Shards-1.
	Shard int `json:"shard"`
	// Segment is the index of the segment, 0 to Segments-1.
	Segment  int `json:"segment"`
	Segments int `json:"segments"`
	// From and To bound the segment on the plan's time line.
	From time.Duration `json:"from"`
	To   time.Duration `json:"to"`
}

// String names the part as messages show it: "shard 2 of 4, segment 1 of
// 3 (12m0s to 24m0s)".
func (p Part) String() string {
	s := "shard " + strconv.Itoa(p.Shard) + " of " + strconv.Itoa(p.Split.Shards)
	if p.Segments > 1 {
		s += fmt.Sprintf(", segment %d of %d (%s to %s)", p.Segment, p.Segments, p.From, p.To)
	}
	return s
}

// Seed returns the part's own seed, so that shards choose different
// payloads and operations from one run's seed, reproducibly.
func (p Part) Seed() uint64 {
	return rand.New(rand.NewPCG(p.Split.Seed, uint64(p.Shard)<<32|uint64(p.Segment))).Uint64()
}

// idPrefix returns the prefix of the ids the part's clients choose: the
// run's, then the shard's (and the segment's), so that shards never touch
// each other's items.
func (p Part) idPrefix(runHex string) string {
	s := "surge-" + runHex + "-s" + strconv.Itoa(p.Shard) + "-"
	if p.Segment > 0 {
		s += "g" + strconv.Itoa(p.Segment) + "-"
	}
	return s
}

// userAgent is the User-Agent of the part's requests, so that a target's
// logs tell the shards apart.
func (p Part) userAgent() string {
	return "surge-load (shard " + strconv.Itoa(p.Shard) + " of " + strconv.Itoa(p.Split.Shards) + ")"
}

// PartResult is what a part's Result says of the part: which it was, how
// late it was ready to send, and its clock against the coordinator's.
type PartResult struct {
	Part
	// ReadyLateMs is how long after the part's start its generator was
	// ready to send (a slow cold start or preseed): its first requests
	// went out late, and are counted late.
	ReadyLateMs float64 `json:"readyLateMs"`
	// Clock is the generator's clock against the coordinator's.
	Clock Clock `json:"clock"`
}

// Validate checks the split.
func (sp Split) Validate() error {
	switch {
	case sp.Shards < 1 || sp.Shards > MaxShards:
		return fmt.Errorf("shards %d: must be between 1 and %d", sp.Shards, MaxShards)
	case sp.Segment < 0:
		return fmt.Errorf("segment %s: must not be negative", sp.Segment)
	case sp.Segment > 0 && sp.Segment < time.Second:
		return fmt.Errorf("segment %s: must be at least 1s", sp.Segment)
	}
	return nil
}

// ID returns the identity of the plan that sp splits: a hash of what is
// sent (the scenario, its header values hidden, less its thresholds,
// which are judged afterwards) and of the split.
func (sp Split) ID(s *Scenario) string {
	c := redacted(*s)
	c.Thresholds = nil
	b, _ := json.Marshal(struct {
		Scenario Scenario `json:"scenario"`
		Split    Split    `json:"split"`
	}{c, Split{Shards: sp.Shards, Segment: sp.Segment, StartAt: sp.StartAt.UTC(), Seed: sp.Seed}})
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:12])
}

// schedule returns the whole plan's schedule and how many of its requests
// are sent (a count cap may stop it first).
func planSchedule(s *Scenario) (*Schedule, int64, error) {
	if s.Postman.File != "" {
		return nil, 0, errSplitCollection
	}
	if s.Model != ModelOpen {
		return nil, 0, fmt.Errorf("model %s: only the open model's plan can be split (a rate divides, virtual users do not)", s.Model)
	}
	start, stages, err := s.Plan()
	if err != nil {
		return nil, 0, err
	}
	sched, err := NewSchedule(start, stages)
	if err != nil {
		return nil, 0, err
	}
	n := sched.Len()
	if s.Requests > 0 {
		n = min(n, s.Requests)
	}
	return sched, n, nil
}

// Parts returns every part of the split plan, segment by segment and,
// within a segment, shard by shard.
func (sp Split) Parts(s *Scenario) ([]Part, error) {
	if err := sp.Validate(); err != nil {
		return nil, err
	}
	sched, _, err := planSchedule(s)
	if err != nil {
		return nil, err
	}
	d := sched.Duration()
	segs := 1
	if sp.Segment > 0 && d > sp.Segment {
		segs = int(min((d+sp.Segment-1)/sp.Segment, maxParts+1))
	}
	if segs*sp.Shards > maxParts {
		return nil, fmt.Errorf("split: %d shards in %d segments of %s are more than %d parts", sp.Shards, segs, sp.Segment, maxParts)
	}
	id := sp.ID(s)
	parts := make([]Part, 0, segs*sp.Shards)
	for g := range segs {
		from, to := time.Duration(0), d
		if segs > 1 {
			from, to = time.Duration(g)*sp.Segment, min(d, time.Duration(g+1)*sp.Segment)
		}
		for k := range sp.Shards {
			parts = append(parts, Part{Split: sp, PlanID: id, Shard: k, Segment: g, Segments: segs, From: from, To: to})
		}
	}
	return parts, nil
}

// Planned returns how many requests the part sends: of the plan's
// requests due in [From, To), those of its shard.
func (p Part) Planned(s *Scenario) (int64, error) {
	sched, n, err := planSchedule(s)
	if err != nil {
		return 0, err
	}
	v, err := sched.Part(p, n)
	if err != nil {
		return 0, err
	}
	return v.Len(), nil
}

// Part returns the schedule of one part of this one (the whole plan's),
// whose first n requests are sent: request i of the part is the plan's
// request g = first + i*Shards, where first is the first of the shard's in
// the segment, due At(g) - From after the segment's start.
func (s *Schedule) Part(p Part, n int64) (*Schedule, error) {
	if s.part != nil {
		return nil, errors.New("schedule: a part cannot be split again")
	}
	if err := p.check(); err != nil {
		return nil, err
	}
	to := p.To
	if to <= 0 || to > s.duration {
		to = s.duration
	}
	if p.From < 0 || p.From > to {
		return nil, fmt.Errorf("part: segment %s to %s is outside the plan (0 to %s)", p.From, p.To, s.duration)
	}
	n = min(n, s.length)
	lo, hi := min(s.CountAt(p.From), n), min(s.CountAt(to), n)
	stride := int64(p.Split.Shards)
	v := &partView{base: s, lo: lo, hi: hi, stride: stride, from: p.From, dur: to - p.From}
	v.first = lo + mod(int64(p.Shard)-lo, stride)
	v.n = countFrom(v.first, hi, stride)
	return &Schedule{part: v}, nil
}

func (p Part) check() error {
	if err := p.Split.Validate(); err != nil {
		return err
	}
	if p.Shard < 0 || p.Shard >= p.Split.Shards {
		return fmt.Errorf("shard %d: must be between 0 and %d", p.Shard, p.Split.Shards-1)
	}
	if p.Segments < 1 || p.Segment < 0 || p.Segment >= p.Segments {
		return fmt.Errorf("segment %d of %d: out of range", p.Segment, p.Segments)
	}
	return nil
}

// partView is one part of a schedule: the requests g of [lo, hi) with g
// congruent to first modulo stride, on a time line that begins at from.
type partView struct {
	base      *Schedule
	lo, hi    int64
	first     int64
	stride    int64
	n         int64
	from, dur time.Duration
}

func mod(a, m int64) int64 { return ((a % m) + m) % m }

// countFrom returns how many of first, first+stride, ... are below end.
func countFrom(first, end, stride int64) int64 {
	if end <= first {
		return 0
	}
	return (end - first + stride - 1) / stride
}

func (v *partView) at(i int64) time.Duration {
	if i < 0 || i >= v.n {
		return v.dur
	}
	t := v.base.At(v.first+i*v.stride) - v.from
	// Rounding can put the first request a nanosecond before the segment.
	return min(max(t, 0), v.dur)
}

func (v *partView) countAt(t time.Duration) int64 {
	if t <= 0 {
		return 0
	}
	if t >= v.dur {
		return v.n
	}
	return min(countFrom(v.first, min(v.base.CountAt(v.from+t), v.hi), v.stride), v.n)
}

func (v *partView) rateAt(t time.Duration) float64 {
	if t < 0 || t >= v.dur {
		return 0
	}
	return v.base.RateAt(v.from+t) / float64(v.stride)
}

// errSplitCollection refuses to split a collection's run: its files are
// on this machine, and its chained values in this process.
var errSplitCollection = errors.New("postman: a collection's run is not split between generators")

// share returns shard's share of n things dealt round-robin to shards.
func share(n, shard, shards int) int {
	return int(countFrom(int64(shard), int64(n), int64(shards)))
}

// usePart makes the run one part of a split plan: the part's share of the
// schedule, its seed and id prefix, and the User-Agent that names its
// shard (unless the scenario sets one), on ts, the transport's scenario.
func (r *runner) usePart(ts *Scenario) error {
	p := r.part
	if r.s.Postman.File != "" {
		return errSplitCollection
	}
	if r.s.Model != ModelOpen {
		return fmt.Errorf("part: model %s: only the open model's plan can be split", r.s.Model)
	}
	if err := p.check(); err != nil {
		return fmt.Errorf("part: %w", err)
	}
	sched, err := r.sched.Part(*p, min(r.sched.Len(), r.limit))
	if err != nil {
		return err
	}
	r.sched, r.limit = sched, math.MaxInt64
	r.seed, r.seeded = p.Seed(), true
	h := make(Headers, len(ts.Headers)+1)
	ua := false
	for k, v := range ts.Headers {
		h[k] = v
		ua = ua || strings.EqualFold(k, "User-Agent")
	}
	if !ua {
		h["User-Agent"] = p.userAgent()
	}
	ts.Headers = h
	return nil
}

// startTime returns when the run starts, on the monotonic clock: now, or
// for a part with an agreed start, that start by the wall clock, waited
// for. A part ready after its start starts then all the same, its first
// requests late (and counted late), so that its time line stays the
// plan's.
func (r *runner) startTime(ctx context.Context) time.Time {
	started := time.Now()
	if r.part == nil || r.part.Split.StartAt.IsZero() {
		return started
	}
	ahead := r.part.Split.StartAt.Add(r.part.From).Sub(r.now())
	if ahead <= 0 {
		r.late = -ahead
		return started.Add(ahead)
	}
	t := time.NewTimer(ahead)
	defer t.Stop()
	select {
	case <-t.C:
		return started.Add(ahead)
	case <-ctx.Done():
		return time.Now() // the run halts at once
	}
}

func durMs(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
