// Package function is surge's AWS Lambda function: the items service of
// `surge serve` (package itemsapi over an items.Store) answering Lambda
// events. Two programs run it: cmd/bootstrap, the executable deployed to
// AWS Lambda, which opens the DynamoDB store; and `surge function`, which
// runs the same code as a local function instance under surge's Lambda
// stand-in (package lambda) and can also open the SQLite file that the
// other instances share. The store is chosen by the Opener each program
// passes to Run, so that this package links no store at all, and the
// Lambda build links no SQLite.
//
// It answers three kinds of event, told apart by one look at the raw
// payload: API Gateway REST API (v1 proxy) events, HTTP API (payload 2.0)
// and function URL events, through package apigw; and direct invocations
// with the original application's event {"operation", "tableName",
// "payload"}, answered through itemsapi's dispatcher as the original
// Python function answered them: {"statusCode", "headers", "body"}.
package function

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"runtime/debug"
	"sync/atomic"
	"time"

	"github.com/aws/aws-lambda-go/lambdacontext"
	"github.com/google/uuid"

	"github.com/surgehq/surge/internal/apigw"
	"github.com/surgehq/surge/internal/items"
	"github.com/surgehq/surge/internal/itemsapi"
	"github.com/surgehq/surge/internal/timing"
)

// Function is the Lambda function. It implements lambda.Handler, so the
// runtime hands it each event's raw payload, which the adapter inspects
// before decoding it as the event it is, and sends back the bytes it
// returns.
type Function struct {
	cfg     *Config
	log     *slog.Logger
	api     *itemsapi.Handler
	adapter *apigw.Adapter
	// routes resolves a request's route pattern for the log line.
	routes *http.ServeMux
	// warm is set by the first invocation; until then an invocation is a
	// cold start (unless the instance was provisioned).
	warm atomic.Bool
}

// New builds the function over store: the same itemsapi handler
// as `surge serve`, behind the parts of its middleware that a function
// needs (Server-Timing, request ids, access log, panic recovery). The
// gateway's own middleware is not linked: it brings Prometheus, whose
// registration at init a cold start would pay for and which a function
// has no listener to expose.
func New(cfg *Config, store items.Store, log *slog.Logger) *Function {
	f := &Function{cfg: cfg, log: log, routes: http.NewServeMux()}
	f.api = itemsapi.New(store,
		itemsapi.Table(cfg.Table),
		itemsapi.CacheControl(cfg.CacheControl),
		itemsapi.OnError(func(r *http.Request, err error) {
			log.Error("request failed", "aws_request_id", awsRequestID(r.Context()),
				"request_id", r.Header.Get(requestIDHeader), "method", r.Method, "path", r.URL.Path, "err", err)
		}),
	)
	for _, rt := range itemsapi.Routes() {
		f.routes.HandleFunc(rt.Method+" "+rt.Pattern, func(http.ResponseWriter, *http.Request) {})
	}
	f.adapter = f.serve(f.api)
	return f
}

// serve returns the adapter that serves events with h behind the
// function's middleware, outermost first: Server-Timing, request id and
// access log, panic recovery.
func (f *Function) serve(h http.Handler) *apigw.Adapter {
	return apigw.New(timing.Middleware(f.access(f.recover(h))),
		apigw.WithAPIKeyTenant(f.cfg.APIKeyTenant),
		apigw.WithErrorWriter(itemsapi.WriteError),
		apigw.WithDirect(f.direct))
}

type coldKey struct{}

// Invoke implements lambda.Handler: the adapter inspects the payload once
// to pick its kind (a REST API event, an HTTP API or function URL event,
// or else a direct invocation with the original function's event
// {"operation", "tableName", "payload"}, answered as the original answered
// it). The first invocation of an instance that was not provisioned is
// its cold start.
func (f *Function) Invoke(ctx context.Context, payload []byte) ([]byte, error) {
	if !f.warm.Swap(true) && !f.cfg.Provisioned {
		ctx = context.WithValue(ctx, coldKey{}, true)
	}
	return f.adapter.Invoke(ctx, payload)
}

