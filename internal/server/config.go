package server

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"path/filepath"
	"strings"
	"time"

	"github.com/surgehq/surge/internal/admission"
	"github.com/surgehq/surge/internal/api/itemsapi"
	"github.com/surgehq/surge/internal/items"
	"github.com/surgehq/surge/internal/local/auth"
	"github.com/surgehq/surge/internal/local/gateway"
	"github.com/surgehq/surge/internal/local/lambda"
	"github.com/surgehq/surge/internal/local/lambda/runtimes"
	"github.com/surgehq/surge/internal/local/sam"
	"github.com/surgehq/surge/internal/local/table"
	"github.com/surgehq/surge/internal/store"
	"github.com/surgehq/surge/internal/store/fault"
	"github.com/surgehq/surge/internal/store/readcache"
	"github.com/surgehq/surge/internal/store/sqlite"
)

// Config is the configuration of a Server: plain data, every field's
// default in DefaultConfig. `surge serve` binds its flags (each field's
// flag tag and help; see package cli), their SURGE_ variables and its YAML
// config onto it.
type Config struct {
	// Addr is the address of the items API (--addr); ":0"-style addresses
	// pick a port, which Server.Addr reports.
	Addr string `flag:"addr" help:"address the items API listens on"`
	// AdminAddr is the address of Prometheus /metrics and /debug/pprof/
	// (--admin-addr); empty disables it.
	AdminAddr string `flag:"admin-addr" help:"address of the admin listener (/metrics, /debug/pprof/); empty disables it"`
	// Data is the directory of the default store, <Data>/items.db (--data).
	Data string `flag:"data" help:"directory of the embedded store; the database is <data>/items.db"`
	// Store is the store URL (--store): sqlite:PATH, mem: or
	// dynamodb://TABLE?endpoint=URL&region=R&consistent=true; empty is
	// SQLite in Data.
	Store string `flag:"store" help:"store URL: sqlite:PATH, mem:, or dynamodb://TABLE?endpoint=URL&region=R (default: SQLite in --data)"`
	// Sync is SQLite's durability, normal or full (--sync).
	Sync string `flag:"sync" enum:"normal,full" help:"SQLite durability: normal (a write survives a crash of surge) or full (also a power loss)"`
	// Table is the table name the /ops dispatcher accepts (--table).
	Table string `flag:"table" help:"table name the /ops dispatcher accepts in tableName"`
	// CacheControl is the Cache-Control of GET /items/{id} (--cache-control).
	CacheControl string `flag:"cache-control" help:"Cache-Control header of GET /items/{id} responses"`
	// ShutdownTimeout bounds how long Run waits for requests in flight
	// once its context is done (--shutdown-timeout).
	ShutdownTimeout time.Duration `flag:"shutdown-timeout" help:"how long a shutdown waits for requests in flight"`
	// AccessLog logs one line per request (--access-log).
	AccessLog bool `flag:"access-log" help:"log one line per request"`
	// Log receives the server's log (default: discarded).
	Log *slog.Logger
	// HTTP are the timeouts and header limits of every listener
	// (--http-*).
	HTTP HTTPConfig

	// Cache is API Gateway's response cache (--cache-*).
	Cache CacheConfig
	// ETags tags list pages too, and answers their If-None-Match (--etags).
	ETags bool `flag:"etags" help:"ETag and If-None-Match (304) on list pages too (items always have them)"`
	// Throttle is API Gateway's throttling (--throttle-*).
	Throttle ThrottleConfig
	// Auth is API keys and bearer tokens (--auth-*).
	Auth AuthConfig
	// ReadCache is the DAX-like read cache in front of the store
	// (--read-cache-*).
	ReadCache ReadCacheConfig
	// Trace is OpenTelemetry tracing (--trace-*).
	Trace TraceConfig
	// Functions runs the API in a pool of local Lambda function processes
	// (--functions, --function-*).
	Functions FunctionsConfig
	// Admission is the admission control in front of the in-process
	// integration (--admission, --admission-*).
	Admission AdmissionConfig
	// Fault injects faults into the store (--fault, --fault-allow-production).
	Fault FaultConfig
	// Capacity is the store's table's DynamoDB capacity: mode, units and
	// auto scaling (--table-*).
	Capacity CapacityConfig
	// Template runs a SAM application instead of surge's own API
	// (--template, --parameter-overrides, --template-*).
	Template TemplateConfig

	// Now, when set, is the clock of the gateway's caches and buckets, of
	// token expiry, and of the read cache, so that TTLs and refills move
	// by hand in tests.
	Now func() time.Time
	// WrapStore, when set, wraps the store as opened, below every other
	// layer: a test's fault injection.
	WrapStore func(items.Store) items.Store
	// Observers are told what the parts do, beside the Prometheus
	// metrics on the admin listener.
	Observers Observers
	// FunctionLogs, when set, receives the functions' logs instead of the
	// console (with Functions.Logs).
	FunctionLogs lambda.LogSink
}

