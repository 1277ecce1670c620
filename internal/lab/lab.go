package lab

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"time"

	"github.com/surgehq/surge/internal/load"
	"github.com/surgehq/surge/internal/load/report"
	"github.com/surgehq/surge/internal/server"
)

// labRun is one run of the lab: its configuration, profiles and result.
type labRun struct {
	cfg      Config
	t        timing
	profiles []*Profile
	res      *Result
	dir      string
	out      io.Writer
	log      *slog.Logger
	now      func() time.Time
}

// Run runs the experiment cfg describes and returns what it measured;
// Write writes the outputs. When ctx ends, Run stops after the run in
// progress and returns what ran, marked interrupted. It returns an error
// only when the experiment cannot go on: a bad configuration, or a stack
// that does not start.
func Run(ctx context.Context, cfg Config) (*Result, error) {
	if errs := cfg.Validate(); len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	l := &labRun{cfg: cfg, t: timingFor(cfg.Quick), out: cfg.Progress, log: cfg.Log, now: cfg.Now}
	if l.out == nil {
		l.out = io.Discard
	}
	if l.log == nil {
		l.log = slog.New(slog.DiscardHandler)
	}
	if l.now == nil {
		l.now = time.Now
	}
	if cfg.Items > 0 {
		l.t.items = cfg.Items
	}
	var err error
	if len(cfg.Profiles) == 0 {
		l.profiles, err = DefaultProfiles()
	} else {
		for _, path := range cfg.Profiles {
			p, perr := ReadProfile(path)
			err = errors.Join(err, perr)
			l.profiles = append(l.profiles, p)
		}
	}
	if err != nil {
		return nil, err
	}
	if l.profiles[0].Name == l.profiles[1].Name {
		return nil, fmt.Errorf("the two profiles are both named %q: the reports tell them apart by name", l.profiles[0].Name)
	}
	if l.dir = cfg.Dir; l.dir == "" {
		if l.dir, err = os.MkdirTemp("", "surge-lab-"); err != nil {
			return nil, fmt.Errorf("lab: %w", err)
		}
		defer os.RemoveAll(l.dir)
	}
	start := l.now()
	l.res = &Result{Schema: ResultSchema, Started: start.UTC(), Quick: cfg.Quick, Against: cfg.Against,
		Machine: Machine{OS: runtime.GOOS, Arch: runtime.GOARCH, NumCPU: runtime.NumCPU(), GoVersion: runtime.Version(), LoadAvg: loadAvg()}}
	for i, p := range l.profiles {
		info := ProfileInfo{Name: p.Name, File: p.File, Description: p.Description, Pending: p.Pending}
		if len(cfg.Against) > 0 {
			info.Target = cfg.Against[i]
		}
		l.res.Profiles = append(l.res.Profiles, info)
	}
	err = l.run(ctx)
	l.res.ElapsedSeconds = l.now().Sub(start).Seconds()
	l.res.Machine.LoadAvgEnd = loadAvg()
	l.res.Interrupted = ctx.Err() != nil
	l.res.Findings = Findings(l.res, l.profiles)
	if err != nil && ctx.Err() == nil {
		return l.res, err
	}
	return l.res, nil
}

// run runs the calibration, each profile's phases, and the memory sweep.
func (l *labRun) run(ctx context.Context) error {
	if len(l.cfg.Against) > 0 {
		if err := l.calibrateRemote(ctx); err != nil {
			return err
		}
	} else if err := l.calibrate(ctx); err != nil {
		return err
	}
	l.printScale()
	for i, p := range l.profiles {
		if ctx.Err() != nil {
			return nil
		}
		if err := l.runProfile(ctx, i, p); err != nil {
			return err
		}
	}
	if l.cfg.runs(PhaseMemory) && ctx.Err() == nil {
		return l.memorySweep(ctx)
	}
	return nil
}

func (l *labRun) printScale() {
	l.printf("scale:\n")
	for _, w := range l.res.Scale.Why {
		l.printf("  - %s\n", w)
	}
}

