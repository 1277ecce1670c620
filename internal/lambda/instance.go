package lambda

import (
	"bufio"
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
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
	retire    bool        // stop when next idle
	ready     bool        // the runtime asked for its first event
	bound     *invocation // the invocation this instance was started for
	cur       *invocation // given to the runtime and not yet answered
	idleSince time.Time
	initErr   *initError
	initDur   time.Duration

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
	timer      *time.Timer
	outStart   int64

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
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return fmt.Errorf("runtime API listener: %w", err)
	}
	cmd := exec.Command(p.cfg.Command[0], p.cfg.Command[1:]...)
	cmd.Env = p.instanceEnv(in, ln.Addr().String())
	cmd.Dir = p.dir
	// Its own process group: a terminal's ^C reaches surge, which stops
	// the instances itself, and a kill reaches whatever the function
	// started. No parent-death signal: it would fire when the forking
	// thread ends (see slot.start). An instance whose surge died exits by
	// itself when its Runtime API refuses it.
	cmd.SysProcAttr = newProcAttr()
	r, w, err := os.Pipe()
	if err != nil {
		ln.Close()
		return fmt.Errorf("output pipe: %w", err)
	}
	cmd.Stdout, cmd.Stderr = w, w
	in.cmd = cmd
	if p.cg != nil {
		s, err := p.cg.slot(in.name, p.cfg.MemoryMB)
		if err != nil {
			p.limitFailed(err)
		} else {
			in.slot = s
		}
	}
	// Everything the Runtime API's handlers read is set by now; what is
	// set later (the start time, the pid) is read under p.mu or atomically.
	in.srv = &http.Server{Handler: in, ReadHeaderTimeout: 10 * time.Second,
		ErrorLog: slog.NewLogLogger(p.cfg.Log.Handler(), slog.LevelDebug)}
	go func() { _ = in.srv.Serve(ln) }()

	p.mu.Lock()
	in.started = time.Now()
	p.mu.Unlock()
	if in.slot != nil {
		err = in.slot.start(cmd)
	} else {
		err = cmd.Start()
	}
	w.Close()
	if err != nil {
		r.Close()
		_ = in.srv.Close()
		return fmt.Errorf("start %s: %w", p.cfg.Command[0], err)
	}
	in.pid.Store(int64(cmd.Process.Pid))
	select {
	case <-in.stop:
		_ = killGroup(cmd.Process.Pid) // stopped while it started (kill found no pid)
	default:
	}
	go in.copyOutput(r)
	go func() {
		err := cmd.Wait()
		r.Close()
		p.gone(in, err)
	}()
	time.AfterFunc(p.cfg.InitTimeout, func() { in.initTimedOut() })
	return nil
}

var limitWarned sync.Once

// limitFailed says once that an instance runs without its limits.
func (p *Pool) limitFailed(err error) {
	limitWarned.Do(func() {
		p.cfg.Log.Warn("a function instance runs without CPU and memory limits", "function", p.cfg.Name, "err", err)
	})
}

// initTimedOut ends an instance still initialising after InitTimeout.
func (in *instance) initTimedOut() {
	p := in.p
	p.mu.Lock()
	if in.ready || in.state != stInit {
		p.mu.Unlock()
		return
	}
	in.initErr = errorPayload("Sandbox.Timedout", fmt.Sprintf("Error: Init phase timed out after %.2f seconds", p.cfg.InitTimeout.Seconds()))
	in.state = stStopping
	p.initing--
	if in.prov {
		p.provInit--
	}
	p.signal()
	p.mu.Unlock()
	p.kill(in, stopTimeout)
}

// Paths of the Runtime API.
const (
	runtimePrefix = "/2018-06-01/runtime/"
	nextPath      = runtimePrefix + "invocation/next"
	invPrefix     = runtimePrefix + "invocation/"
	initErrorPath = runtimePrefix + "init/error"
)

// Headers of the Runtime API.
const (
	hdrRequestID     = "Lambda-Runtime-Aws-Request-Id"
	hdrDeadline      = "Lambda-Runtime-Deadline-Ms"
	hdrFunctionARN   = "Lambda-Runtime-Invoked-Function-Arn"
	hdrTraceID       = "Lambda-Runtime-Trace-Id"
	hdrClientContext = "Lambda-Runtime-Client-Context"
	hdrErrorType     = "Lambda-Runtime-Function-Error-Type"
	hdrErrorBody     = "Lambda-Runtime-Function-Error-Body"
)

