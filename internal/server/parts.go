package server

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/pprof"
	"os"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/surgehq/surge/internal/admission"
	"github.com/surgehq/surge/internal/api/awsevent"
	"github.com/surgehq/surge/internal/api/itemsapi"
	"github.com/surgehq/surge/internal/api/rest"
	"github.com/surgehq/surge/internal/items"
	"github.com/surgehq/surge/internal/local/auth"
	"github.com/surgehq/surge/internal/local/gateway"
	"github.com/surgehq/surge/internal/observe/metrics"
	"github.com/surgehq/surge/internal/observe/servertiming"
	"github.com/surgehq/surge/internal/observe/tracing"
	"github.com/surgehq/surge/internal/store"
	"github.com/surgehq/surge/internal/store/dynamo"
	"github.com/surgehq/surge/internal/store/fault"
	"github.com/surgehq/surge/internal/store/memstore"
	"github.com/surgehq/surge/internal/store/readcache"
	"github.com/surgehq/surge/internal/store/sqlite"
)

// setupTracing starts tracing as cfg asks; nil when it is off.
func setupTracing(ctx context.Context, cfg *Config, log *slog.Logger) (*tracing.Tracing, error) {
	t := cfg.Trace
	tr, err := tracing.Setup(ctx, tracing.Config{
		Endpoint: t.Endpoint, SampleRatio: t.SampleRatio, Propagators: t.Propagators, ServiceName: "surge",
	})
	if err != nil {
		return nil, err
	}
	if tr != nil {
		log.Info("tracing", "endpoint", t.Endpoint, "sample_ratio", t.SampleRatio, "propagators", strings.Join(t.Propagators, ","))
	}
	return tr, nil
}

// openStore opens the store and puts its layers around it, in their one
// order (see the package documentation).
func (s *Server) openStore(ctx context.Context) (items.Store, error) {
	cfg := &s.cfg
	raw := cfg.storeURL()
	u, err := store.Parse(raw)
	if err != nil {
		return nil, err
	}
	if u.Scheme == store.SchemeMem {
		s.log.Warn("the memory store keeps nothing after exit")
	}
	st, err := store.OpenURL(ctx, u,
		sqlite.Backend(sqlite.WithSync(cfg.Sync), sqlite.WithObserver(metrics.NewBatchMetrics(s.reg))),
		memstore.Backend(),
		dynamo.Backend())
	if err != nil {
		return nil, err
	}
	switch u.Scheme {
	case store.SchemeSQLite:
		s.log.Info("store", "kind", "sqlite", "path", u.Path, "sync", cfg.Sync)
	case store.SchemeDynamoDB:
		s.log.Info("store", "kind", "dynamodb", "url", raw)
	}
	if spec, _ := fault.Parse(cfg.Fault.Spec); spec.On() {
		opts := []fault.Option{}
		if cfg.Now != nil {
			opts = append(opts, fault.WithClock(cfg.Now))
		}
		st = fault.Wrap(st, spec, opts...)
		s.log.Warn("fault injection: the store fails on purpose", "fault", spec.String())
	}
	if cfg.WrapStore != nil {
		st = cfg.WrapStore(st)
	}
	st = store.Instrument(st, metrics.NewStore(s.reg))
	charged, err := s.openCapacity(ctx, u, st, metrics.NewTable(s.reg))
	if err != nil {
		_ = st.Close()
		return nil, err
	}
	st = charged
	if r := cfg.ReadCache; r.Enabled {
		opts := []readcache.Option{
			readcache.WithItemTTL(r.ItemTTL), readcache.WithQueryTTL(r.QueryTTL),
			readcache.WithItemEntries(r.Items), readcache.WithQueryEntries(r.Queries),
			readcache.WithItemBytes(int64(r.ItemMB) << 20), readcache.WithQueryBytes(int64(r.QueryMB) << 20),
		}
		if cfg.Now != nil {
			opts = append(opts, readcache.WithClock(cfg.Now))
		}
		c := readcache.New(st, opts...)
		s.reg.MustRegister(metrics.NewReadCache(c))
		s.log.Info("read cache", "item_ttl", r.ItemTTL, "query_ttl", r.QueryTTL)
		st = c
	}
	if s.tracing != nil {
		st = store.Instrument(st, s.tracing.StoreHook())
	}
	return st, nil
}

// itemsHandler is the items API over the store, in process.
func (s *Server) itemsHandler() *itemsapi.Handler {
	log := s.log
	return itemsapi.New(s.store,
		itemsapi.Table(s.cfg.Table),
		itemsapi.CacheControl(s.cfg.CacheControl),
		itemsapi.OnError(func(r *http.Request, err error) {
			id := ""
			if ri := rest.Info(r.Context()); ri != nil {
				id = ri.ID
			}
			log.Error("request failed", "request_id", id, "method", r.Method, "path", r.URL.Path, "err", err)
		}),
	)
}

