package server

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"sort"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/surgehq/surge/internal/api/listen"
	"github.com/surgehq/surge/internal/local/auth"
	"github.com/surgehq/surge/internal/local/autoscaling"
	"github.com/surgehq/surge/internal/local/dynalite"
	"github.com/surgehq/surge/internal/local/gateway"
	"github.com/surgehq/surge/internal/local/lambda"
	"github.com/surgehq/surge/internal/local/sam"
	"github.com/surgehq/surge/internal/local/table"
	"github.com/surgehq/surge/internal/observe/metrics"
	"github.com/surgehq/surge/internal/store"
	"github.com/surgehq/surge/internal/store/dynamo"
)

// template is a running SAM application's parts beside its functions:
// the DynamoDB-API engine of its tables, the front that charges them
// their capacity, and the gateway settings its APIs give.
type template struct {
	app *sam.App
	// Endpoint is where the functions reach DynamoDB: the front, which
	// takes requests signed with creds.
	endpoint string
	creds    frontCredentials
	engine   *dynalite.Server // when surge started one
	front    *http.Server
	tables   *table.Tables
	stop     context.CancelFunc // the tables' ticks
	// keys are the API keys of its usage plans, with their values.
	keys *auth.Keys
	// KeyValues are the values surge made for keys the template leaves
	// to API Gateway, by the key's logical id.
	keyValues map[string]string
	// routeLimits are its methods' throttling, by route.
	routeLimits map[string]gateway.Limit
}

// TemplateApp returns the SAM application the server runs, nil without
// one.
func (s *Server) TemplateApp() *sam.App {
	if s.app == nil {
		return nil
	}
	return s.app.app
}

// TemplateDynamoDBEndpoint returns where the template's functions reach
// DynamoDB (the front of its tables), "" without tables.
func (s *Server) TemplateDynamoDBEndpoint() string {
	if s.app == nil {
		return ""
	}
	return s.app.endpoint
}

// TemplateDynamoDBSecret returns the secret access key that requests to
// TemplateDynamoDBEndpoint are signed with (any access key id), "" without
// tables.
func (s *Server) TemplateDynamoDBSecret() string {
	if s.app == nil || len(s.app.creds.secrets) == 0 {
		return ""
	}
	return s.app.creds.secrets[0]
}

// TemplateKeys returns the values of the template's API keys that surge
// made at start (the template leaving them to API Gateway), by logical
// id.
func (s *Server) TemplateKeys() map[string]string {
	if s.app == nil {
		return nil
	}
	return s.app.keyValues
}

// startTemplate reads cfg.Template's application and runs what its
// functions need: the tables in a DynamoDB-API engine (dynalite, started
// here, unless an endpoint is given) behind a front that charges their
// capacity; then it sets the config's functions, routes and gateway
// settings from the template, for New to build as it builds any.
func (s *Server) startTemplate(ctx context.Context) (err error) {
	tc := &s.cfg.Template
	params, err := sam.ParseOverrides(tc.Parameters)
	if err != nil {
		return err
	}
	code := map[string]string{}
	for _, kv := range tc.Code {
		k, v, _ := strings.Cut(kv, "=")
		code[k] = v
	}
	var envVars sam.EnvVars
	if tc.EnvVars != "" {
		if envVars, err = sam.ReadEnvVars(tc.EnvVars); err != nil {
			return err
		}
	}
	app, err := sam.Load(tc.Path, sam.Options{Parameters: params, Code: code, Region: lambda.DefaultRegion, AccountID: lambda.DefaultAccountID})
	if err != nil {
		return err
	}
	t := &template{app: app, routeLimits: map[string]gateway.Limit{}}
	s.app = t
	s.log.Info("template", "path", app.Path, "stack", app.StackName, "functions", len(app.Functions),
		"apis", len(app.APIs), "tables", len(app.Tables))
	for _, line := range app.UnsupportedLines() {
		s.log.Warn("template: not run locally as on AWS: " + line)
	}
	if err := s.startTables(ctx, t); err != nil {
		return err
	}
	s.templateFunctions(t, envVars)
	if err := s.templateGateway(t); err != nil {
		return err
	}
	return nil
}

