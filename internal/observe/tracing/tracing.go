// Package tracing traces requests through surge with OpenTelemetry: a
// server span for the gateway, a span for the function (the items
// handler) within it, and a span for each store call within that. Trace
// context comes in, and goes out, in W3C traceparent and AWS X-Ray
// (X-Amzn-Trace-Id) headers, so a trace can begin in a client, or in API
// Gateway and Lambda, and go on here.
//
// Spans are exported over OTLP/HTTP when an endpoint is configured. When
// none is, there is no tracer provider: the server leaves these
// middlewares and the store hook out, so tracing off costs nothing.
package tracing

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"

	"github.com/surgehq/surge/internal/api/rest"
	"github.com/surgehq/surge/internal/items"
	"github.com/surgehq/surge/internal/store"
)

// Propagator names for Config.Propagators.
const (
	PropagatorW3C  = "tracecontext"
	PropagatorXRay = "xray"
)

// ScopeName is the instrumentation scope of surge's spans.
const ScopeName = "github.com/surgehq/surge"

// Config configures tracing.
type Config struct {
	// Endpoint is the OTLP/HTTP endpoint URL
	// (http://127.0.0.1:4318/v1/traces); empty turns tracing off.
	Endpoint string
	// SampleRatio is the share of new traces recorded, 0 to 1; a trace
	// continued from a caller follows the caller's decision.
	SampleRatio float64
	// Propagators are the header formats read and written, in order:
	// PropagatorW3C and PropagatorXRay.
	Propagators []string
	// ServiceName names the service in the spans' resource.
	ServiceName string
}

// Tracing is an active tracer provider with its propagators.
type Tracing struct {
	tp     trace.TracerProvider
	tracer trace.Tracer
	prop   propagation.TextMapPropagator
	// shutdown flushes and stops the exporter.
	shutdown func(context.Context) error
}

// Propagator returns the composite propagator of names.
func Propagator(names []string) (propagation.TextMapPropagator, error) {
	var ps []propagation.TextMapPropagator
	for _, n := range names {
		switch strings.TrimSpace(n) {
		case PropagatorW3C:
			ps = append(ps, propagation.TraceContext{})
		case PropagatorXRay:
			ps = append(ps, XRay{})
		case "":
		default:
			return nil, fmt.Errorf("propagator %q: want %s or %s", n, PropagatorW3C, PropagatorXRay)
		}
	}
	return propagation.NewCompositeTextMapPropagator(ps...), nil
}

// Setup starts tracing as cfg says: an OTLP/HTTP exporter, a batching
// tracer provider and the propagators. It returns nil when cfg.Endpoint is
// empty: tracing is off.
func Setup(ctx context.Context, cfg Config) (*Tracing, error) {
	if cfg.Endpoint == "" {
		return nil, nil
	}
	if cfg.SampleRatio < 0 || cfg.SampleRatio > 1 {
		return nil, fmt.Errorf("trace sample ratio %v: want 0 to 1", cfg.SampleRatio)
	}
	prop, err := Propagator(cfg.Propagators)
	if err != nil {
		return nil, err
	}
	exp, err := otlptracehttp.New(ctx, otlptracehttp.WithEndpointURL(cfg.Endpoint))
	if err != nil {
		return nil, fmt.Errorf("OTLP exporter for %s: %w", cfg.Endpoint, err)
	}
	name := cfg.ServiceName
	if name == "" {
		name = "surge"
	}
	res := resource.NewSchemaless(attribute.String("service.name", name))
	tp := sdktrace.NewTracerProvider(
		sdktrace.WithBatcher(exp),
		sdktrace.WithResource(res),
		sdktrace.WithSampler(sdktrace.ParentBased(sdktrace.TraceIDRatioBased(cfg.SampleRatio))),
	)
	return New(tp, prop, tp.Shutdown), nil
}

