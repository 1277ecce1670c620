package lambda

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"regexp"
	"strconv"
	"time"

	"github.com/surgehq/surge/internal/api/listen"
	"github.com/surgehq/surge/internal/local/autoscaling"
)

// Lambda's limits and surge's defaults. Where a default differs from
// Lambda's, its comment says why.
const (
	// DefaultName is the function's name when Config.Name is empty.
	DefaultName = "surge-items"
	// MinMemoryMB and MaxMemoryMB bound a function's memory, as on Lambda.
	MinMemoryMB = 128
	MaxMemoryMB = 10240
	// MBPerVCPU is the memory that gives an instance one vCPU on Lambda.
	MBPerVCPU = 1769
	// DefaultMemoryMB is the seed's deployed setting (deploy/aws); Lambda's
	// own default is 128 MB.
	DefaultMemoryMB = 512
	// DefaultTimeout is the deployed function's timeout (deploy/aws);
	// Lambda's own default is 3 s.
	DefaultTimeout = 10 * time.Second
	// MaxTimeout is Lambda's longest function timeout.
	MaxTimeout = 15 * time.Minute
	// DefaultInitTimeout is Lambda's limit on an on-demand init phase.
	DefaultInitTimeout = 10 * time.Second
	// DefaultProvisionedInitTimeout is Lambda's limit on a provisioned
	// instance's init, or the function timeout where that is longer: the
	// on-demand 10 s do not apply to provisioned concurrency.
	DefaultProvisionedInitTimeout = 130 * time.Second
	// DefaultIdleTimeout is how long an idle on-demand instance is kept
	// (AWS: some 5 to 15 minutes, not configurable there).
	DefaultIdleTimeout = 10 * time.Minute
	// DefaultConcurrencyLimit is the account's concurrency limit, which
	// caps a function without reserved concurrency. AWS's default is
	// 1,000; here every instance is a process on one machine.
	DefaultConcurrencyLimit = 100
	// DefaultStartRate and DefaultStartBurst bound how fast new instances
	// start: AWS lets a function add 1,000 execution environments every
	// 10 seconds.
	DefaultStartRate  = 100.0
	DefaultStartBurst = 1000
	// DefaultRegion and DefaultAccountID make the function's ARN.
	DefaultRegion    = "us-east-1"
	DefaultAccountID = "000000000000"
	// Latest is the only version a local function has.
	Latest = "$LATEST"
	// MaxPayload is Lambda's limit on a synchronous invocation's request
	// and on a function's response: 6 MB.
	MaxPayload = 6 << 20
	// MaxEventPayload is Lambda's limit on an asynchronous invocation's
	// request: 1 MB.
	MaxEventPayload = 1 << 20
)

// Limits says whether instances run under cgroup CPU and memory limits.
type Limits string

const (
	// LimitsAuto enforces the limits where the kernel lets surge create
	// control groups, and says once in the log where it cannot.
	LimitsAuto Limits = "auto"
	// LimitsOff runs instances without limits.
	LimitsOff Limits = "off"
)

// ScheduledAction changes the provisioned concurrency's bounds at times
// given by a schedule, as an Application Auto Scaling scheduled action
// does: when it fires, the capacity is raised to at least Min and lowered
// to at most Max.
type ScheduledAction struct {
	// Schedule is cron(M H DoM Mon DoW Y), rate(N unit) or
	// at(yyyy-mm-ddThh:mm:ss), as Application Auto Scaling writes them.
	Schedule string
	// Timezone is an IANA zone name for cron() and at() (default UTC).
	Timezone string
	// Min and Max are the new bounds. A negative Min, or a Max of 0 or
	// less, leaves that bound as it is.
	Min, Max int
}