// Observers are a caller's own observers of the parts of a Server, told
// of what they do beside the Prometheus ones. Any may be nil.
type Observers struct {
	// Cache is told of the response cache's hits, misses, evictions and
	// invalidations.
	Cache gateway.CacheObserver
	// Throttle is told of every throttled request, by level.
	Throttle gateway.ThrottleObserver
	// Pool is told of the function pool's invocations, cold starts,
	// throttles and instances.
	Pool lambda.Observer
	// Table is told of the table's charges, throttles and changes of
	// capacity.
	Table table.Observer
}

// CacheConfig is API Gateway's response cache.
type CacheConfig struct {
	// Enabled caches GET responses (--cache-enabled).
	Enabled bool `flag:"cache-enabled" help:"cache GET responses in the gateway, as API Gateway's cache"`
	// TTL is how long a response is served from the cache, 1 s to 1 h; 0
	// turns the cache off (--cache-ttl).
	TTL time.Duration `flag:"cache-ttl" help:"response cache TTL, 1s to 1h; 0 turns the cache off"`
	// SizeMB bounds its memory (--cache-size-mb).
	SizeMB int `flag:"cache-size-mb" help:"response cache memory bound, in MB"`
	// Routes are the GET routes cached, by pattern (--cache-routes).
	Routes []string `flag:"cache-routes" sep:"," help:"GET routes whose responses are cached, comma-separated"`
	// Key lists the declared cache key parameters (--cache-key).
	Key []string `flag:"cache-key" sep:"," help:"declared cache key parameters (path.NAME, querystring.NAME, header.NAME); method, route and tenant are always in the key"`
	// InvalidateOnWrite drops the cached responses a write through the
	// gateway may change (--cache-invalidate-on-write).
	InvalidateOnWrite bool `flag:"cache-invalidate-on-write" help:"drop cached responses a write through the gateway may change (false: API Gateway's stale reads until the TTL)"`
	// RequireAuthorization lets only callers allowed to invalidate with
	// Cache-Control: max-age=0 (--cache-require-authorization).
	RequireAuthorization bool `flag:"cache-require-authorization" help:"let only callers allowed to (keys with invalidate-cache, tokens with the scope) invalidate with Cache-Control: max-age=0"`
	// Unauthorized is the strategy for an invalidation not allowed: warn,
	// ignore or fail (--cache-unauthorized).
	Unauthorized string `flag:"cache-unauthorized" enum:"warn,ignore,fail" help:"an invalidation by a caller not allowed to: warn (ignore it, add a Warning header), ignore (silently) or fail (403)"`
}

// ThrottleConfig is API Gateway's throttling: token buckets per stage,
// account and route (and per API key, from the keys' usage plans).
type ThrottleConfig struct {
	// StageRate and StageBurst are the stage's limit (the article: 1000
	// rps); a rate of 0 turns it off, a burst of 0 is the rate
	// (--throttle-stage-rate, --throttle-stage-burst).
	StageRate  float64 `flag:"throttle-stage-rate" help:"stage throttling: requests per second (the article: 1000); 0 turns it off"`
	StageBurst int     `flag:"throttle-stage-burst" help:"stage throttling: burst (default: the rate)"`
	// AccountRate and AccountBurst are the account's
	// (--throttle-account-rate, --throttle-account-burst).
	AccountRate  float64 `flag:"throttle-account-rate" help:"account throttling: requests per second (AWS: 10000); 0 turns it off"`
	AccountBurst int     `flag:"throttle-account-burst" help:"account throttling: burst (AWS: 5000; default: the rate)"`
	// Routes are route limits, "METHOD PATH=RATE:BURST", comma-separated
	// (--throttle-routes; gateway.ParseRouteLimits).
	Routes string `flag:"throttle-routes" help:"route throttling, comma-separated \"METHOD PATH=RATE:BURST\" (\"GET /items/{id}=500:1000\")"`
}

