package aws_test

import (
	"encoding/json"
	"fmt"
	"os"
	"reflect"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/awslabs/goformation/v7"
	"github.com/awslabs/goformation/v7/cloudformation"
	"github.com/awslabs/goformation/v7/cloudformation/applicationautoscaling"
	"github.com/awslabs/goformation/v7/intrinsics"

	"github.com/surgehq/surge/internal/api/itemsapi"
	"github.com/surgehq/surge/internal/items"
	"github.com/surgehq/surge/internal/store/dynamo"
)

// deployParams are parameter values for the typed view where a default
// cannot be typed: DaxSubnetIds defaults to "" (no DAX), which the typed
// DAX subnet group cannot hold as its list of subnets.
var deployParams = map[string]any{"DaxSubnetIds": []any{"subnet-0a", "subnet-0b"}}

// template is the template read two ways: typed by goformation, with
// intrinsic functions resolved against parameter defaults (so settings
// are checked as a default deployment gets them), and raw, with every
// intrinsic function left in its long form (so references can be
// checked).
type template struct {
	typed *cloudformation.Template
	raw   map[string]any
}

func loadTemplate(t *testing.T) *template {
	t.Helper()
	data, err := os.ReadFile("template.yaml")
	if err != nil {
		t.Fatal(err)
	}
	rawJSON, err := intrinsics.ProcessYAML(data, &intrinsics.ProcessorOptions{NoProcess: true})
	if err != nil {
		t.Fatalf("parse template: %v", err)
	}
	tpl := &template{}
	if err := json.Unmarshal(rawJSON, &tpl.raw); err != nil {
		t.Fatal(err)
	}
	resolved, err := intrinsics.ProcessYAML(data, &intrinsics.ProcessorOptions{ParameterOverrides: deployParams})
	if err != nil {
		t.Fatalf("resolve template: %v", err)
	}
	// goformation v7.14.9 types SAM's ProvisionedConcurrentExecutions as
	// a string where SAM (and AWS::Lambda::Alias) has an integer; give it
	// the string it wants, and nothing else is changed.
	var m map[string]any
	if err := json.Unmarshal(resolved, &m); err != nil {
		t.Fatal(err)
	}
	for _, r := range m["Resources"].(map[string]any) {
		props, _ := r.(map[string]any)["Properties"].(map[string]any)
		if pc, ok := props["ProvisionedConcurrencyConfig"].(map[string]any); ok {
			pc["ProvisionedConcurrentExecutions"] = fmt.Sprint(pc["ProvisionedConcurrentExecutions"])
		}
	}
	resolved, _ = json.Marshal(m)
	if tpl.typed, err = goformation.ParseJSONWithOptions(resolved, &intrinsics.ProcessorOptions{NoProcess: true}); err != nil {
		t.Fatalf("goformation: %v", err)
	}
	return tpl
}

// rawProps returns a resource's raw properties.
func (tpl *template) rawProps(t *testing.T, name string) map[string]any {
	t.Helper()
	r, ok := tpl.raw["Resources"].(map[string]any)[name].(map[string]any)
	if !ok {
		t.Fatalf("no resource %s", name)
	}
	p, _ := r["Properties"].(map[string]any)
	return p
}

// param returns a parameter's default.
func (tpl *template) param(t *testing.T, name string) any {
	t.Helper()
	p, ok := tpl.raw["Parameters"].(map[string]any)[name].(map[string]any)
	if !ok {
		t.Fatalf("no parameter %s", name)
	}
	return p["Default"]
}

func jsonEq(a, b any) bool {
	ja, _ := json.Marshal(a)
	jb, _ := json.Marshal(b)
	return string(ja) == string(jb)
}

func deref[T any](p *T) T {
	var zero T
	if p == nil {
		return zero
	}
	return *p
}

