package lab

import (
	"context"
	"fmt"
	"math"
	"runtime"
	"strconv"
	"time"

	"github.com/surgehq/surge/internal/load"
	"github.com/surgehq/surge/internal/server"
)

// The article's figures the scale is set against.
const (
	articleKnee      = 300.0  // requests a second where latency turned non-linear
	articleStable    = 150.0  // stable up to here
	articleStage     = 1000.0 // the stage throttle
	articleStoreRate = 500.0  // DynamoDB single-digit ms up to here
	// topMemoryMB is the memory of the calibration's top-rate stack: one
	// vCPU per instance, so that the functions' CPU share does not bind and
	// the figure is the machine's.
	topMemoryMB = 1769
	// maxP99 is the knee search's latency bound.
	maxP99 = 250 * time.Millisecond
	// sustainedShare is the sustained phase's rate, a fraction of the
	// knee: the article sustained its peak.
	sustainedShare = 0.7
	// stageShare is the stage throttle, a multiple of the knee: above the
	// sustained rate, under the spike (three times it).
	stageShare = 1.75
)

// Scale is how the lab maps the article's AWS-sized figures onto this
// machine: what it measured first, the rates it chose, and why.
type Scale struct {
	// TopRate is the stack's top rate on this machine with the load
	// generator beside it (a closed loop of TopUsers users), its functions
	// at TopMemoryMB so that their CPU share does not bind.
	TopRate     float64 `json:"topRate"`
	TopUsers    int     `json:"topUsers"`
	TopMemoryMB int     `json:"topMemoryMB"`
	// ServiceMs is a warm request's time through a stack, one at a time
	// (p50), by the function's memory size in MB.
	ServiceMs map[string]float64 `json:"serviceMs"`
	// Knee is the baseline's knee (offered), from its ramp, or the
	// estimate before it ran; KneeFrom says which.
	Knee     float64 `json:"knee"`
	KneeFrom string  `json:"kneeFrom"`
	// Factor is the knee against the article's 300/s: a rate of the
	// article times Factor is the same rate here.
	Factor float64 `json:"factor"`
	// Sustained and Spike are the two phases' rates.
	Sustained float64 `json:"sustained"`
	Spike     float64 `json:"spike"`
	// StageRate and StageBurst are the stage throttle of a profile that
	// has one.
	StageRate  float64 `json:"stageRate"`
	StageBurst int     `json:"stageBurst"`
	// RampStart and RampMax bound the knee search; MaxP99Ms is its
	// latency bound.
	// TableRCU and TableWCU are the provisioned table's units of a
	// profile that has one, at TableCompression.
	TableRCU         int     `json:"tableRCU,omitempty"`
	TableWCU         int     `json:"tableWCU,omitempty"`
	TableCompression float64 `json:"tableCompression,omitempty"`
	RampStart        float64 `json:"rampStart"`
	RampMax          float64 `json:"rampMax"`
	MaxP99Ms         float64 `json:"maxP99Ms"`
	// Why says, line by line, what the lab chose and why.
	Why []string `json:"why"`
}

// calibrate measures the machine: a warm request's time through a stack at
// each profile's memory size, and the stack's top rate with the functions
// unconstrained. Each measurement is a stack of its own, started and
// stopped in turn, over one data set.
func (l *labRun) calibrate(ctx context.Context) error {
	sc := &l.res.Scale
	sc.ServiceMs, sc.TopMemoryMB, sc.TopUsers = map[string]float64{}, topMemoryMB, 4*runtime.NumCPU()
	l.printf("calibration: measuring this machine (%d CPUs, load average %.1f)\n", runtime.NumCPU(), loadAvg())
	base, err := l.profiles[0].ServerConfig()
	if err != nil {
		return err
	}
	var ids []string
	measure := func(mb int, users int) (*load.Result, error) {
		cfg := l.serverConfig(base, "calibration")
		atMemory(&cfg, mb)
		onDemand(&cfg)
		cfg.Cache.Enabled, cfg.ReadCache.Enabled, cfg.Throttle = false, false, server.ThrottleConfig{}
		st, err := startStack(ctx, fmt.Sprintf("calibration-%dMB", mb), cfg)
		if err != nil {
			return nil, err
		}
		defer st.close()
		if ids == nil {
			c := newClient(st.url)
			ids, err = c.seed(ctx, 200, l.payloads(), "calibration", l.cfg.Seed)
			c.close()
			if err != nil {
				return nil, err
			}
		}
		s := l.scenario(st.url)
		s.Model, s.Preset, s.VUs, s.Duration = load.ModelClosed, load.PresetSustain, users, l.t.calHold/2
		if _, err := load.Run(ctx, s, l.runOptions(ids, nil)...); err != nil { // warm the instances
			return nil, err
		}
		s.Duration = l.t.calHold
		if users == 1 {
			s.Mix = load.Mix{"read": 1}
		}
		return load.Run(ctx, s, l.runOptions(ids, nil)...)
	}
	seen := map[int]bool{}
	for _, p := range l.profiles {
		cfg, err := p.ServerConfig()
		if err != nil {
			return err
		}
		mb := cfg.Functions.MemoryMB
		if !cfg.Functions.Enabled || seen[mb] {
			continue
		}
		seen[mb] = true
		r, err := measure(mb, 1)
		if err != nil {
			return fmt.Errorf("calibration at %d MB: %w", mb, err)
		}
		sc.ServiceMs[strconv.Itoa(mb)] = r.Total.Latency.P50
		l.printf("  a warm read through a %d MB instance, one at a time: p50 %.2f ms\n", mb, r.Total.Latency.P50)
	}
	r, err := measure(topMemoryMB, sc.TopUsers)
	if err != nil {
		return fmt.Errorf("calibration of the top rate: %w", err)
	}
	sc.TopRate = r.AchievedRate
	l.printf("  the stack's top rate, %d users in a closed loop, functions at %d MB: %.0f/s\n", sc.TopUsers, topMemoryMB, sc.TopRate)
	l.chooseScale(0, "")
	return nil
}

