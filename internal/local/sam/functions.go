package sam

import (
	"regexp"
	"strings"
	"time"
)

// SAM's defaults of a function.
const (
	DefaultMemoryMB = 128
	DefaultTimeout  = 3 * time.Second
)

// Names of the implicit APIs SAM makes for events without an API.
const (
	ImplicitRestAPI = "ServerlessRestApi"
	ImplicitHTTPAPI = "ServerlessHttpApi"
)

// function reads an AWS::Serverless::Function.
func (b *builder) function(id string, r map[string]any) {
	path := "Resources." + id + ".Properties"
	p := newProps(path, b.resolved(id), b.notes)
	fn := &Function{LogicalID: id, Name: b.r.refs[id].(string), MemoryMB: DefaultMemoryMB, Timeout: DefaultTimeout}
	p.get("FunctionName")
	fn.Runtime = p.str("Runtime")
	fn.Handler = p.str("Handler")
	if pt := p.str("PackageType"); pt == "Image" {
		b.notes.unsupported(path+".PackageType", "container image functions are not run locally")
		return
	}
	if v, ok := p.num("MemorySize"); ok {
		fn.MemoryMB = int(v)
	}
	if v, ok := p.num("Timeout"); ok {
		fn.Timeout = time.Duration(v * float64(time.Second))
	}
	if v, ok := p.num("ReservedConcurrentExecutions"); ok {
		fn.ReservedConcurrency = int(v)
		if fn.ReservedConcurrency == 0 {
			b.notes.unsupported(path+".ReservedConcurrentExecutions", "0 stops every invocation on AWS; surge runs the function unreserved")
		}
	}
	for _, a := range p.list("Architectures") {
		fn.Architectures = append(fn.Architectures, scalarString(a))
	}
	if env := p.obj("Environment"); env != nil {
		if vars := env.obj("Variables"); vars != nil {
			for _, k := range sortedKeys(vars.m) {
				vars.get(k)
				fn.Env = append(fn.Env, k+"="+scalarString(vars.m[k]))
			}
		}
		env.rest()
	}
	fn.Alias = p.str("AutoPublishAlias")
	if pc := p.obj("ProvisionedConcurrencyConfig"); pc != nil {
		if v, ok := pc.num("ProvisionedConcurrentExecutions"); ok {
			fn.Provisioned = int(v)
		}
		pc.rest()
		if fn.Alias == "" {
			b.notes.errorf(path+".ProvisionedConcurrencyConfig", "needs AutoPublishAlias, as SAM asks")
		}
	}
	b.code(fn, p, path)
	if evs := p.obj("Events"); evs != nil {
		for _, name := range sortedKeys(evs.m) {
			evs.get(name)
			if e := b.event(fn, name, evs.m[name], path+".Events."+name); e != nil {
				fn.Events = append(fn.Events, e)
			}
		}
	}
	p.ignore("Description", "Tags", "AutoPublishCodeSha256", "VersionDescription", "PropagateTags",
		"RuntimeManagementConfig", "AutoPublishAliasAllProperties")
	p.skip("IAM is not enforced locally: the functions run with surge's credentials",
		"Policies", "Role", "PermissionsBoundary", "AssumeRolePolicyDocument", "RolePath")
	p.skip("X-Ray: surge does not send traces of functions (--trace-* traces the gateway)", "Tracing")
	p.skip("no VPC locally", "VpcConfig")
	p.skip("layers are not run locally: the code directory must hold what the function imports", "Layers")
	p.skip("gradual deployments are not run locally", "DeploymentPreference")
	p.skip("logs go to surge's console and /metrics, not CloudWatch Logs", "LoggingConfig")
	p.skip("not run locally", "DeadLetterQueue", "EventInvokeConfig", "FunctionUrlConfig", "KmsKeyArn",
		"EphemeralStorage", "SnapStart", "FileSystemConfigs", "CodeSigningConfigArn", "ImageConfig", "ImageUri",
		"RecursiveLoop", "Capacity")
	p.rest()
	if fn.Runtime == "" || fn.Handler == "" {
		b.notes.errorf(path, "a function needs Runtime and Handler (Globals may give them)")
	}
	if fn.MemoryMB < 128 || fn.MemoryMB > 10240 {
		b.notes.errorf(path+".MemorySize", "%d MB: want 128 to 10240", fn.MemoryMB)
	}
	if fn.Timeout <= 0 || fn.Timeout > 15*time.Minute {
		b.notes.errorf(path+".Timeout", "%v: want 1 to 900 seconds", fn.Timeout)
	}
	b.functions[id] = fn
}

