package gateway

import (
	"net/http"
	"strconv"

	"github.com/cespare/xxhash/v2"

	"github.com/surgehq/surge/internal/api/rest"
)

// ConditionalConfig configures Conditional.
type ConditionalConfig struct {
	// Routes are the GET routes tagged, by pattern ("GET /items").
	Routes []string
	// CacheControl is the Cache-Control of a tagged answer that has none.
	CacheControl string
}

// Conditional gives the GET responses of the configured routes that carry
// no ETag of their own a strong ETag computed from the body, and the
// configured Cache-Control, and evaluates the request's If-Match and
// If-None-Match against it (RFC 9110, 13.2.2): 412 when If-Match does not
// match, 304 Not Modified when If-None-Match does. Item responses have
// ETags from their revision and evaluate their conditions themselves;
// this brings list pages the same. The conditions are taken off the
// request passed on, since the handler does not know the tag. It must
// come after rest.Routes and the response cache, so that the cache keeps
// the tagged answer.
func Conditional(cfg ConditionalConfig) rest.Middleware {
	set := map[string]bool{}
	for _, r := range cfg.Routes {
		set[r] = true
	}
	cc := []string{cfg.CacheControl}
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			ri := rest.Info(r.Context())
			if (r.Method != http.MethodGet && r.Method != http.MethodHead) || ri == nil || !set[ri.Route] {
				next.ServeHTTP(w, r)
				return
			}
			cond := rest.RequestConditions(r)
			fr := r
			if cond.Any() {
				fr = r.Clone(r.Context())
				fr.Header.Del("If-Match")
				fr.Header.Del("If-None-Match")
			}
			cw := getCapture(w, MaxCacheableBody)
			defer cw.release()
			next.ServeHTTP(cw, fr)
			if cw.passing || cw.status != http.StatusOK {
				cw.finish()
				return
			}
			tag := cw.h.Get("Etag")
			if tag == "" {
				tag = bodyETag(cw.body)
				cw.h["Etag"] = []string{tag}
				if _, ok := cw.h["Cache-Control"]; !ok {
					cw.h["Cache-Control"] = cc
				}
			}
			opaque, hasTag := rest.OpaqueTag(tag)
			switch cond.Evaluate(r.Method, true, opaque, hasTag) {
			case rest.Failed:
				rest.WriteError(w, errPrecondition)
				return
			case rest.NotModified:
				h := w.Header()
				h["Etag"] = cw.h["Etag"]
				h["Cache-Control"] = cw.h["Cache-Control"]
				w.WriteHeader(http.StatusNotModified)
				return
			}
			cw.finish()
		})
	}
}

// bodyETag returns a strong ETag for a body: its 64-bit xxhash, which is
// the same in every process for the same bytes.
func bodyETag(body []byte) string {
	var b [18]byte
	b[0] = '"'
	out := strconv.AppendUint(b[:1], xxhash.Sum64(body), 16)
	return string(append(out, '"'))
}
