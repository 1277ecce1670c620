package lab

import (
	"fmt"
	"math"
	"strings"
)

// The findings' ids, in the article's order.
const (
	FindingColdStart   = "cold-start"
	FindingReadsWrites = "reads-writes"
	FindingKnee        = "knee"
	FindingStore       = "store"
	FindingConsistent  = "consistent-reads"
	FindingScans       = "scans"
	FindingProvisioned = "provisioned-concurrency"
	FindingCache       = "response-cache"
	FindingThrottle    = "throttling"
	FindingDAX         = "dax"
	FindingRightSize   = "right-sizing"
	FindingOverall     = "overall"
	FindingTableCost   = "table-cost"
)

// FindingIDs are every finding, in the order of the table.
var FindingIDs = []string{FindingColdStart, FindingReadsWrites, FindingKnee, FindingStore, FindingConsistent, FindingScans,
	FindingProvisioned, FindingCache, FindingThrottle, FindingDAX, FindingRightSize, FindingOverall, FindingTableCost}

// findingSpec is what the article says, and how to read the lab's phases.
type findingSpec struct {
	id, title, article string
	eval               func(f *Finding, e *evalCtx)
}

// evalCtx is what a finding reads: the result's phases of each profile.
type evalCtx struct {
	r        *Result
	profiles []*Profile
	b, o     string // the two profiles' names
}

func (e *evalCtx) ph(name, profile string) *Phase { return e.r.phase(name, profile) }

// Findings sets the article's findings beside what r measured, a row per
// finding, each with a verdict. profiles are the profiles r ran (for
// their pending settings), or nil.
func Findings(r *Result, profiles []*Profile) []Finding {
	e := &evalCtx{r: r, profiles: profiles}
	if len(r.Profiles) > 0 {
		e.b = r.Profiles[0].Name
	}
	if len(r.Profiles) > 1 {
		e.o = r.Profiles[1].Name
	}
	var out []Finding
	for _, s := range findingSpecs {
		f := Finding{ID: s.id, Title: s.title, Article: s.article, Baseline: "-", Optimized: "-"}
		if p := e.pending(s.id); p != nil {
			f.Verdict = NotYetWired
			f.Mechanism = p.What
			f.Reason = "needs " + p.Needs + "; the lab reports it once that lands, rather than estimate it"
		} else {
			s.eval(&f, e)
		}
		if f.Verdict == verdictUnknown {
			f.Verdict, f.Reason = NotMeasurable, "the phase it reads did not run"
		}
		out = append(out, f)
	}
	return out
}

// pending returns the pending setting of either profile that keeps finding
// id from being measured.
func (e *evalCtx) pending(id string) *Pending {
	for _, p := range e.r.Profiles {
		for i := range p.Pending {
			for _, f := range p.Pending[i].Findings {
				if f == id {
					return &p.Pending[i]
				}
			}
		}
	}
	return nil
}

// judge returns the verdict of a relative effect measured against the
// article's (-0.95 for a 95% cut): reproduced when it has the article's
// sign and is within a factor of two of its size (for a cut, the part
// left also within twice the article's: a 50% cut is not a 95% one),
// direction only when it has the sign but not the size, not reproduced
// otherwise (an effect under noise counts as none).
func judge(measured, article, noise float64) (string, string) {
	sized := math.Abs(measured) >= math.Abs(article)/2 && math.Abs(measured) <= 2*math.Abs(article)
	if article < 0 {
		sized = math.Abs(measured) >= math.Abs(article)/2 && 1+measured <= 2*(1+article)
	}
	switch {
	case math.IsNaN(measured):
		return NotMeasurable, "nothing to compare"
	case math.Abs(measured) < noise || math.Signbit(measured) != math.Signbit(article):
		return NotReproduced, fmt.Sprintf("measured %s, the article %s", pctSigned(measured), pctSigned(article))
	case sized:
		return Reproduced, fmt.Sprintf("measured %s against the article's %s: the same direction, within a factor of two", pctSigned(measured), pctSigned(article))
	}
	return DirectionOnly, fmt.Sprintf("measured %s against the article's %s: the same direction, a different size", pctSigned(measured), pctSigned(article))
}

func pctSigned(v float64) string { return fmt.Sprintf("%+.0f%%", 100*v) }

