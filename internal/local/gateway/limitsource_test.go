package gateway_test

import (
	"strings"
	"testing"

	"github.com/surgehq/surge/internal/api/rest"
	"github.com/surgehq/surge/internal/server"
)

// Every throttled answer names its level in X-Limit-Source, and answers
// that were not throttled carry no such header.
func TestThrottleLimitSource(t *testing.T) {
	key := []string{"x-api-key", "slow-key-0123456789abcdef"}
	for _, tc := range []struct {
		name    string
		opts    harnessOpts
		path    string
		headers []string
		allowed int // answers before the first refusal
		want    string
		message string
	}{
		{"Stage", harnessOpts{throttle: &server.ThrottleConfig{StageRate: 0.001, StageBurst: 2}}, "/healthz", nil, 2, rest.LimitGatewayStage, "Too Many Requests"},
		{"Account", harnessOpts{throttle: &server.ThrottleConfig{AccountRate: 0.001, AccountBurst: 1}}, "/healthz", nil, 1, rest.LimitGatewayAccount, "Too Many Requests"},
		{"Route", harnessOpts{throttle: &server.ThrottleConfig{Routes: "GET /healthz=0.001:3"}}, "/healthz", nil, 3, rest.LimitGatewayRoute, "Too Many Requests"},
		{"Key", harnessOpts{keys: planKeys, throttle: &server.ThrottleConfig{}}, "/healthz", key, 2, rest.LimitGatewayKey, "Too Many Requests"},
		{"Quota", harnessOpts{keys: planKeys, throttle: &server.ThrottleConfig{}}, "/healthz", []string{"x-api-key", "daily-key-0123456789abcdef"}, 3, rest.LimitGatewayQuota, "Limit Exceeded"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t, tc.opts)
			for i := range tc.allowed {
				r := h.do("GET", tc.path, "", tc.headers...)
				if r.status != 200 || r.header.Get(rest.LimitSourceHeader) != "" {
					t.Fatalf("answer %d: got %d %s=%q, want 200 without it", i, r.status, rest.LimitSourceHeader, r.header.Get(rest.LimitSourceHeader))
				}
			}
			r := h.do("GET", tc.path, "", tc.headers...)
			if r.status != 429 || r.header.Get("Retry-After") == "" || !strings.Contains(r.body, tc.message) {
				t.Fatalf("got %d Retry-After %q %s, want 429 %q", r.status, r.header.Get("Retry-After"), r.body, tc.message)
			}
			if got := rest.LimitSource(r.header); got != tc.want {
				t.Errorf("got %s %q, want %q", rest.LimitSourceHeader, got, tc.want)
			}
		})
	}
}
