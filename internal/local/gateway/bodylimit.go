package gateway

import (
	"net/http"

	"github.com/surgehq/surge/internal/api/rest"
	"github.com/surgehq/surge/internal/items"
)

// BodyLimit refuses, before any of it is read, a request body over its
// route's limit (limit, by route pattern, "POST /items"): 413, and the
// connection closed, since the rest of the body is not read; a client
// that sent Expect: 100-continue gets no 100 Continue. A body of unknown
// length (chunked) is cut at the limit. It is what lets every mode, the
// local Lambda too, refuse a body over the contract's limits without
// reading it into memory. It must come after rest.Routes.
func BodyLimit(limit func(route string) int64) rest.Middleware {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			ri := rest.Info(r.Context())
			if ri == nil || r.Body == nil || r.Body == http.NoBody {
				next.ServeHTTP(w, r)
				return
			}
			n := limit(ri.Route)
			if n <= 0 {
				next.ServeHTTP(w, r)
				return
			}
			if r.ContentLength > n {
				w.Header().Set("Connection", "close")
				rest.WriteError(w, items.Errorf(items.ETOOLARGE, "The request body is over %d bytes.", n))
				return
			}
			if r.ContentLength < 0 {
				r.Body = http.MaxBytesReader(w, r.Body, n)
			}
			next.ServeHTTP(w, r)
		})
	}
}