// AuthConfig is the gateway's authentication: API keys and bearer tokens.
type AuthConfig struct {
	// Keys is the API keys file (--auth-keys).
	Keys string `flag:"auth-keys" help:"API keys file (YAML or JSON: key -> tenant, usage plan); with keys, x-api-key is required"`
	// JWTSecretFile holds the HS256 secret of bearer tokens; JWKS the
	// RS256 keys.
	JWTSecretFile string `flag:"auth-jwt-secret-file" help:"file holding the HS256 secret of bearer tokens; with it (or --auth-jwks), a bearer token is required"`
	JWKS          string `flag:"auth-jwks" help:"JWKS file of the RS256 keys of bearer tokens"`
	// TenantClaim, Issuer, Audience and InvalidateScope are the tokens'
	// tenant claim, required iss and aud, and the scope that allows cache
	// invalidation.
	TenantClaim     string `flag:"auth-jwt-tenant-claim" help:"the token claim that names the tenant"`
	Issuer          string `flag:"auth-jwt-issuer" help:"required token issuer (iss), if set"`
	Audience        string `flag:"auth-jwt-audience" help:"required token audience (aud), if set"`
	InvalidateScope string `flag:"auth-jwt-invalidate-scope" help:"the token scope that allows cache invalidation"`
}

// ReadCacheConfig is the DAX-like item and query cache (package
// readcache).
type ReadCacheConfig struct {
	// Enabled puts it in front of the store (--read-cache-enabled).
	Enabled bool `flag:"read-cache-enabled" help:"read-through item and query cache in front of the store, as DAX"`
	// ItemTTL and QueryTTL are the caches' TTLs; 0 turns one off.
	ItemTTL  time.Duration `flag:"read-cache-item-ttl" help:"read cache: item cache TTL; 0 turns it off"`
	QueryTTL time.Duration `flag:"read-cache-query-ttl" help:"read cache: query (list) cache TTL; 0 turns it off"`
	// Items and Queries bound their entries, ItemMB and QueryMB their
	// memory.
	Items   int `flag:"read-cache-items" help:"read cache: most items held"`
	Queries int `flag:"read-cache-queries" help:"read cache: most list pages held"`
	ItemMB  int `flag:"read-cache-item-mb" help:"read cache: item cache memory bound, in MB"`
	QueryMB int `flag:"read-cache-query-mb" help:"read cache: query cache memory bound, in MB"`
}

// AdmissionConfig is the admission control in front of the in-process
// integration (package admission): a bounded number of requests in
// service, a short bounded queue, then 503 with X-Limit-Source:
// admission. With --functions the pool's concurrency limit is the
// admission control, as Lambda's is, and this one is not used.
type AdmissionConfig struct {
	// Enabled turns it on (--admission).
	Enabled bool `flag:"admission" help:"admission control in front of the in-process integration: a bounded number of requests in service and waiting, past which requests get 503 (X-Limit-Source: admission)"`
	// MinInFlight and MaxInFlight bound the requests in service; between
	// them the bound is the throughput times Target (Little's law), so
	// that an admitted request spends about Target in service
	// (--admission-min-inflight, --admission-max-inflight,
	// --admission-target). Equal, they fix it.
	MinInFlight int           `flag:"admission-min-inflight" help:"admission control: requests always allowed in service at once, by default 32 per CPU"`
	MaxInFlight int           `flag:"admission-max-inflight" help:"admission control: most requests in service at once, by default 512 per CPU"`
	Target      time.Duration `flag:"admission-target" help:"admission control: the time in service it sizes the requests in service for (throughput times this, within the bounds)"`
	// MaxQueue and QueueTimeout bound the requests waiting for a slot
	// (--admission-max-queue, -1 for none; --admission-queue-timeout).
	MaxQueue     int           `flag:"admission-max-queue" help:"admission control: requests waiting for a slot, -1 for none; by default 256 per CPU"`
	QueueTimeout time.Duration `flag:"admission-queue-timeout" help:"admission control: the longest a request waits for a slot"`
}

