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
// and function URL events, through package awsevent; and direct invocations
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

	"github.com/surgehq/surge/internal/api/awsevent"
	"github.com/surgehq/surge/internal/api/itemsapi"
	"github.com/surgehq/surge/internal/api/rest"
	"github.com/surgehq/surge/internal/items"
	"github.com/surgehq/surge/internal/observe/servertiming"
)

// Function is the Lambda function. It implements lambda.Handler, so the
// runtime hands it each event's raw payload, which the adapter inspects
// before decoding it as the event it is, and sends back the bytes it
// returns.
type Function struct {
	cfg     *Config
	log     *slog.Logger
	api     *itemsapi.Handler
	adapter *awsevent.Adapter
	// warm is set by the first invocation; until then an invocation is a
	// cold start (unless the instance was provisioned).
	warm atomic.Bool
}

// New builds the function over store: the same itemsapi handler
// as `surge serve`, behind the parts of its middleware that a function
// needs, the same code as the gateway's (package rest): Server-Timing,
// routes, request ids, the access log and panic recovery. The gateway's
// own parts are not linked: they bring caches and limiters a function
// does not use, and a function has no listener to expose metrics on.
func New(cfg *Config, store items.Store, log *slog.Logger) *Function {
	f := &Function{cfg: cfg, log: log}
	f.api = itemsapi.New(store,
		itemsapi.Table(cfg.Table),
		itemsapi.CacheControl(cfg.CacheControl),
		itemsapi.OnError(func(r *http.Request, err error) {
			id := ""
			if ri := rest.Info(r.Context()); ri != nil {
				id = ri.ID
			}
			log.Error("request failed", "aws_request_id", awsRequestID(r.Context()),
				"request_id", id, "method", r.Method, "path", r.URL.Path, "err", err)
		}),
	)
	f.adapter = f.serve(f.api)
	return f
}

// serve returns the adapter that serves events with h behind the
// function's middleware, outermost first.
func (f *Function) serve(h http.Handler) *awsevent.Adapter {
	h = rest.Chain(h,
		servertiming.Middleware,
		rest.Routes(itemsapi.Routes()),
		rest.RequestID(rest.RequestIDConfig{Fallback: gatewayRequestID}),
		markColdStart,
		rest.AccessLog(rest.AccessLogConfig{Log: f.log, Attrs: accessAttrs, InfoOn5xx: true}),
		rest.Recover(rest.RecoverConfig{Log: f.log, Attrs: awsAttrs, Buffered: true}),
	)
	return awsevent.New(h,
		awsevent.WithAPIKeyTenant(f.cfg.APIKeyTenant),
		awsevent.WithDirect(f.direct))
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

// gatewayRequestID is the id of a request whose client gave none: API
// Gateway's request id, when it is a sane header value.
func gatewayRequestID(r *http.Request) string {
	if in := awsevent.FromContext(r.Context()); in != nil && gatewayID(in.RequestID) {
		return in.RequestID
	}
	return ""
}

// markColdStart marks a cold start's response with X-Cold-Start.
func markColdStart(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if cold, _ := r.Context().Value(coldKey{}).(bool); cold {
			w.Header().Set("X-Cold-Start", "true")
		}
		next.ServeHTTP(w, r)
	})
}

// accessAttrs are the attributes of the function's access log line: the
// gateway's, with the AWS request id, the event's kind, the tenant and
// whether the invocation was a cold start; the duration is Server-Timing's
// total.
func accessAttrs(r *http.Request, ri *rest.RequestInfo, _ time.Duration) []slog.Attr {
	ctx := r.Context()
	kind := ""
	if in := awsevent.FromContext(ctx); in != nil {
		kind = in.Kind.String()
	}
	cold, _ := ctx.Value(coldKey{}).(bool)
	var total time.Duration
	if rec := servertiming.FromContext(ctx); rec != nil {
		total = time.Since(rec.Start())
	}
	return []slog.Attr{
		slog.String("aws_request_id", awsRequestID(ctx)),
		slog.String("request_id", ri.ID),
		slog.String("kind", kind),
		slog.String("tenant", items.TenantFrom(ctx)),
		slog.String("method", r.Method),
		slog.String("route", ri.Route),
		slog.String("path", r.URL.Path),
		slog.Int("status", ri.Status),
		slog.Bool("cold_start", cold),
		slog.Float64("duration_ms", ms(total)),
	}
}

// awsAttrs adds the AWS request id to a panic's log line.
func awsAttrs(r *http.Request) []slog.Attr {
	return []slog.Attr{slog.String("aws_request_id", awsRequestID(r.Context()))}
}

// awsRequestID returns the Lambda request id of the invocation ctx
// belongs to, or "".
func awsRequestID(ctx context.Context) string {
	if lc, ok := lambdacontext.FromContext(ctx); ok {
		return lc.AwsRequestID
	}
	return ""
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
