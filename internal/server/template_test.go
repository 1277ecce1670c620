package server_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/peterbourgon/ff/v4"
	"go.yaml.in/yaml/v3"

	"github.com/surgehq/surge/internal/cli"
	"github.com/surgehq/surge/internal/local/lambda"
	"github.com/surgehq/surge/internal/local/lambda/runtimes"
	"github.com/surgehq/surge/internal/server"
)

// logLines is a LogSink that keeps the functions' log lines.
type logLines struct {
	mu    sync.Mutex
	lines []string
}

func (l *logLines) Line(function, _ string, line []byte) {
	l.mu.Lock()
	l.lines = append(l.lines, function+" | "+string(line))
	l.mu.Unlock()
}

func (l *logLines) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return strings.Join(l.lines, "\n")
}

// waitFor waits, a bounded time, until the log matches re: the REPORT
// of an invocation is written after its answer.
func (l *logLines) waitFor(t *testing.T, re *regexp.Regexp) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !re.MatchString(l.String()) {
		if time.Now().After(deadline) {
			t.Fatalf("the functions' log has no match for %s:\n%s", re, l)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// need skips t where what a template's functions run on is missing: node
// (for dynalite and Node.js functions), a Python that imports boto3; or
// fails it where the SURGE_REQUIRE_ variable says these tests must run.
func need(t *testing.T, runtime string) {
	t.Helper()
	if testing.Short() {
		t.Skip("starts dynalite and function processes")
	}
	skip := func(env string, err error) {
		msg := fmt.Sprintf("SKIP: %v (scripts/setup installs it); set %s=1 to make this a failure", err, env)
		if os.Getenv(env) == "1" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	if _, err := exec.LookPath("node"); err != nil {
		skip("SURGE_REQUIRE_DYNALITE", errors.New("node is not installed: the templates' tables run in dynalite"))
	}
	if strings.HasPrefix(runtime, "python") {
		dir := t.TempDir()
		if _, err := runtimes.Resolve(context.Background(), runtimes.Function{Runtime: runtime, Handler: "app.handler", CodeDir: dir},
			runtimes.Options{PythonModules: []string{"boto3"}}); err != nil {
			skip("SURGE_REQUIRE_PYTHON", err)
		}
	}
	if strings.HasPrefix(runtime, "nodejs") {
		if _, err := os.Stat("../../examples/node-crud/node_modules/@aws-sdk/lib-dynamodb"); err != nil {
			skip("SURGE_REQUIRE_NODE", errors.New("the Node.js example's AWS SDK is not installed (npm ci in examples/node-crud)"))
		}
	}
}

// startTemplate runs the template at path (relative to the repository's
// root) with the changes of adjust, the functions' logs into the
// returned sink.
func startTemplate(t *testing.T, path string, adjust func(*server.Config)) (*running, *logLines) {
	t.Helper()
	logs := &logLines{}
	abs, err := filepath.Abs(filepath.Join("..", "..", path))
	if err != nil {
		t.Fatal(err)
	}
	p := start(t, func(c *server.Config) {
		c.Template.Path = abs
		c.FunctionLogs = logs
		c.AccessLog = false
		// Inits on a vCPU: boto3's import at a 256 MB share (0.145 vCPU)
		// passes Lambda's 10 s init limit on a machine whose cores other
		// tests are using, which these tests are not about.
		c.Functions.InitCPU = 1
		if adjust != nil {
			adjust(c)
		}
	})
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("functions' log:\n%s", logs)
		}
	})
	return p, logs
}

// pools returns the server's pools by function name.
func pools(s *server.Server) map[string]*lambda.Pool {
	out := map[string]*lambda.Pool{}
	for _, p := range s.Pools() {
		out[p.Name()] = p
	}
	return out
}