// FaultConfig injects faults into the store, in the manner of AWS's Fault
// Injection Service: for fault tests, game days and benchmarks, never in
// production.
type FaultConfig struct {
	// Spec is the faults, such as "store:error=0.1,latency=50ms"
	// (--fault; fault.Parse).
	Spec string `flag:"fault" help:"inject store faults, such as store:error=0.1,throttle=0.05,latency=50ms (error: share of operations failing with 500; throttle: share failing with 503; latency: added to each operation; ops=get+create+replace+delete+list+ping: which ones; duration=5m: how long); off by default"`
	// AllowProduction lets Spec apply to a configuration that looks like
	// production (--fault-allow-production).
	AllowProduction bool `flag:"fault-allow-production" help:"let --fault apply where the configuration looks like production (a DynamoDB store on AWS, or an API address that is not loopback)"`
}

// TraceConfig is OpenTelemetry tracing.
type TraceConfig struct {
	// Endpoint is the OTLP/HTTP endpoint; empty: no tracing, at no cost
	// (--trace-endpoint).
	Endpoint string `flag:"trace-endpoint" help:"OTLP/HTTP endpoint for traces (http://127.0.0.1:4318/v1/traces); empty: no tracing, at no cost"`
	// SampleRatio is the share of new traces recorded, 0 to 1
	// (--trace-sample-ratio).
	SampleRatio float64 `flag:"trace-sample-ratio" help:"share of new traces recorded, 0 to 1"`
	// Propagators are the trace header formats read and written
	// (--trace-propagators).
	Propagators []string `flag:"trace-propagators" sep:"," help:"trace header formats read and written: tracecontext (W3C), xray (X-Amzn-Trace-Id)"`
}