func TestFunction(t *testing.T) {
	tpl := loadTemplate(t)
	fn, err := tpl.typed.GetServerlessFunctionWithName("ItemsFunction")
	if err != nil {
		t.Fatal(err)
	}
	if got := deref(fn.Runtime); got != "provided.al2023" {
		t.Errorf("Runtime %q, want provided.al2023", got)
	}
	if !reflect.DeepEqual(fn.Architectures, []string{"arm64"}) {
		t.Errorf("Architectures %v, want [arm64]", fn.Architectures)
	}
	if got := deref(fn.Handler); got != "bootstrap" {
		t.Errorf("Handler %q, want bootstrap", got)
	}
	if got := deref(fn.MemorySize); got != 512 {
		t.Errorf("MemorySize %d, want 512", got)
	}
	if got := deref(fn.Tracing); got != "Active" {
		t.Errorf("Tracing %q, want Active", got)
	}
	if got := deref(fn.Timeout); got < 1 || got > 29 {
		t.Errorf("Timeout %d: API Gateway gives up at 29 s", got)
	}
	if got := deref(fn.AutoPublishAlias); got != "live" {
		t.Errorf("AutoPublishAlias %q, want live", got)
	}
	if fn.ProvisionedConcurrencyConfig == nil || fn.ProvisionedConcurrencyConfig.ProvisionedConcurrentExecutions != "5" {
		t.Errorf("ProvisionedConcurrencyConfig %+v, want 5", fn.ProvisionedConcurrencyConfig)
	}
	if fn.CodeUri == nil || deref(fn.CodeUri.String) != "../../dist/bootstrap.zip" {
		t.Errorf("CodeUri %+v, want ../../dist/bootstrap.zip (what build.sh writes)", fn.CodeUri)
	}
	build, err := os.ReadFile("build.sh")
	if err != nil || !strings.Contains(string(build), "bootstrap.zip") {
		t.Errorf("build.sh does not write bootstrap.zip (%v)", err)
	}

	// The environment: the table by reference, and only variables that
	// cmd/bootstrap documents (and so reads).
	env := tpl.rawProps(t, "ItemsFunction")["Environment"].(map[string]any)["Variables"].(map[string]any)
	if !jsonEq(env["SURGE_TABLE"], map[string]any{"Ref": "ItemsTable"}) {
		t.Errorf("SURGE_TABLE = %v, want a Ref to ItemsTable", env["SURGE_TABLE"])
	}
	if env["SURGE_TENANT_FROM_API_KEY"] != "true" {
		t.Errorf("SURGE_TENANT_FROM_API_KEY = %v: every method requires a key, and the key is the tenant", env["SURGE_TENANT_FROM_API_KEY"])
	}
	doc, err := os.ReadFile("../../cmd/bootstrap/main.go")
	if err != nil {
		t.Fatal(err)
	}
	for name := range env {
		if !strings.Contains(string(doc), "//\t"+name+" ") {
			t.Errorf("the template sets %s, which cmd/bootstrap does not document", name)
		}
	}

	// The role allows what the store calls, on the table.
	var actions []string
	for _, p := range tpl.rawProps(t, "ItemsFunction")["Policies"].([]any) {
		for _, s := range p.(map[string]any)["Statement"].([]any) {
			st := s.(map[string]any)
			if jsonEq(st["Resource"], map[string]any{"Fn::GetAtt": "ItemsTable.Arn"}) {
				for _, a := range st["Action"].([]any) {
					actions = append(actions, a.(string))
				}
			}
		}
	}
	for _, want := range []string{"GetItem", "PutItem", "UpdateItem", "DeleteItem", "ConditionCheckItem", "Query", "DescribeTable"} {
		if !slices.Contains(actions, "dynamodb:"+want) {
			t.Errorf("the function may not dynamodb:%s on the table (has %v)", want, actions)
		}
	}
	// And Query on the index only.
	indexQuery := false
	for _, p := range tpl.rawProps(t, "ItemsFunction")["Policies"].([]any) {
		for _, s := range p.(map[string]any)["Statement"].([]any) {
			st := s.(map[string]any)
			if jsonEq(st["Resource"], map[string]any{"Fn::Sub": "${ItemsTable.Arn}/index/" + items.IndexName}) {
				indexQuery = jsonEq(st["Action"], []any{"dynamodb:Query"})
			}
		}
	}
	if !indexQuery {
		t.Errorf("the function may not Query the index %s (only)", items.IndexName)
	}
	if slices.Contains(actions, "dynamodb:Scan") {
		t.Error("the function may Scan; the store lists with Query and never scans the whole table")
	}
}

