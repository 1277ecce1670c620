package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	v1 "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	"google.golang.org/protobuf/proto"

	"github.com/surgehq/surge/internal/store/dynamo/dynalitetest"
)

// writeFile writes a file in a test's temporary directory.
func writeFile(t *testing.T, name, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func metricsText(t *testing.T, p *inProcess) string {
	t.Helper()
	_, _, b := do(t, "GET", p.admin+"/metrics", nil)
	return string(b)
}

func TestServeGatewayOffByDefault(t *testing.T) {
	p := startInProcess(t)
	do(t, "POST", p.base+"/items", map[string]any{"id": "a"})
	for range 3 {
		code, h, _ := do(t, "GET", p.base+"/items/a", nil)
		if code != 200 || h.Get("X-Cache") != "" {
			t.Fatalf("default serve: got %d X-Cache %q, want 200 and no response cache", code, h.Get("X-Cache"))
		}
	}
	m := metricsText(t, p)
	for _, name := range []string{"surge_gateway_cache_", "surge_gateway_throttled_total", "surge_gateway_auth_failures_total", "surge_readcache_"} {
		if strings.Contains(m, name) {
			t.Errorf("default serve exports %s: the part is on", name)
		}
	}
}

func TestServeConfigFile(t *testing.T) {
	cfg := writeFile(t, "surge.yaml", `
cache-control: max-age=1
cache:
  enabled: true
  ttl: 60s
read-cache:
  enabled: true
`)
	check := func(p *inProcess, want string) {
		t.Helper()
		do(t, "POST", p.base+"/items", map[string]any{"id": "a"})
		_, h, _ := do(t, "GET", p.base+"/items/a", nil)
		if h.Get("Cache-Control") != want || h.Get("X-Cache") != "Miss" {
			t.Errorf("got Cache-Control %q X-Cache %q, want %q and the response cache on", h.Get("Cache-Control"), h.Get("X-Cache"), want)
		}
	}
	check(startInProcess(t, "--config", cfg), "max-age=1")
	t.Setenv("SURGE_CACHE_CONTROL", "max-age=2")
	check(startInProcess(t, "--config", cfg), "max-age=2") // the environment wins over the file
	check(startInProcess(t, "--config", cfg, "--cache-control", "max-age=3"), "max-age=3")

	// The config file may itself come from the environment.
	t.Setenv("SURGE_CONFIG", cfg)
	check(startInProcess(t), "max-age=2")
	os.Unsetenv("SURGE_CONFIG")

	bad := writeFile(t, "bad.yaml", "cache:\n  enabledd: true\n")
	var out bytes.Buffer
	if code := run(t.Context(), []string{"serve", "--config", bad, "--addr", "127.0.0.1:0", "--admin-addr", ""}, io.Discard, &out); code == 0 ||
		!strings.Contains(out.String(), "cache-enabledd") {
		t.Errorf("unknown setting: got exit %d, %s", code, out.String())
	}
}

func TestServeOptimizedPreset(t *testing.T) {
	p := startInProcess(t, "--optimized")
	do(t, "POST", p.base+"/items", map[string]any{"id": "a"})
	do(t, "GET", p.base+"/items/a", nil)
	_, h, _ := do(t, "GET", p.base+"/items/a", nil)
	if h.Get("X-Cache") != "Hit" {
		t.Errorf("optimized: got X-Cache %q, want Hit", h.Get("X-Cache"))
	}
	_, h, _ = do(t, "GET", p.base+"/items", nil)
	if h.Get("Etag") == "" {
		t.Error("optimized: the list has no ETag")
	}
	m := metricsText(t, p)
	for _, want := range []string{
		"surge_gateway_cache_hits_total 1",
		`surge_gateway_throttled_total{level="stage"} 0`,
		`surge_readcache_lookups_total{cache="item",result="hit"}`,
		`surge_readcache_hit_ratio{cache="item"}`,
	} {
		if !strings.Contains(m, want) {
			t.Errorf("optimized: /metrics lacks %q", want)
		}
	}
	// A flag still wins over the preset.
	q := startInProcess(t, "--optimized", "--cache-enabled=false")
	do(t, "POST", q.base+"/items", map[string]any{"id": "a"})
	if _, h, _ := do(t, "GET", q.base+"/items/a", nil); h.Get("X-Cache") != "" {
		t.Errorf("--cache-enabled=false after --optimized: got X-Cache %q", h.Get("X-Cache"))
	}
}

func TestServeThrottleOverHTTP(t *testing.T) {
	p := startInProcess(t, "--throttle-stage-rate", "0.001", "--throttle-stage-burst", "3")
	for i := range 3 {
		if code, _, body := do(t, "GET", p.base+"/healthz", nil); code != 200 {
			t.Fatalf("request %d: got %d %s", i, code, body)
		}
	}
	code, h, body := do(t, "GET", p.base+"/healthz", nil)
	if code != 429 || h.Get("Retry-After") == "" || !strings.Contains(string(body), `"message":"Too Many Requests"`) {
		t.Fatalf("over the stage limit: got %d Retry-After %q %s", code, h.Get("Retry-After"), body)
	}
	if m := metricsText(t, p); !strings.Contains(m, `surge_gateway_throttled_total{level="stage"} 1`) {
		t.Error("/metrics does not count the throttled request")
	}
}

const isolationKeys = `
plans:
  basic: {rate: 1000, burst: 1000, quota: 100000}
keys:
  "alpha-key-0123456789abcdef": {tenant: alpha, plan: basic}
  "beta-key-0123456789abcdefg": {tenant: beta, plan: basic}
`

// TestServeTenantIsolation checks, with and without every optimization,
// that a tenant never reads, lists, changes or learns of another's items,
// through any endpoint, the dispatcher, the response cache or the read
// cache.
func TestServeTenantIsolation(t *testing.T) {
	keys := writeFile(t, "keys.yaml", isolationKeys)
	for name, args := range map[string][]string{
		"Plain":     {"--auth-keys", keys},
		"Optimized": {"--auth-keys", keys, "--optimized", "--cache-require-authorization=false"},
	} {
		t.Run(name, func(t *testing.T) {
			p := startInProcess(t, args...)
			alpha := []string{"x-api-key", "alpha-key-0123456789abcdef"}
			beta := []string{"x-api-key", "beta-key-0123456789abcdefg"}
			req := func(key []string, method, path string, body any, extra ...string) (int, string) {
				t.Helper()
				code, _, b := do(t, method, p.base+path, body, append(key, extra...)...)
				return code, string(b)
			}
			// Without a key, or with a wrong one: 401.
			for _, k := range [][]string{nil, {"x-api-key", "alpha-key-0123456789abcdeX"}} {
				if code, body := req(k, "GET", "/items", nil); code != 401 || !strings.Contains(body, `"code":"unauthorized"`) {
					t.Fatalf("key %v: got %d %s, want 401", k, code, body)
				}
			}
			if code, body := req(alpha, "POST", "/items", map[string]any{"id": "secret", "owner": "alpha"}); code != 201 {
				t.Fatalf("alpha's create: %d %s", code, body)
			}
			// Warm every cache with alpha's reads.
			for range 2 {
				req(alpha, "GET", "/items/secret", nil)
				req(alpha, "GET", "/items", nil)
				req(alpha, "GET", "/items?limit=10", nil)
			}
			notFound := func(what string, code int, body string) {
				t.Helper()
				if code != 404 || strings.Contains(body, "alpha") {
					t.Errorf("beta %s: got %d %s, want 404 that says nothing of alpha", what, code, body)
				}
			}
			code, body := req(beta, "GET", "/items/secret", nil)
			notFound("GET", code, body)
			code, body = req(beta, "GET", "/items/secret", nil, "If-None-Match", "*")
			notFound("GET with If-None-Match", code, body)
			code, body = req(beta, "GET", "/items/secret", nil, "Cache-Control", "max-age=0")
			notFound("GET invalidating", code, body)
			for _, path := range []string{"/items", "/items?limit=10"} {
				if code, body := req(beta, "GET", path, nil); code != 200 || strings.Contains(body, "secret") {
					t.Errorf("beta's list %s: got %d %s", path, code, body)
				}
			}
			code, body = req(beta, "PUT", "/items/secret", map[string]any{"owner": "beta"})
			notFound("PUT", code, body)
			code, _, b := do(t, "PATCH", p.base+"/items/secret", `{"owner":"beta"}`, append(beta, "Content-Type", "application/merge-patch+json")...)
			notFound("PATCH", code, string(b))
			code, body = req(beta, "DELETE", "/items/secret", nil)
			notFound("DELETE", code, body)
			code, body = req(beta, "DELETE", "/items/secret", nil, "If-Match", "*")
			notFound("DELETE If-Match", code, body)
			code, body = req(beta, "POST", "/items/_batch", map[string]any{"operations": []map[string]any{
				{"op": "get", "id": "secret"}, {"op": "put", "id": "secret", "item": map[string]any{"x": 1}},
				{"op": "patch", "id": "secret", "item": map[string]any{"x": 1}}, {"op": "delete", "id": "secret"},
			}})
			if code != 200 || strings.Contains(body, "alpha") || strings.Count(body, `"status":404`) != 4 {
				t.Errorf("beta's batch: got %d %s, want four 404s", code, body)
			}
			for _, op := range []map[string]any{
				{"operation": "read", "payload": map[string]any{"Key": map[string]any{"id": "secret"}}},
				{"operation": "list", "payload": map[string]any{}},
				{"operation": "update", "payload": map[string]any{"Key": map[string]any{"id": "secret"},
					"AttributeUpdates": map[string]any{"owner": map[string]any{"Value": "beta", "Action": "PUT"}}}},
				{"operation": "delete", "payload": map[string]any{"Key": map[string]any{"id": "secret"}}},
			} {
				code, body := req(beta, "POST", "/ops", op)
				if strings.Contains(body, "alpha") || strings.Contains(body, "secret\",\"") || (op["operation"] == "read" && body != "{}") {
					t.Errorf("beta's %s: got %d %s", op["operation"], code, body)
				}
			}
			// Creating the same id in beta's tenant succeeds (no conflict
			// that would reveal alpha's), and is beta's own.
			if code, body := req(beta, "POST", "/items", map[string]any{"id": "secret", "owner": "beta"}); code != 201 {
				t.Errorf("beta's create of the same id: got %d %s, want 201", code, body)
			}
			// alpha's item is untouched, and alpha does not see beta's.
			code, _, b = do(t, "GET", p.base+"/items/secret", nil, append(alpha, "Cache-Control", "max-age=0")...)
			if code != 200 || !strings.Contains(string(b), `"owner":"alpha"`) || !strings.Contains(string(b), `"version":1`) {
				t.Errorf("alpha's item after beta's attempts: got %d %s", code, b)
			}
			if _, body := req(alpha, "GET", "/items?limit=5", nil); strings.Contains(body, "beta") {
				t.Errorf("alpha's list shows beta's item: %s", body)
			}
		})
	}
}

func TestServeJWT(t *testing.T) {
	secret := "an-hs256-secret-of-at-least-32-bytes!"
	file := writeFile(t, "secret", secret+"\n")
	p := startInProcess(t, "--auth-jwt-secret-file", file, "--auth-jwt-tenant-claim", "org")
	token := func(org string) string {
		s, err := jwt.NewWithClaims(jwt.SigningMethodHS256, jwt.MapClaims{"org": org, "exp": time.Now().Add(time.Hour).Unix()}).SignedString([]byte(secret))
		if err != nil {
			t.Fatal(err)
		}
		return "Bearer " + s
	}
	if code, h, _ := do(t, "GET", p.base+"/items", nil); code != 401 || !strings.HasPrefix(h.Get("WWW-Authenticate"), "Bearer") {
		t.Fatalf("no token: got %d %q", code, h.Get("WWW-Authenticate"))
	}
	if code, _, body := do(t, "POST", p.base+"/items", map[string]any{"id": "j"}, "Authorization", token("acme")); code != 201 {
		t.Fatalf("create: %d %s", code, body)
	}
	if code, _, _ := do(t, "GET", p.base+"/items/j", nil, "Authorization", token("acme")); code != 200 {
		t.Errorf("acme's get: %d", code)
	}
	if code, _, _ := do(t, "GET", p.base+"/items/j", nil, "Authorization", token("other")); code != 404 {
		t.Errorf("another org's get: %d, want 404", code)
	}
	if m := metricsText(t, p); !strings.Contains(m, `surge_gateway_auth_failures_total{reason="missing_token"} 1`) {
		t.Error("/metrics does not count the missing token")
	}
}

// otlpReceiver is an OTLP/HTTP trace endpoint on loopback that keeps the
// span names it receives.
type otlpReceiver struct {
	mu    sync.Mutex
	names []string
}

func (o *otlpReceiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	b, _ := io.ReadAll(r.Body)
	var req v1.ExportTraceServiceRequest
	if r.URL.Path != "/v1/traces" || proto.Unmarshal(b, &req) != nil {
		http.Error(w, "bad", 400)
		return
	}
	o.mu.Lock()
	for _, rs := range req.ResourceSpans {
		for _, ss := range rs.ScopeSpans {
			for _, s := range ss.Spans {
				o.names = append(o.names, s.Name+"/"+fmt.Sprint(len(s.ParentSpanId) > 0))
			}
		}
	}
	o.mu.Unlock()
	w.Header().Set("Content-Type", "application/x-protobuf")
	out, _ := proto.Marshal(&v1.ExportTraceServiceResponse{})
	w.Write(out)
}

func TestServeTracingOTLP(t *testing.T) {
	rcv := &otlpReceiver{}
	srv := httptest.NewServer(rcv)
	defer srv.Close()
	p := startInProcess(t, "--trace-endpoint", srv.URL+"/v1/traces", "--read-cache-enabled")
	do(t, "POST", p.base+"/items", map[string]any{"id": "tr"}, "traceparent", "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01")
	if code := p.stop(t); code != 0 {
		t.Fatalf("exit code %d", code)
	}
	rcv.mu.Lock()
	defer rcv.mu.Unlock()
	got := strings.Join(rcv.names, " ")
	for _, want := range []string{"gateway POST /items/true", "handler/true", "store.create/true"} {
		if !strings.Contains(got, want) {
			t.Errorf("exported spans %q lack %q", got, want)
		}
	}
}

func TestServeReadCacheDynamoDB(t *testing.T) {
	endpoint := dynalitetest.Start(t)
	client := dynalitetest.NewClient(endpoint)
	table := dynalitetest.NewTable(t, client)
	p := startInProcess(t, "--store", "dynamodb://"+table+"?endpoint="+endpoint, "--read-cache-enabled")
	if code, _, body := do(t, "POST", p.base+"/items", map[string]any{"id": "d1", "n": 1}); code != 201 {
		t.Fatalf("create: %d %s", code, body)
	}
	_, h, b := do(t, "GET", p.base+"/items/d1", nil)
	if !strings.Contains(h.Get("Server-Timing"), "readcache;dur=") {
		t.Errorf("Server-Timing %q lacks the read cache's time", h.Get("Server-Timing"))
	}
	var it map[string]any
	if err := json.Unmarshal(b, &it); err != nil || it["n"] != 1.0 {
		t.Fatalf("get: %s", b)
	}
	do(t, "GET", p.base+"/items", nil)
	do(t, "GET", p.base+"/items", nil)
	m := metricsText(t, p)
	for _, want := range []string{
		`surge_readcache_lookups_total{cache="item",result="hit"} 1`,
		`surge_readcache_lookups_total{cache="query",result="hit"} 1`,
		`surge_readcache_hit_ratio{cache="item"} 1`,
		// The write went to the store; the read did not.
		`surge_store_operation_duration_seconds_count{op="create",outcome="ok"} 1`,
	} {
		if !strings.Contains(m, want) {
			t.Errorf("/metrics lacks %q", want)
		}
	}
	if strings.Contains(m, `op="get"`) {
		t.Error("the store was read: the write-through item cache should have answered")
	}
}
