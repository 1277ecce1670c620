package lab

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/surgehq/surge/internal/load"
	"github.com/surgehq/surge/internal/local/lambda"
	"github.com/surgehq/surge/internal/server"
)

// stack is one profile's whole local stack (gateway, function pool,
// store), started through server.New in this process, with the counters
// of its parts: the pool's own invocations and cold starts, and the
// response cache's hits, told by the observers the server takes.
type stack struct {
	name string
	srv  *server.Server
	url  string
	// pools are the stack's functions' pools: one, or one per function
	// of a profile that splits the API, or of a template.
	pools []*lambda.Pool
	cnt   *counters
	conc  *concurrency
	stop  context.CancelFunc
	done  chan error
}

// counters count what the parts report to their observers.
type counters struct {
	invocations, cold, throttles atomic.Int64
	// provCold are the cold starts of functions with provisioned
	// concurrency configured.
	provCold     atomic.Int64
	hits, misses atomic.Int64
}

// The lambda.Observer methods.
func (c *counters) PoolStarted(*lambda.Pool) {}
func (c *counters) PoolClosed(*lambda.Pool)  {}
func (c *counters) Invoked(p *lambda.Pool, res *lambda.Result, _ bool) {
	c.invocations.Add(1)
	if res.Cold {
		c.cold.Add(1)
		if p.Config().Provisioned > 0 {
			c.provCold.Add(1)
		}
	}
}
func (c *counters) Throttled(*lambda.Pool, string)                  { c.throttles.Add(1) }
func (c *counters) InstanceReady(*lambda.Pool, bool, time.Duration) {}
func (c *counters) InstanceStopped(*lambda.Pool, string)            {}

// The gateway.CacheObserver methods.
func (c *counters) CacheHit()               { c.hits.Add(1) }
func (c *counters) CacheMiss()              { c.misses.Add(1) }
func (c *counters) CacheEvicted()           {}
func (c *counters) CacheInvalidated(string) {}
func (c *counters) CacheDenied()            {}

// snapshot is the counters at one moment.
type snapshot struct{ invocations, cold, provCold, throttles, hits, misses int64 }

func (c *counters) snap() snapshot {
	return snapshot{c.invocations.Load(), c.cold.Load(), c.provCold.Load(), c.throttles.Load(), c.hits.Load(), c.misses.Load()}
}

func (s snapshot) sub(o snapshot) snapshot {
	return snapshot{s.invocations - o.invocations, s.cold - o.cold, s.provCold - o.provCold, s.throttles - o.throttles,
		s.hits - o.hits, s.misses - o.misses}
}

// startStack starts a stack of cfg, named name; it serves until close.
func startStack(ctx context.Context, name string, cfg server.Config) (*stack, error) {
	st := &stack{name: name, cnt: &counters{}, done: make(chan error, 1)}
	cfg.Addr, cfg.AdminAddr, cfg.AccessLog = "127.0.0.1:0", "", false
	cfg.Observers.Pool, cfg.Observers.Cache = st.cnt, st.cnt
	// Each stack's function has a name of its own: its instances' control
	// groups are named after it, and stacks may run at once (the memory
	// sweep's sizes).
	cfg.Functions.Name = functionName(name)
	// And so does each function of a profile that splits the API (a
	// template's keep the template's names).
	if f := &cfg.Functions; len(f.List) > 0 && cfg.Template.Path == "" {
		f.List, f.Routes = append([]server.Function(nil), f.List...), append([]server.Route(nil), f.Routes...)
		for i := range f.List {
			f.List[i].Name = functionName(name + "-" + f.List[i].Name)
		}
		for i := range f.Routes {
			f.Routes[i].Function = functionName(name + "-" + f.Routes[i].Function)
		}
	}
	srv, err := server.New(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("start the %s stack: %w", name, err)
	}
	st.srv, st.url = srv, "http://"+srv.Addr()
	if st.pools = srv.Pools(); len(st.pools) > 0 {
		st.conc = watchConcurrency(st.pools)
	}
	rctx, cancel := context.WithCancel(context.Background())
	st.stop = cancel
	go func() { st.done <- srv.Run(rctx) }()
	return st, nil
}

