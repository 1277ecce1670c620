package server

import (
	"log/slog"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
)

// poolConfigOf returns the pool configuration of cfg, failing t on an
// error.
func poolConfigOf(t *testing.T, cfg Config) (map[string]string, []string) {
	t.Helper()
	s := &Server{cfg: cfg, log: slog.New(slog.DiscardHandler), reg: prometheus.NewRegistry()}
	fc, err := s.functionConfig()
	if err != nil {
		t.Fatal(err)
	}
	pc, err := s.poolConfig(fc)
	if err != nil {
		t.Fatal(err)
	}
	env := map[string]string{}
	for _, kv := range pc.Env {
		k, v, _ := strings.Cut(kv, "=")
		env[k] = v
	}
	return env, pc.Command
}

func TestFunctionPoolConfig(t *testing.T) {
	cfg := DefaultConfig()
	cfg.Functions.Enabled, cfg.Functions.Limits, cfg.Functions.Name = true, "off", "fn"
	cfg.Data = "rel-data"
	// SQLite by default, at an absolute path the instances can open from
	// their own directory; the surge binary's own function subcommand.
	env, cmd := poolConfigOf(t, cfg)
	if !strings.HasPrefix(env["SURGE_STORE"], "sqlite:/") || !strings.HasSuffix(env["SURGE_STORE"], "/rel-data/items.db") ||
		env["SURGE_TABLE"] != "items" || env["SURGE_SYNC"] != "normal" || env["SURGE_LOG_LEVEL"] != "info" ||
		cmd[len(cmd)-1] != "function" {
		t.Errorf("got %v %v", cmd, env)
	}
	// DynamoDB: what the Lambda build reads, too.
	cfg.Store = "dynamodb://orders?endpoint=http://127.0.0.1:8000&region=eu-west-1&consistent=true"
	cfg.Functions.Command = "/opt/fn/bootstrap"
	cfg.Functions.Env = []string{"EXTRA=1"}
	if errs := cfg.Validate(); len(errs) > 0 {
		t.Fatal(errs)
	}
	env, cmd = poolConfigOf(t, cfg)
	if env["SURGE_TABLE"] != "orders" || env["SURGE_DYNAMODB_ENDPOINT"] != "http://127.0.0.1:8000" ||
		env["SURGE_REGION"] != "eu-west-1" || env["SURGE_CONSISTENT_READS"] != "true" || env["EXTRA"] != "1" ||
		cmd[0] != "/opt/fn/bootstrap" {
		t.Errorf("got %v %v", cmd, env)
	}
}

