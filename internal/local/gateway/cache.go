package gateway

import (
	"context"
	"errors"
	"fmt"
	"hash/maphash"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/maypok86/otter/v2"

	"github.com/surgehq/surge/internal/api/rest"
	"github.com/surgehq/surge/internal/items"
	"github.com/surgehq/surge/internal/observe/servertiming"
)

// API Gateway's cache limits, which the response cache mirrors.
const (
	// DefaultCacheTTL is API Gateway's default TTL.
	DefaultCacheTTL = 300 * time.Second
	// MaxCacheTTL is the longest TTL API Gateway allows.
	MaxCacheTTL = 3600 * time.Second
	// MaxCacheableBody is the largest response API Gateway caches.
	MaxCacheableBody = 1 << 20
	// DefaultCacheMB is the cache's default memory bound.
	DefaultCacheMB = 64
)

// CacheHeader is the response header that says whether a cacheable
// response came from the response cache: "Hit" or "Miss". It is surge's
// own; API Gateway has no such header.
const CacheHeader = "X-Cache"

// CacheTimingName is the Server-Timing metric of the response cache's
// lookup.
const CacheTimingName = "cache"

// Strategies for a client that asks to invalidate a cached response
// (Cache-Control: max-age=0) without being allowed to, as API Gateway's
// unauthorizedCacheControlHeaderStrategy.
const (
	// UnauthorizedFail answers 403 (FAIL_WITH_403).
	UnauthorizedFail = "fail"
	// UnauthorizedWarn ignores the header and adds a Warning header to the
	// answer (SUCCEED_WITH_RESPONSE_HEADER, API Gateway's default).
	UnauthorizedWarn = "warn"
	// UnauthorizedIgnore ignores the header silently
	// (SUCCEED_WITHOUT_RESPONSE_HEADER).
	UnauthorizedIgnore = "ignore"
)

// invalidationWarning is the Warning header of an ignored invalidation.
const invalidationWarning = `199 surge "Cache-Control: max-age=0 was ignored: the caller may not invalidate the cache"`

// DefaultCacheKey is the default list of declared parameters in the cache
// key: the item id and the list's page (the tenant is always in it).
var DefaultCacheKey = []string{"path.id", "querystring.limit", "querystring.cursor"}

// CacheConfig configures the response cache.
type CacheConfig struct {
	// TTL is how long a response is served from the cache: 1 s to
	// MaxCacheTTL.
	TTL time.Duration
	// MaxBytes bounds the memory the cached responses take.
	MaxBytes int64
	// Routes are the GET routes whose responses are cached, by pattern
	// ("GET /items/{id}").
	Routes []string
	// Key lists the declared parameters of the cache key, as API Gateway's
	// cacheKeyParameters: "path.NAME", "querystring.NAME", "header.NAME".
	// The method, the route and the tenant are always in the key; a
	// parameter that a route does not have is left out of its key.
	Key []string
	// InvalidateOnWrite drops a tenant's cached responses that a write
	// through the gateway may have changed: an item's on a write to it,
	// the tenant's list pages on any write of the tenant, and all of the
	// tenant's on a batch or dispatcher call. API Gateway never does; off
	// reproduces its stale reads.
	InvalidateOnWrite bool
	// RequireAuthorization limits invalidation by Cache-Control: max-age=0
	// to principals allowed to (auth.Principal.InvalidateCache); others
	// are handled by Unauthorized. Off, any client may invalidate.
	RequireAuthorization bool
	// Unauthorized is the strategy for an invalidation that is not
	// allowed: UnauthorizedFail, UnauthorizedWarn or UnauthorizedIgnore.
	Unauthorized string
	// Now is the clock (default time.Now).
	Now func() time.Time
	// Log receives the cache library's warnings (default: discarded).
	Log *slog.Logger
	// Observer, when set, is told of hits, misses, evictions and
	// invalidations.
	Observer CacheObserver
}

// Validate reports what is wrong with c.
func (c CacheConfig) Validate() []error {
	var errs []error
	if c.TTL < time.Second || c.TTL > MaxCacheTTL {
		errs = append(errs, fmt.Errorf("cache TTL %v: want 1s to %v (0 turns the cache off)", c.TTL, MaxCacheTTL))
	}
	if c.MaxBytes <= 0 {
		errs = append(errs, fmt.Errorf("cache size %d: want more than 0", c.MaxBytes))
	}
	switch c.Unauthorized {
	case UnauthorizedFail, UnauthorizedWarn, UnauthorizedIgnore:
	default:
		errs = append(errs, fmt.Errorf("unauthorized invalidation strategy %q: want fail, warn or ignore", c.Unauthorized))
	}
	for _, p := range c.Key {
		if _, _, err := parseKeyParam(p); err != nil {
			errs = append(errs, err)
		}
	}
	for _, r := range c.Routes {
		if !strings.HasPrefix(r, "GET /") {
			errs = append(errs, fmt.Errorf("cached route %q: only GET routes are cached", r))
		}
	}
	return errs
}

