package sam_test

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/surgehq/surge/internal/local/sam"
)

// parse parses a template whose code directory exists, failing t on an
// error.
func parse(t *testing.T, tpl string, params map[string]string) *sam.App {
	t.Helper()
	dir := t.TempDir()
	if err := os.MkdirAll(filepath.Join(dir, "src"), 0o755); err != nil {
		t.Fatal(err)
	}
	app, err := sam.Parse([]byte(tpl), dir, sam.Options{StackName: "stack", Parameters: params, CacheDir: t.TempDir()})
	if err != nil {
		t.Fatalf("parse: %v", err)
	}
	return app
}

func function(t *testing.T, app *sam.App, id string) *sam.Function {
	t.Helper()
	for _, fn := range app.Functions {
		if fn.LogicalID == id {
			return fn
		}
	}
	t.Fatalf("no function %s", id)
	return nil
}

func envOf(fn *sam.Function) map[string]string {
	m := map[string]string{}
	for _, kv := range fn.Env {
		k, v, _ := strings.Cut(kv, "=")
		m[k] = v
	}
	return m
}

// intrinsics is a template that uses every intrinsic function surge
// resolves, with parameters, conditions, mappings and Globals.
const intrinsics = `
AWSTemplateFormatVersion: "2010-09-09"
Transform: AWS::Serverless-2016-10-31
Parameters:
  Stage: {Type: String, Default: prod, AllowedValues: [prod, dev]}
  Memory: {Type: Number, Default: 512, MinValue: 128, MaxValue: 10240}
  Subnets: {Type: CommaDelimitedList, Default: "a,b,c"}
  Dax: {Type: String, Default: "false"}
Mappings:
  Sizes: {prod: {cache: "0.5"}, dev: {cache: "1.6"}}
Conditions:
  IsProd: !Equals [!Ref Stage, prod]
  UseDax: !Equals [!Ref Dax, "true"]
  ProdNoDax: !And [!Condition IsProd, !Not [!Condition UseDax]]
  Either: !Or [!Condition UseDax, !Equals ["1", "1"]]
Globals:
  Function:
    Runtime: python3.12
    Handler: app.handler
    CodeUri: src/
    Timeout: 7
    MemorySize: !Ref Memory
    Environment:
      Variables:
        FROM_GLOBALS: "yes"
        OVERRIDDEN: global
Resources:
  Fn:
    Type: AWS::Serverless::Function
    Properties:
      Environment:
        Variables:
          OVERRIDDEN: own
          TABLE: !Ref Table
          TABLE_ARN: !GetAtt Table.Arn
          TABLE_ARN_LIST: !GetAtt [Table, Arn]
          SUB: !Sub "${AWS::StackName}-${Stage}-${Table}-${!Literal}-${Table.Arn}"
          SUB_VARS: !Sub ["${A}/${Stage}", {A: !Ref Memory}]
          IF_PROD: !If [IsProd, prod-value, other-value]
          DAX: !If [UseDax, !GetAtt DaxCluster.ClusterDiscoveryEndpointURL, !Ref AWS::NoValue]
          JOIN: !Join [",", !Ref Subnets]
          SELECT: !Select [1, !Ref Subnets]
          SPLIT: !Select [2, !Split ["-", "x-y-z"]]
          MAP: !FindInMap [Sizes, !Ref Stage, cache]
          AND: !If [ProdNoDax, "1", "0"]
          OR: !If [Either, "1", "0"]
          REGION: !Ref AWS::Region
          ACCOUNT: !Ref AWS::AccountId
          B64: !Base64 "hi"
          NUM: !Ref Memory
  Table:
    Type: AWS::Serverless::SimpleTable
  DaxCluster:
    Type: AWS::DAX::Cluster
    Condition: UseDax
    Properties: {NodeType: dax.t3.small}
`

