package lab

import (
	"context"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/surgehq/surge/internal/load"
	"github.com/surgehq/surge/internal/load/report"
	"github.com/surgehq/surge/internal/server"
)

// profileRun is one profile's turn: its stack (or deployed stage), its
// data set, and its phases.
type profileRun struct {
	l    *labRun
	idx  int
	p    *Profile
	cfg  server.Config // the stack's, locally
	st   *stack        // nil against a deployed stage
	base string
	ids  []string
}

// phaseFunc runs one phase into ph.
type phaseFunc func(context.Context, *Phase) error

// phaseTitles are the phases' titles in the reports.
var phaseTitles = map[string]string{
	PhasePreseed:   "Preseed: the data set",
	PhaseCold:      "Cold starts after an idle gap",
	PhaseRamp:      "Ramp-up and the knee",
	PhaseSustained: "Sustained load: the article's mix and payload sizes",
	PhaseSpike:     "Spike: three times the sustained rate, and back",
	PhaseReads:     "Strongly against eventually consistent reads",
	PhaseScans:     "Key lookups against scans as the table grows",
	PhaseMemory:    "Memory sweep: 128, 256, 512 and 1,024 MB",
}

// runProfile starts the profile's stack and runs its phases in order.
func (l *labRun) runProfile(ctx context.Context, idx int, p *Profile) error {
	pr := &profileRun{l: l, idx: idx, p: p}
	l.printf("\n== %s (%s)\n", p.Name, p.File)
	for _, pd := range p.Pending {
		l.printf("  not yet wired: %s (needs %s)\n", pd.What, pd.Needs)
	}
	if len(l.cfg.Against) > 0 {
		pr.base = l.cfg.Against[idx]
		l.res.Profiles[idx].Settings = []string{"a deployed stage: " + pr.base}
	} else {
		cfg, err := p.ServerConfig()
		if err != nil {
			return err
		}
		cfg = l.serverConfig(cfg, p.Name)
		stage, burst := 0.0, 0
		if p.Limits.StageRate > 0 {
			stage, burst = l.res.Scale.StageRate, l.res.Scale.StageBurst
			cfg.Throttle.StageRate, cfg.Throttle.StageBurst = stage, burst
		}
		if lim := p.Limits; lim.TableRCU > 0 {
			l.scaleTable(&cfg.Capacity, lim)
		}
		pr.cfg = cfg
		l.res.Profiles[idx].Settings = settingsOf(cfg, stage, burst)
		for _, s := range l.res.Profiles[idx].Settings {
			l.printf("  %s\n", s)
		}
		st, err := startStack(ctx, p.Name, cfg)
		if err != nil {
			return err
		}
		defer func() {
			if err := st.close(); err != nil {
				l.printf("  stopping the %s stack: %v\n", p.Name, err)
			}
		}()
		pr.st, pr.base = st, st.url
	}
	for _, ph := range []struct {
		name string
		fn   phaseFunc
	}{
		{PhasePreseed, pr.preseed}, {PhaseCold, pr.cold}, {PhaseRamp, pr.ramp}, {PhaseSustained, pr.sustained},
		{PhaseSpike, pr.spike}, {PhaseReads, pr.reads}, {PhaseScans, pr.scans},
	} {
		// The preseed always runs: the other phases read its items.
		if ctx.Err() != nil || (ph.name != PhasePreseed && !l.cfg.runs(ph.name)) {
			continue
		}
		if err := l.runPhase(ctx, ph.name, p.Name, ph.fn); err != nil {
			return err
		}
	}
	return nil
}

// runPhase runs one phase and keeps its result; a phase that fails is kept
// with its error as the reason it was skipped, and the others go on.
func (l *labRun) runPhase(ctx context.Context, name, profile string, fn phaseFunc) error {
	ph := &Phase{Name: name, Profile: profile, Title: phaseTitles[name]}
	tag := name
	if profile != "" {
		tag += " [" + profile + "]"
	}
	l.printf("\n-- %s: %s\n", tag, ph.Title)
	start := time.Now()
	err := fn(ctx, ph)
	ph.Seconds = time.Since(start).Seconds()
	switch {
	case err != nil && ctx.Err() != nil:
		ph.Skipped = "interrupted"
	case err != nil:
		ph.Skipped = "failed: " + err.Error()
		l.printf("  %s failed: %v\n", tag, err)
	}
	l.res.Phases = append(l.res.Phases, ph)
	if ph.Skipped == "" && ph.Note != "" {
		l.printf("  %s\n", ph.Note)
	}
	return nil
}

