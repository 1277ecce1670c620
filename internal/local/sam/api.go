package sam

import (
	"strings"
	"time"
)

// api reads an AWS::Serverless::Api or AWS::Serverless::HttpApi.
func (b *builder) api(id string, r map[string]any, http bool) {
	path := "Resources." + id + ".Properties"
	p := newProps(path, b.resolved(id), b.notes)
	api := &API{LogicalID: id, HTTP: http, Stage: p.str("StageName")}
	if api.Stage == "" {
		if http {
			api.Stage = "$default"
		} else {
			b.notes.errorf(path, "a REST API needs a StageName")
		}
	}
	vars := p.obj("Variables")
	if http {
		vars = p.obj("StageVariables")
	}
	if vars != nil {
		api.StageVariables = map[string]string{}
		for k, v := range vars.m {
			vars.get(k)
			api.StageVariables[k] = scalarString(v)
		}
	}
	if http {
		if d := p.obj("DefaultRouteSettings"); d != nil {
			api.MethodSettings = append(api.MethodSettings, throttleSetting("/*", "*", d))
		}
		if rs := p.obj("RouteSettings"); rs != nil {
			for _, key := range sortedKeys(rs.m) {
				method, rpath, _ := strings.Cut(key, " ")
				if s := rs.obj(key); s != nil {
					api.MethodSettings = append(api.MethodSettings, throttleSetting(rpath, strings.ToUpper(method), s))
				}
			}
		}
		p.skip("CORS is not answered locally: the functions' own headers are", "CorsConfiguration")
		p.skip("not run locally", "Domain", "DisableExecuteApiEndpoint")
	} else {
		if v, ok := p.boolean("CacheClusterEnabled"); ok {
			api.CacheEnabled = v
		}
		if v, ok := p.num("CacheClusterSize"); ok {
			api.CacheSizeGB = v
		}
		for i, ms := range p.list("MethodSettings") {
			m, ok := ms.(map[string]any)
			if !ok {
				b.notes.errorf(path+".MethodSettings", "not an object")
				continue
			}
			api.MethodSettings = append(api.MethodSettings, b.methodSetting(newProps(path+".MethodSettings["+itoa(i)+"]", m, b.notes)))
		}
		p.skip("CORS is not answered locally: the functions' own headers are", "Cors")
		p.skip("binary media types are not applied locally: bodies pass as the content type says", "BinaryMediaTypes")
		p.skip("gateway responses are surge's own", "GatewayResponses")
		p.skip("request models are not validated locally", "Models")
		p.skip("X-Ray: surge's --trace-* traces the gateway", "TracingEnabled")
		p.skip("not run locally", "Domain", "DisableExecuteApiEndpoint", "MinimumCompressionSize",
			"CanarySetting", "ApiKeySourceType", "Mode", "MergeDefinitions", "EndpointConfiguration")
	}
	if auth := p.obj("Auth"); auth != nil {
		if v, ok := auth.boolean("ApiKeyRequired"); ok {
			api.APIKeyRequired = v
		}
		if up := auth.obj("UsagePlan"); up != nil {
			b.apiUsagePlan(api, up)
		}
		if d := auth.str("DefaultAuthorizer"); d != "" && d != "NONE" {
			b.notes.unsupported(auth.path+".DefaultAuthorizer", "authorizers are not run locally (surge's --auth-jwt-* checks bearer tokens)")
		}
		auth.skip("authorizers are not run locally", "Authorizers", "AddDefaultAuthorizerToCorsPreflight",
			"EnableIamAuthorizer", "InvokeRole")
		auth.skip("resource policies are not enforced locally", "ResourcePolicy")
		auth.rest()
	}
	p.skip("routes from an OpenAPI definition are not read locally: the functions' events give the routes", "DefinitionBody", "DefinitionUri")
	p.skip("the access log is surge's own (--access-log)", "AccessLogSetting", "AccessLogSettings")
	p.ignore("Name", "Description", "Tags", "OpenApiVersion", "FailOnWarnings", "AlwaysDeploy", "PropagateTags")
	p.rest()
	b.apis[id] = api
}

func itoa(i int) string { return scalarString(float64(i)) }

// methodSetting reads one of a REST API's MethodSettings.
func (b *builder) methodSetting(p *props) MethodSetting {
	ms := MethodSetting{ResourcePath: decodePath(p.str("ResourcePath")), HTTPMethod: strings.ToUpper(p.str("HttpMethod"))}
	if ms.ResourcePath == "" {
		ms.ResourcePath = "/*"
	}
	if ms.HTTPMethod == "" {
		ms.HTTPMethod = "*"
	}
	rate, rok := p.num("ThrottlingRateLimit")
	burst, bok := p.num("ThrottlingBurstLimit")
	if rok || bok {
		ms.Throttle, ms.ThrottleRate, ms.ThrottleBurst = true, rate, int(burst)
	}
	if v, ok := p.boolean("CachingEnabled"); ok {
		ms.Caching = &v
	}
	if v, ok := p.num("CacheTtlInSeconds"); ok {
		ms.CacheTTL, ms.HasTTL = time.Duration(v*float64(time.Second)), true
	}
	if v, ok := p.boolean("RequireAuthorizationForCacheControl"); ok {
		ms.RequireKey = v
	}
	switch p.str("UnauthorizedCacheControlHeaderStrategy") {
	case "FAIL_WITH_403":
		ms.Unauthorized = "fail"
	case "SUCCEED_WITH_RESPONSE_HEADER":
		ms.Unauthorized = "warn"
	case "SUCCEED_WITHOUT_RESPONSE_HEADER":
		ms.Unauthorized = "ignore"
	}
	// Encrypted cache data and CloudWatch's settings change nothing a
	// client sees; surge's metrics are always on.
	p.ignore("CacheDataEncrypted", "MetricsEnabled", "LoggingLevel", "DataTraceEnabled")
	p.rest()
	return ms
}

