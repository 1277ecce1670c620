package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"os"
	"runtime/debug"
	"time"

	"github.com/peterbourgon/ff/v4"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/surgehq/surge/internal/gateway"
	"github.com/surgehq/surge/internal/items"
	"github.com/surgehq/surge/internal/itemsapi"
	"github.com/surgehq/surge/internal/metrics"
)

func init() { addCommand(newServeCommand) }

// serveConfig is the configuration of `surge serve`.
type serveConfig struct {
	*root
	addr            string
	adminAddr       string
	data            string
	store           string
	sync            string
	table           string
	cacheControl    string
	shutdownTimeout time.Duration
	accessLog       bool
	// gw holds the gateway's optional parts: response cache, throttling,
	// authentication, read cache, tracing.
	gw gatewayConfig
	// functions, when enabled, runs the API in a pool of local Lambda
	// function processes behind the gateway.
	functions functionsConfig
}

func newServeCommand(r *root) *ff.Command {
	c := &serveConfig{root: r}
	fs := ff.NewFlagSet("serve").SetParent(r.flags)
	fs.StringVar(&c.addr, 0, "addr", "127.0.0.1:8080", "address the items API listens on")
	fs.StringVar(&c.adminAddr, 0, "admin-addr", "127.0.0.1:9090", "address of the admin listener (/metrics, /debug/pprof/); empty disables it")
	fs.StringVar(&c.data, 0, "data", "./surge-data", "directory of the embedded store; the database is <data>/items.db")
	fs.StringVar(&c.store, 0, "store", "", "store URL: sqlite:PATH, mem:, or dynamodb://TABLE?endpoint=URL&region=R (default: SQLite in --data)")
	fs.StringEnumVar(&c.sync, 0, "sync", "SQLite durability: normal (a write survives a crash of surge) or full (also a power loss)", "normal", "full")
	fs.StringVar(&c.table, 0, "table", "items", "table name the /ops dispatcher accepts in tableName")
	fs.StringVar(&c.cacheControl, 0, "cache-control", "no-cache", "Cache-Control header of GET /items/{id} responses")
	fs.DurationVar(&c.shutdownTimeout, 0, "shutdown-timeout", 10*time.Second, "how long a shutdown waits for requests in flight")
	fs.BoolVarDefault(&c.accessLog, 0, "access-log", true, "log one line per request")
	c.gw.register(fs)
	c.functions.register(fs)
	return &ff.Command{
		Name:      "serve",
		Usage:     "surge serve [FLAGS]",
		ShortHelp: "run the items service",
		LongHelp: "Serves the items API (see API.md) on --addr, storing in SQLite under --data\n" +
			"unless --store names another store. SIGINT or SIGTERM stops it gracefully:\n" +
			"it stops accepting, finishes requests in flight (up to --shutdown-timeout),\n" +
			"and closes the store.\n\n" +
			"With --functions the API is served by a pool of function processes (`surge\n" +
			"function`, or --function-command) behind the gateway, as AWS Lambda runs the\n" +
			"function: cold starts, reserved and provisioned concurrency, idle reclaim, CPU\n" +
			"by memory size; and Lambda's Invoke API answers on --addr at\n" +
			"POST /2015-03-31/functions/{name}/invocations.",
		Flags: fs,
		Exec: func(ctx context.Context, args []string) error {
			if len(args) > 0 {
				return fmt.Errorf("serve takes no arguments, got %q", args)
			}
			if err := c.gw.applyConfigFiles(fs); err != nil {
				return err
			}
			log, flush := c.logger()
			defer flush()
			serverGC()
			s, err := c.open(ctx, log)
			if err != nil {
				return err
			}
			return s.run(ctx)
		},
	}
}

// serverGCPercent is the Go collector's target (GOGC) of `surge serve`
// unless the GOGC environment variable sets one. A server's live heap is
// small beside what its requests allocate, so Go's default of 100 collects
// many times a second under load; at 400 the heap may grow to five times
// the live data between collections, for a quarter of the collections.
const serverGCPercent = 400

func serverGC() {
	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(serverGCPercent)
	}
}

// server is a running `surge serve`: its store, listeners and servers.
type server struct {
	cfg   *serveConfig
	log   *slog.Logger
	store items.Store
	fns   *functions // with --functions
	api   *http.Server
	admin *http.Server
	ln    net.Listener
	aln   net.Listener
	parts *parts
}

// testWrapStore, when set by a test, wraps the store, to inject faults.
var testWrapStore func(items.Store) items.Store

