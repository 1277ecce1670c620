package main

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/surgehq/surge/internal/load"
	"github.com/surgehq/surge/internal/load/postman"
	"github.com/surgehq/surge/internal/load/postman/postmantest"
)

// The collections the tests run: surge's own, and the public ones kept
// with their licences in the postman package's testdata.
var (
	examplesPostman = filepath.Join("..", "..", "examples", "postman")
	surgeCollection = filepath.Join(examplesPostman, postman.SurgeCollectionFile)
	surgeEnv        = filepath.Join(examplesPostman, postman.SurgeEnvironmentFile)
	postmanTestdata = filepath.Join("..", "..", "internal", "load", "postman", "testdata")
	conduitFile     = filepath.Join(postmanTestdata, "conduit", "Conduit.postman_collection.json")
	conduitGlobals  = filepath.Join(postmanTestdata, "conduit", "conduit.postman_globals.json")
	echoFile        = filepath.Join(postmanTestdata, "postman-echo", "echo.postman_collection.json")
)

// collectionCounts are what one pass through a collection (or its
// folders) sends, checks and captures, when every check and capture
// applies.
type collectionCounts struct{ requests, checks, captures int64 }

func countCollection(t *testing.T, file string, folders ...string) collectionCounts {
	t.Helper()
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	c, err := postman.Parse(data, postman.Options{Folders: folders})
	if err != nil {
		t.Fatal(err)
	}
	var n collectionCounts
	for _, r := range c.Requests {
		n.requests++
		n.checks += int64(len(r.Checks()))
		n.captures += int64(len(r.Captures()))
	}
	return n
}

// runLoad runs surge load with args and --out, and returns its result;
// it fails t unless the exit code is want.
func runLoad(t *testing.T, want int, args ...string) (*load.Result, string) {
	t.Helper()
	out := filepath.Join(t.TempDir(), "r.json")
	code, stdout, stderr := runSurge(t, append([]string{"load", "--progress", "none", "--out", out}, args...)...)
	if code != want {
		t.Fatalf("exit code %d, want %d\nstdout:\n%s\nstderr:\n%s", code, want, stdout, stderr)
	}
	return readResultFile(t, out), stdout + stderr
}

// requireClean fails t unless every request of res succeeded, every check
// passed and every capture found its value.
func requireClean(t *testing.T, res *load.Result, report string) {
	t.Helper()
	tot := res.Total
	if tot.Errors != 0 || tot.ChecksFailed != 0 || tot.CapturesMissed != 0 || tot.Checks == 0 {
		t.Fatalf("errors %d, checks %d failed of %d, captures %d missed; statuses %v\n%s",
			tot.Errors, tot.ChecksFailed, tot.Checks, tot.CapturesMissed, tot.Statuses, report)
	}
}

// TestLoadPostmanSurge runs surge's own collection against `surge serve`,
// both ways: as Postman's runner (2 users, 3 iterations each, every
// request sent 6 times, every check passed, every capture made) and as an
// open-model mix chained through the created ids and ETags.
func TestLoadPostmanSurge(t *testing.T) {
	srv := startInProcess(t, "--store", "mem:", "--access-log=false")
	base := []string{"--postman", surgeCollection, "--postman-env", surgeEnv, "--postman-var", "baseUrl=" + srv.base}
	n := countCollection(t, surgeCollection)

	t.Run("Runner", func(t *testing.T) {
		res, report := runLoad(t, 0, append(base, "--vus", "2", "--iterations", "3", "--threshold", "checks<=0")...)
		requireClean(t, res, report)
		if res.Sent != 6*n.requests || res.Total.Checks != 6*n.checks || res.Total.Captures != 6*n.captures {
			t.Errorf("sent %d, checks %d, captures %d; want %d, %d, %d", res.Sent, res.Total.Checks, res.Total.Captures,
				6*n.requests, 6*n.checks, 6*n.captures)
		}
		for _, o := range res.Ops {
			if o.Count != 6 {
				t.Errorf("%s sent %d times, want 6", o.Name, o.Count)
			}
		}
		for _, want := range []string{"surge load postman " + surgeCollection + ": closed model", "3 iterations a user",
			"checks of the collection: " + strconv.FormatInt(6*n.checks, 10) + " evaluated, 0 failed", "PASS  checks<=0"} {
			if !strings.Contains(report, want) {
				t.Errorf("report lacks %q:\n%s", want, report)
			}
		}
	})
	t.Run("Mix", func(t *testing.T) {
		res, report := runLoad(t, 0, append(base, "--rate", "200", "--duration", "1s",
			"--postman-mix", "*=1,Read an item=0,Replace an item=0,Dispatch: delete=0", "--threshold", "checks<=0,errors<=0")...)
		requireClean(t, res, report)
		if res.Sent != 200 || res.Total.Captures == 0 || res.Op("Delete an item") == nil || res.Op("Read an item") != nil {
			t.Errorf("sent %d, captures %d, ops %d\n%s", res.Sent, res.Total.Captures, len(res.Ops), report)
		}
		if !strings.Contains(report, "Create an item makes {{etag}} {{id}}, for") {
			t.Errorf("the chaining is not told:\n%s", report)
		}
	})
}

