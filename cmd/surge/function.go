package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/peterbourgon/ff/v4"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/surgehq/surge/internal/dax"
	"github.com/surgehq/surge/internal/dynamo"
	"github.com/surgehq/surge/internal/function"
	"github.com/surgehq/surge/internal/items"
	"github.com/surgehq/surge/internal/itemsapi"
	"github.com/surgehq/surge/internal/lambda"
	"github.com/surgehq/surge/internal/memstore"
	"github.com/surgehq/surge/internal/sqlite"
)

func init() { addCommand(newFunctionCommand) }

// newFunctionCommand makes `surge function`: the Lambda function of
// cmd/bootstrap, the same code, run as a local function instance. It is
// what `surge serve --functions` starts for each instance; it also opens
// SQLite, which the Lambda build does not link.
func newFunctionCommand(r *root) *ff.Command {
	fs := ff.NewFlagSet("function").SetParent(r.flags)
	return &ff.Command{
		Name:      "function",
		Usage:     "surge function",
		ShortHelp: "run the items function as a Lambda function instance (Runtime API)",
		LongHelp: "Runs the function that cmd/bootstrap deploys to AWS Lambda, as one function\n" +
			"instance: it reads its configuration from the environment, opens its store,\n" +
			"and takes events from the Lambda Runtime API at AWS_LAMBDA_RUNTIME_API until it\n" +
			"is stopped. `surge serve --functions` runs it for each instance.\n\n" +
			"Environment, beside Lambda's and cmd/bootstrap's (SURGE_TABLE,\n" +
			"SURGE_CACHE_CONTROL, SURGE_LOG_LEVEL, ...):\n" +
			"  SURGE_STORE   sqlite:PATH, dynamodb://TABLE?endpoint=URL&region=R, mem:, or\n" +
			"                dax://HOST:PORT (the read cache that surge serve shares)\n" +
			"                (default: the DynamoDB table SURGE_TABLE, as on Lambda)\n" +
			"  SURGE_SYNC    SQLite durability: normal (default) or full",
		Flags: fs,
		Exec: func(ctx context.Context, args []string) error {
			if len(args) > 0 {
				return fmt.Errorf("function takes no arguments, got %q", args)
			}
			// An instance is ended with SIGKILL; a SIGINT or SIGTERM (from a
			// terminal) ends it at once too.
			go func() {
				<-ctx.Done()
				os.Exit(0)
			}()
			function.Run(openFunctionStore)
			return nil
		},
	}
}

// openFunctionStore opens a function instance's store: SURGE_STORE, else
// the DynamoDB table as cmd/bootstrap does. An instance serves one request
// at a time, so SQLite gets one read connection.
func openFunctionStore(ctx context.Context, cfg *function.Config) (items.Store, error) {
	u := cfg.Store
	switch {
	case u == "":
		return function.OpenDynamo(ctx, cfg)
	case strings.HasPrefix(u, "sqlite:"):
		path := strings.TrimPrefix(strings.TrimPrefix(u, "sqlite:"), "//")
		sync := os.Getenv("SURGE_SYNC")
		if sync == "" {
			sync = sqlite.DefaultSync
		}
		s, err := sqlite.Open(path, sqlite.WithSync(sync), sqlite.WithReadConns(1))
		if err != nil {
			return nil, fmt.Errorf("open SQLite store %s: %w", path, err)
		}
		return s, nil
	case u == "mem:" || u == "mem://":
		return memstore.New(), nil
	case strings.HasPrefix(u, "dynamodb://"):
		s, err := dynamo.OpenURL(ctx, u)
		if err != nil {
			return nil, fmt.Errorf("open store %q: %w", u, err)
		}
		return s, nil
	case strings.HasPrefix(u, daxScheme):
		// The read cache that `surge serve` shares among its instances.
		return dax.NewClient("http://" + strings.TrimPrefix(u, daxScheme)), nil
	}
	return nil, fmt.Errorf("store %q: unknown kind; want sqlite:PATH, mem:, dynamodb://TABLE or dax://HOST:PORT", u)
}