// direct answers a direct invocation through itemsapi's dispatcher,
// exactly as the original function's return value.
func (f *Function) direct(ctx context.Context, payload []byte) (out []byte, err error) {
	defer func() {
		// As for HTTP events: a panic is logged and fails this invocation
		// only (a function error), not the instance.
		if v := recover(); v != nil {
			f.log.Error("panic", "aws_request_id", awsRequestID(ctx), "kind", "direct",
				"panic", fmt.Sprint(v), "stack", string(debug.Stack()))
			out, err = nil, fmt.Errorf("internal error")
		}
	}()
	start := time.Now()
	cold, _ := ctx.Value(coldKey{}).(bool)
	res := f.api.Dispatch(ctx, f.cfg.DirectTenant, payload)
	if res.Err != nil {
		f.log.Error("direct invocation failed", "aws_request_id", awsRequestID(ctx), "err", res.Err)
	}
	f.log.Info("invocation", "aws_request_id", awsRequestID(ctx), "kind", "direct",
		"status", res.Status, "cold_start", cold, "duration_ms", ms(time.Since(start)))
	return res.AppendLambdaJSON(make([]byte, 0, 64+len(res.Body))), nil
}

// requestIDHeader carries a request's id both ways, as in `surge serve`.
const requestIDHeader = "X-Request-Id"

// access gives each request its id (the client's X-Request-Id when sane,
// else API Gateway's request id, else a new one), marks a cold start's
// response with X-Cold-Start, and logs one line per request with the AWS
// request id.
func (f *Function) access(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx := r.Context()
		id := r.Header.Get(requestIDHeader)
		if !saneID(id) {
			id = ""
			if in := apigw.FromContext(ctx); in != nil && gatewayID(in.RequestID) {
				id = in.RequestID
			} else if u, err := uuid.NewV7(); err == nil {
				id = u.String()
			}
			r.Header.Set(requestIDHeader, id)
		}
		w.Header().Set(requestIDHeader, id)
		cold, _ := ctx.Value(coldKey{}).(bool)
		if cold {
			w.Header().Set("X-Cold-Start", "true")
		}
		sw := &statusWriter{ResponseWriter: w}
		next.ServeHTTP(sw, r)

		if !f.log.Enabled(ctx, slog.LevelInfo) {
			return
		}
		kind := ""
		if in := apigw.FromContext(ctx); in != nil {
			kind = in.Kind.String()
		}
		_, route := f.routes.Handler(r)
		status := sw.status
		if status == 0 {
			status = http.StatusOK
		}
		var total time.Duration
		if rec := timing.FromContext(ctx); rec != nil {
			total = time.Since(rec.Start())
		}
		f.log.LogAttrs(ctx, slog.LevelInfo, "request",
			slog.String("aws_request_id", awsRequestID(ctx)),
			slog.String("request_id", id),
			slog.String("kind", kind),
			slog.String("tenant", items.TenantFrom(ctx)),
			slog.String("method", r.Method),
			slog.String("route", route),
			slog.String("path", r.URL.Path),
			slog.Int("status", status),
			slog.Bool("cold_start", cold),
			slog.Float64("duration_ms", ms(total)))
	})
}

// recover turns a panic into a logged stack and a 500 `Internal error.`,
// so one bad request does not end the instance (the runtime would report
// the panic and exit, and the next request would pay a cold start).
func (f *Function) recover(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer func() {
			v := recover()
			if v == nil {
				return
			}
			f.log.Error("panic", "aws_request_id", awsRequestID(r.Context()), "method", r.Method,
				"path", r.URL.Path, "panic", fmt.Sprint(v), "stack", string(debug.Stack()))
			itemsapi.WriteError(w, fmt.Errorf("panic: %v", v))
		}()
		next.ServeHTTP(w, r)
	})
}

// statusWriter remembers the status a handler wrote.
type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(p []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.ResponseWriter.Write(p)
}

// Unwrap lets http.ResponseController reach the writer below.
func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// awsRequestID returns the Lambda request id of the invocation ctx
// belongs to, or "".
func awsRequestID(ctx context.Context) string {
	if lc, ok := lambdacontext.FromContext(ctx); ok {
		return lc.AwsRequestID
	}
	return ""
}

// saneID reports whether a client's request id may be used as is: 1 to
// 128 letters, digits and ".-_:", the rule of `surge serve`.
func saneID(id string) bool {
	if id == "" || len(id) > 128 {
		return false
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9',
			c == '.', c == '-', c == '_', c == ':':
		default:
			return false
		}
	}
	return true
}

// gatewayID reports whether API Gateway's request id may be the request
// id: it is not the client's, so it only needs to be a sane header value
// (HTTP API ids end in "=", which saneID refuses).
func gatewayID(id string) bool {
	if id == "" || len(id) > 128 {
		return false
	}
	for i := 0; i < len(id); i++ {
		if id[i] <= ' ' || id[i] > '~' {
			return false
		}
	}
	return true
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
