// Package server is surge's composition root: from a plain Config it
// opens the store, puts the store layers in their order, builds the one
// middleware chain of the local API Gateway in front of the integration
// (the items handler in process, or the local Lambda's function pool),
// and starts and stops every part (tracing, the response cache, the pool,
// the read cache shared with the function instances, the listeners).
// `surge serve` is a Server; tests and benchmarks build the same one.
//
// The store, outermost first:
//
//	itemsapi's Server-Timing hook, tracing spans   (one store.Instrument)
//	read cache (readcache)                         (when on)
//	the table's capacity (table.NewStore)
//	Prometheus store metrics                       (one store.Instrument)
//	Config.WrapStore, then the backend (SQLite, DynamoDB or memory)
//
// so that a GET through the defaults passes through two wrappers, and
// with the read cache on, through three and the cache; a read the cache
// answers consumes no capacity, as a DAX hit consumes no read units.
//
// The table belongs to the server: function instances reach a store that
// is not DynamoDB through this process (internal/store/remote), so that
// their operations are charged to the one table; on a local DynamoDB
// engine, they reach it through the table's front of the DynamoDB API
// (table.Front), which charges and throttles any SDK's calls. The chain, outermost
// first (parts that are off are left out, so they cost nothing):
//
//	rest.Routes -> servertiming -> rest.RequestID -> tracing (gateway span) ->
//	    rest.AccessLog -> gateway.Observe -> rest.Recover -> gateway.BodyLimit -> gateway.Auth ->
//	    gateway.Throttle -> gateway.Cache -> gateway.Conditional ->
//	    admission -> tracing (handler span) -> integration
//
// with Lambda's Invoke API on a listener of its own, when functions are
// on. Every listener is served by package listen: timeouts, header and
// body limits, and the guard against requests with two framings. The
// admission control (in process only: with functions, the pool's
// concurrency limit plays its part, as Lambda's does) comes after the
// cache and the throttle, so that cache hits and throttled requests take
// no slot, and right in front of the work that needs the store.
package server

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"sync"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/surgehq/surge/internal/admission"
	"github.com/surgehq/surge/internal/api/listen"
	"github.com/surgehq/surge/internal/items"
	"github.com/surgehq/surge/internal/local/gateway"
	"github.com/surgehq/surge/internal/local/lambda"
	"github.com/surgehq/surge/internal/observe/metrics"
	"github.com/surgehq/surge/internal/observe/tracing"
)

// Server is a running surge: its store, parts, listeners and servers.
// Create it with New, serve with Run.
type Server struct {
	cfg     Config
	log     *slog.Logger
	reg     *prometheus.Registry
	tracing *tracing.Tracing
	store   items.Store
	cap     *capacity // the store's table
	meter   *meter    // what it uses, for its bill
	cache   *gateway.Cache
	fns     *functions // with Functions.Enabled
	app     *template  // with Template.Path
	// account is the functions' shared concurrency; lambdaMetrics the
	// pools' Prometheus metrics, made once.
	account           *lambda.Account
	lambdaMetricsOnce sync.Once
	lambdaMetrics     *metrics.Lambda
	boto3Once         sync.Once
	handler           http.Handler
	api               *http.Server
	admin             *http.Server
	invoke            *http.Server // Lambda's Invoke API, with functions on
	ln, aln           net.Listener
	iln               net.Listener
	// invokeTok is the token the Invoke API requires.
	invokeTok string

	// admission is the admission control, with Admission.Enabled and in
	// process.
	admission *admission.Controller

	closeOnce sync.Once
	closeErr  error
}

// New validates cfg, opens the store, starts the parts and listens on
// cfg.Addr (and cfg.AdminAddr, and with functions on the Invoke API's
// cfg.Functions.InvokeAddr). Serve with Run; a Server that is not Run
// must be closed with Close.
func New(ctx context.Context, cfg Config) (s *Server, err error) {
	if errs := cfg.Validate(); len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	s = &Server{cfg: cfg, log: cfg.Log, reg: prometheus.NewRegistry(), meter: newMeter()}
	s.reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	built := s // a failing return sets s to nil before this runs
	defer func() {
		if err != nil {
			_ = built.Close()
			s = nil
		}
	}()
	if s.tracing, err = setupTracing(ctx, &cfg, s.log); err != nil {
		return nil, err
	}
	integration := http.Handler(nil)
	if cfg.Template.Path != "" {
		// A SAM application: its functions, its API settings and its
		// tables in place of surge's own API and store.
		if err = s.startTemplate(ctx); err != nil {
			return nil, err
		}
		cfg = s.cfg
	} else {
		if s.store, err = s.openStore(ctx); err != nil {
			return nil, err
		}
		integration = s.meter.integration(s.itemsHandler())
	}
	if cfg.Functions.Enabled {
		var shared items.Store
		if cfg.ReadCache.Enabled || s.sharesTable() {
			shared = s.store // the read cache, or the table's capacity
		}
		if s.fns, err = s.startFunctions(ctx, shared); err != nil {
			return nil, err
		}
		integration = s.fns.integration
	}
	if s.handler, err = s.chain(integration); err != nil {
		return nil, err
	}
	s.handler = s.meter.gateway(s.handler)
	s.api = cfg.HTTP.apiLimits().Server(s.handler, s.log)
	shed := metrics.NewConnections(s.reg)
	if s.ln, err = listen.ListenShed(cfg.Addr, cfg.HTTP.MaxConns, shed.Shed); err != nil {
		return nil, fmt.Errorf("listen on %s: %w", cfg.Addr, err)
	}
	if cfg.AdminAddr != "" {
		if s.aln, err = listen.Listen(cfg.AdminAddr); err != nil {
			return nil, fmt.Errorf("listen on admin address %s: %w", cfg.AdminAddr, err)
		}
		listen.WarnUnlessLoopback(s.log, "the admin listener", cfg.AdminAddr, adminTrusts)
		s.admin = cfg.HTTP.adminLimits().Server(adminHandler(s.reg, s.serveUsage), s.log)
	}
	if s.fns != nil {
		if err := s.serveInvoke(); err != nil {
			return nil, err
		}
	}
	return s, nil
}