// functionsConfig is the configuration of `surge serve --functions`: the
// local stand-in for Lambda in front of which the gateway runs. It is
// plain data, filled by flags (and their SURGE_ variables) or a config
// file's functions section.
type functionsConfig struct {
	Enabled             bool          `yaml:"enabled"`
	Command             string        `yaml:"command"`
	Name                string        `yaml:"name"`
	MemoryMB            int           `yaml:"memory"`
	Timeout             time.Duration `yaml:"timeout"`
	ReservedConcurrency int           `yaml:"reserved_concurrency"`
	ConcurrencyLimit    int           `yaml:"concurrency_limit"`
	Provisioned         int           `yaml:"provisioned"`
	MaxProvisioned      int           `yaml:"max_provisioned"`
	Schedule            string        `yaml:"schedule"`
	ScheduleTimezone    string        `yaml:"schedule_timezone"`
	TargetUtilization   float64       `yaml:"target_utilization"`
	IdleTimeout         time.Duration `yaml:"idle_timeout"`
	StartRate           float64       `yaml:"start_rate"`
	StartBurst          int           `yaml:"start_burst"`
	Limits              string        `yaml:"limits"`
	Env                 []string      `yaml:"env"`
	IntegrationTimeout  time.Duration `yaml:"integration_timeout"`
	ThrottleStatus      int           `yaml:"throttle_status"`
	TimeoutStatus       int           `yaml:"timeout_status"`
}

// register defines the flags of c on fs, with their defaults.
func (c *functionsConfig) register(fs *ff.FlagSet) {
	fs.BoolVar(&c.Enabled, 0, "functions", "serve the API through a pool of function processes with Lambda's execution model (a local Lambda) instead of in process")
	fs.StringVar(&c.Command, 0, "function-command", "", "the function program and its arguments, split at spaces, such as dist/host/bootstrap (default: this program's `surge function`)")
	fs.StringVar(&c.Name, 0, "function-name", lambda.DefaultName, "the function's name (Invoke API, metrics, ARN)")
	fs.IntVar(&c.MemoryMB, 0, "function-memory", lambda.DefaultMemoryMB, "memory size in MB, 128 to 10240; an instance gets memory/1769 of a CPU and this much memory, where cgroups allow")
	fs.DurationVar(&c.Timeout, 0, "function-timeout", lambda.DefaultTimeout, "function timeout: a longer invocation fails (Sandbox.Timedout) and its instance is replaced")
	fs.IntVar(&c.ReservedConcurrency, 0, "function-reserved-concurrency", 0, "reserved concurrency: the most instances busy at once, beyond which requests are throttled (0: the concurrency limit)")
	fs.IntVar(&c.ConcurrencyLimit, 0, "function-concurrency-limit", lambda.DefaultConcurrencyLimit, "the account's concurrency limit (AWS: 1000)")
	fs.IntVar(&c.Provisioned, 0, "function-provisioned", 0, "provisioned concurrency: instances kept initialised, before the first request and when idle")
	fs.IntVar(&c.MaxProvisioned, 0, "function-max-provisioned", 0, "the most provisioned concurrency schedules and target tracking may set (0: the concurrency cap)")
	fs.StringVar(&c.Schedule, 0, "function-schedule", "", "scheduled actions of provisioned concurrency, separated by ';': SCHEDULE=MIN[:MAX], SCHEDULE being cron(...), rate(...) or at(...) as in Application Auto Scaling")
	fs.StringVar(&c.ScheduleTimezone, 0, "function-schedule-timezone", "UTC", "IANA time zone of the scheduled actions")
	fs.Float64Var(&c.TargetUtilization, 0, "function-target-utilization", 0, "target tracking of provisioned concurrency utilisation, such as the seed's 0.7 (0: off)")
	fs.DurationVar(&c.IdleTimeout, 0, "function-idle-timeout", lambda.DefaultIdleTimeout, "how long an idle on-demand instance is kept (AWS: some 5 to 15 minutes)")
	fs.Float64Var(&c.StartRate, 0, "function-start-rate", lambda.DefaultStartRate, "new instances a second, steadily (AWS: 1000 every 10 seconds)")
	fs.IntVar(&c.StartBurst, 0, "function-start-burst", lambda.DefaultStartBurst, "new instances at once, beyond the steady rate")
	fs.StringEnumVar(&c.Limits, 0, "function-limits", "CPU and memory limits by memory size, through cgroups: auto (where the kernel allows) or off", string(lambda.LimitsAuto), string(lambda.LimitsOff))
	fs.StringListVar(&c.Env, 0, "function-env", "an environment variable of the function, KEY=VALUE (repeatable)")
	fs.DurationVar(&c.IntegrationTimeout, 0, "function-integration-timeout", lambda.DefaultIntegrationTimeout, "API Gateway's integration timeout: past it the client gets 504")
	fs.IntVar(&c.TimeoutStatus, 0, "function-timeout-status", http.StatusGatewayTimeout, "answer to a request whose function reached its timeout: 504 (gateway_timeout) or 502 (what API Gateway answers when the function's timeout is shorter than its 29 s integration timeout)")
	fs.IntVar(&c.ThrottleStatus, 0, "function-throttle-status", http.StatusTooManyRequests, "answer to a throttled request: 429 (throttled, Retry-After) or 500 (what API Gateway answers when Lambda throttles)")
}

