package lambda

import (
	"bytes"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/surgehq/surge/internal/api/listen"
)

// instState is where an instance is in its life.
type instState int

const (
	stInit     instState = iota // process started, runtime not yet asking for events
	stIdle                      // waiting in /next, in an idle list
	stBusy                      // given an invocation it has not answered yet
	stStopping                  // being killed
	stDead                      // gone
)

// instance is one function process and its Runtime API endpoint.
type instance struct {
	p    *Pool
	n    int64
	name string
	prov bool

	// Guarded by p.mu.
	state     instState
	holds     bool        // holds a concurrency slot
	account   bool        // and a unit of its Account's unreserved concurrency
	retire    bool        // stop when next idle
	ready     bool        // the runtime asked for its first event
	bound     *invocation // the invocation this instance was started for
	cur       *invocation // given to the runtime and not yet answered
	idleSince time.Time
	initErr   *initError
	initDur   time.Duration

	// initTimeout: its init passed its limit; retry: it was started again
	// for its bound invocation after an on-demand init passed its limit.
	// Guarded by p.mu.
	initTimeout, retry bool

	// pending is an invocation given to the instance before its runtime
	// asked for it; waiter is the runtime's /next waiting for one. At most
	// one is set. Guarded by p.mu.
	pending  *invocation
	waiter   *waiter
	stop     chan struct{} // closed when the instance is being stopped
	stopOnce sync.Once
	exited   chan struct{} // closed when gone

	cmd     *exec.Cmd
	pid     atomic.Int64
	started time.Time // guarded by p.mu
	srv     *http.Server
	slot    *slot
	out     *outputLog

	// The log: pw is the pool's write end of the output pipe, for
	// markers (see logs.go); marks are the markers written and not yet
	// met by the reader, by sequence number. Guarded by logMu, which also
	// keeps an invocation's END marker before the next one's START.
	logMu    sync.Mutex
	orderMu  sync.Mutex // held from an answer's take to its END marker, and around a START marker
	pw       *os.File
	marks    map[uint64]*logMark
	markSeq  uint64
	readDone chan struct{} // closed when the output has been read

	memMu   sync.Mutex
	memAt   time.Time
	memPeak int64
}

// waiter is a /next request waiting for an event. Whoever takes it from
// the instance writes the event to w, then closes done; until done, the
// handler does not return, so w stays usable.
type waiter struct {
	w    http.ResponseWriter
	done chan struct{}
}

// initError is what an instance's init failed with, as a function error.
type initError struct {
	typ     string
	payload []byte
}

// invocation is one event on its way through an instance.
type invocation struct {
	id            string
	payload       []byte
	trace         string
	clientContext string
	arn           string
	tail          bool

	// Set under p.mu by the instance that runs it.
	cold       bool
	dispatched time.Time
	ended      time.Time // when its answer arrived
	timer      *time.Timer
	// startMark and endMark are its log markers, when its log is
	// wanted (Pool.logsOn).
	startMark, endMark *logMark

	done     chan *Result // capacity 1
	finished atomic.Bool
	// onResult is InvokeOptions.OnResult; callback is 0 until either
	// complete claims it (1) to call onResult, or the caller gives up (2).
	onResult func(*Result)
	callback atomic.Int32
}

// setInitError records why the instance's init failed.
func (in *instance) setInitError(typ, msg string) {
	in.p.mu.Lock()
	in.initErr = errorPayload(typ, msg)
	in.p.mu.Unlock()
}

// spawn starts in's Runtime API endpoint and process.
func (p *Pool) spawn(in *instance) error {
	ln, err := listen.Listen("127.0.0.1:0")
	if err != nil {
		return fmt.Errorf("runtime API listener: %w", err)
	}
	cmd := exec.Command(p.cfg.Command[0], p.cfg.Command[1:]...)
	cmd.Env = p.instanceEnv(in, ln.Addr().String())
	cmd.Dir = p.dir
	// Its own process group: a terminal's ^C reaches surge, which stops
	// the instances itself, and a kill reaches whatever the function
	// started. On Linux a parent-death signal kills it when surge dies,
	// even of SIGKILL (see startProcess); elsewhere an instance whose
	// surge died exits by itself when its Runtime API refuses it.
	cmd.SysProcAttr = newProcAttr()
	r, w, err := os.Pipe()
	if err != nil {
		ln.Close()
		return fmt.Errorf("output pipe: %w", err)
	}
	cmd.Stdout, cmd.Stderr = w, w
	in.cmd = cmd
	in.readDone = make(chan struct{})
	if p.cg != nil {
		s, err := p.cg.slot(in.name, p.cfg.MemoryMB, time.Duration(p.cfg.InitCPU*float64(cfsPeriod)))
		if err != nil {
			p.limitFailed(err)
		} else {
			in.slot = s
		}
	}
	// Everything the Runtime API's handlers read is set by now; what is
	// set later (the start time, the pid) is read under p.mu or atomically.
	in.srv = p.cfg.RuntimeAPI.Server(in, nil)
	in.srv.ErrorLog = slog.NewLogLogger(p.cfg.Log.Handler(), slog.LevelDebug)
	go func() { _ = in.srv.Serve(ln) }()

	p.mu.Lock()
	in.started = time.Now()
	p.mu.Unlock()
	err = startProcess(cmd, in.slot)
	if err != nil {
		w.Close()
		r.Close()
		close(in.readDone)
		_ = in.srv.Close()
		return fmt.Errorf("start %s: %w", p.cfg.Command[0], err)
	}
	// The pool keeps the pipe's write end, for the log's markers, until
	// the process has ended.
	in.logMu.Lock()
	in.pw = w
	in.logMu.Unlock()
	in.pid.Store(int64(cmd.Process.Pid))
	select {
	case <-in.stop:
		_ = killGroup(cmd.Process.Pid) // stopped while it started (kill found no pid)
	default:
	}
	go in.readOutput(r)
	go func() {
		err := cmd.Wait()
		in.closeOutput(r)
		p.gone(in, err)
	}()
	limit := p.cfg.InitTimeout
	switch {
	case in.prov:
		limit = p.cfg.ProvisionedInitTimeout
	case in.retry:
		// Lambda's second try runs within the invocation, bounded by the
		// function timeout.
		limit = p.cfg.Timeout
	}
	time.AfterFunc(limit, func() { in.initTimedOut(limit) })
	return nil
}