// chain builds the gateway in front of the integration: every
// middleware, outermost first, in this one place. Parts that are off are
// left out, so they cost nothing.
func (s *Server) chain(integration http.Handler) (http.Handler, error) {
	cfg, log, tr := &s.cfg, s.log, s.tracing
	var templateKeys *auth.Keys
	var routeLimits map[string]gateway.Limit
	if s.app != nil {
		templateKeys, routeLimits = s.app.keys, s.app.routeLimits
	}
	authn, keys, bearer, err := authenticator(cfg, templateKeys)
	if err != nil {
		return nil, err
	}
	mws := []rest.Middleware{
		rest.Routes(s.routes()),
		servertiming.Middleware,
		rest.RequestID(rest.RequestIDConfig{}),
	}
	if tr != nil {
		mws = append(mws, tr.Gateway())
	}
	if cfg.AccessLog {
		mws = append(mws, rest.AccessLog(rest.AccessLogConfig{Log: log, Attrs: accessLogAttrs(keys)}))
	}
	mws = append(mws,
		gateway.Observe(metrics.NewHTTP(s.reg)),
		rest.Recover(rest.RecoverConfig{Log: log}),
		// Before anything reads a body: in every mode, a body over its
		// route's limit is refused unread.
		gateway.BodyLimit(s.bodyLimit),
	)
	if authn.Enabled() {
		mws = append(mws, gateway.Auth(gateway.AuthConfig{Authenticator: authn, Bearer: bearer, Observer: metrics.NewAuth(s.reg)}))
		log.Info("authentication", "api_keys", cfg.Auth.Keys != "" || keys != nil, "bearer", bearer)
	}
	if th, err := throttleConfig(cfg, authn, routeLimits); err != nil {
		return nil, err
	} else if th != nil {
		th.Observer = joinThrottle(metrics.NewThrottle(s.reg), cfg.Observers.Throttle)
		mws = append(mws, gateway.NewThrottle(*th).Middleware())
		t := cfg.Throttle
		log.Info("throttling", "stage_rate", t.StageRate, "account_rate", t.AccountRate,
			"routes", t.Routes, "usage_plans", authn.HasPlans())
	}
	if cc := cfg.Cache; cc.Enabled && cc.TTL > 0 {
		m := metrics.NewCache(s.reg)
		gc := cfg.gatewayCacheConfig()
		gc.Observer = joinCache(m, cfg.Observers.Cache)
		cache, err := gateway.NewCache(gc)
		if err != nil {
			return nil, err
		}
		m.Watch(cache)
		s.cache = cache
		mws = append(mws, cache.Middleware())
		log.Info("response cache", "ttl", cc.TTL, "size_mb", cc.SizeMB, "invalidate_on_write", cc.InvalidateOnWrite)
	}
	if cfg.ETags {
		mws = append(mws, gateway.Conditional(gateway.ConditionalConfig{Routes: []string{"GET /items"}, CacheControl: cfg.CacheControl}))
	}
	if cfg.Admission.Enabled && !cfg.Functions.Enabled {
		m := metrics.NewAdmission(s.reg)
		ac := cfg.admissionConfig()
		ac.Observer = m
		c, err := admission.New(ac)
		if err != nil {
			return nil, err
		}
		m.Watch(s.reg, c)
		s.admission = c
		mws = append(mws, c.Middleware())
		a := c.Config()
		log.Info("admission control", "min_inflight", a.MinInFlight, "max_inflight", a.MaxInFlight, "target", a.Target,
			"max_queue", a.MaxQueue, "queue_timeout", a.QueueTimeout)
	}
	if tr != nil {
		mws = append(mws, tr.Handler())
	}
	return rest.Chain(integration, mws...), nil
}

// bodyLimit is the largest request body of a route: the items API's
// limits, or for a template's routes API Gateway's payload limit.
func (s *Server) bodyLimit(route string) int64 {
	if s.app != nil {
		return awsevent.MaxEventBody
	}
	return itemsapi.BodyLimit(route)
}

// joinThrottle is Prometheus's throttle observer and the caller's, if any.
func joinThrottle(m gateway.ThrottleObserver, o gateway.ThrottleObserver) gateway.ThrottleObserver {
	if o == nil {
		return m
	}
	return gateway.ThrottleObservers{m, o}
}

// joinCache is Prometheus's cache observer and the caller's, if any.
func joinCache(m gateway.CacheObserver, o gateway.CacheObserver) gateway.CacheObserver {
	if o == nil {
		return m
	}
	return gateway.CacheObservers{m, o}
}

