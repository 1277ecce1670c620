package server

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/surgehq/surge/internal/api/itemsapi"
	"github.com/surgehq/surge/internal/api/listen"
	"github.com/surgehq/surge/internal/api/rest"
	"github.com/surgehq/surge/internal/function"
	"github.com/surgehq/surge/internal/items"
	"github.com/surgehq/surge/internal/local/lambda"
	"github.com/surgehq/surge/internal/local/lambda/runtimes"
	"github.com/surgehq/surge/internal/observe/metrics"
	"github.com/surgehq/surge/internal/store"
	"github.com/surgehq/surge/internal/store/remote"
)

// functions is the running local Lambda of a Server with functions on.
type functions struct {
	pools       []*lambda.Pool
	integration http.Handler
	invoke      http.Handler // Lambda's Invoke API, served by Server.serveInvoke
	dax         *http.Server // the shared read cache, when on
}

// functionConfig is the configuration each function instance is given,
// through its environment: the store (its URL made absolute, as an
// instance runs in a directory of its own) and the settings of the
// server that the function has too.
func (s *Server) functionConfig() (*function.Config, error) {
	cfg := &s.cfg
	raw, err := store.Absolute(cfg.storeURL())
	if err != nil {
		return nil, err
	}
	fc := function.DefaultConfig()
	fc.Store, fc.Sync, fc.Table, fc.CacheControl, fc.LogLevel = raw, cfg.Sync, cfg.Table, cfg.CacheControl, cfg.Functions.LogLevel
	if u, _ := store.Parse(raw); u != nil && u.Scheme == store.SchemeDynamoDB {
		// What the Lambda build reads: its table (which, as deployed, is
		// also the tableName /ops accepts), endpoint, region and reads.
		fc.Table, fc.Endpoint, fc.Region, fc.ConsistentReads = u.Table, u.Endpoint, u.Region, u.Consistent
	}
	return fc, nil
}

// poolConfig is the pool's configuration of the one function the
// --function-* flags describe, with the environment of fc (surge's own
// function's, unless the flags name a runtime).
func (s *Server) poolConfig(fc *function.Config) (lambda.Config, error) {
	c := &s.cfg.Functions
	fn := Function{Name: c.Name, Runtime: c.Runtime, Handler: c.Handler, Code: c.Code, Command: c.command(),
		MemoryMB: c.MemoryMB, Timeout: c.Timeout, ReservedConcurrency: c.ReservedConcurrency,
		Provisioned: c.Provisioned, MaxProvisioned: c.MaxProvisioned, TargetUtilization: c.TargetUtilization}
	sched, err := lambda.ParseScheduledActions(c.Schedule, c.ScheduleTimezone)
	if err != nil {
		return lambda.Config{}, err
	}
	fn.Schedule = sched
	if c.Runtime == "" {
		fn.Env = fc.Environ() // surge's own function's settings
	}
	fn.Env = append(fn.Env, c.Env...)
	if len(fn.Command) == 0 && c.Runtime == "" {
		cmd, err := ownFunctionCommand()
		if err != nil {
			return lambda.Config{}, fmt.Errorf("--functions: %w", err)
		}
		fn.Command = cmd
	}
	return s.functionPoolConfig(context.Background(), fn)
}

// functionPoolConfig is the pool's configuration of fn: its settings,
// FunctionsConfig's where it has none, and for a function of a runtime,
// the command line, directory and environment package runtimes gives.
func (s *Server) functionPoolConfig(ctx context.Context, fn Function) (lambda.Config, error) {
	c := &s.cfg.Functions
	pc := lambda.Config{
		Name: fn.Name, Command: fn.Command, Env: fn.Env, MemoryMB: fn.MemoryMB, Timeout: fn.Timeout,
		ReservedConcurrency: fn.ReservedConcurrency, ConcurrencyLimit: c.ConcurrencyLimit,
		Provisioned: fn.Provisioned, MaxProvisioned: fn.MaxProvisioned, Schedule: fn.Schedule,
		TargetUtilization: fn.TargetUtilization, IdleTimeout: c.IdleTimeout,
		StartRate: c.StartRate, StartBurst: c.StartBurst, Limits: lambda.Limits(c.Limits), InitCPU: c.InitCPU,
		RuntimeAPI: s.cfg.HTTP.runtimeLimits(), Log: s.log, Observer: s.poolObserver(), Account: s.account,
	}
	if pc.MemoryMB == 0 {
		pc.MemoryMB = c.MemoryMB
	}
	if pc.Timeout == 0 {
		pc.Timeout = c.Timeout
	}
	if c.Logs {
		pc.Logs = s.functionLogs()
	}
	if fn.Runtime == "" {
		return pc, nil
	}
	l, err := s.resolveRuntime(ctx, runtimes.Function{Runtime: fn.Runtime, Handler: fn.Handler, CodeDir: fn.Code})
	if err != nil {
		return lambda.Config{}, fmt.Errorf("function %s: %w", fn.Name, err)
	}
	return l.Config(pc), nil
}

