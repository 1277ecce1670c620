package tracing_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"go.opentelemetry.io/otel/propagation"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"

	"github.com/surgehq/surge/internal/api/itemsapi"
	"github.com/surgehq/surge/internal/api/rest"
	"github.com/surgehq/surge/internal/observe/tracing"
	"github.com/surgehq/surge/internal/store"
	"github.com/surgehq/surge/internal/store/memstore"
)

func TestXRayRoundTrip(t *testing.T) {
	const h = "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1"
	sc, ok := tracing.ParseXRay(h)
	if !ok {
		t.Fatal("valid header refused")
	}
	if got := sc.TraceID().String(); got != "5759e988bd862e3fe1be46a994272793" {
		t.Errorf("trace id: got %s", got)
	}
	if got := sc.SpanID().String(); got != "53995c3f42cd8ad8" || !sc.IsSampled() || !sc.IsRemote() {
		t.Errorf("span id %s sampled %v remote %v", got, sc.IsSampled(), sc.IsRemote())
	}
	carrier := propagation.MapCarrier{}
	tracing.XRay{}.Inject(trace.ContextWithSpanContext(context.Background(), sc), carrier)
	if got := carrier.Get(tracing.XRayHeader); got != h {
		t.Errorf("inject: got %q, want %q", got, h)
	}
	// Extra fields and spaces are fine; Sampled=0 and ? are not sampled.
	sc, ok = tracing.ParseXRay("Self=1-abc; Root=1-5759e988-bd862e3fe1be46a994272793; Parent=53995c3f42cd8ad8; Sampled=?; Lineage=a:1")
	if !ok || sc.IsSampled() {
		t.Errorf("with extra fields: ok %v sampled %v", ok, sc.IsSampled())
	}
	for _, bad := range []string{
		"",
		"Root=1-5759e988-bd862e3fe1be46a994272793",                           // no parent
		"Parent=53995c3f42cd8ad8",                                            // no root
		"Root=2-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8",   // version
		"Root=1-5759e988-bd862e3fe1be46a99427279;Parent=53995c3f42cd8ad8",    // short
		"Root=1-5759e98g-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8",   // not hex
		"Root=1-00000000-000000000000000000000000;Parent=53995c3f42cd8ad8",   // zero trace
		"Root=1-5759e988-bd862e3fe1be46a994272793;Parent=0000000000000000",   // zero span
		"Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8xx", // long parent
		strings.Repeat("x", 300),
	} {
		if _, ok := tracing.ParseXRay(bad); ok {
			t.Errorf("%q: accepted", bad)
		}
	}
}

func FuzzParseXRay(f *testing.F) {
	f.Add("Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1")
	f.Add("Root=1-;Parent=")
	f.Add(";;==;")
	f.Fuzz(func(t *testing.T, v string) {
		sc, ok := tracing.ParseXRay(v)
		if !ok {
			return
		}
		if !sc.IsValid() {
			t.Fatal("accepted an invalid span context")
		}
		// What parses re-encodes to a header that parses to the same.
		c := propagation.MapCarrier{}
		tracing.XRay{}.Inject(trace.ContextWithSpanContext(context.Background(), sc), c)
		sc2, ok := tracing.ParseXRay(c.Get(tracing.XRayHeader))
		if !ok || sc2.TraceID() != sc.TraceID() || sc2.SpanID() != sc.SpanID() || sc2.IsSampled() != sc.IsSampled() {
			t.Fatalf("round trip of %q: got %v", v, sc2)
		}
	})
}

