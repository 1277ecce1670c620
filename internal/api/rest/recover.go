package rest

import (
	"fmt"
	"log/slog"
	"net/http"
	"runtime/debug"
)

// RecoverConfig configures Recover.
type RecoverConfig struct {
	// Log receives the panic's line and stack.
	Log *slog.Logger
	// Attrs, when set, adds attributes to the panic's line (the Lambda
	// function's aws_request_id).
	Attrs func(r *http.Request) []slog.Attr
	// Buffered says that the response writer holds the whole response
	// until the handler returns (the Lambda function's event writer): a
	// panic after the response began is then answered with the error
	// too, rather than aborted, which would end the function instance.
	Buffered bool
}

// Recover turns a panic in a later handler into a logged stack and a 500
// `Internal error.` answer (when nothing was written yet), so one bad
// request never takes the server down. http.ErrAbortHandler passes through,
// as net/http means it to. It must come after Routes and RequestID.
func Recover(cfg RecoverConfig) Middleware {
	log := cfg.Log
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
				attrs := make([]any, 0, 12)
				if ri := Info(r.Context()); ri != nil {
					attrs = append(attrs, slog.String("request_id", ri.ID))
					if ri.Status != 0 && !cfg.Buffered {
						// Too late for a clean answer: abort the response.
						log.Error("panic after the response began", append(attrs, "panic", v, "stack", string(debug.Stack()))...)
						panic(http.ErrAbortHandler)
					}
				}
				if cfg.Attrs != nil {
					for _, a := range cfg.Attrs(r) {
						attrs = append(attrs, a)
					}
				}
				log.Error("panic", append(attrs, "method", r.Method, "path", r.URL.Path,
					"panic", v, "stack", string(debug.Stack()))...)
				WriteError(w, panicError{v})
			}()
			next.ServeHTTP(w, r)
		})
	}
}

// panicError is the internal error a recovered panic becomes.
type panicError struct{ v any }

func (p panicError) Error() string { return fmt.Sprint("panic: ", p.v) }