// TestTemplateExamples runs the article's application, examples/python-crud
// and examples/node-crud, from their SAM templates: a pool per function,
// the provisioned concurrency of the create and read routes only, the
// API's cache and throttle on the gateway, the table in dynalite, each
// function's log as Lambda writes it, and its metrics.
func TestTemplateExamples(t *testing.T) {
	for _, ex := range []struct{ name, runtime string }{
		{"python-crud", "python3.12"},
		{"node-crud", "nodejs22.x"},
	} {
		t.Run(ex.name, func(t *testing.T) {
			need(t, ex.runtime)
			p, logs := startTemplate(t, "examples/"+ex.name+"/template.yaml", func(c *server.Config) {
				c.Template.Parameters = []string{"ProvisionedConcurrency=2 MemorySize=256"}
			})
			s := p.s

			// A pool per function; provisioned concurrency on create and
			// read only, as the template sets it.
			ps := pools(s)
			if len(ps) != 6 {
				t.Fatalf("got %d pools, want the template's six functions", len(ps))
			}
			for name, pool := range ps {
				want := 0
				if name == "CreateItemFunction" || name == "GetItemFunction" {
					want = 2
				}
				st, cfg := pool.Stats(), pool.Config()
				if st.Provisioned != want || cfg.MemoryMB != 256 || cfg.Timeout != 10*time.Second {
					t.Errorf("%s: provisioned %d, memory %d MB, timeout %v; want %d, 256 MB, 10s", name, st.Provisioned, cfg.MemoryMB, cfg.Timeout, want)
				}
			}

			// The routes, through the gateway to their functions.
			code, h, body := do(t, "POST", p.base+"/items", map[string]any{"name": "lamp", "price": 12.5})
			if code != 201 || h.Get("Content-Type") != "application/json" {
				t.Fatalf("create: %d %v %s", code, h, body)
			}
			var item struct{ ID string }
			json.Unmarshal(body, &item)
			code, h, _ = do(t, "GET", p.base+"/items/"+item.ID, nil)
			if code != 200 || h.Get("X-Cache") != "Miss" {
				t.Errorf("read: %d, X-Cache %q; want 200, a miss", code, h.Get("X-Cache"))
			}
			code, h, _ = do(t, "GET", p.base+"/items/"+item.ID, nil)
			if code != 200 || h.Get("X-Cache") != "Hit" {
				t.Errorf("read again: %d, X-Cache %q; want 200 from the API's cache", code, h.Get("X-Cache"))
			}
			code, _, body = do(t, "GET", p.base+"/items?limit=10", nil)
			if code != 200 || !strings.Contains(string(body), item.ID) {
				t.Errorf("list: %d %s", code, body)
			}
			code, _, body = do(t, "POST", p.base+"/DynamoDBManager", map[string]any{"operation": "read", "tableName": "items",
				"payload": map[string]any{"Key": map[string]any{"id": item.ID}}})
			if code != 200 || !strings.Contains(string(body), `"lamp"`) {
				t.Errorf("dispatcher: %d %s", code, body)
			}
			// What no route of the template serves, the gateway answers.
			if code, h, _ := do(t, "PATCH", p.base+"/items/"+item.ID, map[string]any{}); code != 405 || !strings.Contains(h.Get("Allow"), "PUT") {
				t.Errorf("PATCH: %d, Allow %q; want 405 with the resource's methods", code, h.Get("Allow"))
			}
			if code, _, _ := do(t, "GET", p.base+"/nowhere", nil); code != 404 {
				t.Errorf("GET /nowhere: %d, want 404", code)
			}

			// Each function's log, as Lambda writes it: START, END, REPORT;
			// the list function's first invocation was a cold start.
			logs.waitFor(t, regexp.MustCompile(`(?m)^ListItemsFunction \| REPORT RequestId: \S+\tDuration: [\d.]+ ms\tBilled Duration: \d+ ms\tMemory Size: 256 MB\tMax Memory Used: [1-9]\d* MB\tInit Duration: [\d.]+ ms`))
			logs.waitFor(t, regexp.MustCompile(`(?m)^CreateItemFunction \| START RequestId: \S+ Version: \$LATEST\nCreateItemFunction \| END RequestId: \S+\nCreateItemFunction \| REPORT RequestId: `))

			// Per function in /metrics.
			_, _, metrics := do(t, "GET", p.admin+"/metrics", nil)
			for _, want := range []string{
				`surge_lambda_billed_duration_seconds_count{function="ListItemsFunction"} 1`,
				`surge_lambda_max_memory_used_bytes_count{function="CreateItemFunction"} 1`,
				`surge_lambda_init_duration_seconds_count{function="GetItemFunction",initialization_type="provisioned-concurrency"} 2`,
				`surge_lambda_init_duration_seconds_count{function="ListItemsFunction",initialization_type="on-demand"} 1`,
				`surge_lambda_memory_size_bytes{function="DeleteItemFunction"} 2.68435456e+08`,
			} {
				if !strings.Contains(string(metrics), want) {
					t.Errorf("/metrics has no %s", want)
				}
			}

			// What the template uses that surge does not run is said at
			// start.
			for _, want := range []string{"template: not run locally as on AWS: Properties.Policies of CreateItemFunction, DeleteItemFunction",
				"Properties.Tracing of CreateItemFunction"} {
				if !strings.Contains(p.logs.String(), want) {
					t.Errorf("the server's log does not say %q", want)
				}
			}
		})
	}
}

