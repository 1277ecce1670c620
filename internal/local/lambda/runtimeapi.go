package lambda

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"time"
)

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
	var stop, endInit bool
	var unanswered *invocation
	p.mu.Lock()
	switch in.state {
	case stInit:
		in.ready = true
		in.initDur = time.Since(in.started)
		endInit = in.slot != nil && p.cfg.InitCPU > 0
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
		p.obs.InstanceReady(p, in.prov, in.initDur)
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
	if endInit {
		// The init is over: from now on, the memory's share of a vCPU.
		if err := in.slot.setCPU(cpuQuota(p.cfg.MemoryMB)); err != nil {
			p.limitFailed(err)
		}
	}
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
	if p.logsOn(inv) {
		// After the previous invocation's END, before anything the
		// function prints for this one.
		in.orderMu.Lock()
		in.markStart(inv)
		in.orderMu.Unlock()
	}
	now := time.Now()
	deadline := now.Add(p.cfg.Timeout)
	p.mu.Lock()
	in.cur = inv
	inv.dispatched = now
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
	in.endLog(inv, res, fmt.Sprintf("%s %s Task timed out after %.2f seconds",
		time.Now().UTC().Format(logTimeFormat), inv.id, p.cfg.Timeout.Seconds()))
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
	inv.ended = time.Now()
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
	in.orderMu.Lock()
	inv, stop := in.take(id)
	if inv == nil {
		in.orderMu.Unlock()
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
		in.endLog(inv, res)
		in.orderMu.Unlock()
		in.complete(inv, res)
		runtimeError(w, http.StatusRequestEntityTooLarge, "Function.ResponseSizeTooLarge", "response too large")
		return
	}
	in.endLog(inv, res)
	in.orderMu.Unlock()
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
	in.orderMu.Lock()
	inv, stop := in.take(id)
	if inv == nil {
		in.orderMu.Unlock()
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
	res := &Result{Payload: body, FunctionError: "Unhandled", ErrorType: typ}
	in.endLog(inv, res)
	in.orderMu.Unlock()
	in.complete(inv, res)
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

// fill fills in how inv ran: its request id, whether it was a cold
// start (and the init's duration), its Duration up to its answer (or
// now), and the instance's peak memory where someone reads it. It is
// safe to call again.
func (in *instance) fill(inv *invocation, res *Result) {
	p := in.p
	res.RequestID = inv.id
	res.Cold = inv.cold
	res.Provisioned = in.prov
	p.mu.Lock()
	if inv.cold {
		res.InitDuration = in.initDur
	}
	dispatched, ended := inv.dispatched, inv.ended
	p.mu.Unlock()
	if !dispatched.IsZero() {
		if ended.IsZero() {
			ended = time.Now()
		}
		res.Duration = ended.Sub(dispatched)
	}
	if res.MaxMemory == 0 && (p.cfg.Observer != nil || p.logsOn(inv)) && in.pid.Load() > 0 {
		res.MaxMemory = in.peakMemory()
	}
}

// endLog marks inv's END and REPORT, where its log is wanted: for a
// successful answer, before the instance takes its next event (the
// caller holds orderMu).
func (in *instance) endLog(inv *invocation, res *Result, before ...string) {
	if !in.p.logsOn(inv) || inv.endMark != nil {
		return
	}
	in.fill(inv, res)
	in.markEnd(inv, res, before...)
}

// logTimeFormat is the time stamp of the lines Lambda writes itself.
const logTimeFormat = "2006-01-02T15:04:05.000Z"

// complete fills in how inv ran, hands res to its caller (once), and
// counts it. An invocation that asked for its log (Tail) gets it once the
// reader has met its END, so that the function's last lines are in it.
func (in *instance) complete(inv *invocation, res *Result) {
	if !inv.finished.CompareAndSwap(false, true) {
		return
	}
	p := in.p
	in.fill(inv, res)
	if inv.tail {
		if inv.endMark == nil {
			in.endLog(inv, res)
		}
		in.waitMark(inv.endMark, 2*time.Second)
		res.Log = tail4K(in.tailLog(inv))
	}
	if p.cfg.Log.Enabled(context.Background(), slog.LevelDebug) {
		p.cfg.Log.Debug(in.report(inv, res), "function", p.cfg.Name, "instance", in.name)
	}
	if inv.onResult != nil && inv.callback.CompareAndSwap(0, 1) {
		inv.onResult(res)
	}
	inv.done <- res
	p.mu.Lock()
	prov := p.provWant > 0
	p.mu.Unlock()
	p.obs.Invoked(p, res, prov)
}

// tailLog is inv's log: START, what the instance wrote between its
// markers, END and REPORT.
func (in *instance) tailLog(inv *invocation) []byte {
	var b bytes.Buffer
	fmt.Fprintf(&b, "START RequestId: %s Version: %s\n", inv.id, Latest)
	if s, e := inv.startMark, inv.endMark; s != nil && e != nil && chanClosed(s.done) && chanClosed(e.done) {
		b.Write(in.out.between(s.out, e.out))
	}
	if e := inv.endMark; e != nil {
		for _, l := range e.lines() {
			b.WriteString(l)
			b.WriteByte('\n')
		}
	}
	return b.Bytes()
}

func chanClosed(c chan struct{}) bool {
	select {
	case <-c:
		return true
	default:
		return false
	}
}
