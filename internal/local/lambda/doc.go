// Package lambda is surge's local stand-in for AWS Lambda: a pool of real
// function processes with Lambda's execution model, the Lambda Runtime API
// they speak, the Invoke API, and an API Gateway proxy integration that
// puts the pool behind surge's gateway.
//
// # The execution model
//
// Each instance is an OS process running a function program (cmd/bootstrap
// built for this machine, or `surge function`), started with the
// environment Lambda gives a function (AWS_LAMBDA_RUNTIME_API,
// AWS_LAMBDA_FUNCTION_NAME, AWS_LAMBDA_FUNCTION_MEMORY_SIZE, _HANDLER,
// AWS_REGION, LAMBDA_TASK_ROOT, TZ, ...) and its own Runtime API endpoint:
// a loopback listener that serves /2018-06-01/runtime/invocation/next,
// /invocation/{id}/response, /invocation/{id}/error and /init/error, with
// the Lambda-Runtime-Aws-Request-Id, -Deadline-Ms, -Invoked-Function-Arn
// and -Trace-Id headers. What Lambda does, the Pool does:
//
//   - One request per instance at a time. An instance is busy from the
//     moment an invocation is given to it until its runtime asks for the
//     next one (/next), as on Lambda.
//   - A request with no idle instance starts one: a cold start, whose
//     Init Duration is measured from the process's start to its runtime's
//     first /next (what Lambda reports as Init Duration), never simulated.
//     The request waits for it and is then given to it.
//   - Warm instances are reused, the most recently used first, so that
//     the others idle out; an on-demand instance idle for IdleTimeout is
//     stopped (AWS: after some 5 to 15 minutes).
//   - Concurrency (instances busy at once) is capped by the reserved
//     concurrency, else by the account's concurrency limit. A request over
//     the cap is throttled at once, never queued: Invoke returns a
//     *ThrottleError (Lambda's TooManyRequestsException, HTTP 429).
//   - Provisioned concurrency keeps N instances initialised (with
//     AWS_LAMBDA_INITIALIZATION_TYPE=provisioned-concurrency) before the
//     first request and through idle periods; requests use them first and
//     spill over to on-demand instances. N follows scheduled actions
//     (cron(), rate() and at() expressions with a time zone, each setting
//     a minimum and maximum, as Application Auto Scaling's do) and, when
//     a target is set, target tracking on provisioned concurrency
//     utilisation (the seed's 0.7), with Application Auto Scaling's
//     alarms: scale out after 3 one-minute averages over the target,
//     scale in after 15 under 90% of it.
//   - New on-demand instances start at a bounded rate, a token bucket of
//     StartBurst refilled at StartRate a second (AWS: 1,000 every 10
//     seconds per function); a cold start beyond it is throttled.
//   - The function timeout ends a stuck invocation: the instance is
//     killed, the invocation fails with Sandbox.Timedout, and the instance
//     is replaced when it was a provisioned one. An instance that crashes
//     or exits fails only its own invocation (Runtime.ExitError). An init
//     error, posted to /init/error or an exit during init, fails the
//     invocation that waited for the instance with the error the runtime
//     posted, else Runtime.ExitError. All three reach the caller as Lambda
//     returns them: a function error (X-Amz-Function-Error: Unhandled)
//     with {"errorType", "errorMessage"}.
//   - An on-demand init is bounded by InitTimeout (Lambda's 10 s); past
//     it, as Lambda does, a new instance tries the init once more within
//     the invocation, bounded by the function timeout (Sandbox.Timedout
//     past it). A provisioned init is bounded by ProvisionedInitTimeout
//     (Lambda's 130 s, or the function timeout where longer).
//   - Memory size, 128 to 10,240 MB, gives an instance a CPU share in
//     proportion, 1,769 MB being one vCPU, enforced by the kernel's cgroup
//     CPU controller (v2 cpu.max, or v1 cpu.cfs_quota_us), plus a memory
//     limit (memory.max or memory.limit_in_bytes). Where the controllers
//     cannot be written, the pool says so once and runs without limits.
//   - An instance never outlives surge: it runs in a process group of its
//     own, which the pool kills when it stops the instance, and, on Linux,
//     with a parent-death signal (SIGKILL), so that even surge killed with
//     SIGKILL leaves no instance behind (see startProcess).
//   - Functions share their account's concurrency (Config.Account): a
//     function with reserved concurrency has it set aside, and those
//     without share the rest; an invocation beyond it is throttled with
//     ConcurrentInvocationLimitExceeded, whichever function holds the
//     instances.
//
// Every refusal of the pool and the integration names its limit in
// X-Limit-Source (rest.LimitSourceHeader): lambda.concurrency,
// lambda.start-rate, or shutdown once the pool is closed; the Invoke API's
// TooManyRequestsException carries it beside AWS's headers.
//
// # Logs
//
// Each function's log is Lambda's CloudWatch Logs stream, given to a
// LogSink (Config.Logs; ConsoleLog prints it prefixed by the function's
// name): every line an instance writes, and for each invocation the
// lines Lambda writes itself, START RequestId, END RequestId and REPORT
// (Duration, Billed Duration, Memory Size, Max Memory Used, and Init
// Duration on a cold start), with a timeout's and a crash's lines before
// END. The order is the stream's: START before what the function prints
// for the invocation, END and REPORT after all of it, although the
// output comes through a pipe read on a goroutine of its own: the pool
// writes markers into that pipe (see logs.go). A Tail log (Invoke's
// LogType Tail) is cut from the same stream. Max Memory Used is the
// instance's cgroup peak, else its process's peak RSS, read at most every
// 100 ms; Billed Duration is Duration plus a cold start's Init Duration,
// as Lambda bills since August 2025. The Observer gets the same figures
// (Result.MaxMemory, Result.BilledDuration).
//
// Time of day is injected (Config.Now): idle reclaim, schedules, target
// tracking and the start-rate bucket read it, and Tick runs their work
// for a given time. Durations (init, execution, timeouts) are measured on
// the real clock.
//
// # Behind the gateway: what surge answers, and what API Gateway does
//
// Integration turns each HTTP request into an API Gateway REST API (v1)
// proxy event (package awsevent), or an HTTP API's payload format 2.0
// event (IntegrationOptions.PayloadVersion), invokes the pool, and writes
// the function's proxy response back: a response without Content-Type
// gets application/json, as API Gateway gives it; a 2.0 answer that is
// not a response object is the body of a 200. Where the invocation fails, surge answers in the
// items contract's error shape ({"code", "message"}):
//
//	Lambda outcome                 surge                          API Gateway (REST, Lambda proxy)
//	throttled (429 TooManyRequests) 429 throttled, Retry-After     500 {"message": "Internal server error"}
//	function error, crash, init     502 bad_gateway                502 {"message": "Internal server error"}
//	function timeout (Timeout)     504 gateway_timeout            502: Lambda's Task timed out is a function error
//	integration timeout (29 s)     504 gateway_timeout            504 {"message": "Endpoint request timed out"}
//	malformed proxy response       502 bad_gateway                502 {"message": "Internal server error"}
//
// API Gateway answers 500, not 429, when Lambda throttles: it treats every
// error of the Invoke call as an internal error (the Lambda developer
// guide, "Handling Lambda errors with an API Gateway API": "If the Lambda
// API rejects the invocation request, API Gateway returns a 500 error
// code"); only a gateway response mapping (INTEGRATION_FAILURE) can change
// that. surge answers 429 throttled with Retry-After by default, which is
// what a client can act on and what the contract's throttled code means;
// IntegrationOptions.ThrottleStatus = 500 reproduces API Gateway exactly.
// API Gateway answers 504 only when its own integration timeout (29 s by
// default for a REST API) ends first; a function whose timeout is shorter
// (deploy/aws sets 10 s) fails with Lambda's Sandbox.Timedout, a function
// error, which API Gateway answers 502. Integration has both timeouts;
// a function timeout is answered 504 gateway_timeout by default, so that
// a client can tell a slow backend from a failing one, and
// IntegrationOptions.TimeoutStatus = 502 reproduces API Gateway exactly.
//
// # The Invoke API
//
// InvokeAPI serves Lambda's POST /2015-03-31/functions/{name}/invocations
// (RequestResponse, Event and DryRun; Qualifier $LATEST; LogType Tail),
// with the headers AWS sends (X-Amz-Function-Error, X-Amz-Executed-Version,
// X-Amz-Log-Result, X-Amzn-RequestId) and its errors
// (TooManyRequestsException, ResourceNotFoundException, ...), so that the
// original application's direct invocation event, and aws-sdk-go-v2's
// Lambda client with a custom endpoint, work against local functions.
// Unlike the Runtime Interface Emulator, concurrent invocations are
// served, each on its own instance.
package lambda
