package gateway

import (
	"log/slog"
	"net/http"
	"time"
)

// Logger logs one line per request at Info level (Warn for 5xx) with the
// request id, method, route pattern, path, status, bytes and duration. It
// must come after Routes and RequestID.
func Logger(log *slog.Logger) Middleware {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			start := time.Now()
			next.ServeHTTP(w, r)
			ri := Info(r.Context())
			if ri == nil {
				return
			}
			level := slog.LevelInfo
			if ri.Status >= 500 {
				level = slog.LevelWarn
			}
			if !log.Enabled(r.Context(), level) {
				return
			}
			log.LogAttrs(r.Context(), level, "request",
				slog.String("request_id", ri.ID),
				slog.String("method", r.Method),
				slog.String("route", ri.Route),
				slog.String("path", r.URL.Path),
				slog.Int("status", ri.Status),
				slog.Int64("bytes", ri.Bytes),
				slog.Duration("duration", time.Since(start)),
			)
		})
	}
}
