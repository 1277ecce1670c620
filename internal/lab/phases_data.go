package lab

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"net/url"
	"strconv"
	"time"

	"github.com/surgehq/surge/internal/load"
	"github.com/surgehq/surge/internal/server"
	"github.com/surgehq/surge/internal/store"
	"github.com/surgehq/surge/internal/store/dynamo"
)

// reads sends the dispatcher's reads, eventually then strongly
// consistent, at one rate: on the profile's stack, or on a stack of its
// own over the DynamoDB-API engine of --dynamodb.
func (pr *profileRun) reads(ctx context.Context, ph *Phase) error {
	l := pr.l
	base, ids, probe, kind := pr.base, pr.ids, pr.probe(), storeKind(pr.cfg.Store)
	if pr.st == nil {
		kind = "the deployed stage's table"
	}
	if l.cfg.DynamoDB != "" && pr.st != nil {
		st, err := pr.dynamoStack(ctx)
		if err != nil {
			return err
		}
		defer st.close()
		c := newClient(st.url)
		ids, err = c.seed(ctx, 300, load.Payloads{{Size: 1 << 10, Weight: 1}}, "reads", l.cfg.Seed)
		c.close()
		if err != nil {
			return err
		}
		base, probe, kind = st.url, st.probe(), "DynamoDB's API at "+l.cfg.DynamoDB
		ph.setFig("dynamodb", 1)
	}
	rate := math.Max(1, math.Min(l.res.Scale.Sustained/2, 200))
	// A warm-up of both kinds, not measured: the first run would otherwise
	// take the stack's first instances and caches for itself alone, and
	// the eventually consistent reads, which run first, would look slower.
	for _, cons := range []bool{false, true} {
		s := l.scenario(base)
		s.Preset, s.Rate, s.Duration = load.PresetSustain, rate, max(time.Second, l.t.readsHold/4)
		s.Mix, s.API.OpsMix, s.API.OpsConsistentRead = load.Mix{"ops": 1}, load.Mix{"read": 1}, cons
		if _, err := l.runLoad(ctx, "warm-up", s, ids, nil); err != nil {
			return err
		}
	}
	for _, cons := range []bool{false, true} {
		s := l.scenario(base)
		s.Preset, s.Rate, s.Duration = load.PresetSustain, rate, l.t.readsHold
		s.Mix, s.API.OpsMix, s.API.OpsConsistentRead = load.Mix{"ops": 1}, load.Mix{"read": 1}, cons
		label := map[bool]string{false: "eventually consistent", true: "strongly consistent"}[cons]
		res, err := l.runLoad(ctx, label, s, ids, probe)
		if err != nil {
			return err
		}
		ph.Runs = append(ph.Runs, PhaseRun{Label: label, Result: res})
		key := map[bool]string{false: "eventual", true: "consistent"}[cons]
		o := res.Op("ops:read")
		if o == nil {
			return errors.New("no read answered")
		}
		ph.setFig(key+"_ms", o.Latency.Mean)
		ph.setFig(key+"_p50_ms", o.Latency.P50)
		if v := serverTimingMean(o, res, "store"); !math.IsNaN(v) {
			ph.setFig(key+"_store_ms", v)
		}
		ph.setFig(key+"_errors", o.ErrorRate())
	}
	e, _ := ph.fig("eventual_ms")
	c, _ := ph.fig("consistent_ms")
	if e > 0 {
		ph.setFig("slower", c/e-1)
	}
	if es, ok := ph.fig("eventual_store_ms"); ok && es > 0 {
		cs, _ := ph.fig("consistent_store_ms")
		ph.setFig("store_slower", cs/es-1)
	}
	ph.Note = fmt.Sprintf("on %s, %.0f reads/s each way: eventually consistent avg %.2f ms, strongly consistent %.2f ms", kind, rate, e, c)
	ph.Tables = []Table{{Title: "Reads by consistency", Columns: []string{"reads", "avg ms", "p50 ms", "store avg ms"},
		Rows: [][]string{
			{"eventually consistent", f2(e), f2(ph.Figures["eventual_p50_ms"]), f2(figOrNaN(ph, "eventual_store_ms"))},
			{"strongly consistent", f2(c), f2(ph.Figures["consistent_p50_ms"]), f2(figOrNaN(ph, "consistent_store_ms"))},
		}, Note: "The store: " + kind}}
	return nil
}

