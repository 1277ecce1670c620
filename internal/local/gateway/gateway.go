// Package gateway is surge's local stand-in for API Gateway: the parts of
// the middleware in front of the items function that API Gateway
// provides, each a constructor that returns a rest.Middleware:
// authentication (Auth), throttling (Throttle), the response cache
// (Cache), ETags and conditional requests on list pages (Conditional),
// body limits by route (BodyLimit), and request counting (Observe). The chain itself, with the shared parts of package rest
// (routes, request ids, the access log, panic recovery), is built in one
// place, package server:
//
//	rest.Routes -> servertiming -> rest.RequestID -> tracing -> rest.AccessLog ->
//	    Observe -> rest.Recover -> BodyLimit -> Auth -> Throttle -> Cache -> Conditional ->
//	    tracing -> the integration (the items handler, or the local Lambda)
//
// The parts report what they do to small observer interfaces
// (RequestObserver, AuthObserver, ThrottleObserver, CacheObserver); the
// Prometheus implementations are in package metrics, and a caller may add
// its own beside them.
package gateway

import (
	"context"
	"net/http"

	"github.com/surgehq/surge/internal/local/auth"
)

type principalKey struct{}

// withPrincipal returns ctx carrying p, for the parts after Auth.
func withPrincipal(ctx context.Context, p *auth.Principal) context.Context {
	return context.WithValue(ctx, principalKey{}, p)
}

// principal returns the request's principal, nil without authentication.
func principal(r *http.Request) *auth.Principal {
	p, _ := r.Context().Value(principalKey{}).(*auth.Principal)
	return p
}
