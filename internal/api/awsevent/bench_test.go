package awsevent_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/aws/aws-lambda-go/events"

	"github.com/surgehq/surge/internal/api/awsevent"
)

// itemJSON is a typical small item, as the service answers a read.
const itemJSON = `{"id":"0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b","version":3,"createdAt":"2026-01-02T03:04:05.678Z","updatedAt":"2026-01-02T03:04:05.678Z","name":"widget","price":12.5,"tags":["a","b"]}`

// itemHandler answers like GET /items/{id}: a JSON body and a few headers.
var itemHandler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
	io.Copy(io.Discard, r.Body)
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Etag", `"r3"`)
	h.Set("Cache-Control", "no-cache")
	h.Set("X-Request-Id", "abc")
	w.Write([]byte(itemJSON))
})

func benchV1Event() *events.APIGatewayProxyRequest {
	r := httptest.NewRequest("GET", "https://api.example/items/0190a1b2?x=1", nil)
	r.Header.Set("Accept", "application/json")
	r.Header.Set("User-Agent", "surge-load")
	r.Header.Set("X-Api-Key", "k1")
	r.SetPathValue("id", "0190a1b2")
	ev, err := awsevent.NewV1Event(r, awsevent.EventOptions{Resource: "/items/{id}", PathParameters: map[string]string{"id": "0190a1b2"}, Tenant: "acme"})
	if err != nil {
		panic(err)
	}
	return ev
}

func benchV2Event(b *testing.B) *events.APIGatewayV2HTTPRequest {
	ev := &events.APIGatewayV2HTTPRequest{Version: "2.0", RouteKey: "GET /items/{id}", RawPath: "/items/0190a1b2",
		RawQueryString: "x=1", Headers: map[string]string{"accept": "application/json", "user-agent": "surge-load", "host": "api.example"},
		PathParameters: map[string]string{"id": "0190a1b2"}}
	ev.RequestContext.HTTP.Method = "GET"
	ev.RequestContext.HTTP.SourceIP = "203.0.113.9"
	ev.RequestContext.RequestID = "id"
	ev.RequestContext.Stage = "$default"
	ev.RequestContext.Authorizer = &events.APIGatewayV2HTTPRequestContextAuthorizerDescription{Lambda: map[string]any{"tenant": "acme"}}
	return ev
}

func BenchmarkRequestFromV1(b *testing.B) {
	ev := benchV1Event()
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := awsevent.RequestFromV1(ctx, ev, awsevent.RequestOptions{}); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkServeV1(b *testing.B) {
	ev := benchV1Event()
	a := awsevent.New(itemHandler)
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if resp := a.ServeV1(ctx, ev); resp.StatusCode != 200 {
			b.Fatal(resp.StatusCode)
		}
	}
}

// BenchmarkInvokeV1JSON is the whole path of a Lambda invocation besides
// the runtime API: decode the event, serve it, encode the response.
func BenchmarkInvokeV1JSON(b *testing.B) {
	payload, _ := json.Marshal(benchV1Event())
	a := awsevent.New(itemHandler)
	ctx := context.Background()
	b.SetBytes(int64(len(payload)))
	b.ReportAllocs()
	for b.Loop() {
		var ev events.APIGatewayProxyRequest
		if err := json.Unmarshal(payload, &ev); err != nil {
			b.Fatal(err)
		}
		if _, err := json.Marshal(a.ServeV1(ctx, &ev)); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkServeV2(b *testing.B) {
	ev := benchV2Event(b)
	a := awsevent.New(itemHandler)
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if resp := a.ServeV2(ctx, ev); resp.StatusCode != 200 {
			b.Fatal(resp.StatusCode)
		}
	}
}

func BenchmarkServeFunctionURL(b *testing.B) {
	v2 := benchV2Event(b)
	ev := &events.LambdaFunctionURLRequest{Version: "2.0", RawPath: v2.RawPath, RawQueryString: v2.RawQueryString, Headers: v2.Headers}
	ev.RequestContext.HTTP.Method = "GET"
	ev.RequestContext.HTTP.SourceIP = "203.0.113.9"
	a := awsevent.New(itemHandler)
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if resp := a.ServeFunctionURL(ctx, ev); resp.StatusCode != 200 {
			b.Fatal(resp.StatusCode)
		}
	}
}

func BenchmarkServeV1Binary(b *testing.B) {
	ev := benchV1Event()
	body := []byte(strings.Repeat("\x00\x01binary", 512))
	a := awsevent.New(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/octet-stream")
		w.Write(body)
	}))
	ctx := context.Background()
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		if resp := a.ServeV1(ctx, ev); !resp.IsBase64Encoded {
			b.Fatal("not base64")
		}
	}
}

func BenchmarkNewV1Event(b *testing.B) {
	body := `{"name":"widget","price":12.5,"tags":["a","b"]}`
	r := httptest.NewRequest("POST", "https://api.example/items", nil)
	r.Header.Set("Content-Type", "application/json")
	r.Header.Set("X-Api-Key", "k1")
	b.ReportAllocs()
	for b.Loop() {
		r.Body = io.NopCloser(strings.NewReader(body))
		if _, err := awsevent.NewV1Event(r, awsevent.EventOptions{Resource: "/items", RequestID: "id", Tenant: "acme"}); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkWriteV1Response(b *testing.B) {
	resp := &events.APIGatewayProxyResponse{StatusCode: 200,
		Headers:           map[string]string{"Content-Type": "application/json", "Etag": `"r3"`, "X-Request-Id": "abc"},
		MultiValueHeaders: map[string][]string{"Vary": {"Accept", "X-Api-Key"}},
		Body:              itemJSON}
	w := &discardWriter{h: make(http.Header)}
	b.ReportAllocs()
	for b.Loop() {
		clear(w.h)
		if err := awsevent.WriteV1Response(w, resp); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkDetect(b *testing.B) {
	payload, _ := json.Marshal(benchV1Event())
	b.SetBytes(int64(len(payload)))
	b.ReportAllocs()
	for b.Loop() {
		if awsevent.Detect(payload) != awsevent.KindV1 {
			b.Fatal("not v1")
		}
	}
}

// discardWriter is a ResponseWriter that keeps nothing, so that a
// benchmark measures the conversion rather than a recorder.
type discardWriter struct{ h http.Header }

func (w *discardWriter) Header() http.Header         { return w.h }
func (w *discardWriter) WriteHeader(int)             {}
func (w *discardWriter) Write(p []byte) (int, error) { return len(p), nil }