// poolConfig is the pool's configuration: the function's settings, and
// the environment that gives it the store and the settings serve passes.
func (c *functionsConfig) poolConfig(s *serveConfig, log *slog.Logger, m *lambda.Metrics) (lambda.Config, error) {
	if c.TimeoutStatus != 0 && c.TimeoutStatus != http.StatusGatewayTimeout && c.TimeoutStatus != http.StatusBadGateway {
		return lambda.Config{}, fmt.Errorf("--function-timeout-status %d: want 504 or 502", c.TimeoutStatus)
	}
	if c.ThrottleStatus != http.StatusTooManyRequests && c.ThrottleStatus != http.StatusInternalServerError {
		return lambda.Config{}, fmt.Errorf("--function-throttle-status %d: want 429 or 500", c.ThrottleStatus)
	}
	store := s.store
	switch {
	case store == "":
		abs, err := filepath.Abs(filepath.Join(s.data, "items.db"))
		if err != nil {
			return lambda.Config{}, err
		}
		store = "sqlite:" + abs
	case strings.HasPrefix(store, "sqlite:"):
		path := strings.TrimPrefix(strings.TrimPrefix(store, "sqlite:"), "//")
		abs, err := filepath.Abs(path)
		if err != nil {
			return lambda.Config{}, err
		}
		store = "sqlite:" + abs
	case store == "mem:" || store == "mem://":
		return lambda.Config{}, errors.New("--functions: a memory store cannot be shared by function instances; use SQLite or DynamoDB")
	}
	cmd := strings.Fields(c.Command)
	if len(cmd) == 0 {
		exe, err := os.Executable()
		if err != nil {
			return lambda.Config{}, fmt.Errorf("find this program for --functions: %w", err)
		}
		cmd = []string{exe, "function"}
	}
	table := s.table
	var dynamoEnv []string
	if strings.HasPrefix(store, "dynamodb://") {
		// What the Lambda build reads: its table (which, as deployed, is
		// also the tableName /ops accepts), endpoint, region and reads.
		u, err := dynamo.ParseURL(store)
		if err != nil {
			return lambda.Config{}, err
		}
		table = u.Table
		dynamoEnv = append(dynamoEnv, "SURGE_DYNAMODB_ENDPOINT="+u.Endpoint, "SURGE_REGION="+u.Region,
			"SURGE_CONSISTENT_READS="+strconv.FormatBool(u.Consistent))
	} else if len(c.Command) > 0 && filepath.Base(cmd[0]) == "bootstrap" {
		return lambda.Config{}, fmt.Errorf("--function-command %s: the Lambda build opens DynamoDB only (it links no SQLite); give --store dynamodb://TABLE, or leave --function-command out for surge function", cmd[0])
	}
	env := []string{"SURGE_STORE=" + store, "SURGE_SYNC=" + s.sync, "SURGE_TABLE=" + table,
		"SURGE_CACHE_CONTROL=" + s.cacheControl, "SURGE_LOG_LEVEL=" + s.logLevel}
	env = append(env, dynamoEnv...)
	for _, kv := range c.Env {
		if !strings.Contains(kv, "=") {
			return lambda.Config{}, fmt.Errorf("--function-env %q: want KEY=VALUE", kv)
		}
	}
	sched, err := parseScheduleFlag(c.Schedule, c.ScheduleTimezone)
	if err != nil {
		return lambda.Config{}, err
	}
	return lambda.Config{
		Name: c.Name, Command: cmd, Env: append(env, c.Env...), MemoryMB: c.MemoryMB, Timeout: c.Timeout,
		ReservedConcurrency: c.ReservedConcurrency, ConcurrencyLimit: c.ConcurrencyLimit,
		Provisioned: c.Provisioned, MaxProvisioned: c.MaxProvisioned, Schedule: sched,
		TargetUtilization: c.TargetUtilization, IdleTimeout: c.IdleTimeout,
		StartRate: c.StartRate, StartBurst: c.StartBurst, Limits: lambda.Limits(c.Limits),
		Log: log, Metrics: m,
	}, nil
}

// parseScheduleFlag reads --function-schedule: actions separated by ';',
// each SCHEDULE=MIN[:MAX].
func parseScheduleFlag(s, tz string) ([]lambda.ScheduledAction, error) {
	var out []lambda.ScheduledAction
	for _, part := range strings.Split(s, ";") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		i := strings.LastIndex(part, "=")
		if i < 0 {
			return nil, fmt.Errorf("--function-schedule %q: want SCHEDULE=MIN[:MAX]", part)
		}
		a := lambda.ScheduledAction{Schedule: strings.TrimSpace(part[:i]), Timezone: tz}
		minText, maxText, hasMax := strings.Cut(part[i+1:], ":")
		var err error
		if a.Min, err = strconv.Atoi(strings.TrimSpace(minText)); err != nil || a.Min < 0 {
			return nil, fmt.Errorf("--function-schedule %q: want a minimum of 0 or more", part)
		}
		if hasMax {
			if a.Max, err = strconv.Atoi(strings.TrimSpace(maxText)); err != nil || a.Max < 1 {
				return nil, fmt.Errorf("--function-schedule %q: want a maximum of 1 or more", part)
			}
		}
		out = append(out, a)
	}
	return out, nil
}