// TestTemplateDeploy runs the project's own deploy/aws/template.yaml, its
// function (cmd/bootstrap) built for this machine in place of the arm64
// package: API keys that the template leaves to API Gateway made at
// start, each key its tenant; the cached reads keyed on the key; the
// rest of the API through the greedy resource; provisioned concurrency
// with its scheduled actions and target tracking.
func TestTemplateDeploy(t *testing.T) {
	need(t, "provided.al2023")
	dir := t.TempDir()
	build := exec.Command("go", "build", "-tags", "lambda.norpc", "-o", filepath.Join(dir, "bootstrap"), "../../cmd/bootstrap")
	build.Env = append(build.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("build bootstrap: %v\n%s", err, out)
	}
	p, logs := startTemplate(t, "deploy/aws/template.yaml", func(c *server.Config) {
		c.Template.Code = []string{"ItemsFunction=" + dir}
		c.Template.Parameters = []string{"ProvisionedConcurrency=1 BusinessHoursProvisionedConcurrency=1 MaxProvisionedConcurrency=4"}
	})
	key := p.s.TemplateKeys()["ApiKey"]
	if len(key) < 20 {
		t.Fatalf("no API key made for the template's ApiKey: %v", p.s.TemplateKeys())
	}
	if code, _, _ := do(t, "GET", p.base+"/items", nil); code != 401 && code != 403 {
		t.Errorf("without a key: %d, want 401 or 403", code)
	}
	code, _, body := do(t, "POST", p.base+"/items", map[string]any{"id": "d1", "n": 1}, "x-api-key", key)
	if code != 201 {
		t.Fatalf("create: %d %s", code, body)
	}
	if code, h, _ := do(t, "GET", p.base+"/items/d1", nil, "x-api-key", key); code != 200 || h.Get("X-Cache") != "Miss" {
		t.Errorf("read: %d %q", code, h.Get("X-Cache"))
	}
	if code, h, _ := do(t, "GET", p.base+"/items/d1", nil, "x-api-key", key); code != 200 || h.Get("X-Cache") != "Hit" {
		t.Errorf("read again: %d %q, want a hit", code, h.Get("X-Cache"))
	}
	// PATCH, /healthz: the ANY and greedy resources reach the function.
	if code, _, body := do(t, "PATCH", p.base+"/items/d1", map[string]any{"n": 2}, "x-api-key", key, "Content-Type", "application/merge-patch+json"); code != 200 || !strings.Contains(string(body), `"n":2`) {
		t.Errorf("PATCH: %d %s", code, body)
	}
	if code, _, _ := do(t, "GET", p.base+"/healthz", nil, "x-api-key", key); code != 200 {
		t.Errorf("/healthz: %d", code)
	}
	// The key is the tenant (SURGE_TENANT_FROM_API_KEY, and the
	// gateway's own tenant): the dispatcher sees the item as that tenant's.
	code, _, body = do(t, "POST", p.base+"/ops", map[string]any{"operation": "read", "tableName": "aws-ItemsTable",
		"payload": map[string]any{"Key": map[string]any{"id": "d1"}}}, "x-api-key", key)
	if code != 200 || !strings.Contains(string(body), `"d1"`) {
		t.Errorf("/ops read: %d %s", code, body)
	}
	pool := pools(p.s)["ItemsFunction"]
	cfg := pool.Config()
	if cfg.Provisioned != 1 || cfg.MaxProvisioned != 4 || cfg.TargetUtilization != 0.7 || len(cfg.Schedule) != 2 {
		t.Errorf("provisioned %d..%d, target %v, %d scheduled actions; want 1..4, 0.7, 2", cfg.Provisioned, cfg.MaxProvisioned, cfg.TargetUtilization, len(cfg.Schedule))
	}
	tb := p.s.TemplateApp().Tables[0]
	if tb.ReadScaling == nil || tb.ReadScaling.Max != 400 || tb.WriteScaling == nil || tb.WriteScaling.Target != 0.7 {
		t.Errorf("table scaling %+v %+v", tb.ReadScaling, tb.WriteScaling)
	}
	for _, want := range []string{"Dashboard: AWS::CloudWatch::Dashboard is not run locally", "Properties.Policies of ItemsFunction"} {
		if !strings.Contains(p.logs.String(), want) {
			t.Errorf("the server's log does not say %q", want)
		}
	}
	logs.waitFor(t, regexp.MustCompile(`(?m)^ItemsFunction \| REPORT RequestId: `))
}

