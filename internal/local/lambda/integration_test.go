package lambda_test

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/surgehq/surge/internal/api/rest"
	"github.com/surgehq/surge/internal/local/lambda"
)

func TestIntegration(t *testing.T) {
	f := newFault(t, lambda.Config{Name: "fn-gw", ReservedConcurrency: 1, Timeout: 500 * time.Millisecond})
	g := lambda.NewIntegration(f.Pool, lambda.IntegrationOptions{
		Routes: []rest.Route{{Method: "GET", Pattern: "/items/{id}"}, {Method: "GET", Pattern: "/sleep"}}})
	srv := front(t, g)

	t.Run("ColdThenWarm", func(t *testing.T) {
		code, h, body := get(t, srv.URL+"/echo?x=1")
		if code != 200 || h.Get("X-Cold-Start") != "true" || h.Get("Content-Type") != "application/json" {
			t.Fatalf("got %d %v %s", code, h, body)
		}
		st := h.Get("Server-Timing")
		for _, want := range []string{"store;dur=1.25", "rcu;desc=0.5", "function;dur=2.50", "init;dur=", "lambda;dur=", "pool;dur=", "total;dur="} {
			if !strings.Contains(st, want) {
				t.Errorf("Server-Timing %q lacks %s", st, want)
			}
		}
		if strings.Count(st, "total;") != 1 {
			t.Errorf("Server-Timing %q has the function's total as well as the gateway's", st)
		}
		code, h, _ = get(t, srv.URL+"/echo")
		if code != 200 || h.Get("X-Cold-Start") != "" || strings.Contains(h.Get("Server-Timing"), "init;") {
			t.Errorf("warm: got %d %v", code, h)
		}
	})

	t.Run("Event", func(t *testing.T) {
		// What reaches the function is the event API Gateway sends: the
		// route's resource and path parameters, the tenant where an
		// authorizer puts it, the gateway's request id, the stage.
		code, h, body := get(t, srv.URL+"/items/abc", tenantHeader, "acme")
		if code != 200 {
			t.Fatalf("got %d %s", code, body)
		}
		var e echo
		json.Unmarshal(body, &e)
		if e.Path != "/items/abc" || e.Resource != "/items/{id}" || e.PathParameters["id"] != "abc" ||
			e.Tenant != "acme" || e.Stage != "local" || e.GatewayID != h.Get("X-Request-Id") || e.GatewayID == "" {
			t.Errorf("got event facts %+v (X-Request-Id %q)", e, h.Get("X-Request-Id"))
		}
		_, _, body = get(t, srv.URL+"/other/path")
		var u echo
		json.Unmarshal(body, &u)
		if u.Resource != "/{proxy+}" || u.PathParameters["proxy"] != "other/path" || u.Tenant != "default" {
			t.Errorf("unrouted: got %+v", u)
		}
	})

	t.Run("Throttled", func(t *testing.T) {
		var wg sync.WaitGroup
		wg.Add(1)
		go func() { defer wg.Done(); get(t, srv.URL+"/sleep?ms=400") }()
		waitFor(t, f.Pool, "busy", func(s lambda.Stats) bool { return s.Busy == 1 })
		code, h, body := get(t, srv.URL+"/echo")
		wg.Wait()
		if code != 429 || h.Get("Retry-After") != "1" || !strings.Contains(string(body), `"code":"throttled"`) ||
			!strings.Contains(string(body), `"message":"Too Many Requests"`) {
			t.Errorf("got %d %v %s", code, h, body)
		}
	})

	t.Run("FunctionErrors", func(t *testing.T) {
		for _, path := range []string{"/error", "/bad", "/crash"} {
			code, h, body := get(t, srv.URL+path)
			if code != 502 || h.Get("Content-Type") != "application/json" ||
				string(body) != `{"code":"bad_gateway","message":"Internal server error"}` {
				t.Errorf("%s: got %d %v %s", path, code, h, body)
			}
		}
		// The function's own timeout: 504 by default.
		if code, _, body := get(t, srv.URL+"/hang"); code != 504 ||
			string(body) != `{"code":"gateway_timeout","message":"Endpoint request timed out"}` {
			t.Errorf("/hang: got %d %s, want 504 gateway_timeout", code, body)
		}
	})
}

func TestIntegrationFunctionTimeoutAsAPIGateway(t *testing.T) {
	// With TimeoutStatus 502, a function that reaches its own timeout is a
	// function error, as API Gateway answers it.
	f := newFault(t, lambda.Config{Name: "fn-gw3", ReservedConcurrency: 1, Timeout: 300 * time.Millisecond})
	srv := front(t, lambda.NewIntegration(f.Pool, lambda.IntegrationOptions{TimeoutStatus: 502}))
	if code, _, body := get(t, srv.URL+"/hang"); code != 502 ||
		string(body) != `{"code":"bad_gateway","message":"Internal server error"}` {
		t.Errorf("got %d %s, want 502 bad_gateway", code, body)
	}
}

func TestIntegrationTimeoutAndThrottleStatus(t *testing.T) {
	f := newFault(t, lambda.Config{Name: "fn-gw2", ReservedConcurrency: 1, Timeout: 2 * time.Second})
	g := lambda.NewIntegration(f.Pool, lambda.IntegrationOptions{Timeout: 300 * time.Millisecond, ThrottleStatus: 500})
	srv := front(t, g)
	// Warm the one instance first, outside the integration's timeout: a
	// cold start on a loaded machine may take longer than 300ms itself.
	invoke(t, f.Pool, event("/echo"))
	// API Gateway's integration timeout ends first: 504, while the
	// invocation runs on to the function's own timeout.
	t0 := time.Now()
	code, _, body := get(t, srv.URL+"/hang")
	if code != 504 || string(body) != `{"code":"gateway_timeout","message":"Endpoint request timed out"}` || time.Since(t0) > 3*time.Second {
		t.Errorf("got %d %s after %v", code, body, time.Since(t0))
	}
	if s := f.Stats(); s.Busy != 1 {
		t.Errorf("got %+v, want the instance still busy", s)
	}
	// Meanwhile the cap is reached: API Gateway's answer, 500.
	code, _, body = get(t, srv.URL+"/echo")
	if code != 500 || !strings.Contains(string(body), `"code":"internal"`) {
		t.Errorf("throttled with ThrottleStatus 500: got %d %s", code, body)
	}
	waitFor(t, f.Pool, "the function's timeout", func(s lambda.Stats) bool { return s.Busy == 0 })
}

func TestParseServerTimingViaIntegration(t *testing.T) {
	// A request too large for API Gateway never reaches the function.
	f := newFault(t, lambda.Config{Name: "fn-gw3"})
	srv := front(t, lambda.NewIntegration(f.Pool, lambda.IntegrationOptions{}))
	req, _ := http.NewRequestWithContext(context.Background(), "POST", srv.URL+"/echo", strings.NewReader(strings.Repeat("x", 10<<20+1)))
	req.Header.Set("Content-Type", "text/plain")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 413 {
		t.Errorf("got %d, want 413", resp.StatusCode)
	}
	if s := f.Stats(); s.Starts != 0 {
		t.Errorf("an instance started for a refused request: %+v", s)
	}
}
