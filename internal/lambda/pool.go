package lambda

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/google/uuid"
	"golang.org/x/time/rate"
)

// provisionParallel is how many provisioned instances initialise at once.
const provisionParallel = 4

// Pool runs one function's instances with Lambda's execution model (see
// the package documentation). It is safe for concurrent use.
type Pool struct {
	cfg    Config
	arn    string
	dir    string
	env    []string // the environment every instance shares
	m      *Metrics
	cg     *cgroups
	bucket *rate.Limiter
	seq    atomic.Int64

	mu       sync.Mutex
	closed   bool
	live     map[*instance]struct{}
	idle     []*instance // on-demand instances, most recently used last
	idleProv []*instance // provisioned ones, likewise
	busy     int         // instances holding a concurrency slot
	provBusy int         // the provisioned ones among them
	initing  int         // instances initialising
	provInit int         // the provisioned ones among them
	provWant int         // the provisioned concurrency asked for
	provLive int         // provisioned instances alive and not retiring
	provFail int         // provisioned inits failed in a row
	provWait time.Time   // no provisioned start before this (backoff)
	scaler   *scaler
	changed  chan struct{} // closed and replaced at every change of state
	// provArea is the integral of provBusy over real time since lastTick,
	// for the utilisation target tracking reads.
	provArea   time.Duration
	provMark   time.Time
	lastTick   time.Time
	utilNow    float64
	starts     int64
	coldStarts int64

	kick chan struct{}
	done chan struct{}
	wg   sync.WaitGroup // the pool's goroutines and the instances' watchers
}

// New validates cfg, prepares the CPU and memory limits, and starts the
// pool: its provisioned instances begin to initialise at once (see
// WaitProvisioned), and Tick runs every cfg.TickEvery.
func New(cfg Config) (*Pool, error) {
	cfg = cfg.withDefaults()
	if errs := cfg.Validate(); len(errs) > 0 {
		return nil, fmt.Errorf("lambda: function %s: %w", cfg.Name, errors.Join(errs...))
	}
	exe, err := exec.LookPath(cfg.Command[0])
	if err != nil {
		return nil, fmt.Errorf("lambda: function %s: %w", cfg.Name, err)
	}
	dir := cfg.Dir
	if dir == "" {
		dir = filepath.Dir(exe)
	}
	if abs, err := filepath.Abs(dir); err == nil {
		dir = abs
	}
	p := &Pool{
		cfg:     cfg,
		arn:     cfg.ARN(),
		dir:     dir,
		m:       cfg.Metrics,
		bucket:  rate.NewLimiter(rate.Limit(cfg.StartRate), cfg.StartBurst),
		live:    map[*instance]struct{}{},
		changed: make(chan struct{}),
		kick:    make(chan struct{}, 1),
		done:    make(chan struct{}),
	}
	now := cfg.Now()
	// The bucket starts full at the injected time, so that a test's fake
	// clock and the bucket agree.
	p.bucket.AllowN(now, 0)
	p.scaler = newScaler(&cfg, now)
	p.provWant = p.scaler.desired
	p.lastTick, p.provMark = time.Now(), time.Now()
	p.env = p.baseEnv()
	if cfg.Limits == LimitsAuto {
		cg, err := newCgroups(cfg.Name)
		switch {
		case err != nil:
			cfg.Log.Warn("function instances run without CPU and memory limits: the kernel's cgroup controllers cannot be used here",
				"function", cfg.Name, "err", err)
		default:
			p.cg = cg
			attrs := []any{"function", cfg.Name, "limits", cg.describe(), "memory_mb", cfg.MemoryMB,
				"cpu", fmt.Sprintf("%.3f vCPU", float64(cfg.MemoryMB)/MBPerVCPU)}
			if cg.cpuNote != "" || cg.memNote != "" {
				attrs = append(attrs, "cpu_unavailable", cg.cpuNote, "memory_unavailable", cg.memNote)
			}
			cfg.Log.Info("function instances run under cgroup limits", attrs...)
		}
	}
	if p.m != nil {
		p.m.attach(p)
	}
	p.wg.Add(1)
	go p.provisioner()
	if cfg.TickEvery > 0 {
		p.wg.Add(1)
		go p.ticker(cfg.TickEvery)
	}
	p.poke()
	return p, nil
}

// Config returns the pool's configuration, with its defaults filled in.
func (p *Pool) Config() Config { return p.cfg }

