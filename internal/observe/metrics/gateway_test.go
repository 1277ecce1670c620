package metrics_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/surgehq/surge/internal/api/rest"
	"github.com/surgehq/surge/internal/local/gateway"
	"github.com/surgehq/surge/internal/observe/metrics"
)

func TestHTTP(t *testing.T) {
	reg := prometheus.NewRegistry()
	m := metrics.NewHTTP(reg)
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusCreated)
		io.WriteString(w, "hello")
	})
	srv := httptest.NewServer(rest.Chain(h, rest.Routes([]rest.Route{{Method: "POST", Pattern: "/items"}}), gateway.Observe(m)))
	defer srv.Close()
	resp, err := http.Post(srv.URL+"/items", "application/json", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()

	const exp = `
# HELP surge_http_requests_total HTTP requests served, by route pattern and status class (2xx, 4xx, ...).
# TYPE surge_http_requests_total counter
surge_http_requests_total{code="2xx",route="POST /items"} 1
`
	if err := testutil.GatherAndCompare(reg, strings.NewReader(exp), "surge_http_requests_total"); err != nil {
		t.Error(err)
	}
	if n := testutil.CollectAndCount(reg, "surge_http_request_duration_seconds"); n != 1 {
		t.Errorf("got %d duration series, want 1", n)
	}
	if n := testutil.ToFloat64(m.InFlight()); n != 0 {
		t.Errorf("got %v requests in flight after the answer, want 0", n)
	}
}