func ms(v float64) string {
	switch {
	case math.IsNaN(v):
		return "-"
	case v >= 100:
		return fmt.Sprintf("%.0f ms", v)
	case v >= 10:
		return fmt.Sprintf("%.1f ms", v)
	}
	return fmt.Sprintf("%.2f ms", v)
}

func rps(v float64) string { return fmt.Sprintf("%.0f/s", v) }

var findingSpecs = []findingSpec{
	{FindingColdStart, "Cold starts add latency after idle periods", "+700 ms to 1.2 s", evalColdStart},
	{FindingReadsWrites, "Reads are faster than writes", "GET 45, DELETE 75, POST 110, PUT 180 ms", evalReadsWrites},
	{FindingKnee, "Stable to a rate, then non-linear at the scaling limit", "stable to ~150/s, non-linear near 300/s, at ~80 concurrent executions", evalKnee},
	{FindingStore, "The store answers in single-digit ms under load", "single-digit ms up to 500 operations/s", evalStore},
	{FindingConsistent, "Strongly consistent reads are slower", "25% slower than eventually consistent", evalConsistent},
	{FindingScans, "Scans slow down as the table grows; key lookups do not", "15 ms to over 200 ms past 100,000 items", evalScans},
	{FindingProvisioned, "Provisioned concurrency cuts cold starts", "-95% on the provisioned routes", evalProvisioned},
	{FindingCache, "The response cache cuts function invocations", "about -65% at peak", evalCache},
	{FindingThrottle, "Stage throttling protects the backend in a spike", "1,000/s stage limit", evalThrottle},
	{FindingDAX, "The read cache (DAX) cuts read latency", "11 ms to under 1 ms", evalDAX},
	{FindingRightSize, "Right-sizing memory: 128 to 512 MB", "-40% execution time or more", evalRightSize},
	{FindingOverall, "After the optimizations: response time and throughput", "-92% average response time, +76% throughput", evalOverall},
	{FindingTableCost, "Provisioned table with auto scaling costs less", "-30% table cost", evalTableCost},
}

func evalColdStart(f *Finding, e *evalCtx) {
	b, o := e.ph(PhaseCold, e.b), e.ph(PhaseCold, e.o)
	f.Mechanism = "a real process start and the function's init after the pool stopped its idle instances (the idle gap)"
	f.Baseline, f.Optimized = coldWords(b), coldWords(o)
	if b == nil {
		return
	}
	added, ok := b.fig("added_ms")
	if !ok {
		f.Verdict, f.Reason = NotMeasurable, "the baseline saw no cold start"
		return
	}
	switch {
	case added >= 700 && added <= 1200:
		f.Verdict, f.Reason = Reproduced, "within the article's range"
	case added > 0:
		f.Verdict = DirectionOnly
		f.Reason = fmt.Sprintf("a cold start adds %s here: the article's 700 ms to 1.2 s are Python's with boto3's imports; surge's function is Go (published: Go about 40 ms, Python 70 to 80 ms for a hello-world)", ms(added))
	default:
		f.Verdict, f.Reason = NotReproduced, "cold requests were no slower than warm ones"
	}
}

func coldWords(p *Phase) string {
	if p == nil {
		return "-"
	}
	n := p.Counts["cold_starts"]
	if n == 0 {
		return fmt.Sprintf("no cold start in %d requests", p.Counts["requests"])
	}
	s := fmt.Sprintf("%d cold starts in %d requests", n, p.Counts["requests"])
	if a, ok := p.fig("added_ms"); ok {
		s += fmt.Sprintf(", +%s at p50", ms(a))
	}
	if t, ok := p.fig("tail_cold_share"); ok {
		s += fmt.Sprintf(", %.0f%% of the requests over p99", 100*t)
	}
	return s
}

