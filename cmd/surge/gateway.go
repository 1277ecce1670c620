package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/peterbourgon/ff/v4"
	"github.com/peterbourgon/ff/v4/ffyaml"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/surgehq/surge/examples"
	"github.com/surgehq/surge/internal/auth"
	"github.com/surgehq/surge/internal/gateway"
	"github.com/surgehq/surge/internal/itemcache"
	"github.com/surgehq/surge/internal/items"
	"github.com/surgehq/surge/internal/itemsapi"
	"github.com/surgehq/surge/internal/timing"
	"github.com/surgehq/surge/internal/tracing"
)

// gatewayConfig holds the flags of the gateway's optional parts: each is
// off by default, and a config file (--config, --optimized) may set any of
// them; see examples/optimized.yaml.
type gatewayConfig struct {
	configFile string
	optimized  bool

	cache struct {
		enabled              bool
		ttl                  time.Duration
		sizeMB               int
		routes               string
		key                  string
		invalidateOnWrite    bool
		requireAuthorization bool
		unauthorized         string
	}
	etags bool

	throttle struct {
		stageRate, accountRate   float64
		stageBurst, accountBurst int
		routes                   string
	}

	auth struct {
		keys, jwtSecretFile, jwks     string
		tenantClaim, issuer, audience string
		invalidateScope               string
	}

	readCache struct {
		enabled           bool
		itemTTL, queryTTL time.Duration
		items, queries    int
		itemMB, queryMB   int
	}

	trace struct {
		endpoint    string
		sampleRatio float64
		propagators string
	}
}

// register adds the gateway's flags to fs.
func (g *gatewayConfig) register(fs *ff.FlagSet) {
	fs.StringVar(&g.configFile, 0, "config", "", "YAML config file: a section per part, each key a flag (cache: {ttl: 300s} is --cache-ttl); flags and SURGE_ variables win over it")
	fs.BoolVar(&g.optimized, 0, "optimized", "turn on the seed article's optimizations (examples/optimized.yaml) under any --config, flags and variables")

	c := &g.cache
	fs.BoolVar(&c.enabled, 0, "cache-enabled", "cache GET responses in the gateway, as API Gateway's cache")
	fs.DurationVar(&c.ttl, 0, "cache-ttl", gateway.DefaultCacheTTL, "response cache TTL, 1s to 1h; 0 turns the cache off")
	fs.IntVar(&c.sizeMB, 0, "cache-size-mb", gateway.DefaultCacheMB, "response cache memory bound, in MB")
	fs.StringVar(&c.routes, 0, "cache-routes", "GET /items/{id},GET /items", "GET routes whose responses are cached, comma-separated")
	fs.StringVar(&c.key, 0, "cache-key", strings.Join(gateway.DefaultCacheKey, ","), "declared cache key parameters (path.NAME, querystring.NAME, header.NAME); method, route and tenant are always in the key")
	fs.BoolVarDefault(&c.invalidateOnWrite, 0, "cache-invalidate-on-write", true, "drop cached responses a write through the gateway may change (false: API Gateway's stale reads until the TTL)")
	fs.BoolVarDefault(&c.requireAuthorization, 0, "cache-require-authorization", true, "let only callers allowed to (keys with invalidate-cache, tokens with the scope) invalidate with Cache-Control: max-age=0")
	fs.StringEnumVar(&c.unauthorized, 0, "cache-unauthorized", "an invalidation by a caller not allowed to: warn (ignore it, add a Warning header), ignore (silently) or fail (403)", gateway.UnauthorizedWarn, gateway.UnauthorizedIgnore, gateway.UnauthorizedFail)
	fs.BoolVar(&g.etags, 0, "etags", "ETag and If-None-Match (304) on list pages too (items always have them)")

	t := &g.throttle
	fs.Float64Var(&t.stageRate, 0, "throttle-stage-rate", 0, "stage throttling: requests per second (the article: 1000); 0 turns it off")
	fs.IntVar(&t.stageBurst, 0, "throttle-stage-burst", 0, "stage throttling: burst (default: the rate)")
	fs.Float64Var(&t.accountRate, 0, "throttle-account-rate", 0, "account throttling: requests per second (AWS: 10000); 0 turns it off")
	fs.IntVar(&t.accountBurst, 0, "throttle-account-burst", 0, "account throttling: burst (AWS: 5000; default: the rate)")
	fs.StringVar(&t.routes, 0, "throttle-routes", "", `route throttling, comma-separated "METHOD PATH=RATE:BURST" ("GET /items/{id}=500:1000")`)

	a := &g.auth
	fs.StringVar(&a.keys, 0, "auth-keys", "", "API keys file (YAML or JSON: key -> tenant, usage plan); with keys, x-api-key is required")
	fs.StringVar(&a.jwtSecretFile, 0, "auth-jwt-secret-file", "", "file holding the HS256 secret of bearer tokens; with it (or --auth-jwks), a bearer token is required")
	fs.StringVar(&a.jwks, 0, "auth-jwks", "", "JWKS file of the RS256 keys of bearer tokens")
	fs.StringVar(&a.tenantClaim, 0, "auth-jwt-tenant-claim", auth.DefaultTenantClaim, "the token claim that names the tenant")
	fs.StringVar(&a.issuer, 0, "auth-jwt-issuer", "", "required token issuer (iss), if set")
	fs.StringVar(&a.audience, 0, "auth-jwt-audience", "", "required token audience (aud), if set")
	fs.StringVar(&a.invalidateScope, 0, "auth-jwt-invalidate-scope", auth.DefaultInvalidateScope, "the token scope that allows cache invalidation")

	r := &g.readCache
	fs.BoolVar(&r.enabled, 0, "read-cache-enabled", "read-through item and query cache in front of the store, as DAX")
	fs.DurationVar(&r.itemTTL, 0, "read-cache-item-ttl", itemcache.DefaultTTL, "read cache: item cache TTL; 0 turns it off")
	fs.DurationVar(&r.queryTTL, 0, "read-cache-query-ttl", itemcache.DefaultTTL, "read cache: query (list) cache TTL; 0 turns it off")
	fs.IntVar(&r.items, 0, "read-cache-items", itemcache.DefaultItemEntries, "read cache: most items held")
	fs.IntVar(&r.queries, 0, "read-cache-queries", itemcache.DefaultQueryEntries, "read cache: most list pages held")
	fs.IntVar(&r.itemMB, 0, "read-cache-item-mb", itemcache.DefaultItemBytes>>20, "read cache: item cache memory bound, in MB")
	fs.IntVar(&r.queryMB, 0, "read-cache-query-mb", itemcache.DefaultQueryBytes>>20, "read cache: query cache memory bound, in MB")

	tr := &g.trace
	fs.StringVar(&tr.endpoint, 0, "trace-endpoint", "", "OTLP/HTTP endpoint for traces (http://127.0.0.1:4318/v1/traces); empty: no tracing, at no cost")
	fs.Float64Var(&tr.sampleRatio, 0, "trace-sample-ratio", 1, "share of new traces recorded, 0 to 1")
	fs.StringVar(&tr.propagators, 0, "trace-propagators", "tracecontext,xray", "trace header formats read and written: tracecontext (W3C), xray (X-Amzn-Trace-Id)")
}