// baseEnv is the environment Lambda gives a function, the parts that are
// the same for every instance, then the function's own.
func (p *Pool) baseEnv() []string {
	c := &p.cfg
	env := []string{
		"AWS_LAMBDA_FUNCTION_NAME=" + c.Name,
		"AWS_LAMBDA_FUNCTION_MEMORY_SIZE=" + strconv.Itoa(c.MemoryMB),
		"AWS_LAMBDA_FUNCTION_VERSION=" + Latest,
		"AWS_LAMBDA_LOG_GROUP_NAME=/aws/lambda/" + c.Name,
		"AWS_REGION=" + c.Region,
		"AWS_DEFAULT_REGION=" + c.Region,
		"AWS_EXECUTION_ENV=AWS_Lambda_provided.al2023",
		"_HANDLER=" + filepath.Base(c.Command[0]),
		"LAMBDA_TASK_ROOT=" + p.dir,
		"LAMBDA_RUNTIME_DIR=" + p.dir,
		"TZ=:UTC",
		"LANG=en_US.UTF-8",
		"PATH=/usr/local/bin:/usr/bin/:/bin:/opt/bin",
		"LD_LIBRARY_PATH=/lib64:/usr/lib64:" + p.dir + ":" + p.dir + "/lib:/opt/lib",
	}
	// The function role's credentials, on Lambda; here, surge's own.
	for _, k := range []string{"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"} {
		if v, ok := os.LookupEnv(k); ok {
			env = append(env, k+"="+v)
		}
	}
	return append(env, c.Env...)
}

// instanceEnv adds what is particular to one instance.
func (p *Pool) instanceEnv(in *instance, api string) []string {
	env := make([]string, 0, len(p.env)+3)
	env = append(env, p.env...)
	kind := "on-demand"
	if in.prov {
		kind = "provisioned-concurrency"
	}
	var b [16]byte
	_, _ = rand.Read(b[:])
	stream := time.Now().UTC().Format("2006/01/02") + "/[" + Latest + "]" + hex.EncodeToString(b[:])
	return append(env, "AWS_LAMBDA_RUNTIME_API="+api, "AWS_LAMBDA_INITIALIZATION_TYPE="+kind,
		"AWS_LAMBDA_LOG_STREAM_NAME="+stream)
}

// InvokeOptions are an invocation's particulars.
type InvokeOptions struct {
	// RequestID is the AWS request id (default a new UUID).
	RequestID string
	// TraceID is the X-Ray trace header passed to the function (default a
	// new trace).
	TraceID string
	// ClientContext is the base64 client context of an Invoke call.
	ClientContext string
	// Qualifier is the version or alias invoked, for the ARN the function
	// sees.
	Qualifier string
	// Tail asks for the last 4 KB of the instance's log (LogType Tail).
	Tail bool
	// OnResult, when set, is called with the result as soon as it is
	// known, on the goroutine that learned it (the Runtime API's), before
	// Invoke returns it; not at all when Invoke returns ctx's error. It
	// saves the caller a wake-up on the way back: the integration writes
	// its answer from it. It must not block.
	OnResult func(*Result)
}

// Result is a completed invocation: the function's response, or its
// error as Lambda returns one, and how it ran.
type Result struct {
	// RequestID is the invocation's AWS request id.
	RequestID string
	// Payload is the function's response, or with FunctionError its error
	// object {"errorType", "errorMessage", ...}.
	Payload []byte
	// FunctionError is "Unhandled" when the invocation failed (an error
	// the function reported, a timeout, a crash, an init error); what
	// X-Amz-Function-Error carries.
	FunctionError string
	// ErrorType is the error's type, such as Sandbox.Timedout.
	ErrorType string
	// Cold reports that an instance was started for this invocation.
	Cold bool
	// Provisioned reports that a provisioned instance served it.
	Provisioned bool
	// InitDuration is the cold start's init: process start to the
	// runtime's first request for an event.
	InitDuration time.Duration
	// Duration is the invocation's run time on its instance, from the
	// event's delivery to the function's response (Lambda's Duration).
	Duration time.Duration
	// Log is the instance's log during the invocation, its last 4 KB, when
	// asked (InvokeOptions.Tail).
	Log []byte
}