func evalReadsWrites(f *Finding, e *evalCtx) {
	// The ramp's stable steps, where the operations' own times show; the
	// sustained phase, near the knee, adds queueing to every one alike.
	b, o := e.ph(PhaseRamp, e.b), e.ph(PhaseRamp, e.o)
	where := "the average response time in the ramp's stable steps"
	if _, ok := b.fig("read_avg_ms"); !ok {
		b, o, where = e.ph(PhaseSustained, e.b), e.ph(PhaseSustained, e.o), "the average response time in the sustained phase"
	}
	f.Mechanism = "the same handlers (each write a conditional write of the store) through the profile's function; " + where
	words := func(p *Phase) string {
		if p == nil {
			return "-"
		}
		var parts []string
		for _, op := range []struct{ name, label string }{{"read", "GET"}, {"delete", "DELETE"}, {"create", "POST"}, {"update", "PUT"}} {
			if v, ok := p.fig(op.name + "_avg_ms"); ok {
				parts = append(parts, fmt.Sprintf("%s %s", op.label, ms(v)))
			}
		}
		return strings.Join(parts, ", ")
	}
	f.Baseline, f.Optimized = words(b), words(o)
	if b == nil {
		return
	}
	r, ok1 := b.fig("read_avg_ms")
	d, ok2 := b.fig("delete_avg_ms")
	c, ok3 := b.fig("create_avg_ms")
	u, ok4 := b.fig("update_avg_ms")
	if !(ok1 && ok2 && ok3 && ok4) || r <= 0 {
		f.Verdict, f.Reason = NotMeasurable, "the baseline's sustained run lacks an operation"
		return
	}
	article := []float64{75.0 / 45, 110.0 / 45, 180.0 / 45}
	got := []float64{d / r, c / r, u / r}
	within := true
	for i := range got {
		if got[i] < article[i]/2 || got[i] > article[i]*2 {
			within = false
		}
	}
	order := r < d && d < c && c < u
	faster := r < math.Min(d, math.Min(c, u))
	ratio := fmt.Sprintf("DELETE, POST and PUT take %.1f, %.1f and %.1f times a GET here (the article: 1.7, 2.4 and 4.0)", got[0], got[1], got[2])
	switch {
	case order && within:
		f.Verdict, f.Reason = Reproduced, ratio
	case faster:
		f.Verdict, f.Reason = DirectionOnly, ratio
	default:
		f.Verdict, f.Reason = NotReproduced, ratio
	}
}

func evalKnee(f *Finding, e *evalCtx) {
	b, o := e.ph(PhaseRamp, e.b), e.ph(PhaseRamp, e.o)
	sc := e.r.Scale
	f.Mechanism = "the load tester's knee search (achieved within 5% of offered, p99 bound, errors under 1%) against the whole stack on this machine"
	words := func(p *Phase) string {
		if p == nil {
			return "-"
		}
		k, ok := p.fig("knee_offered")
		if !ok {
			if p.Knee != nil {
				return "no knee: " + p.Knee.Note
			}
			return "-"
		}
		s := fmt.Sprintf("stable to %s, knee %s", rps(p.Figures["stable_until"]), rps(k))
		if c, ok := p.fig("knee_concurrency"); ok {
			s += fmt.Sprintf(" at %.0f concurrent executions", c)
		}
		if _, ok := p.fig("bound_reached"); ok {
			s += " (the bound: the knee is above it)"
		}
		return s
	}
	f.Baseline, f.Optimized = words(b), words(o)
	if b == nil {
		return
	}
	k, ok := b.fig("knee_offered")
	if !ok {
		f.Verdict, f.Reason = NotMeasurable, "the baseline's knee search found no rate it kept up with"
		return
	}
	if _, reached := b.fig("bound_reached"); reached {
		f.Verdict, f.Reason = NotReproduced, "the baseline kept up at every rate up to the search's bound"
		return
	}
	stable := b.Figures["stable_until"]
	past, hasPast := b.fig("past_knee_p99_ms")
	knp99 := b.Figures["knee_p99_ms"]
	nonLinear := hasPast && knp99 > 0 && past > 2*knp99
	ratio := stable / k
	reason := fmt.Sprintf("stable to %.0f%% of the knee here (the article: 50%%); past the knee p99 went from %s to %s; scaled by %.2f, the knee is the article's %.0f/s",
		100*ratio, ms(knp99), ms(past), sc.Factor, articleKnee)
	if c, ok := b.fig("knee_concurrency"); ok {
		reason += fmt.Sprintf("; %.0f concurrent executions at the knee (80 on AWS, where each request held its execution some 100 times longer)", c)
	}
	switch {
	case nonLinear && ratio >= 0.35 && ratio <= 0.75:
		f.Verdict = Reproduced
	case nonLinear || b.Figures["past_knee_errors"] >= 0.01:
		f.Verdict = DirectionOnly
	default:
		f.Verdict = NotReproduced
		reason += "; latency past the knee did not grow out of proportion"
	}
	f.Reason = reason
}

