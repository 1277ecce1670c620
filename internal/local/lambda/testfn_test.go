package lambda_test

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"

	awslambda "github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-lambda-go/lambdacontext"

	"github.com/surgehq/surge/internal/function"
	"github.com/surgehq/surge/internal/items"
	"github.com/surgehq/surge/internal/store/sqlite"
)

// The test binary is also the function the tests run, picked by
// envTestFunction: "fault", a function that misbehaves on demand, or
// "items", the real function (package function) over SQLite, as `surge
// function` runs it. So the tests start real processes speaking the real
// Runtime API without building anything.
const (
	envTestFunction = "SURGE_LAMBDA_TEST_FUNCTION"
	// envControl names a file whose content the fault function reads at
	// init: "" (start normally), "fail" (post an init error and exit),
	// "exit" (exit 3 without a word), "hang" (never finish init) or
	// "sleep:MS" (take MS milliseconds more) or "spin:N" (N rounds of
	// SHA-256 over 4 KB: CPU-bound work).
	envControl = "SURGE_TESTFN_CONTROL"
)

func runTestFunction() bool {
	switch os.Getenv(envTestFunction) {
	case "fault":
		faultInit()
		awslambda.Start(faultFunction{start: time.Now()})
	case "items":
		function.Run(func(ctx context.Context, cfg *function.Config) (items.Store, error) {
			path, ok := strings.CutPrefix(cfg.Store, "sqlite:")
			if !ok {
				return nil, fmt.Errorf("store %q: the test function opens sqlite:PATH only", cfg.Store)
			}
			return sqlite.Open(path, sqlite.WithReadConns(1))
		})
	default:
		return false
	}
	return true
}

func faultInit() {
	ctl := ""
	if f := os.Getenv(envControl); f != "" {
		b, _ := os.ReadFile(f)
		ctl = strings.TrimSpace(string(b))
	}
	switch {
	case ctl == "fail":
		function.ReportInitError(os.Getenv("AWS_LAMBDA_RUNTIME_API"), "Function.TestInitFailure", errors.New("the test asked init to fail"))
		os.Exit(1)
	case ctl == "exit":
		os.Exit(3)
	case ctl == "hang":
		select {}
	case strings.HasPrefix(ctl, "spin:"):
		n, _ := strconv.Atoi(strings.TrimPrefix(ctl, "spin:"))
		buf := make([]byte, 4096)
		for i := 0; i < n; i++ {
			sum := sha256.Sum256(buf)
			buf[i%len(buf)] ^= sum[0]
		}
	case strings.HasPrefix(ctl, "sleep:"):
		ms, _ := strconv.Atoi(strings.TrimPrefix(ctl, "sleep:"))
		time.Sleep(time.Duration(ms) * time.Millisecond)
	}
}

// faultFunction answers REST API events (and direct invocations with
// {"path", "queryStringParameters"}) by path:
//
//	/echo          the invocation's facts: pid, environment, Lambda context
//	/sleep?ms=N    the same after N ms
//	/cpu?n=N       N rounds of SHA-256 over 4 KB, then its own run time
//	/alloc?mb=N    allocate and touch N MB, then echo
//	/crash         exit 2 at once
//	/hang          never answer
//	/error         a function error
//	/bad           a response that is not a proxy response
//	/print?n=N     print N lines of about 1 KB, "line I of REQUEST-ID", then echo
//	/bare          a proxy response without headers
type faultFunction struct{ start time.Time }

type faultEvent struct {
	HTTPMethod     string            `json:"httpMethod"`
	Path           string            `json:"path"`
	Resource       string            `json:"resource"`
	PathParameters map[string]string `json:"pathParameters"`
	Query          map[string]string `json:"queryStringParameters"`
	RequestContext struct {
		RequestID  string         `json:"requestId"`
		Stage      string         `json:"stage"`
		Authorizer map[string]any `json:"authorizer"`
	} `json:"requestContext"`
}

