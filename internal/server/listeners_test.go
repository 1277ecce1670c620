package server_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/surgehq/surge/internal/api/listen"
	"github.com/surgehq/surge/internal/function"
	"github.com/surgehq/surge/internal/function/localstore"
	"github.com/surgehq/surge/internal/items"
	"github.com/surgehq/surge/internal/server"
	"github.com/surgehq/surge/internal/store/dynamo/dynalitetest"
	"github.com/surgehq/surge/internal/store/remote"
	"github.com/surgehq/surge/internal/testkit/rawhttp"
)

// The test binary is also the function program of the tests that run the
// local Lambda: with envFunction set, it is `surge function` (and writes
// where its Runtime API is to the file envRuntimeFile names).
const (
	envFunction    = "SURGE_SERVER_TEST_FUNCTION"
	envRuntimeFile = "SURGE_SERVER_TEST_RUNTIME_FILE"
)

func TestMain(m *testing.M) {
	if os.Getenv(envFunction) == "1" {
		if f := os.Getenv(envRuntimeFile); f != "" {
			_ = os.WriteFile(f, []byte(os.Getenv("AWS_LAMBDA_RUNTIME_API")), 0o600)
		}
		if err := function.Run(localstore.Open); err != nil {
			os.Exit(1)
		}
		return
	}
	os.Exit(m.Run())
}

// withFunctions runs the API through the local Lambda, its instances this
// test binary, with one provisioned instance whose Runtime API address is
// written to runtimeFile.
func withFunctions(t *testing.T, c *server.Config, runtimeFile string) {
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	c.Functions.Enabled = true
	c.Functions.Command = exe
	c.Functions.Limits = "off"
	c.Functions.Provisioned = 1
	c.Functions.Env = []string{envFunction + "=1", envRuntimeFile + "=" + runtimeFile}
}

// shortTimeouts makes the listeners give up on slow clients quickly, so
// that the tests wait little for what they wait for.
func shortTimeouts(c *server.Config) {
	c.HTTP.ReadHeaderTimeout = 300 * time.Millisecond
	c.HTTP.ReadTimeout = 600 * time.Millisecond
	c.HTTP.IdleTimeout = 600 * time.Millisecond
}

// listenerUnderTest is one of a Server's listeners, with a request path
// whose handler reads a body, and the headers that request needs.
type listenerUnderTest struct {
	name, addr, bodyPath string
	auth                 string // an Authorization header's value, or ""
	maxBody              int64
	// longIdle is set for the Runtime API, whose idle timeout is past the
	// function's timeout: a runtime client's connection is idle while its
	// function runs.
	longIdle bool
}

// everyListener starts a Server with every listener on (the API, the
// admin listener, the Invoke API, the shared read cache and a Runtime
// API) and returns them.
func everyListener(t *testing.T) []listenerUnderTest {
	t.Helper()
	runtimeFile := filepath.Join(t.TempDir(), "runtime-api")
	p := start(t, func(c *server.Config) {
		withFunctions(t, c, runtimeFile)
		c.ReadCache.Enabled = true
		shortTimeouts(c)
	})
	dax := ""
	for _, rec := range logRecords(t, p.logs.String()) {
		if rec["msg"] == "read cache shared by the function instances" {
			dax = strings.TrimPrefix(rec["store"].(string), "dax://")
		}
	}
	runtime, err := os.ReadFile(runtimeFile)
	if err != nil || dax == "" {
		t.Fatalf("the read cache's address %q, the Runtime API's: %v", dax, err)
	}
	return []listenerUnderTest{
		{"API", p.s.Addr(), "/items/x", "", 464 << 10, false},
		{"Admin", p.s.AdminAddr(), "/debug/pprof/symbol", "", server.AdminMaxBody, false},
		{"InvokeAPI", p.s.InvokeAddr(), "/2015-03-31/functions/" + server.DefaultConfig().Functions.Name + "/invocations",
			"Bearer " + p.s.InvokeToken(), 6 << 20, false},
		{"ReadCache", dax, "/v1/get", "", remote.MaxRequestBytes, false},
		{"RuntimeAPI", string(runtime), "/2018-06-01/runtime/init/error", "", 12 << 20, true},
	}
}