// resolveRuntime resolves a function of a runtime. A Python function is
// run by an interpreter that imports boto3 where there is one, as
// Lambda's Python runtimes include it; else by any, with a warning.
func (s *Server) resolveRuntime(ctx context.Context, f runtimes.Function) (*runtimes.Launch, error) {
	fam, _ := runtimes.FamilyOf(f.Runtime)
	if fam == runtimes.Python {
		l, err := runtimes.Resolve(ctx, f, runtimes.Options{PythonModules: []string{"boto3"}})
		if err == nil || !errors.Is(err, runtimes.ErrNoInterpreter) {
			return l, err
		}
		l, err2 := runtimes.Resolve(ctx, f, runtimes.Options{})
		if err2 != nil {
			return nil, err2
		}
		s.boto3Once.Do(func() {
			s.log.Warn("no Python here imports boto3, which Lambda's Python runtimes include: functions that use the AWS SDK fail (scripts/setup installs Debian's python3-boto3)",
				"python", l.Interpreter, "err", err)
		})
		return l, nil
	}
	return runtimes.Resolve(ctx, f, runtimes.Options{})
}

// poolObserver is the Prometheus observer of every pool (one, so that
// its series are registered once), and the caller's.
func (s *Server) poolObserver() lambda.Observer {
	s.lambdaMetricsOnce.Do(func() { s.lambdaMetrics = metrics.NewLambda(s.reg) })
	obs := lambda.Observers{s.lambdaMetrics, s.meter}
	if o := s.cfg.Observers.Pool; o != nil {
		obs = append(obs, o)
	}
	return obs
}

// functionLogs is where the functions' logs go: the console (standard
// error), or, with JSON logs, the server's log, a record a line.
func (s *Server) functionLogs() lambda.LogSink {
	if s.cfg.FunctionLogs != nil {
		return s.cfg.FunctionLogs
	}
	return lambda.NewConsoleLog(os.Stderr)
}

// startFunctions starts the pools and waits for their provisioned
// instances (at most the init timeout), so that the first requests find
// them initialised.
//
// With shared (the read cache in front of surge's store), surge's own
// function's instances read and write through it, as Lambda functions
// share a DAX cluster: it is served on a loopback port and each instance
// opens dax://HOST:PORT as its store. The Lambda build itself opens
// DynamoDB only, so it goes without.
func (s *Server) startFunctions(ctx context.Context, shared items.Store) (_ *functions, err error) {
	log, c := s.log, &s.cfg.Functions
	f := &functions{}
	defer func() {
		if err != nil {
			_ = f.close()
		}
	}()
	s.account = lambda.NewAccount(c.ConcurrencyLimit)
	var cfgs []lambda.Config
	if len(c.List) == 0 {
		fc, err := s.functionConfig()
		if err != nil {
			return nil, err
		}
		var env []string
		if shared != nil && c.Runtime == "" {
			if c.isBootstrap() {
				log.Warn("the read cache does not sit in front of the Lambda build, which opens DynamoDB directly")
			} else if fc.Store, fc.StoreToken, err = f.serveDAX(shared, s.cfg.HTTP.daxLimits(), log); err != nil {
				return nil, err
			}
		} else if shared == nil {
			// DynamoDB on a local engine: through the table's front.
			var endpoint string
			if fc.Store, endpoint, env, err = s.frontEnvironment(fc.Store); err != nil {
				return nil, err
			}
			if endpoint != "" {
				fc.Endpoint = endpoint
			}
		}
		pc, err := s.poolConfig(fc)
		if err != nil {
			return nil, err
		}
		pc.Env = append(pc.Env, env...)
		cfgs = append(cfgs, pc)
	} else {
		var own []string // surge's own function's environment, made once
		for _, fn := range c.List {
			if fn.Runtime == "" && len(fn.Command) == 0 {
				if own == nil {
					if own, err = s.ownFunctionEnv(f, shared); err != nil {
						return nil, err
					}
				}
				if fn.Command = c.command(); len(fn.Command) == 0 {
					if fn.Command, err = ownFunctionCommand(); err != nil {
						return nil, fmt.Errorf("function %s: %w", fn.Name, err)
					}
				}
				fn.Env = append(append(append([]string(nil), own...), c.Env...), fn.Env...)
			}
			pc, err := s.functionPoolConfig(ctx, fn)
			if err != nil {
				return nil, err
			}
			cfgs = append(cfgs, pc)
		}
	}
	for _, pc := range cfgs {
		p, err := lambda.New(pc)
		if err != nil {
			return nil, err
		}
		f.pools = append(f.pools, p)
	}
	// Every pool's provisioned instances start at once, each init bounded
	// by the pool's ProvisionedInitTimeout (Lambda's 130 s, not the
	// on-demand 10 s: many inits at once share this machine's cores); an
	// init that fails again after its retry fails the start.
	wait := lambda.DefaultInitTimeout
	for _, p := range f.pools {
		wait = max(wait, p.Config().ProvisionedInitTimeout+time.Second)
	}
	wctx, cancel := context.WithTimeout(ctx, wait)
	defer cancel()
	for _, p := range f.pools {
		var st lambda.Stats
		err := p.Wait(wctx, func(s lambda.Stats) bool {
			st = s
			return s.ProvisionedReady >= s.Provisioned || s.ProvisionedInitFailures >= 2
		})
		if err == nil && st.ProvisionedReady < st.Provisioned {
			err = fmt.Errorf("%d inits failed in a row (their errors are in the log above)", st.ProvisionedInitFailures)
		}
		if err != nil {
			return nil, fmt.Errorf("function %s: provisioned concurrency: %w", p.Name(), err)
		}
		pc := p.Config()
		log.Info("function", "name", pc.Name, "command", strings.Join(pc.Command, " "), "memory_mb", pc.MemoryMB,
			"timeout", pc.Timeout, "reserved_concurrency", pc.ReservedConcurrency, "concurrency_limit", pc.ConcurrencyLimit,
			"provisioned", pc.Provisioned, "idle_timeout", pc.IdleTimeout)
	}
	opt := lambda.IntegrationOptions{Timeout: c.IntegrationTimeout, ThrottleStatus: c.ThrottleStatus, TimeoutStatus: c.TimeoutStatus}
	if len(c.List) == 0 {
		opt.Routes = itemsapi.Routes()
		f.integration = lambda.NewIntegration(f.pools[0], opt)
	} else if f.integration, err = newRouter(f.pools, c.Routes, opt); err != nil {
		return nil, err
	}
	f.invoke = lambda.NewInvokeAPI(f.pools...)
	return f, nil
}

