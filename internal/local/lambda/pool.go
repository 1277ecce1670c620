package lambda

import (
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

	"golang.org/x/time/rate"

	"github.com/surgehq/surge/internal/local/autoscaling"
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
	obs    Observer
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
	scaler   *autoscaling.Scaler
	changed  chan struct{} // closed and replaced at every change of state
	// provHeld is provBusy's instance-time since lastTick, for the
	// utilisation target tracking reads; held is busy's since the pool
	// started.
	provHeld   heldTime
	held       heldTime
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
		obs:     cfg.Observer,
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
	if p.scaler, err = autoscaling.New(cfg.scaling(), now); err != nil {
		return nil, fmt.Errorf("lambda: function %s: %w", cfg.Name, err)
	}
	p.provWant = p.scaler.Desired()
	p.lastTick = time.Now()
	p.provHeld.mark, p.held.mark = p.lastTick, p.lastTick
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
	if cfg.Account != nil && cfg.ReservedConcurrency > 0 {
		if err := cfg.Account.reserve(cfg.ReservedConcurrency); err != nil {
			if p.cg != nil {
				p.cg.close()
			}
			return nil, fmt.Errorf("lambda: function %s: %w", cfg.Name, err)
		}
	}
	if p.obs == nil {
		p.obs = Observers(nil)
	}
	p.obs.PoolStarted(p)
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
	var b [16]byte
	_, _ = rand.Read(b[:])
	stream := time.Now().UTC().Format("2006/01/02") + "/[" + Latest + "]" + hex.EncodeToString(b[:])
	return append(env, "AWS_LAMBDA_RUNTIME_API="+api, "AWS_LAMBDA_INITIALIZATION_TYPE="+InitType(in.prov),
		"AWS_LAMBDA_LOG_STREAM_NAME="+stream)
}

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
	shared := p.cfg.Account != nil && p.cfg.ReservedConcurrency == 0
	if shared && !p.cfg.Account.take() {
		p.mu.Unlock()
		return nil, false, p.throttle(ReasonAccount)
	}
	if n := len(p.idleProv); n > 0 {
		in, p.idleProv = p.idleProv[n-1], p.idleProv[:n-1]
	} else if n := len(p.idle); n > 0 {
		in, p.idle = p.idle[n-1], p.idle[:n-1]
	}
	if in != nil {
		in.state = stBusy
		p.hold(in)
		in.account = shared
		p.signal()
		p.mu.Unlock()
		return in, false, nil
	}
	if !p.bucket.AllowN(p.cfg.Now(), 1) {
		p.mu.Unlock()
		if shared {
			p.cfg.Account.give()
		}
		return nil, false, p.throttle(ReasonRate)
	}
	in = p.newInstance(false)
	in.bound = inv
	inv.cold = true
	p.hold(in)
	in.account = shared
	p.coldStarts++
	p.signal()
	p.mu.Unlock()
	return in, true, nil
}

func (p *Pool) throttle(reason string) error {
	p.obs.Throttled(p, reason)
	return &ThrottleError{Reason: reason, RetryAfter: time.Second}
}

// hold gives in a concurrency slot; p.mu is held.
func (p *Pool) hold(in *instance) {
	in.holds = true
	now := time.Now()
	p.held.fold(p.busy, now)
	p.busy++
	if in.prov {
		p.provHeld.fold(p.provBusy, now)
		p.provBusy++
	}
}

// unhold takes in's slot back; p.mu is held.
func (p *Pool) unhold(in *instance) {
	if !in.holds {
		return
	}
	in.holds = false
	if in.account {
		in.account = false
		p.cfg.Account.give()
	}
	now := time.Now()
	p.held.fold(p.busy, now)
	p.busy--
	if in.prov {
		p.provHeld.fold(p.provBusy, now)
		p.provBusy--
	}
}

// heldTime is the integral of a count of instances over real time: the
// instance-time they held.
type heldTime struct {
	area time.Duration // up to mark
	mark time.Time
}

// fold adds the time of n instances since the mark to the area, up to
// now, and moves the mark there; call it before n changes.
func (h *heldTime) fold(n int, now time.Time) {
	h.area = h.at(n, now)
	h.mark = now
}

// at is the area up to now, with n instances since the mark.
func (h *heldTime) at(n int, now time.Time) time.Duration {
	return h.area + time.Duration(n)*now.Sub(h.mark)
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
	// Lambda retries an on-demand init that passed its limit once, within
	// the invocation it was started for, bounded by the function timeout:
	// a new instance takes over the invocation and its concurrency slot.
	var re *instance
	if prev == stStopping && in.initTimeout && !in.ready && !in.prov && !in.retry && !p.closed &&
		in.bound != nil && in.pending == in.bound {
		re = p.newInstance(false)
		re.retry, re.bound = true, in.bound
		re.holds, re.account = in.holds, in.account
		in.holds, in.account = false, false
		in.bound, in.pending = nil, nil
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
	exited := func(inv *invocation) string {
		return fmt.Sprintf("RequestId: %s Error: Runtime exited with error: %s", inv.id, why)
	}
	if fail != nil {
		if !ready {
			if initErr == nil {
				initErr = errorPayload("Runtime.ExitError", exited(fail))
			}
			res := &Result{Payload: initErr.payload, FunctionError: "Unhandled", ErrorType: initErr.typ}
			in.failLog(fail, res, exited(fail), initErr.typ)
			in.complete(fail, res)
		} else {
			res := in.errorResult(fail, "Runtime.ExitError", exited(fail))
			in.failLog(fail, res, exited(fail), "Runtime.ExitError")
			in.complete(fail, res)
		}
	}
	// An invocation given to the instance that it never asked for.
	if pending != nil {
		res := in.errorResult(pending, "Runtime.ExitError", exited(pending))
		in.failLog(pending, res, exited(pending), "Runtime.ExitError")
		in.complete(pending, res)
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
	if re != nil {
		p.cfg.Log.Info("function instance's init retried within its invocation", "function", p.cfg.Name,
			"instance", re.name, "request_id", re.bound.id)
		if err := p.spawn(re); err != nil {
			p.cfg.Log.Error("function instance did not start", "function", p.cfg.Name, "instance", re.name, "err", err)
			re.setInitError("Runtime.InvalidEntrypoint", fmt.Sprintf("RequestId: %s Error: %v", re.bound.id, err))
			p.gone(re, err)
		} else {
			re.deliver(re.bound)
		}
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
	p.obs.InstanceStopped(p, reason)
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
	if p.cfg.Account != nil && p.cfg.ReservedConcurrency > 0 {
		p.cfg.Account.release(p.cfg.ReservedConcurrency)
	}
	if p.cg != nil {
		p.cg.close()
	}
	p.obs.PoolClosed(p)
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