// Addr returns the address the items API listens on.
func (s *Server) Addr() string { return s.ln.Addr().String() }

// AdminAddr returns the address of the admin listener, "" without one.
func (s *Server) AdminAddr() string {
	if s.aln == nil {
		return ""
	}
	return s.aln.Addr().String()
}

// InvokeAddr returns the address of Lambda's Invoke API, "" without
// functions.
func (s *Server) InvokeAddr() string {
	if s.iln == nil {
		return ""
	}
	return s.iln.Addr().String()
}

// InvokeToken returns the token the Invoke API requires, "" without
// functions.
func (s *Server) InvokeToken() string { return s.invokeTok }

// Handler returns the production chain that the items API listener
// serves, for in-process benchmarks and tests.
func (s *Server) Handler() http.Handler { return s.handler }

// Admission returns the admission control, nil when it is off (or
// functions are on).
func (s *Server) Admission() *admission.Controller { return s.admission }

// Pools returns the function pools that serve the API: none unless
// functions are on; one per function of a template.
func (s *Server) Pools() []*lambda.Pool {
	if s.fns == nil {
		return nil
	}
	return s.fns.pools
}

// Run serves until ctx is done, then shuts down gracefully: the listeners
// close at once, requests in flight get up to ShutdownTimeout to finish,
// and the store is closed last, so every acknowledged write is durable.
func (s *Server) Run(ctx context.Context) error {
	errc := make(chan error, 3)
	go serve(s.api, s.ln, errc)
	if s.admin != nil {
		go serve(s.admin, s.aln, errc)
	}
	if s.invoke != nil {
		go serve(s.invoke, s.iln, errc)
	}
	s.log.Info("listening", s.listening()...)

	var err error
	select {
	case <-ctx.Done():
	case err = <-errc:
		err = fmt.Errorf("serve: %w", err)
	}
	s.log.Info("shutting down", "timeout", s.cfg.ShutdownTimeout)
	sctx, cancel := context.WithTimeout(context.Background(), s.cfg.ShutdownTimeout)
	defer cancel()
	if serr := s.api.Shutdown(sctx); serr != nil {
		s.log.Warn("requests still in flight at the shutdown deadline were cut off", "err", serr)
		_ = s.api.Close()
	}
	if s.admin != nil {
		_ = s.admin.Close()
	}
	if s.invoke != nil {
		_ = s.invoke.Shutdown(sctx) // invocations in flight, as the API's
		_ = s.invoke.Close()
	}
	err = errors.Join(err, s.Close())
	s.log.Info("stopped")
	return err
}

// Close releases what New acquired: the listeners, the function pool,
// the store, the response cache and tracing (whose spans it flushes). Run
// calls it; it is safe to call more than once.
func (s *Server) Close() error {
	s.closeOnce.Do(func() {
		if s.ln != nil {
			_ = s.ln.Close()
		}
		if s.aln != nil {
			_ = s.aln.Close()
		}
		if s.iln != nil {
			_ = s.iln.Close()
		}
		if ferr := s.fns.close(); ferr != nil {
			s.closeErr = errors.Join(s.closeErr, fmt.Errorf("stop functions: %w", ferr))
		}
		s.cap.close()
		if terr := s.app.close(); terr != nil {
			s.closeErr = errors.Join(s.closeErr, fmt.Errorf("stop the template's tables: %w", terr))
		}
		if s.store != nil {
			if cerr := s.store.Close(); cerr != nil {
				s.closeErr = errors.Join(s.closeErr, fmt.Errorf("close store: %w", cerr))
			}
		}
		if s.cache != nil {
			s.cache.Close()
		}
		if s.tracing != nil {
			ctx, cancel := context.WithTimeout(context.Background(), tracing.ShutdownTimeout)
			defer cancel()
			if err := s.tracing.Shutdown(ctx); err != nil {
				s.log.Warn("traces not flushed", "err", err)
			}
		}
	})
	return s.closeErr
}
