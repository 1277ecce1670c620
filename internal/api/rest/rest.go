// Package rest is surge's HTTP vocabulary, shared by every layer that
// speaks HTTP below the composition root: the items handlers, the event
// codecs, the local API Gateway and the local Lambda's integration.
//
// It holds the one table from error codes to HTTP statuses (read through
// Status), the one error writer (WriteError), the one Route type, the
// Middleware type and Chain, and the middleware that both the gateway and
// the Lambda function put in front of the handlers: Routes (which puts a
// RequestInfo in the request's context), RequestID, AccessLog and
// Recover. It imports nothing of the project but the domain, and no
// metrics library, so that the Lambda binary can link it.
package rest

import (
	"net/http"
	"path"
)

// Route is one route of the API, as http.ServeMux writes patterns: Method
// "GET" and Pattern "/items/{id}". An empty Method matches every method.
// A GET route also serves HEAD.
type Route struct {
	Method  string
	Pattern string
}

// String returns the route as a ServeMux pattern: "GET /items/{id}".
func (r Route) String() string {
	if r.Method == "" {
		return r.Pattern
	}
	return r.Method + " " + r.Pattern
}

// Middleware wraps a handler. Every part of a chain is made by a
// constructor that takes its configuration and returns a Middleware.
type Middleware func(http.Handler) http.Handler

// Chain returns h wrapped by mws, the first outermost: Chain(h, a, b)
// serves a(b(h)). A nil Middleware is skipped, so that a part that is off
// can stand in the list as nil.
func Chain(h http.Handler, mws ...Middleware) http.Handler {
	for i := len(mws) - 1; i >= 0; i-- {
		if mws[i] != nil {
			h = mws[i](h)
		}
	}
	return h
}

// CleanPath returns the canonical form of a path as http.ServeMux sees it:
// rooted, without "." or ".." elements or repeated slashes, keeping a
// trailing slash. A request whose path is not clean would be redirected
// by the mux; the items service answers it 404 instead.
func CleanPath(p string) string {
	if p == "" {
		return "/"
	}
	if p[0] != '/' {
		p = "/" + p
	}
	np := path.Clean(p)
	if p[len(p)-1] == '/' && np != "/" {
		np += "/"
	}
	return np
}