// close stops the stack: its listener, its function instances, its store.
func (s *stack) close() error {
	if s == nil {
		return nil
	}
	if s.conc != nil {
		s.conc.stop()
	}
	s.stop()
	select {
	case err := <-s.done:
		if errors.Is(err, context.Canceled) {
			return nil
		}
		return err
	case <-time.After(30 * time.Second):
		return fmt.Errorf("the %s stack did not stop within 30s", s.name)
	}
}

// settle waits until no instance is running an invocation: every
// invocation that answered has been counted (the pool counts one before
// its instance asks for the next).
func (s *stack) settle(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	for _, p := range s.pools {
		if err := p.Wait(ctx, func(st lambda.Stats) bool { return st.Busy == 0 }); err != nil {
			return err
		}
	}
	return nil
}

// onDemand returns the on-demand instances alive now.
func (s *stack) onDemand() int {
	n := 0
	for _, p := range s.pools {
		st := p.Stats()
		n += st.Initializing + st.Idle + st.Busy - (st.ProvisionedInitializing + st.ProvisionedIdle + st.ProvisionedBusy)
	}
	return n
}

// provisioned returns the provisioned concurrency configured now, and
// the functions that have some.
func (s *stack) provisioned() (instances int, functions []string) {
	for _, p := range s.pools {
		if n := p.Stats().Provisioned; n > 0 {
			instances += n
			functions = append(functions, p.Name())
		}
	}
	return instances, functions
}

// idleGap waits until the pool has stopped every on-demand instance it
// had, as Lambda reclaims idle instances: the gap lasts the function's
// idle timeout after the last request, and is a wait on the pool's state.
func (s *stack) idleGap(ctx context.Context, bound time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, bound)
	defer cancel()
	for _, p := range s.pools {
		err := p.Wait(ctx, func(st lambda.Stats) bool {
			return st.Initializing+st.Idle+st.Busy == st.ProvisionedInitializing+st.ProvisionedIdle+st.ProvisionedBusy
		})
		if err != nil {
			return fmt.Errorf("idle gap: the pools kept %d on-demand instances: %w", s.onDemand(), err)
		}
	}
	return nil
}

// probe returns the load tester's probe of the stack: the pool's own
// invocation count and its concurrent executions.
func (s *stack) probe() load.Probe {
	if len(s.pools) == 0 {
		return nil
	}
	return &poolProbe{s: s}
}

// poolProbe is a load.Probe (and load.Settler) of a stack's pool.
type poolProbe struct{ s *stack }

func (p *poolProbe) Sample(context.Context) (load.TargetSample, error) {
	return load.TargetSample{Invocations: p.s.cnt.invocations.Load(), HasInvocations: true,
		Concurrency: float64(p.s.conc.takeMax()), HasConcurrency: true}, nil
}

func (p *poolProbe) Settle(ctx context.Context) error { return p.s.settle(ctx) }

// concurrency follows the pools' busy instances, the concurrent
// executions (of the account: every function's), on every change of a
// pool's state, and keeps the most since it was last read.
type concurrency struct {
	mu       sync.Mutex
	busy     []int // by pool
	cur, top int
	cancel   context.CancelFunc
	done     chan struct{}
}

func watchConcurrency(pools []*lambda.Pool) *concurrency {
	ctx, cancel := context.WithCancel(context.Background())
	c := &concurrency{busy: make([]int, len(pools)), cancel: cancel, done: make(chan struct{})}
	var wg sync.WaitGroup
	for i, p := range pools {
		wg.Add(1)
		go func() {
			defer wg.Done()
			// The condition is called on each change of the pool's state
			// and never holds: it only records. Wait returns when ctx
			// ends.
			_ = p.Wait(ctx, func(st lambda.Stats) bool {
				c.mu.Lock()
				c.cur += st.Busy - c.busy[i]
				c.busy[i] = st.Busy
				c.top = max(c.top, c.cur)
				c.mu.Unlock()
				return false
			})
		}()
	}
	go func() {
		wg.Wait()
		close(c.done)
	}()
	return c
}

// takeMax returns the most concurrent executions since the last call.
func (c *concurrency) takeMax() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	top := c.top
	c.top = c.cur
	return top
}

func (c *concurrency) stop() {
	c.cancel()
	<-c.done
}

// functionName turns a stack's name into a function name Lambda accepts.
func functionName(name string) string {
	b := []byte("lab-" + name)
	for i, c := range b {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
			b[i] = '-'
		}
	}
	return string(b[:min(len(b), 64)])
}