func TestAPI(t *testing.T) {
	tpl := loadTemplate(t)
	api, err := tpl.typed.GetServerlessApiWithName("ItemsApi")
	if err != nil {
		t.Fatal(err)
	}
	if !deref(api.CacheClusterEnabled) || deref(api.CacheClusterSize) != "0.5" {
		t.Errorf("cache cluster %v size %q, want enabled, 0.5 GB", deref(api.CacheClusterEnabled), deref(api.CacheClusterSize))
	}
	if !deref(api.TracingEnabled) {
		t.Error("API tracing is off")
	}
	if api.StageName != "prod" {
		t.Errorf("StageName %q", api.StageName)
	}

	type setting struct {
		ResourcePath, HttpMethod                  string
		ThrottlingRateLimit, ThrottlingBurstLimit float64
		MetricsEnabled, CachingEnabled            bool
		CacheTtlInSeconds                         int
	}
	settings := map[string]setting{}
	for _, ms := range api.MethodSettings {
		var s setting
		b, _ := json.Marshal(ms)
		if err := json.Unmarshal(b, &s); err != nil {
			t.Fatalf("method setting %s: %v", b, err)
		}
		settings[s.HttpMethod+" "+s.ResourcePath] = s
	}
	stage, ok := settings["* /*"]
	if !ok {
		t.Fatalf("no stage-wide method setting (/* *): %v", settings)
	}
	if stage.ThrottlingRateLimit != 1000 || stage.ThrottlingBurstLimit != 2000 || !stage.MetricsEnabled || stage.CachingEnabled {
		t.Errorf("stage setting %+v, want 1,000 rps, burst 2,000, detailed metrics, no caching", stage)
	}
	for _, path := range []string{"/~1items", "/~1items~1{id}"} {
		s, ok := settings["GET "+path]
		if !ok {
			t.Errorf("no method setting for GET %s", path)
			continue
		}
		if !s.CachingEnabled || s.CacheTtlInSeconds != 300 || s.ThrottlingRateLimit != 1000 || s.ThrottlingBurstLimit != 2000 || !s.MetricsEnabled {
			t.Errorf("GET %s: %+v, want cached 300 s and the stage's throttling", path, s)
		}
	}
	for k, s := range settings {
		if s.CachingEnabled && !strings.HasPrefix(k, "GET ") {
			t.Errorf("%s is cached: API Gateway caches GETs only", k)
		}
	}

	fn, err := tpl.typed.GetServerlessFunctionWithName("ItemsFunction")
	if err != nil {
		t.Fatal(err)
	}
	rawEvents := tpl.rawProps(t, "ItemsFunction")["Events"].(map[string]any)
	type route struct{ method, path string }
	var routes []route
	caching := map[string][]string{}
	for name, ev := range fn.Events {
		if ev.Type != "Api" || ev.Properties == nil || ev.Properties.ApiEvent == nil {
			t.Errorf("event %s is not an Api event", name)
			continue
		}
		a := ev.Properties.ApiEvent
		routes = append(routes, route{strings.ToUpper(a.Method), a.Path})
		if a.Auth == nil || !deref(a.Auth.ApiKeyRequired) {
			t.Errorf("event %s does not require an API key: its tenant would be the default one", name)
		}
		rawProps := rawEvents[name].(map[string]any)["Properties"].(map[string]any)
		if !jsonEq(rawProps["RestApiId"], map[string]any{"Ref": "ItemsApi"}) {
			t.Errorf("event %s is not on ItemsApi: %v", name, rawProps["RestApiId"])
		}
		if rp, ok := rawProps["RequestParameters"].([]any); ok {
			for _, p := range rp {
				for param, opts := range p.(map[string]any) {
					if c, _ := opts.(map[string]any)["Caching"].(bool); c {
						caching[strings.ToUpper(a.Method)+" "+a.Path] = append(caching[strings.ToUpper(a.Method)+" "+a.Path], param)
					}
				}
			}
		}
	}
	for k := range caching {
		sort.Strings(caching[k])
	}
	wantKeys := map[string][]string{
		"GET /items/{id}": {"method.request.header.x-api-key", "method.request.path.id"},
		"GET /items":      {"method.request.header.x-api-key", "method.request.querystring.cursor", "method.request.querystring.limit"},
	}
	if !reflect.DeepEqual(caching, wantKeys) {
		t.Errorf("cache keys %v, want %v", caching, wantKeys)
	}

	// Every route of the service reaches the function: API Gateway picks
	// the most specific resource, then the method on it (ANY matches
	// all), and never falls back to a greedy parent.
	resourceOf := func(path string) string {
		best := ""
		for _, r := range routes {
			if matches(r.path, path) && specificity(r.path) > specificity(best) {
				best = r.path
			}
		}
		return best
	}
	for _, rt := range itemsapi.Routes() {
		path := strings.ReplaceAll(rt.Pattern, "{id}", "abc")
		res := resourceOf(path)
		ok := false
		for _, r := range routes {
			ok = ok || (r.path == res && (r.method == rt.Method || r.method == "ANY"))
		}
		if !ok {
			t.Errorf("%s %s does not reach the function (resource %q)", rt.Method, rt.Pattern, res)
		}
	}
}

