package function

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"reflect"
	"strings"
	"testing"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambdacontext"

	"github.com/surgehq/surge/internal/store/memstore"
	"github.com/surgehq/surge/internal/testkit/syncbuf"
)

// newTestFunction returns the function over a memory store, configured by
// env, and its log.
func newTestFunction(t testing.TB, env map[string]string) (*Function, *syncbuf.Buffer) {
	t.Helper()
	cfg, err := LoadConfig(func(k string) string { return env[k] })
	if err != nil {
		t.Fatal(err)
	}
	logs := &syncbuf.Buffer{}
	return New(cfg, memstore.New(), NewLogger(logs, slog.LevelDebug)), logs
}

// fixture reads testdata/name, with each ${NAME} replaced by vars[NAME]
// escaped for a JSON string.
func fixture(t *testing.T, name string, vars map[string]string) []byte {
	t.Helper()
	b, err := os.ReadFile("testdata/" + name)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range vars {
		q, _ := json.Marshal(v)
		b = bytes.ReplaceAll(b, []byte("${"+k+"}"), q[1:len(q)-1])
	}
	if i := bytes.Index(b, []byte("${")); i >= 0 {
		t.Fatalf("%s: unreplaced variable at %q", name, b[i:min(len(b), i+20)])
	}
	return b
}

var invocations int

// invoke runs one invocation as the runtime would, with a Lambda context.
func invoke(t *testing.T, f *Function, payload []byte) []byte {
	t.Helper()
	invocations++
	ctx := lambdacontext.NewContext(context.Background(), &lambdacontext.LambdaContext{
		AwsRequestID: "aws-req-" + strings.Repeat("0", 3) + string(rune('a'+invocations%26))})
	out, err := f.Invoke(ctx, payload)
	if err != nil {
		t.Fatalf("invoke: %v", err)
	}
	return out
}

func invokeV1(t *testing.T, f *Function, name string, vars map[string]string) *events.APIGatewayProxyResponse {
	t.Helper()
	var resp events.APIGatewayProxyResponse
	out := invoke(t, f, fixture(t, name, vars))
	if err := json.Unmarshal(out, &resp); err != nil {
		t.Fatalf("%s: response %s: %v", name, out, err)
	}
	return &resp
}

func invokeV2(t *testing.T, f *Function, name string) (*events.APIGatewayV2HTTPResponse, []byte) {
	t.Helper()
	var resp events.APIGatewayV2HTTPResponse
	out := invoke(t, f, fixture(t, name, nil))
	if err := json.Unmarshal(out, &resp); err != nil {
		t.Fatalf("%s: response %s: %v", name, out, err)
	}
	return &resp, out
}

func decodeJSON(t *testing.T, body string) map[string]any {
	t.Helper()
	var m map[string]any
	d := json.NewDecoder(strings.NewReader(body))
	d.UseNumber()
	if err := d.Decode(&m); err != nil {
		t.Fatalf("body %q: %v", body, err)
	}
	return m
}