func figOrNaN(ph *Phase, name string) float64 {
	if v, ok := ph.fig(name); ok {
		return v
	}
	return math.NaN()
}

// storeKind names a store URL's kind in words.
func storeKind(raw string) string {
	if raw == "" {
		return "SQLite, whose every read sees every write (a single copy: consistency costs nothing)"
	}
	u, err := store.Parse(raw)
	if err != nil {
		return raw
	}
	switch u.Scheme {
	case store.SchemeDynamoDB:
		return "DynamoDB's API at " + u.Endpoint
	case store.SchemeSQLite:
		return "SQLite, whose every read sees every write (a single copy: consistency costs nothing)"
	}
	return u.Scheme
}

// dynamoStack starts a stack of the profile over a table of its own in
// the DynamoDB-API engine of --dynamodb.
func (pr *profileRun) dynamoStack(ctx context.Context) (*stack, error) {
	table := "surge-lab-" + pr.p.Name
	raw := (&store.URL{Scheme: store.SchemeDynamoDB, Table: table, Endpoint: pr.l.cfg.DynamoDB, Region: "us-east-1"}).String()
	t, err := dynamo.OpenTable(ctx, raw)
	if err != nil {
		return nil, fmt.Errorf("--dynamodb: %w", err)
	}
	if err := dynamo.CreateTable(ctx, t.Client, t.Table, dynamo.TableOptions{Wait: time.Minute}); err != nil && !errors.Is(err, dynamo.ErrTableExists) {
		return nil, fmt.Errorf("--dynamodb: create table %s: %w", table, err)
	}
	cfg := pr.cfg
	cfg.Store = raw
	cfg.Data = cfg.Data + "-dynamodb"
	return startStack(ctx, pr.p.Name+"-dynamodb", cfg)
}

