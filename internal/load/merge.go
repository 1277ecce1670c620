package load

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"time"

	hdr "github.com/HdrHistogram/hdrhistogram-go"
)

// Merged says of which parts a merged result was made and which parts of
// the plan no result covers.
type Merged struct {
	PlanID   string `json:"planId"`
	Split    Split  `json:"split"`
	Segments int    `json:"segments"`
	// Parts are the parts merged, by segment and shard.
	Parts []MergedPart `json:"parts"`
	// Missing are the parts of the plan that no result covers: their
	// requests may have been sent (a generator killed halfway sent some)
	// but nothing measured them, so the merged result is incomplete.
	Missing []MissingPart `json:"missing,omitempty"`
	// MissingRequests adds up the missing parts' planned requests.
	MissingRequests int64 `json:"missingRequests"`
}

// MergedPart is one part as it ran.
type MergedPart struct {
	Shard       int     `json:"shard"`
	Segment     int     `json:"segment"`
	Planned     int64   `json:"planned"`
	Sent        int64   `json:"sent"`
	Done        int64   `json:"done"`
	Stop        string  `json:"stop"`
	ReadyLateMs float64 `json:"readyLateMs"`
	Clock       Clock   `json:"clock"`
}

// MissingPart is a part of the plan that no result covers.
type MissingPart struct {
	Shard   int `json:"shard"`
	Segment int `json:"segment"`
	// From and To bound its segment on the plan's time line.
	From time.Duration `json:"from"`
	To   time.Duration `json:"to"`
	// Planned is how many requests the part was to send.
	Planned int64 `json:"planned"`
	// Reason says why it is missing.
	Reason string `json:"reason"`
}

// String describes the missing part as reports show it.
func (m MissingPart) String() string {
	return fmt.Sprintf("shard %d, %s to %s of the plan: %d planned requests: %s", m.Shard, m.From, m.To, m.Planned, m.Reason)
}

// Failure is a part of a split plan that returned no result, and why.
type Failure struct {
	Part   Part
	Reason string
}

// MergeOptions are what Merge needs besides the results.
type MergeOptions struct {
	// Names name the results in messages (file names), in order; the
	// default is "result 1", "result 2", ...
	Names []string
	// Failures are parts known to have failed, with their reasons.
	Failures []Failure
	// Scenario is the plan's scenario, needed only when no result is
	// given (every part failed).
	Scenario *Scenario
	// Split is the plan's split, likewise.
	Split *Split
}

// StopIncomplete is the Stop of a merged result whose parts do not cover
// the plan.
const StopIncomplete = "incomplete"

