package lambda

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"time"

	"github.com/google/uuid"

	"github.com/surgehq/surge/internal/api/rest"
)

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
	// MaxMemory is the most memory the instance had used by then, in
	// bytes (Lambda's Max Memory Used: its cgroup's peak, else its
	// process's peak RSS), where the pool has an Observer or a LogSink;
	// else 0.
	MaxMemory int64
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

// LimitSource returns the X-Limit-Source value of the throttle:
// lambda.start-rate for the start-rate bucket, lambda.concurrency for
// reserved concurrency or the account's limit.
func (e *ThrottleError) LimitSource() string {
	if e.Reason == ReasonRate {
		return rest.LimitLambdaStartRate
	}
	return rest.LimitLambdaConcurrency
}

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