// TestFixtures walks the API through the event fixtures in the shapes AWS
// sends, in order, against one store.
func TestFixtures(t *testing.T) {
	f, logs := newTestFunction(t, nil)

	// The first invocation is a cold start, and says so once.
	created := invokeV1(t, f, "v1-post-items.json", nil)
	if created.StatusCode != 201 {
		t.Fatalf("create: got %d %s", created.StatusCode, created.Body)
	}
	h := created.Headers
	if h["Location"] != "/items/fx-1" || h["Content-Type"] != "application/json" || h["Etag"] == "" ||
		h["X-Request-Id"] != "client-req-1" || h["X-Cold-Start"] != "true" || !strings.Contains(h["Server-Timing"], "total;dur=") {
		t.Errorf("create: got headers %v", h)
	}
	if created.MultiValueHeaders != nil || created.IsBase64Encoded {
		t.Errorf("create: got multi-value headers %v, base64 %v", created.MultiValueHeaders, created.IsBase64Encoded)
	}
	item := decodeJSON(t, created.Body)
	if item["id"] != "fx-1" || item["price"] != json.Number("12.5") || item["big"] != json.Number("12345678901234567890") || item["version"] != json.Number("1") {
		t.Errorf("create: got %s", created.Body)
	}
	etag := h["Etag"]

	b64 := invokeV1(t, f, "v1-post-items-base64.json", nil)
	if b64.StatusCode != 201 || decodeJSON(t, b64.Body)["note"] != "café" {
		t.Errorf("create from a base64 body: got %d %s", b64.StatusCode, b64.Body)
	}
	if _, ok := b64.Headers["X-Cold-Start"]; ok {
		t.Error("a warm invocation says X-Cold-Start")
	}
	// API Gateway's request id is the request id when the client sent none.
	if id := b64.Headers["X-Request-Id"]; id != "c6af9ac6-7b61-11e6-9a41-93e8deadbe02" {
		t.Errorf("got X-Request-Id %q, want API Gateway's request id", id)
	}

	got := invokeV1(t, f, "v1-get-item.json", nil)
	if got.StatusCode != 200 || got.Headers["Etag"] != etag || got.Headers["Cache-Control"] != "no-cache" ||
		decodeJSON(t, got.Body)["name"] != "widget" {
		t.Errorf("get: got %d %v %s", got.StatusCode, got.Headers, got.Body)
	}

	// If-None-Match with two values, one of them current: 304, no body.
	nm := invokeV1(t, f, "v1-get-item-if-none-match.json", map[string]string{"ETAG": etag})
	if nm.StatusCode != 304 || nm.Body != "" || nm.Headers["Etag"] != etag {
		t.Errorf("if-none-match: got %d %v %q", nm.StatusCode, nm.Headers, nm.Body)
	}

	// Another tenant's authorizer: the item does not exist for it.
	other := invokeV1(t, f, "v1-get-item-other-tenant.json", nil)
	if other.StatusCode != 404 || decodeJSON(t, other.Body)["code"] != "not_found" {
		t.Errorf("other tenant: got %d %s", other.StatusCode, other.Body)
	}

	// A multi-value query: pages of one.
	page := invokeV1(t, f, "v1-list-items.json", nil)
	p := decodeJSON(t, page.Body)
	list, _ := p["items"].([]any)
	next, _ := p["next"].(string)
	if page.StatusCode != 200 || len(list) != 1 || next == "" || list[0].(map[string]any)["id"] != "fx-1" {
		t.Fatalf("list: got %d %s", page.StatusCode, page.Body)
	}
	page = invokeV1(t, f, "v1-list-items-next.json", map[string]string{"CURSOR": next})
	p = decodeJSON(t, page.Body)
	list, _ = p["items"].([]any)
	if page.StatusCode != 200 || len(list) != 1 || list[0].(map[string]any)["id"] != "fx-2" {
		t.Errorf("list, second page: got %d %s", page.StatusCode, page.Body)
	}

	patched := invokeV1(t, f, "v1-patch-item.json", map[string]string{"ETAG": etag})
	pm := decodeJSON(t, patched.Body)
	if _, ok := pm["price"]; patched.StatusCode != 200 || ok || pm["color"] != "red" || pm["version"] != json.Number("2") {
		t.Errorf("patch: got %d %s", patched.StatusCode, patched.Body)
	}
	stale := invokeV1(t, f, "v1-patch-item.json", map[string]string{"ETAG": etag})
	if stale.StatusCode != 412 {
		t.Errorf("patch with a stale If-Match: got %d %s", stale.StatusCode, stale.Body)
	}

	wrong := invokeV1(t, f, "v1-delete-items.json", nil)
	if wrong.StatusCode != 405 || wrong.Headers["Allow"] != "GET, HEAD, POST" {
		t.Errorf("DELETE /items: got %d %v", wrong.StatusCode, wrong.Headers)
	}

	// HTTP API: the stage in rawPath, cookies, a base64 body, a lambda
	// authorizer's tenant.
	v2c, raw := invokeV2(t, f, "v2-post-items-base64.json")
	if v2c.StatusCode != 201 || v2c.Headers["Location"] != "/items/fx-4" || v2c.Cookies != nil ||
		v2c.Headers["X-Request-Id"] != "JKJaXmPLvHcESHA25=" {
		t.Errorf("v2 create: got %s", raw)
	}
	v2l, raw := invokeV2(t, f, "v2-list-items.json")
	var ids []string
	if v2l.StatusCode == 200 {
		for _, it := range decodeJSON(t, v2l.Body)["items"].([]any) {
			ids = append(ids, it.(map[string]any)["id"].(string))
		}
	}
	if !reflect.DeepEqual(ids, []string{"fx-1", "fx-2", "fx-4"}) {
		t.Errorf("v2 list: got ids %v from %s", ids, raw)
	}
	// A multi-value query reaches the handler whole: two limits are
	// refused, where a gateway that kept one value would have listed.
	v2r, raw := invokeV2(t, f, "v2-list-items-repeated.json")
	if v2r.StatusCode != 400 || !strings.Contains(v2r.Body, "one integer") {
		t.Errorf("v2 list with two limits: got %s", raw)
	}
	v2m, raw := invokeV2(t, f, "v2-get-item-missing.json")
	if v2m.StatusCode != 404 || v2m.Headers["Content-Type"] != "application/json" || !bytes.Contains(raw, []byte(`"cookies":null`)) {
		t.Errorf("v2 missing: got %s", raw)
	}

	// Function URL: no authorizer, so the default tenant.
	var fu events.LambdaFunctionURLResponse
	out := invoke(t, f, fixture(t, "function-url-post-items.json", nil))
	if err := json.Unmarshal(out, &fu); err != nil || fu.StatusCode != 201 {
		t.Errorf("function URL create: got %s (%v)", out, err)
	}
	out = invoke(t, f, fixture(t, "function-url-get-item.json", nil))
	fu = events.LambdaFunctionURLResponse{}
	if err := json.Unmarshal(out, &fu); err != nil || fu.StatusCode != 200 || decodeJSON(t, fu.Body)["n"] != json.Number("1.5") {
		t.Errorf("function URL get: got %s (%v)", out, err)
	}
	if bytes.Contains(out, []byte("multiValueHeaders")) {
		t.Errorf("function URL response has v1 fields: %s", out)
	}

	deleted := invokeV1(t, f, "v1-delete-item.json", nil)
	if deleted.StatusCode != 204 || deleted.Body != "" {
		t.Errorf("delete: got %d %q", deleted.StatusCode, deleted.Body)
	}
	if again := invokeV1(t, f, "v1-get-item.json", nil); again.StatusCode != 404 {
		t.Errorf("get after delete: got %d", again.StatusCode)
	}

	// One log line per request, JSON, with the AWS request id.
	lines := strings.Split(strings.TrimSpace(logs.String()), "\n")
	requests := 0
	for _, l := range lines {
		var m map[string]any
		if err := json.Unmarshal([]byte(l), &m); err != nil {
			t.Fatalf("log line %q is not JSON: %v", l, err)
		}
		if m["msg"] == "request" {
			requests++
			if id, _ := m["aws_request_id"].(string); !strings.HasPrefix(id, "aws-req-") || m["route"] == nil || m["status"] == nil {
				t.Errorf("log line without the request's facts: %s", l)
			}
		}
	}
	if requests != 18 {
		t.Errorf("got %d request log lines, want 18:\n%s", requests, logs)
	}
}