// FunctionsConfig is the local stand-in for Lambda in front of which the
// gateway runs: the function's settings. It configures one function
// today, whose pool serves every route.
type FunctionsConfig struct {
	// Enabled serves the API through the pool instead of in process
	// (--functions).
	Enabled bool `flag:"functions" help:"serve the API through a pool of function processes with Lambda's execution model (a local Lambda) instead of in process"`
	// Command is the function program and its arguments, split at spaces
	// (--function-command); empty: this program's `surge function`.
	Command string `flag:"function-command" help:"the function program and its arguments, split at spaces, such as dist/host/bootstrap (default: this program's \"surge function\")"`
	// Runtime, Handler and Code are a function of one of Lambda's
	// runtimes instead of Command (--function-runtime, --function-handler,
	// --function-code; see package runtimes): Python, Node.js or a custom
	// runtime's bootstrap, launched as Lambda launches it.
	Runtime string `flag:"function-runtime" help:"run a function of this Lambda runtime instead of surge's own: python3.9 to python3.14, nodejs20.x, nodejs22.x, provided.al2023, provided.al2"`
	Handler string `flag:"function-handler" help:"the function's handler, as Lambda takes it: module.function (Python), file.function (Node.js)"`
	Code    string `flag:"function-code" help:"the function's code directory (a template's CodeUri)"`
	// Logs writes each function's log to the console as Lambda writes it
	// to CloudWatch Logs: what it prints, and START, END and REPORT lines
	// (--function-logs).
	Logs bool `flag:"function-logs" help:"write each function's output and its START, END and REPORT lines to the console, prefixed by the function's name"`
	// Name is the function's name (--function-name).
	Name string `flag:"function-name" help:"the function's name (Invoke API, metrics, ARN)"`
	// InvokeAddr is the address of Lambda's Invoke API
	// (--function-invoke-addr), loopback by default; a port of 0 picks
	// one, which the log and Server.InvokeAddr report.
	InvokeAddr string `flag:"function-invoke-addr" help:"address of Lambda's Invoke API (POST /2015-03-31/functions/{name}/invocations); port 0 picks one"`
	// InvokeTokenFile holds the token the Invoke API requires
	// (--function-invoke-token-file); empty: a new token each run, written
	// to <data>/invoke-token.
	InvokeTokenFile string `flag:"function-invoke-token-file" help:"file holding the token the Invoke API requires (a bearer token, or the secret access key of SigV4-signed requests); default: a new token each run, in <data>/invoke-token"`
	// MemoryMB, Timeout, ReservedConcurrency, ConcurrencyLimit,
	// Provisioned, MaxProvisioned, TargetUtilization, IdleTimeout,
	// StartRate and StartBurst are Lambda's settings (--function-*; see
	// lambda.Config).
	MemoryMB            int           `flag:"function-memory" help:"memory size in MB, 128 to 10240; an instance gets memory/1769 of a CPU and this much memory, where cgroups allow"`
	Timeout             time.Duration `flag:"function-timeout" help:"function timeout: a longer invocation fails (Sandbox.Timedout) and its instance is replaced"`
	ReservedConcurrency int           `flag:"function-reserved-concurrency" help:"reserved concurrency: the most instances busy at once, beyond which requests are throttled (0: the concurrency limit)"`
	ConcurrencyLimit    int           `flag:"function-concurrency-limit" help:"the account's concurrency limit (AWS: 1000)"`
	Provisioned         int           `flag:"function-provisioned" help:"provisioned concurrency: instances kept initialised, before the first request and when idle"`
	MaxProvisioned      int           `flag:"function-max-provisioned" help:"the most provisioned concurrency schedules and target tracking may set (0: the concurrency cap)"`
	TargetUtilization   float64       `flag:"function-target-utilization" help:"target tracking of provisioned concurrency utilisation, such as the seed's 0.7 (0: off)"`
	IdleTimeout         time.Duration `flag:"function-idle-timeout" help:"how long an idle on-demand instance is kept (AWS: some 5 to 15 minutes)"`
	StartRate           float64       `flag:"function-start-rate" help:"new instances a second, steadily (AWS: 1000 every 10 seconds)"`
	StartBurst          int           `flag:"function-start-burst" help:"new instances at once, beyond the steady rate"`
	// Schedule is the scheduled actions of provisioned concurrency,
	// SCHEDULE=MIN[:MAX] separated by ';' (--function-schedule;
	// lambda.ParseScheduledActions), in ScheduleTimezone.
	Schedule         string `flag:"function-schedule" help:"scheduled actions of provisioned concurrency, separated by ';': SCHEDULE=MIN[:MAX], SCHEDULE being cron(...), rate(...) or at(...) as in Application Auto Scaling"`
	ScheduleTimezone string `flag:"function-schedule-timezone" help:"IANA time zone of the scheduled actions"`
	// Limits is auto or off: CPU and memory limits through cgroups
	// (--function-limits).
	Limits string `flag:"function-limits" enum:"auto,off" help:"CPU and memory limits by memory size, through cgroups: auto (where the kernel allows) or off"`
	// InitCPU is the vCPUs an instance may use during its init, before it
	// is held to its memory's share (--function-init-cpu; see
	// lambda.Config.InitCPU).
	InitCPU float64 `flag:"function-init-cpu" help:"vCPUs an instance may use during its init before it is held to its memory's share (AWS's published cold starts are about the same at 128 and 1,024 MB); 0: the share from the start"`
	// Env are extra environment variables of the function, KEY=VALUE
	// (--function-env).
	Env []string `flag:"function-env" help:"an environment variable of the function, KEY=VALUE (repeatable)"`
	// LogLevel is the instances' log level (surge's --log-level).
	LogLevel slog.Level
	// IntegrationTimeout is API Gateway's integration timeout
	// (--function-integration-timeout).
	IntegrationTimeout time.Duration `flag:"function-integration-timeout" help:"API Gateway's integration timeout: past it the client gets 504"`
	// ThrottleStatus answers a throttled request, 429 or 500
	// (--function-throttle-status); TimeoutStatus a timed-out one, 504 or
	// 502 (--function-timeout-status).
	ThrottleStatus int `flag:"function-throttle-status" help:"answer to a throttled request: 429 (throttled, Retry-After) or 500 (what API Gateway answers when Lambda throttles)"`
	TimeoutStatus  int `flag:"function-timeout-status" help:"answer to a request whose function reached its timeout: 504 (gateway_timeout) or 502 (what API Gateway answers when the function's timeout is shorter than its 29 s integration timeout)"`

	// List, when set, are the functions, each with a pool of its own,
	// instead of the one function the fields above describe, which then
	// give only what the functions share (the account's concurrency
	// limit, idle timeout, start rate, limits, the integration's
	// settings). Routes send the gateway's routes to them. A template
	// (Config.Template) sets both.
	List []Function
	// Routes map the gateway's routes to functions of List, by name; a
	// request that no route matches is answered 404 (405 with Allow where
	// another method's route has its path).
	Routes []Route
}