// ownFunctionEnv is the environment of the instances of a function of
// FunctionsConfig.List that runs surge's own function (no runtime, no
// command of its own: FunctionsConfig.Command, else this program's surge
// function): the server's settings and its store, as the one function of
// the --function-* flags gets them (the shared read cache, or the table's
// front), so that several functions of surge's own, a route or more each,
// share one table.
func (s *Server) ownFunctionEnv(f *functions, shared items.Store) ([]string, error) {
	fc, err := s.functionConfig()
	if err != nil {
		return nil, err
	}
	var env []string
	if shared != nil {
		if s.cfg.Functions.isBootstrap() {
			return fc.Environ(), nil // the Lambda build opens DynamoDB itself
		}
		if fc.Store, fc.StoreToken, err = f.serveDAX(shared, s.cfg.HTTP.daxLimits(), s.log); err != nil {
			return nil, err
		}
	} else {
		var endpoint string
		if fc.Store, endpoint, env, err = s.frontEnvironment(fc.Store); err != nil {
			return nil, err
		}
		if endpoint != "" {
			fc.Endpoint = endpoint
		}
	}
	return append(fc.Environ(), env...), nil
}

// serveDAX serves st to the instances on a loopback port, to those only
// that send the run's token (which they get in their environment), and
// returns the store URL they open it by, and the token.
func (f *functions) serveDAX(st items.Store, limits listen.Limits, log *slog.Logger) (url, token string, err error) {
	ln, err := listen.Listen("127.0.0.1:0")
	if err != nil {
		return "", "", fmt.Errorf("listen for the shared read cache: %w", err)
	}
	token = newToken()
	f.dax = limits.Server(remote.NewServer(st, remote.WithToken(token)), log)
	go f.dax.Serve(ln)
	url = (&store.URL{Scheme: store.SchemeDAX, Addr: ln.Addr().String()}).String()
	log.Info("read cache shared by the function instances", "store", url)
	return url, token, nil
}

func (f *functions) close() error {
	if f == nil {
		return nil
	}
	var wg sync.WaitGroup
	errs := make([]error, len(f.pools))
	for i, p := range f.pools {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = p.Close()
		}()
	}
	wg.Wait()
	err := errors.Join(errs...)
	if f.dax != nil {
		err = errors.Join(err, f.dax.Close()) // after the instances that use it
	}
	return err
}

