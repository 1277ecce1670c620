package rest_test

import (
	"bytes"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/surgehq/surge/internal/api/rest"
)

var routes = []rest.Route{
	{Method: "GET", Pattern: "/items/{id}"},
	{Method: "POST", Pattern: "/items"},
	{Pattern: "/items/{id}"},
}

// serve runs one request through the chain around h, over real HTTP.
func serve(t *testing.T, h http.Handler, req *http.Request, mws ...rest.Middleware) *http.Response {
	t.Helper()
	srv := httptest.NewServer(rest.Chain(h, mws...))
	t.Cleanup(srv.Close)
	u := srv.URL + req.URL.RequestURI()
	out, err := http.NewRequest(req.Method, u, req.Body)
	if err != nil {
		t.Fatal(err)
	}
	out.Header = req.Header
	resp, err := srv.Client().Do(out)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { resp.Body.Close() })
	return resp
}

func TestRoutes(t *testing.T) {
	cases := map[string]string{
		"GET /items/abc":    "GET /items/{id}",
		"HEAD /items/abc":   "GET /items/{id}",
		"POST /items":       "POST /items",
		"DELETE /items/abc": "/items/{id}",
		"GET /nowhere":      "",
	}
	for in, want := range cases {
		method, path, _ := strings.Cut(in, " ")
		var got string
		h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			got = rest.Info(r.Context()).Route
		})
		serve(t, h, httptest.NewRequest(method, path, nil), rest.Routes(routes))
		if got != want {
			t.Errorf("%s: got route %q, want %q", in, got, want)
		}
	}
}

func TestRequestID(t *testing.T) {
	echo := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, rest.Info(r.Context()).ID)
	})
	t.Run("Echoed", func(t *testing.T) {
		req := httptest.NewRequest("GET", "/items/x", nil)
		req.Header.Set("X-Request-Id", "abc-123_x.y:z")
		resp := serve(t, echo, req, rest.Routes(routes), rest.RequestID(rest.RequestIDConfig{}))
		body, _ := io.ReadAll(resp.Body)
		if got := resp.Header.Get("X-Request-Id"); got != "abc-123_x.y:z" || string(body) != got {
			t.Errorf("got header %q body %q, want the client's id", got, body)
		}
	})
	for name, bad := range map[string]string{"Missing": "", "Spaces": "a b", "Long": strings.Repeat("a", 129), "Newline": "a\tb"} {
		t.Run(name, func(t *testing.T) {
			req := httptest.NewRequest("GET", "/items/x", nil)
			if bad != "" {
				req.Header.Set("X-Request-Id", bad)
			}
			resp := serve(t, echo, req, rest.Routes(routes), rest.RequestID(rest.RequestIDConfig{}))
			got := resp.Header.Get("X-Request-Id")
			if got == "" || got == bad || len(got) != 36 {
				t.Errorf("got %q, want a new UUID", got)
			}
		})
	}
}

func TestRecover(t *testing.T) {
	var logs bytes.Buffer
	log := slog.New(slog.NewJSONHandler(&logs, nil))
	boom := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { panic("boom") })
	resp := serve(t, boom, httptest.NewRequest("GET", "/items/x", nil),
		rest.Routes(routes), rest.RequestID(rest.RequestIDConfig{}), rest.Recover(rest.RecoverConfig{Log: log}))
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 500 || !strings.Contains(string(body), "Internal error.") {
		t.Errorf("got %d %s, want 500 Internal error.", resp.StatusCode, body)
	}
	var rec map[string]any
	if err := json.Unmarshal(logs.Bytes(), &rec); err != nil {
		t.Fatalf("log line %q: %v", logs.String(), err)
	}
	if rec["panic"] != "boom" || !strings.Contains(rec["stack"].(string), "rest_test.TestRecover") ||
		rec["request_id"] != resp.Header.Get("X-Request-Id") {
		t.Errorf("log record %v lacks the panic, its stack or the request id", rec)
	}
}

func TestAccessLog(t *testing.T) {
	var logs bytes.Buffer
	log := slog.New(slog.NewJSONHandler(&logs, nil))
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusCreated)
		io.WriteString(w, "hello")
	})
	req := httptest.NewRequest("POST", "/items", nil)
	req.Header.Set("X-Request-Id", "r1")
	serve(t, h, req, rest.Routes(routes), rest.RequestID(rest.RequestIDConfig{}), rest.AccessLog(rest.AccessLogConfig{Log: log}))

	var rec map[string]any
	if err := json.Unmarshal(logs.Bytes(), &rec); err != nil {
		t.Fatalf("log line %q: %v", logs.String(), err)
	}
	want := map[string]any{"msg": "request", "request_id": "r1", "method": "POST", "route": "POST /items",
		"path": "/items", "status": 201.0, "bytes": 5.0}
	for k, v := range want {
		if rec[k] != v {
			t.Errorf("log %s: got %v, want %v", k, rec[k], v)
		}
	}
	if _, ok := rec["duration"]; !ok {
		t.Error("log has no duration")
	}
}