func evalStore(f *Finding, e *evalCtx) {
	b, o := e.ph(PhaseRamp, e.b), e.ph(PhaseRamp, e.o)
	sc := e.r.Scale
	f.Mechanism = "the store's own time of each request (Server-Timing store) at each step of the ramp"
	words := func(p *Phase) string {
		if v, ok := p.fig("store_ms_max"); ok {
			return fmt.Sprintf("at most %s on average up to %s", ms(v), rps(articleStoreRate*sc.Factor))
		}
		return "-"
	}
	f.Baseline, f.Optimized = words(b), words(o)
	v, ok := b.fig("store_ms_max")
	if !ok {
		if b != nil {
			f.Verdict, f.Reason = NotMeasurable, "the target did not report its store's time"
		}
		return
	}
	if v < 10 {
		f.Verdict = Reproduced
		f.Reason = fmt.Sprintf("single-digit ms at every step up to the article's 500/s scaled (%s)", rps(articleStoreRate*sc.Factor))
	} else {
		f.Verdict = NotReproduced
		f.Reason = fmt.Sprintf("the store averaged %s at a step under %s", ms(v), rps(articleStoreRate*sc.Factor))
	}
}

func evalConsistent(f *Finding, e *evalCtx) {
	b, o := e.ph(PhaseReads, e.b), e.ph(PhaseReads, e.o)
	f.Mechanism = "the dispatcher's reads with ConsistentRead false and true, the same items, the same rate"
	words := func(p *Phase) string {
		if p == nil {
			return "-"
		}
		return fmt.Sprintf("eventual %s, strong %s (%s)", ms(p.Figures["eventual_ms"]), ms(p.Figures["consistent_ms"]), pctSigned(p.Figures["slower"]))
	}
	f.Baseline, f.Optimized = words(b), words(o)
	if b == nil {
		return
	}
	v, ok := b.fig("slower")
	if !ok {
		f.Verdict, f.Reason = NotMeasurable, "no reads answered"
		return
	}
	f.Verdict, f.Reason = judge(v, 0.25, 0.03)
	f.Reason += "; " + b.Note
	if f.Verdict == NotReproduced {
		f.Reason += ": a local store keeps one copy, so a consistent read does the same work; DynamoDB reads it from the partition's leader"
	}
}

func evalScans(f *Finding, e *evalCtx) {
	b, o := e.ph(PhaseScans, e.b), e.ph(PhaseScans, e.o)
	f.Mechanism = "full scans through the list endpoint (pages of 1,000) and key lookups, as the table grows"
	words := func(p *Phase) string {
		if _, ok := p.fig("scan_small_ms"); !ok {
			return "-"
		}
		return fmt.Sprintf("scan %s at %.0f items, %s at %.0f; lookup %s, then %s", ms(p.Figures["scan_small_ms"]), p.Figures["size_small"],
			ms(p.Figures["scan_large_ms"]), p.Figures["size_large"], ms(p.Figures["lookup_small_ms"]), ms(p.Figures["lookup_large_ms"]))
	}
	f.Baseline, f.Optimized = words(b), words(o)
	s0, ok := b.fig("scan_small_ms")
	if !ok {
		return
	}
	s1, n0, n1 := b.Figures["scan_large_ms"], b.Figures["size_small"], b.Figures["size_large"]
	l0, l1 := b.Figures["lookup_small_ms"], b.Figures["lookup_large_ms"]
	if n1 <= n0 || s0 <= 0 || l0 <= 0 {
		f.Verdict, f.Reason = NotMeasurable, "the table did not grow"
		return
	}
	grow, lookup, size := s1/s0, l1/l0, n1/n0
	reason := fmt.Sprintf("the table grew %.1f times: scans took %.1f times as long, key lookups %.2f times (the article: scans 13 times, to over 200 ms past 100,000 items)", size, grow, lookup)
	switch {
	case grow >= size/2 && lookup < 1.5:
		f.Verdict = Reproduced
	case grow > 1.5 && lookup < grow:
		f.Verdict = DirectionOnly
	default:
		f.Verdict = NotReproduced
	}
	f.Reason = reason
}

