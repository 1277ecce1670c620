package gateway

import (
	"log/slog"
	"net/http"
	"runtime/debug"
)

// Recover turns a panic in a later handler into a logged stack and a 500
// `Internal error.` answer (when nothing was written yet), so one bad
// request never takes the server down. http.ErrAbortHandler passes through,
// as net/http means it to.
func Recover(log *slog.Logger, writeError func(http.ResponseWriter, error)) Middleware {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			defer func() {
				v := recover()
				if v == nil {
					return
				}
				if v == http.ErrAbortHandler {
					panic(v)
				}
				id := ""
				if ri := Info(r.Context()); ri != nil {
					id = ri.ID
					if ri.Status != 0 {
						// Too late for a clean answer: abort the response.
						log.Error("panic after the response began", "request_id", id, "panic", v, "stack", string(debug.Stack()))
						panic(http.ErrAbortHandler)
					}
				}
				log.Error("panic", "request_id", id, "method", r.Method, "path", r.URL.Path,
					"panic", v, "stack", string(debug.Stack()))
				writeError(w, panicError{v})
			}()
			next.ServeHTTP(w, r)
		})
	}
}

// panicError is the internal error a recovered panic becomes.
type panicError struct{ v any }

func (p panicError) Error() string { return "panic" }
