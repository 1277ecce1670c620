package awsevent_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/surgehq/surge/internal/api/awsevent"
	"github.com/surgehq/surge/internal/items"
)

// jsonTrip sends v through JSON as the Lambda runtime does, into a new T.
func jsonTrip[T any](t testing.TB, v any) *T {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	out := new(T)
	if err := json.Unmarshal(b, out); err != nil {
		t.Fatal(err)
	}
	return out
}

// gatewayServer is a local gateway in front of a function, as a later
// feature builds it: each request becomes a v1 event (through JSON),
// served by an Adapter over fn, whose response event (through JSON) is
// written back.
func gatewayServer(t *testing.T, fn http.Handler, opt awsevent.EventOptions) *httptest.Server {
	a := awsevent.New(fn)
	mux := http.NewServeMux()
	gw := func(w http.ResponseWriter, r *http.Request) {
		ev, err := awsevent.NewV1Event(r, opt)
		if err != nil {
			http.Error(w, err.Error(), http.StatusRequestEntityTooLarge)
			return
		}
		resp := a.ServeV1(r.Context(), jsonTrip[events.APIGatewayProxyRequest](t, ev))
		if err := awsevent.WriteV1Response(w, jsonTrip[events.APIGatewayProxyResponse](t, resp)); err != nil {
			http.Error(w, err.Error(), http.StatusBadGateway)
		}
	}
	mux.HandleFunc("/items/{id}", gw)
	mux.HandleFunc("/files/{path...}", gw)
	mux.HandleFunc("/", gw)
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv
}

func TestRoundTrip(t *testing.T) {
	type sent struct {
		method, path string
		query        url.Values
		header       http.Header
		body         []byte
	}
	bin := []byte{0, 1, 2, 0xff, 'x', 0x80}
	cases := []struct {
		name       string
		req        sent
		resource   string
		params     map[string]string
		status     int
		respHeader http.Header
		respBody   []byte
	}{
		{
			name: "json create",
			req: sent{method: "POST", path: "/items/a1", query: url.Values{},
				header: http.Header{"Content-Type": {"application/json"}, "Idempotency-Key": {"k1"}},
				body:   []byte(`{"name":"caf\u00e9","n":12345678901234567890}`)},
			resource: "/items/{id}", params: map[string]string{"id": "a1"},
			status:     201,
			respHeader: http.Header{"Content-Type": {"application/json"}, "Etag": {`"r1"`}, "Location": {"/items/a1"}},
			respBody:   []byte(`{"id":"a1"}`),
		},
		{
			name: "multi-value query and headers",
			req: sent{method: "GET", path: "/items", query: url.Values{"tag": {"a", "b c"}, "limit": {"5"}, "e": {""}},
				header: http.Header{"Accept": {"application/json", "text/plain"}, "X-Request-Id": {"r-1"}}},
			resource: "/", params: nil,
			status:     200,
			respHeader: http.Header{"Content-Type": {"application/json"}, "Vary": {"Accept", "X-Api-Key"}, "Set-Cookie": {"a=1", "b=2"}},
			respBody:   []byte(`{"items":[]}`),
		},
		{
			name: "binary both ways",
			req: sent{method: "PUT", path: "/files/a/b.bin", query: url.Values{},
				header: http.Header{"Content-Type": {"application/octet-stream"}}, body: bin},
			resource: "/files/{path+}", params: map[string]string{"path": "a/b.bin"},
			status:     200,
			respHeader: http.Header{"Content-Type": {"image/png"}},
			respBody:   bin,
		},
		{
			name: "not modified",
			req: sent{method: "GET", path: "/items/a1", query: url.Values{},
				header: http.Header{"If-None-Match": {`"r1"`}}},
			resource: "/items/{id}", params: map[string]string{"id": "a1"},
			status:     304,
			respHeader: http.Header{"Etag": {`"r1"`}},
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var got seen
			fn := recorder(&got, []string{"id", "path"}, func(w http.ResponseWriter, r *http.Request) {
				for k, vs := range c.respHeader {
					w.Header()[k] = vs
				}
				w.WriteHeader(c.status)
				w.Write(c.respBody)
			})
			srv := gatewayServer(t, fn, awsevent.EventOptions{Tenant: "acme", Stage: "test", RequestID: "req-1"})

			u := srv.URL + c.req.path
			if len(c.req.query) > 0 {
				u += "?" + c.req.query.Encode()
			}
			req, err := http.NewRequest(c.req.method, u, bytes.NewReader(c.req.body))
			if err != nil {
				t.Fatal(err)
			}
			for k, vs := range c.req.header {
				req.Header[k] = vs
			}
			resp, err := srv.Client().Do(req)
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()

			// What the function saw is what the client sent.
			if got.Method != c.req.method || got.Path != c.req.path || got.Body != string(c.req.body) ||
				got.ContentLength != int64(len(c.req.body)) {
				t.Errorf("function saw %s %s body %q (%d)", got.Method, got.Path, got.Body, got.ContentLength)
			}
			if q, _ := url.ParseQuery(got.RawQuery); !reflect.DeepEqual(q, c.req.query) {
				t.Errorf("function saw query %v, want %v", q, c.req.query)
			}
			for k, vs := range c.req.header {
				if !reflect.DeepEqual(got.Header[k], vs) {
					t.Errorf("function saw %s %q, want %q", k, got.Header[k], vs)
				}
			}
			if got.Host != strings.TrimPrefix(srv.URL, "http://") || got.RemoteAddr != "127.0.0.1:0" {
				t.Errorf("function saw host %q remote %q", got.Host, got.RemoteAddr)
			}
			if got.Tenant != "acme" || got.Info.RequestID != "req-1" || got.Info.Stage != "test" || got.Info.Route != c.resource {
				t.Errorf("function saw tenant %q info %+v, want route %q", got.Tenant, got.Info, c.resource)
			}
			for k, v := range c.params {
				if got.PathValues[k] != v {
					t.Errorf("function saw path value %s=%q, want %q", k, got.PathValues[k], v)
				}
			}

			// What the client got is what the function answered.
			if resp.StatusCode != c.status || !bytes.Equal(body, c.respBody) {
				t.Errorf("client got %d %q, want %d %q", resp.StatusCode, body, c.status, c.respBody)
			}
			for k, vs := range c.respHeader {
				if !reflect.DeepEqual(resp.Header[k], vs) {
					t.Errorf("client got %s %q, want %q", k, resp.Header[k], vs)
				}
			}
		})
	}
}