// conduit serves the RealWorld Conduit stand-in; lying makes its
// favorites never stick.
func conduit(t *testing.T, lying bool) string {
	t.Helper()
	c := postmantest.NewConduit()
	c.Lying = lying
	srv := httptest.NewServer(c)
	t.Cleanup(srv.Close)
	return srv.URL + "/api"
}

// TestLoadPostmanConduit runs the RealWorld project's Conduit collection
// against its stand-in: whole, once, as Postman's runner does (32
// requests, the token, slug and comment id captured and chained, every
// check passed); and as an open-model mix of its articles folder after
// logging in once (--postman-setup), chained through the articles'
// slugs and the comments' ids.
func TestLoadPostmanConduit(t *testing.T) {
	n := countCollection(t, conduitFile)
	t.Run("Runner", func(t *testing.T) {
		res, report := runLoad(t, 0, "--postman", conduitFile, "--postman-globals", conduitGlobals,
			"--postman-var", "APIURL="+conduit(t, false), "--vus", "1", "--iterations", "1")
		requireClean(t, res, report)
		if res.Sent != n.requests || n.requests != 32 || res.Total.Captures != 3 || res.Total.Checks < 300 {
			t.Errorf("sent %d of %d, captures %d, checks %d", res.Sent, n.requests, res.Total.Captures, res.Total.Checks)
		}
	})
	t.Run("Mix", func(t *testing.T) {
		res, report := runLoad(t, 0, "--postman", conduitFile, "--postman-globals", conduitGlobals,
			"--postman-var", "APIURL="+conduit(t, false), "--postman-setup", "Auth", "--postman-folder", "Articles, Favorite, Comments",
			"--rate", "100", "--duration", "2s",
			// Left out: the listings whose checks read the first article of
			// a list that only the collection's order fills (favorited by
			// the user; tagged "dragons", empty until an article is made).
			"--postman-mix", "*=1,Articles Favorited by Username=0,Articles Favorited by Username with auth=0,Articles by Tag=0")
		requireClean(t, res, report)
		if res.Sent != 200 || res.Total.Captures == 0 {
			t.Errorf("sent %d, captures %d", res.Sent, res.Total.Captures)
		}
		for _, name := range []string{"Create Article", "Single Article by slug", "Update Article", "Favorite Article",
			"Unfavorite Article", "Create Comment for Article", "All Comments for Article", "Delete Comment for Article", "Delete Article"} {
			if o := res.Op(name); o == nil || o.Count == 0 {
				t.Errorf("%s was not sent", name)
			}
		}
		for _, want := range []string{"setup: 5 requests passed", "Create Comment for Article makes {{commentId}}, for Delete Comment for Article (deletes)"} {
			if !strings.Contains(report, want) {
				t.Errorf("report lacks %q", want)
			}
		}
	})
}

