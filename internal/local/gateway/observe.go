package gateway

import (
	"net/http"
	"time"

	"github.com/surgehq/surge/internal/api/rest"
)

// RequestObserver is told of every request the gateway serves.
type RequestObserver interface {
	// RequestStarted is called when a request comes in.
	RequestStarted()
	// RequestDone is called when it has ended: its route pattern ("" when
	// none matched), status and time. The status is 0 when the gateway saw
	// no answer (no rest.Routes before Observe, or a panic that aborted
	// the response).
	RequestDone(route string, status int, took time.Duration)
}

// AuthObserver is told of every request that Auth refuses.
type AuthObserver interface {
	// AuthFailed is called with the reason (auth.ReasonMissingKey, ...).
	AuthFailed(reason string)
}

// ThrottleObserver is told of every request that Throttle refuses.
type ThrottleObserver interface {
	// Throttled is called with the level whose limit the request was
	// over (LevelKey, LevelQuota, LevelRoute, LevelStage, LevelAccount).
	Throttled(level string)
}

// CacheObserver is told what the response cache does.
type CacheObserver interface {
	// CacheHit is a cacheable request answered from the cache.
	CacheHit()
	// CacheMiss is a cacheable request sent on to the function.
	CacheMiss()
	// CacheEvicted is a response evicted to keep the memory bound.
	CacheEvicted()
	// CacheInvalidated is an invalidation, by cause: "client"
	// (Cache-Control: max-age=0) or "write" (a write through the gateway).
	CacheInvalidated(cause string)
	// CacheDenied is an invalidation by a caller not allowed to.
	CacheDenied()
}

// ThrottleObservers tells each of its observers; an empty one is a no-op.
type ThrottleObservers []ThrottleObserver

// Throttled implements ThrottleObserver.
func (os ThrottleObservers) Throttled(level string) {
	for _, o := range os {
		o.Throttled(level)
	}
}

// CacheObservers tells each of its observers; an empty one is a no-op.
type CacheObservers []CacheObserver

// CacheHit implements CacheObserver.
func (os CacheObservers) CacheHit() {
	for _, o := range os {
		o.CacheHit()
	}
}

// CacheMiss implements CacheObserver.
func (os CacheObservers) CacheMiss() {
	for _, o := range os {
		o.CacheMiss()
	}
}

// CacheEvicted implements CacheObserver.
func (os CacheObservers) CacheEvicted() {
	for _, o := range os {
		o.CacheEvicted()
	}
}

// CacheInvalidated implements CacheObserver.
func (os CacheObservers) CacheInvalidated(cause string) {
	for _, o := range os {
		o.CacheInvalidated(cause)
	}
}

// CacheDenied implements CacheObserver.
func (os CacheObservers) CacheDenied() {
	for _, o := range os {
		o.CacheDenied()
	}
}

// Observe tells o of every request: when it comes in, and its route,
// status and time when it has been answered. It must come after
// rest.Routes.
func Observe(o RequestObserver) rest.Middleware {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			start := time.Now()
			o.RequestStarted()
			route, status := "", 0
			defer func() { o.RequestDone(route, status, time.Since(start)) }()
			next.ServeHTTP(w, r)
			if ri := rest.Info(r.Context()); ri != nil {
				route, status = ri.Route, ri.Status
			}
		})
	}
}
