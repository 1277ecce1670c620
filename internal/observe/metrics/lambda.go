package metrics

import (
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/surgehq/surge/internal/local/lambda"
)

// Lambda are a function pool's Prometheus metrics, named after the
// CloudWatch metrics Lambda publishes (in each one's help): a
// lambda.Observer. One Lambda serves every pool attached to it; each
// series has a function label.
type Lambda struct {
	invocations  *prometheus.CounterVec
	errors       *prometheus.CounterVec
	throttles    *prometheus.CounterVec
	duration     *prometheus.HistogramVec
	billed       *prometheus.HistogramVec
	maxMemory    *prometheus.HistogramVec
	initDuration *prometheus.HistogramVec
	coldStarts   *prometheus.CounterVec
	provInvoked  *prometheus.CounterVec
	spillover    *prometheus.CounterVec
	stops        *prometheus.CounterVec

	mu    sync.Mutex
	pools map[*lambda.Pool]struct{}
}

// NewLambda makes the metrics and registers them with reg.
func NewLambda(reg prometheus.Registerer) *Lambda {
	fn := []string{"function"}
	// From 100 µs to about 30 s.
	buckets := prometheus.ExponentialBuckets(100e-6, 2.5, 15)
	m := &Lambda{
		invocations: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "surge_lambda_invocations_total",
			Help: "Invocations that ran, successful or not, throttles excluded (CloudWatch: Invocations)."}, fn),
		errors: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "surge_lambda_errors_total",
			Help: "Invocations that ended in a function error, by error type: errors the function reported, timeouts (Sandbox.Timedout), crashes (Runtime.ExitError), init errors (CloudWatch: Errors)."},
			[]string{"function", "type"}),
		throttles: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "surge_lambda_throttles_total",
			Help: "Invocations refused for lack of concurrency, by Lambda's throttle reason (CloudWatch: Throttles)."},
			[]string{"function", "reason"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "surge_lambda_duration_seconds",
			Help: "Time an invocation ran on its instance, from the event's delivery to the response (CloudWatch: Duration).", Buckets: buckets}, fn),
		billed: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "surge_lambda_billed_duration_seconds",
			Help: "What Lambda bills an invocation: its duration, and a cold start's init, rounded up to the millisecond (REPORT Billed Duration).", Buckets: buckets}, fn),
		maxMemory: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "surge_lambda_max_memory_used_bytes",
			Help:    "The most memory an invocation's instance had used by its end: its cgroup's peak, else its process's peak RSS (REPORT Max Memory Used).",
			Buckets: prometheus.ExponentialBuckets(8<<20, 2, 12)}, fn),
		initDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "surge_lambda_init_duration_seconds",
			Help: "Instance init, from the process's start to its runtime's first request for an event (Lambda's REPORT Init Duration).", Buckets: buckets},
			[]string{"function", "initialization_type"}),
		coldStarts: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "surge_lambda_cold_starts_total",
			Help: "Invocations that waited for a new instance's init."}, fn),
		provInvoked: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "surge_lambda_provisioned_concurrency_invocations_total",
			Help: "Invocations served by provisioned instances (CloudWatch: ProvisionedConcurrencyInvocations)."}, fn),
		spillover: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "surge_lambda_provisioned_concurrency_spillover_invocations_total",
			Help: "Invocations served by on-demand instances while provisioned concurrency is configured (CloudWatch: ProvisionedConcurrencySpilloverInvocations)."}, fn),
		stops: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "surge_lambda_instance_stops_total",
			Help: "Instances stopped, by reason: idle, timeout, crash, init_error, scale_in, shutdown."}, []string{"function", "reason"}),
		pools: map[*lambda.Pool]struct{}{},
	}
	reg.MustRegister(m.invocations, m.errors, m.throttles, m.duration, m.billed, m.maxMemory, m.initDuration, m.coldStarts,
		m.provInvoked, m.spillover, m.stops, (*poolCollector)(m))
	return m
}

// PoolStarted implements lambda.Observer: the pool's gauges are reported
// from now on, and its counters exist from the start, so that rates have
// a base.
func (m *Lambda) PoolStarted(p *lambda.Pool) {
	m.mu.Lock()
	m.pools[p] = struct{}{}
	m.mu.Unlock()
	name := p.Name()
	m.invocations.WithLabelValues(name)
	m.coldStarts.WithLabelValues(name)
	m.provInvoked.WithLabelValues(name)
	m.spillover.WithLabelValues(name)
}

// PoolClosed implements lambda.Observer.
func (m *Lambda) PoolClosed(p *lambda.Pool) {
	m.mu.Lock()
	delete(m.pools, p)
	m.mu.Unlock()
}

