package server

import (
	"encoding/json"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/surgehq/surge/internal/cost"
	"github.com/surgehq/surge/internal/local/lambda"
)

// UsagePath is where the admin listener reports the server's usage since
// it started, as AWS would bill it (cost.Usage), for `surge load --usage`
// and the lab to price a run: GET it before and after, and price the
// difference (cost.Usage.Sub).
const UsagePath = "/usage"

// usageArchitecture is the functions' architecture on the bill: the
// deployed function's (deploy/aws/template.yaml: arm64).
const usageArchitecture = cost.ARM

// daxNodeType is the DAX node the read cache stands for on the bill: the
// template's default, one node.
const daxNodeType = "dax.t3.small"

// UsageReport is the admin listener's answer at UsagePath.
type UsageReport struct {
	// Service is "surge", so that a client can tell the answer from
	// another's.
	Service string `json:"service"`
	// At is when it was taken; Since when the server started.
	At    time.Time `json:"at"`
	Since time.Time `json:"since"`
	// Usage is what the server has used since it started: API Gateway's
	// requests (and cache hours), the function's invocations and billed
	// duration (in process, each request is an invocation billed its
	// handler's time), the table's request units and provisioned capacity
	// hours (on the table's clock, compressed for a lab), the read cache
	// as a DAX node's hours.
	Usage cost.Usage `json:"usage"`
}

// meter counts what a Server uses, for its bill.
type meter struct {
	start time.Time

	requests    atomic.Int64 // through the gateway
	invocations atomic.Int64
	billed      atomic.Int64 // ns, on-demand
	provBilled  atomic.Int64 // ns, on provisioned instances

	mu          sync.Mutex
	pools       []*lambda.Pool
	provisioned time.Duration // provisioned concurrency integrated over time
	sampled     time.Time
	lastProv    int
}

func newMeter() *meter {
	now := time.Now()
	return &meter{start: now, sampled: now}
}

// billedDuration is Lambda's billed duration: rounded up to the
// millisecond.
func billedDuration(d time.Duration) time.Duration {
	return (d + time.Millisecond - 1).Truncate(time.Millisecond)
}

// gateway counts the requests through next, API Gateway's.
func (m *meter) gateway(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		m.requests.Add(1)
		next.ServeHTTP(w, r)
	})
}

// integration counts the requests next answers in process as function
// invocations billed their time.
func (m *meter) integration(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		next.ServeHTTP(w, r)
		m.invocations.Add(1)
		m.billed.Add(int64(billedDuration(time.Since(start))))
	})
}

// sample adds the provisioned concurrency configured since the last
// sample.
func (m *meter) sample(now time.Time) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.provisioned += time.Duration(m.lastProv) * now.Sub(m.sampled)
	m.sampled = now
	m.lastProv = 0
	for _, p := range m.pools {
		m.lastProv += p.Stats().Provisioned
	}
}

// PoolStarted implements lambda.Observer.
func (m *meter) PoolStarted(p *lambda.Pool) {
	m.mu.Lock()
	m.pools = append(m.pools, p)
	m.mu.Unlock()
	m.sample(time.Now())
}

// PoolClosed implements lambda.Observer.
func (m *meter) PoolClosed(*lambda.Pool) {}

// Invoked implements lambda.Observer.
func (m *meter) Invoked(_ *lambda.Pool, res *lambda.Result, _ bool) {
	m.invocations.Add(1)
	if res.Provisioned {
		m.provBilled.Add(int64(billedDuration(res.Duration)))
	} else {
		m.billed.Add(int64(billedDuration(res.Duration)))
	}
	m.sample(time.Now())
}

// Throttled implements lambda.Observer.
func (m *meter) Throttled(*lambda.Pool, string) {}

// InstanceReady implements lambda.Observer.
func (m *meter) InstanceReady(*lambda.Pool, bool, time.Duration) {}

// InstanceStopped implements lambda.Observer.
func (m *meter) InstanceStopped(*lambda.Pool, string) {}

// Usage returns what the server has used since it started.
func (s *Server) Usage() cost.Usage {
	m, cfg := s.meter, &s.cfg
	now := time.Now()
	m.sample(now)
	hours := now.Sub(m.start).Hours()
	u := cost.Usage{Requests: m.requests.Load()}
	m.mu.Lock()
	prov := m.provisioned
	m.mu.Unlock()
	u.Lambda = []cost.LambdaUsage{{Architecture: usageArchitecture, MemoryMB: cfg.Functions.MemoryMB,
		Invocations: m.invocations.Load(), Duration: time.Duration(m.billed.Load()),
		Provisioned: prov, ProvisionedDuration: time.Duration(m.provBilled.Load())}}
	u.APIGateway.Requests = u.Requests
	if cfg.Cache.Enabled && cfg.Cache.TTL > 0 {
		u.APIGateway.CacheGB = cacheGB(cfg.Cache.SizeMB)
		u.APIGateway.CacheHours = hours
	}
	if s.cap != nil {
		st := s.cap.table.Stats()
		u.DynamoDB = []cost.DynamoDBUsage{{Table: s.cap.table.Name(), Mode: string(st.Mode),
			ReadRequestUnits: st.ConsumedRead, WriteRequestUnits: st.ConsumedWrite, RCUHours: st.RCUHours, WCUHours: st.WCUHours}}
	}
	if s.app != nil && s.app.tables != nil {
		// A SAM application's tables, charged by their front.
		for _, tb := range s.app.tables.All() {
			st := tb.Stats()
			u.DynamoDB = append(u.DynamoDB, cost.DynamoDBUsage{Table: tb.Name(), Mode: string(st.Mode),
				ReadRequestUnits: st.ConsumedRead, WriteRequestUnits: st.ConsumedWrite, RCUHours: st.RCUHours, WCUHours: st.WCUHours})
		}
	}
	if cfg.ReadCache.Enabled {
		u.DAX = []cost.DAXUsage{{NodeType: daxNodeType, Nodes: 1, Hours: hours}}
	}
	return u
}

// cacheGB is API Gateway's cache size that holds a cache of mb megabytes.
func cacheGB(mb int) float64 {
	p, err := cost.Load("")
	if err != nil {
		return 0.5
	}
	return p.CacheSize(mb)
}

// serveUsage answers GET UsagePath.
func (s *Server) serveUsage(w http.ResponseWriter, _ *http.Request) {
	body, err := json.Marshal(UsageReport{Service: "surge", At: time.Now().UTC(), Since: s.meter.start.UTC(), Usage: s.Usage()})
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Write(body)
}
