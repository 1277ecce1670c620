package lambda

import (
	"context"
	"fmt"
	"time"
)

// provisioner starts provisioned instances until the provisioned
// concurrency asked for is alive, a few at a time, backing off after
// failed inits. It exits when the pool closes.
func (p *Pool) provisioner() {
	defer p.wg.Done()
	var retry *time.Timer
	for {
		select {
		case <-p.kick:
		case <-p.done:
			if retry != nil {
				retry.Stop()
			}
			return
		}
		for {
			p.mu.Lock()
			if p.closed || p.provLive >= p.provWant || p.provInit >= provisionParallel {
				p.mu.Unlock()
				break
			}
			if wait := time.Until(p.provWait); wait > 0 {
				p.mu.Unlock()
				if retry != nil {
					retry.Stop()
				}
				retry = time.AfterFunc(wait, p.poke)
				break
			}
			in := p.newInstance(true)
			p.signal()
			p.mu.Unlock()
			if err := p.spawn(in); err != nil {
				p.cfg.Log.Error("provisioned instance did not start", "function", p.cfg.Name, "instance", in.name, "err", err)
				p.gone(in, err)
			}
		}
	}
}

// setProvisioned changes the provisioned concurrency to n: new instances
// start (through the provisioner), and surplus ones retire, idle ones at
// once, busy ones when their invocation ends, initialising ones when
// ready. It returns the instances to stop now; p.mu is held.
func (p *Pool) setProvisioned(n int) (stop []*instance) {
	if n == p.provWant {
		return nil
	}
	p.cfg.Log.Info("provisioned concurrency", "function", p.cfg.Name, "from", p.provWant, "to", n)
	p.provWant = n
	for p.provLive > n {
		var victim *instance
		if k := len(p.idleProv); k > 0 {
			// The least recently used idle one.
			victim, p.idleProv = p.idleProv[0], p.idleProv[1:]
			victim.state = stStopping
			stop = append(stop, victim)
		} else {
			for in := range p.live {
				if in.prov && !in.retire && in.state != stStopping {
					victim = in
					break
				}
			}
			if victim == nil {
				break
			}
		}
		victim.retire = true
		p.provLive--
	}
	p.signal()
	return stop
}

// Tick runs the pool's periodic work as of now (the time of day): the
// scheduled actions due, target tracking with the provisioned
// concurrency's utilisation since the last Tick, and the reclaim of
// on-demand instances idle for IdleTimeout. The pool calls it every
// Config.TickEvery with Config.Now(); a caller that set TickEvery < 0
// calls it itself.
func (p *Pool) Tick(now time.Time) {
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return
	}
	real := time.Now()
	p.provHeld.fold(p.provBusy, real)
	u := 0.0
	if elapsed := real.Sub(p.lastTick); elapsed > 0 && p.provLive > 0 {
		u = float64(p.provHeld.area) / (float64(elapsed) * float64(p.provLive))
	}
	p.provHeld.area, p.lastTick, p.utilNow = 0, real, min(u, 1)
	stop := p.setProvisioned(p.scaler.Tick(now, min(u, 1)))
	for _, in := range stop {
		defer p.kill(in, stopScaleIn)
	}
	keep := p.idle[:0]
	for _, in := range p.idle {
		if now.Sub(in.idleSince) >= p.cfg.IdleTimeout {
			in.state = stStopping
			defer p.kill(in, stopIdle)
			continue
		}
		keep = append(keep, in)
	}
	clear(p.idle[len(keep):])
	p.idle = keep
	p.mu.Unlock()
	p.poke()
}

func (p *Pool) ticker(every time.Duration) {
	defer p.wg.Done()
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-t.C:
			p.Tick(p.cfg.Now())
		case <-p.done:
			return
		}
	}
}

// Stats is a snapshot of the pool.
type Stats struct {
	// Instances by state.
	Initializing, Idle, Busy int
	// The provisioned instances among them.
	ProvisionedInitializing, ProvisionedIdle, ProvisionedBusy int
	// Provisioned is the provisioned concurrency asked for; Ready how many
	// provisioned instances are initialised (idle or busy).
	Provisioned, ProvisionedReady int
	// ProvisionedMin and ProvisionedMax are its scaling bounds.
	ProvisionedMin, ProvisionedMax int
	// Utilization is the provisioned concurrency's utilisation over the
	// last Tick.
	Utilization float64
	// ConcurrencyCap caps instances busy at once.
	ConcurrencyCap int
	// Starts and ColdStarts count instances started, and those started
	// for an invocation that waited.
	Starts, ColdStarts int64
	// ProvisionedInitFailures counts the provisioned inits that failed
	// since the last one that succeeded.
	ProvisionedInitFailures int
	// BusySeconds is the instance-time that invocations have held the
	// concurrency cap since the pool started, in seconds: from the
	// invocation's dispatch to its answer, a cold start's init included.
	// Its increase over an interval, divided by the interval, is the mean
	// concurrency in use; by Little's law, the rate served times the mean
	// time an invocation holds an instance.
	BusySeconds float64
}

// PIDs returns the process ids of the pool's instances that are running
// now, in no order.
func (p *Pool) PIDs() []int {
	p.mu.Lock()
	defer p.mu.Unlock()
	out := make([]int, 0, len(p.live))
	for in := range p.live {
		if pid := in.pid.Load(); pid > 0 && in.state != stDead {
			out = append(out, int(pid))
		}
	}
	return out
}

// Stats returns the pool's state now.
func (p *Pool) Stats() Stats {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.statsLocked()
}

func (p *Pool) statsLocked() Stats {
	s := Stats{Provisioned: p.provWant, ProvisionedMin: p.scaler.Min(), ProvisionedMax: p.scaler.Max(),
		Utilization: p.utilNow, ConcurrencyCap: p.cfg.concurrency(), Starts: p.starts, ColdStarts: p.coldStarts,
		ProvisionedInitFailures: p.provFail,
		BusySeconds:             p.held.at(p.busy, time.Now()).Seconds()}
	for in := range p.live {
		switch in.state {
		case stInit:
			s.Initializing++
			if in.prov {
				s.ProvisionedInitializing++
			}
		case stIdle:
			s.Idle++
			if in.prov {
				s.ProvisionedIdle++
			}
		case stBusy:
			s.Busy++
			if in.prov {
				s.ProvisionedBusy++
			}
		}
	}
	s.ProvisionedReady = s.ProvisionedIdle + s.ProvisionedBusy
	return s
}

// WaitProvisioned waits until the provisioned concurrency asked for is
// initialised (or ctx ends), so that a server can take its first request
// with its provisioned instances ready, as Lambda allocates provisioned
// concurrency before an alias takes traffic.
func (p *Pool) WaitProvisioned(ctx context.Context) error {
	return p.Wait(ctx, func(s Stats) bool { return s.ProvisionedReady >= s.Provisioned })
}

// Wait waits until cond holds for the pool's Stats, or ctx ends.
func (p *Pool) Wait(ctx context.Context, cond func(Stats) bool) error {
	for {
		p.mu.Lock()
		ok, ch := cond(p.statsLocked()), p.changed
		p.mu.Unlock()
		if ok {
			return nil
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return fmt.Errorf("lambda: function %s: %w", p.cfg.Name, ctx.Err())
		}
	}
}
