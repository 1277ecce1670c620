package rest

import (
	"log/slog"
	"net/http"
	"time"
)

// AccessLogConfig configures AccessLog.
type AccessLogConfig struct {
	// Log receives the lines.
	Log *slog.Logger
	// Attrs, when set, returns the attributes of a request's line in
	// place of the gateway's (request_id, method, route, path, status,
	// bytes, duration); took is the time since AccessLog saw the request.
	Attrs func(r *http.Request, ri *RequestInfo, took time.Duration) []slog.Attr
	// InfoOn5xx logs answers of 500 and above at Info, as the others;
	// by default they are logged at Warn.
	InfoOn5xx bool
}

// AccessLog logs one line, "request", per request. It must come after
// Routes and RequestID.
func AccessLog(cfg AccessLogConfig) Middleware {
	// The handler takes the records directly: a line's source is this
	// middleware whoever asked for it, so the caller's program counter,
	// which slog.Logger looks up on every record, is left out.
	h := cfg.Log.Handler()
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			start := time.Now()
			next.ServeHTTP(w, r)
			ri := Info(r.Context())
			if ri == nil {
				return
			}
			level := slog.LevelInfo
			if ri.Status >= 500 && !cfg.InfoOn5xx {
				level = slog.LevelWarn
			}
			ctx := r.Context()
			if !h.Enabled(ctx, level) {
				return
			}
			now := time.Now()
			rec := slog.NewRecord(now, level, "request", 0)
			if cfg.Attrs != nil {
				rec.AddAttrs(cfg.Attrs(r, ri, now.Sub(start))...)
			} else {
				var attrs [accessAttrCount]slog.Attr
				rec.AddAttrs(AppendAccessAttrs(attrs[:0], r, ri, now.Sub(start))...)
			}
			_ = h.Handle(ctx, rec)
		})
	}
}

// accessAttrCount is how many attributes AppendAccessAttrs appends.
const accessAttrCount = 7

// AppendAccessAttrs appends the gateway's attributes of a request's line
// (request_id, method, route, path, status, bytes, duration) to dst: an
// AccessLogConfig.Attrs that adds its own starts from these.
func AppendAccessAttrs(dst []slog.Attr, r *http.Request, ri *RequestInfo, took time.Duration) []slog.Attr {
	return append(dst,
		slog.String("request_id", ri.ID),
		slog.String("method", r.Method),
		slog.String("route", ri.Route),
		slog.String("path", r.URL.Path),
		slog.Int("status", ri.Status),
		slog.Int64("bytes", ri.Bytes),
		slog.Duration("duration", took),
	)
}
