package gateway_test

import (
	"encoding/json"
	"strconv"
	"testing"
	"time"

	"github.com/surgehq/surge/internal/local/gateway"
	"github.com/surgehq/surge/internal/server"
)

// wantThrottled checks a 429 answer: the contract's body with API
// Gateway's message, and Retry-After.
func wantThrottled(t *testing.T, r response, message string, retryAfter int) {
	t.Helper()
	if r.status != 429 {
		t.Fatalf("got %d %s, want 429", r.status, r.body)
	}
	var body struct{ Code, Message string }
	if err := json.Unmarshal([]byte(r.body), &body); err != nil || body.Code != "throttled" || body.Message != message {
		t.Errorf("got body %s, want code throttled, message %q", r.body, message)
	}
	if got := r.header.Get("Retry-After"); got != strconv.Itoa(retryAfter) {
		t.Errorf("got Retry-After %q, want %d", got, retryAfter)
	}
}

func TestThrottleStage(t *testing.T) {
	h := newHarness(t, harnessOpts{throttle: &server.ThrottleConfig{StageRate: 10, StageBurst: 2}})
	h.must(200, "GET", "/healthz", "")
	h.must(200, "GET", "/healthz", "")
	wantThrottled(t, h.do("GET", "/healthz", ""), "Too Many Requests", 1)
	h.clock.Advance(99 * time.Millisecond)
	wantThrottled(t, h.do("GET", "/healthz", ""), "Too Many Requests", 1)
	h.clock.Advance(time.Millisecond) // 0.1 s refills one token at 10 rps
	h.must(200, "GET", "/healthz", "")
	wantThrottled(t, h.do("GET", "/healthz", ""), "Too Many Requests", 1)
	h.clock.Advance(time.Second) // refills up to the burst, not beyond
	h.must(200, "GET", "/healthz", "")
	h.must(200, "GET", "/healthz", "")
	wantThrottled(t, h.do("GET", "/healthz", ""), "Too Many Requests", 1)
	if got := h.counter("surge_gateway_throttled_total", "level", "stage"); got != 4 {
		t.Errorf("throttled at the stage: got %v, want 4", got)
	}
}

func TestThrottleRetryAfter(t *testing.T) {
	// At 0.2 rps a token takes 5 s.
	h := newHarness(t, harnessOpts{throttle: &server.ThrottleConfig{AccountRate: 0.2, AccountBurst: 1}})
	h.must(200, "GET", "/healthz", "")
	wantThrottled(t, h.do("GET", "/healthz", ""), "Too Many Requests", 5)
	h.clock.Advance(2 * time.Second)
	wantThrottled(t, h.do("GET", "/healthz", ""), "Too Many Requests", 3)
	if got := h.counter("surge_gateway_throttled_total", "level", "account"); got != 2 {
		t.Errorf("throttled at the account: got %v, want 2", got)
	}
}

func TestThrottleRoute(t *testing.T) {
	h := newHarness(t, harnessOpts{throttle: &server.ThrottleConfig{Routes: "GET /items/{id}=1:1"}})
	h.must(404, "GET", "/items/a", "")
	wantThrottled(t, h.do("GET", "/items/b", ""), "Too Many Requests", 1)
	// Other routes are not limited.
	for range 5 {
		h.must(200, "GET", "/items", "")
	}
	if got := h.counter("surge_gateway_throttled_total", "level", "route"); got != 1 {
		t.Errorf("throttled by route: got %v, want 1", got)
	}
}

const planKeys = `
plans:
  slow: {rate: 0.001, burst: 2}
  daily: {rate: 100, burst: 100, quota: 3}
keys:
  "slow-key-0123456789abcdef": {tenant: alpha, plan: slow}
  "daily-key-0123456789abcdef": {tenant: alpha, plan: daily}
  "free-key-0123456789abcdefg": {tenant: beta}
`

func TestThrottleKeyAndRefund(t *testing.T) {
	h := newHarness(t, harnessOpts{keys: planKeys, throttle: &server.ThrottleConfig{StageRate: 1, StageBurst: 1}})
	key := []string{"x-api-key", "slow-key-0123456789abcdef"}
	h.must(200, "GET", "/healthz", "", key...) // key 1 left, stage 0
	// The stage refuses: the key's token is given back.
	wantThrottled(t, h.do("GET", "/healthz", "", key...), "Too Many Requests", 1)
	h.clock.Advance(time.Second)
	h.must(200, "GET", "/healthz", "", key...) // key 0 left
	h.clock.Advance(time.Second)
	r := h.do("GET", "/healthz", "", key...)
	if r.status != 429 || r.header.Get("Retry-After") == "1" {
		t.Fatalf("got %d Retry-After %q, want 429 from the key's slow refill", r.status, r.header.Get("Retry-After"))
	}
	if got := h.counter("surge_gateway_throttled_total", "level", "key"); got != 1 {
		t.Errorf("throttled by key: got %v, want 1", got)
	}
	if got := h.counter("surge_gateway_throttled_total", "level", "stage"); got != 1 {
		t.Errorf("throttled at the stage: got %v, want 1", got)
	}
	// A key without a plan meets only the stage.
	h.must(200, "GET", "/healthz", "", "x-api-key", "free-key-0123456789abcdefg")
}

func TestThrottleQuota(t *testing.T) {
	h := newHarness(t, harnessOpts{keys: planKeys, throttle: &server.ThrottleConfig{}})
	key := []string{"x-api-key", "daily-key-0123456789abcdef"}
	for range 3 {
		h.must(200, "GET", "/healthz", "", key...)
	}
	// The clock reads 12:00 UTC: the quota comes back in 12 hours.
	wantThrottled(t, h.do("GET", "/healthz", "", key...), "Limit Exceeded", 12*3600)
	h.clock.Advance(12 * time.Hour)
	h.must(200, "GET", "/healthz", "", key...)
	if got := h.counter("surge_gateway_throttled_total", "level", "quota"); got != 1 {
		t.Errorf("throttled by quota: got %v, want 1", got)
	}
}

func TestParseRouteLimits(t *testing.T) {
	got, err := gateway.ParseRouteLimits(" GET /items/{id}=500:1000, POST /items=0.5:1 ,")
	if err != nil || len(got) != 2 || got["GET /items/{id}"].Rate != 500 || got["GET /items/{id}"].Burst != 1000 || got["POST /items"].Rate != 0.5 {
		t.Fatalf("got %v, %v", got, err)
	}
	for _, bad := range []string{"GET /items", "GET /items=5", "GET /items=a:1", "GET /items=5:0", "/items=5:5", "GET /items=-1:5"} {
		if _, err := gateway.ParseRouteLimits(bad); err == nil {
			t.Errorf("%q: got no error", bad)
		}
	}
}