// printf writes a line of progress.
func (l *labRun) printf(format string, args ...any) { fmt.Fprintf(l.out, format, args...) }

// serverConfig is a stack's configuration: the profile's, with the lab's
// listeners, data directory and overrides.
func (l *labRun) serverConfig(cfg server.Config, name string) server.Config {
	cfg.Data = filepath.Join(l.dir, name)
	cfg.Log = l.log
	cfg.Functions.LogLevel = slog.LevelWarn
	// The functions' START, END and REPORT lines would drown the progress.
	cfg.Functions.Logs = false
	if l.cfg.Store != "" {
		cfg.Store = l.cfg.Store
	}
	if l.cfg.FunctionCommand != "" {
		cfg.Functions.Command = l.cfg.FunctionCommand
	}
	cfg.Functions.Env = append(append([]string(nil), cfg.Functions.Env...), l.cfg.FunctionEnv...)
	if l.cfg.Quick {
		cfg.Functions.IdleTimeout = l.t.idleTimeout
	}
	return cfg
}

// theMix is the article's mix of operations: reads the most, writes of
// every kind, lists.
func theMix() load.Mix {
	return load.Mix{"create": 15, "read": 60, "update": 10, "delete": 5, "list": 10}
}

// payloads are the article's varied payload sizes.
func (l *labRun) payloads() load.Payloads {
	return load.Payloads{{Size: 256, Weight: 70}, {Size: 4 << 10, Weight: 25}, {Size: 64 << 10, Weight: 5}}
}

// scenario is the lab's workload against target: the article's mix and
// payloads, reads of hot items (zipf) from the data set, the plan to be
// set by the phase.
func (l *labRun) scenario(target string) load.Scenario {
	s := load.DefaultScenario()
	s.Target = target
	s.Mix = theMix()
	s.Payloads = l.payloads()
	s.IDs = load.IDs{Distribution: load.DistZipf, ZipfS: 1.1, Preseed: 0, PoolSize: 100_000}
	s.MaxInFlight = 512
	s.Timeout = 10 * time.Second
	s.Grace = 2 * time.Second
	s.API.ListQuery = "limit=20"
	return s
}

// runOptions are the options of a phase's load run: the data set's ids,
// the stack's probe, the seed, live progress.
func (l *labRun) runOptions(ids []string, probe load.Probe, more ...load.Option) []load.Option {
	opts := []load.Option{load.WithIDs(ids)}
	if probe != nil {
		opts = append(opts, load.WithProbe(probe, "pool"))
	}
	if l.cfg.Seed != 0 {
		opts = append(opts, load.WithSeed(l.cfg.Seed))
	}
	return append(opts, more...)
}

// runLoad runs s with live progress, as a phase's run labelled label.
func (l *labRun) runLoad(ctx context.Context, label string, s load.Scenario, ids []string, probe load.Probe) (*load.Result, error) {
	live := report.NewLive(l.out, report.IsTerminal(l.out), l.t.progressEvery)
	res, err := load.Run(ctx, s, l.runOptions(ids, probe, load.WithProgress(live.Update))...)
	live.Done()
	if err != nil {
		return nil, fmt.Errorf("%s: %w", label, err)
	}
	return res, nil
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool {
		if len(keys[i]) != len(keys[j]) {
			return len(keys[i]) < len(keys[j]) // numbers in numeric order
		}
		return keys[i] < keys[j]
	})
	return keys
}