// matches reports whether an API Gateway resource path matches a path.
func matches(resource, path string) bool {
	if resource == "" {
		return false
	}
	rs, ps := strings.Split(resource, "/"), strings.Split(path, "/")
	for i, r := range rs {
		if strings.HasSuffix(r, "+}") {
			return i < len(ps) && ps[i] != ""
		}
		if i >= len(ps) {
			return false
		}
		if !strings.HasPrefix(r, "{") && r != ps[i] {
			return false
		}
	}
	return len(rs) == len(ps)
}

// specificity orders resources as API Gateway prefers them: more literal
// segments first, a greedy resource last.
func specificity(resource string) int {
	if resource == "" {
		return -1
	}
	n := 0
	for _, s := range strings.Split(resource, "/") {
		switch {
		case strings.HasSuffix(s, "+}"):
		case strings.HasPrefix(s, "{"):
			n += 10
		default:
			n += 100
		}
	}
	return n
}

func TestProvisionedConcurrency(t *testing.T) {
	tpl := loadTemplate(t)
	target, err := tpl.typed.GetApplicationAutoScalingScalableTargetWithName("ProvisionedConcurrencyScalableTarget")
	if err != nil {
		t.Fatal(err)
	}
	if target.ServiceNamespace != "lambda" || target.ScalableDimension != "lambda:function:ProvisionedConcurrency" {
		t.Errorf("target %s %s", target.ServiceNamespace, target.ScalableDimension)
	}
	if target.MinCapacity != 5 || target.MaxCapacity < 5 {
		t.Errorf("capacity %d..%d, want a floor of 5", target.MinCapacity, target.MaxCapacity)
	}
	raw := tpl.rawProps(t, "ProvisionedConcurrencyScalableTarget")
	if !jsonEq(raw["ResourceId"], map[string]any{"Fn::Sub": "function:${ItemsFunction}:live"}) {
		t.Errorf("ResourceId %v, want the live alias", raw["ResourceId"])
	}
	if !slices.Contains(target.AWSCloudFormationDependsOn, "ItemsFunctionAliaslive") {
		t.Errorf("DependsOn %v: the alias must exist before its scalable target", target.AWSCloudFormationDependsOn)
	}
	checkBusinessHours(t, target.ScheduledActions, 5, 10)
	checkPolicy(t, tpl, "ProvisionedConcurrencyScalingPolicy", "ProvisionedConcurrencyScalableTarget", "LambdaProvisionedConcurrencyUtilization", 0.7)
}

// checkBusinessHours checks a pair of scheduled actions: a higher floor
// from the start of business hours, back to the base at their end.
func checkBusinessHours(t *testing.T, actions []applicationautoscaling.ScalableTarget_ScheduledAction, base, peak int) {
	t.Helper()
	mins := map[string]int{}
	for _, a := range actions {
		if !strings.HasPrefix(a.Schedule, "cron(") {
			t.Errorf("action %s schedule %q is not a cron expression", a.ScheduledActionName, a.Schedule)
		}
		if a.Timezone == nil || *a.Timezone == "" {
			t.Errorf("action %s has no time zone", a.ScheduledActionName)
		}
		if a.ScalableTargetAction == nil || a.ScalableTargetAction.MinCapacity == nil {
			t.Errorf("action %s sets no floor", a.ScheduledActionName)
			continue
		}
		mins[a.ScheduledActionName] = *a.ScalableTargetAction.MinCapacity
	}
	want := map[string]int{"business-hours-start": peak, "business-hours-end": base}
	if !reflect.DeepEqual(mins, want) {
		t.Errorf("scheduled floors %v, want %v", mins, want)
	}
}

func checkPolicy(t *testing.T, tpl *template, name, target, metric string, value float64) {
	t.Helper()
	p, err := tpl.typed.GetApplicationAutoScalingScalingPolicyWithName(name)
	if err != nil {
		t.Fatal(err)
	}
	c := p.TargetTrackingScalingPolicyConfiguration
	if p.PolicyType != "TargetTrackingScaling" || c == nil || c.TargetValue != value ||
		c.PredefinedMetricSpecification == nil || c.PredefinedMetricSpecification.PredefinedMetricType != metric {
		t.Errorf("%s: %s %+v, want target tracking of %s at %v", name, p.PolicyType, c, metric, value)
	}
	if !jsonEq(tpl.rawProps(t, name)["ScalingTargetId"], map[string]any{"Ref": target}) {
		t.Errorf("%s does not scale %s", name, target)
	}
}

