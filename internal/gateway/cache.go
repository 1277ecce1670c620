package gateway

import (
	"context"
	"errors"
	"fmt"
	"hash/maphash"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/maypok86/otter/v2"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/surgehq/surge/internal/items"
	"github.com/surgehq/surge/internal/timing"
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

// CacheMetrics are the collectors of the response cache.
type CacheMetrics struct {
	hits, misses, evictions prometheus.Counter
	invalidations           *prometheus.CounterVec
	denied                  prometheus.Counter
	bytes, entries          prometheus.GaugeFunc
	c                       atomic.Pointer[Cache]
}

// NewCacheMetrics makes the response cache's collectors and registers them.
func NewCacheMetrics(reg prometheus.Registerer) *CacheMetrics {
	m := &CacheMetrics{
		hits: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "surge_gateway_cache_hits_total", Help: "Cacheable requests answered from the response cache."}),
		misses: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "surge_gateway_cache_misses_total", Help: "Cacheable requests sent on to the function (not cached, expired, invalidated)."}),
		evictions: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "surge_gateway_cache_evictions_total", Help: "Cached responses evicted to keep the cache within its memory bound."}),
		invalidations: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "surge_gateway_cache_invalidations_total",
			Help: "Invalidations of cached responses, by cause: client (Cache-Control: max-age=0) or write (a write through the gateway)."},
			[]string{"cause"}),
		denied: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "surge_gateway_cache_invalidations_denied_total", Help: "Requests to invalidate a cached response from a caller not allowed to."}),
	}
	m.bytes = prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "surge_gateway_cache_bytes", Help: "Bytes held by the response cache (bodies, keys and a per-entry overhead)."},
		func() float64 {
			if c := m.c.Load(); c != nil {
				return float64(c.store.WeightedSize())
			}
			return 0
		})
	m.entries = prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "surge_gateway_cache_entries", Help: "Responses held by the response cache."},
		func() float64 {
			if c := m.c.Load(); c != nil {
				return float64(c.store.EstimatedSize())
			}
			return 0
		})
	m.invalidations.WithLabelValues("client")
	m.invalidations.WithLabelValues("write")
	reg.MustRegister(m.hits, m.misses, m.evictions, m.invalidations, m.denied, m.bytes, m.entries)
	return m
}

// Cache is API Gateway's response cache. Create it with NewCache.
type Cache struct {
	cfg    CacheConfig
	store  responseStore
	routes map[string]*cacheRoute
	gens   generations
	m      *CacheMetrics
	// writeError answers a refused invalidation.
	writeError func(http.ResponseWriter, error)
	log        *slog.Logger
}

// responseStore is where cached responses are kept: otter, or a fault in
// tests.
type responseStore interface {
	GetIfPresent(key string) (*cachedResponse, bool)
	Set(key string, v *cachedResponse) (*cachedResponse, bool)
	Invalidate(key string) (*cachedResponse, bool)
	WeightedSize() uint64
	EstimatedSize() int
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
func NewCache(cfg CacheConfig, m *CacheMetrics, log *slog.Logger, writeError func(http.ResponseWriter, error)) (*Cache, error) {
	if errs := cfg.Validate(); len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	customClock := cfg.Now != nil
	if !customClock {
		cfg.Now = time.Now
	}
	c := &Cache{cfg: cfg, routes: map[string]*cacheRoute{}, m: m, log: log, writeError: writeError}
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
				m.evictions.Inc()
			}
		},
		Logger: slogLogger{log},
	}
	if customClock {
		opts.Clock = clock{cfg.Now}
	}
	store, err := otter.New(opts)
	if err != nil {
		return nil, fmt.Errorf("response cache: %w", err)
	}
	c.store = store
	m.c.Store(c)
	return c, nil
}

// Close stops the cache's background work.
func (c *Cache) Close() {
	if s, ok := c.store.(interface{ StopAllGoroutines() bool }); ok {
		s.StopAllGoroutines()
	}
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

// generations record writes, so that a cached response read before a write
// is known stale. Counters are striped by hash: two resources sharing a
// stripe only invalidate each other more often than needed.
type generations struct {
	seed   maphash.Seed
	tenant [1 << 10]atomic.Uint64 // every response of the tenant
	list   [1 << 10]atomic.Uint64 // the tenant's collection pages
	item   [1 << 14]atomic.Uint64 // one resource of the tenant
}

func (g *generations) tenantGen(tenant string) *atomic.Uint64 {
	return &g.tenant[maphash.String(g.seed, tenant)%uint64(len(g.tenant))]
}

func (g *generations) listGen(tenant string) *atomic.Uint64 {
	return &g.list[maphash.String(g.seed, tenant)%uint64(len(g.list))]
}

func (g *generations) itemGen(tenant, id string) *atomic.Uint64 {
	var h maphash.Hash
	h.SetSeed(g.seed)
	h.WriteString(tenant)
	h.WriteByte(0)
	h.WriteString(id)
	return &g.item[h.Sum64()%uint64(len(g.item))]
}

// Middleware returns the response cache middleware. It must come after
// Routes and Auth, and before Conditional.
func (c *Cache) Middleware(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ri := Info(r.Context())
		if ri == nil {
			next.ServeHTTP(w, r)
			return
		}
		if r.Method == http.MethodGet {
			if cr := c.routes[ri.Route]; cr != nil {
				c.serveCacheable(w, r, ri, cr, next)
				return
			}
		}
		next.ServeHTTP(w, r)
		if c.cfg.InvalidateOnWrite && r.Method != http.MethodGet && r.Method != http.MethodHead && ri.Route != "" {
			c.invalidateAfterWrite(r, ri.Route)
		}
	})
}