func TestIntrinsics(t *testing.T) {
	for _, tc := range []struct {
		name   string
		params map[string]string
		want   map[string]string
		memory int
	}{
		{"Defaults", nil, map[string]string{
			"FROM_GLOBALS": "yes", "OVERRIDDEN": "own", "TABLE": "stack-Table",
			"TABLE_ARN": "arn:aws:dynamodb:us-east-1:000000000000:table/stack-Table", "TABLE_ARN_LIST": "arn:aws:dynamodb:us-east-1:000000000000:table/stack-Table",
			"SUB": "stack-prod-stack-Table-${Literal}-arn:aws:dynamodb:us-east-1:000000000000:table/stack-Table", "SUB_VARS": "512/prod",
			"IF_PROD": "prod-value", "JOIN": "a,b,c", "SELECT": "b", "SPLIT": "z", "MAP": "0.5", "AND": "1", "OR": "1",
			"REGION": "us-east-1", "ACCOUNT": "000000000000", "B64": "aGk=", "NUM": "512",
		}, 512},
		{"Overrides", map[string]string{"Stage": "dev", "Memory": "1024", "Subnets": "x, y"}, map[string]string{
			"IF_PROD": "other-value", "JOIN": "x,y", "SELECT": "y", "MAP": "1.6", "AND": "0", "SUB_VARS": "1024/dev", "NUM": "1024",
		}, 1024},
	} {
		t.Run(tc.name, func(t *testing.T) {
			app := parse(t, intrinsics, tc.params)
			fn := function(t, app, "Fn")
			env := envOf(fn)
			for k, v := range tc.want {
				if env[k] != v {
					t.Errorf("%s = %q, want %q", k, env[k], v)
				}
			}
			if _, ok := env["DAX"]; ok {
				t.Errorf("DAX = %q: AWS::NoValue drops it", env["DAX"])
			}
			if fn.MemoryMB != tc.memory || fn.Timeout != 7*time.Second || fn.Runtime != "python3.12" || fn.Handler != "app.handler" {
				t.Errorf("got memory %d, timeout %v, %s %s", fn.MemoryMB, fn.Timeout, fn.Runtime, fn.Handler)
			}
			for _, u := range app.Unsupported {
				if strings.Contains(u.Path, "DaxCluster") {
					t.Errorf("a resource its condition leaves out is listed: %s", u)
				}
			}
		})
	}
	// With the condition on, the resource is there, and what surge does
	// not run of it is listed, once.
	app := parse(t, intrinsics, map[string]string{"Dax": "true"})
	if env := envOf(function(t, app, "Fn")); env["DAX"] != "DaxCluster.ClusterDiscoveryEndpointURL" {
		t.Errorf("DAX = %q", env["DAX"])
	}
	var listed []string
	for _, u := range app.Unsupported {
		listed = append(listed, u.String())
	}
	want := []string{
		"Resources.DaxCluster: AWS::DAX::Cluster is not run locally",
		"Resources.Fn.Properties.Environment.Variables.DAX.Fn::If[1]: Fn::GetAtt DaxCluster.ClusterDiscoveryEndpointURL has no local value",
	}
	if !reflect.DeepEqual(listed, want) {
		t.Errorf("listed\n%s\nwant\n%s", strings.Join(listed, "\n"), strings.Join(want, "\n"))
	}
}

func TestErrors(t *testing.T) {
	fn := "\n  Fn:\n    Type: AWS::Serverless::Function\n    Properties: {Runtime: python3.12, Handler: app.handler, CodeUri: src/"
	for _, tc := range []struct{ name, tpl, want string }{
		{"RefToNothing", "Resources:" + fn + ", Environment: {Variables: {A: !Ref Nope}}}", "Ref Nope: no such parameter or resource"},
		{"GetAttOfNothing", "Resources:" + fn + ", Environment: {Variables: {A: !GetAtt Nope.Arn}}}", "Fn::GetAtt Nope.Arn: no such resource"},
		{"ParameterWithoutValue", "Parameters: {P: {Type: String}}\nResources:" + fn + "}", "Parameters.P: no value"},
		{"NotAllowed", "Parameters: {P: {Type: String, Default: x, AllowedValues: [a, b]}}\nResources:" + fn + "}", `"x" is not one of its AllowedValues`},
		{"OverMax", "Parameters: {P: {Type: Number, Default: 9, MaxValue: 5}}\nResources:" + fn + "}", "9 is over its MaxValue 5"},
		{"ConditionCycle", "Conditions: {A: !Condition B, B: !Condition A}\nResources:" + fn + ", Environment: {Variables: {X: !If [A, 1, 2]}}}", "depends on itself"},
		{"UnknownCondition", "Resources:" + fn + ", Environment: {Variables: {X: !If [Nope, 1, 2]}}}", `condition "Nope" is not in the template's Conditions`},
		{"NoCode", "Resources:\n  Fn:\n    Type: AWS::Serverless::Function\n    Properties: {Runtime: python3.12, Handler: app.handler}", "no CodeUri or InlineCode"},
		{"MissingDir", "Resources:" + fn[:len(fn)-4] + "nowhere/}", "the code directory"},
		{"S3Code", "Resources:\n  Fn:\n    Type: AWS::Serverless::Function\n    Properties: {Runtime: python3.12, Handler: app.handler, CodeUri: {Bucket: b, Key: k}}", "code in S3"},
		{"ProvisionedWithoutAlias", "Resources:" + fn + ", ProvisionedConcurrencyConfig: {ProvisionedConcurrentExecutions: 2}}", "needs AutoPublishAlias"},
		{"SameRouteTwice", "Resources:" + fn + ", Events: {A: {Type: Api, Properties: {Path: /x, Method: get}}, B: {Type: Api, Properties: {Path: /x, Method: GET}}}}", "is also"},
		{"EventOnMissingAPI", "Resources:" + fn + ", Events: {A: {Type: Api, Properties: {Path: /x, Method: get, RestApiId: !Ref Nope}}}}", "Ref Nope"},
		{"BadPath", "Resources:" + fn + `, Events: {A: {Type: Api, Properties: {Path: "/x/{a+}/y", Method: get}}}}`, "is not an API Gateway resource path"},
		{"UnknownOverride", "Resources:" + fn + "}", "--parameter-overrides gives Q"},
		{"NoResources", "Parameters: {}", "a template needs resources"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			os.MkdirAll(filepath.Join(dir, "src"), 0o755)
			opt := sam.Options{CacheDir: t.TempDir()}
			if tc.name == "UnknownOverride" {
				opt.Parameters = map[string]string{"Q": "1"}
			}
			_, err := sam.Parse([]byte(tc.tpl), dir, opt)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("got %v, want an error with %q", err, tc.want)
			}
		})
	}
}

