package runtimes_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/surgehq/surge/internal/api/rest"
	"github.com/surgehq/surge/internal/items"
	"github.com/surgehq/surge/internal/local/lambda"
	"github.com/surgehq/surge/internal/local/lambda/runtimes"
	"github.com/surgehq/surge/internal/observe/servertiming"
	"github.com/surgehq/surge/internal/store/dynamo"
	"github.com/surgehq/surge/internal/store/dynamo/dynalitetest"
)

// example is one of examples/python-crud and examples/node-crud: the
// article's application in that runtime.
type example struct {
	name, runtime, dir    string
	itemsHandler, opsHand string
	modules               []string // what the Python interpreter must import
}

var examples = []example{
	{"python-crud", "python3.12", "../../../../examples/python-crud", "app.items_handler", "app.lambda_handler", []string{"boto3"}},
	{"node-crud", "nodejs22.x", "../../../../examples/node-crud", "app.itemsHandler", "app.lambdaHandler", nil},
}

// tenantHeader names a test request's tenant: the tests' stand-in for the
// gateway's auth, which puts it where a Lambda authorizer does.
const tenantHeader = "X-Test-Tenant"

// exampleStack is an example running in front of dynalite: a pool per
// function (the five routes', the dispatcher's), each behind an
// integration, routed as the example's template routes them.
type exampleStack struct {
	url         string
	table       string
	store       *dynamo.Store
	items, ops  *lambda.Pool
	itemsLaunch *runtimes.Launch
	functionEnv []string
}

// launchExample resolves an example's function, skipping where its
// runtime or its packages are missing.
func launchExample(t testing.TB, ex example, handler string) *runtimes.Launch {
	t.Helper()
	if ex.runtime == "nodejs22.x" {
		if _, err := os.Stat(filepath.Join(ex.dir, "node_modules", "@aws-sdk", "lib-dynamodb")); err != nil {
			unavailable(t, ex.runtime, fmt.Errorf("the Node.js example's AWS SDK is not installed (npm ci in examples/node-crud, or scripts/setup)"))
		}
	}
	return resolve(t, runtimes.Function{Runtime: ex.runtime, Handler: handler, CodeDir: ex.dir},
		runtimes.Options{PythonModules: ex.modules})
}

func startExample(t testing.TB, ex example) *exampleStack {
	t.Helper()
	il := launchExample(t, ex, ex.itemsHandler)
	ol := launchExample(t, ex, ex.opsHand)
	endpoint := dynalitetest.Start(t)
	client := dynalitetest.NewClient(endpoint)
	table := dynalitetest.NewTable(t, client) // surge's own table: the examples use its layout
	env := []string{"TABLE_NAME=" + table, "OPS_TABLE_NAME=items", "AWS_ENDPOINT_URL_DYNAMODB=" + endpoint,
		"AWS_ACCESS_KEY_ID=surgelocal", "AWS_SECRET_ACCESS_KEY=surgelocal"}
	s := &exampleStack{table: table, store: dynamo.New(client, table, dynamo.WithConsistentReads(true)), itemsLaunch: il,
		functionEnv: env}
	s.items, _ = startPool(t, il, lambda.Config{Name: "items", Timeout: 20 * time.Second, Env: env})
	s.ops, _ = startPool(t, ol, lambda.Config{Name: "DynamoDBManager", Timeout: 20 * time.Second, Env: env})
	var routes []rest.Route
	for _, r := range []string{"POST /items", "GET /items", "GET /items/{id}", "PUT /items/{id}", "DELETE /items/{id}"} {
		m, p, _ := strings.Cut(r, " ")
		routes = append(routes, rest.Route{Method: m, Pattern: p})
	}
	// The dispatcher's paths to its function, the rest to the routes'
	// (without a ServeMux in front, which would redirect unclean paths
	// that the function is the one to answer).
	ops := lambda.NewIntegration(s.ops, lambda.IntegrationOptions{Routes: []rest.Route{
		{Method: "POST", Pattern: "/DynamoDBManager"}, {Method: "POST", Pattern: "/ops"}}})
	rest := lambda.NewIntegration(s.items, lambda.IntegrationOptions{Routes: routes})
	h := servertiming.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if tenant := r.Header.Get(tenantHeader); tenant != "" {
			r = r.WithContext(items.WithTenant(r.Context(), tenant))
		}
		if r.URL.Path == "/DynamoDBManager" || r.URL.Path == "/ops" {
			ops.ServeHTTP(w, r)
			return
		}
		rest.ServeHTTP(w, r)
	}))
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	s.url = srv.URL
	return s
}