func evalProvisioned(f *Finding, e *evalCtx) {
	b, o := e.ph(PhaseCold, e.b), e.ph(PhaseCold, e.o)
	f.Mechanism = "provisioned instances initialised before traffic and kept through the idle gap"
	if o != nil && o.Counts["functions"] > 1 && o.Counts["provisioned_functions"] < o.Counts["functions"] {
		f.Mechanism += fmt.Sprintf(" on %d of the second profile's %d functions (the create and read routes'), the others on demand", o.Counts["provisioned_functions"], o.Counts["functions"])
	} else {
		f.Mechanism += " (on the one function that serves every route)"
	}
	f.Baseline, f.Optimized = coldWords(b), coldWords(o)
	if b == nil || o == nil {
		return
	}
	if o.Counts["provisioned"] == 0 && len(e.r.Against) == 0 {
		f.Verdict, f.Reason = NotMeasurable, "the second profile provisions no concurrency"
		return
	}
	// The article's cut is on its provisioned routes, create and read.
	nb, no, where := b.Counts["provisioned_route_cold_starts"], o.Counts["provisioned_route_cold_starts"], "on the create and read routes"
	if nb == 0 {
		nb, no, where = b.Counts["cold_starts"], o.Counts["cold_starts"], "on every route"
	}
	if nb == 0 {
		f.Verdict, f.Reason = NotMeasurable, "the baseline saw no cold start to cut"
		return
	}
	f.Verdict, f.Reason = judge(float64(no)/float64(nb)-1, -0.95, 0.05)
	f.Reason = fmt.Sprintf("%d cold starts %s against %d for the same requests after the same idle gaps (%d against %d on every route); ",
		no, where, nb, o.Counts["cold_starts"], b.Counts["cold_starts"]) + f.Reason
}

func evalCache(f *Finding, e *evalCtx) {
	b, o := e.ph(PhaseSustained, e.b), e.ph(PhaseSustained, e.o)
	f.Mechanism = "the gateway's response cache (5-minute TTL, keyed per tenant, dropped on writes); invocations counted by the pool itself"
	words := func(p *Phase) string {
		if p == nil {
			return "-"
		}
		c := p.Counts
		if _, ok := c["invocations"]; !ok {
			return fmt.Sprintf("%d cache hits of %d responses", c["cache_hits"], c["responses"])
		}
		return fmt.Sprintf("%d invocations for %d responses, %d cache hits", c["invocations"], c["responses"], c["cache_hits"])
	}
	f.Baseline, f.Optimized = words(b), words(o)
	v, ok := o.fig("invocation_cut")
	if !ok {
		if o != nil {
			f.Verdict, f.Reason = NotMeasurable, "the target does not report its invocations (a deployed stage: read CloudWatch's Invocations)"
		}
		return
	}
	f.Verdict, f.Reason = judge(-v, -0.65, 0.03)
	f.Reason = fmt.Sprintf("invocations saved: %.0f%% of the responses; ", 100*v) + f.Reason + "; the share is the mix's cacheable reads that repeat within the TTL"
}

func evalThrottle(f *Finding, e *evalCtx) {
	b, o := e.ph(PhaseSpike, e.b), e.ph(PhaseSpike, e.o)
	f.Mechanism = "the gateway's stage token bucket, scaled, in front of the function; refusals told apart by X-Limit-Source"
	words := func(p *Phase) string {
		if p == nil {
			return "-"
		}
		c := p.Counts
		return fmt.Sprintf("%d refused by the gateway, %d failures behind it; p99 %s in the spike", c["gateway_limited"], c["backend_failures"], ms(p.Figures["p99_spike_ms"]))
	}
	f.Baseline, f.Optimized = words(b), words(o)
	if b == nil || o == nil {
		return
	}
	gw, bb, ob := o.Counts["gateway_limited"], b.Counts["backend_failures"], o.Counts["backend_failures"]
	bp, op := b.Figures["p99_spike_ms"], o.Figures["p99_spike_ms"]
	switch {
	case gw == 0:
		f.Verdict, f.Reason = NotReproduced, "the spike did not reach the stage limit"
	case (ob < bb || (bb == 0 && ob == 0)) && op <= bp:
		f.Verdict = Reproduced
		f.Reason = fmt.Sprintf("the gateway refused %d requests of the spike; behind it %d failures against the baseline's %d, p99 %s against %s", gw, ob, bb, ms(op), ms(bp))
	default:
		f.Verdict = DirectionOnly
		f.Reason = fmt.Sprintf("the gateway refused %d requests of the spike, but behind it %d failures against the baseline's %d, p99 %s against %s", gw, ob, bb, ms(op), ms(bp))
	}
}