func TestDirect(t *testing.T) {
	f, _ := newTestFunction(t, nil)
	cases := []struct{ fixture, want string }{
		{"direct-ping.json", `{"statusCode": 200, "headers": {"Content-Type": "application/json", "Access-Control-Allow-Origin": "*"}, "body": "\"pong\""}`},
		{"direct-create.json", `{"statusCode": 200, "headers": {"Content-Type": "application/json", "Access-Control-Allow-Origin": "*"}, "body": "{}"}`},
		{"direct-unknown.json", `{"statusCode": 400, "body": "{\"error\": \"Unrecognized operation \\\"drop_table\\\"\"}"}`},
	}
	for _, c := range cases {
		if got := string(invoke(t, f, fixture(t, c.fixture, nil))); got != c.want {
			t.Errorf("%s:\ngot  %s\nwant %s", c.fixture, got, c.want)
		}
	}
	var res struct {
		StatusCode int               `json:"statusCode"`
		Headers    map[string]string `json:"headers"`
		Body       string            `json:"body"`
	}
	out := invoke(t, f, fixture(t, "direct-read.json", nil))
	if err := json.Unmarshal(out, &res); err != nil || res.StatusCode != 200 || !strings.Contains(res.Body, `"name": "direct"`) {
		t.Errorf("read: got %s (%v)", out, err)
	}
	// Never another table: the client does not choose what is touched.
	out = invoke(t, f, fixture(t, "direct-other-table.json", nil))
	if err := json.Unmarshal(out, &res); err != nil || res.StatusCode != 400 {
		t.Errorf("other table: got %s (%v)", out, err)
	}
	// A direct create lands in SURGE_DIRECT_TENANT's items, which the REST
	// API shows that tenant only.
	f2, _ := newTestFunction(t, map[string]string{"SURGE_DIRECT_TENANT": "acme"})
	invoke(t, f2, fixture(t, "direct-create.json", nil))
	ev := fixture(t, "v1-get-item.json", nil)
	ev = bytes.ReplaceAll(ev, []byte("fx-1"), []byte("fx-6"))
	var resp events.APIGatewayProxyResponse
	json.Unmarshal(invoke(t, f2, ev), &resp)
	if resp.StatusCode != 200 {
		t.Errorf("direct create read through REST as the same tenant: got %d %s", resp.StatusCode, resp.Body)
	}
}