// reply is a complete HTTP response.
type reply struct {
	status int
	header http.Header
	body   []byte
}

// do sends a request; hdrs are name, value pairs, and a body is JSON
// unless they say otherwise.
func (s *exampleStack) do(t testing.TB, method, path, body string, hdrs ...string) *reply {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, s.url+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	for i := 0; i+1 < len(hdrs); i += 2 {
		req.Header.Set(hdrs[i], hdrs[i+1])
	}
	c := &http.Client{Timeout: 30 * time.Second}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return &reply{resp.StatusCode, resp.Header, b}
}

func (r *reply) want(t testing.TB, status int) *reply {
	t.Helper()
	if r.status != status {
		t.Fatalf("got %d %s, want %d", r.status, r.body, status)
	}
	return r
}

// wantError checks the contract's error body and status.
func (r *reply) wantError(t testing.TB, status int, code string) {
	t.Helper()
	r.want(t, status)
	var e map[string]string
	d := json.NewDecoder(bytes.NewReader(r.body))
	d.DisallowUnknownFields()
	if err := d.Decode(&e); err != nil || e["code"] != code || e["message"] == "" || len(e) != 2 {
		t.Errorf("got error body %s, want {\"code\":%q,\"message\":...}", r.body, code)
	}
	if ct := r.header.Get("Content-Type"); ct != "application/json" {
		t.Errorf("got Content-Type %q", ct)
	}
	if r.header.Get("ETag") != "" || r.header.Get("Location") != "" {
		t.Errorf("an error with ETag or Location: %v", r.header)
	}
}

// obj decodes the body, numbers as json.Number.
func (r *reply) obj(t testing.TB) map[string]any {
	t.Helper()
	var m map[string]any
	d := json.NewDecoder(bytes.NewReader(r.body))
	d.UseNumber()
	if err := d.Decode(&m); err != nil {
		t.Fatalf("body %s: %v", r.body, err)
	}
	return m
}

var (
	etagRe  = regexp.MustCompile(`^"[!#-~]+"$`)
	stampRe = regexp.MustCompile(`^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$`)
	uuidRe  = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)
)

// TestExamples runs the article's application, in Python with boto3 and
// in Node.js with the AWS SDK v3, through the pool and the integration in
// front of dynalite: the five routes as the contract has them, the
// operation dispatcher, and the table shared with surge's own store.
func TestExamples(t *testing.T) {
	for _, ex := range examples {
		t.Run(ex.name, func(t *testing.T) {
			t.Parallel()
			s := startExample(t, ex)
			t.Run("Create", func(t *testing.T) { testCreate(t, s) })
			t.Run("ReadReplaceDelete", func(t *testing.T) { testReadReplaceDelete(t, s) })
			t.Run("List", func(t *testing.T) { testList(t, s) })
			t.Run("Refusals", func(t *testing.T) { testRefusals(t, s) })
			t.Run("Dispatcher", func(t *testing.T) { testDispatcher(t, s) })
			t.Run("SharedWithSurge", func(t *testing.T) { testShared(t, s) })
			t.Logf("%s: %d and %d instances started (routes, dispatcher); %s %s", ex.name, s.items.Stats().Starts,
				s.ops.Stats().Starts, s.itemsLaunch.Interpreter, s.itemsLaunch.InterpreterVersion)
		})
	}
}

func testCreate(t *testing.T, s *exampleStack) {
	r := s.do(t, "POST", "/items", `{"name":"lamp","price":12.50,"big":12345678901234567890,"nested":{"b":[1,{"z":null,"a":true}],"a":"é"},"version":99}`).want(t, 201)
	it := r.obj(t)
	id, _ := it["id"].(string)
	if !uuidRe.MatchString(id) || r.header.Get("Location") != "/items/"+id {
		t.Errorf("got id %q, Location %q: want a UUIDv7 and its path", id, r.header.Get("Location"))
	}
	if !etagRe.MatchString(r.header.Get("ETag")) || r.header.Get("Content-Type") != "application/json" {
		t.Errorf("got headers %v", r.header)
	}
	if !strings.Contains(r.header.Get("Server-Timing"), "store;dur=") {
		t.Errorf("got Server-Timing %q, want the function's store time", r.header.Get("Server-Timing"))
	}
	if it["version"] != json.Number("1") || !stampRe.MatchString(it["createdAt"].(string)) || it["createdAt"] != it["updatedAt"] {
		t.Errorf("got %s", r.body)
	}
	// Exact numbers, members in name order, the contract's member order.
	want := `"big":12345678901234567890,"name":"lamp","nested":{"a":"é","b":[1,{"a":true,"z":null}]},"price":12.5}`
	if !strings.HasPrefix(string(r.body), `{"id":"`+id+`","version":1,"createdAt":"`) || !strings.HasSuffix(string(r.body), want) {
		t.Errorf("got %s, want it to end %s", r.body, want)
	}
	s.do(t, "POST", "/items", `{"id":"lamp-1","name":"lamp"}`).want(t, 201)
	s.do(t, "POST", "/items", `{"id":"lamp-1","name":"again"}`).wantError(t, 409, "conflict")
	// Another tenant has ids of its own.
	s.do(t, "POST", "/items", `{"id":"lamp-1","name":"theirs"}`, tenantHeader, "t2").want(t, 201)
}