// Merge combines the results of the parts of one split plan into the
// plan's result, exactly: histograms added (never an average of
// percentiles), counts added, the per-second series aligned on the plan's
// shared start, and the scenario's thresholds evaluated on the merged
// result. It refuses results of different plans, saying how the plans
// differ, and a part given twice. Parts that no result covers are listed
// in Merged.Missing, with their planned requests, and the result's Stop
// is StopIncomplete: a merge never passes a partial run off as complete.
func Merge(results []*Result, opt MergeOptions) (*Result, error) {
	name := func(i int) string {
		if i < len(opt.Names) && opt.Names[i] != "" {
			return opt.Names[i]
		}
		return "result " + strconv.Itoa(i+1)
	}
	if len(results) == 0 && (opt.Scenario == nil || opt.Split == nil) {
		return nil, errors.New("merge: no results")
	}
	var s Scenario
	var sp Split
	if len(results) > 0 {
		for i, r := range results {
			if r.Part == nil {
				return nil, fmt.Errorf("merge: %s is not the result of a part of a split plan (surge load --shards)", name(i))
			}
			if id := r.Part.Split.ID(&r.Scenario); id != r.Part.PlanID {
				return nil, fmt.Errorf("merge: %s: its scenario and split make plan %s, but it says plan %s: the file was changed", name(i), id, r.Part.PlanID)
			}
		}
		for i, r := range results[1:] {
			if r.Part.PlanID != results[0].Part.PlanID {
				return nil, fmt.Errorf("merge: %s and %s are results of different plans (%s and %s): %s", name(0), name(i+1),
					results[0].Part.PlanID, r.Part.PlanID, planDiff(results[0], r))
			}
		}
		s, sp = results[0].Scenario, results[0].Part.Split
	} else {
		s, sp = redacted(*opt.Scenario), *opt.Split
	}
	parts, err := sp.Parts(&s)
	if err != nil {
		return nil, fmt.Errorf("merge: %w", err)
	}
	type key struct{ shard, segment int }
	byPart := map[key]int{}
	for i, r := range results {
		p := r.Part.Part
		k := key{p.Shard, p.Segment}
		if j, dup := byPart[k]; dup {
			return nil, fmt.Errorf("merge: %s is given twice: %s and %s", p, name(j), name(i))
		}
		want := Part{}
		for _, q := range parts {
			if q.Shard == p.Shard && q.Segment == p.Segment {
				want = q
			}
		}
		if want.Split.Shards == 0 || want.From != p.From || want.To != p.To || want.Segments != p.Segments {
			return nil, fmt.Errorf("merge: %s: %s is not a part of its plan", name(i), p)
		}
		byPart[k] = i
	}
	failed := map[key]string{}
	for _, f := range opt.Failures {
		failed[key{f.Part.Shard, f.Part.Segment}] = f.Reason
	}

	m := newMerger(&s)
	info := &Merged{PlanID: sp.ID(&s), Split: sp, Segments: parts[len(parts)-1].Segments}
	for _, p := range parts {
		i, ok := byPart[key{p.Shard, p.Segment}]
		if !ok {
			n, err := p.Planned(&s)
			if err != nil {
				return nil, fmt.Errorf("merge: %w", err)
			}
			reason := failed[key{p.Shard, p.Segment}]
			if reason == "" {
				reason = "no result given"
			}
			info.Missing = append(info.Missing, MissingPart{Shard: p.Shard, Segment: p.Segment, From: p.From, To: p.To, Planned: n, Reason: reason})
			info.MissingRequests += n
			continue
		}
		r := results[i]
		if err := m.add(r); err != nil {
			return nil, fmt.Errorf("merge: %s: %w", name(i), err)
		}
		info.Parts = append(info.Parts, MergedPart{Shard: p.Shard, Segment: p.Segment, Planned: r.Planned, Sent: r.Sent,
			Done: r.Total.Count, Stop: r.Stop, ReadyLateMs: r.Part.ReadyLateMs, Clock: r.Part.Clock})
	}
	sched, _, err := planSchedule(&s)
	if err != nil {
		return nil, fmt.Errorf("merge: %w", err)
	}
	res, err := m.result(sp, sched)
	if err != nil {
		return nil, fmt.Errorf("merge: %w", err)
	}
	res.Planned += info.MissingRequests
	res.Merged = info
	if len(info.Missing) > 0 {
		res.Stop = StopIncomplete
	}
	res.Thresholds, _ = s.Thresholds.Eval(res)
	return res, nil
}

// planDiff says how two parts' plans differ: their splits' fields, then
// their scenarios' fields, by JSON name.
func planDiff(a, b *Result) string {
	var diffs []string
	x, y := a.Part.Split, b.Part.Split
	if x.Shards != y.Shards {
		diffs = append(diffs, fmt.Sprintf("shards %d and %d", x.Shards, y.Shards))
	}
	if !x.StartAt.Equal(y.StartAt) {
		diffs = append(diffs, fmt.Sprintf("start %s and %s", x.StartAt.UTC().Format(time.RFC3339Nano), y.StartAt.UTC().Format(time.RFC3339Nano)))
	}
	if x.Segment != y.Segment {
		diffs = append(diffs, fmt.Sprintf("segment %s and %s", x.Segment, y.Segment))
	}
	if x.Seed != y.Seed {
		diffs = append(diffs, fmt.Sprintf("seed %d and %d", x.Seed, y.Seed))
	}
	sa, sb := a.Scenario, b.Scenario
	sa.Thresholds, sb.Thresholds = nil, nil
	fa, fb := map[string]string{}, map[string]string{}
	flatten("scenario", toAny(sa), fa)
	flatten("scenario", toAny(sb), fb)
	keys := map[string]bool{}
	for k := range fa {
		keys[k] = true
	}
	for k := range fb {
		keys[k] = true
	}
	var names []string
	for k := range keys {
		if fa[k] != fb[k] {
			names = append(names, k)
		}
	}
	sort.Strings(names)
	for _, k := range names {
		diffs = append(diffs, fmt.Sprintf("%s %s and %s", k, orNone(fa[k]), orNone(fb[k])))
	}
	if len(diffs) == 0 {
		return "they differ in nothing a merge can name"
	}
	if len(diffs) > 8 {
		diffs = append(diffs[:8], fmt.Sprintf("and %d more", len(diffs)-8))
	}
	return strings.Join(diffs, "; ")
}

func orNone(s string) string {
	if s == "" {
		return "(none)"
	}
	return s
}

func toAny(v any) any {
	b, _ := json.Marshal(v)
	var out any
	_ = json.Unmarshal(b, &out)
	return out
}

// flatten writes v's leaves into out by dotted path.
func flatten(path string, v any, out map[string]string) {
	switch v := v.(type) {
	case map[string]any:
		for k, e := range v {
			flatten(path+"."+k, e, out)
		}
	case []any:
		for i, e := range v {
			flatten(path+"["+strconv.Itoa(i)+"]", e, out)
		}
	case nil:
	default:
		b, _ := json.Marshal(v)
		out[path] = string(b)
	}
}