// TestEveryListener sends each listener what a hostile or slow client
// would: a request with both Content-Length and Transfer-Encoding
// followed by a smuggled one, a transfer coding the server does not
// honour, headers that never end, a body that never ends, a kept-alive
// connection left idle, too many header fields, and a declared body over
// the listener's limit with Expect: 100-continue.
func TestEveryListener(t *testing.T) {
	if testing.Short() {
		t.Skip("starts function processes")
	}
	for _, l := range everyListener(t) {
		t.Run(l.name, func(t *testing.T) { hostileClients(t, l) })
	}
}

// TestTableFrontListener is TestEveryListener for the table's front, the
// listener of the DynamoDB API that function instances reach a local
// DynamoDB-API engine through (--functions with a DynamoDB store on a
// local endpoint, and --template).
func TestTableFrontListener(t *testing.T) {
	if testing.Short() {
		t.Skip("starts dynalite")
	}
	ep := dynalitetest.Start(t)
	tb := dynalitetest.NewTable(t, dynalitetest.NewClient(ep))
	p := start(t, func(c *server.Config) {
		withFunctions(t, c, filepath.Join(t.TempDir(), "runtime-api"))
		c.Functions.Provisioned = 0
		c.Store = "dynamodb://" + tb + "?endpoint=" + ep
		shortTimeouts(c)
	})
	front := ""
	for _, rec := range logRecords(t, p.logs.String()) {
		if rec["msg"] == "table front: function instances reach DynamoDB through it" {
			front = strings.TrimPrefix(rec["front"].(string), "http://")
		}
	}
	if front == "" {
		t.Fatalf("no table front in the log:\n%s", p.logs)
	}
	hostileClients(t, listenerUnderTest{"TableFront", front, "/", "", server.FrontMaxBody, false})
	// An AWS SDK signing with credentials other than those surge gave
	// its instances is refused as DynamoDB refuses a bad signature.
	_, err := dynamoClient(t, "http://"+front, "not-the-runs-secret").ListTables(context.Background(), &dynamodb.ListTablesInput{})
	if err == nil || !strings.Contains(err.Error(), "InvalidSignatureException") {
		t.Errorf("a request signed with another secret: %v, want InvalidSignatureException", err)
	}
}

