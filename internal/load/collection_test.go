package load_test

import (
	"bytes"
	"context"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/surgehq/surge/internal/api/itemsapi"
	"github.com/surgehq/surge/internal/load"
	"github.com/surgehq/surge/internal/load/postman"
	"github.com/surgehq/surge/internal/store/memstore"
	"github.com/surgehq/surge/internal/testkit/syncbuf"
)

// surgeCollection is surge's own collection, examples/postman.
var surgeCollection = filepath.Join("..", "..", "examples", "postman", "surge.postman_collection.json")

// surgeAPI serves surge's items API over loopback, from memory; each
// response waits up to jitter first, so that requests of a run overlap.
func surgeAPI(t *testing.T, jitter time.Duration) *httptest.Server {
	t.Helper()
	h := itemsapi.New(memstore.New())
	var mu sync.Mutex
	rnd := rand.New(rand.NewPCG(7, 8))
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if jitter > 0 {
			mu.Lock()
			d := time.Duration(rnd.Int64N(int64(jitter)))
			mu.Unlock()
			time.Sleep(d)
		}
		h.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	return srv
}

// collectionScenario is a run of the collection in file, with baseUrl set.
func collectionScenario(file, baseURL string) load.Scenario {
	s := load.DefaultScenario()
	s.Target = ""
	s.Postman.File = file
	s.Postman.Vars = load.Variables{"baseUrl": baseURL}
	s.Timeout = 5 * time.Second
	s.Grace = 30 * time.Second // a busy machine sends late, never drops: these tests count
	return s
}

// perIteration counts the checks and captures of one pass through a
// collection whose checks and captures all apply.
func perIteration(t *testing.T, file string, skip ...string) (requests, checks, captures int64) {
	t.Helper()
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	c, err := postman.Parse(data, postman.Options{})
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range c.Requests {
		requests++
		checks += int64(len(r.Checks()))
		captures += int64(len(r.Captures()))
	}
	return requests, checks, captures
}

// TestCollectionRunner runs surge's collection as Postman's runner does,
// against surge's API: 3 users, each through 4 iterations in order. Every
// request is sent 12 times, every check passes, every capture finds its
// value, and the run stops when the users are done.
func TestCollectionRunner(t *testing.T) {
	for _, client := range []string{load.ClientFast, load.ClientStd} {
		t.Run(client, func(t *testing.T) { testCollectionRunner(t, client) })
	}
}

func testCollectionRunner(t *testing.T, client string) {
	srv := surgeAPI(t, 0)
	s := collectionScenario(surgeCollection, srv.URL)
	s.Model, s.VUs, s.Iterations, s.Duration, s.Client = load.ModelClosed, 3, 4, 0, client
	var notes syncbuf.Buffer
	res := mustRun(t, context.Background(), s, load.WithNotes(&notes))
	n, checks, captures := perIteration(t, surgeCollection)
	if res.Sent != 12*n || res.Total.Count != 12*n || res.Total.Errors != 0 {
		t.Fatalf("sent %d, done %d, errors %d, want %d and none (statuses %v)", res.Sent, res.Total.Count, res.Total.Errors, 12*n, res.Total.Statuses)
	}
	if len(res.Ops) != int(n) {
		t.Errorf("%d operations, want a row for each of the %d requests", len(res.Ops), n)
	}
	for _, o := range res.Ops {
		if o.Count != 12 {
			t.Errorf("%s sent %d times, want 12", o.Name, o.Count)
		}
	}
	if res.Total.Checks != 12*checks || res.Total.ChecksFailed != 0 {
		t.Errorf("%d checks, %d failed; want %d, none", res.Total.Checks, res.Total.ChecksFailed, 12*checks)
	}
	if res.Total.Captures != 12*captures || res.Total.CapturesMissed != 0 {
		t.Errorf("%d captures, %d missed; want %d, none", res.Total.Captures, res.Total.CapturesMissed, 12*captures)
	}
	for _, c := range res.Checks {
		if c.Passed != 12 || c.Failed != 0 {
			t.Errorf("check %s: %s: passed %d, failed %d, want 12 and 0", c.Request, c.Check, c.Passed, c.Failed)
		}
	}
	if res.Stop != "iterations" {
		t.Errorf("stop %q, want iterations", res.Stop)
	}
	if v := res.Scenario.Postman.Vars["baseUrl"]; v != "(redacted)" {
		t.Errorf("the result shows the variable given: %q", v)
	}
	if !strings.Contains(notes.String(), "18 requests to run") {
		t.Errorf("notes: %s", notes.String())
	}
}