// parseKeyParam splits a declared parameter into its place and name.
func parseKeyParam(p string) (place, name string, err error) {
	place, name, ok := strings.Cut(p, ".")
	if !ok || name == "" || (place != "path" && place != "querystring" && place != "header") {
		return "", "", fmt.Errorf("cache key parameter %q: want path.NAME, querystring.NAME or header.NAME", p)
	}
	if place == "header" {
		name = http.CanonicalHeaderKey(name)
	}
	return place, name, nil
}

// Cache is API Gateway's response cache. Create it with NewCache.
type Cache struct {
	cfg    CacheConfig
	store  *otter.Cache[string, *cachedResponse]
	routes map[string]*cacheRoute
	gens   generations
	obs    CacheObserver
}

// cachedResponse is a cached 200 answer.
type cachedResponse struct {
	header http.Header // Content-Type, ETag, Cache-Control: never modified
	body   []byte
	length []string // Content-Length, never modified
	etag   string
	// tenantGen and resGen are the generations the response was read at;
	// a write since has changed them, and the response is stale.
	tenantGen, resGen uint64
	// stamp places an item answer in its item's history.
	stamp itemStamp
}

// entryOverhead is what a cached response costs beyond its key and body.
const entryOverhead = 256

// cacheRoute is a cached route's key recipe.
type cacheRoute struct {
	pattern string
	// segments are the pattern's path segments; params map a declared
	// path parameter to its segment.
	segments []string
	params   []pathParam
	// idSegs are the segments of every wildcard: what names the resource
	// (its generation); none for a collection.
	idSegs  []int
	queries []string
	headers []string
}

type pathParam struct {
	name string
	seg  int
}

// NewCache returns a response cache; cfg must be valid (see Validate).
func NewCache(cfg CacheConfig) (*Cache, error) {
	if errs := cfg.Validate(); len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	customClock := cfg.Now != nil
	if !customClock {
		cfg.Now = time.Now
	}
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	obs := cfg.Observer
	if obs == nil {
		obs = CacheObservers(nil)
	}
	c := &Cache{cfg: cfg, routes: map[string]*cacheRoute{}, obs: obs}
	c.gens.seed = maphash.MakeSeed()
	for _, r := range cfg.Routes {
		c.routes[r] = newCacheRoute(r, cfg.Key)
	}
	opts := &otter.Options[string, *cachedResponse]{
		MaximumWeight: uint64(cfg.MaxBytes),
		Weigher: func(k string, v *cachedResponse) uint32 {
			return uint32(len(k) + len(v.body) + entryOverhead)
		},
		ExpiryCalculator: otter.ExpiryWriting[string, *cachedResponse](cfg.TTL),
		OnDeletion: func(e otter.DeletionEvent[string, *cachedResponse]) {
			if e.Cause == otter.CauseOverflow {
				obs.CacheEvicted()
			}
		},
		Logger: slogLogger{cfg.Log},
	}
	if customClock {
		opts.Clock = clock{cfg.Now}
	}
	store, err := otter.New(opts)
	if err != nil {
		return nil, fmt.Errorf("response cache: %w", err)
	}
	c.store = store
	return c, nil
}

// Close stops the cache's background work.
func (c *Cache) Close() { c.store.StopAllGoroutines() }

// Size returns what the cache holds now: bytes (bodies, keys and a
// per-entry overhead) and responses.
func (c *Cache) Size() (bytes uint64, entries int) {
	return c.store.WeightedSize(), c.store.EstimatedSize()
}

func newCacheRoute(pattern string, key []string) *cacheRoute {
	_, path, _ := strings.Cut(pattern, " ")
	cr := &cacheRoute{pattern: pattern, segments: strings.Split(path, "/")}
	for i, s := range cr.segments {
		if strings.HasPrefix(s, "{") && strings.HasSuffix(s, "}") {
			cr.idSegs = append(cr.idSegs, i)
		}
	}
	for _, p := range key {
		place, name, _ := parseKeyParam(p)
		switch place {
		case "path":
			for i, s := range cr.segments {
				if s == "{"+name+"}" {
					cr.params = append(cr.params, pathParam{name, i})
				}
			}
		case "querystring":
			cr.queries = append(cr.queries, name)
		case "header":
			cr.headers = append(cr.headers, name)
		}
	}
	return cr
}