// functions is the running local Lambda of `surge serve --functions`.
type functions struct {
	pool        *lambda.Pool
	integration http.Handler
	invoke      http.Handler
	dax         *http.Server // the shared read cache, when on
}

// startFunctions starts the pool of c and waits for its provisioned
// instances (at most the function's init timeout), so that the first
// request finds them initialised.
//
// With shared (the read cache in front of surge's store), the instances
// read and write through it, as Lambda functions share a DAX cluster: it is
// served on a loopback port and each instance opens dax://HOST:PORT as its
// store. The Lambda build itself opens DynamoDB only, so it goes without.
func startFunctions(ctx context.Context, s *serveConfig, shared items.Store, log *slog.Logger, reg prometheus.Registerer) (*functions, error) {
	c := &s.functions
	cfg, err := c.poolConfig(s, log, lambda.NewMetrics(reg))
	if err != nil {
		return nil, err
	}
	f := &functions{}
	started := false
	defer func() {
		if !started {
			f.close()
		}
	}()
	if shared != nil {
		if filepath.Base(cfg.Command[0]) == "bootstrap" {
			log.Warn("the read cache does not sit in front of the Lambda build, which opens DynamoDB directly")
		} else if err := f.serveDAX(shared, &cfg, log); err != nil {
			return nil, err
		}
	}
	p, err := lambda.New(cfg)
	if err != nil {
		return nil, err
	}
	f.pool = p
	wctx, cancel := context.WithTimeout(ctx, lambda.DefaultInitTimeout)
	defer cancel()
	if err := p.WaitProvisioned(wctx); err != nil {
		return nil, fmt.Errorf("provisioned concurrency: %w", err)
	}
	pc := p.Config()
	log.Info("functions", "name", pc.Name, "command", strings.Join(pc.Command, " "), "memory_mb", pc.MemoryMB,
		"timeout", pc.Timeout, "reserved_concurrency", pc.ReservedConcurrency, "concurrency_limit", pc.ConcurrencyLimit,
		"provisioned", pc.Provisioned, "idle_timeout", pc.IdleTimeout)
	routes := make([]lambda.Route, 0, len(itemsapi.Routes()))
	for _, rt := range itemsapi.Routes() {
		routes = append(routes, lambda.Route{Method: rt.Method, Pattern: rt.Pattern})
	}
	f.integration = lambda.NewIntegration(p, lambda.IntegrationOptions{Routes: routes,
		Timeout: c.IntegrationTimeout, ThrottleStatus: c.ThrottleStatus, TimeoutStatus: c.TimeoutStatus})
	f.invoke = lambda.NewInvokeAPI(p)
	started = true
	return f, nil
}

// daxScheme is the store URL scheme of the shared read cache.
const daxScheme = "dax://"

// serveDAX serves st to the instances on a loopback port and points their
// SURGE_STORE at it.
func (f *functions) serveDAX(st items.Store, cfg *lambda.Config, log *slog.Logger) error {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return fmt.Errorf("listen for the shared read cache: %w", err)
	}
	f.dax = &http.Server{Handler: dax.NewServer(st), ReadHeaderTimeout: 10 * time.Second,
		ErrorLog: slog.NewLogLogger(log.Handler(), slog.LevelWarn)}
	go f.dax.Serve(ln)
	url := daxScheme + ln.Addr().String()
	for i, kv := range cfg.Env {
		if strings.HasPrefix(kv, "SURGE_STORE=") {
			cfg.Env[i] = "SURGE_STORE=" + url
			break
		}
	}
	log.Info("read cache shared by the function instances", "store", url)
	return nil
}

// mount serves Lambda's Invoke API beside the gateway: it is Lambda's
// own endpoint, which API Gateway's caching, throttling and auth do not
// front.
func (f *functions) mount(gw http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasPrefix(r.URL.Path, lambda.InvokePrefix) {
			f.invoke.ServeHTTP(w, r)
			return
		}
		gw.ServeHTTP(w, r)
	})
}

func (f *functions) close() error {
	if f == nil {
		return nil
	}
	var err error
	if f.pool != nil {
		err = f.pool.Close()
	}
	if f.dax != nil {
		err = errors.Join(err, f.dax.Close()) // after the instances that use it
	}
	return err
}