func testReadReplaceDelete(t *testing.T, s *exampleStack) {
	c := s.do(t, "POST", "/items", `{"id":"rrd","n":1}`).want(t, 201)
	etag := c.header.Get("ETag")
	r := s.do(t, "GET", "/items/rrd", "").want(t, 200)
	if r.header.Get("ETag") != etag || r.header.Get("Cache-Control") != "no-cache" || string(r.body) != string(c.body) {
		t.Errorf("got %v %s, want the created item with its ETag", r.header, r.body)
	}
	if nm := s.do(t, "GET", "/items/rrd", "", "If-None-Match", etag); nm.status != 304 || len(nm.body) != 0 || nm.header.Get("ETag") != etag {
		t.Errorf("If-None-Match: got %d %v %q", nm.status, nm.header, nm.body)
	}
	s.do(t, "GET", "/items/absent", "").wantError(t, 404, "not_found")
	s.do(t, "GET", "/items/rrd", "", tenantHeader, "t2").wantError(t, 404, "not_found")

	p := s.do(t, "PUT", "/items/rrd", `{"n":2,"m":"x"}`).want(t, 200)
	pi := p.obj(t)
	if pi["version"] != json.Number("2") || pi["n"] != json.Number("2") || pi["createdAt"] != c.obj(t)["createdAt"] || p.header.Get("ETag") == etag {
		t.Errorf("PUT: got %v %s", p.header, p.body)
	}
	s.do(t, "PUT", "/items/rrd", `{"n":3}`, "If-Match", etag).wantError(t, 412, "precondition_failed")
	p3 := s.do(t, "PUT", "/items/rrd", `{"n":3}`, "If-Match", p.header.Get("ETag")).want(t, 200)
	if p3.obj(t)["version"] != json.Number("3") {
		t.Errorf("PUT If-Match: got %s", p3.body)
	}
	s.do(t, "PUT", "/items/rrd", `{"id":"other"}`).wantError(t, 400, "invalid")
	s.do(t, "PUT", "/items/absent", `{"n":1}`).wantError(t, 404, "not_found")
	s.do(t, "PUT", "/items/rrd", `n=1`, "Content-Type", "text/plain").wantError(t, 415, "unsupported_media_type")

	s.do(t, "DELETE", "/items/rrd", "", "If-Match", etag).wantError(t, 412, "precondition_failed")
	if d := s.do(t, "DELETE", "/items/rrd", "", "If-Match", p3.header.Get("ETag")); d.status != 204 || len(d.body) != 0 {
		t.Errorf("DELETE: got %d %s", d.status, d.body)
	}
	s.do(t, "DELETE", "/items/rrd", "").wantError(t, 404, "not_found")
	s.do(t, "GET", "/items/rrd", "").wantError(t, 404, "not_found")
}

func testList(t *testing.T, s *exampleStack) {
	const tenant = "lister"
	var ids []string
	for i := range 5 {
		id := fmt.Sprintf("l%d", 4-i) // created out of order, listed in id order
		s.do(t, "POST", "/items", fmt.Sprintf(`{"id":%q,"i":%d}`, id, i), tenantHeader, tenant).want(t, 201)
		ids = append([]string{id}, ids...)
	}
	var got []string
	next := ""
	for pages := 0; pages < 10; pages++ {
		path := "/items?limit=2"
		if next != "" {
			path += "&cursor=" + next
		}
		r := s.do(t, "GET", path, "", tenantHeader, tenant).want(t, 200)
		var page struct {
			Items []struct{ ID string }
			Next  *string
		}
		if err := json.Unmarshal(r.body, &page); err != nil || len(page.Items) > 2 {
			t.Fatalf("page %s: %v", r.body, err)
		}
		for _, it := range page.Items {
			got = append(got, it.ID)
		}
		if page.Next == nil {
			break
		}
		next = *page.Next
	}
	if strings.Join(got, ",") != strings.Join(ids, ",") {
		t.Errorf("got %v, want %v in id order", got, ids)
	}
	all := s.do(t, "GET", "/items", "", tenantHeader, tenant).want(t, 200)
	if !strings.HasPrefix(string(all.body), `{"items":[{"id":"l0","version":1,`) || strings.Contains(string(all.body), `"next"`) {
		t.Errorf("got %s", all.body)
	}
	for _, q := range []string{"limit=0", "limit=1001", "limit=x", "limit=1&limit=2", "cursor=nope", "cursor=" + strings.Repeat("A", 8)} {
		s.do(t, "GET", "/items?"+q, "", tenantHeader, tenant).wantError(t, 400, "invalid")
	}
	empty := s.do(t, "GET", "/items", "", tenantHeader, "nobody").want(t, 200)
	if string(empty.body) != `{"items":[]}` {
		t.Errorf("another tenant's list: got %s", empty.body)
	}
}