func TestInvokeErrors(t *testing.T) {
	f, _ := newTestFunction(t, nil)
	// A payload of a detected kind that does not decode is a function
	// error, as the runtime reports an event it cannot unmarshal.
	for _, p := range []string{`{"httpMethod":"GET","headers":5}`, `{"version":"2.0","rawPath":"/","cookies":"x"}`} {
		if _, err := f.Invoke(context.Background(), []byte(p)); err == nil {
			t.Errorf("%s: got no error", p)
		}
	}
	// Anything else is the dispatcher's to refuse, with the contract's body.
	for _, p := range []string{``, `[]`, `{"payload":{}}`, `"ping"`} {
		out, err := f.Invoke(context.Background(), []byte(p))
		if err != nil || !bytes.HasPrefix(out, []byte(`{"statusCode": 400`)) {
			t.Errorf("%q: got %s, %v", p, out, err)
		}
	}
	// A bad base64 body is the contract's 400, not a function error.
	out, err := f.Invoke(context.Background(), []byte(`{"httpMethod":"POST","path":"/items","body":"%%%","isBase64Encoded":true}`))
	var resp events.APIGatewayProxyResponse
	if err != nil || json.Unmarshal(out, &resp) != nil || resp.StatusCode != 400 || !strings.Contains(resp.Body, `"code":"invalid"`) {
		t.Errorf("bad base64: got %s, %v", out, err)
	}
}

func TestProvisionedIsNotCold(t *testing.T) {
	f, _ := newTestFunction(t, map[string]string{"AWS_LAMBDA_INITIALIZATION_TYPE": "provisioned-concurrency"})
	resp := invokeV1(t, f, "v1-get-item.json", nil)
	if _, ok := resp.Headers["X-Cold-Start"]; ok {
		t.Errorf("a provisioned instance's first answer says X-Cold-Start: %v", resp.Headers)
	}
}

func TestPanicIsRecovered(t *testing.T) {
	f, logs := newTestFunction(t, nil)
	// Replace the API behind the middleware with one that panics.
	f.adapter = f.serve(panicking{})
	resp := invokeV1(t, f, "v1-get-item.json", nil)
	if resp.StatusCode != 500 || !strings.Contains(resp.Body, "Internal error.") {
		t.Errorf("got %d %s", resp.StatusCode, resp.Body)
	}
	if !strings.Contains(logs.String(), `"msg":"panic"`) {
		t.Errorf("panic not logged: %s", logs)
	}

	// A direct invocation that panics (here: no dispatcher at all) is a
	// function error, and the instance goes on.
	f2, logs2 := newTestFunction(t, nil)
	api := f2.api
	f2.api = nil
	if out, err := f2.Invoke(context.Background(), fixture(t, "direct-read.json", nil)); err == nil {
		t.Errorf("got %s, want a function error", out)
	}
	if !strings.Contains(logs2.String(), `"msg":"panic"`) {
		t.Errorf("panic not logged: %s", logs2)
	}
	f2.api = api
	if out := invoke(t, f2, fixture(t, "direct-ping.json", nil)); !bytes.Contains(out, []byte(`"statusCode": 200`)) {
		t.Errorf("after the panic: got %s", out)
	}
}

type panicking struct{}

func (panicking) ServeHTTP(w http.ResponseWriter, r *http.Request) { panic("boom") }