// merger adds up results.
type merger struct {
	s       *Scenario
	res     *Result
	lag     *hdr.Histogram
	ops     map[string]*opSum
	order   []string
	total   *opSum
	points  map[int64]*pointSum
	elapsed float64
	extra   mergeExtra
}

type opSum struct {
	r      OpResult
	lat    *hdr.Histogram
	svc    *hdr.Histogram
	timing map[string]*hdr.Histogram
	cold   *hdr.Histogram // the cold responses' latency, when any part had some
}

type pointSum struct {
	p   Point
	lat *hdr.Histogram
	ops map[string]*opPointSum
}

type opPointSum struct {
	p   OpPoint
	lat *hdr.Histogram
}

func newMerger(s *Scenario) *merger {
	return &merger{s: s, lag: newHist(), ops: map[string]*opSum{}, total: newOpSum("all"), points: map[int64]*pointSum{},
		res: &Result{Schema: ResultSchema, Scenario: *s, Stop: "completed", Client: ClientInfo{GoVersion: runtime.Version()}}}
}

func newOpSum(name string) *opSum {
	return &opSum{r: OpResult{Name: name}, lat: newHist(), svc: newHist(), timing: map[string]*hdr.Histogram{}}
}

// addHist adds the histogram enc encodes to dst.
func addHist(dst *hdr.Histogram, enc, what string) error {
	h, err := DecodeHist(enc)
	if err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	dst.Merge(h)
	return nil
}

func (o *opSum) add(r *OpResult) error {
	o.r.Count += r.Count
	o.r.Errors += r.Errors
	o.r.ColdStarts += r.ColdStarts
	o.r.Late += r.Late
	o.r.ReqBytes += r.ReqBytes
	o.r.RespBytes += r.RespBytes
	addCounts(&o.r.Statuses, r.Statuses)
	addCounts(&o.r.ErrorKinds, r.ErrorKinds)
	if err := o.addTarget(r); err != nil {
		return err
	}
	if err := addHist(o.lat, r.LatencyHist, r.Name+" latency"); err != nil {
		return err
	}
	if err := addHist(o.svc, r.ServiceHist, r.Name+" service"); err != nil {
		return err
	}
	for _, t := range r.ServerTiming {
		h, ok := o.timing[t.Name]
		if !ok {
			h = newHist()
			o.timing[t.Name] = h
		}
		if err := addHist(h, t.Hist, r.Name+" "+t.Name); err != nil {
			return err
		}
	}
	return nil
}

func addCounts(dst *map[string]int64, src map[string]int64) {
	for k, n := range src {
		if *dst == nil {
			*dst = map[string]int64{}
		}
		(*dst)[k] += n
	}
}

func (o *opSum) result() OpResult {
	r := o.r
	r.Latency, r.Service = statsOf(o.lat), statsOf(o.svc)
	r.LatencyHist, _ = EncodeHist(o.lat)
	r.ServiceHist, _ = EncodeHist(o.svc)
	names := make([]string, 0, len(o.timing))
	for n := range o.timing {
		names = append(names, n)
	}
	sort.Strings(names)
	r.ServerTiming = nil
	for _, n := range names {
		enc, _ := EncodeHist(o.timing[n])
		r.ServerTiming = append(r.ServerTiming, ServerMetric{Name: n, Stats: statsOf(o.timing[n]), Hist: enc})
	}
	o.targetResult(&r)
	return r
}

func (m *merger) add(r *Result) error {
	out := m.res
	p := r.Part
	out.Due += r.Due
	out.Sent += r.Sent
	out.Late += r.Late
	out.Dropped += r.Dropped
	out.DroppedLag += r.DroppedLag
	out.Planned += r.Planned
	out.BytesOut += r.BytesOut
	out.BytesIn += r.BytesIn
	out.Preseed.Requested += r.Preseed.Requested
	out.Preseed.Created += r.Preseed.Created
	out.Preseed.Failed += r.Preseed.Failed
	c := &out.Client
	c.NumCPU += r.Client.NumCPU
	c.GOMAXPROCS += r.Client.GOMAXPROCS
	c.Workers += r.Client.Workers
	c.WorkersUsed += r.Client.WorkersUsed
	c.MaxRSSBytes = max(c.MaxRSSBytes, r.Client.MaxRSSBytes)
	switch {
	case r.Stop == "interrupted" || out.Stop == "interrupted":
		out.Stop = "interrupted"
	case r.Stop == "count":
		out.Stop = "count"
	}
	m.elapsed = max(m.elapsed, p.From.Seconds()+r.ElapsedSeconds)
	if err := addHist(m.lag, r.LagHist, "lag"); err != nil {
		return err
	}
	if err := m.total.add(&r.Total); err != nil {
		return err
	}
	if err := m.extra.add(r); err != nil {
		return err
	}
	for i := range r.Ops {
		o := &r.Ops[i]
		s, ok := m.ops[o.Name]
		if !ok {
			s = newOpSum(o.Name)
			m.ops[o.Name] = s
			m.order = append(m.order, o.Name)
		}
		if err := s.add(o); err != nil {
			return err
		}
	}
	return m.addSeries(r)
}

