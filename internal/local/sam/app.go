package sam

import "time"

// App is a SAM application as surge runs it locally: its functions, the
// routes of its APIs, the APIs' stage settings, API keys and usage plans,
// and its tables, every intrinsic function resolved; and what the
// template uses that surge does not run.
type App struct {
	// Path is the template's file, Dir its directory (CodeUri is
	// relative to it), StackName the stack's name (AWS::StackName).
	Path, Dir, StackName string
	// Description is the template's.
	Description string
	// Functions are the functions, in logical id order.
	Functions []*Function
	// APIs are the REST and HTTP APIs that have routes, in logical id
	// order; implicit ones (ServerlessRestApi, ServerlessHttpApi) among
	// them.
	APIs []*API
	// Tables are the DynamoDB tables, in logical id order.
	Tables []*Table
	// Plans are the usage plans, with their API keys.
	Plans []*UsagePlan
	// Outputs are the template's outputs, resolved with local values.
	Outputs map[string]string
	// Unsupported lists what the template uses that surge does not run
	// locally, or runs otherwise than AWS, in path order.
	Unsupported []Unsupported
}

// Function is an AWS::Serverless::Function, Globals merged in.
type Function struct {
	// LogicalID is its name in the template; Name its function name (its
	// FunctionName, else its logical id).
	LogicalID, Name string
	// Runtime, Handler and CodeDir are its code: CodeUri's directory (a
	// .zip CodeUri is unpacked into a directory of surge's cache).
	Runtime, Handler, CodeDir string
	// Architectures are what the template asks for (x86_64, arm64).
	Architectures []string
	// MemoryMB and Timeout are its settings (SAM's defaults: 128 MB, 3 s).
	MemoryMB int
	Timeout  time.Duration
	// Env is its environment, in name order (KEY=VALUE), with every
	// reference resolved (a table's Ref is the local table's name).
	Env []string
	// ReservedConcurrency is ReservedConcurrentExecutions (0: none).
	ReservedConcurrency int
	// Alias is AutoPublishAlias; Provisioned the provisioned concurrency
	// of that alias (ProvisionedConcurrencyConfig).
	Alias       string
	Provisioned int
	// Scaling is the Application Auto Scaling of its provisioned
	// concurrency, from a ScalableTarget and ScalingPolicy on its alias.
	Scaling *Scaling
	// Events are its Api and HttpApi events, in name order.
	Events []*Event
}

// Event is an Api or HttpApi event: a route of an API to the function.
type Event struct {
	// Name is the event's name in the template.
	Name string
	// API is the logical id of its API (ServerlessRestApi or
	// ServerlessHttpApi for the implicit ones).
	API string
	// HTTP says it is an HttpApi event.
	HTTP bool
	// Method is the HTTP method in upper case, "ANY" for every method;
	// Path the resource path ("/items/{id}", "/{proxy+}"); an HttpApi
	// event without either is the API's $default route.
	Method, Path string
	// PayloadVersion is "1.0" or "2.0" (an HttpApi event's default).
	PayloadVersion string
	// APIKeyRequired says whether a request needs an API key.
	APIKeyRequired bool
	// CacheKeys are the request parameters in the cache key
	// (path.NAME, querystring.NAME, header.NAME), from RequestParameters
	// with Caching.
	CacheKeys []string
	// Timeout is an HttpApi event's integration timeout
	// (TimeoutInMillis), 0 for the API's default.
	Timeout time.Duration
}

// API is an AWS::Serverless::Api (a REST API) or AWS::Serverless::HttpApi.
type API struct {
	LogicalID string
	// HTTP says it is an HTTP API.
	HTTP bool
	// Stage is its stage name.
	Stage string
	// StageVariables are its stage's variables.
	StageVariables map[string]string
	// CacheEnabled and CacheSizeGB are its cache cluster.
	CacheEnabled bool
	CacheSizeGB  float64
	// MethodSettings are a REST API's method settings, an HTTP API's
	// route settings, in the template's order, the stage-wide one
	// (ResourcePath "/*", HttpMethod "*") among them.
	MethodSettings []MethodSetting
	// APIKeyRequired is Auth.ApiKeyRequired: every method needs an API key.
	APIKeyRequired bool
}

