package lambda_test

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/surgehq/surge/internal/api/rest"
	"github.com/surgehq/surge/internal/local/lambda"
)

// post sends body to url and returns the status, headers and body.
func post(t testing.TB, url string, body []byte) (int, http.Header, []byte) {
	t.Helper()
	c := &http.Client{Timeout: 30 * time.Second}
	resp, err := c.Post(url, "application/json", bytes.NewReader(body))
	if err != nil {
		t.Fatalf("POST %s: %v", url, err)
	}
	defer resp.Body.Close()
	var b bytes.Buffer
	_, _ = b.ReadFrom(resp.Body)
	return resp.StatusCode, resp.Header, b.Bytes()
}

// hold starts n invocations of /hang through the integration at url and
// waits until the pool has them all busy. They end when the pool closes,
// which comes at cleanup before the server in front waits for them.
func hold(t *testing.T, p *lambda.Pool, url string, n int) {
	t.Helper()
	t.Cleanup(func() { p.Close() })
	for range n {
		go func() {
			if resp, err := http.Get(url + "/hang"); err == nil {
				resp.Body.Close()
			}
		}()
	}
	waitFor(t, p, "instances busy", func(s lambda.Stats) bool { return s.Busy == n })
}

// The integration waits for no instance: with every slot of the reserved
// concurrency busy, each further request is refused at once with 429 and
// X-Limit-Source lambda.concurrency (so the requests waiting in the
// integration are never more than the concurrency), and the Invoke API
// answers TooManyRequestsException with the same header beside Lambda's.
func TestIntegrationThrottleIsBoundedAndNamed(t *testing.T) {
	const reserved, extra = 2, 6
	f := newFault(t, lambda.Config{Name: "fn-limit", ReservedConcurrency: reserved, Timeout: time.Minute})
	srv := front(t, lambda.NewIntegration(f.Pool, lambda.IntegrationOptions{}))
	api := httptest.NewServer(lambda.NewInvokeAPI(f.Pool))
	t.Cleanup(api.Close)
	hold(t, f.Pool, srv.URL, reserved)

	var wg sync.WaitGroup
	var mu sync.Mutex
	bySource := map[string]int{}
	for range extra {
		wg.Add(1)
		go func() {
			defer wg.Done()
			code, h, body := get(t, srv.URL+"/echo")
			if code != 429 || h.Get("Retry-After") != "1" || !strings.Contains(string(body), `"code":"throttled"`) {
				t.Errorf("got %d %v %s, want 429 throttled", code, h, body)
			}
			mu.Lock()
			bySource[rest.LimitSource(h)]++
			mu.Unlock()
		}()
	}
	wg.Wait()
	if bySource[rest.LimitLambdaConcurrency] != extra {
		t.Errorf("got sources %v, want %d × %s", bySource, extra, rest.LimitLambdaConcurrency)
	}
	if s := f.Stats(); s.Busy != reserved {
		t.Errorf("got %d busy, want %d: a refused request must not hold a slot", s.Busy, reserved)
	}

	code, h, body := post(t, api.URL+lambda.InvokePrefix+"fn-limit/invocations", event("/echo"))
	if code != 429 || h.Get("X-Amzn-Errortype") != "TooManyRequestsException" ||
		rest.LimitSource(h) != rest.LimitLambdaConcurrency || !strings.Contains(string(body), lambda.ReasonReserved) {
		t.Errorf("Invoke API: got %d %v %s, want 429 TooManyRequestsException with %s %s",
			code, h, body, rest.LimitSourceHeader, rest.LimitLambdaConcurrency)
	}

	// With --function-throttle-status 500 the source is still named.
	g500 := front(t, lambda.NewIntegration(f.Pool, lambda.IntegrationOptions{ThrottleStatus: 500}))
	if code, h, _ := get(t, g500.URL+"/echo"); code != 500 || rest.LimitSource(h) != rest.LimitLambdaConcurrency {
		t.Errorf("ThrottleStatus 500: got %d %s=%q", code, rest.LimitSourceHeader, rest.LimitSource(h))
	}
}

// A request that needs a new instance when the start-rate bucket is empty
// is refused with X-Limit-Source lambda.start-rate.
func TestIntegrationStartRateIsNamed(t *testing.T) {
	c := newClock()
	f := newFault(t, lambda.Config{Name: "fn-start", StartRate: 1, StartBurst: 1, Now: c.Now, TickEvery: -1, Timeout: time.Minute})
	srv := front(t, lambda.NewIntegration(f.Pool, lambda.IntegrationOptions{}))
	api := httptest.NewServer(lambda.NewInvokeAPI(f.Pool))
	t.Cleanup(api.Close)
	hold(t, f.Pool, srv.URL, 1) // the burst's one start
	code, h, _ := get(t, srv.URL+"/echo")
	if code != 429 || rest.LimitSource(h) != rest.LimitLambdaStartRate {
		t.Errorf("got %d %s=%q, want 429 %s", code, rest.LimitSourceHeader, rest.LimitSource(h), rest.LimitLambdaStartRate)
	}
	code, h, body := post(t, api.URL+lambda.InvokePrefix+"fn-start/invocations", event("/echo"))
	if code != 429 || rest.LimitSource(h) != rest.LimitLambdaStartRate || !strings.Contains(string(body), lambda.ReasonRate) {
		t.Errorf("Invoke API: got %d %v %s", code, h, body)
	}
}

// A closed pool answers 503 with X-Limit-Source shutdown.
func TestIntegrationShutdownIsNamed(t *testing.T) {
	f := newFault(t, lambda.Config{Name: "fn-closed"})
	srv := front(t, lambda.NewIntegration(f.Pool, lambda.IntegrationOptions{}))
	api := httptest.NewServer(lambda.NewInvokeAPI(f.Pool))
	t.Cleanup(api.Close)
	if code, h, _ := get(t, srv.URL+"/echo"); code != 200 || rest.LimitSource(h) != "" {
		t.Fatalf("open pool: got %d %s=%q, want 200 without it", code, rest.LimitSourceHeader, rest.LimitSource(h))
	}
	f.Close()
	code, h, body := get(t, srv.URL+"/echo")
	if code != 503 || rest.LimitSource(h) != rest.LimitShutdown || h.Get("Retry-After") == "" ||
		!strings.Contains(string(body), `"code":"unavailable"`) {
		t.Errorf("closed pool: got %d %v %s", code, h, body)
	}
	code, h, _ = post(t, api.URL+lambda.InvokePrefix+"fn-closed/invocations", event("/echo"))
	if code != 503 || rest.LimitSource(h) != rest.LimitShutdown {
		t.Errorf("Invoke API, closed pool: got %d %v", code, h)
	}
}