// scans grows the table to each size and times full scans and key
// lookups there. The table's size is what the first scan read plus what
// the phase created: a read cache's query cache (DAX's) may answer a scan
// with pages cached before the growth, which the table shows as a scan
// that reads fewer items than the table holds.
func (pr *profileRun) scans(ctx context.Context, ph *Phase) error {
	l := pr.l
	c := newClient(pr.base)
	defer c.close()
	n, _, err := c.scan(ctx)
	if err != nil {
		return err
	}
	rnd := rand.New(rand.NewPCG(l.cfg.Seed, 7))
	ph.Hists = map[string]string{}
	var rows [][]string
	var sizes []int
	base := max(n, l.t.items) // the table as the phases before left it
	stale := false
	for _, g := range l.t.scanGrowth {
		target := g * base
		if n < target {
			ids, err := c.seed(ctx, target-n, load.Payloads{{Size: 256, Weight: 1}}, "scan-"+strconv.Itoa(target), l.cfg.Seed+uint64(target))
			n += len(ids)
			if err != nil {
				return err
			}
		}
		scanH, lookH := newHist(), newHist()
		read := 0
		for range l.t.scanRepeats {
			got, d, err := c.scan(ctx)
			if err != nil {
				return err
			}
			read = got
			record(scanH, d)
		}
		stale = stale || read < n
		for range l.t.lookups {
			if len(pr.ids) == 0 {
				break
			}
			d, err := c.lookup(ctx, pr.ids[rnd.IntN(len(pr.ids))])
			if err != nil {
				// A target may answer an item of the data set 404 (a
				// deployed stage's own deletes): the lookup is left out.
				continue
			}
			record(lookH, d)
		}
		sizes = append(sizes, n)
		key := strconv.Itoa(n)
		ph.Hists["scan "+key] = encode(scanH)
		ph.Hists["lookup "+key] = encode(lookH)
		ph.setFig("scan_ms_"+key, usMs(scanH.ValueAtQuantile(50)))
		ph.setFig("lookup_ms_"+key, usMs(lookH.ValueAtQuantile(50)))
		rows = append(rows, []string{key, strconv.Itoa(read), f2(usMs(scanH.ValueAtQuantile(50))), f2(usMs(scanH.Max())),
			f2(usMs(lookH.ValueAtQuantile(50))), f2(usMs(lookH.ValueAtQuantile(99)))})
		l.printf("  %d items (a scan read %d): a full scan %.1f ms (p50 of %d), a key lookup %.2f ms (p50 of %d)\n",
			n, read, usMs(scanH.ValueAtQuantile(50)), scanH.TotalCount(), usMs(lookH.ValueAtQuantile(50)), lookH.TotalCount())
	}
	if len(sizes) > 0 {
		lo, hi := strconv.Itoa(sizes[0]), strconv.Itoa(sizes[len(sizes)-1])
		ph.setFig("size_small", float64(sizes[0]))
		ph.setFig("size_large", float64(sizes[len(sizes)-1]))
		ph.setFig("scan_small_ms", ph.Figures["scan_ms_"+lo])
		ph.setFig("scan_large_ms", ph.Figures["scan_ms_"+hi])
		ph.setFig("lookup_small_ms", ph.Figures["lookup_ms_"+lo])
		ph.setFig("lookup_large_ms", ph.Figures["lookup_ms_"+hi])
	}
	note := "A scan reads the whole table through the list endpoint, page after page; a lookup reads one item by its key."
	if stale {
		ph.setFig("stale_scans", 1)
		note += " Scans read fewer items than the table holds: a cache answered them with pages from before the table grew (DAX's query cache, or the response cache, until their TTLs)."
	}
	ph.Tables = []Table{{Title: "Full scans (every page of 1,000) against key lookups",
		Columns: []string{"items", "a scan read", "scan p50 ms", "scan max ms", "lookup p50 ms", "lookup p99 ms"}, Rows: rows, Note: note}}
	ph.Note = fmt.Sprintf("scans and lookups at %d sizes, up to %d items", len(sizes), n)
	return nil
}