// probe is the stack's probe, nil against a deployed stage.
func (pr *profileRun) probe() load.Probe {
	if pr.st == nil {
		return nil
	}
	return pr.st.probe()
}

// snap and delta read the stack's counters around a run, after the pool
// has counted every invocation that answered.
func (pr *profileRun) snap() snapshot {
	if pr.st == nil {
		return snapshot{}
	}
	return pr.st.cnt.snap()
}

func (pr *profileRun) delta(ctx context.Context, from snapshot) (snapshot, error) {
	if pr.st == nil {
		return snapshot{}, nil
	}
	if err := pr.st.settle(ctx); err != nil {
		return snapshot{}, err
	}
	return pr.st.cnt.snap().sub(from), nil
}

// preseed creates the data set.
func (pr *profileRun) preseed(ctx context.Context, ph *Phase) error {
	l := pr.l
	c := newClient(pr.base)
	defer c.close()
	start := time.Now()
	ids, err := c.seed(ctx, l.t.items, l.payloads(), "lab-"+pr.p.Name, l.cfg.Seed+uint64(pr.idx))
	pr.ids = ids
	ph.setCount("items", int64(len(ids)))
	secs := time.Since(start).Seconds()
	ph.setFig("items_per_second", float64(len(ids))/math.Max(secs, 1e-9))
	ph.Note = fmt.Sprintf("%d items created in %.1f s, 25 a batch (sizes %s)", len(ids), secs, l.payloads())
	return err
}

// cold waits out an idle gap, then sends requests from two users, as many
// times as the mode says, and counts the cold starts.
func (pr *profileRun) cold(ctx context.Context, ph *Phase) error {
	l := pr.l
	cycles := l.t.coldCycles
	if pr.st == nil {
		cycles = 1 // a deployed stage's idle instances are reclaimed by AWS, in its own time
	}
	const users = 2 // within half the article's provisioned 5: a provisioned function never spills over
	var coldHist, warmHist, allHist = newHist(), newHist(), newHist()
	var total snapshot
	var requests, cold, provRoutes int64
	var initSum float64
	var initN int64
	for c := 1; c <= cycles && ctx.Err() == nil; c++ {
		if err := pr.idleGap(ctx); err != nil {
			return err
		}
		s := l.scenario(pr.base)
		s.Model, s.Preset, s.VUs, s.Requests, s.Duration, s.Think = load.ModelClosed, load.PresetSustain, users, int64(l.t.coldRequests), 0, 20*time.Millisecond
		from := pr.snap()
		res, err := l.runLoad(ctx, "cold", s, pr.ids, pr.probe())
		if err != nil {
			return err
		}
		d, err := pr.delta(ctx, from)
		if err != nil {
			return err
		}
		total.cold += d.cold
		total.provCold += d.provCold
		total.invocations += d.invocations
		ph.Runs = append(ph.Runs, PhaseRun{Label: fmt.Sprintf("after idle gap %d", c), Result: res})
		requests += res.Total.Count
		cold += res.Total.ColdStarts
		for _, op := range []string{"create", "read"} {
			if o := res.Op(op); o != nil {
				provRoutes += o.ColdStarts
			}
		}
		mergeEncoded(allHist, res.Total.LatencyHist)
		if res.Total.ColdLatencyHist != "" {
			mergeEncoded(coldHist, res.Total.ColdLatencyHist)
			mergeEncoded(warmHist, res.Total.WarmLatencyHist)
		} else {
			mergeEncoded(warmHist, res.Total.LatencyHist)
		}
		for _, o := range res.Ops {
			for _, m := range o.ServerTiming {
				if m.Name == "init" {
					initSum += m.Stats.Mean * float64(m.Stats.Count)
					initN += m.Stats.Count
				}
			}
		}
		l.printf("  idle gap %d: %d requests, %d cold starts (the pool counted %d)\n", c, res.Total.Count, res.Total.ColdStarts, d.cold)
	}
	ph.setCount("requests", requests)
	ph.setCount("cold_starts", cold)
	ph.setCount("provisioned_route_cold_starts", provRoutes)
	if pr.st != nil {
		n, fns := pr.st.provisioned()
		ph.setCount("pool_cold_starts", total.cold)
		ph.setCount("provisioned_pool_cold_starts", total.provCold)
		ph.setCount("provisioned", int64(n))
		ph.setCount("provisioned_functions", int64(len(fns)))
		ph.setCount("functions", int64(len(pr.st.pools)))
	}
	ph.setFig("cold_share", float64(cold)/math.Max(1, float64(requests)))
	ph.Hists = map[string]string{"cold": encode(coldHist), "warm": encode(warmHist)}
	if warmHist.TotalCount() > 0 {
		ph.setFig("warm_p50_ms", usMs(warmHist.ValueAtQuantile(50)))
	}
	if coldHist.TotalCount() > 0 {
		ph.setFig("cold_p50_ms", usMs(coldHist.ValueAtQuantile(50)))
		if warmHist.TotalCount() > 0 {
			ph.setFig("added_ms", usMs(coldHist.ValueAtQuantile(50))-usMs(warmHist.ValueAtQuantile(50)))
		}
		// The share of the tail: of the requests slower than the phase's
		// p99, how many were cold starts.
		v := allHist.ValueAtQuantile(99)
		above, coldAbove := countAbove(allHist, v), countAbove(coldHist, v)
		if above > 0 {
			ph.setFig("tail_cold_share", float64(coldAbove)/float64(above))
		}
	}
	if initN > 0 {
		ph.setFig("init_ms", initSum/float64(initN))
	}
	ph.Note = fmt.Sprintf("%d requests after %d idle gaps, %d cold starts", requests, cycles, cold)
	if a, ok := ph.fig("added_ms"); ok {
		ph.Note += fmt.Sprintf(", adding %.0f ms at p50", a)
	}
	return nil
}