// hostileClients sends l what a hostile or slow client would (see
// TestEveryListener).
func hostileClients(t *testing.T, l listenerUnderTest) {
	auth := ""
	if l.auth != "" {
		auth = "Authorization: " + l.auth + "\r\n"
	}
	t.Run("ContentLengthAndTransferEncoding", func(t *testing.T) {
		c := rawhttp.Dial(t, l.addr)
		c.Send("POST " + l.bodyPath + " HTTP/1.1\r\nHost: x\r\n" + auth + "Content-Type: application/json\r\n" +
			"Content-Length: 45\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n" +
			"DELETE /items/x HTTP/1.1\r\nHost: x\r\n\r\n")
		if r := c.Response(); r.Status != 400 || r.Header.Get("Connection") != "close" {
			t.Fatalf("got %d %v, want 400 and Connection: close", r.Status, r.Header)
		}
		c.WantClosed()
	})
	t.Run("UnsupportedTransferEncoding", func(t *testing.T) {
		c := rawhttp.Dial(t, l.addr)
		c.Send("POST " + l.bodyPath + " HTTP/1.1\r\nHost: x\r\n" + auth + "Transfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n")
		if r := c.Response(); r.Status != 501 {
			t.Fatalf("got %d, want 501", r.Status)
		}
		c.WantClosed()
	})
	t.Run("SlowHeaders", func(t *testing.T) {
		c := rawhttp.Dial(t, l.addr)
		c.Send("GET / HTTP/1.1\r\nHost: x\r\nX-Slow: ")
		c.WantClosed()
	})
	t.Run("SlowBody", func(t *testing.T) {
		c := rawhttp.Dial(t, l.addr)
		c.Send("POST " + l.bodyPath + " HTTP/1.1\r\nHost: x\r\n" + auth + "Content-Type: application/json\r\nContent-Length: 1000\r\n\r\n{\"a\":")
		c.WantClosed()
	})
	t.Run("Idle", func(t *testing.T) {
		if l.longIdle {
			t.Skip("the Runtime API keeps an idle connection past the function's timeout")
		}
		c := rawhttp.Dial(t, l.addr)
		c.Send("GET /nothing-here HTTP/1.1\r\nHost: x\r\n" + auth + "\r\n")
		c.Response()
		c.WantClosed()
	})
	t.Run("TooManyHeaders", func(t *testing.T) {
		var h strings.Builder
		for i := range server.DefaultHTTPConfig().MaxHeaders + 1 {
			fmt.Fprintf(&h, "X-H%d: v\r\n", i)
		}
		c := rawhttp.Dial(t, l.addr)
		c.Send("GET / HTTP/1.1\r\nHost: x\r\n" + h.String() + "\r\n")
		if r := c.Response(); r.Status != 431 {
			t.Fatalf("got %d, want 431", r.Status)
		}
	})
	t.Run("Stranger", func(t *testing.T) {
		// The Invoke API, the read cache and the table's front take
		// only what surge sends them: a request without the run's
		// token, or with another, is refused.
		want := map[string]int{"InvokeAPI": 403, "ReadCache": 401, "TableFront": 400}[l.name]
		if want == 0 {
			t.Skip("trusts its callers (see the README's threat model)")
		}
		for _, a := range []string{"", "Authorization: Bearer 0123456789abcdef0123456789abcdef\r\n"} {
			c := rawhttp.Dial(t, l.addr)
			c.Send("POST " + l.bodyPath + " HTTP/1.1\r\nHost: x\r\n" + a + "Content-Type: application/json\r\nContent-Length: 2\r\n\r\n{}")
			if r := c.Response(); r.Status != want {
				t.Fatalf("%q: got %d %s, want %d", a, r.Status, r.Body, want)
			}
		}
	})
	t.Run("BodyOverTheLimit", func(t *testing.T) {
		c := rawhttp.Dial(t, l.addr)
		c.Send(fmt.Sprintf("POST %s HTTP/1.1\r\nHost: x\r\n%sContent-Type: application/json\r\nContent-Length: %d\r\nExpect: 100-continue\r\n\r\n",
			l.bodyPath, auth, l.maxBody+1))
		if r := c.Response(); r.Status != 413 {
			t.Fatalf("got %d, want 413 before the body, and no 100 Continue", r.Status)
		}
	})
}

// TestBodyLimitsBeforeReading is the last finding, in process and
// through the local Lambda: a declared body over a route's limit is
// refused before any of it is sent (the test sends none), and a client
// that waits for 100 Continue gets none.
func TestBodyLimitsBeforeReading(t *testing.T) {
	if testing.Short() {
		t.Skip("starts function processes")
	}
	const tenMB = 10 << 20
	for _, mode := range []string{"InProcess", "Lambda"} {
		t.Run(mode, func(t *testing.T) {
			p := start(t, func(c *server.Config) {
				if mode == "Lambda" {
					withFunctions(t, c, filepath.Join(t.TempDir(), "runtime-api"))
				}
			})
			for _, c := range []struct {
				method, path string
				size         int
				expect       bool
			}{
				{"POST", "/items", tenMB, false},
				{"POST", "/items", tenMB, true},
				{"PUT", "/items/a", tenMB, true},
				{"POST", "/items/_batch", 20 << 20, true},
				{"POST", "/ops", tenMB, false},
				// Under the batch limit (11.6 MB), over Lambda's payload
				// limit (6 MB) through the pool.
				{"POST", "/items/_batch", tenMB, true},
			} {
				if c.path == "/items/_batch" && c.size == tenMB && mode == "InProcess" {
					continue // within the route's limit in process: it would be read
				}
				conn := rawhttp.Dial(t, strings.TrimPrefix(p.base, "http://"))
				expect := ""
				if c.expect {
					expect = "Expect: 100-continue\r\n"
				}
				conn.Send(fmt.Sprintf("%s %s HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: %d\r\n%s\r\n",
					c.method, c.path, c.size, expect))
				r := conn.Response()
				if r.Status != 413 || !strings.Contains(string(r.Body), `"too_large"`) {
					t.Errorf("%s %s with %d bytes declared (expect %v): got %d %s, want 413 before the body", c.method, c.path, c.size, c.expect, r.Status, r.Body)
				}
				conn.WantClosed()
			}
		})
	}
}