// traced serves itemsapi over memstore behind Routes, Gateway and Handler
// spans, recording spans in memory.
func traced(t *testing.T) (*httptest.Server, *tracetest.InMemoryExporter) {
	exp := tracetest.NewInMemoryExporter()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSyncer(exp))
	t.Cleanup(func() { tp.Shutdown(context.Background()) })
	prop, err := tracing.Propagator([]string{tracing.PropagatorW3C, tracing.PropagatorXRay})
	if err != nil {
		t.Fatal(err)
	}
	tr := tracing.New(tp, prop, nil)
	api := itemsapi.New(store.Instrument(memstore.New(), tr.StoreHook()))
	srv := httptest.NewServer(rest.Chain(api, rest.Routes(itemsapi.Routes()), rest.RequestID(rest.RequestIDConfig{}), tr.Gateway(), tr.Handler()))
	t.Cleanup(srv.Close)
	return srv, exp
}

func get(t *testing.T, url string, kv ...string) {
	t.Helper()
	req, _ := http.NewRequest("GET", url, nil)
	for i := 0; i+1 < len(kv); i += 2 {
		req.Header.Set(kv[i], kv[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
}

func TestSpans(t *testing.T) {
	for name, hdr := range map[string][2]string{
		"W3C":  {"traceparent", "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"},
		"XRay": {tracing.XRayHeader, "Root=1-0af76519-16cd43dd8448eb211c80319c;Parent=b7ad6b7169203331;Sampled=1"},
	} {
		t.Run(name, func(t *testing.T) {
			srv, exp := traced(t)
			get(t, srv.URL+"/items/missing", hdr[0], hdr[1])
			spans := exp.GetSpans()
			byName := map[string]tracetest.SpanStub{}
			for _, s := range spans {
				byName[s.Name] = s
			}
			gw, h, st := byName["gateway GET /items/{id}"], byName["handler"], byName["store.get"]
			if gw.Name == "" || h.Name == "" || st.Name == "" {
				t.Fatalf("got spans %v, want gateway, handler and store.get", names(spans))
			}
			if got := gw.SpanContext.TraceID().String(); got != "0af7651916cd43dd8448eb211c80319c" {
				t.Errorf("trace id: got %s, want the caller's", got)
			}
			if gw.Parent.SpanID().String() != "b7ad6b7169203331" || !gw.Parent.IsRemote() {
				t.Errorf("gateway span's parent: got %v, want the caller's span", gw.Parent.SpanID())
			}
			if h.Parent.SpanID() != gw.SpanContext.SpanID() || st.Parent.SpanID() != h.SpanContext.SpanID() {
				t.Error("spans do not nest gateway -> handler -> store")
			}
			if gw.SpanKind != trace.SpanKindServer || st.SpanKind != trace.SpanKindClient {
				t.Errorf("kinds: gateway %v store %v", gw.SpanKind, st.SpanKind)
			}
			var status int64
			for _, a := range gw.Attributes {
				if a.Key == "http.response.status_code" {
					status = a.Value.AsInt64()
				}
			}
			if status != 404 {
				t.Errorf("gateway span status code: got %d, want 404", status)
			}
		})
	}
	t.Run("NewTrace", func(t *testing.T) {
		srv, exp := traced(t)
		get(t, srv.URL+"/healthz")
		spans := exp.GetSpans()
		if len(spans) != 2 || spans[0].SpanContext.TraceID() != spans[1].SpanContext.TraceID() {
			t.Fatalf("got %v, want a gateway and a handler span of one new trace", names(spans))
		}
	})
}

func names(spans tracetest.SpanStubs) []string {
	var out []string
	for _, s := range spans {
		out = append(out, s.Name)
	}
	return out
}

func TestSetupOff(t *testing.T) {
	tr, err := tracing.Setup(context.Background(), tracing.Config{})
	if err != nil || tr != nil {
		t.Fatalf("no endpoint: got %v, %v; want no tracing", tr, err)
	}
	if _, err := tracing.Setup(context.Background(), tracing.Config{Endpoint: "http://127.0.0.1:1", SampleRatio: 2}); err == nil {
		t.Error("ratio 2: got no error")
	}
	if _, err := tracing.Propagator([]string{"b3"}); err == nil {
		t.Error("propagator b3: got no error")
	}
}