// clock adapts a Now function to otter's Clock. It has no ticks: expired
// entries are dropped when met, and by the size bound.
type clock struct{ now func() time.Time }

func (c clock) NowNano() int64                      { return c.now().UnixNano() }
func (c clock) Tick(time.Duration) <-chan time.Time { return nil }

// slogLogger adapts slog to otter's Logger.
type slogLogger struct{ log *slog.Logger }

func (l slogLogger) Warn(ctx context.Context, msg string, err error) {
	l.log.WarnContext(ctx, "response cache: "+msg, "err", err)
}

func (l slogLogger) Error(ctx context.Context, msg string, err error) {
	l.log.ErrorContext(ctx, "response cache: "+msg, "err", err)
}

// Middleware returns the response cache middleware. It must come after
// rest.Routes and Auth, and before Conditional.
func (c *Cache) Middleware() rest.Middleware {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			ri := rest.Info(r.Context())
			if ri == nil {
				next.ServeHTTP(w, r)
				return
			}
			if r.Method == http.MethodGet {
				if cr := c.routes[ri.Route]; cr != nil {
					c.serveCacheable(w, r, cr, next)
					return
				}
			}
			if c.cfg.InvalidateOnWrite && r.Method != http.MethodGet && r.Method != http.MethodHead && ri.Route != "" {
				c.serveWrite(w, r, ri.Route, next)
				return
			}
			next.ServeHTTP(w, r)
		})
	}
}

// serveWrite passes a write on, its generations pending from before it
// reaches the integration until its answer starts (see generations).
func (c *Cache) serveWrite(w http.ResponseWriter, r *http.Request, route string, next http.Handler) {
	gens := c.writeGens(r, route)
	c.obs.CacheInvalidated("write")
	beginWrite(gens)
	ww := &writeEnd{ResponseWriter: w, gens: gens}
	defer ww.end() // a handler that wrote nothing, or panicked
	next.ServeHTTP(ww, r)
}

// writeEnd ends a write's pending state as its answer starts, before the
// client can read it: a client that has the answer finds no response
// cached from before the write.
type writeEnd struct {
	http.ResponseWriter
	gens  []*genCounter
	ended bool
}

func (w *writeEnd) end() {
	if !w.ended {
		w.ended = true
		endWrite(w.gens)
	}
}

func (w *writeEnd) WriteHeader(code int) {
	w.end()
	w.ResponseWriter.WriteHeader(code)
}

func (w *writeEnd) Write(b []byte) (int, error) {
	w.end()
	return w.ResponseWriter.Write(b)
}

// Flush implements http.Flusher.
func (w *writeEnd) Flush() {
	w.end()
	_ = http.NewResponseController(w.ResponseWriter).Flush()
}

// Unwrap lets http.ResponseController reach the writer below.
func (w *writeEnd) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// plan is what the cache decided for a cacheable request.
type plan struct {
	key               string
	tg, rg            *genCounter
	tenantGen, resGen uint64
	// quiet is set when no write the response depends on was pending as
	// it was planned: only then may the answer be cached.
	quiet  bool
	bypass bool // an allowed invalidation: skip the lookup
	warn   bool // an ignored invalidation to be flagged
	deny   bool // a refused invalidation, to answer 403
	hit    *cachedResponse
}

func (c *Cache) serveCacheable(w http.ResponseWriter, r *http.Request, cr *cacheRoute, next http.Handler) {
	start := time.Now()
	p := c.plan(r, cr)
	servertiming.Since(r.Context(), CacheTimingName, start)
	if p.deny {
		rest.WriteError(w, errDenied)
		return
	}
	if p.warn {
		w.Header().Set("Warning", invalidationWarning)
	}
	if p.hit != nil {
		c.obs.CacheHit()
		writeCached(w, r, p.hit, "Hit")
		return
	}
	c.obs.CacheMiss()
	// Ask the function for the full answer: the client's conditional and
	// cache headers are the cache's business, not the function's.
	// If-Match goes on: the function answers 412 when it does not match.
	fr := r
	if r.Header.Get("If-None-Match") != "" || r.Header.Get("Cache-Control") != "" {
		fr = r.Clone(r.Context())
		fr.Header.Del("If-None-Match")
		fr.Header.Del("Cache-Control")
	}
	cw := getCapture(w, MaxCacheableBody)
	defer cw.release()
	cw.onPass = func(h http.Header) { h.Set(CacheHeader, "Miss") }
	next.ServeHTTP(cw, fr)
	if cw.passing {
		return // too big to cache: it went through as it came
	}
	if cw.status == http.StatusOK {
		writeCached(w, r, c.keep(p, cw), "Miss")
		return
	}
	cw.finish()
}