// TestStalledListClient: clients that ask for large list pages and stop
// reading them hold no store transaction or lock: every store call has
// returned while they stall, and a writer proceeds.
func TestStalledListClient(t *testing.T) {
	counter := &callCounter{}
	p := start(t, func(c *server.Config) { c.WrapStore = counter.wrap })
	big := strings.Repeat("x", 8<<10)
	for i := range 200 {
		if code, _, body := do(t, "POST", p.base+"/items", map[string]any{"id": fmt.Sprintf("big-%03d", i), "pad": big}); code != 201 {
			t.Fatalf("create: %d %s", code, body)
		}
	}
	// Pages of about 1 MB each, none read: more than the kernel's socket
	// buffers hold, so some of the server's writes block.
	const stalled = 16
	conns := make([]*rawhttp.Conn, stalled)
	for i := range conns {
		conns[i] = rawhttp.Dial(t, strings.TrimPrefix(p.base, "http://"))
		conns[i].Send("GET /items?limit=1000 HTTP/1.1\r\nHost: x\r\n\r\n")
	}
	deadline := time.Now().Add(30 * time.Second)
	for counter.lists.Load() < stalled || counter.inFlight.Load() != 0 {
		if time.Now().After(deadline) {
			t.Fatalf("%d lists done, %d store calls in flight: a stalled client holds the store", counter.lists.Load(), counter.inFlight.Load())
		}
		time.Sleep(5 * time.Millisecond)
	}
	// A writer proceeds while the readers stall.
	client := &http.Client{Timeout: 10 * time.Second}
	req, _ := http.NewRequest("PUT", p.base+"/items/big-000", strings.NewReader(`{"pad":"written"}`))
	req.Header.Set("Content-Type", "application/json")
	res, err := client.Do(req)
	if err != nil {
		t.Fatalf("a write while list clients stall: %v", err)
	}
	res.Body.Close()
	if res.StatusCode != 200 {
		t.Fatalf("a write while list clients stall: got %d", res.StatusCode)
	}
	// The stalled pages were answered whole, from before the write.
	for _, c := range conns {
		r := c.Response()
		var page struct{ Items []json.RawMessage }
		if r.Status != 200 || json.Unmarshal(r.Body, &page) != nil || len(page.Items) == 0 {
			t.Fatalf("a stalled page: got %d, %d bytes", r.Status, len(r.Body))
		}
	}
}

// callCounter counts a store's calls in flight and its Lists done.
type callCounter struct {
	items.Store
	inFlight, lists atomic.Int64
}

func (c *callCounter) wrap(s items.Store) items.Store { c.Store = s; return c }

func (c *callCounter) List(ctx context.Context, tenant string, q items.ListQuery) (*items.Page, error) {
	c.inFlight.Add(1)
	defer c.inFlight.Add(-1)
	defer c.lists.Add(1)
	return c.Store.List(ctx, tenant, q)
}

func (c *callCounter) Replace(ctx context.Context, key items.Key, a items.Attributes, cond items.Condition) (*items.Item, error) {
	c.inFlight.Add(1)
	defer c.inFlight.Add(-1)
	return c.Store.Replace(ctx, key, a, cond)
}

// TestLoopbackByDefault: every listener but the API's binds to loopback
// by default, and one told otherwise says so in the log.
func TestLoopbackByDefault(t *testing.T) {
	d := server.DefaultConfig()
	for name, addr := range map[string]string{"admin": d.AdminAddr, "invoke": d.Functions.InvokeAddr} {
		if !listen.IsLoopback(addr) {
			t.Errorf("the %s listener's default %q is not loopback", name, addr)
		}
	}
	if testing.Short() {
		t.Skip("starts function processes")
	}
	p := start(t, func(c *server.Config) {
		withFunctions(t, c, filepath.Join(t.TempDir(), "runtime-api"))
		c.AdminAddr, c.Functions.InvokeAddr = "0.0.0.0:0", ":0"
	})
	warned := map[string]bool{}
	for _, rec := range logRecords(t, p.logs.String()) {
		if rec["level"] == "WARN" && strings.HasSuffix(rec["msg"].(string), "listens beyond loopback") {
			warned[rec["msg"].(string)] = true
		}
	}
	for _, want := range []string{"the admin listener listens beyond loopback", "the Invoke API listens beyond loopback"} {
		if !warned[want] {
			t.Errorf("no warning %q in the log", want)
		}
	}
}