// applyConfigFiles sets the flags that neither the command line nor the
// environment set from --config, then from the --optimized preset, so
// that flags win over variables, variables over the file, and the file
// over the preset.
func (g *gatewayConfig) applyConfigFiles(fs *ff.FlagSet) error {
	if g.configFile != "" {
		f, err := os.Open(g.configFile)
		if err != nil {
			return fmt.Errorf("config: %w", err)
		}
		defer f.Close()
		if err := applyConfig(fs, f); err != nil {
			return fmt.Errorf("config %s: %w", g.configFile, err)
		}
	}
	if g.optimized {
		if err := applyConfig(fs, bytes.NewReader(examples.Optimized)); err != nil {
			return fmt.Errorf("--optimized preset: %w", err)
		}
	}
	return nil
}

// applyConfig sets, from a YAML config, each flag not set yet. Nested keys
// join with dashes (cache: {ttl: 300s} sets --cache-ttl); an unknown key is
// an error, so that a typo does not pass silently.
func applyConfig(fs *ff.FlagSet, r io.Reader) error {
	set := map[string]bool{}
	_ = fs.WalkFlags(func(f ff.Flag) error {
		if name, ok := f.GetLongName(); ok && f.IsSet() {
			set[name] = true
		}
		return nil
	})
	return ffyaml.Parser{Delimiter: "-"}.Parse(r, func(name, value string) error {
		f, ok := fs.GetFlag(name)
		if !ok || name == "config" || name == "optimized" {
			return fmt.Errorf("unknown setting %q", name)
		}
		if set[name] {
			return nil
		}
		if err := f.SetValue(value); err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
		return nil
	})
}