// TestCollectionMix sends surge's collection as an open-model mix, at a
// rate, to a target slow enough that requests overlap: reads, conditional
// reads and writes (If-None-Match, If-Match with the ETag the last write
// returned) and deletes chain through the ids and ETags the creates
// captured, and the load tester makes none of its own errors (no 404 of
// a deleted item, no 412 of a stale ETag, no 200 where a 304 was due).
// The requests whose checks assume the collection's order (the read of an
// item as created, the replace that expects version 2, the dispatcher's
// delete, which is not a DELETE) are left out of the mix.
func TestCollectionMix(t *testing.T) {
	for _, scope := range []string{load.ScopeShared, load.ScopeVU} {
		t.Run(scope, func(t *testing.T) {
			srv := surgeAPI(t, 4*time.Millisecond)
			s := collectionScenario(surgeCollection, srv.URL)
			s.Rate, s.Duration = 400, 1500*time.Millisecond
			s.Postman.Scope = scope
			var err error
			if s.Postman.Mix, err = load.ParseWeights("*=1,Read an item=0,Replace an item=0,Dispatch: delete=0,Create an item=2"); err != nil {
				t.Fatal(err)
			}
			s.Thresholds = mustThresholds(t, "checks<=0,Delete an item.checks<=0")
			var notes syncbuf.Buffer
			res := mustRun(t, context.Background(), s, load.WithNotes(&notes))
			if res.Sent != 600 || res.Total.Count != 600 {
				t.Fatalf("sent %d, done %d, want 600", res.Sent, res.Total.Count)
			}
			if res.Total.Errors != 0 || res.Total.ChecksFailed != 0 || res.Total.CapturesMissed != 0 {
				var failed []string
				for _, c := range res.Checks {
					if c.Failed > 0 {
						failed = append(failed, c.Request+": "+c.Check)
					}
				}
				t.Fatalf("errors %d, checks failed %d, captures missed %d; statuses %v; failed: %v",
					res.Total.Errors, res.Total.ChecksFailed, res.Total.CapturesMissed, res.Total.Statuses, failed)
			}
			for _, name := range []string{"Create an item", "Read an item, not modified", "Patch an item", "Delete an item",
				"Run a batch", "Dispatch: read", "Dispatch: update", "Liveness"} {
				if o := res.Op(name); o == nil || o.Count == 0 {
					t.Errorf("%s was not sent", name)
				}
			}
			for _, name := range []string{"Read an item", "Replace an item", "Dispatch: delete"} {
				if o := res.Op(name); o != nil {
					t.Errorf("%s has no weight, yet was sent %d times", name, o.Count)
				}
			}
			if st := res.Total.Statuses; st["304"] == 0 || st["204"] == 0 {
				t.Errorf("statuses %v: want conditional reads answered 304 and deletes 204", st)
			}
			if len(res.Breached()) > 0 {
				t.Errorf("thresholds breached: %v", res.Thresholds)
			}
			for _, want := range []string{"Create an item makes {{etag}} {{id}}, for",
				"Patch an item (writes)", "Delete an item (deletes)", "scope " + scope} {
				if !strings.Contains(notes.String(), want) {
					t.Errorf("notes lack %q:\n%s", want, notes.String())
				}
			}
		})
	}
}