// startTables starts the engine of the template's tables, the front that
// charges them, and creates them.
func (s *Server) startTables(ctx context.Context, t *template) error {
	app, tc := t.app, &s.cfg.Template
	if len(app.Tables) == 0 {
		return nil
	}
	engine := tc.DynamoDBEndpoint
	if engine == "" {
		srv, err := dynalite.Start(ctx, dynalite.Options{})
		if err != nil {
			return fmt.Errorf("the template's tables run in a local DynamoDB-API engine, dynalite, which did not start: %w "+
				"(or give --template-dynamodb-endpoint the URL of one running, such as DynamoDB Local)", err)
		}
		t.engine, engine = srv, srv.Endpoint
		s.log.Info("dynalite started for the template's tables (in memory: they are gone at exit)", "endpoint", engine, "pid", srv.PID())
	}
	// The tables' capacity in /metrics, as the store's table is.
	m := metrics.NewTable(s.reg)
	var obs table.Observer = m
	if o := s.cfg.Observers.Table; o != nil {
		obs = tableObservers{m, o}
	}
	t.tables = table.NewTables(table.Config{Now: s.cfg.Now, Log: s.log, Observer: obs})
	for _, tb := range app.Tables {
		cfg := table.Config{Name: tb.Name, Mode: table.OnDemand}
		if !tb.OnDemand && tc.Capacity != CapacityOnDemand {
			cfg.Mode, cfg.RCU, cfg.WCU = table.Provisioned, tb.RCU, tb.WCU
			cfg.Scaling = table.Scaling{Read: dimension(tb.ReadScaling), Write: dimension(tb.WriteScaling)}
		}
		added, err := t.tables.Add(cfg)
		if err != nil {
			return fmt.Errorf("table %s: %w", tb.LogicalID, err)
		}
		m.Watch(added)
		s.log.Info("table", "name", tb.Name, "logical_id", tb.LogicalID, "mode", cfg.Mode, "rcu", cfg.RCU, "wcu", cfg.WCU,
			"auto_scaling", cfg.Scaling.Read.Max > 0 || cfg.Scaling.Write.Max > 0)
	}
	front, err := table.NewFront(table.FrontConfig{Engine: engine, Tables: t.tables, Log: s.log})
	if err != nil {
		return err
	}
	ln, err := listen.Listen("127.0.0.1:0")
	if err != nil {
		return fmt.Errorf("listen for the tables' front: %w", err)
	}
	t.creds = newFrontCredentials()
	t.front = s.cfg.HTTP.frontLimits().Server(t.creds.guard(front), s.log)
	go t.front.Serve(ln)
	t.endpoint = "http://" + ln.Addr().String()
	tctx, cancel := context.WithCancel(context.Background())
	t.stop = cancel
	go t.tables.Run(tctx, time.Second)

	client, err := dynamo.NewClient(ctx, &store.URL{Scheme: store.SchemeDynamoDB, Endpoint: engine, Region: lambda.DefaultRegion})
	if err != nil {
		return err
	}
	cctx, ccancel := context.WithTimeout(ctx, time.Minute)
	defer ccancel()
	return sam.CreateTables(cctx, client, app.Tables)
}

// dimension is the table package's auto scaling of one kind of capacity.
func dimension(sc *sam.Scaling) table.Dimension {
	if sc == nil {
		return table.Dimension{}
	}
	d := table.Dimension{Min: sc.Min, Max: sc.Max, Target: sc.Target}
	for _, a := range sc.Actions {
		act := autoscaling.Action{Name: a.Name, Schedule: a.Schedule, Timezone: a.Timezone, Min: a.Min, Max: a.Max}
		if act.Max < 0 {
			act.Max = 0
		}
		d.Actions = append(d.Actions, act)
	}
	return d
}