// ServeHTTP is the instance's Runtime API.
func (in *instance) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	path := r.URL.Path
	switch {
	case path == nextPath && r.Method == http.MethodGet:
		in.next(w, r)
	case path == initErrorPath && r.Method == http.MethodPost:
		in.initError(w, r)
	case strings.HasPrefix(path, invPrefix) && r.Method == http.MethodPost:
		id, verb, ok := strings.Cut(path[len(invPrefix):], "/")
		switch {
		case ok && verb == "response":
			in.response(w, r, id)
		case ok && verb == "error":
			in.invocationError(w, r, id)
		default:
			runtimeError(w, http.StatusNotFound, "InvalidRequest", "no such path")
		}
	default:
		runtimeError(w, http.StatusNotFound, "InvalidRequest", "no such path")
	}
}

func runtimeError(w http.ResponseWriter, status int, typ, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	w.Write(errorPayload(typ, msg).payload)
}

// next is GET /runtime/invocation/next: the runtime is ready for an
// event. Its first call ends the init. Then it waits for the next event.
// (An instance is free for the next invocation as soon as it answers one:
// an invocation given to it before it asks waits as pending.)
func (in *instance) next(w http.ResponseWriter, r *http.Request) {
	p := in.p
	var stop bool
	var unanswered *invocation
	p.mu.Lock()
	switch in.state {
	case stInit:
		in.ready = true
		in.initDur = time.Since(in.started)
		p.initing--
		if in.prov {
			p.provInit--
			p.provFail = 0
		}
		if in.holds {
			in.state = stBusy // a cold start: its invocation is pending
		} else {
			stop = p.toIdle(in)
		}
		if p.m != nil {
			p.m.initDuration.WithLabelValues(p.cfg.Name, initKind(in.prov)).Observe(in.initDur.Seconds())
		}
		p.signal()
		if in.prov {
			defer p.poke()
		}
	case stIdle, stBusy:
		if unanswered = in.cur; unanswered != nil {
			// Asked for the next event without answering this one.
			in.cur = nil
			unanswered.timer.Stop()
			p.unhold(in)
			stop = p.toIdle(in)
			p.signal()
		}
	default:
		stop = true
	}
	var inv *invocation
	var wt *waiter
	if !stop {
		if inv = in.pending; inv != nil {
			in.pending = nil
		} else {
			wt = &waiter{w: w, done: make(chan struct{})}
			in.waiter = wt
		}
	}
	p.mu.Unlock()
	if unanswered != nil {
		in.complete(unanswered, in.errorResult(unanswered, "Runtime.InvalidResponse",
			fmt.Sprintf("RequestId: %s Error: the runtime asked for the next event without a response", unanswered.id)))
	}
	switch {
	case stop:
		p.kill(in, stopScaleIn)
		panic(http.ErrAbortHandler) // no event: hang up
	case inv != nil:
		in.dispatch(w, inv)
		return
	}
	select {
	case <-wt.done:
		return
	case <-in.stop:
	case <-r.Context().Done():
	}
	p.mu.Lock()
	mine := in.waiter == wt
	if mine {
		in.waiter = nil
	}
	p.mu.Unlock()
	if !mine {
		<-wt.done // an event is being written to w: let it be
		return
	}
	panic(http.ErrAbortHandler) // no event: hang up
}

// deliver gives inv to in: to its runtime's waiting /next at once, from
// this goroutine (which saves the handler's wake-up on the way), else as
// pending for its next /next. An instance that is gone fails it.
func (in *instance) deliver(inv *invocation) {
	p := in.p
	p.mu.Lock()
	if in.state == stDead {
		p.mu.Unlock()
		in.complete(inv, in.errorResult(inv, "Runtime.ExitError", fmt.Sprintf("RequestId: %s Error: Runtime exited", inv.id)))
		return
	}
	wt := in.waiter
	in.waiter = nil
	if wt == nil {
		in.pending = inv
		p.mu.Unlock()
		return
	}
	p.mu.Unlock()
	in.dispatch(wt.w, inv)
	close(wt.done)
}

// dispatch gives inv to the runtime as the answer to its /next.
func (in *instance) dispatch(w http.ResponseWriter, inv *invocation) {
	p := in.p
	now := time.Now()
	deadline := now.Add(p.cfg.Timeout)
	p.mu.Lock()
	in.cur = inv
	inv.dispatched = now
	inv.outStart = in.out.written()
	inv.timer = time.AfterFunc(p.cfg.Timeout, func() { in.timedOut(inv) })
	p.mu.Unlock()
	h := w.Header()
	h[hdrRequestID] = []string{inv.id}
	h[hdrDeadline] = []string{strconv.FormatInt(deadline.UnixMilli(), 10)}
	h[hdrFunctionARN] = []string{inv.arn}
	h[hdrTraceID] = []string{inv.trace}
	if inv.clientContext != "" {
		if cc, err := base64.StdEncoding.DecodeString(inv.clientContext); err == nil {
			h[hdrClientContext] = []string{string(cc)}
		}
	}
	h["Content-Type"] = []string{"application/json"}
	h["Content-Length"] = []string{strconv.Itoa(len(inv.payload))}
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(inv.payload)
	if f, ok := w.(http.Flusher); ok {
		f.Flush() // now, not when the handler returns
	}
}