// writeCollection writes a v2.1 collection of the items given (each a
// JSON object) and returns its path.
func writeCollection(t *testing.T, items ...string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "c.postman_collection.json")
	doc := `{"info":{"name":"test","schema":"https://schema.getpostman.com/json/collection/v2.1.0/collection.json"},"item":[` +
		strings.Join(items, ",") + `]}`
	if err := os.WriteFile(path, []byte(doc), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// item is a collection item: a request and its test script.
func item(name, method, url, body string, tests ...string) string {
	var b bytes.Buffer
	b.WriteString(`{"name":` + quote(name) + `,"request":{"method":` + quote(method) + `,"url":` + quote(url))
	if body != "" {
		b.WriteString(`,"body":{"mode":"raw","raw":` + quote(body) + `,"options":{"raw":{"language":"json"}}}`)
	}
	b.WriteString(`},"event":[{"listen":"test","script":{"exec":[`)
	for i, l := range tests {
		if i > 0 {
			b.WriteString(",")
		}
		b.WriteString(quote(l))
	}
	b.WriteString(`]}}]}`)
	return b.String()
}

func folder(name string, items ...string) string {
	return `{"name":` + quote(name) + `,"item":[` + strings.Join(items, ",") + `]}`
}

func quote(s string) string {
	var b strings.Builder
	b.WriteByte('"')
	for _, r := range s {
		switch r {
		case '"', '\\':
			b.WriteByte('\\')
			b.WriteRune(r)
		case '\n':
			b.WriteString(`\n`)
		default:
			b.WriteRune(r)
		}
	}
	b.WriteByte('"')
	return b.String()
}

// sessionAPI is a target with a login: POST /login answers a token, and
// GET /me answers 200 with the token, 401 without.
func sessionAPI(t *testing.T) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch {
		case r.Method == "POST" && r.URL.Path == "/login":
			w.Header().Set("Content-Type", "application/json")
			w.Write([]byte(`{"token":"t-1"}`))
		case r.URL.Path == "/me" && r.Header.Get("Authorization") == "Bearer t-1":
			w.Write([]byte(`{"name":"me"}`))
		case r.URL.Path == "/me":
			w.WriteHeader(http.StatusUnauthorized)
		default:
			http.NotFound(w, r)
		}
	}))
	t.Cleanup(srv.Close)
	return srv
}

// TestCollectionSetup runs a login folder once before measuring: every
// user starts with its token, and the login is not part of the run.
func TestCollectionSetup(t *testing.T) {
	srv := sessionAPI(t)
	file := writeCollection(t,
		folder("Auth", item("Login", "POST", "{{baseUrl}}/login", `{"user":"a"}`,
			`pm.environment.set("token", pm.response.json().token);`)),
		item("Me", "GET", "{{baseUrl}}/me", "", `pm.test("ok", function () { pm.response.to.have.status(200); });`))
	// Me needs the token; bearer auth on the request would be usual, a
	// header does the same.
	data, _ := os.ReadFile(file)
	data = bytes.Replace(data, []byte(`"url":"{{baseUrl}}/me"`), []byte(`"url":"{{baseUrl}}/me","header":[{"key":"Authorization","value":"Bearer {{token}}"}]`), 1)
	if err := os.WriteFile(file, data, 0o644); err != nil {
		t.Fatal(err)
	}
	for _, model := range []string{load.ModelOpen, load.ModelClosed} {
		t.Run(model, func(t *testing.T) {
			s := collectionScenario(file, srv.URL)
			s.Postman.Setup = []string{"Auth"}
			s.Model, s.Rate, s.Duration, s.VUs, s.Iterations = model, 200, 500*time.Millisecond, 2, 0
			if model == load.ModelClosed {
				s.Iterations, s.Duration = 10, 0
			}
			var notes syncbuf.Buffer
			res := mustRun(t, context.Background(), s, load.WithNotes(&notes))
			if res.Op("Login") != nil || res.Op("Me") == nil || res.Total.Errors != 0 || res.Total.ChecksFailed != 0 {
				t.Fatalf("ops %v, errors %d, failed checks %d, statuses %v", res.Ops, res.Total.Errors, res.Total.ChecksFailed, res.Total.Statuses)
			}
			if !strings.Contains(notes.String(), "setup: 1 requests passed") {
				t.Errorf("notes: %s", notes.String())
			}
		})
	}
	t.Run("Fails", func(t *testing.T) {
		s := collectionScenario(file, srv.URL)
		s.Postman.Setup = []string{"Auth"}
		s.Postman.Vars["baseUrl"] = srv.URL + "/nowhere"
		_, err := load.Run(context.Background(), s)
		if err == nil || !strings.Contains(err.Error(), "postman setup: test / Auth / Login: status 404") {
			t.Fatalf("err %v, want the setup's failure", err)
		}
	})
}