// templateFunctions sets the config's functions and routes from the
// template's: each function with its own settings and pool, its
// environment with the local table's endpoint.
func (s *Server) templateFunctions(t *template, envVars sam.EnvVars) {
	c := &s.cfg.Functions
	c.Enabled = true
	c.List, c.Routes = nil, nil
	apis := map[string]*sam.API{}
	for _, a := range t.app.APIs {
		apis[a.LogicalID] = a
	}
	var extra []string
	if t.endpoint != "" {
		// Where the SDKs read a service's endpoint (boto3 1.28 and later,
		// the JavaScript SDK v3, aws-sdk-go-v2), and surge's own function.
		extra = append(extra, "AWS_ENDPOINT_URL_DYNAMODB="+t.endpoint, "SURGE_DYNAMODB_ENDPOINT="+t.endpoint)
		// The credentials the front takes (the run's, unless surge's own
		// are passed on to the functions).
		extra = append(extra, t.creds.env...)
	}
	for _, fn := range t.app.Functions {
		env := fn.Env
		if envVars != nil {
			env = envVars.Apply(fn, env)
		}
		f := Function{Name: fn.Name, Runtime: fn.Runtime, Handler: fn.Handler, Code: fn.CodeDir,
			Env: append(append([]string(nil), env...), extra...), MemoryMB: fn.MemoryMB, Timeout: fn.Timeout,
			ReservedConcurrency: fn.ReservedConcurrency, Provisioned: fn.Provisioned}
		if sc := fn.Scaling; sc != nil {
			f.Provisioned = max(f.Provisioned, sc.Min)
			f.MaxProvisioned, f.TargetUtilization = sc.Max, sc.Target
			for _, a := range sc.Actions {
				act := lambda.ScheduledAction{Schedule: a.Schedule, Timezone: a.Timezone, Min: a.Min, Max: a.Max}
				if act.Max < 0 {
					act.Max = 0
				}
				f.Schedule = append(f.Schedule, act)
			}
		}
		c.List = append(c.List, f)
		for _, e := range fn.Events {
			api := apis[e.API]
			rt := Route{Method: e.Method, Path: e.Path, Function: fn.Name, PayloadVersion: e.PayloadVersion,
				Timeout: e.Timeout}
			if rt.Method == "ANY" {
				rt.Method = ""
			}
			if rt.Path == "" {
				rt.Path = "/{proxy+}" // an HTTP API's $default route
			}
			if api != nil {
				rt.Stage, rt.StageVariables = api.Stage, api.StageVariables
			}
			c.Routes = append(c.Routes, rt)
		}
	}
}