// ThrottleError is an invocation refused for lack of concurrency, as
// Lambda's TooManyRequestsException.
type ThrottleError struct {
	// Reason is Lambda's ThrottleReason.
	Reason string
	// RetryAfter is when a retry may find room.
	RetryAfter time.Duration
}

// Throttle reasons.
const (
	// ReasonReserved: the reserved concurrency is in use.
	ReasonReserved = "ReservedFunctionConcurrentInvocationLimitExceeded"
	// ReasonAccount: the account's concurrency limit is in use.
	ReasonAccount = "ConcurrentInvocationLimitExceeded"
	// ReasonRate: no new instance may start yet (the scaling rate).
	ReasonRate = "FunctionInvocationRateLimitExceeded"
)

func (e *ThrottleError) Error() string { return "lambda: rate exceeded: " + e.Reason }

// TooLargeError is a payload over Lambda's limit.
type TooLargeError struct{ Size, Limit int }

func (e *TooLargeError) Error() string {
	return fmt.Sprintf("lambda: request must be smaller than %d bytes for the Invoke operation (got %d)", e.Limit, e.Size)
}

// Invoke runs one invocation synchronously (RequestResponse) and returns
// its result: on an idle instance if there is one, else on a new one
// (a cold start) if the concurrency cap and the start rate allow, else it
// fails at once with a *ThrottleError. A function error is a Result with
// FunctionError set, not an error. When ctx ends first, Invoke returns
// ctx's error but the invocation goes on to its end on its instance, as
// a Lambda invocation does when its caller goes away.
func (p *Pool) Invoke(ctx context.Context, payload []byte, opt InvokeOptions) (*Result, error) {
	if len(payload) > MaxPayload {
		return nil, &TooLargeError{len(payload), MaxPayload}
	}
	inv := p.newInvocation(payload, &opt)
	in, cold, err := p.acquire(inv)
	if err != nil {
		return nil, err
	}
	if cold {
		if err := p.spawn(in); err != nil {
			p.cfg.Log.Error("function instance did not start", "function", p.cfg.Name, "instance", in.name, "err", err)
			in.setInitError("Runtime.InvalidEntrypoint", fmt.Sprintf("RequestId: %s Error: %v", inv.id, err))
			p.gone(in, err)
			return <-inv.done, nil
		}
	}
	in.deliver(inv)
	select {
	case res := <-inv.done:
		return res, nil
	case <-ctx.Done():
		if inv.onResult == nil || inv.callback.CompareAndSwap(0, 2) {
			return nil, ctx.Err()
		}
		return <-inv.done, nil // OnResult is running: it has the result
	}
}

func (p *Pool) newInvocation(payload []byte, opt *InvokeOptions) *invocation {
	inv := &invocation{id: opt.RequestID, payload: payload, trace: opt.TraceID, clientContext: opt.ClientContext,
		arn: p.arn, tail: opt.Tail, done: make(chan *Result, 1), onResult: opt.OnResult}
	if inv.id == "" {
		inv.id = uuid.NewString()
	}
	if inv.trace == "" {
		inv.trace = newTraceID(time.Now())
	}
	if opt.Qualifier != "" {
		inv.arn += ":" + opt.Qualifier
	}
	return inv
}

// newTraceID returns a new X-Ray trace header, not sampled.
func newTraceID(now time.Time) string {
	var b [20]byte
	_, _ = rand.Read(b[:])
	h := hex.EncodeToString(b[:])
	return fmt.Sprintf("Root=1-%08x-%s;Parent=%s;Sampled=0", now.Unix(), h[:24], h[24:40])
}

// acquire finds the invocation an instance: an idle one, provisioned
// first, else a new one (cold, started by the caller with spawn), or
// refuses it with a *ThrottleError.
func (p *Pool) acquire(inv *invocation) (in *instance, cold bool, err error) {
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return nil, false, ErrClosed
	}
	if p.busy >= p.cfg.concurrency() {
		p.mu.Unlock()
		reason := ReasonAccount
		if p.cfg.ReservedConcurrency > 0 {
			reason = ReasonReserved
		}
		return nil, false, p.throttle(reason)
	}
	if n := len(p.idleProv); n > 0 {
		in, p.idleProv = p.idleProv[n-1], p.idleProv[:n-1]
	} else if n := len(p.idle); n > 0 {
		in, p.idle = p.idle[n-1], p.idle[:n-1]
	}
	if in != nil {
		in.state = stBusy
		p.hold(in)
		p.signal()
		p.mu.Unlock()
		return in, false, nil
	}
	if !p.bucket.AllowN(p.cfg.Now(), 1) {
		p.mu.Unlock()
		return nil, false, p.throttle(ReasonRate)
	}
	in = p.newInstance(false)
	in.bound = inv
	inv.cold = true
	p.hold(in)
	p.coldStarts++
	p.signal()
	p.mu.Unlock()
	return in, true, nil
}