// MethodSetting is a REST API stage's settings for some of its methods:
// ResourcePath "/*" and HttpMethod "*" for every one, else one method of
// one resource (the path written with "~1" for "/", as CloudFormation
// writes it, decoded here: "/items/{id}").
type MethodSetting struct {
	ResourcePath, HTTPMethod string
	// ThrottleRate and ThrottleBurst are its throttling, when Throttle.
	Throttle      bool
	ThrottleRate  float64
	ThrottleBurst int
	// Caching is CachingEnabled, when set; CacheTTL CacheTtlInSeconds.
	Caching    *bool
	CacheTTL   time.Duration
	HasTTL     bool
	RequireKey bool // RequireAuthorizationForCacheControl
	// Unauthorized is UnauthorizedCacheControlHeaderStrategy, as surge
	// names it: fail, warn or ignore ("" when not set).
	Unauthorized string
}

// All reports whether the setting is the stage-wide one.
func (m MethodSetting) All() bool { return m.ResourcePath == "/*" && m.HTTPMethod == "*" }

// UsagePlan is an AWS::ApiGateway::UsagePlan (or an Api's
// Auth.UsagePlan): the limits of its API keys.
type UsagePlan struct {
	LogicalID, Name string
	// Rate and Burst are its Throttle; Quota its requests a day.
	Rate  float64
	Burst int
	Quota int64
	// Keys are its API keys.
	Keys []*APIKey
}

// APIKey is an AWS::ApiGateway::ApiKey.
type APIKey struct {
	// LogicalID names it; its tenant in surge is its id, as with
	// deploy/aws's SURGE_TENANT_FROM_API_KEY.
	LogicalID, Name string
	// Value is the key's value, or "" where the template leaves API
	// Gateway to make one (surge then makes one at start).
	Value   string
	Enabled bool
}

// Table is an AWS::DynamoDB::Table or AWS::Serverless::SimpleTable.
type Table struct {
	LogicalID string
	// Name is its local table name: TableName, else STACK-LOGICALID.
	Name string
	// Keys are its key schema (HASH first), Attributes the key
	// attributes' types (S, N, B).
	Keys       []KeyElement
	Attributes map[string]string
	// OnDemand is BillingMode PAY_PER_REQUEST; else RCU and WCU are its
	// provisioned throughput.
	OnDemand bool
	RCU, WCU int
	// Indexes are its secondary indexes.
	Indexes []Index
	// TTLAttribute is its time-to-live attribute, when enabled.
	TTLAttribute string
	// ReadScaling and WriteScaling are the Application Auto Scaling of
	// its capacity.
	ReadScaling, WriteScaling *Scaling
}

// KeyElement is one attribute of a key schema.
type KeyElement struct {
	Name, Type string // Type is HASH or RANGE
}

// Index is a secondary index.
type Index struct {
	Name   string
	Global bool
	Keys   []KeyElement
	// Projection is ALL, KEYS_ONLY or INCLUDE, with NonKey for INCLUDE.
	Projection string
	NonKey     []string
	RCU, WCU   int
}

// Scaling is an Application Auto Scaling scalable target with its target
// tracking policy and scheduled actions.
type Scaling struct {
	Min, Max int
	// Target is the target tracking value (0.7 for Lambda's
	// utilisation; DynamoDB's percent is given as a fraction here too).
	Target  float64
	Actions []ScheduledAction
}

// ScheduledAction is a scheduled action of a scalable target.
type ScheduledAction struct {
	Name, Schedule, Timezone string
	// Min and Max are its new bounds, -1 where it sets none.
	Min, Max int
}