// TestLoadPostmanConduitCatchesABug runs the Conduit collection against a
// stand-in whose favorites do not stick: the failed checks are counted,
// each where it failed, and a threshold on them fails the run.
func TestLoadPostmanConduitCatchesABug(t *testing.T) {
	res, report := runLoad(t, thresholdExit, "--postman", conduitFile, "--postman-globals", conduitGlobals,
		"--postman-var", "APIURL="+conduit(t, true), "--vus", "1", "--iterations", "1", "--threshold", "checks<=0")
	failed := map[string]int64{}
	for _, c := range res.Checks {
		failed[c.Request] += c.Failed
	}
	const folder = "Articles, Favorite, Comments / "
	want := map[string]int64{"Favorite Article": 2, folder + "Articles Favorited by Username": 13,
		"Articles Favorited by Username with auth": 13}
	for name, n := range want {
		if failed[name] != n {
			t.Errorf("%s: %d checks failed, want %d", name, failed[name], n)
		}
	}
	var total int64
	for _, n := range failed {
		total += n
	}
	if total != 28 || res.Total.ChecksFailed != 28 || res.Total.Errors != 3 {
		t.Errorf("%d checks failed (%d in the total), %d requests in error; want 28 and 3\n%s", total, res.Total.ChecksFailed, res.Total.Errors, report)
	}
	if !strings.Contains(report, "FAIL  checks<=0") || !strings.Contains(report, "Favorite Article: Article's 'favorited' property is true") {
		t.Errorf("report:\n%s", report)
	}
}

// TestLoadPostmanEcho runs four folders of Postman's own sample
// collection for Postman Echo, whose URLs name https://postman-echo.com,
// against a local TLS stand-in: --connect-to sends the connections there
// and keeps the URLs, the Host header and the TLS name.
func TestLoadPostmanEcho(t *testing.T) {
	srv := httptest.NewTLSServer(postmantest.Echo())
	t.Cleanup(srv.Close)
	folders := []string{"Auth: Others", "Headers", "Request Methods", "Utilities"}
	base := []string{"--postman", echoFile, "--connect-to", "postman-echo.com:443=" + srv.Listener.Addr().String(), "--insecure"}
	for _, f := range folders {
		base = append(base, "--postman-folder", f)
	}
	n := countCollection(t, echoFile, folders...)
	t.Run("Runner", func(t *testing.T) {
		res, report := runLoad(t, 0, append(base, "--vus", "2", "--iterations", "2")...)
		requireClean(t, res, report)
		if res.Sent != 4*n.requests || n.requests != 14 {
			t.Errorf("sent %d, want 4 x %d", res.Sent, n.requests)
		}
		if st := res.Total.Statuses; st["200"] != res.Sent {
			t.Errorf("statuses %v", st)
		}
	})
	t.Run("Mix", func(t *testing.T) {
		res, report := runLoad(t, 0, append(base, "--rate", "100", "--duration", "1s")...)
		requireClean(t, res, report)
		if res.Sent != 100 || len(res.Ops) < 10 {
			t.Errorf("sent %d over %d requests", res.Sent, len(res.Ops))
		}
	})
	t.Run("Strict", func(t *testing.T) {
		code, stdout, stderr := runSurge(t, "load", "--progress", "none", "--postman", echoFile, "--postman-strict")
		if code != 1 || !strings.Contains(stderr, "6 things the run does not understand") ||
			!strings.Contains(stderr, `auth type "digest" is not supported`) || !strings.Contains(stderr, "--postman-strict is set") {
			t.Errorf("exit %d\nstdout:\n%s\nstderr:\n%s", code, stdout, stderr)
		}
	})
}