func TestNewV1Event(t *testing.T) {
	t.Run("Shape", func(t *testing.T) {
		r := httptest.NewRequest("POST", "http://api.example/items?x=1&x=2", strings.NewReader(`{"a":1}`))
		r.Header.Set("Content-Type", "application/json")
		r.Header.Set("User-Agent", "surge-test")
		r.RemoteAddr = "[::1]:5555"
		now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
		ev, err := awsevent.NewV1Event(r, awsevent.EventOptions{Stage: "prod", RequestID: "id1", Now: now,
			APIKeyID: "kid", APIKey: "key", APIID: "api", AccountID: "123"})
		if err != nil {
			t.Fatal(err)
		}
		if ev.HTTPMethod != "POST" || ev.Path != "/items" || ev.Resource != "/{proxy+}" || ev.PathParameters["proxy"] != "items" ||
			ev.Body != `{"a":1}` || ev.IsBase64Encoded {
			t.Errorf("got %+v", ev)
		}
		if ev.QueryStringParameters["x"] != "2" || !reflect.DeepEqual(ev.MultiValueQueryStringParameters["x"], []string{"1", "2"}) {
			t.Errorf("got query %v %v; API Gateway puts the last value in the single map", ev.QueryStringParameters, ev.MultiValueQueryStringParameters)
		}
		if ev.Headers["Host"] != "api.example" || ev.Headers["Content-Type"] != "application/json" {
			t.Errorf("got headers %v", ev.Headers)
		}
		rc := ev.RequestContext
		if rc.RequestID != "id1" || rc.Stage != "prod" || rc.Path != "/prod/items" || rc.Identity.SourceIP != "::1" ||
			rc.Identity.UserAgent != "surge-test" || rc.Identity.APIKeyID != "kid" || rc.Identity.APIKey != "key" ||
			rc.RequestTimeEpoch != now.UnixMilli() || rc.RequestTime != "02/Jan/2026:03:04:05 +0000" ||
			rc.APIID != "api" || rc.AccountID != "123" || rc.Authorizer != nil || rc.HTTPMethod != "POST" || rc.Protocol != "HTTP/1.1" {
			t.Errorf("got request context %+v", rc)
		}
	})
	t.Run("NoQueryNoBody", func(t *testing.T) {
		ev, err := awsevent.NewV1Event(httptest.NewRequest("GET", "/", nil), awsevent.EventOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if ev.QueryStringParameters != nil || ev.MultiValueQueryStringParameters != nil || ev.Body != "" ||
			ev.Resource != "/" || ev.RequestContext.RequestID == "" || ev.RequestContext.Stage != "local" {
			t.Errorf("got %+v", ev)
		}
		// API Gateway sends null, not {}, for an absent query.
		b, _ := json.Marshal(ev)
		if !bytes.Contains(b, []byte(`"queryStringParameters":null`)) {
			t.Errorf("got %s", b)
		}
	})
	t.Run("TooLarge", func(t *testing.T) {
		r := httptest.NewRequest("POST", "/items", strings.NewReader(strings.Repeat("x", 11)))
		_, err := awsevent.NewV1Event(r, awsevent.EventOptions{MaxBody: 10})
		if items.ErrorCode(err) != items.ETOOLARGE {
			t.Errorf("got %v, want a too_large error", err)
		}
		r = httptest.NewRequest("POST", "/items", strings.NewReader(strings.Repeat("x", 10)))
		if _, err := awsevent.NewV1Event(r, awsevent.EventOptions{MaxBody: 10}); err != nil {
			t.Errorf("at the limit: %v", err)
		}
	})
}

func TestWriteV1Response(t *testing.T) {
	t.Run("Merge", func(t *testing.T) {
		w := httptest.NewRecorder()
		err := awsevent.WriteV1Response(w, &events.APIGatewayProxyResponse{
			StatusCode:        202,
			Headers:           map[string]string{"content-type": "text/plain", "vary": "Ignored", "Connection": "close", "Content-Length": "99", "Bad\nName": "x", "X-Bad": "a\nb"},
			MultiValueHeaders: map[string][]string{"Vary": {"A", "B"}},
			Body:              "hello",
		})
		if err != nil {
			t.Fatal(err)
		}
		want := http.Header{"Content-Type": {"text/plain"}, "Vary": {"A", "B"}, "Content-Length": {"5"}}
		if w.Code != 202 || w.Body.String() != "hello" || !reflect.DeepEqual(w.Header(), want) {
			t.Errorf("got %d %q %v, want 202 hello %v", w.Code, w.Body, w.Header(), want)
		}
	})
	t.Run("Base64", func(t *testing.T) {
		w := httptest.NewRecorder()
		if err := awsevent.WriteV1Response(w, &events.APIGatewayProxyResponse{StatusCode: 200,
			Body: base64.StdEncoding.EncodeToString([]byte{0, 0xff}), IsBase64Encoded: true}); err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(w.Body.Bytes(), []byte{0, 0xff}) {
			t.Errorf("got %q", w.Body)
		}
	})
	t.Run("Malformed", func(t *testing.T) {
		for _, resp := range []*events.APIGatewayProxyResponse{
			{StatusCode: 0}, {StatusCode: 600}, {StatusCode: 200, Body: "!", IsBase64Encoded: true},
		} {
			w := httptest.NewRecorder()
			if err := awsevent.WriteV1Response(w, resp); err == nil {
				t.Errorf("%+v: got no error", resp)
			}
			if len(w.Header()) != 0 || w.Body.Len() != 0 {
				t.Errorf("%+v: wrote %v %q before failing", resp, w.Header(), w.Body)
			}
		}
	})
}

// TestEventRoundTrip checks the conversions without HTTP in between:
// request -> event -> request keeps what a handler can see.
func TestEventRoundTrip(t *testing.T) {
	mux := http.NewServeMux()
	var ev *events.APIGatewayProxyRequest
	mux.HandleFunc("GET /items/{id}", func(w http.ResponseWriter, r *http.Request) {
		var err error
		if ev, err = awsevent.NewV1Event(r, awsevent.EventOptions{}); err != nil {
			t.Fatal(err)
		}
	})
	r := httptest.NewRequest("GET", "/items/abc?limit=3", nil)
	r.Header.Add("X-Multi", "1")
	r.Header.Add("X-Multi", "2")
	mux.ServeHTTP(httptest.NewRecorder(), r)
	if ev == nil {
		t.Fatal("not routed")
	}
	if ev.Resource != "/items/{id}" || ev.PathParameters["id"] != "abc" {
		t.Errorf("got resource %q params %v", ev.Resource, ev.PathParameters)
	}
	back, err := awsevent.RequestFromV1(context.Background(), jsonTrip[events.APIGatewayProxyRequest](t, ev), awsevent.RequestOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if back.Method != "GET" || back.URL.String() != "/items/abc?limit=3" || back.PathValue("id") != "abc" ||
		!reflect.DeepEqual(back.Header["X-Multi"], []string{"1", "2"}) || back.Host != "example.com" {
		t.Errorf("got %s %s %v host %q", back.Method, back.URL, back.Header, back.Host)
	}
}