// plan is what the cache decided for a cacheable request.
type plan struct {
	key               string
	tenantGen, resGen uint64
	bypass            bool // an allowed invalidation: skip the lookup
	warn              bool // an ignored invalidation to be flagged
	deny              bool // a refused invalidation, to answer 403
	hit               *cachedResponse
}

func (c *Cache) serveCacheable(w http.ResponseWriter, r *http.Request, ri *RequestInfo, cr *cacheRoute, next http.Handler) {
	start := time.Now()
	p, ok := c.safePlan(r, ri, cr)
	timing.Since(r.Context(), CacheTimingName, start)
	if !ok {
		next.ServeHTTP(w, r) // the cache failed: go on without it
		return
	}
	if p.deny {
		c.writeError(w, errDenied)
		return
	}
	if p.warn {
		w.Header().Set("Warning", invalidationWarning)
	}
	if p.hit != nil {
		c.m.hits.Inc()
		writeCached(w, r, p.hit, "Hit")
		return
	}
	c.m.misses.Inc()
	// Ask the function for the full answer: the client's conditional and
	// cache headers are the cache's business, not the function's.
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
		if e := c.safeStore(p, cw); e != nil {
			writeCached(w, r, e, "Miss")
			return
		}
	}
	cw.finish()
}

// safePlan computes the key and looks it up; ok is false if that failed
// (a bug), and the request should go on without the cache.
func (c *Cache) safePlan(r *http.Request, ri *RequestInfo, cr *cacheRoute) (p plan, ok bool) {
	defer func() {
		if v := recover(); v != nil {
			c.log.Error("response cache lookup failed; serving without it", "request_id", ri.ID, "err", fmt.Sprint(v))
			ok = false
		}
	}()
	tenant := items.TenantFrom(r.Context())
	var buf [8]string
	segs := appendSegments(buf[:0], r.URL.EscapedPath())
	p.key = c.key(r, cr, tenant, segs)
	tg, rg := c.resourceGens(cr, segs, tenant)
	p.tenantGen, p.resGen = tg.Load(), rg.Load()
	if wantsInvalidation(r.Header) {
		pr := principal(r)
		switch {
		case !c.cfg.RequireAuthorization || (pr != nil && pr.InvalidateCache):
			p.bypass = true
			c.m.invalidations.WithLabelValues("client").Inc()
		default:
			c.m.denied.Inc()
			switch c.cfg.Unauthorized {
			case UnauthorizedFail:
				p.deny = true
				return p, true
			case UnauthorizedWarn:
				p.warn = true
			}
		}
	}
	if p.bypass {
		return p, true
	}
	if e, found := c.store.GetIfPresent(p.key); found {
		if e.tenantGen == p.tenantGen && e.resGen == p.resGen {
			p.hit = e
		} else {
			c.store.Invalidate(p.key)
		}
	}
	return p, true
}

// safeStore caches a captured 200 answer and returns the entry, or nil if
// storing failed (a bug), in which case the captured answer is sent as is.
func (c *Cache) safeStore(p plan, cw *capture) (e *cachedResponse) {
	defer func() {
		if v := recover(); v != nil {
			c.log.Error("response cache store failed; serving without it", "err", fmt.Sprint(v))
			e = nil
		}
	}()
	h := make(http.Header, 3)
	for _, k := range []string{"Content-Type", "Etag", "Cache-Control"} {
		if v, ok := cw.h[k]; ok {
			h[k] = v
		}
	}
	e = &cachedResponse{header: h, body: append([]byte(nil), cw.body...), length: []string{strconv.Itoa(len(cw.body))},
		etag: cw.h.Get("Etag"), tenantGen: p.tenantGen, resGen: p.resGen}
	c.store.Set(p.key, e)
	return e
}

// errDenied answers a refused invalidation under UnauthorizedFail.
var errDenied = items.Errorf(items.EFORBIDDEN, "The caller may not invalidate the cache (Cache-Control: max-age=0).")