// plan computes the key of a cacheable request, decides on its
// invalidation, and looks it up.
func (c *Cache) plan(r *http.Request, cr *cacheRoute) (p plan) {
	tenant := items.TenantFrom(r.Context())
	var buf [8]string
	segs := appendSegments(buf[:0], r.URL.EscapedPath())
	p.key = c.key(r, cr, tenant, segs)
	p.tg, p.rg = c.resourceGens(cr, segs, tenant)
	// The generations first, then the pending writes: a write that begins
	// in between moves the generations, and its answer is not cached.
	p.tenantGen, p.resGen = p.tg.gen.Load(), p.rg.gen.Load()
	p.quiet = p.tg.pending.Load() == 0 && p.rg.pending.Load() == 0
	if wantsInvalidation(r.Header) {
		pr := principal(r)
		switch {
		case !c.cfg.RequireAuthorization || (pr != nil && pr.InvalidateCache):
			p.bypass = true
			c.obs.CacheInvalidated("client")
		default:
			c.obs.CacheDenied()
			switch c.cfg.Unauthorized {
			case UnauthorizedFail:
				p.deny = true
				return p
			case UnauthorizedWarn:
				p.warn = true
			}
		}
	}
	if p.bypass {
		return p
	}
	if e, found := c.store.GetIfPresent(p.key); found {
		if e.tenantGen == p.tenantGen && e.resGen == p.resGen {
			p.hit = e
		} else {
			c.store.Invalidate(p.key)
		}
	}
	return p
}

// keep caches a captured 200 answer and returns the entry. The answer is
// cached only if no write it depends on was pending when it was planned
// and none began since (a miss in flight during an invalidation does not
// store its answer), and never over a newer answer of the same item.
func (c *Cache) keep(p plan, cw *capture) *cachedResponse {
	h := make(http.Header, 3)
	for _, k := range []string{"Content-Type", "Etag", "Cache-Control"} {
		if v, ok := cw.h[k]; ok {
			h[k] = v
		}
	}
	e := &cachedResponse{header: h, body: append([]byte(nil), cw.body...), length: []string{strconv.Itoa(len(cw.body))},
		etag: cw.h.Get("Etag"), tenantGen: p.tenantGen, resGen: p.resGen, stamp: parseItemStamp(cw.body)}
	if !p.quiet {
		return e
	}
	c.store.Compute(p.key, func(old *cachedResponse, found bool) (*cachedResponse, otter.ComputeOp) {
		if p.tg.gen.Load() != p.tenantGen || p.rg.gen.Load() != p.resGen {
			return old, otter.CancelOp // a write began since the answer was planned
		}
		if found && old.tenantGen == p.tenantGen && old.resGen == p.resGen {
			switch compareAnswers(e, old) {
			case older, same:
				return old, otter.CancelOp
			case unordered:
				return old, otter.InvalidateOp
			}
		}
		return e, otter.WriteOp
	})
	return e
}

// errDenied answers a refused invalidation under UnauthorizedFail.
var errDenied = items.Errorf(items.EFORBIDDEN, "The caller may not invalidate the cache (Cache-Control: max-age=0).")

// writeCached writes a cached response, or the answer its request's
// preconditions give against its entity tag (RFC 9110, 13.2.2): 412 when
// If-Match does not match, 304 when If-None-Match does.
func writeCached(w http.ResponseWriter, r *http.Request, e *cachedResponse, xcache string) {
	h := w.Header()
	h[CacheHeader] = xcacheValues[xcache]
	tag, hasTag := rest.OpaqueTag(e.etag)
	cond := rest.RequestConditions(r)
	switch cond.Evaluate(r.Method, true, tag, hasTag) {
	case rest.Failed:
		rest.WriteError(w, errPrecondition)
		return
	case rest.NotModified:
		// 304 carries what a 200 would have for caches (RFC 9110, 15.4.5).
		for _, k := range []string{"Etag", "Cache-Control"} {
			if v, ok := e.header[k]; ok {
				h[k] = v
			}
		}
		w.WriteHeader(http.StatusNotModified)
		return
	}
	for k, v := range e.header {
		h[k] = v
	}
	h["Content-Length"] = e.length
	w.WriteHeader(http.StatusOK)
	w.Write(e.body)
}

// errPrecondition answers a request whose If-Match does not match.
var errPrecondition = items.Errorf(items.EPRECONDITION, "The item has changed (If-Match does not match).")

var xcacheValues = map[string][]string{"Hit": {"Hit"}, "Miss": {"Miss"}}
