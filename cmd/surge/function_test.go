package main

import (
	"bytes"
	"context"
	"io"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	awslambda "github.com/aws/aws-sdk-go-v2/service/lambda"
)

// functionArgs run `surge serve --functions` with this test binary as the
// function program (TestMain runs main for SURGE_TEST_MAIN=1) and no
// cgroup limits, which tests of the pool itself cover.
var functionArgs = []string{"--functions", "--function-env", "SURGE_TEST_MAIN=1", "--function-limits", "off"}

func TestServeFunctions(t *testing.T) {
	if testing.Short() {
		t.Skip("starts function processes")
	}
	p := startInProcess(t, append(functionArgs, "--function-provisioned", "1", "--function-name", "items-fn")...)

	// The provisioned instance was ready before the listener: no cold start.
	code, h, body := do(t, "POST", p.base+"/items", map[string]any{"id": "f1", "name": "through a function"})
	if code != 201 || h.Get("X-Cold-Start") != "" || !strings.Contains(h.Get("Server-Timing"), "store;dur=") ||
		!strings.Contains(h.Get("Server-Timing"), "lambda;dur=") || h.Get("X-Request-Id") == "" {
		t.Fatalf("create: got %d %v %s", code, h, body)
	}
	if code, _, body = do(t, "GET", p.base+"/items/f1", nil); code != 200 || !strings.Contains(string(body), "through a function") {
		t.Errorf("read: got %d %s", code, body)
	}
	if code, _, _ = do(t, "GET", p.base+"/items/nope", nil); code != 404 {
		t.Errorf("missing: got %d", code)
	}

	// Lambda's Invoke API on its own listener, with the seed's event,
	// signed with the run's token as the secret key.
	c := awslambda.New(awslambda.Options{Region: "us-east-1", BaseEndpoint: aws.String(p.invoke),
		Credentials: credentials.NewStaticCredentialsProvider("surge", p.invokeToken, ""), RetryMaxAttempts: 1})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	out, err := c.Invoke(ctx, &awslambda.InvokeInput{FunctionName: aws.String("items-fn"),
		Payload: []byte(`{"operation":"read","tableName":"items","payload":{"Key":{"id":"f1"}}}`)})
	if err != nil {
		t.Errorf("direct invocation: %v", err)
	} else if aws.ToString(out.ExecutedVersion) != "$LATEST" || !strings.Contains(string(out.Payload), `through a function`) {
		t.Errorf("direct invocation: got %s", out.Payload)
	}

	_, _, metrics := do(t, "GET", p.admin+"/metrics", nil)
	for _, want := range []string{
		`surge_lambda_invocations_total{function="items-fn"} 4`,
		`surge_lambda_provisioned_concurrency{function="items-fn"} 1`,
		`surge_lambda_instances{function="items-fn",initialization_type="provisioned-concurrency",state="idle"} 1`,
		`surge_lambda_init_duration_seconds_count{function="items-fn",initialization_type="provisioned-concurrency"} 1`,
		`surge_lambda_concurrent_executions{function="items-fn"} 0`,
		`surge_http_requests_total{code="2xx",route="POST /items"} 1`,
	} {
		if !bytes.Contains(metrics, []byte(want)) {
			t.Errorf("/metrics lacks %q", want)
		}
	}
	if code := p.stop(t); code != 0 {
		t.Errorf("exit code %d", code)
	}
}

// With the read cache on, the function instances read and write through
// the one cache that surge serves them, as Lambda functions share a DAX
// cluster: a write through an instance fills it, and reads are hits.
func TestServeFunctionsShareTheReadCache(t *testing.T) {
	if testing.Short() {
		t.Skip("starts function processes")
	}
	p := startInProcess(t, append(functionArgs, "--read-cache-enabled")...)
	p.waitLog(t, "read cache shared by the function instances")
	if code, _, body := do(t, "POST", p.base+"/items", map[string]any{"id": "dax1", "name": "cached"}); code != 201 {
		t.Fatalf("create: got %d %s", code, body)
	}
	for range 2 {
		if code, _, body := do(t, "GET", p.base+"/items/dax1", nil); code != 200 || !strings.Contains(string(body), `"name":"cached"`) {
			t.Fatalf("read: got %d %s", code, body)
		}
	}
	_, _, metrics := do(t, "GET", p.admin+"/metrics", nil)
	hits := -1.0
	for _, line := range strings.Split(string(metrics), "\n") {
		if v, ok := strings.CutPrefix(line, `surge_readcache_lookups_total{cache="item",result="hit"} `); ok {
			hits, _ = strconv.ParseFloat(v, 64)
		}
	}
	if hits < 2 {
		t.Errorf("item cache hits %v, want the instances' two reads", hits)
	}
	if code := p.stop(t); code != 0 {
		t.Errorf("exit code %d", code)
	}
}

func TestServeFunctionsRefusesAMemoryStore(t *testing.T) {
	var errOut bytes.Buffer
	code := run(context.Background(), append([]string{"serve", "--addr", "127.0.0.1:0", "--admin-addr", "", "--store", "mem:"},
		functionArgs...), io.Discard, &errOut)
	if code == 0 || !strings.Contains(errOut.String(), "memory store cannot be shared") {
		t.Errorf("got exit %d: %s", code, errOut.String())
	}
}

func TestFunctionFlags(t *testing.T) {
	var out bytes.Buffer
	run(context.Background(), []string{"serve", "--help"}, io.Discard, &out)
	for _, want := range []string{"--functions", "--function-memory INT", "(default: 512)", "--function-reserved-concurrency",
		"--function-provisioned", "--function-schedule", "--function-target-utilization", "--function-idle-timeout",
		"--function-start-rate", "--function-limits", "--function-integration-timeout", "SURGE_FUNCTION_MEMORY"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("serve --help lacks %q", want)
		}
	}
}