// chooseScale sets the rates from the top rate and, once the baseline's
// ramp found it, the knee.
func (l *labRun) chooseScale(knee float64, from string) {
	sc := &l.res.Scale
	if sc.TopRate <= 0 {
		sc.TopRate = 100 // nothing measured (a run against deployed stages that failed): a safe floor
	}
	sc.RampMax = 1.5 * sc.TopRate
	if l.cfg.MaxRate > 0 {
		sc.RampMax = math.Min(sc.RampMax, l.cfg.MaxRate)
	}
	sc.RampStart = math.Max(1, sc.RampMax/24)
	sc.MaxP99Ms = float64(maxP99) / float64(time.Millisecond)
	if knee <= 0 {
		knee, from = sc.TopRate/2, "estimate: half the top rate (the baseline's knee was not searched)"
	}
	sc.Knee, sc.KneeFrom = knee, from
	sc.Factor = knee / articleKnee
	sc.Sustained = sustainedShare * knee
	sc.Spike = 3 * sc.Sustained
	if l.cfg.MaxRate > 0 {
		sc.Spike = math.Min(sc.Spike, l.cfg.MaxRate)
		sc.Sustained = math.Min(sc.Sustained, sc.Spike/3)
	}
	sc.StageRate = stageShare * knee
	sc.StageBurst = int(math.Max(1, math.Round(sc.StageRate/2)))
	sc.Why = l.scaleWhy()
}

func (l *labRun) scaleWhy() []string {
	sc := &l.res.Scale
	var why []string
	add := func(format string, args ...any) { why = append(why, fmt.Sprintf(format, args...)) }
	if sc.TopUsers > 0 {
		add("this machine: %d CPUs, shared by the stack and the load generator; the stack's top rate is %.0f/s (%d users in a closed loop, functions at %d MB, one vCPU each, so that their memory does not bind)",
			runtime.NumCPU(), sc.TopRate, sc.TopUsers, sc.TopMemoryMB)
	} else {
		add("the baseline stage's top rate, measured from here: %.0f/s", sc.TopRate)
	}
	for _, mb := range sortedKeys(sc.ServiceMs) {
		if mb == "stage" {
			add("a read of the deployed stage takes %.2f ms from here, one at a time", sc.ServiceMs[mb])
			continue
		}
		add("a warm read through a %s MB instance takes %.2f ms here, one at a time (the article's requests took 45 to 180 ms on AWS)", mb, sc.ServiceMs[mb])
	}
	add("the knee search offers %.0f/s, then more by a factor of %g, up to %.0f/s and never beyond (1.5 times the top rate%s); a step fails at p99 over %.0f ms, errors of 1%%, or an achieved rate 5%% short",
		sc.RampStart, l.t.kneeFactor, sc.RampMax, map[bool]string{true: ", or --max-rate", false: ""}[l.cfg.MaxRate > 0], sc.MaxP99Ms)
	add("the knee: %.0f/s (%s); against the article's 300/s that is a scale of %.2f: the article's 150/s is %.0f/s here, its 500 store operations a second %.0f/s",
		sc.Knee, sc.KneeFrom, sc.Factor, articleStable*sc.Factor, articleStoreRate*sc.Factor)
	add("sustained: %.0f/s, %.0f%% of the knee (the article sustained its peak); spike: %.0f/s, three times that", sc.Sustained, 100*sustainedShare, sc.Spike)
	add("stage throttle: %.0f/s with a burst of %d (half a second), %g times the knee. The article's 1,000/s is 3.3 times its knee, where a spike of three times a sustained rate under the knee never reaches it; here it sits between the sustained rate and the spike, so that the spike crosses it, the case the article set it for, and leaves the second profile room above the baseline's knee",
		sc.StageRate, sc.StageBurst, stageShare)
	add("provisioned concurrency: the article's 5 instances, unscaled; the account's concurrency limit: surge's default of 100 (AWS's 1,000 processes would not fit this machine)")
	add("idle gap: the functions' idle timeout (the profiles' idle-timeout, %s with --quick); AWS reclaims idle instances after 5 to 15 minutes", timingFor(true).idleTimeout)
	return why
}