func TestTable(t *testing.T) {
	tpl := loadTemplate(t)
	table, err := tpl.typed.GetDynamoDBTableWithName("ItemsTable")
	if err != nil {
		t.Fatal(err)
	}
	if deref(table.BillingMode) != "PROVISIONED" || table.ProvisionedThroughput == nil ||
		table.ProvisionedThroughput.ReadCapacityUnits != 20 || table.ProvisionedThroughput.WriteCapacityUnits != 10 {
		t.Errorf("billing %q throughput %+v, want PROVISIONED 20 RCU / 10 WCU", deref(table.BillingMode), table.ProvisionedThroughput)
	}
	// The schema is the store's own (surge table create makes the same).
	in := dynamo.TableInput("x", dynamo.TableOptions{})
	var keys, attrs []string
	for _, k := range table.KeySchema {
		keys = append(keys, k.AttributeName+" "+k.KeyType)
	}
	for _, a := range table.AttributeDefinitions {
		attrs = append(attrs, a.AttributeName+" "+a.AttributeType)
	}
	var wantKeys, wantAttrs []string
	for _, k := range in.KeySchema {
		wantKeys = append(wantKeys, *k.AttributeName+" "+string(k.KeyType))
	}
	for _, a := range in.AttributeDefinitions {
		wantAttrs = append(wantAttrs, *a.AttributeName+" "+string(a.AttributeType))
	}
	if !reflect.DeepEqual(keys, wantKeys) || !reflect.DeepEqual(attrs, wantAttrs) {
		t.Errorf("keys %v attributes %v, want the store's %v %v", keys, attrs, wantKeys, wantAttrs)
	}
	// The secondary index, as the store's (surge table create's).
	if len(table.GlobalSecondaryIndexes) != 1 || len(in.GlobalSecondaryIndexes) != 1 {
		t.Fatalf("global secondary indexes %+v, want the store's one", table.GlobalSecondaryIndexes)
	}
	gsi, want := table.GlobalSecondaryIndexes[0], in.GlobalSecondaryIndexes[0]
	var gkeys, wantGKeys []string
	for _, k := range gsi.KeySchema {
		gkeys = append(gkeys, k.AttributeName+" "+k.KeyType)
	}
	for _, k := range want.KeySchema {
		wantGKeys = append(wantGKeys, *k.AttributeName+" "+string(k.KeyType))
	}
	if gsi.IndexName != *want.IndexName || !reflect.DeepEqual(gkeys, wantGKeys) || gsi.Projection == nil ||
		deref(gsi.Projection.ProjectionType) != string(want.Projection.ProjectionType) || gsi.ProvisionedThroughput == nil {
		t.Errorf("index %s keys %v projection %+v throughput %+v, want the store's %s %v %s, provisioned",
			gsi.IndexName, gkeys, gsi.Projection, gsi.ProvisionedThroughput, *want.IndexName, wantGKeys, want.Projection.ProjectionType)
	}
	if ttl := table.TimeToLiveSpecification; ttl == nil || deref(ttl.AttributeName) != dynamo.TTLAttribute || !ttl.Enabled {
		t.Errorf("time to live %+v, want on for %q (idempotency records expire)", ttl, dynamo.TTLAttribute)
	}

	for _, c := range []struct {
		target, policy, dim, metric string
		base, peak                  int
	}{
		{"ItemsTableReadScalableTarget", "ItemsTableReadScalingPolicy", "dynamodb:table:ReadCapacityUnits", "DynamoDBReadCapacityUtilization", 20, 40},
		{"ItemsTableWriteScalableTarget", "ItemsTableWriteScalingPolicy", "dynamodb:table:WriteCapacityUnits", "DynamoDBWriteCapacityUtilization", 10, 20},
	} {
		st, err := tpl.typed.GetApplicationAutoScalingScalableTargetWithName(c.target)
		if err != nil {
			t.Fatal(err)
		}
		if st.ServiceNamespace != "dynamodb" || st.ScalableDimension != c.dim || st.MinCapacity != c.base || st.MaxCapacity <= c.base {
			t.Errorf("%s: %s %s %d..%d", c.target, st.ServiceNamespace, st.ScalableDimension, st.MinCapacity, st.MaxCapacity)
		}
		if !jsonEq(tpl.rawProps(t, c.target)["ResourceId"], map[string]any{"Fn::Sub": "table/${ItemsTable}"}) {
			t.Errorf("%s does not scale ItemsTable", c.target)
		}
		checkBusinessHours(t, st.ScheduledActions, c.base, c.peak)
		checkPolicy(t, tpl, c.policy, c.target, c.metric, 70)
	}
	for _, c := range []struct{ target, policy, dim, metric string }{
		{"ItemsIndexReadScalableTarget", "ItemsIndexReadScalingPolicy", "dynamodb:index:ReadCapacityUnits", "DynamoDBReadCapacityUtilization"},
		{"ItemsIndexWriteScalableTarget", "ItemsIndexWriteScalingPolicy", "dynamodb:index:WriteCapacityUnits", "DynamoDBWriteCapacityUtilization"},
	} {
		st, err := tpl.typed.GetApplicationAutoScalingScalableTargetWithName(c.target)
		if err != nil {
			t.Fatal(err)
		}
		if st.ServiceNamespace != "dynamodb" || st.ScalableDimension != c.dim {
			t.Errorf("%s: %s %s", c.target, st.ServiceNamespace, st.ScalableDimension)
		}
		if !jsonEq(tpl.rawProps(t, c.target)["ResourceId"], map[string]any{"Fn::Sub": "table/${ItemsTable}/index/" + items.IndexName}) {
			t.Errorf("%s does not scale the index %s", c.target, items.IndexName)
		}
		checkPolicy(t, tpl, c.policy, c.target, c.metric, 70)
	}
}