// TestCollectionRefusals: what a collection's run refuses before it
// starts, each with the reason.
func TestCollectionRefusals(t *testing.T) {
	srv := sessionAPI(t)
	unknown := writeCollection(t, item("Me", "GET", "{{baseUrl}}/me", "", `pm.sendRequest("x");`))
	chained := writeCollection(t,
		item("Me", "GET", "{{baseUrl}}/me?t={{token}}", "", `pm.environment.set("token", pm.response.json().token);`))
	for _, tc := range []struct {
		name   string
		change func(*load.Scenario)
		want   string
	}{
		{"Strict", func(s *load.Scenario) { s.Postman.File, s.Postman.Strict = unknown, true }, "1 things not understood"},
		{"UnknownRequestInMix", func(s *load.Scenario) { s.Postman.File, s.Postman.Mix = unknown, load.Weights{"Login": 1} }, `no request "Login"`},
		{"UnknownThresholdOp", func(s *load.Scenario) { s.Postman.File, s.Thresholds = unknown, mustThresholds(t, "Login.p99<1s") }, `no operation "Login"`},
		// Me reads the token only it sets: nothing can make it first.
		{"NothingToRun", func(s *load.Scenario) { s.Postman.File = chained }, "no request of the mix can run"},
		{"NoFile", func(s *load.Scenario) { s.Postman.File = filepath.Join(t.TempDir(), "none.json") }, "no such file"},
		{"NoFolder", func(s *load.Scenario) { s.Postman.File, s.Postman.Folders = unknown, []string{"Nope"} }, "Nope"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := collectionScenario("", srv.URL)
			tc.change(&s)
			var notes syncbuf.Buffer
			_, err := load.Run(context.Background(), s, load.WithNotes(&notes))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err %v, want it to mention %q\nnotes:\n%s", err, tc.want, notes.String())
			}
		})
	}
}

// TestCollectionNotUnderstood: what a collection holds that is not
// understood is listed once before the run, which goes on without it.
func TestCollectionNotUnderstood(t *testing.T) {
	srv := sessionAPI(t)
	file := writeCollection(t, item("Login", "POST", "{{baseUrl}}/login", "{}",
		`pm.sendRequest("https://example.com");`, `pm.test("ok", function () { pm.response.to.have.status(200); });`))
	s := collectionScenario(file, srv.URL)
	s.Model, s.VUs, s.Iterations, s.Duration = load.ModelClosed, 4, 5, 0
	var notes syncbuf.Buffer
	res := mustRun(t, context.Background(), s, load.WithNotes(&notes))
	if strings.Count(notes.String(), "test / Login (test script, line 1)") != 1 || !strings.Contains(notes.String(), "1 things the run does not understand") {
		t.Errorf("notes:\n%s", notes.String())
	}
	if res.Sent != 20 || res.Total.Checks != 20 || res.Total.ChecksFailed != 0 {
		t.Errorf("sent %d, checks %d (failed %d), want 20 and 20", res.Sent, res.Total.Checks, res.Total.ChecksFailed)
	}
}

// TestCollectionChecksAreErrors: a request is an error when a check
// fails, whatever its status; with no check, at the error status.
func TestCollectionChecksAreErrors(t *testing.T) {
	srv := sessionAPI(t)
	file := writeCollection(t,
		item("Login wants 201", "POST", "{{baseUrl}}/login", "{}", `pm.test("created", function () { pm.response.to.have.status(201); });`),
		item("Me, unchecked", "GET", "{{baseUrl}}/me", ""),
		item("Login, unchecked", "POST", "{{baseUrl}}/login", "{}"))
	s := collectionScenario(file, srv.URL)
	s.Model, s.VUs, s.Iterations, s.Duration = load.ModelClosed, 1, 3, 0
	s.Thresholds = mustThresholds(t, "checks<1%,Login wants 201.checks<=3,Me, unchecked.errors<=3")
	res := mustRun(t, context.Background(), s)
	for _, want := range []struct {
		op     string
		errors int64
	}{{"Login wants 201", 3}, {"Me, unchecked", 3}, {"Login, unchecked", 0}} {
		if o := res.Op(want.op); o == nil || o.Errors != want.errors {
			t.Errorf("%s: %+v, want %d errors", want.op, o, want.errors)
		}
	}
	if len(res.Checks) != 1 || res.Checks[0].Failed != 3 || res.Checks[0].Test != "created" || res.Checks[0].Check != "status == 201" {
		t.Errorf("checks %+v", res.Checks)
	}
	if got := res.Breached(); len(got) != 1 || got[0] != "checks<1%" {
		t.Errorf("breached %v, want checks<1%% alone", got)
	}
}