// New returns Tracing over a tracer provider (a test's, with an in-memory
// exporter); shutdown may be nil.
func New(tp trace.TracerProvider, prop propagation.TextMapPropagator, shutdown func(context.Context) error) *Tracing {
	if shutdown == nil {
		shutdown = func(context.Context) error { return nil }
	}
	return &Tracing{tp: tp, tracer: tp.Tracer(ScopeName), prop: prop, shutdown: shutdown}
}

// Shutdown flushes the spans not yet exported and stops the exporter.
func (t *Tracing) Shutdown(ctx context.Context) error {
	if err := t.shutdown(ctx); err != nil {
		return fmt.Errorf("tracing shutdown: %w", err)
	}
	return nil
}

// Gateway returns the middleware of the gateway's server span: it
// continues a trace from the request's headers, and names the span by the
// route. It must come after rest.Routes and rest.RequestID.
func (t *Tracing) Gateway() rest.Middleware {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			ctx := t.prop.Extract(r.Context(), propagation.HeaderCarrier(r.Header))
			ri := rest.Info(ctx)
			route := "unmatched"
			if ri != nil && ri.Route != "" {
				route = ri.Route
			}
			ctx, span := t.tracer.Start(ctx, "gateway "+route, trace.WithSpanKind(trace.SpanKindServer),
				trace.WithAttributes(
					attribute.String("http.request.method", r.Method),
					attribute.String("url.path", r.URL.Path),
					attribute.String("http.route", route),
				))
			defer span.End()
			next.ServeHTTP(w, r.WithContext(ctx))
			if ri == nil {
				return
			}
			span.SetAttributes(attribute.Int("http.response.status_code", ri.Status), attribute.String("surge.request_id", ri.ID))
			if ri.Tenant != "" {
				span.SetAttributes(attribute.String("surge.tenant", ri.Tenant))
			}
			if ri.Status >= 500 {
				span.SetStatus(codes.Error, http.StatusText(ri.Status))
			}
		})
	}
}

// Handler returns the middleware of the function's span, innermost in the
// chain, around the items handler.
func (t *Tracing) Handler() rest.Middleware {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			ctx, span := t.tracer.Start(r.Context(), "handler", trace.WithSpanKind(trace.SpanKindInternal))
			defer span.End()
			next.ServeHTTP(w, r.WithContext(ctx))
		})
	}
}

// StoreHook returns the store.Hook that makes every store call a span
// (Ping excepted).
func (t *Tracing) StoreHook() store.Hook { return storeHook{t.tracer} }

type storeHook struct{ tracer trace.Tracer }

func (h storeHook) Before(ctx context.Context, op store.Op) context.Context {
	if op.Name == store.OpPing {
		return ctx
	}
	attrs := []attribute.KeyValue{attribute.String("surge.tenant", op.Key.Tenant), attribute.String("surge.item_id", op.Key.ID)}
	switch op.Name {
	case store.OpGet:
		attrs = append(attrs, attribute.Bool("surge.consistent", op.Consistent))
	case store.OpList:
		attrs = append(attrs, attribute.Int("surge.limit", op.Limit))
	}
	ctx, _ = h.tracer.Start(ctx, "store."+op.Name, trace.WithSpanKind(trace.SpanKindClient), trace.WithAttributes(attrs...))
	return ctx
}

// After records err (expected outcomes, such as not found, are not span
// errors) and ends the span.
func (h storeHook) After(ctx context.Context, op store.Op, err error) error {
	if op.Name == store.OpPing {
		return err
	}
	span := trace.SpanFromContext(ctx)
	if err != nil {
		code := items.ErrorCode(err)
		span.SetAttributes(attribute.String("surge.error_code", code))
		if code == items.EINTERNAL || code == items.EUNAVAILABLE {
			span.SetStatus(codes.Error, code)
		}
	}
	span.End()
	return err
}

// ShutdownTimeout bounds the flush of spans at exit.
const ShutdownTimeout = 5 * time.Second