var limitWarned sync.Once

// limitFailed says once that an instance runs without its limits.
func (p *Pool) limitFailed(err error) {
	limitWarned.Do(func() {
		p.cfg.Log.Warn("a function instance runs without CPU and memory limits", "function", p.cfg.Name, "err", err)
	})
}

// initTimedOut ends an instance still initialising after limit
// (InitTimeout, or ProvisionedInitTimeout for a provisioned one).
func (in *instance) initTimedOut(limit time.Duration) {
	p := in.p
	p.mu.Lock()
	if in.ready || in.state != stInit {
		p.mu.Unlock()
		return
	}
	in.initErr = errorPayload("Sandbox.Timedout", fmt.Sprintf("Error: Init phase timed out after %.2f seconds", limit.Seconds()))
	if in.retry && in.bound != nil {
		in.initErr = errorPayload("Sandbox.Timedout", fmt.Sprintf("RequestId: %s Error: Task timed out after %.2f seconds", in.bound.id, limit.Seconds()))
	}
	in.initTimeout = true
	in.state = stStopping
	p.initing--
	if in.prov {
		p.provInit--
	}
	p.signal()
	p.mu.Unlock()
	// The instance is reaped as stopping, which logs nothing: say why here.
	p.cfg.Log.Warn("function instance's init timed out", "function", p.cfg.Name, "instance", in.name,
		"provisioned", in.prov, "retry", in.retry, "limit", limit.String(), "output", in.out.last(2048))
	p.kill(in, stopTimeout)
}

// maxMemory is the most memory the instance used, in bytes, or 0.
func (in *instance) maxMemory() int64 {
	if in.slot != nil {
		if n := in.slot.maxMemory(); n > 0 {
			return n
		}
	}
	pid := in.pid.Load()
	if pid == 0 {
		return 0
	}
	b, err := os.ReadFile("/proc/" + strconv.FormatInt(pid, 10) + "/status")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			kb, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
			return kb << 10
		}
	}
	return 0
}

func tail4K(b []byte) []byte {
	if len(b) > 4096 {
		b = b[len(b)-4096:]
	}
	return b
}

// InitType is the initialization type of an instance, as Lambda names it
// in AWS_LAMBDA_INITIALIZATION_TYPE: "provisioned-concurrency" or
// "on-demand".
func InitType(prov bool) string {
	if prov {
		return "provisioned-concurrency"
	}
	return "on-demand"
}

// outputLog keeps the last outputKeep bytes an instance wrote.
type outputLog struct {
	mu    sync.Mutex
	buf   []byte
	total int64 // bytes ever written
}

const outputKeep = 8 << 10

func (o *outputLog) write(line []byte) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.buf = append(o.buf, line...)
	o.buf = append(o.buf, '\n')
	o.total += int64(len(line) + 1)
	if len(o.buf) > 2*outputKeep {
		o.buf = append(o.buf[:0], o.buf[len(o.buf)-outputKeep:]...)
	}
}

func (o *outputLog) written() int64 {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.total
}

// between returns what was written from offset from to offset to, as
// far as it is kept.
func (o *outputLog) between(from, to int64) []byte {
	o.mu.Lock()
	defer o.mu.Unlock()
	first := o.total - int64(len(o.buf)) // the offset of buf[0]
	from, to = max(from, first), min(to, o.total)
	if to <= from {
		return nil
	}
	return bytes.Clone(o.buf[from-first : to-first])
}

// last returns the last n bytes written, as text.
func (o *outputLog) last(n int) string {
	o.mu.Lock()
	defer o.mu.Unlock()
	b := o.buf
	if len(b) > n {
		b = b[len(b)-n:]
	}
	return string(b)
}

// errorTypeOf reads errorType from a function error object.
func errorTypeOf(body []byte) string {
	var e struct {
		Type string `json:"errorType"`
	}
	_ = json.Unmarshal(body, &e)
	return e.Type
}
