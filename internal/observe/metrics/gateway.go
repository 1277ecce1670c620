package metrics

import (
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/surgehq/surge/internal/local/auth"
	"github.com/surgehq/surge/internal/local/gateway"
)

// HTTP counts the gateway's requests: a gateway.RequestObserver.
type HTTP struct {
	requests *prometheus.CounterVec
	duration *prometheus.HistogramVec
	inFlight prometheus.Gauge
	// routes holds each route's series (a *routeSeries by route pattern),
	// so that a request does not hash its labels to find them.
	routes sync.Map
}

// routeSeries are one route's series: its duration, and its count by
// status class, made on first use.
type routeSeries struct {
	duration prometheus.Observer
	byClass  [len(statusClass)]atomic.Pointer[prometheus.Counter]
}

func (m *HTTP) route(route string) *routeSeries {
	if s, ok := m.routes.Load(route); ok {
		return s.(*routeSeries)
	}
	s, _ := m.routes.LoadOrStore(route, &routeSeries{duration: m.duration.WithLabelValues(route)})
	return s.(*routeSeries)
}

// NewHTTP makes the HTTP collectors and registers them with reg.
func NewHTTP(reg prometheus.Registerer) *HTTP {
	m := &HTTP{
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

// RequestStarted implements gateway.RequestObserver.
func (m *HTTP) RequestStarted() { m.inFlight.Inc() }

// RequestDone implements gateway.RequestObserver: a request the gateway
// saw no answer to (status 0) is no longer in flight, but not counted.
func (m *HTTP) RequestDone(route string, status int, took time.Duration) {
	m.inFlight.Dec()
	if status == 0 {
		return
	}
	if route == "" {
		route = "unmatched"
	}
	// Routes are the API's patterns (or "unmatched"), so the series
	// kept per route are bounded.
	rs := m.route(route)
	if c := status/100 - 1; c >= 0 && c < len(statusClass) {
		p := rs.byClass[c].Load()
		if p == nil {
			cnt := m.requests.WithLabelValues(route, statusClass[c])
			rs.byClass[c].CompareAndSwap(nil, &cnt)
			p = rs.byClass[c].Load()
		}
		(*p).Inc()
	} else {
		m.requests.WithLabelValues(route, strconv.Itoa(status)).Inc()
	}
	rs.duration.Observe(took.Seconds())
}

// Auth counts the requests the gateway's authentication refuses: a
// gateway.AuthObserver.
type Auth struct {
	failures *prometheus.CounterVec
}

// NewAuth makes the auth collectors and registers them with reg.
func NewAuth(reg prometheus.Registerer) *Auth {
	m := &Auth{
		failures: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "surge_gateway_auth_failures_total",
			Help: "Requests refused for missing or bad credentials (401), by reason: missing_key, unknown_key, missing_token, bad_token.",
		}, []string{"reason"}),
	}
	for _, r := range []string{auth.ReasonMissingKey, auth.ReasonUnknownKey, auth.ReasonMissingToken, auth.ReasonBadToken} {
		m.failures.WithLabelValues(r)
	}
	reg.MustRegister(m.failures)
	return m
}

// AuthFailed implements gateway.AuthObserver.
func (m *Auth) AuthFailed(reason string) { m.failures.WithLabelValues(reason).Inc() }

// Throttle counts the requests the gateway throttles: a
// gateway.ThrottleObserver.
type Throttle struct {
	throttled *prometheus.CounterVec
}

// NewThrottle makes the throttling collectors and registers them.
func NewThrottle(reg prometheus.Registerer) *Throttle {
	m := &Throttle{
		throttled: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "surge_gateway_throttled_total",
			Help: "Requests refused with 429, by the level whose limit they were over: key, quota, route, stage or account.",
		}, []string{"level"}),
	}
	for _, l := range []string{gateway.LevelKey, gateway.LevelQuota, gateway.LevelRoute, gateway.LevelStage, gateway.LevelAccount} {
		m.throttled.WithLabelValues(l)
	}
	reg.MustRegister(m.throttled)
	return m
}

// Throttled implements gateway.ThrottleObserver.
func (m *Throttle) Throttled(level string) { m.throttled.WithLabelValues(level).Inc() }

// Cache counts what the gateway's response cache does: a
// gateway.CacheObserver. Its size gauges read the cache given to Watch.
type Cache struct {
	hits, misses, evictions prometheus.Counter
	invalidations           *prometheus.CounterVec
	client, write           prometheus.Counter
	denied                  prometheus.Counter
	c                       atomic.Pointer[gateway.Cache]
}

// NewCache makes the response cache's collectors and registers them.
func NewCache(reg prometheus.Registerer) *Cache {
	m := &Cache{
		hits: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "surge_gateway_cache_hits_total", Help: "Cacheable requests answered from the response cache."}),
		misses: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "surge_gateway_cache_misses_total", Help: "Cacheable requests sent on to the function (not cached, expired, invalidated)."}),
		evictions: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "surge_gateway_cache_evictions_total", Help: "Cached responses evicted to keep the cache within its memory bound."}),
		invalidations: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "surge_gateway_cache_invalidations_total",
			Help: "Invalidations of cached responses, by cause: client (Cache-Control: max-age=0) or write (a write through the gateway)."},
			[]string{"cause"}),
		denied: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "surge_gateway_cache_invalidations_denied_total", Help: "Requests to invalidate a cached response from a caller not allowed to."}),
	}
	bytes := prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "surge_gateway_cache_bytes", Help: "Bytes held by the response cache (bodies, keys and a per-entry overhead)."},
		func() float64 {
			if c := m.c.Load(); c != nil {
				b, _ := c.Size()
				return float64(b)
			}
			return 0
		})
	entries := prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "surge_gateway_cache_entries", Help: "Responses held by the response cache."},
		func() float64 {
			if c := m.c.Load(); c != nil {
				_, n := c.Size()
				return float64(n)
			}
			return 0
		})
	m.client = m.invalidations.WithLabelValues("client")
	m.write = m.invalidations.WithLabelValues("write")
	reg.MustRegister(m.hits, m.misses, m.evictions, m.invalidations, m.denied, bytes, entries)
	return m
}

// Watch makes the size gauges read c.
func (m *Cache) Watch(c *gateway.Cache) { m.c.Store(c) }

// CacheHit implements gateway.CacheObserver.
func (m *Cache) CacheHit() { m.hits.Inc() }

// CacheMiss implements gateway.CacheObserver.
func (m *Cache) CacheMiss() { m.misses.Inc() }

// CacheEvicted implements gateway.CacheObserver.
func (m *Cache) CacheEvicted() { m.evictions.Inc() }

// CacheDenied implements gateway.CacheObserver.
func (m *Cache) CacheDenied() { m.denied.Inc() }

// CacheInvalidated implements gateway.CacheObserver.
func (m *Cache) CacheInvalidated(cause string) {
	switch cause {
	case "client":
		m.client.Inc()
	case "write":
		m.write.Inc()
	default:
		m.invalidations.WithLabelValues(cause).Inc()
	}
}

// InFlight is the gauge of requests being served.
func (m *HTTP) InFlight() prometheus.Gauge { return m.inFlight }