// memorySweep runs the first profile's function at each memory size of
// the sweep, each size a stack of its own over one data set: the first
// requests of each (a cold start's init), then rounds that take the sizes
// in turn at one rate, so that a noisy minute of the machine falls on
// every size alike; the execution time of each operation is Lambda's
// Duration, from Server-Timing.
func (l *labRun) memorySweep(ctx context.Context) error {
	return l.runPhase(ctx, PhaseMemory, "", func(ctx context.Context, ph *Phase) error {
		// The first profile that runs surge's own function: a template's
		// functions keep their names, which the sizes' stacks, alive at
		// once, would share (their control groups are named after them).
		var base server.Config
		found := false
		for _, p := range l.profiles {
			cfg, err := p.ServerConfig()
			if err != nil {
				return err
			}
			if cfg.Functions.Enabled && cfg.Template.Path == "" {
				base, found = cfg, true
				ph.Note = "the " + p.Name + " profile's function"
				break
			}
		}
		if !found {
			return errors.New("no profile runs surge's own function in a pool (a template's functions cannot run at several sizes at once)")
		}
		sizes := l.t.memorySizes
		memCfg := func(mb int) server.Config {
			cfg := l.serverConfig(base, "memory")
			atMemory(&cfg, mb)
			cfg.Cache.Enabled, cfg.ReadCache.Enabled, cfg.Throttle = false, false, server.ThrottleConfig{}
			onDemand(&cfg)
			// Warm instances stay between the rounds: the sweep measures
			// execution, and a round's cold starts at once would load the
			// machine for the other sizes' turns.
			cfg.Functions.IdleTimeout = 10 * time.Minute
			return cfg
		}
		// The data set, through a stack of its own, so that each measured
		// size's first request is a cold start.
		seeder, err := startStack(ctx, "memory-seed", memCfg(topMemoryMB))
		if err != nil {
			return err
		}
		c := newClient(seeder.url)
		ids, err := c.seed(ctx, 200, l.payloads(), "memory", l.cfg.Seed)
		c.close()
		if cerr := seeder.close(); err == nil {
			err = cerr
		}
		if err != nil {
			return err
		}
		stacks := make([]*stack, len(sizes))
		defer func() {
			for _, st := range stacks {
				_ = st.close()
			}
		}()
		for i, mb := range sizes {
			if stacks[i], err = startStack(ctx, fmt.Sprintf("memory-%dMB", mb), memCfg(mb)); err != nil {
				return err
			}
		}
		type acc struct {
			exec, lat sumCount
			ops       map[string]*sumCount
			execHist  *hdrHist
			initMs    float64
			hasInit   bool
		}
		accs := make([]*acc, len(sizes))
		for i, mb := range sizes {
			accs[i] = &acc{ops: map[string]*sumCount{}, execHist: newHist()}
			s := l.scenario(stacks[i].url)
			s.Model, s.Preset, s.VUs, s.Requests, s.Duration = load.ModelClosed, load.PresetSustain, 1, 5, 0
			s.Mix = load.Mix{"read": 1}
			first, err := l.runLoad(ctx, fmt.Sprintf("%d MB, first requests", mb), s, ids, stacks[i].probe())
			if err != nil {
				return err
			}
			if v := serverTimingMean(&first.Total, first, "init"); !math.IsNaN(v) {
				accs[i].initMs, accs[i].hasInit = v, true
			}
		}
		rate := math.Max(1, l.res.Scale.Sustained/2)
		for i, mb := range sizes { // each pool grows to the rate's instances before the rounds
			s := l.scenario(stacks[i].url)
			s.Preset, s.Rate, s.Duration = load.PresetSustain, rate, time.Second
			if _, err := l.runLoad(ctx, fmt.Sprintf("%d MB, warm-up", mb), s, ids, nil); err != nil {
				return err
			}
		}
		rounds := l.t.memoryRounds
		hold := l.t.memoryHold / time.Duration(rounds)
		for r := 1; r <= rounds; r++ {
			for i, mb := range sizes {
				if ctx.Err() != nil {
					return ctx.Err()
				}
				s := l.scenario(stacks[i].url)
				s.Preset, s.Rate, s.Duration = load.PresetSustain, rate, hold
				res, err := l.runLoad(ctx, fmt.Sprintf("%d MB", mb), s, ids, stacks[i].probe())
				if err != nil {
					return err
				}
				ph.Runs = append(ph.Runs, PhaseRun{Label: fmt.Sprintf("%d MB, round %d", mb, r), Result: res})
				a := accs[i]
				a.lat.add(res.Total.Latency.Mean, res.Total.Count)
				for _, o := range res.Ops {
					for _, m := range o.ServerTiming {
						if m.Name != "lambda" {
							continue
						}
						a.exec.add(m.Stats.Mean, m.Stats.Count)
						if a.ops[o.Name] == nil {
							a.ops[o.Name] = &sumCount{}
						}
						a.ops[o.Name].add(m.Stats.Mean, m.Stats.Count)
						mergeEncoded(a.execHist, m.Hist)
					}
				}
			}
		}
		ops := []string{"create", "read", "update", "delete", "list"}
		var rows [][]string
		for i, mb := range sizes {
			a, k := accs[i], strconv.Itoa(mb)
			row := []string{k + " MB"}
			for _, op := range ops {
				v := math.NaN()
				if sc := a.ops[op]; sc != nil {
					v = sc.mean()
					ph.setFig("exec_ms_"+k+"_"+op, v)
				}
				row = append(row, f2(v))
			}
			ph.setFig("exec_ms_"+k, a.exec.mean())
			ph.setFig("exec_p50_ms_"+k, usMs(a.execHist.ValueAtQuantile(50)))
			initMs := math.NaN()
			if a.hasInit {
				initMs = a.initMs
				ph.setFig("init_ms_"+k, initMs)
			}
			row = append(row, f2(a.exec.mean()), f2(usMs(a.execHist.ValueAtQuantile(50))), f2(initMs), f2(a.lat.mean()))
			rows = append(rows, row)
			l.printf("  %d MB: execution %.2f ms on average (p50 %.2f ms), a cold start's init %.0f ms\n", mb, a.exec.mean(), usMs(a.execHist.ValueAtQuantile(50)), initMs)
		}
		cols := append(append([]string{"memory"}, ops...), "all (avg)", "all (p50)", "init (cold start)", "latency avg")
		ph.Tables = []Table{{Title: "Execution time by memory size, ms (Lambda's Duration, from Server-Timing)", Columns: cols, Rows: rows,
			Note: fmt.Sprintf("At %.0f requests a second of the article's mix, after a second of warm-up, in %d rounds that take the sizes in turn, the instances kept warm between them; the init is the first request's cold start; the CPU share is memory/1,769 MB of a vCPU, enforced by cgroups where the kernel allows.", rate, rounds)}}
		e128, ok1 := ph.fig("exec_ms_128")
		e512, ok2 := ph.fig("exec_ms_512")
		if ok1 && ok2 && e128 > 0 {
			ph.setFig("cut_128_512", 1-e512/e128)
			ph.Note = fmt.Sprintf("%s: execution %.2f ms at 128 MB, %.2f ms at 512 MB: %+.0f%%", ph.Note, e128, e512, -100*(1-e512/e128))
		}
		return nil
	})
}

