package rest

import (
	"context"
	"net/http"
)

// RequestInfo holds what the middleware learns about a request. Routes
// puts one in the context; the parts after it read and fill it. It is not
// safe for use by several goroutines at once.
type RequestInfo struct {
	// ID is the request id (X-Request-Id), set by RequestID.
	ID string
	// Route is the matched route pattern ("GET /items/{id}"), or "" when
	// no route matched.
	Route string
	// Status and Bytes are the response's status code and body size, as
	// written so far.
	Status int
	Bytes  int64
	// Tenant is the authenticated tenant, set by the gateway's
	// authentication; "" without it (every request is then the default
	// tenant's).
	Tenant string
}

type infoKey struct{}

// Info returns the RequestInfo that Routes put in ctx, or nil.
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
		mux.Handle(rt.String(), http.NotFoundHandler()) // only the pattern is used
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