// throttleSetting reads an HTTP API's route settings.
func throttleSetting(path, method string, p *props) MethodSetting {
	ms := MethodSetting{ResourcePath: path, HTTPMethod: method}
	rate, rok := p.num("ThrottlingRateLimit")
	burst, bok := p.num("ThrottlingBurstLimit")
	if rok || bok {
		ms.Throttle, ms.ThrottleRate, ms.ThrottleBurst = true, rate, int(burst)
	}
	p.ignore("DetailedMetricsEnabled", "LoggingLevel", "DataTraceEnabled")
	p.rest()
	return ms
}

// decodePath decodes a method setting's resource path, whose slashes
// are written ~1 ("/~1items~1{id}" is /items/{id}).
func decodePath(p string) string {
	if p == "/*" {
		return p
	}
	return strings.ReplaceAll(strings.ReplaceAll(strings.TrimPrefix(p, "/"), "~1", "/"), "~0", "~")
}

// apiUsagePlan reads an Api's Auth.UsagePlan: SAM makes a usage plan
// (and an API key) of it.
func (b *builder) apiUsagePlan(api *API, p *props) {
	switch p.str("CreateUsagePlan") {
	case "PER_API", "SHARED":
	case "NONE", "":
		p.rest()
		return
	}
	plan := &UsagePlan{LogicalID: api.LogicalID + "UsagePlan", Name: p.str("UsagePlanName")}
	b.planLimits(plan, p)
	// SAM makes an API key for the plan, whose value AWS generates.
	plan.Keys = append(plan.Keys, &APIKey{LogicalID: api.LogicalID + "ApiKey", Enabled: true})
	p.ignore("Description", "Tags")
	p.rest()
	b.implicitPlans = append(b.implicitPlans, plan)
}

// planLimits reads a usage plan's Throttle and Quota.
func (b *builder) planLimits(plan *UsagePlan, p *props) {
	if t := p.obj("Throttle"); t != nil {
		if v, ok := t.num("RateLimit"); ok {
			plan.Rate = v
		}
		if v, ok := t.num("BurstLimit"); ok {
			plan.Burst = int(v)
		}
		t.rest()
	}
	if q := p.obj("Quota"); q != nil {
		limit, _ := q.num("Limit")
		period := strings.ToUpper(q.str("Period"))
		q.skip("surge counts a quota from the start of each UTC day", "Offset")
		q.rest()
		if period != "DAY" {
			b.notes.unsupported(q.path+".Period", "a quota by %s: surge counts quotas by UTC day, and keeps none here", period)
		} else {
			plan.Quota = int64(limit)
		}
	}
}

// planBuilder reads API keys, usage plans and their links.
type planBuilder struct {
	b     *builder
	keys  map[string]*APIKey
	plans map[string]*UsagePlan
	links [][2]string // key, plan
}

func (pb *planBuilder) add(id, typ string, r map[string]any) {
	b := pb.b
	path := "Resources." + id + ".Properties"
	p := newProps(path, b.resolved(id), b.notes)
	switch typ {
	case "AWS::ApiGateway::ApiKey":
		k := &APIKey{LogicalID: id, Name: p.str("Name"), Value: p.str("Value"), Enabled: true}
		if v, ok := p.boolean("Enabled"); ok {
			k.Enabled = v
		}
		p.ignore("Description", "Tags", "StageKeys", "GenerateDistinctId", "CustomerId")
		if pb.keys == nil {
			pb.keys = map[string]*APIKey{}
		}
		pb.keys[id] = k
	case "AWS::ApiGateway::UsagePlan":
		plan := &UsagePlan{LogicalID: id, Name: p.str("UsagePlanName")}
		b.planLimits(plan, p)
		p.ignore("Description", "Tags", "ApiStages")
		if pb.plans == nil {
			pb.plans = map[string]*UsagePlan{}
		}
		pb.plans[id] = plan
	case "AWS::ApiGateway::UsagePlanKey":
		pb.links = append(pb.links, [2]string{p.str("KeyId"), p.str("UsagePlanId")})
		p.ignore("KeyType")
	}
	p.rest()
}

// build links the keys to their plans.
func (pb *planBuilder) build() {
	b := pb.b
	for _, l := range pb.links {
		k, kok := pb.keys[l[0]]
		plan, pok := pb.plans[l[1]]
		if !kok || !pok {
			b.notes.errorf("Resources", "a usage plan key links %s to %s, which are not an API key and a usage plan of the template", l[0], l[1])
			continue
		}
		plan.Keys = append(plan.Keys, k)
	}
	for _, id := range sortedKeys(pb.plans) {
		b.app.Plans = append(b.app.Plans, pb.plans[id])
	}
	b.app.Plans = append(b.app.Plans, b.implicitPlans...)
	// A key in no plan still opens the API, without limits.
	linked := map[string]bool{}
	for _, l := range pb.links {
		linked[l[0]] = true
	}
	var free []*APIKey
	for _, id := range sortedKeys(pb.keys) {
		if !linked[id] {
			free = append(free, pb.keys[id])
		}
	}
	if len(free) > 0 {
		b.app.Plans = append(b.app.Plans, &UsagePlan{LogicalID: "", Keys: free})
	}
}