// Config configures a Pool. The zero value of each field takes the
// default its comment gives; New fills them in.
type Config struct {
	// Name is the function's name (default DefaultName).
	Name string
	// Command is the function program and its arguments. Required.
	Command []string
	// Env is the function's own environment, KEY=VALUE, added to the
	// variables Lambda sets. Nothing of surge's environment is passed on,
	// except AWS credentials (AWS_ACCESS_KEY_ID and the like), which stand
	// in for the function role's.
	Env []string
	// Dir is LAMBDA_TASK_ROOT and the working directory (default the
	// directory of Command[0]).
	Dir string
	// MemoryMB is the function's memory, MinMemoryMB to MaxMemoryMB
	// (default DefaultMemoryMB).
	MemoryMB int
	// Timeout is the function timeout (default DefaultTimeout).
	Timeout time.Duration
	// InitTimeout bounds an on-demand instance's init (default
	// DefaultInitTimeout).
	InitTimeout time.Duration
	// ProvisionedInitTimeout bounds a provisioned instance's init
	// (default the longer of DefaultProvisionedInitTimeout and Timeout).
	ProvisionedInitTimeout time.Duration
	// ReservedConcurrency caps the function's concurrency; 0 leaves it
	// capped by ConcurrencyLimit only.
	ReservedConcurrency int
	// ConcurrencyLimit is the account's limit (default
	// DefaultConcurrencyLimit).
	ConcurrencyLimit int
	// Account, when set, is the account's concurrency that this function
	// shares with others (see Account): without reserved concurrency, its
	// instances busy at once count against the account's unreserved
	// concurrency; with it, the reservation is set aside there.
	Account *Account
	// Provisioned is the provisioned concurrency, and the minimum of its
	// scaling (Application Auto Scaling's MinCapacity).
	Provisioned int
	// MaxProvisioned is the maximum of its scaling (default the
	// concurrency cap).
	MaxProvisioned int
	// Schedule changes the provisioned concurrency's bounds over time.
	Schedule []ScheduledAction
	// TargetUtilization, when above 0, turns on target tracking of the
	// provisioned concurrency on its utilisation (the seed's 0.7).
	TargetUtilization float64
	// IdleTimeout is how long an on-demand instance may stay idle
	// (default DefaultIdleTimeout).
	IdleTimeout time.Duration
	// StartRate (instances a second) and StartBurst bound how fast new
	// on-demand instances start (defaults DefaultStartRate and
	// DefaultStartBurst).
	StartRate  float64
	StartBurst int
	// Limits says whether to enforce CPU and memory limits (default
	// LimitsAuto).
	Limits Limits
	// InitCPU, when above the memory's share, is the vCPUs an instance
	// may use during its init, before it is held to its memory's share:
	// on AWS a hello-world function's published Init Duration is about
	// the same at 128 and 1,024 MB (lambda-perf), which 7% of a vCPU
	// could not give, so the init is not held to the share there. 0 holds
	// it to the share from the start.
	InitCPU float64
	// Region and AccountID make the function's ARN (defaults
	// DefaultRegion and DefaultAccountID).
	Region, AccountID string
	// Now is the time of day for idle reclaim, schedules, target tracking
	// and the start-rate bucket (default time.Now).
	Now func() time.Time
	// TickEvery is how often the pool runs Tick on its own (default one
	// second); a negative value turns that off, for callers that drive
	// Tick themselves.
	TickEvery time.Duration
	// RuntimeAPI are the limits of each instance's Runtime API listener
	// (default DefaultRuntimeAPILimits). Its write timeout is never set:
	// an idle instance's GET /next waits for an event as long as it takes.
	RuntimeAPI listen.Limits
	// Log receives the pool's events and, at debug level, the instances'
	// output (default: discarded).
	Log *slog.Logger
	// Observer, when set, is told of invocations, throttles and
	// instances (package metrics has the Prometheus one).
	Observer Observer
	// Logs, when set, receives the function's log as Lambda writes it to
	// CloudWatch Logs: what its instances write, and each invocation's
	// START, END and REPORT lines (ConsoleLog prints them).
	Logs LogSink
}

// validName reports whether s is a function name Lambda accepts: 1 to 64
// letters, digits, '-' and '_'. (The length is checked apart: a counted
// repetition in the expression costs a cold start of every surge process
// to compile.)
func validName(s string) bool { return len(s) <= 64 && nameRe.MatchString(s) }

var nameRe = regexp.MustCompile(`^[A-Za-z0-9_-]+$`)

// Validate reports every problem of c, after defaults.
func (c *Config) Validate() []error {
	var errs []error
	add := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }
	if !validName(c.Name) {
		add("function name %q: want 1 to 64 letters, digits, '-' and '_'", c.Name)
	}
	if len(c.Command) == 0 || c.Command[0] == "" {
		add("function command: required")
	}
	if c.MemoryMB < MinMemoryMB || c.MemoryMB > MaxMemoryMB {
		add("function memory %d MB: want %d to %d", c.MemoryMB, MinMemoryMB, MaxMemoryMB)
	}
	if c.Timeout <= 0 || c.Timeout > MaxTimeout {
		add("function timeout %v: want more than 0 and at most %v", c.Timeout, MaxTimeout)
	}
	if c.InitTimeout <= 0 {
		add("init timeout %v: want more than 0", c.InitTimeout)
	}
	if c.ProvisionedInitTimeout <= 0 {
		add("provisioned init timeout %v: want more than 0", c.ProvisionedInitTimeout)
	}
	if c.ConcurrencyLimit < 1 {
		add("concurrency limit %d: want at least 1", c.ConcurrencyLimit)
	}
	if c.ReservedConcurrency < 0 || c.ReservedConcurrency > c.ConcurrencyLimit {
		add("reserved concurrency %d: want 0 (none) to the concurrency limit %d", c.ReservedConcurrency, c.ConcurrencyLimit)
	}
	limit := c.concurrency()
	if c.Provisioned < 0 || c.Provisioned > limit {
		add("provisioned concurrency %d: want 0 to the concurrency cap %d", c.Provisioned, limit)
	}
	if c.MaxProvisioned < c.Provisioned || c.MaxProvisioned > limit {
		add("maximum provisioned concurrency %d: want %d to %d", c.MaxProvisioned, c.Provisioned, limit)
	}
	if c.TargetUtilization < 0 || c.TargetUtilization > 1 {
		add("target utilization %v: want 0 (off) to 1", c.TargetUtilization)
	}
	for i, a := range c.Schedule {
		if _, err := autoscaling.ParseSchedule(a.Schedule, a.Timezone, time.Time{}); err != nil {
			add("scheduled action %d: %v", i+1, err)
		}
		if a.Max > 0 && a.Min > a.Max {
			add("scheduled action %d: min %d over max %d", i+1, a.Min, a.Max)
		}
		if a.Max > limit || a.Min > limit {
			add("scheduled action %d: over the concurrency cap %d", i+1, limit)
		}
	}
	if c.IdleTimeout <= 0 {
		add("idle timeout %v: want more than 0", c.IdleTimeout)
	}
	if c.StartRate <= 0 || c.StartBurst < 1 {
		add("start rate %v/s with burst %d: want a rate above 0 and a burst of at least 1", c.StartRate, c.StartBurst)
	}
	if c.InitCPU < 0 {
		add("init CPU %v: want 0 (the memory's share) or more vCPUs", c.InitCPU)
	}
	if c.Limits != LimitsAuto && c.Limits != LimitsOff {
		add("limits %q: want auto or off", c.Limits)
	}
	return errs
}