// writeCached writes a cached response, or 304 when the request's
// If-None-Match matches its ETag.
func writeCached(w http.ResponseWriter, r *http.Request, e *cachedResponse, xcache string) {
	h := w.Header()
	for k, v := range e.header {
		h[k] = v
	}
	h[CacheHeader] = xcacheValues[xcache]
	if e.etag != "" && etagMatch(r.Header.Get("If-None-Match"), e.etag) {
		delete(h, "Content-Type")
		w.WriteHeader(http.StatusNotModified)
		return
	}
	h["Content-Length"] = e.length
	w.WriteHeader(http.StatusOK)
	w.Write(e.body)
}

var xcacheValues = map[string][]string{"Hit": {"Hit"}, "Miss": {"Miss"}}

// key returns the cache key: method, route, tenant, then each declared
// parameter the route has. segs is the request's escaped path split at
// "/".
func (c *Cache) key(r *http.Request, cr *cacheRoute, tenant string, segs []string) string {
	var b strings.Builder
	b.Grow(64)
	b.WriteString(cr.pattern)
	b.WriteByte(0)
	b.WriteString(tenant)
	for _, p := range cr.params {
		b.WriteByte(0)
		b.WriteString(p.name)
		b.WriteByte('=')
		if p.seg < len(segs) {
			b.WriteString(unescapeSegment(segs[p.seg]))
		}
	}
	if len(cr.queries) > 0 && r.URL.RawQuery != "" {
		q, _ := url.ParseQuery(r.URL.RawQuery)
		for _, name := range cr.queries {
			for _, v := range q[name] {
				b.WriteByte(0)
				b.WriteString("q:" + name + "=")
				b.WriteString(v)
			}
		}
	}
	for _, name := range cr.headers {
		for _, v := range r.Header[name] {
			b.WriteByte(0)
			b.WriteString("h:" + name + "=")
			b.WriteString(v)
		}
	}
	return b.String()
}

// resourceGens returns the generation counters a cached response of the
// route depends on.
func (c *Cache) resourceGens(cr *cacheRoute, segs []string, tenant string) (tenantGen, resGen *atomic.Uint64) {
	tenantGen = c.gens.tenantGen(tenant)
	if len(cr.idSegs) == 0 {
		return tenantGen, c.gens.listGen(tenant)
	}
	return tenantGen, c.gens.itemGen(tenant, resourceID(cr.idSegs, segs))
}

// appendSegments appends the segments of path, split at "/", to dst, as
// strings.Split would return them, without allocating while dst has room.
func appendSegments(dst []string, path string) []string {
	for {
		i := strings.IndexByte(path, '/')
		if i < 0 {
			return append(dst, path)
		}
		dst = append(dst, path[:i])
		path = path[i+1:]
	}
}

// resourceID joins a path's wildcard segments.
func resourceID(idSegs []int, segs []string) string {
	if len(idSegs) == 1 { // the usual {id}: nothing to join
		if i := idSegs[0]; i < len(segs) {
			return unescapeSegment(segs[i])
		}
		return ""
	}
	var ids []string
	for _, i := range idSegs {
		if i < len(segs) {
			ids = append(ids, unescapeSegment(segs[i]))
		}
	}
	return strings.Join(ids, "/")
}

// unescapeSegment decodes a path segment, so that /items/a%2Db and
// /items/a-b, which name one item, share a key and a generation.
func unescapeSegment(s string) string {
	if strings.IndexByte(s, '%') < 0 {
		return s
	}
	if u, err := url.PathUnescape(s); err == nil {
		return u
	}
	return s
}

// invalidateAfterWrite moves the generations a write may have changed. A
// write to a cached route's resource (PUT /items/{id}) changes it and the
// tenant's collection; a write to a collection (POST /items) changes the
// collection; any other write (a batch, the dispatcher) may change
// anything of the tenant.
func (c *Cache) invalidateAfterWrite(r *http.Request, route string) {
	_, path, _ := strings.Cut(route, " ")
	if path == "" {
		path = route
	}
	tenant := items.TenantFrom(r.Context())
	c.m.invalidations.WithLabelValues("write").Inc()
	for _, cr := range c.routes {
		_, crPath, _ := strings.Cut(cr.pattern, " ")
		if crPath != path {
			continue
		}
		if len(cr.idSegs) > 0 {
			var buf [8]string
			c.gens.itemGen(tenant, resourceID(cr.idSegs, appendSegments(buf[:0], r.URL.EscapedPath()))).Add(1)
		}
		c.gens.listGen(tenant).Add(1)
		return
	}
	c.gens.tenantGen(tenant).Add(1)
}

// wantsInvalidation reports whether a request's Cache-Control asks for a
// fresh answer with max-age=0, as API Gateway reads it.
func wantsInvalidation(h http.Header) bool {
	for _, v := range h["Cache-Control"] {
		for _, d := range strings.Split(v, ",") {
			if strings.EqualFold(strings.TrimSpace(d), "max-age=0") {
				return true
			}
		}
	}
	return false
}