// parseRouteLimits parses --throttle-routes: "METHOD PATH=RATE:BURST", comma-separated.
func parseRouteLimits(s string) (map[string]gateway.Limit, error) {
	out := map[string]gateway.Limit{}
	for _, part := range strings.Split(s, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		route, lim, ok := strings.Cut(part, "=")
		rs, bs, ok2 := strings.Cut(lim, ":")
		rate, err1 := strconv.ParseFloat(rs, 64)
		burst, err2 := strconv.Atoi(bs)
		if !ok || !ok2 || err1 != nil || err2 != nil || rate <= 0 || burst < 1 || !strings.Contains(route, " /") {
			return nil, fmt.Errorf("route limit %q: want METHOD PATH=RATE:BURST", part)
		}
		out[strings.TrimSpace(route)] = gateway.Limit{Rate: rate, Burst: burst}
	}
	return out, nil
}

func splitList(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

// limit returns a bucket for a rate and a burst, the burst defaulting to
// the rate.
func limit(rate float64, burst int) gateway.Limit {
	if burst <= 0 {
		burst = max(int(rate), 1)
	}
	return gateway.Limit{Rate: rate, Burst: burst}
}

// testClock, when set by a test, is the clock of the gateway's caches and
// buckets and of the read cache, so that TTLs and refills move by hand.
var testClock func() time.Time

// parts are the gateway parts a server runs, for wiring and shutdown.
type parts struct {
	tracing *tracing.Tracing
	cache   *gateway.Cache
}

// close stops what the parts run.
func (p *parts) close(log *slog.Logger) {
	if p.cache != nil {
		p.cache.Close()
	}
	if p.tracing != nil {
		ctx, cancel := context.WithTimeout(context.Background(), tracing.ShutdownTimeout)
		defer cancel()
		if err := p.tracing.Shutdown(ctx); err != nil {
			log.Warn("traces not flushed", "err", err)
		}
	}
}

// wrapStore puts the read cache and the tracing spans around the store, as
// configured: handler -> spans -> read cache -> (metrics, backend).
func (g *gatewayConfig) wrapStore(st items.Store, p *parts, reg prometheus.Registerer, log *slog.Logger) items.Store {
	if r := g.readCache; r.enabled {
		opts := []itemcache.Option{
			itemcache.WithItemTTL(r.itemTTL), itemcache.WithQueryTTL(r.queryTTL),
			itemcache.WithItemEntries(r.items), itemcache.WithQueryEntries(r.queries),
			itemcache.WithItemBytes(int64(r.itemMB) << 20), itemcache.WithQueryBytes(int64(r.queryMB) << 20),
		}
		if testClock != nil {
			opts = append(opts, itemcache.WithClock(testClock))
		}
		c := itemcache.New(st, opts...)
		reg.MustRegister(itemcache.NewCollector(c))
		log.Info("read cache", "item_ttl", r.itemTTL, "query_ttl", r.queryTTL)
		st = c
	}
	if p.tracing != nil {
		st = p.tracing.Store(st)
	}
	return st
}

// setup starts the parts that must exist before the store and the chain:
// tracing.
func (g *gatewayConfig) setup(ctx context.Context, log *slog.Logger) (*parts, error) {
	p := &parts{}
	tr, err := tracing.Setup(ctx, tracing.Config{
		Endpoint: g.trace.endpoint, SampleRatio: g.trace.sampleRatio,
		Propagators: splitList(g.trace.propagators), ServiceName: "surge",
	})
	if err != nil {
		return nil, err
	}
	if tr != nil {
		log.Info("tracing", "endpoint", g.trace.endpoint, "sample_ratio", g.trace.sampleRatio, "propagators", g.trace.propagators)
	}
	p.tracing = tr
	return p, nil
}

// chain builds the gateway in front of the function api: every middleware,
// outermost first, in this one place. Parts that are off are left out, so
// they cost nothing.
func (c *serveConfig) chain(api http.Handler, p *parts, reg prometheus.Registerer, log *slog.Logger) (http.Handler, error) {
	g := &c.gw
	routes := make([]gateway.Route, 0, len(itemsapi.Routes()))
	for _, rt := range itemsapi.Routes() {
		routes = append(routes, gateway.Route{Method: rt.Method, Pattern: rt.Pattern})
	}
	authn, bearer, err := g.authenticator()
	if err != nil {
		return nil, err
	}

	mws := []gateway.Middleware{
		gateway.Routes(routes),
		timing.Middleware,
		gateway.RequestID,
	}
	if p.tracing != nil {
		mws = append(mws, p.tracing.Gateway)
	}
	if c.accessLog {
		mws = append(mws, gateway.Logger(log))
	}
	mws = append(mws,
		gateway.Metrics(gateway.NewHTTPMetrics(reg)),
		gateway.Recover(log, itemsapi.WriteError),
	)
	if authn.Enabled() {
		mws = append(mws, gateway.Auth(authn, bearer, gateway.NewAuthMetrics(reg), itemsapi.WriteError))
		log.Info("authentication", "api_keys", g.auth.keys != "", "bearer", bearer)
	}
	if th, err := g.throttleConfig(authn); err != nil {
		return nil, err
	} else if th != nil {
		mws = append(mws, gateway.NewThrottle(*th, gateway.NewThrottleMetrics(reg)).Middleware(log, itemsapi.WriteError))
		log.Info("throttling", "stage_rate", g.throttle.stageRate, "account_rate", g.throttle.accountRate,
			"routes", g.throttle.routes, "usage_plans", authn.HasPlans())
	}
	if cc := g.cache; cc.enabled && cc.ttl > 0 {
		cache, err := gateway.NewCache(gateway.CacheConfig{
			TTL: cc.ttl, MaxBytes: int64(cc.sizeMB) << 20,
			Routes: splitList(cc.routes), Key: splitList(cc.key),
			InvalidateOnWrite: cc.invalidateOnWrite, RequireAuthorization: cc.requireAuthorization,
			Unauthorized: cc.unauthorized, Now: testClock,
		}, gateway.NewCacheMetrics(reg), log, itemsapi.WriteError)
		if err != nil {
			return nil, err
		}
		p.cache = cache
		mws = append(mws, cache.Middleware)
		log.Info("response cache", "ttl", cc.ttl, "size_mb", cc.sizeMB, "invalidate_on_write", cc.invalidateOnWrite)
	}
	if g.etags {
		mws = append(mws, gateway.Conditional([]string{"GET /items"}, c.cacheControl))
	}
	if p.tracing != nil {
		mws = append(mws, p.tracing.Handler)
	}
	return gateway.Chain(api, mws...), nil
}

// throttleConfig returns the limits of each level, nil when no level
// throttles (no stage, account or route limit, no usage plan).
func (g *gatewayConfig) throttleConfig(authn *auth.Authenticator) (*gateway.ThrottleConfig, error) {
	t := g.throttle
	routes, err := parseRouteLimits(t.routes)
	if err != nil {
		return nil, err
	}
	if t.stageRate <= 0 && t.accountRate <= 0 && len(routes) == 0 && !authn.HasPlans() {
		return nil, nil
	}
	cfg := &gateway.ThrottleConfig{Routes: routes, Now: testClock}
	if t.stageRate > 0 {
		cfg.Stage = limit(t.stageRate, t.stageBurst)
	}
	if t.accountRate > 0 {
		cfg.Account = limit(t.accountRate, t.accountBurst)
	}
	return cfg, nil
}

// authenticator builds the authenticator from the keys file and token
// settings; bearer reports whether tokens are required.
func (g *gatewayConfig) authenticator() (a *auth.Authenticator, bearer bool, err error) {
	var keys *auth.Keys
	if g.auth.keys != "" {
		if keys, err = auth.LoadKeys(g.auth.keys); err != nil {
			return nil, false, err
		}
		if keys.Len() == 0 {
			return nil, false, fmt.Errorf("keys file %s holds no key", g.auth.keys)
		}
	}
	var jc *auth.JWTConfig
	if g.auth.jwtSecretFile != "" || g.auth.jwks != "" {
		jc = &auth.JWTConfig{TenantClaim: g.auth.tenantClaim, Issuer: g.auth.issuer, Audience: g.auth.audience,
			InvalidateScope: g.auth.invalidateScope, Now: testClock}
		if g.auth.jwtSecretFile != "" {
			b, err := os.ReadFile(g.auth.jwtSecretFile)
			if err != nil {
				return nil, false, fmt.Errorf("read JWT secret: %w", err)
			}
			if jc.HS256Secret = bytes.TrimRight(b, "\r\n"); len(jc.HS256Secret) < 32 {
				return nil, false, errors.New("the JWT secret is under 32 bytes")
			}
		}
		if g.auth.jwks != "" {
			if jc.RS256Keys, err = auth.LoadJWKS(g.auth.jwks); err != nil {
				return nil, false, err
			}
		}
	}
	a, err = auth.New(keys, jc)
	return a, jc != nil, err
}