func TestDAX(t *testing.T) {
	tpl := loadTemplate(t)
	if !jsonEq(tpl.raw["Conditions"].(map[string]any)["UseDax"], map[string]any{"Fn::Equals": []any{map[string]any{"Ref": "EnableDax"}, "true"}}) {
		t.Errorf("condition UseDax %v", tpl.raw["Conditions"].(map[string]any)["UseDax"])
	}
	if tpl.param(t, "EnableDax") != "false" {
		t.Error("DAX is on by default; it is optional")
	}
	daxTypes := 0
	for name, r := range tpl.raw["Resources"].(map[string]any) {
		rm := r.(map[string]any)
		typ := rm["Type"].(string)
		if strings.HasPrefix(typ, "AWS::DAX::") || name == "DaxRole" {
			daxTypes++
			if rm["Condition"] != "UseDax" {
				t.Errorf("%s (%s) is made without EnableDax", name, typ)
			}
		}
	}
	if daxTypes != 4 {
		t.Errorf("got %d DAX resources, want the cluster, its subnet and parameter groups and its role", daxTypes)
	}
	pg := tpl.rawProps(t, "DaxParameterGroup")["ParameterNameValues"].(map[string]any)
	if pg["record-ttl-millis"] != "300000" || pg["query-ttl-millis"] != "300000" {
		t.Errorf("DAX TTLs %v, want the seed's 5 minutes", pg)
	}
	env := tpl.rawProps(t, "ItemsFunction")["Environment"].(map[string]any)["Variables"].(map[string]any)
	if !jsonEq(env["SURGE_DAX_ENDPOINT"], map[string]any{"Fn::If": []any{"UseDax",
		map[string]any{"Fn::GetAtt": "DaxCluster.ClusterDiscoveryEndpointURL"}, map[string]any{"Ref": "AWS::NoValue"}}}) {
		t.Errorf("SURGE_DAX_ENDPOINT = %v", env["SURGE_DAX_ENDPOINT"])
	}
}

