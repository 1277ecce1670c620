// Package gateway is surge's local stand-in for API Gateway: the
// middleware in front of the items function. Each part is a Middleware,
// and cmd/surge chains them once, in one visible place:
//
//	Routes -> RequestID -> Logger -> Metrics -> Recover ->
//	    Auth -> Throttle -> Cache -> Conditional -> function
//
// Info resolves the request's route and carries per-request facts (the
// request id, the route pattern, the status) that the later parts read.
package gateway

import (
	"context"
	"net/http"

	"github.com/surgehq/surge/internal/auth"
)

// Middleware wraps a handler.
type Middleware func(http.Handler) http.Handler

// Chain returns h wrapped by mws, the first outermost: Chain(h, a, b)
// serves a(b(h)).
func Chain(h http.Handler, mws ...Middleware) http.Handler {
	for i := len(mws) - 1; i >= 0; i-- {
		h = mws[i](h)
	}
	return h
}

// Route is a route of the API the gateway fronts, as http.ServeMux writes
// patterns: Method "GET" and Pattern "/items/{id}".
type Route struct {
	Method  string
	Pattern string
}

// RequestInfo holds what the gateway learns about a request. The Info
// middleware puts one in the context; the parts after it read and fill
// it. It is not safe for use by several goroutines at once.
type RequestInfo struct {
	// ID is the request id (X-Request-Id).
	ID string
	// Route is the matched route pattern ("GET /items/{id}"), or "" when
	// no route matched.
	Route string
	// Status and Bytes are the response's status code and body size, as
	// written so far.
	Status int
	Bytes  int64
	// Principal is who the request acts as, set by Auth; nil without
	// authentication (every request is then the default tenant's).
	Principal *auth.Principal
}

type infoKey struct{}

// Info returns the RequestInfo the Info middleware put in ctx, or nil.
func Info(ctx context.Context) *RequestInfo {
	ri, _ := ctx.Value(infoKey{}).(*RequestInfo)
	return ri
}

// Routes returns the first middleware of a chain: it resolves each
// request's route among routes (as http.ServeMux would), puts a
// RequestInfo in the request's context, and records the response's status
// and size into it.
func Routes(routes []Route) Middleware {
	mux := http.NewServeMux()
	for _, rt := range routes {
		p := rt.Pattern
		if rt.Method != "" {
			p = rt.Method + " " + rt.Pattern
		}
		mux.Handle(p, http.NotFoundHandler()) // only the pattern is used
	}
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			ri := &RequestInfo{}
			if _, pattern := mux.Handler(r); pattern != "" {
				ri.Route = pattern
			}
			rec := &recorder{ResponseWriter: w, ri: ri}
			next.ServeHTTP(rec, r.WithContext(context.WithValue(r.Context(), infoKey{}, ri)))
			if ri.Status == 0 {
				ri.Status = http.StatusOK // nothing written: net/http sends 200
			}
		})
	}
}

// recorder records the status and size of a response into a RequestInfo.
type recorder struct {
	http.ResponseWriter
	ri *RequestInfo
}

func (w *recorder) WriteHeader(code int) {
	if w.ri.Status == 0 && code >= 200 {
		w.ri.Status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *recorder) Write(b []byte) (int, error) {
	if w.ri.Status == 0 {
		w.ri.Status = http.StatusOK
	}
	n, err := w.ResponseWriter.Write(b)
	w.ri.Bytes += int64(n)
	return n, err
}

// Flush lets streaming handlers flush through the recorder.
func (w *recorder) Flush() {
	if w.ri.Status == 0 {
		w.ri.Status = http.StatusOK
	}
	if f, ok := w.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

// Unwrap lets http.ResponseController reach the underlying writer.
func (w *recorder) Unwrap() http.ResponseWriter { return w.ResponseWriter }
