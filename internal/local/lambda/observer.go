package lambda

import "time"

// Observer is told what a pool does, for metrics: the Prometheus one is
// package metrics's, and a caller may attach its own beside it (through
// Observers). Its methods are called on the pool's goroutines and must
// not block; the pool's gauges (instances by state, concurrency) are read
// when wanted with Pool.Stats.
type Observer interface {
	// PoolStarted and PoolClosed bracket a pool's life.
	PoolStarted(p *Pool)
	PoolClosed(p *Pool)
	// Invoked is a finished invocation (throttles excluded); provisioned
	// says whether provisioned concurrency was configured at the time.
	Invoked(p *Pool, res *Result, provisioned bool)
	// Throttled is an invocation refused for lack of concurrency, with
	// Lambda's reason (ReasonReserved, ReasonAccount, ReasonRate).
	Throttled(p *Pool, reason string)
	// InstanceReady is an instance's init done, after d.
	InstanceReady(p *Pool, provisioned bool, d time.Duration)
	// InstanceStopped is an instance stopped, by reason: idle, timeout,
	// crash, init_error, scale_in, shutdown.
	InstanceStopped(p *Pool, reason string)
}

// Observers tells each of its observers; an empty one is a no-op.
type Observers []Observer

// PoolStarted implements Observer.
func (os Observers) PoolStarted(p *Pool) {
	for _, o := range os {
		o.PoolStarted(p)
	}
}

// PoolClosed implements Observer.
func (os Observers) PoolClosed(p *Pool) {
	for _, o := range os {
		o.PoolClosed(p)
	}
}

// Invoked implements Observer.
func (os Observers) Invoked(p *Pool, res *Result, provisioned bool) {
	for _, o := range os {
		o.Invoked(p, res, provisioned)
	}
}

// Throttled implements Observer.
func (os Observers) Throttled(p *Pool, reason string) {
	for _, o := range os {
		o.Throttled(p, reason)
	}
}

// InstanceReady implements Observer.
func (os Observers) InstanceReady(p *Pool, provisioned bool, d time.Duration) {
	for _, o := range os {
		o.InstanceReady(p, provisioned, d)
	}
}

// InstanceStopped implements Observer.
func (os Observers) InstanceStopped(p *Pool, reason string) {
	for _, o := range os {
		o.InstanceStopped(p, reason)
	}
}