// Function is one function of the local Lambda, with a pool of its own:
// a SAM template's AWS::Serverless::Function, or a caller's. Unset
// settings take FunctionsConfig's.
type Function struct {
	// Name names it (Invoke API, metrics, logs).
	Name string
	// Runtime, Handler and Code are its code, as package runtimes takes
	// them; without Runtime, Command runs, else surge's own function.
	Runtime, Handler, Code string
	Command                []string
	// Env is its environment, KEY=VALUE.
	Env []string
	// MemoryMB, Timeout, ReservedConcurrency, Provisioned,
	// MaxProvisioned, TargetUtilization and Schedule are Lambda's
	// settings (see lambda.Config).
	MemoryMB            int
	Timeout             time.Duration
	ReservedConcurrency int
	Provisioned         int
	MaxProvisioned      int
	TargetUtilization   float64
	Schedule            []lambda.ScheduledAction
}

// Route sends one route of the gateway to a function.
type Route struct {
	// Method is the HTTP method, "" for every one (API Gateway's ANY).
	Method string
	// Path is an API Gateway resource path: "/items/{id}", and
	// "/{proxy+}" for the rest of a path.
	Path string
	// Function names a function of FunctionsConfig.List.
	Function string
	// PayloadVersion is the events' format: "1.0" (REST APIs, the
	// default) or "2.0" (HTTP APIs).
	PayloadVersion string
	// Stage and StageVariables are the stage's, in the events.
	Stage          string
	StageVariables map[string]string
	// Timeout is the integration timeout (0: FunctionsConfig's).
	Timeout time.Duration
}

// TemplateConfig runs a SAM application (package sam): its functions,
// each with its own pool, behind the gateway with its APIs' settings,
// over its tables in a local DynamoDB-API engine that surge starts.
type TemplateConfig struct {
	// Path is the template (--template); empty: surge's own API.
	Path string `flag:"template" help:"run the AWS SAM template's application: its functions behind the gateway with its APIs' settings, its tables in a local DynamoDB-API engine (dynalite, started here)"`
	// Parameters are parameter values, KEY=VALUE, as sam's
	// --parameter-overrides takes them (--parameter-overrides).
	Parameters []string `flag:"parameter-overrides" help:"template parameter values, KEY=VALUE (several in one value, separated by spaces, or repeat the flag; ParameterKey=K,ParameterValue=V too)"`
	// Code gives functions' code directories, NAME=DIR, instead of their
	// CodeUri (--template-code).
	Code []string `flag:"template-code" help:"a function's code directory, LOGICALID=DIR, instead of its CodeUri (such as a build for this machine: ItemsFunction=dist/host)"`
	// EnvVars is a JSON file of functions' environment variables, as sam
	// local's --env-vars (--template-env-vars).
	EnvVars string `flag:"template-env-vars" help:"JSON file of environment variables, as sam local's --env-vars: {\"FunctionLogicalId\": {\"NAME\": \"value\"}, \"Parameters\": {\"NAME\": \"value\"}}"`
	// DynamoDBEndpoint is a DynamoDB-API engine already running for the
	// tables (--template-dynamodb-endpoint); empty: surge starts dynalite.
	DynamoDBEndpoint string `flag:"template-dynamodb-endpoint" help:"a DynamoDB-API engine already running, such as DynamoDB Local, for the template's tables (default: surge starts dynalite)"`
	// Capacity is how the tables are charged: template (each table's
	// billing mode and throughput, throttled as DynamoDB throttles) or
	// on-demand (--template-table-capacity).
	Capacity string `flag:"template-table-capacity" enum:"template,on-demand" help:"the tables' capacity: template (their billing mode and throughput, throttled as DynamoDB does) or on-demand"`
}

