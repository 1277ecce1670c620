package load

import (
	"fmt"
	"sort"

	hdr "github.com/HdrHistogram/hdrhistogram-go"
)

// The members a part's result has beside the counts and histograms that
// merge.go adds: cold against warm latency, cache outcomes, refusals by
// source, payload classes, and the target's own figures. Histograms and
// counts add; the target's figures are the one target's as each part saw
// it, so the merge keeps the most any part saw, never a sum.

// addTarget adds a part's operation's cold latency, cache outcomes and
// refusals by source.
func (o *opSum) addTarget(r *OpResult) error {
	o.r.CacheHits += r.CacheHits
	o.r.CacheMisses += r.CacheMisses
	for st, bySrc := range r.StatusSources {
		if o.r.StatusSources == nil {
			o.r.StatusSources = map[string]map[string]int64{}
		}
		if o.r.StatusSources[st] == nil {
			o.r.StatusSources[st] = map[string]int64{}
		}
		for src, n := range bySrc {
			o.r.StatusSources[st][src] += n
		}
	}
	if r.ColdLatencyHist != "" {
		if o.cold == nil {
			o.cold = newHist()
		}
		if err := addHist(o.cold, r.ColdLatencyHist, r.Name+" cold latency"); err != nil {
			return err
		}
	}
	return nil
}

// targetResult sets the merged cold and warm latency: the warm ones are
// the rest of all the latencies.
func (o *opSum) targetResult(r *OpResult) {
	r.ColdLatency, r.WarmLatency, r.ColdLatencyHist, r.WarmLatencyHist = nil, nil, "", ""
	if o.cold == nil || o.cold.TotalCount() == 0 {
		return
	}
	cold, warm := statsOf(o.cold), statsOf(nil)
	r.ColdLatency = &cold
	r.ColdLatencyHist, _ = EncodeHist(o.cold)
	if w := subtractHist(o.lat, o.cold); w != nil {
		warm = statsOf(w)
		r.WarmLatencyHist, _ = EncodeHist(w)
	}
	r.WarmLatency = &warm
}

// mergeExtra gathers the parts' payload classes and target figures.
type mergeExtra struct {
	payload map[[2]string]*payloadSum
	order   [][2]string
	target  *TargetResult
}

type payloadSum struct {
	size int64
	h    *hdr.Histogram
}

func (m *mergeExtra) add(r *Result) error {
	for _, p := range r.PayloadLatency {
		k := [2]string{p.Op, fmt.Sprint(p.Size)}
		if m.payload == nil {
			m.payload = map[[2]string]*payloadSum{}
		}
		ps, ok := m.payload[k]
		if !ok {
			ps = &payloadSum{size: p.Size, h: newHist()}
			m.payload[k] = ps
			m.order = append(m.order, k)
		}
		if err := addHist(ps.h, p.LatencyHist, p.Op+" payload latency"); err != nil {
			return err
		}
	}
	if t := r.Target; t != nil {
		if m.target == nil {
			m.target = &TargetResult{Source: t.Source}
		}
		m.target.Samples += t.Samples
		m.target.Failed += t.Failed
		m.target.Invocations = maxOf(m.target.Invocations, t.Invocations)
		m.target.ConcurrencyMax = maxOf(m.target.ConcurrencyMax, t.ConcurrencyMax)
	}
	return nil
}

func (m *mergeExtra) result(out *Result) {
	sort.SliceStable(m.order, func(i, j int) bool { return opRank(m.order[i][0]) < opRank(m.order[j][0]) })
	out.PayloadLatency = nil
	for _, k := range m.order {
		ps := m.payload[k]
		enc, _ := EncodeHist(ps.h)
		out.PayloadLatency = append(out.PayloadLatency, PayloadLatency{Op: k[0], Size: ps.size, Latency: statsOf(ps.h), LatencyHist: enc})
	}
	out.Target = m.target
}

// addPointExtras adds a part's interval's statuses, refusals, cold starts,
// drops and cache outcomes; the target's figures take the most.
func addPointExtras(dst, src *Point) {
	addCounts(&dst.Statuses, src.Statuses)
	for st, bySrc := range src.StatusSources {
		if dst.StatusSources == nil {
			dst.StatusSources = map[string]map[string]int64{}
		}
		if dst.StatusSources[st] == nil {
			dst.StatusSources[st] = map[string]int64{}
		}
		for k, n := range bySrc {
			dst.StatusSources[st][k] += n
		}
	}
	dst.ColdStarts = sumOf(dst.ColdStarts, src.ColdStarts)
	dst.Dropped = sumOf(dst.Dropped, src.Dropped)
	dst.CacheHits = sumOf(dst.CacheHits, src.CacheHits)
	dst.CacheMisses = sumOf(dst.CacheMisses, src.CacheMisses)
	dst.Invocations = maxOf(dst.Invocations, src.Invocations)
	dst.Concurrency = maxOf(dst.Concurrency, src.Concurrency)
}

func sumOf(a, b *int64) *int64 {
	if b == nil {
		return a
	}
	v := *b
	if a != nil {
		v += *a
	}
	return &v
}

func maxOf[T int64 | float64](a, b *T) *T {
	if b == nil {
		return a
	}
	v := *b
	if a != nil && *a > v {
		v = *a
	}
	return &v
}
