package dynamo_test

import (
	"maps"
	"sync"
	"time"
)

// countingObserver counts the calls a store reports.
type countingObserver struct {
	mu    sync.Mutex
	calls map[string]int
	cap   map[string]float64
	errs  map[string]int
}

func (o *countingObserver) ObserveCall(op string, took time.Duration, units float64, err error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.calls == nil {
		o.reset0()
	}
	o.calls[op]++
	o.cap[op] += units
	if err != nil {
		o.errs[op]++
	}
}

func (o *countingObserver) reset0() {
	o.calls, o.cap, o.errs = map[string]int{}, map[string]float64{}, map[string]int{}
}

func (o *countingObserver) reset() {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.reset0()
}

func (o *countingObserver) count(op string) int {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.calls[op]
}

func (o *countingObserver) units(op string) float64 {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.cap[op]
}

func (o *countingObserver) errors(op string) int {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.errs[op]
}

func (o *countingObserver) snapshot() map[string]int {
	o.mu.Lock()
	defer o.mu.Unlock()
	return maps.Clone(o.calls)
}
