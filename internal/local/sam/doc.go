// Package sam reads an AWS SAM template into the application surge runs
// locally (App): its functions, each to run in a pool of its own, the
// routes of its APIs, the APIs' stage settings (throttling, the cache
// cluster and its method settings, API keys and usage plans), its
// DynamoDB tables, and the Application Auto Scaling of its functions'
// provisioned concurrency and its tables' capacity; with what the
// template uses that surge does not run, each listed once
// (App.Unsupported, App.UnsupportedLines), never silently dropped.
// `surge serve --template` (package server) runs the App.
//
// # Reading
//
// goformation reads the template, YAML or JSON, with CloudFormation's
// short-form tags (!Ref, !Sub, ...) turned into their long forms. surge
// resolves the intrinsic functions itself, because goformation's resolver
// leaves most of what a local stack needs unresolved or wrong: its Ref
// knows parameters only (and fixed pseudo parameters), Fn::GetAtt is
// always nil, Fn::Sub drops the variables it cannot resolve without a
// word, Fn::If needs conditions evaluated by an option that replaces
// every resource that has a Condition with the condition's value,
// Fn::Equals compares 512 and "512" as different, AWS::NoValue leaves a
// null where CloudFormation leaves nothing, and the short form !Condition
// NAME arrives as the bare NAME. Here:
//
//   - Ref is a parameter's value (--parameter-overrides, else its
//     default; a list type split at commas; AllowedValues, MinValue and
//     MaxValue checked), a pseudo parameter's (AWS::Region us-east-1,
//     AWS::AccountId 000000000000, AWS::StackName the template's
//     directory's name, AWS::Partition, AWS::URLSuffix), or a resource's
//     local value: a function's name (FunctionName, else its logical id),
//     a table's name (TableName, else STACK-LOGICALID), an API's logical
//     id; AWS::NoValue drops the property or element that holds it.
//   - Fn::GetAtt is a resource's local attribute: a function's and a
//     table's Arn, an API's RootResourceId, SAM's generated names
//     (FN.Alias, FN.Version, API.Stage, FNRole.Arn).
//   - Fn::Sub in both forms, ${!Literal} kept literal; Fn::If resolves only
//     the branch its condition takes, as CloudFormation does; Conditions
//     are evaluated once each, a cycle refused; Fn::Equals, And, Or, Not,
//     Join, Select, Split, FindInMap, Base64, GetAZs, and
//     AWS::LanguageExtensions' Length and ToJsonString.
//   - Globals merge into their resources as SAM merges them: a resource's
//     own value wins, objects merge, lists join with the global items
//     first, an intrinsic function is a value.
//
// What CloudFormation would refuse too (a Ref to nothing, a parameter
// without a value, a condition that names itself, two events on one
// route) is an error; so is a function surge cannot run (no code
// directory; a custom runtime's bootstrap built for another machine,
// with what to do about it).
//
// # What runs, and how
//
// AWS::Serverless::Function: Runtime, Handler, CodeUri (a directory, or a
// .zip unpacked into surge's cache; Options.Code gives a build for this
// machine instead), InlineCode, MemorySize, Timeout, Environment,
// ReservedConcurrentExecutions, ProvisionedConcurrencyConfig with
// AutoPublishAlias, Architectures (the function runs on this machine's),
// and Events of type Api and HttpApi (Path, Method, RestApiId or ApiId,
// Auth.ApiKeyRequired, RequestParameters' caching, PayloadFormatVersion,
// TimeoutInMillis, RouteSettings), SAM's implicit APIs
// (ServerlessRestApi, stage Prod; ServerlessHttpApi, $default) made where
// events need them. AWS::Serverless::Api: StageName, Variables,
// CacheClusterEnabled and CacheClusterSize, MethodSettings (throttling,
// caching, TTL, the cache-control authorization), Auth.ApiKeyRequired and
// Auth.UsagePlan. AWS::Serverless::HttpApi: StageName, StageVariables,
// DefaultRouteSettings and RouteSettings. AWS::DynamoDB::Table and
// AWS::Serverless::SimpleTable: their key schema, billing mode,
// throughput, secondary indexes and time to live (CreateTables makes
// them in the local engine). AWS::ApiGateway::ApiKey, UsagePlan and
// UsagePlanKey. AWS::ApplicationAutoScaling::ScalableTarget and
// ScalingPolicy (target tracking) of a function alias's provisioned
// concurrency and of a table's read and write capacity.
//
// Everything else is listed: other resource types, other event types,
// properties with no local effect (IAM policies, X-Ray tracing, VPCs,
// layers, CORS, OpenAPI definitions, streams, backups), each with what
// surge does instead.
package sam
