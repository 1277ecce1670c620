package gateway

import (
	"net/http"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// HTTPMetrics are the Prometheus collectors of the Metrics middleware.
type HTTPMetrics struct {
	requests *prometheus.CounterVec
	duration *prometheus.HistogramVec
	inFlight prometheus.Gauge
}

// NewHTTPMetrics makes the HTTP collectors and registers them with reg.
func NewHTTPMetrics(reg prometheus.Registerer) *HTTPMetrics {
	m := &HTTPMetrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "surge_http_requests_total",
			Help: "HTTP requests served, by route pattern and status class (2xx, 4xx, ...).",
		}, []string{"route", "code"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "surge_http_request_duration_seconds",
			Help: "Time to serve an HTTP request, by route pattern.",
			// From 50 µs to about 10 s.
			Buckets: prometheus.ExponentialBuckets(50e-6, 2.5, 14),
		}, []string{"route"}),
		inFlight: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "surge_http_in_flight_requests",
			Help: "HTTP requests being served now.",
		}),
	}
	reg.MustRegister(m.requests, m.duration, m.inFlight)
	return m
}

var statusClass = [...]string{"1xx", "2xx", "3xx", "4xx", "5xx"}

// Metrics counts requests by route and status class, observes their
// duration by route, and tracks requests in flight. It must come after
// Routes.
func Metrics(m *HTTPMetrics) Middleware {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			start := time.Now()
			m.inFlight.Inc()
			defer m.inFlight.Dec()
			next.ServeHTTP(w, r)
			ri := Info(r.Context())
			if ri == nil {
				return
			}
			route := ri.Route
			if route == "" {
				route = "unmatched"
			}
			class := "other"
			if c := ri.Status/100 - 1; c >= 0 && c < len(statusClass) {
				class = statusClass[c]
			} else {
				class = strconv.Itoa(ri.Status)
			}
			m.requests.WithLabelValues(route, class).Inc()
			m.duration.WithLabelValues(route).Observe(time.Since(start).Seconds())
		})
	}
}