// TestGlobals checks SAM's rules for Globals: a resource's own value wins,
// objects merge, lists join with the global items first, and an
// intrinsic function is one value.
func TestGlobals(t *testing.T) {
	app := parse(t, `
Transform: AWS::Serverless-2016-10-31
Parameters: {Arch: {Type: String, Default: x86_64}}
Globals:
  Function:
    Runtime: nodejs22.x
    Handler: index.handler
    CodeUri: src/
    Architectures: [!Ref Arch]
    Environment: {Variables: {A: global, B: global}}
  Api:
    StageName: staging
    MethodSettings: [{ResourcePath: "/*", HttpMethod: "*", ThrottlingRateLimit: 10, ThrottlingBurstLimit: 20}]
Resources:
  One:
    Type: AWS::Serverless::Function
    Properties:
      Handler: other.handler
      Environment: {Variables: {B: own, C: own}}
      Events: {Get: {Type: Api, Properties: {Path: /one, Method: get}}}
  Two:
    Type: AWS::Serverless::Function
    Properties:
      Environment: !If [Never, {Variables: {Z: z}}, !Ref AWS::NoValue]
Conditions:
  Never: !Equals [a, b]
`, nil)
	one, two := function(t, app, "One"), function(t, app, "Two")
	if one.Handler != "other.handler" || two.Handler != "index.handler" || one.Runtime != "nodejs22.x" {
		t.Errorf("handlers %s %s, runtime %s", one.Handler, two.Handler, one.Runtime)
	}
	if got := envOf(one); !reflect.DeepEqual(got, map[string]string{"A": "global", "B": "own", "C": "own"}) {
		t.Errorf("One's environment %v", got)
	}
	if got := envOf(two); len(got) != 0 {
		t.Errorf("Two's environment %v: its own intrinsic value replaces the global one", got)
	}
	if len(app.APIs) != 1 || app.APIs[0].LogicalID != sam.ImplicitRestAPI || app.APIs[0].Stage != "staging" {
		t.Fatalf("APIs %+v, want the implicit one with Globals.Api's stage", app.APIs)
	}
	if ms := app.APIs[0].MethodSettings; len(ms) != 1 || !ms[0].All() || ms[0].ThrottleRate != 10 || ms[0].ThrottleBurst != 20 {
		t.Errorf("the implicit API's method settings %+v", ms)
	}
}

