// Package itemsapi is the HTTP face of the items service: the handlers of
// every endpoint of the contract (shared/API.md) over an items.Store, the
// operation dispatcher of the original Lambda function, and the one table
// that maps the domain's error codes to HTTP statuses.
//
// The Handler does not authenticate, log, recover panics or count
// requests: the gateway's middleware in front of it does. It reads the
// tenant from the request's context (items.TenantFrom), records store
// time with package servertiming, and reports the causes of 5xx answers through
// the OnError option so that the server can log them with the request id.
package itemsapi

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/surgehq/surge/internal/api/rest"
	"github.com/surgehq/surge/internal/items"
	"github.com/surgehq/surge/internal/store"
)

// Defaults of the options.
const (
	// DefaultCacheControl makes clients revalidate a cached item with
	// If-None-Match before using it: items change at any time.
	DefaultCacheControl = "no-cache"
	// DefaultTable is the table name the /ops dispatcher accepts.
	DefaultTable = "items"
	// DefaultReadyTimeout bounds the store's ping in /readyz.
	DefaultReadyTimeout = time.Second
	// DefaultWriteAttempts bounds the read-modify-write attempts of a
	// PATCH (and of the dispatcher's update and create) that keeps losing
	// races against other writers.
	DefaultWriteAttempts = 16
)

// Body limits. An item body may be a little over MaxItemSize (whitespace,
// escapes, server-managed members that are dropped); the item itself is
// checked against MaxItemSize by the store.
const (
	// MaxItemBody is the largest body of POST, PUT and PATCH /items and
	// of POST /ops.
	MaxItemBody = items.MaxItemSize + 64<<10
	// MaxBatchBody is the largest body of POST /items/_batch: 25 items'
	// worth.
	MaxBatchBody = items.MaxBatchOps * MaxItemBody
)

// Handler serves the items API. Create one with New; it is safe for
// concurrent use.
type Handler struct {
	store         items.Store
	mux           *http.ServeMux
	cacheControl  []string
	table         string
	onError       func(*http.Request, error)
	readyTimeout  time.Duration
	writeAttempts int
	// allow maps each route path to its Allow header value.
	allow []pathAllow
}

type pathAllow struct {
	segments []string
	value    string
}

// Option configures a Handler.
type Option func(*Handler)

// CacheControl sets the Cache-Control header of GET /items/{id}
// (default DefaultCacheControl).
func CacheControl(v string) Option {
	return func(h *Handler) { h.cacheControl = []string{v} }
}

// Table sets the table name that the dispatcher's tableName must equal
// when present (default DefaultTable).
func Table(name string) Option {
	return func(h *Handler) { h.table = name }
}

// OnError sets a function called with the request and the cause of every
// 5xx answer (an internal error, an unavailable store), for the server to
// log; the client sees only the contract's message. For a batch, it is
// called once per failed operation. It must be safe for concurrent use.
func OnError(fn func(r *http.Request, err error)) Option {
	return func(h *Handler) { h.onError = fn }
}

// ReadyTimeout bounds the store's ping behind /readyz
// (default DefaultReadyTimeout).
func ReadyTimeout(d time.Duration) Option {
	return func(h *Handler) { h.readyTimeout = d }
}

// WriteAttempts bounds the attempts of a read-modify-write that loses
// races to other writers (default DefaultWriteAttempts); after the last,
// the request fails with 503 and Retry-After.
func WriteAttempts(n int) Option {
	return func(h *Handler) { h.writeAttempts = max(n, 1) }
}

// routeTable lists every route with its handler; Routes and New read it.
var routeTable = []struct {
	rest.Route
	serve func(*Handler, http.ResponseWriter, *http.Request)
}{
	{rest.Route{Method: "GET", Pattern: "/items"}, (*Handler).listItems},
	{rest.Route{Method: "POST", Pattern: "/items"}, (*Handler).createItem},
	{rest.Route{Method: "POST", Pattern: "/items/_batch"}, (*Handler).batch},
	{rest.Route{Method: "GET", Pattern: "/items/{id}"}, (*Handler).getItem},
	{rest.Route{Method: "PUT", Pattern: "/items/{id}"}, (*Handler).putItem},
	{rest.Route{Method: "PATCH", Pattern: "/items/{id}"}, (*Handler).patchItem},
	{rest.Route{Method: "DELETE", Pattern: "/items/{id}"}, (*Handler).deleteItem},
	{rest.Route{Method: "POST", Pattern: "/ops"}, (*Handler).ops},
	{rest.Route{Method: "POST", Pattern: "/DynamoDBManager"}, (*Handler).ops},
	{rest.Route{Method: "GET", Pattern: "/healthz"}, (*Handler).healthz},
	{rest.Route{Method: "GET", Pattern: "/readyz"}, (*Handler).readyz},
	{rest.Route{Method: "GET", Pattern: "/openapi.json"}, (*Handler).openAPI},
}

// BodyLimit returns the largest request body of a route, by its pattern
// ("POST /items/_batch"): MaxBatchBody for a batch, MaxItemBody for any
// other, since no other route takes more (and those without a body read
// none). A gateway enforces it before the body is read (gateway.BodyLimit);
// the handlers check it again.
func BodyLimit(route string) int64 {
	if route == "POST /items/_batch" {
		return MaxBatchBody
	}
	return MaxItemBody
}

// Routes returns every route the Handler serves, so that a gateway can
// resolve a request's route pattern before the Handler sees it. Requests
// that match no route are answered 404 (no path) or 405 (no method).
func Routes() []rest.Route {
	rs := make([]rest.Route, len(routeTable))
	for i, rt := range routeTable {
		rs[i] = rt.Route
	}
	return rs
}