// TestTemplatePublicApps runs two public SAM applications unchanged
// (internal/local/sam/testdata/serverless-patterns): a Python function
// behind SAM's implicit REST API writing to a SimpleTable with boto3
// (which reaches the local table through AWS_ENDPOINT_URL_DYNAMODB), and
// an inline Python function behind the implicit HTTP API.
func TestTemplatePublicApps(t *testing.T) {
	need(t, "python3.14")
	t.Run("apigw-lambda-dynamodb", func(t *testing.T) {
		p, _ := startTemplate(t, "internal/local/sam/testdata/serverless-patterns/apigw-lambda-dynamodb/template.yaml", nil)
		code, _, body := do(t, "POST", p.base+"/", map[string]any{})
		if code != 200 || string(body) != "Successfully inserted data!" {
			t.Fatalf("POST /: %d %s", code, body)
		}
		client := dynamoClient(t, p.s.TemplateDynamoDBEndpoint(), p.s.TemplateDynamoDBSecret())
		out, err := client.GetItem(context.Background(), &dynamodb.GetItemInput{TableName: aws.String("WeatherData"),
			Key: map[string]types.AttributeValue{"id": &types.AttributeValueMemberS{Value: "1"}}})
		if err != nil {
			t.Fatal(err)
		}
		if w, ok := out.Item["Weather"].(*types.AttributeValueMemberS); !ok || w.Value != "Sunny" {
			t.Errorf("the function's item: %v", out.Item)
		}
		if code, _, _ := do(t, "GET", p.base+"/", nil); code != 405 {
			t.Errorf("GET /: %d, want 405 (only POST has a route)", code)
		}
	})
	t.Run("apigw-http-api-lambda-python", func(t *testing.T) {
		p, _ := startTemplate(t, "internal/local/sam/testdata/serverless-patterns/apigw-http-api-lambda-python/template.yaml", nil)
		for _, path := range []string{"/", "/any/path?x=1"} {
			code, h, body := do(t, "GET", p.base+path, nil)
			if code != 200 || string(body) != "Hello World! This is the HTTP API" || h.Get("Content-Type") != "application/json" {
				t.Errorf("GET %s: %d %v %s", path, code, h, body)
			}
		}
	})
}

// dynamoClient is a DynamoDB client of a local endpoint.
func dynamoClient(t *testing.T, endpoint, secret string) *dynamodb.Client {
	t.Helper()
	if endpoint == "" {
		t.Fatal("no DynamoDB endpoint")
	}
	return dynamodb.New(dynamodb.Options{Region: "us-east-1", BaseEndpoint: aws.String(endpoint),
		Credentials: credentials.NewStaticCredentialsProvider("surgelocal", secret, "")})
}

// TestFunctionRuntime runs one function of another runtime behind the
// gateway from the --function-* flags: a Python function serves every
// route of the API, with its own environment and log.
func TestFunctionRuntime(t *testing.T) {
	need(t, "python3.12")
	logs := &logLines{}
	p := start(t, func(c *server.Config) {
		c.Functions.Enabled = true
		c.Functions.Runtime, c.Functions.Handler, c.Functions.Code = "python3.12", "app.handler", "testdata/hello"
		c.Functions.Name, c.Functions.MemoryMB, c.Functions.Env = "hello", 256, []string{"GREETING=hi"}
		c.FunctionLogs = logs
	})
	code, _, body := do(t, "GET", p.base+"/items/abc", nil)
	var got map[string]any
	json.Unmarshal(body, &got)
	if code != 200 || got["resource"] != "/items/{id}" || got["greeting"] != "hi" || got["memory"] != "256" {
		t.Errorf("got %d %s", code, body)
	}
	logs.waitFor(t, regexp.MustCompile(`(?m)^hello \| START RequestId: (\S+) Version: \$LATEST\nhello \| hello from hello\nhello \| END RequestId: \S+\nhello \| REPORT RequestId: \S+\tDuration: `))
}

