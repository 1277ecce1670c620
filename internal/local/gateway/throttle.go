package gateway

import (
	"fmt"
	"math"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"golang.org/x/time/rate"

	"github.com/surgehq/surge/internal/api/rest"
	"github.com/surgehq/surge/internal/items"
	"github.com/surgehq/surge/internal/local/auth"
)

// Throttling levels, as API Gateway applies them: a client's usage plan
// (its rate, then its quota) and the method's limit first, then the stage,
// then the account.
const (
	LevelKey     = "key"
	LevelQuota   = "quota"
	LevelRoute   = "route"
	LevelStage   = "stage"
	LevelAccount = "account"
)

// limitSources are the X-Limit-Source values of the levels.
var limitSources = map[string]string{
	LevelKey:     rest.LimitGatewayKey,
	LevelQuota:   rest.LimitGatewayQuota,
	LevelRoute:   rest.LimitGatewayRoute,
	LevelStage:   rest.LimitGatewayStage,
	LevelAccount: rest.LimitGatewayAccount,
}

// API Gateway's account-level limits per region, the default of
// ThrottleConfig.Account in surge's presets.
const (
	AccountRate  = 10_000
	AccountBurst = 5_000
)

// Limit is a token bucket: Rate tokens a second refill a bucket of Burst.
// A zero Rate means no limit.
type Limit struct {
	Rate  float64
	Burst int
}

func (l Limit) on() bool { return l.Rate > 0 }

func (l Limit) limiter() *rate.Limiter {
	if !l.on() {
		return nil
	}
	return rate.NewLimiter(rate.Limit(l.Rate), max(l.Burst, 1))
}

// ThrottleConfig sets the limits of each level. A level whose Limit has no
// Rate does not throttle; per-key limits come from each key's usage plan.
type ThrottleConfig struct {
	Account Limit
	Stage   Limit
	// Routes limits routes by their pattern as RequestInfo.Route has it
	// ("GET /items/{id}"), as API Gateway's method throttling does.
	Routes map[string]Limit
	// Now is the clock (default time.Now); tests set it to move time by
	// hand.
	Now func() time.Time
	// Observer, when set, is told of every refusal.
	Observer ThrottleObserver
}

// Throttle limits request rates with token buckets at API Gateway's
// levels. Create it with NewThrottle; it is safe for concurrent use.
type Throttle struct {
	now     func() time.Time
	account *rate.Limiter
	stage   *rate.Limiter
	routes  map[string]*rate.Limiter
	keys    sync.Map // *auth.Key -> *keyState
	obs     ThrottleObserver
}

// keyState is one API key's bucket and quota count.
type keyState struct {
	lim *rate.Limiter

	mu   sync.Mutex
	day  int64 // the UTC day (days since the epoch) that used counts
	used int64
}

// NewThrottle returns a Throttle with cfg's limits.
func NewThrottle(cfg ThrottleConfig) *Throttle {
	t := &Throttle{now: cfg.Now, account: cfg.Account.limiter(), stage: cfg.Stage.limiter(), routes: map[string]*rate.Limiter{}, obs: cfg.Observer}
	if t.now == nil {
		t.now = time.Now
	}
	if t.obs == nil {
		t.obs = ThrottleObservers(nil)
	}
	for route, l := range cfg.Routes {
		if lim := l.limiter(); lim != nil {
			t.routes[route] = lim
		}
	}
	return t
}

// decision is the outcome of a throttle check: the level that refused, or
// "" to go on, and when to retry.
type decision struct {
	level      string
	retryAfter time.Duration
}