func TestConfig(t *testing.T) {
	t.Run("Defaults", func(t *testing.T) {
		c, err := LoadConfig(func(k string) string {
			if k == "AWS_REGION" {
				return "eu-west-1"
			}
			return ""
		})
		if err != nil {
			t.Fatal(err)
		}
		want := &Config{Table: "items", Region: "eu-west-1", CacheControl: "no-cache", DirectTenant: "default", LogLevel: slog.LevelInfo}
		if !reflect.DeepEqual(c, want) {
			t.Errorf("got %+v, want %+v", c, want)
		}
	})
	t.Run("All", func(t *testing.T) {
		env := map[string]string{"SURGE_TABLE": "t1", "SURGE_DYNAMODB_ENDPOINT": "http://127.0.0.1:1", "SURGE_REGION": "r1",
			"AWS_REGION": "r2", "SURGE_CONSISTENT_READS": "true", "SURGE_DYNAMODB_MAX_ATTEMPTS": "3", "SURGE_LOG_LEVEL": "warn",
			"AWS_LAMBDA_LOG_LEVEL": "DEBUG", "SURGE_CACHE_CONTROL": "max-age=60", "SURGE_TENANT_FROM_API_KEY": "1",
			"SURGE_DIRECT_TENANT": "ops", "SURGE_DAX_ENDPOINT": "dax://x", "AWS_LAMBDA_INITIALIZATION_TYPE": "provisioned-concurrency",
			"SURGE_STORE": "sqlite:/tmp/x.db", "SURGE_SYNC": "full"}
		c, err := LoadConfig(func(k string) string { return env[k] })
		if err != nil {
			t.Fatal(err)
		}
		want := &Config{Store: "sqlite:/tmp/x.db", Sync: "full", Table: "t1", Endpoint: "http://127.0.0.1:1", Region: "r1", ConsistentReads: true, MaxAttempts: 3,
			LogLevel: slog.LevelWarn, CacheControl: "max-age=60", APIKeyTenant: true, DirectTenant: "ops",
			DAXEndpoint: "dax://x", Provisioned: true}
		if !reflect.DeepEqual(c, want) {
			t.Errorf("got %+v, want %+v", c, want)
		}
	})
	t.Run("LambdaLogLevel", func(t *testing.T) {
		for in, want := range map[string]slog.Level{"TRACE": slog.LevelDebug, "DEBUG": slog.LevelDebug, "WARN": slog.LevelWarn, "FATAL": slog.LevelError} {
			c, err := LoadConfig(func(k string) string {
				if k == "AWS_LAMBDA_LOG_LEVEL" {
					return in
				}
				return ""
			})
			if err != nil || c.LogLevel != want {
				t.Errorf("AWS_LAMBDA_LOG_LEVEL=%s: got %v, %v; want %v", in, c, err, want)
			}
		}
	})
	t.Run("Errors", func(t *testing.T) {
		for k, v := range map[string]string{"SURGE_CONSISTENT_READS": "yes please", "SURGE_TENANT_FROM_API_KEY": "2",
			"SURGE_DYNAMODB_MAX_ATTEMPTS": "0", "SURGE_LOG_LEVEL": "loud", "SURGE_DIRECT_TENANT": strings.Repeat("t", 129)} {
			if _, err := LoadConfig(func(name string) string {
				if name == k {
					return v
				}
				return ""
			}); err == nil {
				t.Errorf("%s=%q: got no error", k, v)
			}
		}
	})
}