// Invoked implements lambda.Observer.
func (m *Lambda) Invoked(p *lambda.Pool, res *lambda.Result, provisioned bool) {
	name := p.Name()
	m.invocations.WithLabelValues(name).Inc()
	if res.FunctionError != "" {
		m.errors.WithLabelValues(name, res.ErrorType).Inc()
	}
	if res.Duration > 0 {
		m.duration.WithLabelValues(name).Observe(res.Duration.Seconds())
		m.billed.WithLabelValues(name).Observe(res.BilledDuration().Seconds())
	}
	if res.MaxMemory > 0 {
		m.maxMemory.WithLabelValues(name).Observe(float64(res.MaxMemory))
	}
	if res.Cold {
		m.coldStarts.WithLabelValues(name).Inc()
	}
	switch {
	case res.Provisioned:
		m.provInvoked.WithLabelValues(name).Inc()
	case provisioned:
		m.spillover.WithLabelValues(name).Inc()
	}
}

// Throttled implements lambda.Observer.
func (m *Lambda) Throttled(p *lambda.Pool, reason string) {
	m.throttles.WithLabelValues(p.Name(), reason).Inc()
}

// InstanceReady implements lambda.Observer.
func (m *Lambda) InstanceReady(p *lambda.Pool, provisioned bool, d time.Duration) {
	m.initDuration.WithLabelValues(p.Name(), lambda.InitType(provisioned)).Observe(d.Seconds())
}

// InstanceStopped implements lambda.Observer.
func (m *Lambda) InstanceStopped(p *lambda.Pool, reason string) {
	m.stops.WithLabelValues(p.Name(), reason).Inc()
}

// poolCollector reports the pools' gauges, read at scrape time.
type poolCollector Lambda

var (
	descConcurrent = prometheus.NewDesc("surge_lambda_concurrent_executions",
		"Instances running an invocation now (CloudWatch: ConcurrentExecutions).", []string{"function"}, nil)
	descProvConcurrent = prometheus.NewDesc("surge_lambda_provisioned_concurrent_executions",
		"Provisioned instances running an invocation now (CloudWatch: ProvisionedConcurrentExecutions).", []string{"function"}, nil)
	descProvisioned = prometheus.NewDesc("surge_lambda_provisioned_concurrency",
		"Provisioned concurrency configured now, after schedules and target tracking.", []string{"function"}, nil)
	descUtilization = prometheus.NewDesc("surge_lambda_provisioned_concurrency_utilization",
		"Provisioned concurrent executions over provisioned concurrency, averaged over the last tick (CloudWatch: ProvisionedConcurrencyUtilization).", []string{"function"}, nil)
	descInstances = prometheus.NewDesc("surge_lambda_instances",
		"Instances by state (initializing, idle, busy) and initialization type (on-demand, provisioned-concurrency).", []string{"function", "state", "initialization_type"}, nil)
	descMemorySize = prometheus.NewDesc("surge_lambda_memory_size_bytes",
		"The function's memory size (REPORT Memory Size).", []string{"function"}, nil)
	descCap = prometheus.NewDesc("surge_lambda_concurrency_limit",
		"The function's concurrency cap: its reserved concurrency, else the account's limit.", []string{"function"}, nil)
	descBusySeconds = prometheus.NewDesc("surge_lambda_busy_seconds_total",
		"Instance-seconds invocations have held the concurrency cap, from dispatch to answer (a cold start's init included): its rate is the mean concurrency in use.", []string{"function"}, nil)
)

func (c *poolCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{descConcurrent, descProvConcurrent, descProvisioned, descUtilization, descInstances, descCap, descMemorySize, descBusySeconds} {
		ch <- d
	}
}

func (c *poolCollector) Collect(ch chan<- prometheus.Metric) {
	c.mu.Lock()
	pools := make([]*lambda.Pool, 0, len(c.pools))
	for p := range c.pools {
		pools = append(pools, p)
	}
	c.mu.Unlock()
	for _, p := range pools {
		s, name := p.Stats(), p.Name()
		g := func(d *prometheus.Desc, v float64, labels ...string) {
			ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v, append([]string{name}, labels...)...)
		}
		g(descConcurrent, float64(s.Busy))
		g(descProvConcurrent, float64(s.ProvisionedBusy))
		g(descProvisioned, float64(s.Provisioned))
		g(descUtilization, s.Utilization)
		g(descCap, float64(s.ConcurrencyCap))
		g(descMemorySize, float64(int64(p.Config().MemoryMB)<<20))
		ch <- prometheus.MustNewConstMetric(descBusySeconds, prometheus.CounterValue, s.BusySeconds, name)
		od, pc := lambda.InitType(false), lambda.InitType(true)
		g(descInstances, float64(s.Initializing-s.ProvisionedInitializing), "initializing", od)
		g(descInstances, float64(s.Idle-s.ProvisionedIdle), "idle", od)
		g(descInstances, float64(s.Busy-s.ProvisionedBusy), "busy", od)
		g(descInstances, float64(s.ProvisionedInitializing), "initializing", pc)
		g(descInstances, float64(s.ProvisionedIdle), "idle", pc)
		g(descInstances, float64(s.ProvisionedBusy), "busy", pc)
	}
}