// event reads a function's event: Api and HttpApi events are routes;
// others are listed.
func (b *builder) event(fn *Function, name string, v any, path string) *Event {
	m, ok := v.(map[string]any)
	if !ok {
		b.notes.errorf(path, "not an object")
		return nil
	}
	typ, _ := m["Type"].(string)
	if typ != "Api" && typ != "HttpApi" {
		b.notes.unsupported(path, "%s events are not run locally (Api and HttpApi events are)", typ)
		return nil
	}
	props, _ := m["Properties"].(map[string]any)
	p := newProps(path+".Properties", props, b.notes)
	e := &Event{Name: name, HTTP: typ == "HttpApi", Path: p.str("Path"), Method: strings.ToUpper(p.str("Method"))}
	if e.Method == "" && !e.HTTP {
		b.notes.errorf(path, "an Api event needs Path and Method")
	}
	if e.Path != "" && !validPath(e.Path) {
		b.notes.errorf(path+".Properties.Path", "%q is not an API Gateway resource path", e.Path)
	}
	if e.HTTP {
		e.API = b.apiID(p.get("ApiId"))
		e.PayloadVersion = "2.0"
		if v := p.str("PayloadFormatVersion"); v != "" {
			if v != "1.0" && v != "2.0" {
				b.notes.errorf(path+".Properties.PayloadFormatVersion", "%q: want 1.0 or 2.0", v)
			}
			e.PayloadVersion = v
		}
		if ms, ok := p.num("TimeoutInMillis"); ok {
			e.Timeout = time.Duration(ms) * time.Millisecond
		}
		if rs := p.obj("RouteSettings"); rs != nil {
			b.routeSettings(e, rs)
		}
		if e.Path == "" && e.Method == "" {
			e.Method = "ANY" // the $default route
		}
	} else {
		e.API = b.apiID(p.get("RestApiId"))
		e.PayloadVersion = "1.0"
		for _, rp := range p.list("RequestParameters") {
			b.requestParameter(e, rp, path+".Properties.RequestParameters")
		}
		p.skip("request validation is not done locally", "RequestModel")
	}
	if auth := p.obj("Auth"); auth != nil {
		if v, ok := auth.boolean("ApiKeyRequired"); ok {
			e.APIKeyRequired = v
		}
		if a := auth.str("Authorizer"); a != "" && a != "NONE" {
			b.notes.unsupported(auth.path+".Authorizer", "authorizers are not run locally (surge's --auth-jwt-* checks bearer tokens)")
		}
		auth.rest()
	}
	p.ignore("Stage")
	p.rest()
	if e.API == "" {
		if e.HTTP {
			e.API = ImplicitHTTPAPI
		} else {
			e.API = ImplicitRestAPI
		}
	}
	return e
}

// apiID is the logical id of the API an event names (by Ref, resolved to
// the logical id), "" for the implicit one.
func (b *builder) apiID(v any, ok bool) string {
	if !ok {
		return ""
	}
	s := scalarString(v)
	if _, ok := b.resources[s]; !ok {
		b.notes.errorf("Events", "the API %q is not in the template", s)
	}
	return s
}

// pathRe is what an API Gateway resource path may be: segments of
// letters, digits and -._~:@!$&'()*+,;=, or {name}, or a last {name+}.
var pathRe = regexp.MustCompile(`^/$|^(/([A-Za-z0-9\-._~:@!$&'()*+,;=]+|\{[A-Za-z0-9_\-.]+\}))*(/\{[A-Za-z0-9_\-.]+\+\})?$`)

func validPath(p string) bool { return pathRe.MatchString(p) }