// New returns a Handler serving the API over s, whose calls it times for
// Server-Timing (through store.Instrument, so that a store already
// instrumented gets one more hook rather than one more wrapper).
func New(s items.Store, opts ...Option) *Handler {
	h := &Handler{
		store:         store.Instrument(s, timing{}),
		mux:           http.NewServeMux(),
		cacheControl:  []string{DefaultCacheControl},
		table:         DefaultTable,
		readyTimeout:  DefaultReadyTimeout,
		writeAttempts: DefaultWriteAttempts,
	}
	for _, o := range opts {
		o(h)
	}
	h.routes()
	return h
}

// routes registers the route table, and catch-alls so that every other
// request gets the contract's JSON 404 or 405 rather than the mux's
// plain-text answers.
func (h *Handler) routes() {
	methods := map[string][]string{} // path -> methods, in table order
	var paths []string
	for _, rt := range routeTable {
		serve := rt.serve
		h.mux.HandleFunc(rt.Method+" "+rt.Pattern, func(w http.ResponseWriter, r *http.Request) { serve(h, w, r) })
		if _, ok := methods[rt.Pattern]; !ok {
			paths = append(paths, rt.Pattern)
		}
		methods[rt.Pattern] = append(methods[rt.Pattern], rt.Method)
	}
	for _, p := range paths {
		var allow []string
		for _, m := range methods[p] {
			allow = append(allow, m)
			if m == http.MethodGet {
				allow = append(allow, http.MethodHead)
			}
		}
		h.allow = append(h.allow, pathAllow{segments: strings.Split(p, "/"), value: strings.Join(allow, ", ")})
	}
	for _, p := range paths {
		// A literal path that a wildcard path also matches (/items/_batch
		// and /items/{id}) cannot have a method-less catch-all: the mux
		// would find it in conflict with GET /items/{id}. Instead the
		// wildcard's methods are registered on it one by one, and other
		// methods reach the wildcard's catch-all, whose Allow is chosen
		// by the request's path.
		shadowed := false
		for _, q := range paths {
			if q != p && strings.Contains(q, "{") && !strings.Contains(p, "{") && matchPath(strings.Split(q, "/"), p) >= 0 {
				shadowed = true
				for _, m := range methods[q] {
					if !slices.Contains(methods[p], m) {
						h.mux.HandleFunc(m+" "+p, h.methodNotAllowed)
					}
				}
			}
		}
		if !shadowed {
			h.mux.HandleFunc(p, h.methodNotAllowed)
		}
	}
	h.mux.HandleFunc("/", h.notFound)
}

// matchPath reports how well a route's path segments match an escaped
// request path: -1 for no match, else the number of literal segments.
func matchPath(segments []string, path string) int {
	parts := strings.Split(path, "/")
	if len(parts) != len(segments) {
		return -1
	}
	score := 0
	for i, seg := range segments {
		switch {
		case strings.HasPrefix(seg, "{"):
			if parts[i] == "" {
				return -1
			}
		case seg == parts[i]:
			score++
		default:
			return -1
		}
	}
	return score
}

// allowFor returns the Allow header value for a request path: the methods
// of the most specific route path that matches it.
func (h *Handler) allowFor(path string) string {
	best, value := -1, ""
	for _, a := range h.allow {
		if s := matchPath(a.segments, path); s > best {
			best, value = s, a.value
		}
	}
	return value
}

// ServeHTTP implements http.Handler.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if p := r.URL.Path; p != rest.CleanPath(p) {
		// The mux would redirect to the clean path with an HTML body, and
		// a client would follow with a GET; no route has such a path.
		h.notFound(w, r)
		return
	}
	h.mux.ServeHTTP(w, r)
}

// fail writes err as the contract's error response, reporting the cause
// of a 5xx through OnError first.
func (h *Handler) fail(w http.ResponseWriter, r *http.Request, err error) {
	h.report(r, err)
	rest.WriteError(w, err)
}

// report passes the cause of a 5xx to OnError.
func (h *Handler) report(r *http.Request, err error) {
	if h.onError != nil && rest.ErrorStatus(err) >= 500 {
		h.onError(r, err)
	}
}

func (h *Handler) notFound(w http.ResponseWriter, r *http.Request) {
	h.fail(w, r, items.Errorf(items.ENOTFOUND, "No such route: %s.", clip(r.URL.Path)))
}

func (h *Handler) methodNotAllowed(w http.ResponseWriter, r *http.Request) {
	if allow := h.allowFor(r.URL.EscapedPath()); allow != "" {
		w.Header().Set("Allow", allow)
	}
	h.fail(w, r, errMethod(r))
}

// healthz answers liveness: the process serves requests.
func (h *Handler) healthz(w http.ResponseWriter, r *http.Request) {
	rest.WriteJSON(w, http.StatusOK, []byte(`{"status":"ok"}`))
}

// readyz answers readiness: the store answers a ping in time.
func (h *Handler) readyz(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), h.readyTimeout)
	defer cancel()
	if err := h.store.Ping(ctx); err != nil {
		if h.onError != nil {
			h.onError(r, fmt.Errorf("readiness: store ping: %w", err))
		}
		rest.WriteError(w, items.Errorf(items.EUNAVAILABLE, "The store does not answer."))
		return
	}
	rest.WriteJSON(w, http.StatusOK, []byte(`{"status":"ok"}`))
}
