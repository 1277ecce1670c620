package gateway

import (
	"net/http"
	"strconv"
	"strings"

	"github.com/cespare/xxhash/v2"
)

// Conditional gives the GET responses of routes (by pattern, "GET /items")
// that carry no ETag of their own a strong ETag computed from the body and
// the Cache-Control value cacheControl, and answers 304 Not Modified to an
// If-None-Match that matches. Item responses have ETags from their
// revision and answer If-None-Match themselves; this brings list pages
// the same. It must come after Routes and the response cache, so that the
// cache keeps the tagged answer.
func Conditional(routes []string, cacheControl string) Middleware {
	set := map[string]bool{}
	for _, r := range routes {
		set[r] = true
	}
	cc := []string{cacheControl}
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			ri := Info(r.Context())
			if (r.Method != http.MethodGet && r.Method != http.MethodHead) || ri == nil || !set[ri.Route] {
				next.ServeHTTP(w, r)
				return
			}
			cw := getCapture(w, MaxCacheableBody)
			defer cw.release()
			next.ServeHTTP(cw, r)
			if cw.passing || cw.status != http.StatusOK || cw.h.Get("Etag") != "" {
				cw.finish()
				return
			}
			tag := bodyETag(cw.body)
			cw.h["Etag"] = []string{tag}
			if _, ok := cw.h["Cache-Control"]; !ok {
				cw.h["Cache-Control"] = cc
			}
			if etagMatch(r.Header.Get("If-None-Match"), tag) {
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

// etagMatch reports whether an If-None-Match value matches etag, by the
// weak comparison RFC 9110 prescribes for If-None-Match: "*" matches, and
// W/"x" matches "x".
func etagMatch(inm, etag string) bool {
	if inm == "" || etag == "" {
		return false
	}
	etag = strings.TrimPrefix(etag, "W/")
	for len(inm) > 0 {
		inm = strings.TrimLeft(inm, " \t,")
		if inm == "" {
			break
		}
		if inm[0] == '*' {
			return true
		}
		tag := inm
		if strings.HasPrefix(tag, "W/") {
			tag = tag[2:]
		}
		if len(tag) == 0 || tag[0] != '"' {
			return false // malformed: match nothing
		}
		end := strings.IndexByte(tag[1:], '"')
		if end < 0 {
			return false
		}
		if tag[:end+2] == etag {
			return true
		}
		inm = tag[end+2:]
	}
	return false
}