// throttleConfig returns the limits of each level, nil when no level
// throttles (no stage, account or route limit, no usage plan); extra
// are route limits beside --throttle-routes (a template's).
func throttleConfig(cfg *Config, authn *auth.Authenticator, extra map[string]gateway.Limit) (*gateway.ThrottleConfig, error) {
	t := cfg.Throttle
	routes, err := gateway.ParseRouteLimits(t.Routes)
	if err != nil {
		return nil, err
	}
	for r, l := range extra {
		if _, ok := routes[r]; !ok {
			routes[r] = l
		}
	}
	if t.StageRate <= 0 && t.AccountRate <= 0 && len(routes) == 0 && !authn.HasPlans() {
		return nil, nil
	}
	th := &gateway.ThrottleConfig{Routes: routes, Now: cfg.Now}
	if t.StageRate > 0 {
		th.Stage = gateway.NewLimit(t.StageRate, t.StageBurst)
	}
	if t.AccountRate > 0 {
		th.Account = gateway.NewLimit(t.AccountRate, t.AccountBurst)
	}
	return th, nil
}

// authenticator builds the authenticator from the keys file (else
// templateKeys, a template's) and token settings, and returns the keys;
// bearer reports whether tokens are required.
func authenticator(cfg *Config, templateKeys *auth.Keys) (a *auth.Authenticator, keys *auth.Keys, bearer bool, err error) {
	c := cfg.Auth
	keys = templateKeys
	if c.Keys != "" {
		if keys, err = auth.LoadKeys(c.Keys); err != nil {
			return nil, nil, false, err
		}
		if keys.Len() == 0 {
			return nil, nil, false, fmt.Errorf("keys file %s holds no key", c.Keys)
		}
	}
	var jc *auth.JWTConfig
	if c.JWTSecretFile != "" || c.JWKS != "" {
		jc = &auth.JWTConfig{TenantClaim: c.TenantClaim, Issuer: c.Issuer, Audience: c.Audience,
			InvalidateScope: c.InvalidateScope, Now: cfg.Now}
		if c.JWTSecretFile != "" {
			b, err := os.ReadFile(c.JWTSecretFile)
			if err != nil {
				return nil, nil, false, fmt.Errorf("read JWT secret: %w", err)
			}
			if jc.HS256Secret = bytes.TrimRight(b, "\r\n"); len(jc.HS256Secret) < 32 {
				return nil, nil, false, errors.New("the JWT secret is under 32 bytes")
			}
		}
		if c.JWKS != "" {
			if jc.RS256Keys, err = auth.LoadJWKS(c.JWKS); err != nil {
				return nil, nil, false, err
			}
		}
	}
	a, err = auth.New(keys, jc)
	return a, keys, jc != nil, err
}

// accessLogAttrs are the access log's attributes: the request's, and who
// made it, redacted: the tenant, and the credential by kind and the API
// key's name (from the keys file, else "key-" and the start of its
// SHA-256), never a key's or a token's value.
func accessLogAttrs(keys *auth.Keys) func(r *http.Request, ri *rest.RequestInfo, took time.Duration) []slog.Attr {
	return func(r *http.Request, ri *rest.RequestInfo, took time.Duration) []slog.Attr {
		// The gateway's, and room for the two below.
		attrs := rest.AppendAccessAttrs(make([]slog.Attr, 0, 9), r, ri, took)
		if ri.Tenant != "" {
			attrs = append(attrs, slog.String("tenant", ri.Tenant))
		}
		if c := redactedCredential(r.Header, keys); c != "" {
			attrs = append(attrs, slog.String("credential", c))
		}
		return attrs
	}
}

// redactedCredential says which credentials a request carried, without
// their values.
func redactedCredential(h http.Header, keys *auth.Keys) string {
	var parts []string
	if v := h.Get("X-Api-Key"); v != "" {
		name := "unknown"
		if keys != nil {
			if k := keys.Lookup(v); k != nil {
				name = k.Name
			}
		}
		parts = append(parts, "api-key:"+name)
	}
	if v := h.Get("Authorization"); v != "" {
		// The scheme only, when it is a known one: a value without a
		// scheme may be the secret itself.
		kind, _, _ := strings.Cut(v, " ")
		switch kind = strings.ToLower(kind); kind {
		case "bearer", "basic", "aws4-hmac-sha256":
		default:
			kind = "other"
		}
		parts = append(parts, "authorization:"+kind+":[redacted]")
	}
	return strings.Join(parts, " ")
}

// adminHandler serves Prometheus metrics, the usage (UsagePath) and
// pprof.
func adminHandler(reg *prometheus.Registry, usage http.HandlerFunc) http.Handler {
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{Registry: reg}))
	mux.HandleFunc("GET "+UsagePath, usage)
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	return mux
}