// TestEnviron checks that Environ is the inverse of LoadConfig: the
// environment of a configuration loads back as the same configuration.
func TestEnviron(t *testing.T) {
	for name, env := range map[string]map[string]string{
		"Empty":  {},
		"Lambda": {"AWS_REGION": "eu-west-1", "AWS_LAMBDA_LOG_LEVEL": "TRACE", "AWS_LAMBDA_INITIALIZATION_TYPE": "provisioned-concurrency"},
		"SQLite": {"SURGE_STORE": "sqlite:/data/items.db", "SURGE_SYNC": "full", "SURGE_TABLE": "things", "SURGE_LOG_LEVEL": "debug"},
		"DynamoDB": {"SURGE_STORE": "dynamodb://t1?endpoint=http://127.0.0.1:1", "SURGE_DYNAMODB_ENDPOINT": "http://127.0.0.1:1",
			"SURGE_REGION": "r1", "SURGE_CONSISTENT_READS": "true", "SURGE_DYNAMODB_MAX_ATTEMPTS": "7", "SURGE_LOG_LEVEL": "ERROR"},
		"Everything": {"SURGE_CACHE_CONTROL": "max-age=60, private", "SURGE_TENANT_FROM_API_KEY": "true",
			"SURGE_DIRECT_TENANT": "ops", "SURGE_DAX_ENDPOINT": "dax://x:1", "SURGE_LOG_LEVEL": "warn", "SURGE_STORE": "dax://127.0.0.1:9"},
	} {
		t.Run(name, func(t *testing.T) {
			c, err := LoadConfig(func(k string) string { return env[k] })
			if err != nil {
				t.Fatal(err)
			}
			vars := map[string]string{}
			for _, kv := range c.Environ() {
				k, v, ok := strings.Cut(kv, "=")
				if !ok {
					t.Fatalf("Environ gave %q", kv)
				}
				if _, dup := vars[k]; dup {
					t.Fatalf("Environ gave %s twice", k)
				}
				vars[k] = v
			}
			again, err := LoadConfig(func(k string) string { return vars[k] })
			if err != nil {
				t.Fatalf("LoadConfig of %v: %v", c.Environ(), err)
			}
			if !reflect.DeepEqual(again, c) {
				t.Errorf("got %+v back, want %+v", again, c)
			}
		})
	}
	if got := DefaultConfig(); got.Table != "items" || got.LogLevel != slog.LevelInfo {
		t.Errorf("DefaultConfig: got %+v", got)
	}
}

func FuzzInvoke(f *testing.F) {
	entries, err := os.ReadDir("testdata")
	if err != nil {
		f.Fatal(err)
	}
	for _, e := range entries {
		if strings.HasSuffix(e.Name(), ".json") {
			b, _ := os.ReadFile("testdata/" + e.Name())
			f.Add(bytes.ReplaceAll(b, []byte("${"), []byte("{")))
		}
	}
	f.Add([]byte(`{"body":"{\"operation\":\"echo\",\"payload\":[1]}"}`))
	f.Add([]byte(`{"httpMethod":"POST","path":"/items","body":"e30=","isBase64Encoded":true}`))
	fn, _ := newTestFunction(f, nil)
	fn.log = slog.New(slog.NewJSONHandler(io.Discard, nil))
	f.Fuzz(func(t *testing.T, payload []byte) {
		out, err := fn.Invoke(context.Background(), payload)
		if err != nil {
			return
		}
		// Whatever the event, the answer is a JSON object with a status.
		var res struct {
			StatusCode int `json:"statusCode"`
		}
		if err := json.Unmarshal(out, &res); err != nil {
			t.Fatalf("answer %q is not JSON: %v", out, err)
		}
		if res.StatusCode < 200 || res.StatusCode > 599 {
			t.Errorf("answer %s has status %d", out, res.StatusCode)
		}
		if res.StatusCode == 500 {
			t.Errorf("event %q got a 500: %s", payload, out)
		}
	})
}

func TestReportInitError(t *testing.T) {
	type post struct {
		path, errorType string
		body            map[string]any
	}
	got := make(chan post, 1)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var p post
		p.path, p.errorType = r.URL.Path, r.Header.Get("Lambda-Runtime-Function-Error-Type")
		json.NewDecoder(r.Body).Decode(&p.body)
		got <- p
		w.WriteHeader(http.StatusAccepted)
	}))
	defer srv.Close()
	ReportInitError(strings.TrimPrefix(srv.URL, "http://"), ErrorTypeStore, errors.New("open store: no such table"))
	p := <-got
	if p.path != "/2018-06-01/runtime/init/error" || p.errorType != ErrorTypeStore ||
		p.body["errorType"] != ErrorTypeStore || p.body["errorMessage"] != "open store: no such table" {
		t.Errorf("got %+v", p)
	}
	// Without a Runtime API, or with one that is gone, it returns quietly.
	ReportInitError("", ErrorTypeConfig, errors.New("x"))
	srv.Close()
	ReportInitError(strings.TrimPrefix(srv.URL, "http://"), ErrorTypeConfig, errors.New("x"))
}