// check takes a token at every level that applies, in order; when one
// level has none, the tokens already taken are given back, so a refused
// request costs nothing at the levels it passed.
func (t *Throttle) check(p *auth.Principal, route string) decision {
	now := t.now()
	var taken [4]*rate.Reservation
	n := 0
	refuse := func(level string, wait time.Duration) decision {
		for i := n - 1; i >= 0; i-- {
			taken[i].CancelAt(now)
		}
		return decision{level: level, retryAfter: wait}
	}
	take := func(lim *rate.Limiter, level string) (decision, bool) {
		if lim == nil {
			return decision{}, true
		}
		r := lim.ReserveN(now, 1)
		if !r.OK() {
			return refuse(level, time.Second), false
		}
		if d := r.DelayFrom(now); d > 0 {
			r.CancelAt(now)
			return refuse(level, d), false
		}
		taken[n] = r
		n++
		return decision{}, true
	}
	var ks *keyState
	if plan := p.Plan(); plan != nil {
		ks = t.keyState(p.Key, plan)
		if d, ok := take(ks.lim, LevelKey); !ok {
			return d
		}
	}
	if d, ok := take(t.routes[route], LevelRoute); !ok {
		return d
	}
	if d, ok := take(t.stage, LevelStage); !ok {
		return d
	}
	if d, ok := take(t.account, LevelAccount); !ok {
		return d
	}
	if ks != nil && p.Key.Plan.Quota > 0 {
		if wait, ok := ks.count(now, p.Key.Plan.Quota); !ok {
			return refuse(LevelQuota, wait)
		}
	}
	return decision{}
}

func (t *Throttle) keyState(k *auth.Key, plan *auth.Plan) *keyState {
	if v, ok := t.keys.Load(k); ok {
		return v.(*keyState)
	}
	v, _ := t.keys.LoadOrStore(k, &keyState{lim: Limit{Rate: plan.Rate, Burst: plan.Burst}.limiter()})
	return v.(*keyState)
}

// count counts one request against a daily quota of n, and when the quota
// is spent returns the time until the next UTC day.
func (s *keyState) count(now time.Time, n int64) (time.Duration, bool) {
	day := now.Unix() / 86400
	s.mu.Lock()
	defer s.mu.Unlock()
	if day != s.day {
		s.day, s.used = day, 0
	}
	if s.used >= n {
		return time.Unix((day+1)*86400, 0).Sub(now), false
	}
	s.used++
	return 0, true
}

// Middleware returns the throttling middleware: a request over a limit
// gets 429 `throttled` with API Gateway's message, Too Many Requests (or
// Limit Exceeded for a spent quota), Retry-After, and X-Limit-Source
// naming the level (gateway.key, gateway.quota, gateway.route,
// gateway.stage, gateway.account). It must come after
// rest.Routes and Auth.
func (t *Throttle) Middleware() rest.Middleware {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			route := ""
			if ri := rest.Info(r.Context()); ri != nil {
				route = ri.Route
			}
			d := t.check(principal(r), route)
			if d.level == "" {
				next.ServeHTTP(w, r)
				return
			}
			t.obs.Throttled(d.level)
			msg := "Too Many Requests"
			if d.level == LevelQuota {
				msg = "Limit Exceeded"
			}
			rest.WriteLimited(w, limitSources[d.level], &items.Error{Code: items.ETHROTTLED, Message: msg, RetryAfter: retrySeconds(d.retryAfter)})
		})
	}
}

// retrySeconds rounds a wait up to whole seconds, at least 1.
func retrySeconds(d time.Duration) int {
	s := int(math.Ceil(d.Seconds()))
	return max(s, 1)
}

// NewLimit returns a bucket for a rate and a burst, the burst defaulting
// (when 0 or less) to the rate, and at least 1.
func NewLimit(rate float64, burst int) Limit {
	if burst <= 0 {
		burst = max(int(rate), 1)
	}
	return Limit{Rate: rate, Burst: burst}
}

// ParseRouteLimits parses route limits, "METHOD PATH=RATE:BURST",
// comma-separated ("GET /items/{id}=500:1000"), into ThrottleConfig.Routes.
func ParseRouteLimits(s string) (map[string]Limit, error) {
	out := map[string]Limit{}
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
		out[strings.TrimSpace(route)] = Limit{Rate: rate, Burst: burst}
	}
	return out, nil
}