func testRefusals(t *testing.T, s *exampleStack) {
	for _, tc := range []struct {
		body   string
		status int
		code   string
	}{
		{`{"a":`, 400, "invalid"},
		{`[1,2]`, 400, "invalid"},
		{`{"a":1,"a":2}`, 400, "invalid"},
		{`{"":1}`, 400, "invalid"},
		{`{"id":7}`, 400, "invalid"},
		{`{"id":"bad id"}`, 400, "invalid"},
		{`{"n":123456789012345678901234567890123456789}`, 400, "invalid"},
		{`{"n":NaN}`, 400, "invalid"},
		{`{"s":"` + strings.Repeat("x", 410*1024) + `"}`, 413, "too_large"},
		{`{"s":"` + strings.Repeat("x", 470*1024) + `"}`, 413, "too_large"},
	} {
		s.do(t, "POST", "/items", tc.body).wantError(t, tc.status, tc.code)
	}
	s.do(t, "POST", "/items", `{"a":1}`, "Content-Type", "text/plain").wantError(t, 415, "unsupported_media_type")
	s.do(t, "GET", "/items/bad%20id", "").wantError(t, 400, "invalid")
	r := s.do(t, "PATCH", "/items/x", `{}`)
	r.wantError(t, 405, "method_not_allowed")
	if r.header.Get("Allow") == "" {
		t.Error("405 without Allow")
	}
	s.do(t, "GET", "/nowhere", "").wantError(t, 404, "not_found")
}

// ops posts a dispatcher event and returns the answer.
func (s *exampleStack) dispatch(t testing.TB, event string) *reply {
	t.Helper()
	return s.do(t, "POST", "/DynamoDBManager", event)
}