// templateGateway sets the gateway's settings from the template's APIs:
// the stage's and methods' throttling and caching, the cache cluster,
// and the API keys of its usage plans.
func (s *Server) templateGateway(t *template) error {
	cfg := &s.cfg
	if err := checkRoutes(cfg.Functions.Routes); err != nil {
		return err
	}
	cacheOn, sizeGB := false, 0.0
	var stage *sam.MethodSetting
	cached := map[string]bool{} // GET routes, by path
	ttls := map[time.Duration]bool{}
	var requireKey *bool
	unauthorized := ""
	for _, api := range t.app.APIs {
		if api.CacheEnabled {
			cacheOn, sizeGB = true, max(sizeGB, api.CacheSizeGB)
		}
		for i := range api.MethodSettings {
			ms := &api.MethodSettings[i]
			if ms.All() {
				if stage != nil && ms.Throttle {
					s.log.Warn("template: several APIs set a stage throttle; surge's one stage takes the last", "api", api.LogicalID)
				}
				if ms.Throttle {
					stage = ms
				}
			}
			if ms.HasTTL {
				ttls[ms.CacheTTL] = true
			}
			if ms.RequireKey {
				requireKey = &ms.RequireKey
			}
			if ms.Unauthorized != "" {
				unauthorized = ms.Unauthorized
			}
		}
	}
	// Routes: each GET route cached as its method's setting says, else
	// as the stage's; each method's throttle.
	var extra []Route
	for _, rt := range cfg.Functions.Routes {
		api := s.apiOf(t, rt)
		if api == nil || api.HTTP {
			continue
		}
		if rt.Method == "GET" || rt.Method == "" {
			if on := cachingOf(api, rt.Path); on && api.CacheEnabled {
				if rt.Method == "" && !hasRoute(cfg.Functions.Routes, "GET", rt.Path) {
					// Caching a method of an ANY resource: its GET gets a
					// route of its own, so that the cache can name it.
					g := rt
					g.Method = "GET"
					extra = append(extra, g)
				}
				cached[rt.Path] = true
			}
		}
	}
	cfg.Functions.Routes = append(cfg.Functions.Routes, extra...)
	for _, api := range t.app.APIs {
		for _, ms := range api.MethodSettings {
			if ms.All() || !ms.Throttle {
				continue
			}
			for _, rt := range cfg.Functions.Routes {
				if rt.Path == ms.ResourcePath && (ms.HTTPMethod == "*" || ms.HTTPMethod == "ANY" || methodOf(rt) == ms.HTTPMethod) {
					t.routeLimits[rt.restRoute().String()] = gateway.NewLimit(ms.ThrottleRate, ms.ThrottleBurst)
				}
			}
		}
	}
	// The stage.
	cfg.Throttle.StageRate, cfg.Throttle.StageBurst = 0, 0
	if stage != nil {
		cfg.Throttle.StageRate, cfg.Throttle.StageBurst = stage.ThrottleRate, stage.ThrottleBurst
	}
	// The cache.
	cfg.Cache.Enabled = cacheOn && len(cached) > 0
	if cfg.Cache.Enabled {
		cfg.Cache.Routes = nil
		for _, p := range sortedPaths(cached) {
			cfg.Cache.Routes = append(cfg.Cache.Routes, "GET "+Route{Path: p}.restRoute().Pattern)
		}
		if sizeGB > 0 {
			cfg.Cache.SizeMB = int(sizeGB * 1024)
		}
		var longest time.Duration
		for d := range ttls {
			longest = max(longest, d)
		}
		if longest > 0 {
			cfg.Cache.TTL = longest
		}
		if len(ttls) > 1 {
			s.log.Warn("template: methods cache for different TTLs; surge's cache has one, the longest", "ttl", longest)
		}
		if requireKey != nil {
			cfg.Cache.RequireAuthorization = *requireKey
		}
		if unauthorized != "" {
			cfg.Cache.Unauthorized = unauthorized
		}
		cfg.Cache.Key = cacheKeys(t.app, cached)
	}
	return s.templateKeys(t)
}

// apiOf returns the API of a route's function's event.
func (s *Server) apiOf(t *template, rt Route) *sam.API {
	for _, fn := range t.app.Functions {
		if fn.Name != rt.Function {
			continue
		}
		for _, e := range fn.Events {
			if e.Path == rt.Path || (e.Path == "" && rt.Path == "/{proxy+}") {
				for _, a := range t.app.APIs {
					if a.LogicalID == e.API {
						return a
					}
				}
			}
		}
	}
	return nil
}

// cachingOf is whether a REST API caches GET of path: its GET method
// setting's CachingEnabled, else the stage's.
func cachingOf(api *sam.API, path string) bool {
	on := false
	for _, ms := range api.MethodSettings {
		if ms.All() && ms.Caching != nil {
			on = *ms.Caching
		}
	}
	for _, ms := range api.MethodSettings {
		if !ms.All() && ms.ResourcePath == path && (ms.HTTPMethod == "GET" || ms.HTTPMethod == "*") && ms.Caching != nil {
			on = *ms.Caching
		}
	}
	return on
}

func hasRoute(routes []Route, method, path string) bool {
	for _, rt := range routes {
		if rt.Method == method && rt.Path == path {
			return true
		}
	}
	return false
}

func sortedPaths(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for p := range m {
		out = append(out, p)
	}
	sort.Strings(out)
	return out
}