// requestParameter reads one of an Api event's RequestParameters: a name
// or {name: {Required, Caching}}; those with Caching join the cache key.
func (b *builder) requestParameter(e *Event, v any, path string) {
	add := func(name string, caching bool) {
		rest, ok := strings.CutPrefix(name, "method.request.")
		if !ok {
			b.notes.errorf(path, "%q is not a method.request parameter", name)
			return
		}
		if caching {
			e.CacheKeys = append(e.CacheKeys, rest)
		}
	}
	switch v := v.(type) {
	case string:
		add(v, false)
	case map[string]any:
		for _, name := range sortedKeys(v) {
			opts, _ := v[name].(map[string]any)
			caching := false
			if c, ok := opts["Caching"]; ok {
				caching, _ = boolOf(c, path, b.notes)
			}
			add(name, caching)
		}
	default:
		b.notes.errorf(path, "not a parameter")
	}
}

// routeSettings reads an HttpApi event's RouteSettings: its throttling.
func (b *builder) routeSettings(e *Event, rs *props) {
	ms := MethodSetting{ResourcePath: e.Path, HTTPMethod: e.Method}
	rate, rok := rs.num("ThrottlingRateLimit")
	burst, bok := rs.num("ThrottlingBurstLimit")
	if rok || bok {
		ms.Throttle, ms.ThrottleRate, ms.ThrottleBurst = true, rate, int(burst)
	}
	rs.ignore("DetailedMetricsEnabled", "LoggingLevel", "DataTraceEnabled")
	rs.rest()
	if ms.Throttle {
		b.eventSettings = append(b.eventSettings, eventSetting{api: func() string { return e.API }, ms: ms})
	}
}

// events attaches each function's events to their APIs, making the
// implicit ones where events need them.
func (b *builder) events() {
	for _, id := range sortedKeys(b.functions) {
		fn := b.functions[id]
		for _, e := range fn.Events {
			api, ok := b.apis[e.API]
			if !ok {
				switch e.API {
				case ImplicitRestAPI:
					api = b.implicitAPI(ImplicitRestAPI, false)
				case ImplicitHTTPAPI:
					api = b.implicitAPI(ImplicitHTTPAPI, true)
				default:
					b.notes.errorf("Resources."+id+".Properties.Events."+e.Name, "its API %s is not run (a condition leaves it out, or it is not an API)", e.API)
					continue
				}
			}
			if api.HTTP != e.HTTP {
				b.notes.errorf("Resources."+id+".Properties.Events."+e.Name, "an %s event on %s, which is not of its kind", map[bool]string{true: "HttpApi", false: "Api"}[e.HTTP], e.API)
			}
		}
	}
	for _, s := range b.eventSettings {
		if api := b.apis[s.api()]; api != nil {
			api.MethodSettings = append(api.MethodSettings, s.ms)
		}
	}
	// Two events on one route of one API: CloudFormation refuses it.
	seen := map[string]string{}
	for _, id := range sortedKeys(b.functions) {
		for _, e := range b.functions[id].Events {
			k := e.API + " " + e.Method + " " + e.Path
			if other, ok := seen[k]; ok {
				b.notes.errorf("Resources."+id+".Properties.Events."+e.Name, "%s %s on %s is also %s's", e.Method, e.Path, e.API, other)
			}
			seen[k] = id + "." + e.Name
		}
	}
}

// implicitAPI makes SAM's implicit API, with Globals.
func (b *builder) implicitAPI(id string, http bool) *API {
	props := map[string]any{}
	if http {
		if b.globalHTTPAPI != nil {
			props = clone(b.globalHTTPAPI).(map[string]any)
		}
	} else {
		if b.globalAPI != nil {
			props = clone(b.globalAPI).(map[string]any)
		}
		if _, ok := props["StageName"]; !ok {
			props["StageName"] = "Prod" // SAM's implicit stage
		}
	}
	typ := "AWS::Serverless::Api"
	if http {
		typ = "AWS::Serverless::HttpApi"
	}
	b.resources[id] = map[string]any{"Type": typ, "Properties": props}
	b.resourceAttributes(id, b.resources[id])
	b.api(id, b.resources[id], http)
	return b.apis[id]
}

// eventSetting is an HttpApi route's settings, for its API once known.
type eventSetting struct {
	api func() string
	ms  MethodSetting
}