func TestDashboard(t *testing.T) {
	tpl := loadTemplate(t)
	sub, ok := tpl.rawProps(t, "Dashboard")["DashboardBody"].(map[string]any)["Fn::Sub"].(string)
	if !ok {
		t.Fatal("DashboardBody is not a Fn::Sub string")
	}
	body := subVar.ReplaceAllString(sub, "X")
	var dash struct {
		Widgets []struct {
			Type       string `json:"type"`
			Properties struct {
				Title       string  `json:"title"`
				Query       string  `json:"query"`
				Metrics     [][]any `json:"metrics"`
				Annotations struct {
					Horizontal []struct {
						Value float64 `json:"value"`
					} `json:"horizontal"`
				} `json:"annotations"`
			} `json:"properties"`
		} `json:"widgets"`
	}
	if err := json.Unmarshal([]byte(body), &dash); err != nil {
		t.Fatalf("dashboard body is not JSON: %v", err)
	}
	metrics := map[string]bool{}
	latency := map[string][]string{} // route -> stats
	var annotations []float64
	queries := ""
	for _, w := range dash.Widgets {
		queries += w.Properties.Query
		for _, a := range w.Properties.Annotations.Horizontal {
			annotations = append(annotations, a.Value)
		}
		var last []any
		for _, row := range w.Properties.Metrics {
			if len(row) > 0 && row[0] == "..." {
				row = append(append([]any{}, last[:len(last)-1]...), row[1:]...)
			}
			if len(row) >= 2 {
				if name, ok := row[1].(string); ok {
					metrics[name] = true
				}
			}
			if len(row) >= 2 && row[1] == "Latency" {
				var res, method string
				for i := 2; i+1 < len(row); i += 2 {
					switch row[i] {
					case "Resource":
						res, _ = row[i+1].(string)
					case "Method":
						method, _ = row[i+1].(string)
					}
				}
				if opts, ok := row[len(row)-1].(map[string]any); ok {
					latency[method+" "+res] = append(latency[method+" "+res], fmt.Sprint(opts["stat"]))
				}
			}
			last = row
		}
	}
	for _, route := range []string{"GET /items", "POST /items", "GET /items/{id}", "PUT /items/{id}", "PATCH /items/{id}", "DELETE /items/{id}"} {
		if got := latency[route]; !reflect.DeepEqual(got, []string{"p50", "p95", "p99"}) {
			t.Errorf("latency of %s: stats %v, want p50 p95 p99", route, got)
		}
	}
	for _, m := range []string{"4XXError", "5XXError", "Throttles", "ConcurrentExecutions", "ProvisionedConcurrencyUtilization",
		"ConsumedReadCapacityUnits", "ConsumedWriteCapacityUnits", "ReadThrottleEvents", "WriteThrottleEvents", "CacheHitCount"} {
		if !metrics[m] {
			t.Errorf("the dashboard does not show %s", m)
		}
	}
	if !strings.Contains(queries, "@initDuration") {
		t.Error("the dashboard does not show cold starts (init duration from REPORT lines)")
	}
	for _, seed := range []float64{74, 171, 277, 45, 110, 75, 180, 35, 120, 80, 5, 20, 10} {
		if !slices.Contains(annotations, seed) {
			t.Errorf("the seed's figure %v is not annotated", seed)
		}
	}
}

// subVar matches a ${...} substitution of Fn::Sub (not the ${!...}
// literal).
var subVar = regexp.MustCompile(`\$\{([^!}][^}]*)\}`)

// pseudo are CloudFormation's pseudo parameters.
var pseudo = []string{"AWS::AccountId", "AWS::NotificationARNs", "AWS::NoValue", "AWS::Partition",
	"AWS::Region", "AWS::StackId", "AWS::StackName", "AWS::URLSuffix"}