// TestLoadOpenAPIFromServe takes the API's shape from the OpenAPI document
// a running `surge serve` publishes, read from its URL, and drives it with
// the CRUD mix (with no target given, the API is where the document is);
// a document that is not there refuses the run.
func TestLoadOpenAPIFromServe(t *testing.T) {
	srv := startInProcess(t, "--store", "mem:", "--access-log=false")
	res, report := runLoad(t, 0, "--openapi", srv.base+"/openapi.json", "--rate", "200", "--duration", "1s", "--preseed", "10",
		"--mix", "create=2,read=4,update=1,patch=1,delete=1,list=1", "--threshold", "errors<=0")
	if res.Sent != 200 || res.Total.Errors != 0 || res.Preseed.Created != 10 {
		t.Fatalf("sent %d, errors %d (statuses %v), preseed %+v\n%s", res.Sent, res.Total.Errors, res.Total.Statuses, res.Preseed, report)
	}
	for _, op := range []string{"create", "read", "update", "patch", "delete", "list"} {
		if res.Op(op) == nil {
			t.Errorf("no %s in the result", op)
		}
	}
	for _, want := range []string{"openapi: resource /items, item /items/{id}", "openapi: patch body: application/merge-patch+json",
		"openapi: target " + srv.base + ", where the document is"} {
		if !strings.Contains(report, want) {
			t.Errorf("report lacks %q:\n%s", want, report)
		}
	}
	code, stdout, stderr := runSurge(t, "load", "--progress", "none", "--openapi", srv.base+"/nothing.json", srv.base)
	if code == 0 || !strings.Contains(stderr, "get "+srv.base+"/nothing.json: status 404") {
		t.Errorf("a missing document: exit %d\nstdout:\n%s\nstderr:\n%s", code, stdout, stderr)
	}
}

// TestLoadPostmanFromURL reads surge's collection and environment from
// URLs, as Newman does a collection's link, and runs it once through.
func TestLoadPostmanFromURL(t *testing.T) {
	srv := startInProcess(t, "--store", "mem:", "--access-log=false")
	files := httptest.NewServer(http.FileServer(http.Dir(examplesPostman)))
	t.Cleanup(files.Close)
	n := countCollection(t, surgeCollection)
	res, report := runLoad(t, 0, "--postman", files.URL+"/"+postman.SurgeCollectionFile,
		"--postman-env", files.URL+"/"+postman.SurgeEnvironmentFile, "--postman-var", "baseUrl="+srv.base,
		"--vus", "1", "--iterations", "1")
	requireClean(t, res, report)
	if res.Sent != n.requests || res.Total.Captures != n.captures {
		t.Errorf("sent %d, captures %d; want %d, %d", res.Sent, res.Total.Captures, n.requests, n.captures)
	}
}

// TestLoadOpenAPIYAML takes the API's shape from the RealWorld Conduit
// document (OpenAPI 3.1 in YAML, a base path, ids in a wrapper object)
// and drives the Conduit stand-in with a user's token: the patch the
// document lacks gets no weight, and said so.
func TestLoadOpenAPIYAML(t *testing.T) {
	api := conduit(t, false)
	resp, err := http.Post(api+"/users", "application/json", strings.NewReader(`{"user":{"email":"l@x","password":"p","username":"load"}}`))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("register: %d", resp.StatusCode)
	}
	doc := filepath.Join("..", "..", "internal", "load", "openapi", "testdata", "conduit", "openapi.yml")
	res, report := runLoad(t, 0, "--openapi", doc, "--header", "Authorization: Token tok-load", "--rate", "100", "--duration", "1s",
		"--preseed", "5", "--threshold", "errors<=0", strings.TrimSuffix(api, "/api"))
	if res.Sent != 100 || res.Total.Errors != 0 || res.Preseed.Created != 5 || res.Op("patch") != nil || res.Op("delete") == nil {
		t.Fatalf("sent %d, errors %d (statuses %v), preseed %+v\n%s", res.Sent, res.Total.Errors, res.Total.Statuses, res.Preseed, report)
	}
	for _, want := range []string{"openapi: id: property article.slug", "openapi: mix: patch gets no weight (was 5)"} {
		if !strings.Contains(report, want) {
			t.Errorf("report lacks %q:\n%s", want, report)
		}
	}
}

// TestLoadPostmanExport writes surge's collection and environment: they
// are the committed examples/postman files.
func TestLoadPostmanExport(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "out")
	code, stdout, stderr := runSurge(t, "load", "postman-export", "--dir", dir)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	for _, name := range []string{postman.SurgeCollectionFile, postman.SurgeEnvironmentFile} {
		got, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		want, err := os.ReadFile(filepath.Join(examplesPostman, name))
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, want) {
			t.Errorf("%s differs from examples/postman/%s", name, name)
		}
		if !strings.Contains(stdout, filepath.Join(dir, name)) {
			t.Errorf("stdout %q does not name %s", stdout, name)
		}
	}
}