// scaling is the Application Auto Scaling policy of the provisioned
// concurrency: bounds [Provisioned, MaxProvisioned], the scheduled
// actions, and target tracking with Lambda's alarms.
func (c *Config) scaling() autoscaling.Policy {
	p := autoscaling.Policy{Min: c.Provisioned, Max: c.MaxProvisioned, Target: c.TargetUtilization, Alarms: autoscaling.LambdaAlarms}
	for i, a := range c.Schedule {
		p.Actions = append(p.Actions, autoscaling.Action{Name: strconv.Itoa(i + 1), Schedule: a.Schedule, Timezone: a.Timezone, Min: a.Min, Max: a.Max})
	}
	return p
}

// concurrency is the cap on instances busy at once.
func (c *Config) concurrency() int {
	if c.ReservedConcurrency > 0 {
		return c.ReservedConcurrency
	}
	return c.ConcurrencyLimit
}

// withDefaults returns c with every unset field at its default.
func (c Config) withDefaults() Config {
	if c.Name == "" {
		c.Name = DefaultName
	}
	if c.MemoryMB == 0 {
		c.MemoryMB = DefaultMemoryMB
	}
	if c.Timeout == 0 {
		c.Timeout = DefaultTimeout
	}
	if c.InitTimeout == 0 {
		c.InitTimeout = DefaultInitTimeout
	}
	if c.ProvisionedInitTimeout == 0 {
		c.ProvisionedInitTimeout = max(DefaultProvisionedInitTimeout, c.Timeout)
	}
	if c.ConcurrencyLimit == 0 {
		c.ConcurrencyLimit = DefaultConcurrencyLimit
	}
	if c.MaxProvisioned == 0 {
		c.MaxProvisioned = c.concurrency()
		if c.TargetUtilization == 0 && len(c.Schedule) == 0 {
			c.MaxProvisioned = c.Provisioned // no scaling: it stays as set
		}
	}
	if c.IdleTimeout == 0 {
		c.IdleTimeout = DefaultIdleTimeout
	}
	if c.StartRate == 0 {
		c.StartRate = DefaultStartRate
	}
	if c.StartBurst == 0 {
		c.StartBurst = DefaultStartBurst
	}
	if c.Limits == "" {
		c.Limits = LimitsAuto
	}
	if c.Region == "" {
		c.Region = DefaultRegion
	}
	if c.AccountID == "" {
		c.AccountID = DefaultAccountID
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	if c.TickEvery == 0 {
		c.TickEvery = time.Second
	}
	if c.Log == nil {
		c.Log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if c.RuntimeAPI == (listen.Limits{}) {
		c.RuntimeAPI = DefaultRuntimeAPILimits
	}
	// The connection of a runtime client is idle while its function runs,
	// between its GET /next and its POST of the response.
	c.RuntimeAPI.IdleTimeout = max(c.RuntimeAPI.IdleTimeout, c.Timeout+c.InitTimeout+time.Minute)
	c.RuntimeAPI.WriteTimeout = 0
	return c
}

// DefaultRuntimeAPILimits are the limits of a Runtime API listener: a
// body (a response, an error) up to twice Lambda's payload limit, so that
// the API's own answer to one over the limit is what a function sees.
var DefaultRuntimeAPILimits = listen.Limits{
	ReadHeaderTimeout: 10 * time.Second,
	ReadTimeout:       60 * time.Second,
	MaxHeaderBytes:    64 << 10,
	MaxHeaders:        100,
	MaxBodyBytes:      2 * MaxPayload,
}

// ARN returns the function's ARN, unqualified.
func (c *Config) ARN() string {
	return "arn:aws:lambda:" + c.Region + ":" + c.AccountID + ":function:" + c.Name
}

// ErrClosed is returned by a Pool that was closed.
var ErrClosed = errors.New("lambda: pool closed")