// open opens the store and the listeners; run serves on them.
func (c *serveConfig) open(ctx context.Context, log *slog.Logger) (s *server, err error) {
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))

	s = &server{cfg: c, log: log}
	opened := s // the error returns below set s to nil
	defer func() {
		if err != nil {
			opened.close()
		}
	}()
	if s.parts, err = c.gw.setup(ctx, log); err != nil {
		return nil, err
	}
	st, err := openStore(ctx, c, log, reg)
	if err != nil {
		return nil, err
	}
	if testWrapStore != nil {
		st = testWrapStore(st)
	}
	s.store = c.gw.wrapStore(metrics.NewStoreMetrics(reg).Store(st), s.parts, reg, log)

	api := itemsapi.New(s.store,
		itemsapi.Table(c.table),
		itemsapi.CacheControl(c.cacheControl),
		itemsapi.OnError(func(r *http.Request, err error) {
			id := ""
			if ri := gateway.Info(r.Context()); ri != nil {
				id = ri.ID
			}
			log.Error("request failed", "request_id", id, "method", r.Method, "path", r.URL.Path, "err", err)
		}),
	)
	// The integration: the handler in process, or the function pool.
	var integration http.Handler = api
	if c.functions.Enabled {
		var shared items.Store
		if c.gw.readCache.enabled {
			shared = s.store
		}
		if s.fns, err = startFunctions(ctx, c, shared, log, reg); err != nil {
			return nil, err
		}
		integration = s.fns.integration
	}
	handler, err := c.chain(integration, s.parts, reg, log)
	if err != nil {
		return nil, err
	}
	if s.fns != nil {
		handler = s.fns.mount(handler) // Lambda's Invoke API beside the gateway
	}
	s.api = &http.Server{
		Handler:           handler,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       60 * time.Second,
		WriteTimeout:      60 * time.Second,
		IdleTimeout:       120 * time.Second,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
	if s.ln, err = net.Listen("tcp", c.addr); err != nil {
		return nil, fmt.Errorf("listen on %s: %w", c.addr, err)
	}
	if c.adminAddr != "" {
		if s.aln, err = net.Listen("tcp", c.adminAddr); err != nil {
			return nil, fmt.Errorf("listen on admin address %s: %w", c.adminAddr, err)
		}
		s.admin = &http.Server{Handler: adminHandler(reg), ReadHeaderTimeout: 10 * time.Second}
	}
	return s, nil
}

// adminHandler serves Prometheus metrics and pprof.
func adminHandler(reg *prometheus.Registry) http.Handler {
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{Registry: reg}))
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	return mux
}

// run serves until ctx is done, then shuts down gracefully: the listeners
// close at once, requests in flight get up to shutdownTimeout to finish,
// and the store is closed last, so every acknowledged write is durable.
func (s *server) run(ctx context.Context) error {
	errc := make(chan error, 2)
	go func() { errc <- s.api.Serve(s.ln) }()
	attrs := []any{"addr", s.ln.Addr().String()}
	if s.admin != nil {
		go func() { errc <- s.admin.Serve(s.aln) }()
		attrs = append(attrs, "admin_addr", s.aln.Addr().String())
	}
	s.log.Info("listening", attrs...)

	var err error
	select {
	case <-ctx.Done():
	case err = <-errc:
		err = fmt.Errorf("serve: %w", err)
	}
	s.log.Info("shutting down", "timeout", s.cfg.shutdownTimeout)
	sctx, cancel := context.WithTimeout(context.Background(), s.cfg.shutdownTimeout)
	defer cancel()
	if serr := s.api.Shutdown(sctx); serr != nil {
		s.log.Warn("requests still in flight at the shutdown deadline were cut off", "err", serr)
		_ = s.api.Close()
	}
	if s.admin != nil {
		_ = s.admin.Close()
	}
	if ferr := s.fns.close(); ferr != nil {
		err = errors.Join(err, fmt.Errorf("stop functions: %w", ferr))
	}
	if cerr := s.store.Close(); cerr != nil {
		err = errors.Join(err, fmt.Errorf("close store: %w", cerr))
	}
	s.parts.close(s.log)
	s.log.Info("stopped")
	return err
}

// close releases what open acquired, for a failed open.
func (s *server) close() {
	if s.ln != nil {
		_ = s.ln.Close()
	}
	if s.aln != nil {
		_ = s.aln.Close()
	}
	_ = s.fns.close()
	if s.store != nil {
		_ = s.store.Close()
	}
	if s.parts != nil {
		s.parts.close(s.log)
	}
}