// idleGap waits until the stack's pool has stopped its idle on-demand
// instances, or, against a deployed stage, for --idle-gap.
func (pr *profileRun) idleGap(ctx context.Context) error {
	if pr.st == nil {
		if d := pr.l.cfg.IdleGap; d > 0 {
			pr.l.printf("  idle gap: waiting %s for the stage's idle instances to be reclaimed\n", d)
			t := time.NewTimer(d)
			defer t.Stop()
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-t.C:
			}
		}
		return nil
	}
	if len(pr.st.pools) == 0 {
		return nil
	}
	idle := pr.st.pools[0].Config().IdleTimeout
	pr.l.printf("  idle gap: until the pools stop their %d on-demand instances (idle timeout %s)\n", pr.st.onDemand(), idle)
	return pr.st.idleGap(ctx, 3*idle+30*time.Second)
}

// ramp searches for the knee; the baseline's sets the scale of the phases
// after it.
func (pr *profileRun) ramp(ctx context.Context, ph *Phase) error {
	l := pr.l
	sc := &l.res.Scale
	kc := load.KneeConfig{Start: sc.RampStart, Max: sc.RampMax, Factor: l.t.kneeFactor, Warm: l.t.kneeWarm, Hold: l.t.kneeHold,
		Bisect: l.t.kneeBisect, Resolution: 0.05, Tolerance: 0.05, MaxP99: maxP99, MaxErrors: 0.01, Retries: l.t.kneeRetries}
	s := l.scenario(pr.base)
	ks, err := load.FindKnee(ctx, s, kc, load.KneeOptions{Run: l.runOptions(pr.ids, pr.probe()),
		OnStep: func(st load.KneeStep) { l.printf("  %s\n", report.KneeStepLine(st)) }})
	if ks == nil {
		return err
	}
	ph.Knee = &ks.Knee
	for i, r := range ks.Results {
		ph.Runs = append(ph.Runs, PhaseRun{Label: fmt.Sprintf("step %d at %.0f/s", i+1, ks.Knee.Steps[i].Offered), Result: r})
	}
	k := ks.Knee
	rows := [][]string{}
	minP50 := math.Inf(1)
	stable := 0.0
	storeMax := 0.0
	for i, st := range k.Steps {
		r := ks.Results[i]
		store := serverTimingMean(&r.Total, r, "store")
		// Stable: the step kept up, and its median is within twice the
		// lowest one seen (a cold start's p99 of a first step says
		// nothing of stability).
		minP50 = math.Min(minP50, st.P50Ms)
		if st.Pass && st.P50Ms <= 2*minP50 && st.Offered > stable {
			stable = st.Offered
		}
		if st.Offered <= articleStoreRate*sc.Factor && !math.IsNaN(store) {
			storeMax = math.Max(storeMax, store)
		}
		conc := "-"
		if st.Concurrency != nil {
			conc = strconv.FormatFloat(*st.Concurrency, 'f', -1, 64)
		}
		verdict := "pass"
		if !st.Pass {
			verdict = "fail: " + st.Why
		}
		rows = append(rows, []string{strconv.Itoa(i + 1), st.Phase, f1(st.Offered), f1(st.Achieved), f2(st.P50Ms), f2(st.P99Ms),
			fmt.Sprintf("%.2f%%", 100*st.Errors), conc, f2(store), verdict})
	}
	ph.Tables = append(ph.Tables, Table{Title: "The knee search's steps (" + k.Criteria + ")",
		Columns: []string{"step", "phase", "offered/s", "achieved/s", "p50 ms", "p99 ms", "errors", "concurrency", "store ms", "verdict"}, Rows: rows, Note: k.Note})
	ph.setFig("stable_until", stable)
	// Each operation's latency where the load was stable: the steps up to
	// the stable rate, by their counts.
	sums, counts := map[string]float64{}, map[string]int64{}
	for i, st := range k.Steps {
		if !st.Pass || st.Offered > stable {
			continue
		}
		for _, o := range ks.Results[i].Ops {
			sums[o.Name] += o.Latency.Mean * float64(o.Count)
			counts[o.Name] += o.Count
		}
	}
	for name, n := range counts {
		if n > 0 {
			ph.setFig(name+"_avg_ms", sums[name]/float64(n))
		}
	}
	if storeMax > 0 {
		ph.setFig("store_ms_max", storeMax)
	}
	if ks.At >= 0 {
		ph.setFig("knee_offered", k.Offered)
		ph.setFig("knee_rate", k.Rate)
		ph.setFig("knee_p99_ms", k.P99Ms)
		if k.Concurrency != nil {
			ph.setFig("knee_concurrency", *k.Concurrency)
		}
		for _, st := range k.Steps {
			if !st.Pass && st.Offered > k.Offered {
				ph.setFig("past_knee_p99_ms", math.Max(st.P99Ms, ph.Figures["past_knee_p99_ms"]))
				ph.setFig("past_knee_errors", math.Max(st.Errors, ph.Figures["past_knee_errors"]))
			}
		}
	}
	if k.Reached {
		ph.setFig("bound_reached", 1)
	}
	ph.Note = "knee: " + k.Note
	if pr.idx == 0 && ks.At >= 0 && len(l.cfg.Against) == 0 {
		l.chooseScale(k.Offered, "the "+pr.p.Name+" profile's ramp")
		l.printf("  the scale, from this knee: sustained %.0f/s, spike %.0f/s, stage throttle %.0f/s\n", sc.Sustained, sc.Spike, sc.StageRate)
	} else if pr.idx == 0 && ks.At >= 0 {
		l.chooseScale(k.Offered, "the "+pr.p.Name+" stage's ramp")
	}
	return err
}

