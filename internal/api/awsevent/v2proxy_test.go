package awsevent_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"

	"github.com/aws/aws-lambda-go/events"

	"github.com/surgehq/surge/internal/api/awsevent"
	"github.com/surgehq/surge/internal/items"
)

// TestV2EventRoundTrip checks request -> HTTP API event -> request: what a
// handler sees comes back, and the event has payload format 2.0's shape.
func TestV2EventRoundTrip(t *testing.T) {
	mux := http.NewServeMux()
	var ev *events.APIGatewayV2HTTPRequest
	mux.HandleFunc("POST /items/{id}", func(w http.ResponseWriter, r *http.Request) {
		var err error
		if ev, err = awsevent.NewV2Event(r, awsevent.EventOptions{Stage: "prod", Tenant: "acme"}); err != nil {
			t.Fatal(err)
		}
	})
	r := httptest.NewRequest("POST", "/items/abc?limit=3&limit=4", strings.NewReader(`{"a":1}`))
	r.Header.Set("Content-Type", "application/json")
	r.Header.Add("X-Multi", "1")
	r.Header.Add("X-Multi", "2")
	r.Header.Add("Cookie", "a=1; b=2")
	mux.ServeHTTP(httptest.NewRecorder(), r)
	if ev == nil {
		t.Fatal("not routed")
	}
	if ev.Version != "2.0" || ev.RouteKey != "POST /items/{id}" || ev.PathParameters["id"] != "abc" || ev.RawPath != "/prod/items/abc" {
		t.Errorf("got version %q route %q params %v path %q", ev.Version, ev.RouteKey, ev.PathParameters, ev.RawPath)
	}
	if ev.Headers["x-multi"] != "1,2" || ev.QueryStringParameters["limit"] != "3,4" || !reflect.DeepEqual(ev.Cookies, []string{"a=1", "b=2"}) {
		t.Errorf("got headers %v query %v cookies %v", ev.Headers, ev.QueryStringParameters, ev.Cookies)
	}
	if ev.Body != `{"a":1}` || ev.IsBase64Encoded || ev.RequestContext.Authorizer.Lambda["tenant"] != "acme" {
		t.Errorf("got body %q (base64 %v), authorizer %+v", ev.Body, ev.IsBase64Encoded, ev.RequestContext.Authorizer)
	}
	back, err := awsevent.RequestFromV2(context.Background(), jsonTrip[events.APIGatewayV2HTTPRequest](t, ev), awsevent.RequestOptions{})
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(back.Body)
	if back.Method != "POST" || back.URL.Path != "/items/abc" || back.URL.Query()["limit"][0] != "3" || back.PathValue("id") != "abc" ||
		string(b) != `{"a":1}` || items.TenantFrom(back.Context()) != "acme" {
		t.Errorf("got %s %s %s tenant %q", back.Method, back.URL, b, items.TenantFrom(back.Context()))
	}
	// A request no route matched is the $default route.
	plain := httptest.NewRequest("GET", "/x", nil)
	ev2, err := awsevent.NewV2Event(plain, awsevent.EventOptions{})
	if err != nil || ev2.RouteKey != "$default" || ev2.RawPath != "/x" || ev2.RequestContext.Stage != "$default" {
		t.Errorf("got %v %+v", err, ev2)
	}
}

func TestWriteV2Response(t *testing.T) {
	for _, tc := range []struct {
		name, payload string
		status        int
		header        map[string]string
		body          string
		err           bool
	}{
		{"Inferred", `{"hello":"world"}`, 200, map[string]string{"Content-Type": "application/json"}, `{"hello":"world"}`, false},
		{"InferredString", `"pong"`, 200, map[string]string{"Content-Type": "application/json"}, `"pong"`, false},
		{"Structured", `{"statusCode":201,"headers":{"content-type":"text/plain","x-a":"1,2"},"cookies":["c=1"],"body":"made"}`,
			201, map[string]string{"Content-Type": "text/plain", "X-A": "1,2", "Set-Cookie": "c=1"}, "made", false},
		{"StructuredNoType", `{"statusCode":200,"body":"{}"}`, 200, map[string]string{"Content-Type": "application/json"}, "{}", false},
		{"Base64", `{"statusCode":200,"isBase64Encoded":true,"body":"AAE="}`, 200, nil, "\x00\x01", false},
		{"NoContent", `{"statusCode":204,"body":"x"}`, 204, nil, "", false},
		{"NotJSON", `hello`, 0, nil, "", true},
		{"BadStatus", `{"statusCode":9}`, 0, nil, "", true},
		{"BadBase64", `{"statusCode":200,"isBase64Encoded":true,"body":"%%%"}`, 0, nil, "", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rec := httptest.NewRecorder()
			err := awsevent.WriteV2Response(rec, []byte(tc.payload))
			if (err != nil) != tc.err {
				t.Fatalf("got error %v, want error %v", err, tc.err)
			}
			if tc.err {
				if rec.Body.Len() != 0 || len(rec.Header()) != 0 {
					t.Errorf("a malformed response wrote %v %q", rec.Header(), rec.Body)
				}
				return
			}
			if rec.Code != tc.status || rec.Body.String() != tc.body {
				t.Errorf("got %d %q, want %d %q", rec.Code, rec.Body, tc.status, tc.body)
			}
			for k, v := range tc.header {
				if got := rec.Header().Get(k); got != v {
					t.Errorf("header %s: got %q, want %q", k, got, v)
				}
			}
		})
	}
}

// FuzzWriteV2Response: any answer of a function either writes a valid
// HTTP response or nothing and an error.
func FuzzWriteV2Response(f *testing.F) {
	for _, s := range []string{`{"statusCode":200,"body":"x"}`, `[1,2]`, `"s"`, `{"statusCode":"200"}`, `{"statusCode":302,"headers":{"Location":"/"},"cookies":["a\n=b"]}`, `null`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, payload []byte) {
		rec := httptest.NewRecorder()
		if err := awsevent.WriteV2Response(rec, payload); err != nil {
			if rec.Body.Len() != 0 || rec.Flushed {
				t.Fatalf("an error after writing: %v", err)
			}
			return
		}
		if rec.Code < 100 || rec.Code > 599 {
			t.Fatalf("status %d", rec.Code)
		}
		for k, vs := range rec.Header() {
			for _, v := range vs {
				if strings.ContainsAny(k+v, "\r\n") {
					t.Fatalf("header %q: %q", k, v)
				}
			}
		}
	})
}