// checkRefs returns every reference in a raw template that names nothing:
// Ref, Fn::GetAtt, Fn::Sub variables, Fn::If and resource conditions, and
// DependsOn. Names SAM generates count as defined: <fn>Role, <fn>Alias<alias>
// and <fn>.Alias/.Version for a function, <api>.Stage/.Deployment and
// <api>Deployment for an API.
func checkRefs(raw map[string]any) []string {
	names := map[string]bool{}
	for _, p := range pseudo {
		names[p] = true
	}
	for k := range asMap(raw["Parameters"]) {
		names[k] = true
	}
	resources := map[string]bool{}
	for k, r := range asMap(raw["Resources"]) {
		names[k], resources[k] = true, true
		props := asMap(asMap(r)["Properties"])
		switch asMap(r)["Type"] {
		case "AWS::Serverless::Function":
			resources[k+"Role"] = true
			resources[k+".Alias"], resources[k+".Version"] = true, true
			if alias, ok := props["AutoPublishAlias"].(string); ok {
				resources[k+"Alias"+alias] = true
			}
		case "AWS::Serverless::Api":
			resources[k+".Stage"], resources[k+".Deployment"] = true, true
		}
	}
	for k := range resources {
		names[k] = true
	}
	conditions := asMap(raw["Conditions"])

	var bad []string
	var walk func(path string, v any)
	walk = func(path string, v any) {
		switch v := v.(type) {
		case []any:
			for i, e := range v {
				walk(fmt.Sprintf("%s[%d]", path, i), e)
			}
		case map[string]any:
			for k, e := range v {
				switch k {
				case "Ref":
					if s, ok := e.(string); !ok || !names[s] {
						bad = append(bad, fmt.Sprintf("%s: Ref %v", path, e))
					}
				case "Fn::GetAtt":
					var res string
					switch e := e.(type) {
					case string:
						res, _, _ = strings.Cut(e, ".")
					case []any:
						if len(e) == 2 {
							res, _ = e[0].(string)
						}
					}
					if !resources[res] {
						bad = append(bad, fmt.Sprintf("%s: Fn::GetAtt %v", path, e))
					}
				case "Fn::Sub":
					str, vars := "", map[string]any{}
					switch e := e.(type) {
					case string:
						str = e
					case []any:
						if len(e) == 2 {
							str, _ = e[0].(string)
							vars = asMap(e[1])
						}
					}
					for _, m := range subVar.FindAllStringSubmatch(str, -1) {
						name := m[1]
						if _, ok := vars[name]; ok || names[name] {
							continue
						}
						if res, _, ok := strings.Cut(name, "."); ok && resources[res] {
							continue
						}
						bad = append(bad, fmt.Sprintf("%s: Fn::Sub ${%s}", path, name))
					}
				case "Fn::If":
					if a, ok := e.([]any); !ok || len(a) != 3 || conditions[fmt.Sprint(a[0])] == nil {
						bad = append(bad, fmt.Sprintf("%s: Fn::If %v", path, e))
					}
				}
				walk(path+"."+k, e)
			}
		}
	}
	for section, m := range map[string]map[string]any{"Resources": asMap(raw["Resources"]), "Outputs": asMap(raw["Outputs"]), "Conditions": conditions} {
		for name, r := range m {
			path := section + "." + name
			walk(path, r)
			rm := asMap(r)
			if c, ok := rm["Condition"]; ok && section != "Conditions" && conditions[fmt.Sprint(c)] == nil {
				bad = append(bad, fmt.Sprintf("%s: Condition %v", path, c))
			}
			deps := rm["DependsOn"]
			if s, ok := deps.(string); ok {
				deps = []any{s}
			}
			for _, d := range asSlice(deps) {
				if !resources[fmt.Sprint(d)] {
					bad = append(bad, fmt.Sprintf("%s: DependsOn %v", path, d))
				}
			}
		}
	}
	sort.Strings(bad)
	return bad
}

func asMap(v any) map[string]any { m, _ := v.(map[string]any); return m }
func asSlice(v any) []any        { s, _ := v.([]any); return s }

func TestReferences(t *testing.T) {
	tpl := loadTemplate(t)
	if bad := checkRefs(tpl.raw); len(bad) > 0 {
		t.Errorf("references to nothing:\n%s", strings.Join(bad, "\n"))
	}
	// The check finds what it should.
	broken := `
Parameters:
  P: {Type: String}
Conditions:
  C: !Equals [!Ref P, "x"]
Resources:
  Fn:
    Type: AWS::Serverless::Function
    Properties: {AutoPublishAlias: live}
  R:
    Type: AWS::SNS::Topic
    Condition: Nope
    DependsOn: [FnAliaslive, Ghost]
    Properties:
      A: !Ref Missing
      B: !GetAtt Gone.Arn
      C: !Sub "${P}-${AWS::Region}-${Fn.Arn}-${Lost}-${!Literal}"
      D: !Sub ["${V}-${Other}", {V: !Ref P}]
      E: !If [NoSuch, 1, 2]
      F: !Ref Fn.Alias
Outputs:
  O: {Value: !Ref Vanished}
`
	rawJSON, err := intrinsics.ProcessYAML([]byte(broken), &intrinsics.ProcessorOptions{NoProcess: true})
	if err != nil {
		t.Fatal(err)
	}
	var raw map[string]any
	json.Unmarshal(rawJSON, &raw)
	got := checkRefs(raw)
	want := []string{
		"Outputs.O.Value: Ref Vanished",
		"Resources.R.Properties.A: Ref Missing",
		"Resources.R.Properties.B: Fn::GetAtt Gone.Arn",
		"Resources.R.Properties.C: Fn::Sub ${Lost}",
		"Resources.R.Properties.D: Fn::Sub ${Other}",
		"Resources.R.Properties.E: Fn::If [NoSuch 1 2]",
		"Resources.R: Condition Nope",
		"Resources.R: DependsOn Ghost",
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("checker found\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}