// sustained holds the sustained rate with the article's mix and payloads,
// and counts what the response cache saved against the pool's own
// invocations.
func (pr *profileRun) sustained(ctx context.Context, ph *Phase) error {
	l := pr.l
	s := l.scenario(pr.base)
	s.Preset, s.Rate, s.Duration = load.PresetSustain, l.res.Scale.Sustained, l.t.sustained
	from, table0 := pr.snap(), pr.tableUsage()
	res, err := l.runLoad(ctx, "sustained", s, pr.ids, pr.probe())
	if err != nil {
		return err
	}
	d, err := pr.delta(ctx, from)
	if err != nil {
		return err
	}
	pr.tableCost(ph, table0)
	ph.Runs = []PhaseRun{{Label: "sustained", Result: res}}
	tot := &res.Total
	var noResponse int64
	for _, n := range tot.ErrorKinds {
		noResponse += n
	}
	limited := int64(0)
	for _, n := range tot.Limited() {
		limited += n
	}
	responses := tot.Count - noResponse
	ph.setCount("responses", responses)
	ph.setCount("no_response", noResponse)
	ph.setCount("limited", limited)
	ph.setCount("cache_hits", tot.CacheHits)
	ph.setCount("cache_misses", tot.CacheMisses)
	ph.setFig("rate", s.Rate)
	ph.setFig("achieved", res.AchievedRate)
	ph.setFig("avg_ms", tot.Latency.Mean)
	ph.setFig("p99_ms", tot.Latency.P99)
	ph.setFig("error_rate", tot.ErrorRate())
	for _, o := range res.Ops {
		ph.setFig(o.Name+"_avg_ms", o.Latency.Mean)
	}
	if r := res.Op("read"); r != nil {
		if v := serverTimingMean(r, res, "store"); !math.IsNaN(v) {
			ph.setFig("read_store_ms", v)
		}
	}
	if pr.st != nil {
		saved := responses - limited - d.invocations
		ph.setCount("invocations", d.invocations)
		ph.setCount("gateway_cache_hits", d.hits)
		ph.setCount("saved", saved)
		if served := responses - limited; served > 0 {
			ph.setFig("invocation_cut", float64(saved)/float64(served))
		}
	}
	ph.Note = fmt.Sprintf("%.0f/s offered, %.1f/s achieved; avg %.2f ms, p99 %.2f ms; errors %.2f%%",
		s.Rate, res.AchievedRate, tot.Latency.Mean, tot.Latency.P99, 100*tot.ErrorRate())
	if c := ph.Counts; pr.st != nil {
		ph.Note += fmt.Sprintf("; %d responses, %d function invocations (the pool's count), %d cache hits", c["responses"], c["invocations"], c["cache_hits"])
	}
	return nil
}