// router sends each request to the integration of its route's function,
// by the route rest.Routes matched; a request that no route matched is
// answered 404, or 405 with Allow where routes of other methods have its
// path. (API Gateway answers both with 403 {"message": "Missing
// Authentication Token"} in a REST API and 404 {"message": "Not Found"}
// in an HTTP API; surge answers in the items contract's error shape, as
// its gateway answers everything it refuses itself.)
type router struct {
	byRoute map[string]http.Handler
	paths   *http.ServeMux // each path, to find its methods
	methods map[string][]string
}

// newRouter builds the integrations of routes, one per function and
// payload format, and the router in front of them.
func newRouter(pools []*lambda.Pool, routes []Route, opt lambda.IntegrationOptions) (*router, error) {
	byName := map[string]*lambda.Pool{}
	for _, p := range pools {
		byName[p.Name()] = p
	}
	type key struct {
		fn, version, stage string
		timeout            time.Duration
	}
	groups := map[key][]Route{}
	var order []key
	for _, rt := range routes {
		if byName[rt.Function] == nil {
			return nil, fmt.Errorf("route %s %s: no function %q", methodOf(rt), rt.Path, rt.Function)
		}
		k := key{rt.Function, rt.PayloadVersion, rt.Stage, rt.Timeout}
		if _, ok := groups[k]; !ok {
			order = append(order, k)
		}
		groups[k] = append(groups[k], rt)
	}
	r := &router{byRoute: map[string]http.Handler{}, paths: http.NewServeMux(), methods: map[string][]string{}}
	for _, k := range order {
		o := opt
		o.PayloadVersion, o.Stage = k.version, k.stage
		if k.timeout > 0 {
			o.Timeout = k.timeout
		}
		var rr []rest.Route
		for _, rt := range groups[k] {
			rr = append(rr, rt.restRoute())
			o.StageVariables = rt.StageVariables
		}
		o.Routes = rr
		g := lambda.NewIntegration(byName[k.fn], o)
		for _, rt := range rr {
			r.byRoute[rt.String()] = g
		}
	}
	for _, rt := range routes {
		rr := rt.restRoute()
		if _, ok := r.methods[rr.Pattern]; !ok {
			r.paths.Handle(rr.Pattern, http.NotFoundHandler())
		}
		r.methods[rr.Pattern] = append(r.methods[rr.Pattern], methodOf(rt))
	}
	return r, nil
}

func methodOf(rt Route) string {
	if rt.Method == "" {
		return "ANY"
	}
	return rt.Method
}

func (r *router) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	if ri := rest.Info(req.Context()); ri != nil && ri.Route != "" {
		if h := r.byRoute[ri.Route]; h != nil {
			h.ServeHTTP(w, req)
			return
		}
	}
	if _, pattern := r.paths.Handler(req); pattern != "" {
		allow := r.methods[pattern]
		if len(allow) > 0 {
			w.Header().Set("Allow", strings.Join(allow, ", "))
			rest.WriteError(w, &items.Error{Code: rest.CodeMethodNotAllowed, Message: "The method " + req.Method + " is not allowed here."})
			return
		}
	}
	rest.WriteError(w, &items.Error{Code: items.ENOTFOUND, Message: "No route matches the request."})
}

// restRoute is the route as the gateway's ServeMux patterns write it:
// "{proxy+}" as "{proxy...}", the root as "/{$}".
func (rt Route) restRoute() rest.Route {
	p := rt.Path
	if p == "" || p == "/" {
		p = "/{$}"
	}
	if i := strings.LastIndex(p, "+}"); i >= 0 && i == len(p)-2 {
		p = p[:i] + "...}"
	}
	return rest.Route{Method: rt.Method, Pattern: p}
}

// routes are the gateway's routes: the items API's, or the template's.
func (s *Server) routes() []rest.Route {
	if len(s.cfg.Functions.List) == 0 || !s.cfg.Functions.Enabled {
		return itemsapi.Routes()
	}
	out := make([]rest.Route, 0, len(s.cfg.Functions.Routes))
	for _, rt := range s.cfg.Functions.Routes {
		out = append(out, rt.restRoute())
	}
	return out
}

// checkRoutes reports routes whose patterns the gateway cannot hold
// together (http.ServeMux panics on two that conflict): two paths with
// the same shape whose parameters are named apart, as API Gateway
// refuses them too.
func checkRoutes(routes []Route) (err error) {
	mux := http.NewServeMux()
	seen := map[string]bool{}
	for _, rt := range routes {
		p := rt.restRoute().String()
		if seen[p] {
			continue
		}
		seen[p] = true
		func() {
			defer func() {
				if v := recover(); v != nil {
					err = errors.Join(err, fmt.Errorf("route %s %s: %v", methodOf(rt), rt.Path, v))
				}
			}()
			mux.Handle(p, http.NotFoundHandler())
		}()
	}
	return err
}