func evalDAX(f *Finding, e *evalCtx) {
	b, o := e.ph(PhaseSustained, e.b), e.ph(PhaseSustained, e.o)
	f.Mechanism = "the read cache in front of the store (item and query caches, 5-minute TTLs), shared by the instances as DAX is; the store's time from Server-Timing"
	fig := "read_store_ms"
	where := "in the sustained phase, on the profiles' store"
	if rb, ro := e.ph(PhaseReads, e.b), e.ph(PhaseReads, e.o); rb != nil && ro != nil && rb.Figures["dynamodb"] == 1 && ro.Figures["dynamodb"] == 1 {
		// DynamoDB's API, where the article measured: the reads phase's
		// eventually consistent reads, which the read cache answers.
		b, o, fig, where = rb, ro, "eventual_store_ms", "eventually consistent reads on DynamoDB's API (the reads phase)"
	}
	f.Mechanism += "; " + where
	words := func(p *Phase) string {
		if v, ok := p.fig(fig); ok {
			return "a read's store time " + ms(v)
		}
		return "-"
	}
	f.Baseline, f.Optimized = words(b), words(o)
	bv, ok1 := b.fig(fig)
	ov, ok2 := o.fig(fig)
	if !ok1 || !ok2 {
		if b != nil && o != nil {
			f.Verdict, f.Reason = NotMeasurable, "the target did not report its store's time"
		}
		return
	}
	switch {
	case ov < 1 && bv >= 5*ov:
		f.Verdict = Reproduced
	case ov < bv:
		f.Verdict = DirectionOnly
	default:
		f.Verdict = NotReproduced
	}
	f.Reason = fmt.Sprintf("%s to %s; the article's 11 ms is DynamoDB's over the network, where this store answers in %s without a cache, and the instances reach the shared cache over loopback HTTP (as Lambdas reach DAX over the network)", ms(bv), ms(ov), ms(bv))
}

func evalRightSize(f *Finding, e *evalCtx) {
	m := e.ph(PhaseMemory, "")
	f.Mechanism = "the function's CPU share by memory (memory/1,769 MB of a vCPU) through cgroups, each size its own pool"
	if m == nil {
		return
	}
	e128, ok1 := m.fig("exec_ms_128")
	e512, ok2 := m.fig("exec_ms_512")
	if !ok1 || !ok2 {
		f.Verdict, f.Reason = NotMeasurable, "the sweep lacks 128 or 512 MB"
		return
	}
	f.Baseline = fmt.Sprintf("128 MB: %s execution, init %s", ms(e128), ms(figOrNaN(m, "init_ms_128")))
	f.Optimized = fmt.Sprintf("512 MB: %s execution, init %s", ms(e512), ms(figOrNaN(m, "init_ms_512")))
	cut := m.Figures["cut_128_512"]
	switch {
	case cut >= 0.4:
		f.Verdict, f.Reason = Reproduced, fmt.Sprintf("execution time %s from 128 to 512 MB", pctSigned(-cut))
	case cut > 0.05:
		f.Verdict, f.Reason = DirectionOnly, fmt.Sprintf("execution time %s from 128 to 512 MB (the article: over -40%%)", pctSigned(-cut))
	default:
		f.Verdict = NotReproduced
		f.Reason = fmt.Sprintf("execution time %s from 128 to 512 MB: a request here takes well under a millisecond of CPU, which even 128 MB's share (7.2 ms each 100 ms) rarely runs out of", pctSigned(-cut))
	}
	if i128, ok := m.fig("init_ms_128"); ok {
		if i512, ok := m.fig("init_ms_512"); ok && i128 > 0 {
			f.Reason += fmt.Sprintf("; a cold start's init %s", pctSigned(i512/i128-1))
		}
	}
}