// spike goes from the sustained rate to three times it and back, and
// counts the refusals by their source.
func (pr *profileRun) spike(ctx context.Context, ph *Phase) error {
	l := pr.l
	sc := &l.res.Scale
	t := l.t
	s := l.scenario(pr.base)
	s.Preset, s.StartRate = "", sc.Sustained
	s.Stages = load.Stages{{Duration: t.spikeBefore, Target: sc.Sustained}, {Duration: 0, Target: sc.Spike},
		{Duration: t.spikeHold, Target: sc.Spike}, {Duration: 0, Target: sc.Sustained}, {Duration: t.spikeAfter, Target: sc.Sustained}}
	from := pr.snap()
	res, err := l.runLoad(ctx, "spike", s, pr.ids, pr.probe())
	if err != nil {
		return err
	}
	d, err := pr.delta(ctx, from)
	if err != nil {
		return err
	}
	ph.Runs = []PhaseRun{{Label: "spike", Result: res}}
	tot := &res.Total
	var gateway, backend int64
	for src, n := range tot.Limited() {
		ph.setCount("limited:"+src, n)
		switch {
		case strings.HasPrefix(src, "gateway."):
			gateway += n
		default:
			backend += n
		}
	}
	for code, n := range tot.Statuses {
		if c, _ := strconv.Atoi(code); c >= 500 {
			if c == 503 {
				n -= namedSources(tot.StatusSources["503"])
			}
			backend += n
		}
	}
	for _, n := range tot.ErrorKinds {
		backend += n
	}
	ph.setCount("gateway_429", tot.StatusSources["429"]["gateway.stage"]+tot.StatusSources["429"]["gateway.account"])
	ph.setCount("gateway_limited", gateway)
	ph.setCount("backend_failures", backend)
	ph.setCount("requests", tot.Count)
	if pr.st != nil {
		ph.setCount("invocations", d.invocations)
		ph.setCount("lambda_throttles", d.throttles)
	}
	before, during := t.spikeBefore.Seconds(), (t.spikeBefore + t.spikeHold).Seconds()
	var p99Before, p99During float64
	for _, p := range res.Series {
		switch {
		case p.T <= before:
			p99Before = math.Max(p99Before, p.P99)
		case p.T <= during+1:
			p99During = math.Max(p99During, p.P99)
		}
	}
	ph.setFig("p99_before_ms", p99Before)
	ph.setFig("p99_spike_ms", p99During)
	ph.setFig("spike_rate", sc.Spike)
	ph.Note = fmt.Sprintf("%.0f/s, then %.0f/s for %s: %d refused by the gateway, %d failures behind it; p99 %.1f ms before, %.1f ms in the spike",
		sc.Sustained, sc.Spike, t.spikeHold, gateway, backend, p99Before, p99During)
	return nil
}

// namedSources counts the refusals whose source was named.
func namedSources(m map[string]int64) int64 {
	var n int64
	for src, v := range m {
		if src != load.UnnamedSource {
			n += v
		}
	}
	return n
}

// serverTimingMean returns the mean of a Server-Timing metric of an
// operation's responses, NaN when none reported it.
func serverTimingMean(o *load.OpResult, r *load.Result, name string) float64 {
	ops := []load.OpResult{*o}
	if o.Name == "all" {
		ops = r.Ops
	}
	var sum float64
	var n int64
	for _, op := range ops {
		for _, m := range op.ServerTiming {
			if m.Name == name {
				sum += m.Stats.Mean * float64(m.Stats.Count)
				n += m.Stats.Count
			}
		}
	}
	if n == 0 {
		return math.NaN()
	}
	return sum / float64(n)
}

func f1(v float64) string { return strconv.FormatFloat(v, 'f', 1, 64) }
func f2(v float64) string {
	if math.IsNaN(v) {
		return "-"
	}
	return strconv.FormatFloat(v, 'f', 2, 64)
}
