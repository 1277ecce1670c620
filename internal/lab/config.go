package lab

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/url"
	"slices"
	"strings"
	"time"
)

// The phases of the experiment, in the order they run for each profile
// (memory runs once, after the profiles).
const (
	// PhasePreseed creates the data set (Config.Items items) through the
	// stack, in batches.
	PhasePreseed = "preseed"
	// PhaseCold waits out an idle gap (until the pool has stopped its idle
	// on-demand instances), then sends traffic: cold starts, their added
	// latency and their share of the tail.
	PhaseCold = "cold"
	// PhaseRamp raises the offered rate step by step and bisects: the knee
	// search (load.FindKnee).
	PhaseRamp = "ramp"
	// PhaseSustained holds a fraction of the knee with the article's mix
	// of operations and payload sizes.
	PhaseSustained = "sustained"
	// PhaseSpike goes to three times the sustained rate and back.
	PhaseSpike = "spike"
	// PhaseReads sends strongly and eventually consistent reads.
	PhaseReads = "reads"
	// PhaseScans grows the table and times full scans against key
	// lookups.
	PhaseScans = "scans"
	// PhaseMemory sweeps the function's memory size: 128, 256, 512 and
	// 1,024 MB.
	PhaseMemory = "memory"
)

// Phases are every phase, in their order.
var Phases = []string{PhasePreseed, PhaseCold, PhaseRamp, PhaseSustained, PhaseSpike, PhaseReads, PhaseScans, PhaseMemory}

// remotePhases are the phases that need no local control, which --against
// runs against deployed stages: all but the memory sweep. (The cold phase
// runs without its idle gap's timing: see Config.IdleGap.)
var remotePhases = []string{PhasePreseed, PhaseCold, PhaseRamp, PhaseSustained, PhaseSpike, PhaseReads, PhaseScans}

// Config is a run of the lab: plain data, each field a flag of `surge lab`
// (package cli binds them from the tags).
type Config struct {
	// Profiles are the two profiles' files, the baseline first; empty is
	// examples/lab's baseline and optimized.
	Profiles []string `flag:"profile" help:"a profile YAML file (twice: the baseline, then the change); default examples/lab/baseline.yaml and optimized.yaml"`
	// Phases picks a subset of Phases; empty is all.
	Phases []string `flag:"phases" sep:"," help:"the phases to run, comma-separated: preseed, cold, ramp, sustained, spike, reads, scans, memory (default all)"`
	// Quick shortens every phase (under three minutes in all).
	Quick bool `flag:"quick" help:"the same phases, shortened: under three minutes, for CI"`
	// Against runs the phases that need no local control against two
	// deployed stages, BASELINE_URL,OPTIMIZED_URL.
	Against []string `flag:"against" sep:"," help:"BASELINE_URL,OPTIMIZED_URL: run the phases that need no local control against two deployed stages instead of local stacks"`
	// IdleGap, with Against, is how long the cold phase waits before its
	// traffic, so that the deployed functions' instances are reclaimed
	// (AWS: some 5 to 15 minutes); 0 sends at once.
	IdleGap time.Duration `flag:"idle-gap" help:"with --against: how long the cold phase waits before sending, for the stages' idle instances to be reclaimed (AWS: 5 to 15 minutes)"`
	// Out, HTML and Markdown are the outputs: the versioned JSON result,
	// the HTML report and the Markdown summary; empty skips one.
	Out      string `flag:"out" help:"the versioned JSON result, with every phase's histograms (redraw it with surge lab report); default surge-lab.json"`
	HTML     string `flag:"html" help:"the HTML report, a section per phase and the findings; default surge-lab.html"`
	Markdown string `flag:"markdown" help:"a short Markdown summary, for a pull request; default surge-lab.md"`
	// Dir keeps the stacks' data; empty is a temporary directory removed
	// at the end.
	Dir string `flag:"dir" help:"directory of the stacks' data (default: a temporary directory, removed at the end)"`
	// Items is the data volume the preseed phase creates; 0 is the
	// mode's default.
	Items int `flag:"items" help:"items the preseed phase creates, the data volume (0: 2000, or 300 with --quick)"`
	// Store overrides every profile's store URL, such as
	// dynamodb://TABLE?endpoint=URL.
	Store string `flag:"store" help:"store URL of every stack, overriding the profiles' (default: each profile's, SQLite in the lab's directory)"`
	// DynamoDB is the endpoint of a DynamoDB-API engine (dynalite,
	// DynamoDB Local) for the reads phase, where consistency has a
	// meaning; without it the phase runs on the profiles' store.
	DynamoDB string `flag:"dynamodb" help:"endpoint of a DynamoDB-API engine for the reads phase (strongly against eventually consistent reads); without it, the profiles' store"`
	// FunctionCommand and FunctionEnv override the function program of
	// every stack and add to its environment.
	FunctionCommand string   `flag:"function-command" help:"the function program of every stack (default: each profile's, else this program's surge function)"`
	FunctionEnv     []string `flag:"function-env" help:"an environment variable of every stack's function, KEY=VALUE (repeatable)"`
	// MaxRate bounds every rate the lab offers; 0 is 1.5 times the
	// machine's top rate, measured.
	MaxRate float64 `flag:"max-rate" help:"the highest rate any phase offers (0: 1.5 times this machine's top rate, measured first)"`
	// Seed makes the runs' random choices reproducible; 0 is random.
	Seed uint64 `flag:"seed" help:"seed of the load's random choices (0: random)"`

	// Progress receives the live progress and the phases' summaries;
	// nil discards them.
	Progress io.Writer
	// Log receives the stacks' log; nil discards it.
	Log *slog.Logger
	// Now is the clock of the result's timestamps (default time.Now).
	Now func() time.Time
}