// TestEventsAndAPIs checks how events become routes, and what an API's
// settings become.
func TestEventsAndAPIs(t *testing.T) {
	app := parse(t, `
Transform: AWS::Serverless-2016-10-31
Resources:
  Api:
    Type: AWS::Serverless::Api
    Properties:
      StageName: prod
      CacheClusterEnabled: true
      CacheClusterSize: "1.6"
      Variables: {V: one}
      Auth: {ApiKeyRequired: true, UsagePlan: {CreateUsagePlan: PER_API, Throttle: {RateLimit: 5, BurstLimit: 10}, Quota: {Limit: 100, Period: DAY}}}
      MethodSettings:
        - {ResourcePath: "/~1things~1{id}", HttpMethod: GET, CachingEnabled: true, CacheTtlInSeconds: 60, UnauthorizedCacheControlHeaderStrategy: FAIL_WITH_403}
  Http:
    Type: AWS::Serverless::HttpApi
    Properties:
      DefaultRouteSettings: {ThrottlingRateLimit: 50, ThrottlingBurstLimit: 100}
  Fn:
    Type: AWS::Serverless::Function
    Properties:
      Runtime: python3.12
      Handler: app.handler
      CodeUri: src/
      Events:
        Get:
          Type: Api
          Properties:
            RestApiId: !Ref Api
            Path: /things/{id}
            Method: get
            RequestParameters: [{method.request.path.id: {Required: true, Caching: true}}, method.request.header.x-debug]
        Any:
          Type: HttpApi
          Properties: {ApiId: !Ref Http, Path: "/{proxy+}", Method: ANY, PayloadFormatVersion: "1.0", TimeoutInMillis: 5000}
        Default:
          Type: HttpApi
        Queue:
          Type: SQS
          Properties: {Queue: arn}
`, nil)
	fn := function(t, app, "Fn")
	got := map[string]sam.Event{}
	for _, e := range fn.Events {
		got[e.Name] = *e
	}
	want := map[string]sam.Event{
		"Get":     {Name: "Get", API: "Api", Method: "GET", Path: "/things/{id}", PayloadVersion: "1.0", CacheKeys: []string{"path.id"}},
		"Any":     {Name: "Any", API: "Http", HTTP: true, Method: "ANY", Path: "/{proxy+}", PayloadVersion: "1.0", Timeout: 5 * time.Second},
		"Default": {Name: "Default", API: sam.ImplicitHTTPAPI, HTTP: true, Method: "ANY", PayloadVersion: "2.0"},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("events\n%+v\nwant\n%+v", got, want)
	}
	apis := map[string]*sam.API{}
	for _, a := range app.APIs {
		apis[a.LogicalID] = a
	}
	api := apis["Api"]
	if api == nil || !api.CacheEnabled || api.CacheSizeGB != 1.6 || !api.APIKeyRequired || api.StageVariables["V"] != "one" {
		t.Fatalf("Api %+v", api)
	}
	if ms := api.MethodSettings; len(ms) != 1 || ms[0].ResourcePath != "/things/{id}" || ms[0].HTTPMethod != "GET" ||
		ms[0].Caching == nil || !*ms[0].Caching || ms[0].CacheTTL != time.Minute || ms[0].Unauthorized != "fail" {
		t.Errorf("method settings %+v", ms)
	}
	if h := apis["Http"]; h == nil || !h.HTTP || h.Stage != "$default" || len(h.MethodSettings) != 1 || h.MethodSettings[0].ThrottleRate != 50 {
		t.Errorf("Http %+v", h)
	}
	if apis[sam.ImplicitHTTPAPI] == nil {
		t.Error("no implicit HTTP API for the event without an ApiId")
	}
	if len(app.Plans) != 1 || app.Plans[0].Rate != 5 || app.Plans[0].Burst != 10 || app.Plans[0].Quota != 100 || len(app.Plans[0].Keys) != 1 {
		t.Errorf("plans %+v", app.Plans)
	}
	found := false
	for _, u := range app.Unsupported {
		found = found || (u.Path == "Resources.Fn.Properties.Events.Queue" && strings.Contains(u.Why, "SQS events are not run locally"))
	}
	if !found {
		t.Errorf("the SQS event is not listed: %v", app.Unsupported)
	}
}