func TestValidate(t *testing.T) {
	functions := func(c *Config) { c.Functions.Enabled = true }
	for name, tc := range map[string]struct {
		adjust func(*Config)
		want   string
	}{
		"BootstrapOverSQLite": {func(c *Config) { functions(c); c.Functions.Command = "/opt/fn/bootstrap" }, "DynamoDB only"},
		"MemoryStore":         {func(c *Config) { functions(c); c.Store = "mem:" }, "memory store cannot be shared"},
		"ThrottleStatus":      {func(c *Config) { functions(c); c.Functions.ThrottleStatus = 503 }, "want 429 or 500"},
		"TimeoutStatus":       {func(c *Config) { functions(c); c.Functions.TimeoutStatus = 500 }, "want 504 or 502"},
		"Env":                 {func(c *Config) { functions(c); c.Functions.Env = []string{"NOEQUALS"} }, "KEY=VALUE"},
		"Schedule":            {func(c *Config) { functions(c); c.Functions.Schedule = "x=-1" }, "minimum"},
		"Store":               {func(c *Config) { c.Store = "postgres://x" }, "unknown kind"},
		"RouteLimits":         {func(c *Config) { c.Throttle.Routes = "GET /items=1" }, "METHOD PATH=RATE:BURST"},
		"CacheTTL":            {func(c *Config) { c.Cache.Enabled, c.Cache.TTL = true, 2*3600e9 }, "cache TTL"},
		"SampleRatio":         {func(c *Config) { c.Trace.Endpoint, c.Trace.SampleRatio = "http://127.0.0.1:1", 2 }, "sample ratio"},
		"RuntimeAlone":        {func(c *Config) { functions(c); c.Functions.Runtime = "python3.12" }, "go together"},
		"RuntimeAndCommand": {func(c *Config) {
			functions(c)
			c.Functions.Runtime, c.Functions.Handler, c.Functions.Code, c.Functions.Command = "python3.12", "app.h", ".", "x"
		}, "give one"},
		"Handler": {func(c *Config) {
			functions(c)
			c.Functions.Runtime, c.Functions.Handler, c.Functions.Code = "python3.12", "nodots", "."
		}, "bad handler"},
		"UnknownRuntime": {func(c *Config) {
			functions(c)
			c.Functions.Runtime, c.Functions.Handler, c.Functions.Code = "cobol1.0", "a.b", "."
		}, "unknown runtime"},
		"Overrides":    {func(c *Config) { c.Template.Path, c.Template.Parameters = "t.yaml", []string{`A="open`} }, "unclosed"},
		"TemplateCode": {func(c *Config) { c.Template.Path, c.Template.Code = "t.yaml", []string{"nodir"} }, "LOGICALID=DIR"},
		"Capacity":     {func(c *Config) { c.Template.Path, c.Template.Capacity = "t.yaml", "some" }, "template or on-demand"},
	} {
		t.Run(name, func(t *testing.T) {
			cfg := DefaultConfig()
			tc.adjust(&cfg)
			errs := cfg.Validate()
			if len(errs) != 1 || !strings.Contains(errs[0].Error(), tc.want) {
				t.Errorf("got %v, want one error with %q", errs, tc.want)
			}
		})
	}
	// Every problem is reported, not the first only.
	cfg := DefaultConfig()
	cfg.Store, cfg.Throttle.Routes = "postgres://x", "nonsense"
	if errs := cfg.Validate(); len(errs) != 2 {
		t.Errorf("got %v, want two errors", errs)
	}
	if errs := DefaultConfig().Validate(); len(errs) != 0 {
		t.Errorf("the defaults: %v", errs)
	}
	// A function of a runtime needs no store of surge's.
	cfg = DefaultConfig()
	cfg.Store, cfg.Functions.Enabled = "mem:", true
	cfg.Functions.Runtime, cfg.Functions.Handler, cfg.Functions.Code = "nodejs22.x", "index.handler", "."
	if errs := cfg.Validate(); len(errs) != 0 {
		t.Errorf("a Node.js function over the memory store: %v", errs)
	}
}

// TestRoutes checks the gateway's patterns of API Gateway's resources, and
// the routes that cannot stand together.
func TestRoutes(t *testing.T) {
	for _, tc := range []struct{ method, path, want string }{
		{"GET", "/items/{id}", "GET /items/{id}"},
		{"", "/{proxy+}", "/{proxy...}"},
		{"POST", "/", "POST /{$}"},
		{"", "/files/{path+}", "/files/{path...}"},
	} {
		if got := (Route{Method: tc.method, Path: tc.path}).restRoute().String(); got != tc.want {
			t.Errorf("%s %s: got %q, want %q", tc.method, tc.path, got, tc.want)
		}
	}
	if err := checkRoutes([]Route{{Method: "GET", Path: "/a/{x}"}, {Method: "GET", Path: "/a/{y}"}}); err == nil {
		t.Error("two routes that ServeMux cannot tell apart were taken")
	}
	if err := checkRoutes([]Route{{Method: "GET", Path: "/a/{x}"}, {Path: "/a/{x}"}, {Path: "/{proxy+}"}, {Method: "GET", Path: "/a/b"}}); err != nil {
		t.Errorf("routes API Gateway takes: %v", err)
	}
}