// TestLabPythonProfile runs the lab's profile of the article's Python
// system (examples/lab/python.yaml): its serve: section, a `surge serve`
// configuration, binds onto server.Config as `surge serve --config` binds
// it, and runs the template at the article's starting point: 128 MB on
// demand, no API cache, no stage throttle.
func TestLabPythonProfile(t *testing.T) {
	need(t, "python3.12")
	data, err := os.ReadFile("../../examples/lab/python.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var profile struct {
		Name     string    `yaml:"name"`
		Serve    yaml.Node `yaml:"serve"`
		Requires []string  `yaml:"requires"`
	}
	if err := yaml.Unmarshal(data, &profile); err != nil {
		t.Fatal(err)
	}
	serve, err := yaml.Marshal(&profile.Serve)
	if err != nil {
		t.Fatal(err)
	}
	logs := &logLines{}
	p := start(t, func(c *server.Config) {
		fs := ff.NewFlagSet("serve")
		if err := cli.Bind(fs, c); err != nil {
			t.Fatal(err)
		}
		if err := cli.ApplyYAML(fs, bytes.NewReader(serve)); err != nil {
			t.Fatalf("the profile's serve: section: %v", err)
		}
		c.Template.Path = filepath.Join("..", "..", c.Template.Path) // relative to the repository's root
		c.FunctionLogs = logs
	})
	if profile.Name != "python" || !slices.Contains(profile.Requires, "template") {
		t.Errorf("name %q, requires %v", profile.Name, profile.Requires)
	}
	for _, pool := range p.s.Pools() {
		if st, cfg := pool.Stats(), pool.Config(); st.Provisioned != 0 || cfg.MemoryMB != 128 || cfg.IdleTimeout != 5*time.Second {
			t.Errorf("%s: provisioned %d, %d MB, idle timeout %v", pool.Name(), st.Provisioned, cfg.MemoryMB, cfg.IdleTimeout)
		}
	}
	code, h, body := do(t, "POST", p.base+"/items", map[string]any{"n": 1})
	if code != 201 || h.Get("X-Cold-Start") != "true" {
		t.Fatalf("create: %d %v %s", code, h, body)
	}
	if code, h, _ := do(t, "GET", p.base+"/items", nil); code != 200 || h.Get("X-Cache") != "" {
		t.Errorf("list: %d, X-Cache %q: no API cache at the starting point", code, h.Get("X-Cache"))
	}
	logs.waitFor(t, regexp.MustCompile(`(?m)^CreateItemFunction \| REPORT RequestId: \S+\t.*\tMemory Size: 128 MB\t.*\tInit Duration: `))
}

// TestProvisionedInitFailureFailsStart checks that a function whose
// provisioned instances cannot initialise fails the server's start once
// its init has failed again after a retry, saying why, rather than after
// the 130 s a provisioned init may take.
func TestProvisionedInitFailureFailsStart(t *testing.T) {
	need(t, "python3.12")
	cfg := server.DefaultConfig()
	cfg.Addr, cfg.AdminAddr, cfg.Data = "127.0.0.1:0", "", t.TempDir()
	logs := &logLines{}
	cfg.Log, cfg.FunctionLogs = slog.New(slog.NewTextHandler(io.Discard, nil)), logs
	cfg.Functions.Enabled = true
	cfg.Functions.Runtime, cfg.Functions.Handler, cfg.Functions.Code = "python3.12", "nope.handler", "testdata/hello"
	cfg.Functions.Name, cfg.Functions.Provisioned = "broken", 1
	began := time.Now()
	s, err := server.New(context.Background(), cfg)
	if err == nil {
		s.Close()
		t.Fatal("the server started with a function whose init fails")
	}
	if msg := err.Error(); !strings.Contains(msg, "function broken: provisioned concurrency: 2 inits failed in a row") {
		t.Errorf("got %v", err)
	}
	if took := time.Since(began); took > time.Minute {
		t.Errorf("took %v to fail", took)
	}
}