// echo is what /echo answers.
type echo struct {
	PID       int               `json:"pid"`
	Env       map[string]string `json:"env"`
	RequestID string            `json:"requestId"`
	ARN       string            `json:"arn"`
	Deadline  int64             `json:"deadlineMs"`
	Trace     string            `json:"trace"`
	Path      string            `json:"path"`
	Elapsed   float64           `json:"elapsedMs,omitempty"`
	// Of a REST API event.
	Resource       string            `json:"resource,omitempty"`
	PathParameters map[string]string `json:"pathParameters,omitempty"`
	Tenant         any               `json:"tenant,omitempty"`
	GatewayID      string            `json:"gatewayRequestId,omitempty"`
	Stage          string            `json:"stage,omitempty"`
}

var keep [][]byte

func (f faultFunction) Invoke(ctx context.Context, payload []byte) ([]byte, error) {
	var ev faultEvent
	if err := json.Unmarshal(payload, &ev); err != nil {
		return nil, err
	}
	out := echo{PID: os.Getpid(), Path: ev.Path, Env: map[string]string{}, Resource: ev.Resource,
		PathParameters: ev.PathParameters, Tenant: ev.RequestContext.Authorizer["tenant"],
		GatewayID: ev.RequestContext.RequestID, Stage: ev.RequestContext.Stage}
	for _, k := range []string{"AWS_LAMBDA_RUNTIME_API", "AWS_LAMBDA_FUNCTION_NAME", "AWS_LAMBDA_FUNCTION_MEMORY_SIZE",
		"AWS_LAMBDA_FUNCTION_VERSION", "_HANDLER", "AWS_REGION", "LAMBDA_TASK_ROOT", "TZ",
		"AWS_LAMBDA_INITIALIZATION_TYPE", "AWS_LAMBDA_LOG_GROUP_NAME", "AWS_LAMBDA_LOG_STREAM_NAME", "HOME", "EXTRA"} {
		if v, ok := os.LookupEnv(k); ok {
			out.Env[k] = v
		}
	}
	if lc, ok := lambdacontext.FromContext(ctx); ok {
		out.RequestID, out.ARN = lc.AwsRequestID, lc.InvokedFunctionArn
	}
	if d, ok := ctx.Deadline(); ok {
		out.Deadline = d.UnixMilli()
	}
	out.Trace, _ = ctx.Value("x-amzn-trace-id").(string)
	n, _ := strconv.Atoi(ev.Query["n"])
	switch ev.Path {
	case "/sleep":
		ms, _ := strconv.Atoi(ev.Query["ms"])
		time.Sleep(time.Duration(ms) * time.Millisecond)
	case "/cpu":
		start := time.Now()
		buf := make([]byte, 4096)
		for i := 0; i < n; i++ {
			sum := sha256.Sum256(buf)
			buf[i%len(buf)] ^= sum[0]
		}
		out.Elapsed = float64(time.Since(start).Microseconds()) / 1000
	case "/alloc":
		mb, _ := strconv.Atoi(ev.Query["mb"])
		for i := 0; i < mb; i++ {
			b := make([]byte, 1<<20)
			for j := 0; j < len(b); j += 4096 {
				b[j] = 1
			}
			keep = append(keep, b)
		}
	case "/crash":
		os.Exit(2)
	case "/hang":
		select {}
	case "/error":
		return nil, errors.New("the test asked for a function error")
	case "/bad":
		return []byte(`"not a proxy response"`), nil
	case "/print":
		pad := strings.Repeat("x", 1000)
		for i := 1; i <= n; i++ {
			fmt.Printf("line %d of %s %s\n", i, out.RequestID, pad)
		}
	case "/bare":
		return []byte(`{"statusCode":200,"body":"{\"bare\":true}"}`), nil
	}
	body, _ := json.Marshal(out)
	if ev.HTTPMethod == "" {
		return body, nil
	}
	return json.Marshal(map[string]any{
		"statusCode": 200,
		"headers": map[string]string{"Content-Type": "application/json", "Server-Timing": "store;dur=1.25, rcu;desc=0.5, total;dur=2.50",
			"X-Pid": strconv.Itoa(os.Getpid())},
		"body": string(body),
	})
}