func testDispatcher(t *testing.T, s *exampleStack) {
	// compact is the answer without the original's spaces.
	compact := func(b []byte) string {
		var v any
		d := json.NewDecoder(bytes.NewReader(b))
		d.UseNumber()
		if err := d.Decode(&v); err != nil {
			t.Fatalf("%s: %v", b, err)
		}
		out, _ := json.Marshal(v)
		return string(out)
	}
	r := s.dispatch(t, `{"operation":"create","tableName":"items","payload":{"Item":{"id":"o1","name":"x","n":1.50,"big":12345678901234567890}}}`).want(t, 200)
	if string(r.body) != "{}" || r.header.Get("Access-Control-Allow-Origin") != "*" {
		t.Errorf("create: got %v %s", r.header, r.body)
	}
	read := s.dispatch(t, `{"operation":"read","tableName":"items","payload":{"Key":{"id":"o1"}}}`).want(t, 200)
	// The item in the contract's member order, numbers exact, written as
	// the original's json.dumps wrote it (the Node.js port too).
	wantPrefix, wantSuffix := `{"Item": {"id": "o1", "version": 1, "createdAt": "`, `"big": 12345678901234567890, "n": 1.5, "name": "x"}}`
	if !strings.HasPrefix(string(read.body), wantPrefix) || !strings.HasSuffix(string(read.body), wantSuffix) {
		t.Errorf("read: got %s, want %s...%s", read.body, wantPrefix, wantSuffix)
	}
	// The same item through the routes.
	if g := s.do(t, "GET", "/items/o1", "").want(t, 200); g.obj(t)["name"] != "x" {
		t.Errorf("GET after create: %s", g.body)
	}
	up := s.dispatch(t, `{"operation":"update","payload":{"Key":{"id":"o1"},"AttributeUpdates":{"name":{"Value":"y"},"n":{"Action":"DELETE"}}}}`).want(t, 200)
	if c := compact(up.body); !strings.Contains(c, `"version":2`) || !strings.Contains(c, `"name":"y"`) || strings.Contains(c, `"n":`) {
		t.Errorf("update: got %s", up.body)
	}
	s.dispatch(t, `{"operation":"create","payload":{"Item":{"id":"o2"}}}`).want(t, 200)
	list := s.dispatch(t, `{"operation":"list","payload":{"Limit":1}}`).want(t, 200)
	if c := compact(list.body); !strings.Contains(c, `"Count":1`) || !strings.Contains(c, `"LastEvaluatedKey":{"id":"`) {
		t.Errorf("list: got %s", list.body)
	}
	if p := s.dispatch(t, `{"operation":"ping"}`).want(t, 200); string(p.body) != `"pong"` {
		t.Errorf("ping: got %s", p.body)
	}
	if e := s.dispatch(t, `{"operation":"echo","payload":{"a":[1,"b"]}}`).want(t, 200); compact(e.body) != `{"a":[1,"b"]}` {
		t.Errorf("echo: got %s", e.body)
	}
	if u := s.dispatch(t, `{"operation":"nope"}`).want(t, 400); string(u.body) != `{"error": "Unrecognized operation \"nope\""}` {
		t.Errorf("unknown operation: got %s", u.body)
	}
	s.dispatch(t, `{"operation":"read","tableName":"users","payload":{"Key":{"id":"o1"}}}`).wantError(t, 400, "invalid")
	s.dispatch(t, `{"operation":"read","payload":{"Key":{"id":"o1"},"TableName":"x"}}`).wantError(t, 400, "invalid")
	s.dispatch(t, `{"payload":{}}`).wantError(t, 400, "invalid")
	if d := s.dispatch(t, `{"operation":"delete","payload":{"Key":{"id":"o1"}}}`).want(t, 200); string(d.body) != "{}" {
		t.Errorf("delete: got %s", d.body)
	}
	if g := s.dispatch(t, `{"operation":"read","payload":{"Key":{"id":"o1"}}}`).want(t, 200); string(g.body) != "{}" {
		t.Errorf("read after delete: got %s", g.body)
	}

	// A direct invocation of the dispatcher, as the article's client sends it.
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	res, err := s.ops.Invoke(ctx, []byte(`{"operation":"ping","tableName":"items"}`), lambda.InvokeOptions{})
	if err != nil || res.FunctionError != "" || !strings.Contains(compact(res.Payload), `"body":"\"pong\""`) {
		t.Errorf("direct invocation: got %v %+v %s", err, res, res.Payload)
	}
}

// testShared checks that the example and surge's own DynamoDB store read
// each other's items in the one table.
func testShared(t *testing.T, s *exampleStack) {
	ctx := context.Background()
	r := s.do(t, "POST", "/items", `{"id":"shared-1","price":1.10,"tags":["a","b"],"deep":{"x":{"y":1}}}`).want(t, 201)
	it, err := s.store.Get(ctx, items.Key{Tenant: items.DefaultTenant, ID: "shared-1"}, items.ReadOptions{})
	if err != nil {
		t.Fatalf("surge's store reads the example's item: %v", err)
	}
	if got := string(it.AppendJSON(nil)); got != string(r.body) || it.ETag() != r.header.Get("ETag") {
		t.Errorf("surge's store: got %s %s, the example wrote %s %s", got, it.ETag(), r.body, r.header.Get("ETag"))
	}
	c, err := s.store.Create(ctx, items.Key{Tenant: items.DefaultTenant, ID: "by-surge"}, items.Attributes(`{"big":12345678901234567890,"name":"from surge"}`), nil)
	if err != nil {
		t.Fatal(err)
	}
	g := s.do(t, "GET", "/items/by-surge", "").want(t, 200)
	if string(g.body) != string(c.Item.AppendJSON(nil)) || g.header.Get("ETag") != c.Item.ETag() {
		t.Errorf("the example reads surge's item: got %s %s, want %s %s", g.body, g.header.Get("ETag"), c.Item.AppendJSON(nil), c.Item.ETag())
	}
	p := s.do(t, "PUT", "/items/by-surge", `{"name":"changed"}`, "If-Match", c.Item.ETag()).want(t, 200)
	it, err = s.store.Get(ctx, items.Key{Tenant: items.DefaultTenant, ID: "by-surge"}, items.ReadOptions{})
	if err != nil || it.Version != 2 || string(it.Attrs) != `{"name":"changed"}` || it.ETag() != p.header.Get("ETag") {
		t.Errorf("surge's store after the example's PUT: got %+v %v", it, err)
	}
}