// DefaultConfig returns the configuration of `surge lab` without flags:
// no output files named, which Main names surge-lab.json, .html and .md
// (Redraw writes only the ones named).
func DefaultConfig() Config { return Config{} }

// Validate reports every problem of c that can be seen without running.
func (c *Config) Validate() []error {
	var errs []error
	if n := len(c.Profiles); n != 0 && n != 2 {
		errs = append(errs, fmt.Errorf("--profile: want two profiles (the baseline, then the change), got %d", n))
	}
	for _, p := range c.Phases {
		if !slices.Contains(Phases, p) {
			errs = append(errs, fmt.Errorf("--phases: unknown phase %q (want %s)", p, strings.Join(Phases, ", ")))
		}
	}
	if len(c.Against) > 0 {
		if len(c.Against) != 2 {
			errs = append(errs, fmt.Errorf("--against: want BASELINE_URL,OPTIMIZED_URL, got %d URLs", len(c.Against)))
		}
		for _, raw := range c.Against {
			u, err := url.Parse(raw)
			if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
				errs = append(errs, fmt.Errorf("--against: %q is not an http(s) URL", raw))
			}
		}
		for _, p := range c.Phases {
			if !slices.Contains(remotePhases, p) {
				errs = append(errs, fmt.Errorf("--phases %s: needs local control (a local stack), which --against has not", p))
			}
		}
	} else if c.IdleGap != 0 {
		errs = append(errs, errors.New("--idle-gap is for --against; locally the cold phase waits for the pool to stop its idle instances"))
	}
	if c.Items < 0 || c.MaxRate < 0 || c.IdleGap < 0 {
		errs = append(errs, errors.New("--items, --max-rate and --idle-gap must not be negative"))
	}
	for _, kv := range c.FunctionEnv {
		if !strings.Contains(kv, "=") {
			errs = append(errs, fmt.Errorf("--function-env %q: want KEY=VALUE", kv))
		}
	}
	return errs
}

// runs reports whether phase is among the phases to run.
func (c *Config) runs(phase string) bool {
	if len(c.Against) > 0 && !slices.Contains(remotePhases, phase) {
		return false
	}
	return len(c.Phases) == 0 || slices.Contains(c.Phases, phase)
}

// timing is how long each phase runs, by mode.
type timing struct {
	items          int           // the data volume
	idleTimeout    time.Duration // the functions' idle timeout: the idle gap
	calHold        time.Duration // each calibration measurement
	coldCycles     int           // idle gaps, each followed by traffic
	coldRequests   int           // requests after each gap
	kneeFactor     float64
	kneeWarm       time.Duration
	kneeHold       time.Duration
	kneeBisect     int
	kneeRetries    int // runs of a failed step again (a noisy machine's moment is not the knee)
	sustained      time.Duration
	spikeBefore    time.Duration
	spikeHold      time.Duration
	spikeAfter     time.Duration
	readsHold      time.Duration
	scanGrowth     []int         // the table's sizes, as multiples of items
	scanRepeats    int           // full scans at each size
	lookups        int           // key lookups at each size
	memoryHold     time.Duration // at each size, over its rounds
	memoryRounds   int
	memorySizes    []int
	progressEvery  time.Duration
	progressSample time.Duration
}

func timingFor(quick bool) timing {
	if quick {
		return timing{items: 300, idleTimeout: 2 * time.Second, calHold: time.Second,
			coldCycles: 2, coldRequests: 12, kneeFactor: 2, kneeWarm: 400 * time.Millisecond, kneeHold: 1200 * time.Millisecond,
			kneeBisect: 1, sustained: 6 * time.Second, spikeBefore: 2 * time.Second, spikeHold: 5 * time.Second,
			spikeAfter: 2 * time.Second, readsHold: 2 * time.Second, scanGrowth: []int{1, 3}, scanRepeats: 1, lookups: 20,
			memoryHold: 2 * time.Second, memoryRounds: 1, memorySizes: []int{128, 256, 512, 1024}, progressEvery: 2 * time.Second}
	}
	return timing{items: 2000, idleTimeout: 5 * time.Second, calHold: 3 * time.Second,
		coldCycles: 4, coldRequests: 30, kneeFactor: 1.5, kneeWarm: time.Second, kneeHold: 4 * time.Second,
		kneeBisect: 3, kneeRetries: 1, sustained: 40 * time.Second, spikeBefore: 10 * time.Second, spikeHold: 10 * time.Second,
		spikeAfter: 10 * time.Second, readsHold: 8 * time.Second, scanGrowth: []int{1, 3, 8}, scanRepeats: 3, lookups: 100,
		memoryHold: 12 * time.Second, memoryRounds: 4, memorySizes: []int{128, 256, 512, 1024}, progressEvery: 5 * time.Second}
}