// DefaultConfig returns the configuration of `surge serve` without flags.
func DefaultConfig() Config {
	adm := admission.Defaults()
	return Config{
		Addr:            "127.0.0.1:8080",
		AdminAddr:       "127.0.0.1:9090",
		Data:            "./surge-data",
		Sync:            sqlite.DefaultSync,
		Table:           itemsapi.DefaultTable,
		CacheControl:    itemsapi.DefaultCacheControl,
		ShutdownTimeout: 10 * time.Second,
		AccessLog:       true,
		HTTP:            DefaultHTTPConfig(),
		Cache: CacheConfig{
			TTL:                  gateway.DefaultCacheTTL,
			SizeMB:               gateway.DefaultCacheMB,
			Routes:               []string{"GET /items/{id}", "GET /items"},
			Key:                  append([]string(nil), gateway.DefaultCacheKey...),
			InvalidateOnWrite:    true,
			RequireAuthorization: true,
			Unauthorized:         gateway.UnauthorizedWarn,
		},
		Auth: AuthConfig{TenantClaim: auth.DefaultTenantClaim, InvalidateScope: auth.DefaultInvalidateScope},
		ReadCache: ReadCacheConfig{
			ItemTTL: readcache.DefaultTTL, QueryTTL: readcache.DefaultTTL,
			Items: readcache.DefaultItemEntries, Queries: readcache.DefaultQueryEntries,
			ItemMB: readcache.DefaultItemBytes >> 20, QueryMB: readcache.DefaultQueryBytes >> 20,
		},
		Admission: AdmissionConfig{Enabled: true, MinInFlight: adm.MinInFlight, MaxInFlight: adm.MaxInFlight, Target: adm.Target,
			MaxQueue: adm.MaxQueue, QueueTimeout: adm.QueueTimeout},
		Trace:    TraceConfig{SampleRatio: 1, Propagators: []string{"tracecontext", "xray"}},
		Capacity: defaultCapacity(),
		Functions: FunctionsConfig{
			Name:               lambda.DefaultName,
			InvokeAddr:         "127.0.0.1:0",
			MemoryMB:           lambda.DefaultMemoryMB,
			Timeout:            lambda.DefaultTimeout,
			ConcurrencyLimit:   lambda.DefaultConcurrencyLimit,
			ScheduleTimezone:   "UTC",
			IdleTimeout:        lambda.DefaultIdleTimeout,
			StartRate:          lambda.DefaultStartRate,
			StartBurst:         lambda.DefaultStartBurst,
			Limits:             string(lambda.LimitsAuto),
			LogLevel:           slog.LevelInfo,
			IntegrationTimeout: lambda.DefaultIntegrationTimeout,
			ThrottleStatus:     http.StatusTooManyRequests,
			TimeoutStatus:      http.StatusGatewayTimeout,
			Logs:               true,
		},
		Template: TemplateConfig{Capacity: CapacityTemplate},
	}
}

// Capacities of TemplateConfig.Capacity.
const (
	CapacityTemplate = "template"
	CapacityOnDemand = "on-demand"
)

// storeURL is the URL of the store c names: Store, else SQLite in Data.
func (c Config) storeURL() string {
	if c.Store == "" {
		return store.SchemeSQLite + ":" + filepath.Join(c.Data, "items.db")
	}
	return c.Store
}

// Validate reports every problem of c that can be seen without opening
// anything.
func (c Config) Validate() []error {
	var errs []error
	add := func(err error) {
		if err != nil {
			errs = append(errs, err)
		}
	}
	u, err := store.Parse(c.storeURL())
	add(err)
	errs = append(errs, c.Capacity.validate()...)
	if c.Cache.Enabled && c.Cache.TTL > 0 {
		errs = append(errs, c.gatewayCacheConfig().Validate()...)
	}
	_, err = gateway.ParseRouteLimits(c.Throttle.Routes)
	add(err)
	if r := c.Trace.SampleRatio; c.Trace.Endpoint != "" && (r < 0 || r > 1) {
		add(fmt.Errorf("trace sample ratio %v: want 0 to 1", r))
	}
	if c.Admission.Enabled && !c.Functions.Enabled {
		errs = append(errs, c.admissionConfig().Validate()...)
	}
	if c.HTTP.MaxConns < 0 {
		add(fmt.Errorf("--http-max-conns %d: want 0 (no bound) or more", c.HTTP.MaxConns))
	}
	errs = append(errs, c.validateFault(u)...)
	if t := c.Template; t.Path != "" {
		_, err := sam.ParseOverrides(t.Parameters)
		add(err)
		for _, kv := range t.Code {
			if k, v, ok := strings.Cut(kv, "="); !ok || k == "" || v == "" {
				add(fmt.Errorf("--template-code %q: want LOGICALID=DIR", kv))
			}
		}
		if t.Capacity != CapacityTemplate && t.Capacity != CapacityOnDemand {
			add(fmt.Errorf("--template-table-capacity %q: want %s or %s", t.Capacity, CapacityTemplate, CapacityOnDemand))
		}
	}
	if f := &c.Functions; f.Runtime != "" || f.Handler != "" || f.Code != "" {
		switch {
		case f.Runtime == "" || f.Handler == "" || f.Code == "":
			add(errors.New("--function-runtime, --function-handler and --function-code go together"))
		case f.Command != "":
			add(errors.New("--function-command and --function-runtime: give one"))
		default:
			add(runtimes.CheckHandler(f.Runtime, f.Handler))
		}
	}
	if c.Functions.Enabled || c.Template.Path != "" {
		f := &c.Functions
		if f.TimeoutStatus != 0 && f.TimeoutStatus != http.StatusGatewayTimeout && f.TimeoutStatus != http.StatusBadGateway {
			add(fmt.Errorf("--function-timeout-status %d: want 504 or 502", f.TimeoutStatus))
		}
		if f.ThrottleStatus != http.StatusTooManyRequests && f.ThrottleStatus != http.StatusInternalServerError {
			add(fmt.Errorf("--function-throttle-status %d: want 429 or 500", f.ThrottleStatus))
		}
		for _, kv := range f.Env {
			if !strings.Contains(kv, "=") {
				add(fmt.Errorf("--function-env %q: want KEY=VALUE", kv))
			}
		}
		_, err := lambda.ParseScheduledActions(f.Schedule, f.ScheduleTimezone)
		add(err)
		// The store is surge's own function's.
		if u != nil && c.Template.Path == "" && f.Runtime == "" && len(f.List) == 0 {
			switch {
			case u.Scheme == store.SchemeMem:
				add(errors.New("--functions: a memory store cannot be shared by function instances; use SQLite or DynamoDB"))
			case u.Scheme != store.SchemeDynamoDB && f.isBootstrap():
				add(fmt.Errorf("--function-command %s: the Lambda build opens DynamoDB only (it links no SQLite); give --store dynamodb://TABLE, or leave --function-command out for surge function", f.command()[0]))
			}
		}
	}
	return errs
}