// cacheKeys are the declared cache key parameters of the cached routes'
// events (the tenant, method and route are always in the key).
func cacheKeys(app *sam.App, cached map[string]bool) []string {
	seen := map[string]bool{}
	var out []string
	for _, fn := range app.Functions {
		for _, e := range fn.Events {
			if !cached[e.Path] {
				continue
			}
			for _, k := range e.CacheKeys {
				if !seen[k] {
					seen[k] = true
					out = append(out, k)
				}
			}
		}
	}
	sort.Strings(out)
	return out
}

// templateKeys makes the API keys of the template's usage plans, where a
// method requires one: each key's tenant is its logical id (its id, as
// API Gateway names the key that called), its value the template's, or
// one surge makes and logs.
func (s *Server) templateKeys(t *template) error {
	required, some := false, false
	for _, fn := range t.app.Functions {
		for _, e := range fn.Events {
			req := e.APIKeyRequired
			for _, a := range t.app.APIs {
				if a.LogicalID == e.API && a.APIKeyRequired {
					req = true
				}
			}
			required = required || req
			some = some || !req
		}
	}
	if !required {
		return nil
	}
	if some {
		s.log.Warn("template: some methods require an API key and some do not; surge's gateway asks every request for one")
	}
	if s.cfg.Auth.Keys != "" {
		s.log.Info("the template's API keys are replaced by --auth-keys", "keys", s.cfg.Auth.Keys)
		return nil
	}
	type plan struct {
		Rate  float64 `yaml:"rate"`
		Burst int     `yaml:"burst"`
		Quota int64   `yaml:"quota,omitempty"`
	}
	type key struct {
		Tenant string `yaml:"tenant"`
		Plan   string `yaml:"plan,omitempty"`
		Name   string `yaml:"name"`
	}
	file := struct {
		Plans map[string]plan `yaml:"plans"`
		Keys  map[string]key  `yaml:"keys"`
	}{Plans: map[string]plan{}, Keys: map[string]key{}}
	t.keyValues = map[string]string{}
	for _, p := range t.app.Plans {
		name := ""
		if p.LogicalID != "" && (p.Rate > 0 || p.Quota > 0) {
			name = p.LogicalID
			burst := p.Burst
			if p.Rate > 0 && burst < 1 {
				burst = max(1, int(p.Rate))
			}
			file.Plans[name] = plan{Rate: p.Rate, Burst: burst, Quota: p.Quota}
		}
		for _, k := range p.Keys {
			if !k.Enabled {
				continue
			}
			v := k.Value
			if v == "" {
				v = newKeyValue()
				t.keyValues[k.LogicalID] = v
				s.log.Info("API key made for the template (API Gateway makes its value on AWS): send it in x-api-key",
					"key", k.LogicalID, "tenant", k.LogicalID, "value", v)
			}
			file.Keys[v] = key{Tenant: k.LogicalID, Plan: name, Name: k.LogicalID}
		}
	}
	if len(file.Keys) == 0 {
		return errors.New("template: methods require an API key, and the template has none (an AWS::ApiGateway::ApiKey in a usage plan); give --auth-keys")
	}
	b, err := yaml.Marshal(file)
	if err != nil {
		return err
	}
	if t.keys, err = auth.ParseKeys(b); err != nil {
		return fmt.Errorf("template: API keys: %w", err)
	}
	return nil
}

// newKeyValue makes an API key's value as API Gateway does: 40 letters
// and digits.
func newKeyValue() string {
	var b [30]byte
	_, _ = rand.Read(b[:])
	return strings.NewReplacer("+", "a", "/", "b").Replace(base64.StdEncoding.EncodeToString(b[:]))
}

// close stops what startTemplate started.
func (t *template) close() error {
	if t == nil {
		return nil
	}
	if t.stop != nil {
		t.stop()
	}
	var err error
	if t.front != nil {
		err = t.front.Close()
	}
	if t.engine != nil {
		err = errors.Join(err, t.engine.Close())
	}
	return err
}