// settingsOf describes in words what a stack ran with.
func settingsOf(cfg server.Config, stage float64, burst int) []string {
	var s []string
	f := cfg.Functions
	if f.Enabled {
		fn := fmt.Sprintf("functions: %d MB (%.3f vCPU), idle timeout %s", f.MemoryMB, float64(f.MemoryMB)/1769, f.IdleTimeout)
		if len(f.List) > 0 {
			fn = fmt.Sprintf("functions: %d, a pool each, %d MB (%.3f vCPU), idle timeout %s", len(f.List), f.MemoryMB, float64(f.MemoryMB)/1769, f.IdleTimeout)
			for _, l := range f.List {
				var routes []string
				for _, rt := range f.Routes {
					if rt.Function == l.Name {
						routes = append(routes, rt.Method+" "+rt.Path)
					}
				}
				desc := "on demand"
				if l.Provisioned > 0 {
					desc = fmt.Sprintf("provisioned concurrency %d", l.Provisioned)
					if l.TargetUtilization > 0 {
						desc += fmt.Sprintf(" (target tracking at %.0f%%, up to %d)", 100*l.TargetUtilization, l.MaxProvisioned)
					}
					if f.Schedule != "" || len(l.Schedule) > 0 {
						desc += ", scheduled actions"
					}
				}
				if len(routes) > 4 {
					routes = append(routes[:3], fmt.Sprintf("and %d more", len(routes)-3))
				}
				fn += fmt.Sprintf("; %s: %s, %s", l.Name, strings.Join(routes, ", "), desc)
			}
		} else if f.Provisioned > 0 {
			fn += fmt.Sprintf(", provisioned concurrency %d", f.Provisioned)
			if f.TargetUtilization > 0 {
				fn += fmt.Sprintf(" (target tracking at %.0f%%, up to %d)", 100*f.TargetUtilization, f.MaxProvisioned)
			}
			if f.Schedule != "" {
				fn += ", schedule " + f.Schedule
			}
		} else {
			fn += ", on demand"
		}
		if f.ReservedConcurrency > 0 {
			fn += fmt.Sprintf(", reserved concurrency %d", f.ReservedConcurrency)
		}
		s = append(s, fn)
	} else {
		s = append(s, "in process (no function pool)")
	}
	if cfg.Cache.Enabled && cfg.Cache.TTL > 0 {
		s = append(s, fmt.Sprintf("response cache: TTL %s, routes %s, key %s", cfg.Cache.TTL, strings.Join(cfg.Cache.Routes, ", "), strings.Join(cfg.Cache.Key, ", ")))
	} else {
		s = append(s, "response cache: off")
	}
	if stage > 0 {
		s = append(s, fmt.Sprintf("stage throttle: %.0f/s, burst %d (scaled)", stage, burst))
	} else {
		s = append(s, "throttling: off")
	}
	if cfg.ReadCache.Enabled {
		s = append(s, fmt.Sprintf("read cache (DAX-like): item TTL %s, query TTL %s", cfg.ReadCache.ItemTTL, cfg.ReadCache.QueryTTL))
	} else {
		s = append(s, "read cache: off")
	}
	s = append(s, fmt.Sprintf("ETags on lists: %v; Cache-Control: %s", cfg.ETags, cfg.CacheControl))
	if c := cfg.Capacity; c.Billing == "provisioned" {
		t := fmt.Sprintf("table: provisioned, %d RCU / %d WCU (scaled)", c.RCU, c.WCU)
		if c.TargetUtilization > 0 {
			t += fmt.Sprintf(", auto scaling at %.0f%% up to %d / %d", 100*c.TargetUtilization, c.MaxRCU, c.MaxWCU)
		}
		if c.Schedule != "" {
			t += ", schedule " + c.Schedule
		}
		if c.Compression > 1 {
			t += fmt.Sprintf(", table time %g times the clock's", c.Compression)
		}
		s = append(s, t)
	} else if cfg.Template.Path == "" {
		s = append(s, "table: "+c.Billing+" (on demand unless the store says otherwise)")
	}
	if cfg.Template.Path != "" {
		s = append(s, fmt.Sprintf("SAM template %s (%s), its tables %s", cfg.Template.Path, strings.Join(cfg.Template.Parameters, " "), cfg.Template.Capacity))
	}
	store := cfg.Store
	if store == "" {
		store = "SQLite (the lab's directory)"
	}
	s = append(s, "store: "+store)
	return s
}