// addSeries adds a part's points to the merged intervals: a point ending T
// seconds into the part ends From + T - offset into the plan, on the
// coordinator's clock, and goes to the interval that ends nearest.
func (m *merger) addSeries(r *Result) error {
	const interval = DefaultInterval
	shift := r.Part.From - time.Duration(r.Part.Clock.OffsetMs*float64(time.Millisecond))
	for _, q := range r.Series {
		if q.Hist == "" && q.Done > 0 {
			return fmt.Errorf("the point at %gs has no histogram (not a part's result?)", q.T)
		}
		end := shift + time.Duration(q.T*float64(time.Second))
		slot := int64(math.Round(float64(end) / float64(interval)))
		ps, ok := m.points[slot]
		if !ok {
			ps = &pointSum{p: Point{T: float64(slot) * interval.Seconds()}, lat: newHist(), ops: map[string]*opPointSum{}}
			m.points[slot] = ps
		}
		ps.p.Offered += q.Offered
		ps.p.Rate += q.Rate
		ps.p.Sent += q.Sent
		ps.p.Done += q.Done
		ps.p.Errors += q.Errors
		ps.p.Late += q.Late
		ps.p.InFlight += q.InFlight
		addPointExtras(&ps.p, &q)
		if q.Hist != "" {
			if err := addHist(ps.lat, q.Hist, fmt.Sprintf("point %gs", q.T)); err != nil {
				return err
			}
		}
		for _, o := range q.Ops {
			os, ok := ps.ops[o.Name]
			if !ok {
				os = &opPointSum{p: OpPoint{Name: o.Name}, lat: newHist()}
				ps.ops[o.Name] = os
			}
			os.p.Count += o.Count
			os.p.Errors += o.Errors
			if o.Hist != "" {
				if err := addHist(os.lat, o.Hist, fmt.Sprintf("point %gs %s", q.T, o.Name)); err != nil {
					return err
				}
			}
		}
	}
	return nil
}

func (m *merger) result(sp Split, sched *Schedule) (*Result, error) {
	out := m.res
	out.Started = sp.StartAt.UTC()
	out.PlanSeconds = sched.Duration().Seconds()
	out.ElapsedSeconds = m.elapsed
	if out.PlanSeconds > 0 {
		out.OfferedRate = float64(out.Due) / out.PlanSeconds
	}
	out.Lag = statsOf(m.lag)
	out.LagHist, _ = EncodeHist(m.lag)
	out.Total = m.total.result()
	out.Total.Name = "all"
	m.extra.result(out)
	if out.ElapsedSeconds > 0 {
		out.AchievedRate = float64(out.Total.Count) / out.ElapsedSeconds
	}
	// Operations in the engine's order, as a single run lists them.
	sort.SliceStable(m.order, func(i, j int) bool { return opRank(m.order[i]) < opRank(m.order[j]) })
	out.Ops = []OpResult{}
	for _, name := range m.order {
		out.Ops = append(out.Ops, m.ops[name].result())
	}
	slots := make([]int64, 0, len(m.points))
	for k := range m.points {
		slots = append(slots, k)
	}
	sort.Slice(slots, func(i, j int) bool { return slots[i] < slots[j] })
	out.Series = make([]Point, 0, len(slots))
	for _, k := range slots {
		ps := m.points[k]
		p := ps.p
		p.P99 = usToMs(float64(ps.lat.ValueAtQuantile(99)))
		names := make([]string, 0, len(ps.ops))
		for n := range ps.ops {
			names = append(names, n)
		}
		sort.Slice(names, func(i, j int) bool { return opRank(names[i]) < opRank(names[j]) })
		for _, n := range names {
			o := ps.ops[n]
			op := o.p
			op.P50 = usToMs(float64(o.lat.ValueAtQuantile(50)))
			op.P95 = usToMs(float64(o.lat.ValueAtQuantile(95)))
			op.P99 = usToMs(float64(o.lat.ValueAtQuantile(99)))
			p.Ops = append(p.Ops, op)
		}
		out.Series = append(out.Series, p)
	}
	return out, nil
}

// opRank orders operation names as the engine numbers them; unknown
// names go last.
func opRank(name string) int {
	if op, ok := opByName(name); ok {
		return int(op)
	}
	return math.MaxInt
}