// timedOut ends an invocation at its deadline: Lambda's Task timed out.
func (in *instance) timedOut(inv *invocation) {
	p := in.p
	p.mu.Lock()
	if in.cur != inv {
		p.mu.Unlock()
		return
	}
	in.cur = nil
	in.state = stStopping
	p.signal()
	p.mu.Unlock()
	res := in.errorResult(inv, "Sandbox.Timedout",
		fmt.Sprintf("RequestId: %s Error: Task timed out after %.2f seconds", inv.id, p.cfg.Timeout.Seconds()))
	p.cfg.Log.Warn("function timed out; its instance is stopped", "function", p.cfg.Name, "instance", in.name,
		"request_id", inv.id, "timeout", p.cfg.Timeout)
	in.complete(inv, res)
	p.kill(in, stopTimeout)
}

// take returns the invocation the runtime answers, if id is the one it
// was given, and frees the instance for the next one (or says to stop it
// when it is retiring).
func (in *instance) take(id string) (inv *invocation, stop bool) {
	p := in.p
	p.mu.Lock()
	defer p.mu.Unlock()
	inv = in.cur
	if inv == nil || inv.id != id || in.state != stBusy {
		return nil, false
	}
	in.cur = nil
	inv.timer.Stop()
	p.unhold(in)
	stop = p.toIdle(in)
	p.signal()
	return inv, stop
}

// response is POST /runtime/invocation/{id}/response.
func (in *instance) response(w http.ResponseWriter, r *http.Request, id string) {
	body, err := io.ReadAll(io.LimitReader(r.Body, MaxPayload+1))
	if err != nil {
		runtimeError(w, http.StatusBadRequest, "InvalidRequest", "read the response: "+err.Error())
		return
	}
	inv, stop := in.take(id)
	if inv == nil {
		runtimeError(w, http.StatusBadRequest, "InvalidRequestID", "Invalid request ID")
		return
	}
	if stop {
		defer in.p.kill(in, stopScaleIn)
	}
	res := &Result{Payload: body}
	switch {
	case r.Trailer.Get(hdrErrorType) != "":
		// The function failed while its response was streamed.
		typ := r.Trailer.Get(hdrErrorType)
		res = &Result{FunctionError: "Unhandled", ErrorType: typ, Payload: errorPayload(typ, "").payload}
		if b, err := base64.StdEncoding.DecodeString(r.Trailer.Get(hdrErrorBody)); err == nil && len(b) > 0 {
			res.Payload = b
		}
	case len(body) > MaxPayload:
		res = in.errorResult(inv, "Function.ResponseSizeTooLarge",
			fmt.Sprintf("Response payload size exceeded maximum allowed payload size (%d bytes).", MaxPayload))
		in.complete(inv, res)
		runtimeError(w, http.StatusRequestEntityTooLarge, "Function.ResponseSizeTooLarge", "response too large")
		return
	}
	in.complete(inv, res)
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusAccepted)
	_, _ = w.Write([]byte(`{"status":"OK"}`))
}

// invocationError is POST /runtime/invocation/{id}/error: the function
// failed; its error object is the invocation's answer.
func (in *instance) invocationError(w http.ResponseWriter, r *http.Request, id string) {
	body, err := io.ReadAll(io.LimitReader(r.Body, MaxPayload+1))
	if err != nil {
		runtimeError(w, http.StatusBadRequest, "InvalidRequest", "read the error: "+err.Error())
		return
	}
	inv, stop := in.take(id)
	if inv == nil {
		runtimeError(w, http.StatusBadRequest, "InvalidRequestID", "Invalid request ID")
		return
	}
	if stop {
		defer in.p.kill(in, stopScaleIn)
	}
	typ := r.Header.Get(hdrErrorType)
	if typ == "" {
		typ = errorTypeOf(body)
	}
	if len(body) == 0 || len(body) > MaxPayload {
		body = errorPayload(typ, "").payload
	}
	in.complete(inv, &Result{Payload: body, FunctionError: "Unhandled", ErrorType: typ})
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusAccepted)
	_, _ = w.Write([]byte(`{"status":"OK"}`))
}