// command returns the function program and its arguments, nil for this
// program's `surge function`.
func (f *FunctionsConfig) command() []string { return strings.Fields(f.Command) }

// isBootstrap reports whether the function program is the Lambda build,
// which opens DynamoDB only.
func (f *FunctionsConfig) isBootstrap() bool {
	cmd := f.command()
	return len(cmd) > 0 && filepath.Base(cmd[0]) == "bootstrap"
}

// gatewayCacheConfig is the response cache's configuration.
func (c Config) gatewayCacheConfig() gateway.CacheConfig {
	cc := c.Cache
	return gateway.CacheConfig{
		TTL: cc.TTL, MaxBytes: int64(cc.SizeMB) << 20, Routes: cc.Routes, Key: cc.Key,
		InvalidateOnWrite: cc.InvalidateOnWrite, RequireAuthorization: cc.RequireAuthorization,
		Unauthorized: cc.Unauthorized, Now: c.Now, Log: c.Log,
	}
}

// admissionConfig is the admission control's configuration.
func (c Config) admissionConfig() admission.Config {
	a := c.Admission
	return admission.Config{MinInFlight: a.MinInFlight, MaxInFlight: a.MaxInFlight, Target: a.Target,
		MaxQueue: a.MaxQueue, QueueTimeout: a.QueueTimeout, Now: c.Now, Exempt: []string{"GET /healthz", "GET /openapi.json"}}
}

// validateFault checks the fault spec, and refuses it where the
// configuration looks like production unless that is allowed.
func (c Config) validateFault(u *store.URL) []error {
	spec, err := fault.Parse(c.Fault.Spec)
	if err != nil {
		return []error{fmt.Errorf("--fault: %w", err)}
	}
	if !spec.On() || c.Fault.AllowProduction {
		return nil
	}
	if why := c.looksLikeProduction(u); why != "" {
		return []error{fmt.Errorf("--fault %s refused: the configuration looks like production (%s); add --fault-allow-production to inject faults anyway", spec, why)}
	}
	return nil
}

// looksLikeProduction says why c looks like a production configuration,
// "" when it does not: a DynamoDB store on AWS (no endpoint, or one that
// is not loopback), or an API listening beyond loopback.
func (c Config) looksLikeProduction(u *store.URL) string {
	if u != nil && u.Scheme == store.SchemeDynamoDB {
		if u.Endpoint == "" {
			return "a DynamoDB table on AWS"
		}
		if eu, err := url.Parse(u.Endpoint); err != nil || !isLoopback(eu.Hostname()) {
			return "a DynamoDB endpoint that is not loopback"
		}
	}
	if host, _, err := net.SplitHostPort(c.Addr); err != nil || !isLoopback(host) {
		return "--addr " + c.Addr + " is not a loopback address"
	}
	return ""
}

// isLoopback reports whether host names this machine's loopback only.
func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