// sumCount accumulates a mean weighted by counts.
type sumCount struct {
	sum float64
	n   int64
}

func (s *sumCount) add(mean float64, n int64) {
	if n > 0 && !math.IsNaN(mean) {
		s.sum += mean * float64(n)
		s.n += n
	}
}

func (s *sumCount) mean() float64 {
	if s.n == 0 {
		return math.NaN()
	}
	return s.sum / float64(s.n)
}

// calibrateRemote measures the first deployed stage: a read's time one at
// a time and its top rate with the generator here.
func (l *labRun) calibrateRemote(ctx context.Context) error {
	sc := &l.res.Scale
	sc.ServiceMs = map[string]float64{}
	target := l.cfg.Against[0]
	u, _ := url.Parse(target)
	l.printf("calibration: measuring the stage at %s from here\n", u.Host)
	c := newClient(target)
	ids, err := c.seed(ctx, 100, l.payloads(), "calibration", l.cfg.Seed)
	c.close()
	if err != nil {
		return fmt.Errorf("calibration: %w", err)
	}
	s := l.scenario(target)
	s.Model, s.Preset, s.VUs, s.Duration, s.Mix = load.ModelClosed, load.PresetSustain, 1, l.t.calHold, load.Mix{"read": 1}
	r, err := load.Run(ctx, s, l.runOptions(ids, nil)...)
	if err != nil {
		return err
	}
	sc.ServiceMs["stage"] = r.Total.Latency.P50
	s = l.scenario(target)
	s.Model, s.Preset, s.VUs, s.Duration = load.ModelClosed, load.PresetSustain, 32, l.t.calHold
	if r, err = load.Run(ctx, s, l.runOptions(ids, nil)...); err != nil {
		return err
	}
	sc.TopRate = r.AchievedRate
	l.chooseScale(0, "")
	return nil
}