// TestTables checks a DynamoDB table's schema, capacity, indexes, time to
// live and auto scaling, and a SimpleTable's defaults.
func TestTables(t *testing.T) {
	app := parse(t, `
Resources:
  T:
    Type: AWS::DynamoDB::Table
    Properties:
      TableName: things
      AttributeDefinitions: [{AttributeName: pk, AttributeType: S}, {AttributeName: sk, AttributeType: N}, {AttributeName: g, AttributeType: S}]
      KeySchema: [{AttributeName: pk, KeyType: HASH}, {AttributeName: sk, KeyType: RANGE}]
      ProvisionedThroughput: {ReadCapacityUnits: "20", WriteCapacityUnits: 10}
      GlobalSecondaryIndexes:
        - IndexName: byG
          KeySchema: [{AttributeName: g, KeyType: HASH}]
          Projection: {ProjectionType: INCLUDE, NonKeyAttributes: [x]}
          ProvisionedThroughput: {ReadCapacityUnits: 5, WriteCapacityUnits: 5}
      TimeToLiveSpecification: {AttributeName: ttl, Enabled: true}
      StreamSpecification: {StreamViewType: NEW_IMAGE}
  Simple:
    Type: AWS::Serverless::SimpleTable
    Properties: {PrimaryKey: {Name: n, Type: Number}}
  ReadTarget:
    Type: AWS::ApplicationAutoScaling::ScalableTarget
    Properties:
      ServiceNamespace: dynamodb
      ScalableDimension: dynamodb:table:ReadCapacityUnits
      ResourceId: !Sub table/${T}
      MinCapacity: 20
      MaxCapacity: 100
      ScheduledActions: [{ScheduledActionName: peak, Schedule: "cron(0 8 * * ? *)", ScalableTargetAction: {MinCapacity: 40}}]
  ReadPolicy:
    Type: AWS::ApplicationAutoScaling::ScalingPolicy
    Properties:
      PolicyName: p
      PolicyType: TargetTrackingScaling
      ScalingTargetId: !Ref ReadTarget
      TargetTrackingScalingPolicyConfiguration:
        TargetValue: 70
        PredefinedMetricSpecification: {PredefinedMetricType: DynamoDBReadCapacityUtilization}
`, nil)
	if len(app.Tables) != 2 {
		t.Fatalf("tables %+v", app.Tables)
	}
	var tb, simple *sam.Table
	for _, x := range app.Tables {
		if x.LogicalID == "T" {
			tb = x
		} else {
			simple = x
		}
	}
	in := tb.CreateTableInput()
	if *in.TableName != "things" || in.BillingMode != "PROVISIONED" || *in.ProvisionedThroughput.ReadCapacityUnits != 20 ||
		len(in.KeySchema) != 2 || len(in.AttributeDefinitions) != 3 || len(in.GlobalSecondaryIndexes) != 1 ||
		in.GlobalSecondaryIndexes[0].Projection.NonKeyAttributes[0] != "x" || tb.TTLAttribute != "ttl" {
		t.Errorf("table %+v", in)
	}
	if s := tb.ReadScaling; s == nil || s.Min != 20 || s.Max != 100 || s.Target != 0.7 || len(s.Actions) != 1 || s.Actions[0].Min != 40 || s.Actions[0].Max != -1 {
		t.Errorf("read scaling %+v", tb.ReadScaling)
	}
	if simple.Name != "stack-Simple" || !simple.OnDemand || simple.Keys[0].Name != "n" || simple.Attributes["n"] != "N" {
		t.Errorf("simple table %+v", simple)
	}
	listed := false
	for _, u := range app.Unsupported {
		listed = listed || u.Path == "Resources.T.Properties.StreamSpecification"
	}
	if !listed {
		t.Error("the stream is not listed")
	}
}

func TestParseOverrides(t *testing.T) {
	got, err := sam.ParseOverrides([]string{`A=1 B="two words" ParameterKey=C,ParameterValue=x=y`, "D='q' A=3"})
	want := map[string]string{"A": "3", "B": "two words", "C": "x=y", "D": "q"}
	if err != nil || !reflect.DeepEqual(got, want) {
		t.Errorf("got %v %v, want %v", got, err, want)
	}
	for _, bad := range []string{"A", "=1", `A="open`, "ParameterKey=,ParameterValue=1"} {
		if _, err := sam.ParseOverrides([]string{bad}); err == nil {
			t.Errorf("%q: no error", bad)
		}
	}
}

func TestEnvVars(t *testing.T) {
	e, err := sam.ParseEnvVars([]byte(`{"Parameters": {"A": "all", "N": 5}, "Fn": {"A": "mine", "B": true}}`))
	if err != nil {
		t.Fatal(err)
	}
	got := e.Apply(&sam.Function{LogicalID: "Fn"}, []string{"A=template", "C=kept"})
	if want := []string{"A=mine", "B=true", "C=kept", "N=5"}; !reflect.DeepEqual(got, want) {
		t.Errorf("got %v, want %v", got, want)
	}
	for _, bad := range []string{`[]`, `{"Fn": {"A": {}}}`, `{"Fn": {"A=B": "x"}}`} {
		if _, err := sam.ParseEnvVars([]byte(bad)); err == nil {
			t.Errorf("%s: no error", bad)
		}
	}
}