func evalOverall(f *Finding, e *evalCtx) {
	bs, os := e.ph(PhaseSustained, e.b), e.ph(PhaseSustained, e.o)
	br, or := e.ph(PhaseRamp, e.b), e.ph(PhaseRamp, e.o)
	f.Mechanism = "every optimization of the second profile together: the sustained phase's average, and the throughput at each knee"
	words := func(s, r *Phase) string {
		var parts []string
		if v, ok := s.fig("avg_ms"); ok {
			parts = append(parts, "avg "+ms(v))
		}
		if v, ok := r.fig("knee_rate"); ok {
			parts = append(parts, "knee "+rps(v))
		}
		if len(parts) == 0 {
			return "-"
		}
		return strings.Join(parts, ", ")
	}
	f.Baseline, f.Optimized = words(bs, br), words(os, or)
	ba, ok1 := bs.fig("avg_ms")
	oa, ok2 := os.fig("avg_ms")
	bk, ok3 := br.fig("knee_rate")
	okn, ok4 := or.fig("knee_rate")
	if !(ok1 && ok2) && !(ok3 && ok4) {
		return
	}
	var verdicts, reasons []string
	if ok1 && ok2 && ba > 0 {
		v, r := judge(oa/ba-1, -0.92, 0.03)
		verdicts, reasons = append(verdicts, v), append(reasons, "response time: "+r)
	}
	if ok3 && ok4 && bk > 0 {
		v, r := judge(okn/bk-1, 0.76, 0.03)
		if _, capped := or.fig("bound_reached"); capped && v != Reproduced {
			r += " (the second profile's knee is above the search's bound)"
		}
		verdicts, reasons = append(verdicts, v), append(reasons, "throughput at the knee: "+r)
	}
	f.Verdict = weakest(verdicts)
	f.Reason = strings.Join(reasons, "; ")
}

// weakest returns the weakest of the verdicts: a finding of two figures
// is as reproduced as the less reproduced one.
func weakest(vs []string) string {
	rank := map[string]int{Reproduced: 3, DirectionOnly: 2, NotReproduced: 1, NotMeasurable: 0}
	best := ""
	for _, v := range vs {
		if best == "" || rank[v] < rank[best] {
			best = v
		}
	}
	return best
}

func evalTableCost(f *Finding, e *evalCtx) {
	b, o := e.ph(PhaseSustained, e.b), e.ph(PhaseSustained, e.o)
	f.Mechanism = "the table's capacity (internal/local/table) over the sustained phase, priced as AWS bills it: on demand its request units, provisioned its capacity hours as auto scaling set them"
	words := func(p *Phase) string {
		v, ok := p.fig("table_cost_usd")
		if !ok {
			return "-"
		}
		if _, prov := p.fig("table_rcu_hours"); prov {
			return fmt.Sprintf("$%.6f provisioned (%.4f RCU-h, %.4f WCU-h; %d reads, %d writes throttled; ended at %.0f/%.0f)", v,
				p.Figures["table_rcu_hours"], p.Figures["table_wcu_hours"], p.Counts["table_read_throttled"], p.Counts["table_write_throttled"],
				p.Figures["table_rcu_end"], p.Figures["table_wcu_end"])
		}
		return fmt.Sprintf("$%.6f on demand (%.0f read, %.0f write units)", v, p.Figures["table_read_units"], p.Figures["table_write_units"])
	}
	f.Baseline, f.Optimized = words(b), words(o)
	bv, ok1 := b.fig("table_cost_usd")
	ov, ok2 := o.fig("table_cost_usd")
	if !ok1 || !ok2 {
		if b != nil && o != nil {
			f.Verdict, f.Reason = NotMeasurable, "the target does not report its table's usage (a deployed stage: read Cost Explorer)"
		}
		return
	}
	if _, prov := o.fig("table_rcu_hours"); !prov {
		f.Verdict, f.Reason = NotMeasurable, "the second profile's table is not provisioned"
		return
	}
	if bv <= 0 {
		f.Verdict, f.Reason = NotMeasurable, "the baseline's table cost nothing"
		return
	}
	f.Verdict, f.Reason = judge(ov/bv-1, -0.30, 0.03)
	f.Reason = "the table's cost over the same sustained phase: " + f.Reason +
		"; the second profile's caches (response cache, DAX) also take reads off its table, as the article's DAX \"substantially decreased the required RCUs\""
}