func (p *Pool) throttle(reason string) error {
	if p.m != nil {
		p.m.throttles.WithLabelValues(p.cfg.Name, reason).Inc()
	}
	return &ThrottleError{Reason: reason, RetryAfter: time.Second}
}

// hold gives in a concurrency slot; p.mu is held.
func (p *Pool) hold(in *instance) {
	in.holds = true
	p.busy++
	if in.prov {
		p.markProv()
		p.provBusy++
	}
}

// unhold takes in's slot back; p.mu is held.
func (p *Pool) unhold(in *instance) {
	if !in.holds {
		return
	}
	in.holds = false
	p.busy--
	if in.prov {
		p.markProv()
		p.provBusy--
	}
}

// markProv folds the provisioned instances' busy time so far into the
// utilisation integral, before provBusy changes; p.mu is held.
func (p *Pool) markProv() {
	now := time.Now()
	p.provArea += time.Duration(p.provBusy) * now.Sub(p.provMark)
	p.provMark = now
}

// newInstance registers a new instance, initialising; p.mu is held.
func (p *Pool) newInstance(prov bool) *instance {
	n := p.seq.Add(1)
	in := &instance{p: p, n: n, name: fmt.Sprintf("%s-%d", p.cfg.Name, n), prov: prov, state: stInit,
		stop: make(chan struct{}), exited: make(chan struct{}), out: &outputLog{}}
	p.live[in] = struct{}{}
	p.wg.Add(1) // done by gone
	p.initing++
	p.starts++
	if prov {
		p.provInit++
		p.provLive++
	}
	return in
}

// toIdle makes a ready instance idle, or stops it when it is retiring;
// p.mu is held. It reports whether the instance must be stopped.
func (p *Pool) toIdle(in *instance) (stop bool) {
	if in.retire || p.closed {
		in.state = stStopping
		return true
	}
	in.state = stIdle
	in.idleSince = p.cfg.Now()
	if in.prov {
		p.idleProv = append(p.idleProv, in)
	} else {
		p.idle = append(p.idle, in)
	}
	return false
}

// removeIdle takes in out of its idle list; p.mu is held.
func (p *Pool) removeIdle(in *instance) {
	list := &p.idle
	if in.prov {
		list = &p.idleProv
	}
	for i, x := range *list {
		if x == in {
			*list = append((*list)[:i], (*list)[i+1:]...)
			return
		}
	}
}

// signal wakes whoever waits for a change of state; p.mu is held.
func (p *Pool) signal() {
	close(p.changed)
	p.changed = make(chan struct{})
}

// poke wakes the provisioner.
func (p *Pool) poke() {
	select {
	case p.kick <- struct{}{}:
	default:
	}
}