// TestUnsupportedLines checks that what differs only by its resource is
// said once.
func TestUnsupportedLines(t *testing.T) {
	app := &sam.App{Unsupported: []sam.Unsupported{
		{Path: "Resources.A.Properties.Tracing", Why: "no X-Ray"},
		{Path: "Resources.B.Properties.Tracing", Why: "no X-Ray"},
		{Path: "Resources.D", Why: "AWS::SNS::Topic is not run locally"},
		{Path: "Rules", Why: "not checked"},
	}}
	want := []string{"Properties.Tracing of A, B: no X-Ray", "D: AWS::SNS::Topic is not run locally", "Rules: not checked"}
	if got := app.UnsupportedLines(); !reflect.DeepEqual(got, want) {
		t.Errorf("got %q, want %q", got, want)
	}
}

// TestTemplates reads the project's templates: deploy/aws's, the
// examples', and the public ones in testdata.
func TestTemplates(t *testing.T) {
	for _, path := range []string{
		"../../../examples/python-crud/template.yaml",
		"../../../examples/node-crud/template.yaml",
		"testdata/serverless-patterns/apigw-lambda-dynamodb/template.yaml",
		"testdata/serverless-patterns/apigw-http-api-lambda-python/template.yaml",
	} {
		t.Run(filepath.Base(filepath.Dir(path)), func(t *testing.T) {
			app, err := sam.Load(path, sam.Options{CacheDir: t.TempDir()})
			if err != nil {
				t.Fatal(err)
			}
			if len(app.Functions) == 0 || len(app.APIs) == 0 {
				t.Errorf("functions %d, APIs %d", len(app.Functions), len(app.APIs))
			}
			for _, fn := range app.Functions {
				if len(fn.Events) == 0 {
					t.Errorf("%s has no routes", fn.Name)
				}
			}
		})
	}
	// deploy/aws's package is built for arm64: without a build for this
	// machine, surge says what to do.
	dir := t.TempDir()
	_, err := sam.Load("../../../deploy/aws/template.yaml", sam.Options{CacheDir: t.TempDir(), Code: map[string]string{"ItemsFunction": dir}})
	if err != nil {
		t.Errorf("with --template-code: %v", err)
	}
}

// TestExampleSwitches reads the examples' templates with the article's
// optimizations switched off by their parameters, as the lab's python
// profile runs them: conditions drop the provisioned concurrency, the
// cache cluster and the stage throttle.
func TestExampleSwitches(t *testing.T) {
	for _, ex := range []string{"python-crud", "node-crud"} {
		t.Run(ex, func(t *testing.T) {
			path := "../../../examples/" + ex + "/template.yaml"
			on, err := sam.Load(path, sam.Options{CacheDir: t.TempDir()})
			if err != nil {
				t.Fatal(err)
			}
			off, err := sam.Load(path, sam.Options{CacheDir: t.TempDir(), Parameters: map[string]string{
				"MemorySize": "128", "ProvisionedConcurrency": "0", "ApiCache": "false", "StageThrottleRate": "0"}})
			if err != nil {
				t.Fatal(err)
			}
			for _, c := range []struct {
				app                 *sam.App
				provisioned, memory int
				cache, throttle     bool
			}{{on, 5, 512, true, true}, {off, 0, 128, false, false}} {
				api := c.app.APIs[0]
				throttle := false
				for _, ms := range api.MethodSettings {
					throttle = throttle || (ms.All() && ms.Throttle && ms.ThrottleRate == 1000 && ms.ThrottleBurst == 2000)
				}
				if api.CacheEnabled != c.cache || throttle != c.throttle {
					t.Errorf("cache %v, stage throttle %v; want %v, %v", api.CacheEnabled, throttle, c.cache, c.throttle)
				}
				for _, fn := range c.app.Functions {
					want := 0
					if fn.Name == "CreateItemFunction" || fn.Name == "GetItemFunction" {
						want = c.provisioned
					}
					if fn.Provisioned != want || fn.MemoryMB != c.memory {
						t.Errorf("%s: provisioned %d, %d MB; want %d, %d", fn.Name, fn.Provisioned, fn.MemoryMB, want, c.memory)
					}
				}
			}
		})
	}
}
