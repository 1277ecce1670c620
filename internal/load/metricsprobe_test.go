package load_test

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/surgehq/surge/internal/load"
)

const metricsPage = `# HELP surge_lambda_invocations_total Invocations that ran.
# TYPE surge_lambda_invocations_total counter
surge_lambda_invocations_total{function="items"} 120
surge_lambda_invocations_total{function="other",note="a } in \"quotes\""} 30 1712345678000
surge_lambda_concurrent_executions{function="items"} 4
surge_lambda_concurrent_executions{function="other"} 1
surge_http_requests_total{route="GET /items/{id}",code="200"} 999
surge_gateway_cache_hits_total NaN
`

func TestSumMetrics(t *testing.T) {
	got, err := load.SumMetrics(strings.NewReader(metricsPage), load.MetricInvocations, load.MetricConcurrency, "surge_gateway_cache_hits_total", "absent")
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]float64{load.MetricInvocations: 150, load.MetricConcurrency: 5}
	if len(got) != len(want) || got[load.MetricInvocations] != 150 || got[load.MetricConcurrency] != 5 {
		t.Fatalf("SumMetrics = %v, want %v (NaN and absent metrics left out)", got, want)
	}
	for _, bad := range []string{"{x=\"y\"} 1\n", "name{x=\"unclosed 1\n", "name\n", "name 1 2 3\n"} {
		if _, err := load.SumMetrics(strings.NewReader(bad), "name"); err == nil {
			t.Errorf("SumMetrics(%q): no error", bad)
		}
	}
}

func TestMetricsProbe(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/metrics" {
			http.NotFound(w, r)
			return
		}
		w.Write([]byte(metricsPage))
	}))
	defer srv.Close()
	ts, err := (&load.MetricsProbe{URL: srv.URL + "/metrics"}).Sample(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if !ts.HasInvocations || ts.Invocations != 150 || !ts.HasConcurrency || ts.Concurrency != 5 {
		t.Fatalf("Sample = %+v, want 150 invocations and concurrency 5", ts)
	}
	if _, err := (&load.MetricsProbe{URL: srv.URL + "/nothing"}).Sample(context.Background()); err == nil {
		t.Fatal("a 404 metrics page gave no error")
	}
}

func FuzzSumMetrics(f *testing.F) {
	f.Add([]byte(metricsPage))
	f.Add([]byte("a{b=\"\\\\\"} 1\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		got, err := load.SumMetrics(bytes.NewReader(data), load.MetricInvocations, load.MetricConcurrency)
		if err != nil {
			return
		}
		for name := range got {
			if name != load.MetricInvocations && name != load.MetricConcurrency {
				t.Fatalf("SumMetrics returned %q, which was not asked for", name)
			}
		}
	})
}