// initError is POST /runtime/init/error: the runtime's init failed. The
// error is kept for the invocation that waits for this instance, and the
// instance is stopped (the runtime should exit by itself).
func (in *instance) initError(w http.ResponseWriter, r *http.Request) {
	p := in.p
	body, _ := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	typ := r.Header.Get(hdrErrorType)
	if typ == "" {
		typ = errorTypeOf(body)
	}
	if typ == "" {
		typ = "Runtime.Unknown"
	}
	p.mu.Lock()
	if in.ready {
		p.mu.Unlock()
		runtimeError(w, http.StatusForbidden, "InvalidStateTransition", "init has ended")
		return
	}
	in.initErr = &initError{typ: typ, payload: body}
	if !json.Valid(body) {
		in.initErr = errorPayload(typ, string(body))
	}
	p.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusAccepted)
	_, _ = w.Write([]byte(`{"status":"OK"}`))
	// Give the runtime a moment to exit by itself, as it should.
	time.AfterFunc(500*time.Millisecond, func() {
		select {
		case <-in.exited:
		default:
			p.kill(in, "")
		}
	})
}

// errorResult is a function error of typ for inv.
func (in *instance) errorResult(inv *invocation, typ, msg string) *Result {
	return &Result{Payload: errorPayload(typ, msg).payload, FunctionError: "Unhandled", ErrorType: typ}
}

// complete fills in how inv ran, hands res to its caller (once), and
// counts it.
func (in *instance) complete(inv *invocation, res *Result) {
	if !inv.finished.CompareAndSwap(false, true) {
		return
	}
	p := in.p
	res.RequestID = inv.id
	res.Cold = inv.cold
	res.Provisioned = in.prov
	p.mu.Lock()
	if inv.cold {
		res.InitDuration = in.initDur
	}
	dispatched := inv.dispatched
	p.mu.Unlock()
	if !dispatched.IsZero() {
		res.Duration = time.Since(dispatched)
	}
	if inv.tail || p.cfg.Log.Enabled(context.Background(), slog.LevelDebug) {
		report := in.report(inv, res)
		if inv.tail {
			var b bytes.Buffer
			fmt.Fprintf(&b, "START RequestId: %s Version: %s\n", inv.id, Latest)
			b.Write(in.out.since(inv.outStart))
			fmt.Fprintf(&b, "END RequestId: %s\n%s\n", inv.id, report)
			res.Log = tail4K(b.Bytes())
		}
		p.cfg.Log.Debug(report, "function", p.cfg.Name, "instance", in.name)
	}
	if inv.onResult != nil && inv.callback.CompareAndSwap(0, 1) {
		inv.onResult(res)
	}
	inv.done <- res
	if p.m != nil {
		p.mu.Lock()
		prov := p.provWant > 0
		p.mu.Unlock()
		p.m.record(p.cfg.Name, res, prov)
	}
}

// report is Lambda's REPORT line for a finished invocation.
func (in *instance) report(inv *invocation, res *Result) string {
	ms := func(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
	billed := (res.Duration + time.Millisecond - 1) / time.Millisecond
	s := fmt.Sprintf("REPORT RequestId: %s\tDuration: %.2f ms\tBilled Duration: %d ms\tMemory Size: %d MB\tMax Memory Used: %d MB\t",
		inv.id, ms(res.Duration), billed, in.p.cfg.MemoryMB, in.maxMemory()>>20)
	if res.Cold {
		s += fmt.Sprintf("Init Duration: %.2f ms\t", ms(res.InitDuration))
	}
	return s
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

func initKind(prov bool) string {
	if prov {
		return "provisioned-concurrency"
	}
	return "on-demand"
}

// copyOutput reads the instance's standard output and error, line by
// line, into its log and, at debug level, surge's.
func (in *instance) copyOutput(r io.Reader) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 4096), 1<<20)
	log := in.p.cfg.Log
	debug := log.Enabled(context.Background(), slog.LevelDebug)
	for sc.Scan() {
		line := sc.Bytes()
		in.out.write(line)
		if debug {
			log.Debug("function output", "function", in.p.cfg.Name, "instance", in.name, "line", string(line))
		}
	}
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

// since returns what was written after offset, as far as it is kept.
func (o *outputLog) since(offset int64) []byte {
	o.mu.Lock()
	defer o.mu.Unlock()
	n := o.total - offset
	if n > int64(len(o.buf)) {
		n = int64(len(o.buf))
	}
	if n <= 0 {
		return nil
	}
	return bytes.Clone(o.buf[int64(len(o.buf))-n:])
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
