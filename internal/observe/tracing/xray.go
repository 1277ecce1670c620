package tracing

import (
	"context"
	"encoding/hex"
	"strings"

	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"
)

// XRayHeader is the header AWS X-Ray propagates a trace in, which API
// Gateway and Lambda read and write.
const XRayHeader = "X-Amzn-Trace-Id"

// XRay propagates span contexts in AWS X-Ray's header:
//
//	X-Amzn-Trace-Id: Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1
//
// The Root's 8 hex digits of epoch seconds and 24 random digits are the 32
// of an OpenTelemetry trace id. Written here because
// go.opentelemetry.io/contrib/propagators/aws is deprecated without a
// successor.
type XRay struct{}

var _ propagation.TextMapPropagator = XRay{}

// Inject implements propagation.TextMapPropagator.
func (XRay) Inject(ctx context.Context, carrier propagation.TextMapCarrier) {
	sc := trace.SpanContextFromContext(ctx)
	if !sc.IsValid() {
		return
	}
	tid, sid := sc.TraceID(), sc.SpanID()
	var b strings.Builder
	b.Grow(80)
	b.WriteString("Root=1-")
	b.WriteString(hex.EncodeToString(tid[:4]))
	b.WriteByte('-')
	b.WriteString(hex.EncodeToString(tid[4:]))
	b.WriteString(";Parent=")
	b.WriteString(hex.EncodeToString(sid[:]))
	if sc.IsSampled() {
		b.WriteString(";Sampled=1")
	} else {
		b.WriteString(";Sampled=0")
	}
	carrier.Set(XRayHeader, b.String())
}

// Extract implements propagation.TextMapPropagator: a valid header makes
// its span context the remote parent; anything else leaves ctx as it is.
func (XRay) Extract(ctx context.Context, carrier propagation.TextMapCarrier) context.Context {
	sc, ok := ParseXRay(carrier.Get(XRayHeader))
	if !ok {
		return ctx
	}
	return trace.ContextWithRemoteSpanContext(ctx, sc)
}

// Fields implements propagation.TextMapPropagator.
func (XRay) Fields() []string { return []string{XRayHeader} }

// ParseXRay parses an X-Amzn-Trace-Id value into a remote span context. It
// needs a Root and a Parent; Sampled=1 sets the sampled flag, and other
// fields (Lineage, Self, ...) are ignored.
func ParseXRay(v string) (trace.SpanContext, bool) {
	var (
		tid     trace.TraceID
		sid     trace.SpanID
		hasRoot bool
		hasPar  bool
		flags   trace.TraceFlags
	)
	if len(v) > 256 {
		return trace.SpanContext{}, false
	}
	for _, part := range strings.Split(v, ";") {
		k, val, ok := strings.Cut(strings.TrimSpace(part), "=")
		if !ok {
			continue
		}
		switch k {
		case "Root":
			// 1-XXXXXXXX-XXXXXXXXXXXXXXXXXXXXXXXX
			if len(val) != 35 || val[:2] != "1-" || val[10] != '-' {
				return trace.SpanContext{}, false
			}
			if !hexInto(tid[:4], val[2:10]) || !hexInto(tid[4:], val[11:]) {
				return trace.SpanContext{}, false
			}
			hasRoot = true
		case "Parent":
			if len(val) != 16 || !hexInto(sid[:], val) {
				return trace.SpanContext{}, false
			}
			hasPar = true
		case "Sampled":
			if val == "1" {
				flags = trace.FlagsSampled
			}
		}
	}
	if !hasRoot || !hasPar {
		return trace.SpanContext{}, false
	}
	sc := trace.NewSpanContext(trace.SpanContextConfig{TraceID: tid, SpanID: sid, TraceFlags: flags, Remote: true})
	return sc, sc.IsValid()
}

// hexInto decodes lower- or upper-case hex s into dst, which it must fill.
func hexInto(dst []byte, s string) bool {
	if len(s) != 2*len(dst) {
		return false
	}
	_, err := hex.Decode(dst, []byte(s))
	return err == nil
}