// gone is called once per instance, when its process has ended (or never
// started): it frees the instance's slot, fails the invocation it held,
// and releases what it used.
func (p *Pool) gone(in *instance, exitErr error) {
	p.mu.Lock()
	prev := in.state
	if prev == stIdle {
		p.removeIdle(in)
	}
	if prev == stInit {
		p.initing--
		if in.prov {
			p.provInit--
		}
	}
	if in.prov && !in.retire {
		p.provLive--
	}
	p.unhold(in)
	in.state = stDead
	delete(p.live, in)
	var fail *invocation
	ready := in.ready
	if !ready {
		fail = in.bound
		if in.prov && !p.closed && !in.retire {
			p.provFail++
			p.provWait = time.Now().Add(min(30*time.Second, time.Second<<min(p.provFail-1, 5)))
		}
	} else {
		fail = in.cur
	}
	in.cur = nil
	pending := in.pending
	in.pending = nil
	initErr := in.initErr
	stopping := prev == stStopping || p.closed
	p.signal()
	p.mu.Unlock()

	close(in.exited)
	if in.srv != nil {
		_ = in.srv.Close()
	}
	if in.slot != nil {
		in.slot.remove()
	}
	why := "exit status 0"
	if exitErr != nil {
		why = exitErr.Error()
	}
	if fail != nil {
		if !ready {
			if initErr == nil {
				initErr = errorPayload("Runtime.ExitError", fmt.Sprintf("RequestId: %s Error: Runtime exited with error: %s", fail.id, why))
			}
			in.complete(fail, &Result{Payload: initErr.payload, FunctionError: "Unhandled", ErrorType: initErr.typ})
		} else {
			in.complete(fail, in.errorResult(fail, "Runtime.ExitError", fmt.Sprintf("RequestId: %s Error: Runtime exited with error: %s", fail.id, why)))
		}
	}
	// An invocation given to the instance that it never asked for.
	if pending != nil {
		in.complete(pending, in.errorResult(pending, "Runtime.ExitError", fmt.Sprintf("RequestId: %s Error: Runtime exited with error: %s", pending.id, why)))
	}
	switch {
	case !ready && !stopping:
		attrs := []any{"function", p.cfg.Name, "instance", in.name, "provisioned", in.prov, "exit", why}
		if initErr != nil {
			attrs = append(attrs, "error", string(initErr.payload))
		}
		p.cfg.Log.Warn("function instance failed to initialise", append(attrs, "output", in.out.last(2048))...)
		p.count(stopInitError)
	case !stopping:
		p.cfg.Log.Warn("function instance exited", "function", p.cfg.Name, "instance", in.name, "exit", why,
			"output", in.out.last(2048))
		p.count(stopCrash)
	}
	if in.prov {
		p.poke()
	}
	p.wg.Done()
}

// kill ends in's process (and any process it started), for reason.
func (p *Pool) kill(in *instance, reason string) {
	in.stopOnce.Do(func() { close(in.stop) })
	if pid := in.pid.Load(); pid > 0 {
		_ = killGroup(int(pid))
	}
	if reason != "" {
		p.count(reason)
	}
}

// Reasons an instance stops, for the metrics.
const (
	stopIdle      = "idle"
	stopTimeout   = "timeout"
	stopCrash     = "crash"
	stopInitError = "init_error"
	stopScaleIn   = "scale_in"
	stopShutdown  = "shutdown"
)

func (p *Pool) count(reason string) {
	if p.m != nil {
		p.m.stops.WithLabelValues(p.cfg.Name, reason).Inc()
	}
}

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
	p.markProv()
	u := 0.0
	if elapsed := real.Sub(p.lastTick); elapsed > 0 && p.provLive > 0 {
		u = float64(p.provArea) / (float64(elapsed) * float64(p.provLive))
	}
	p.provArea, p.lastTick, p.utilNow = 0, real, min(u, 1)
	stop := p.setProvisioned(p.scaler.tick(now, min(u, 1)))
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
}

// Stats returns the pool's state now.
func (p *Pool) Stats() Stats {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.statsLocked()
}

func (p *Pool) statsLocked() Stats {
	s := Stats{Provisioned: p.provWant, ProvisionedMin: p.scaler.min, ProvisionedMax: p.scaler.max,
		Utilization: p.utilNow, ConcurrencyCap: p.cfg.concurrency(), Starts: p.starts, ColdStarts: p.coldStarts}
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

// Close stops every instance (invocations in flight fail) and the pool's
// work, and removes its control groups. It is safe to call twice.
func (p *Pool) Close() error {
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return nil
	}
	p.closed = true
	close(p.done)
	all := make([]*instance, 0, len(p.live))
	for in := range p.live {
		all = append(all, in)
		if in.state == stIdle || in.state == stInit {
			in.state = stStopping
		}
	}
	p.idle, p.idleProv = nil, nil
	p.signal()
	p.mu.Unlock()
	for _, in := range all {
		p.kill(in, stopShutdown)
	}
	p.wg.Wait()
	if p.cg != nil {
		p.cg.close()
	}
	if p.m != nil {
		p.m.detach(p)
	}
	return nil
}

// Name returns the function's name.
func (p *Pool) Name() string { return p.cfg.Name }

// ARN returns the function's ARN.
func (p *Pool) ARN() string { return p.arn }

// errorPayload is a function error object as Lambda writes one.
func errorPayload(typ, msg string) *initError {
	b, _ := json.Marshal(struct {
		Type    string `json:"errorType"`
		Message string `json:"errorMessage"`
	}{typ, msg})
	return &initError{typ: typ, payload: b}
}
