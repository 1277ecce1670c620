package itemsapi_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pb33f/libopenapi"
	validator "github.com/pb33f/libopenapi-validator"

	"github.com/surgehq/surge/internal/api/itemsapi"
	"github.com/surgehq/surge/internal/items"
	"github.com/surgehq/surge/internal/observe/servertiming"
)

// tenantHeader names the tenant of a test request. The real service takes
// the tenant from credentials (the gateway's auth); tests set it this way.
const tenantHeader = "X-Test-Tenant"

// envURL, when set, is the base URL of an items service that every env
// talks to instead of a Handler of its own, so that these tests check
// another way of serving the contract (internal/local/lambda runs them through
// a pool of function processes). That service must take the tenant from
// tenantHeader, as the stand-in for auth here does. Each env then gets
// tenants of its own (see send), and the tests that need a Handler in
// this process (options, injected faults) skip.
const envURL = "SURGE_ITEMSAPI_URL"

var (
	remoteRun  = fmt.Sprintf("r%x", time.Now().UnixNano()&0xffffff)
	remoteEnvs atomic.Int64
)

// envSubset, set to "crud" with envURL, runs the crud subset only: the
// tests of what every implementation of the article's application
// serves (examples/python-crud and examples/node-crud), the five routes
// (POST /items, GET /items, GET, PUT and DELETE /items/{id}) and the
// dispatcher at POST /DynamoDBManager, where /ops requests go then;
// without PATCH, batches, Idempotency-Key, health checks and the
// OpenAPI document. A test of the subset says so with crud(t), and a
// subtest of it that goes beyond with beyondCRUD(t); every other test
// skips at newEnv.
const envSubset = "SURGE_ITEMSAPI_SUBSET"

// subsetCRUD reports whether this run is of the crud subset only.
func subsetCRUD() bool { return os.Getenv(envSubset) == "crud" && os.Getenv(envURL) != "" }

var crudTests sync.Map // test names marked by crud

// crud marks t, a test, as one of the crud subset.
func crud(t testing.TB) { crudTests.Store(t.Name(), true) }

// beyondCRUD skips t, in a run of the crud subset, for what it tests
// beyond the subset.
func beyondCRUD(t testing.TB, what string) {
	t.Helper()
	if subsetCRUD() {
		t.Skipf("%s is beyond the crud subset (%s=crud)", what, envSubset)
	}
}

// env is a Handler served over real HTTP on loopback.
type env struct {
	t      testing.TB
	url    string
	store  items.Store
	client *http.Client
	// tenantPrefix, for a remote service, keeps each env's tenants apart.
	tenantPrefix string

	mu       sync.Mutex
	reported []error // OnError's reports
}

// newEnv serves a Handler over newStore(t).
func newEnv(t testing.TB, opts ...itemsapi.Option) *env {
	t.Helper()
	if base := os.Getenv(envURL); base != "" {
		if root, _, _ := strings.Cut(t.Name(), "/"); subsetCRUD() {
			if _, ok := crudTests.Load(root); !ok {
				t.Skipf("not in the crud subset (%s=crud)", envSubset)
			}
		}
		if len(opts) > 0 {
			t.Skip("handler options need the handler in this process; " + envURL + " is set")
		}
		e := &env{t: t, url: strings.TrimSuffix(base, "/"),
			tenantPrefix: fmt.Sprintf("%s-e%d-", remoteRun, remoteEnvs.Add(1))}
		e.client = &http.Client{
			Transport: &checkingTransport{t: t, base: http.DefaultTransport},
			Timeout:   30 * time.Second,
			CheckRedirect: func(*http.Request, []*http.Request) error {
				return http.ErrUseLastResponse
			},
		}
		return e
	}
	return newEnvWith(t, newStore(t), opts...)
}

// newEnvWith serves a Handler over store, behind servertiming.Middleware and a
// stand-in for the auth layer that sets the tenant from tenantHeader.
// Every exchange is checked against the OpenAPI document.
func newEnvWith(t testing.TB, store items.Store, opts ...itemsapi.Option) *env {
	t.Helper()
	if os.Getenv(envURL) != "" {
		t.Skip("a store of the test's own needs the handler in this process; " + envURL + " is set")
	}
	e := &env{t: t, store: store}
	opts = append([]itemsapi.Option{itemsapi.OnError(func(r *http.Request, err error) {
		if r == nil {
			t.Errorf("OnError called without a request for %v", err)
		}
		e.mu.Lock()
		e.reported = append(e.reported, err)
		e.mu.Unlock()
	})}, opts...)
	h := itemsapi.New(store, opts...)
	auth := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if tenant := r.Header.Get(tenantHeader); tenant != "" {
			r = r.WithContext(items.WithTenant(r.Context(), tenant))
		}
		h.ServeHTTP(w, r)
	})
	srv := httptest.NewServer(servertiming.Middleware(auth))
	t.Cleanup(srv.Close)
	e.url = srv.URL
	e.client = &http.Client{
		Transport: &checkingTransport{t: t, base: srv.Client().Transport},
		Timeout:   30 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error {
			return http.ErrUseLastResponse
		},
	}
	return e
}

// reports returns what OnError was given so far.
func (e *env) reports() []error {
	e.mu.Lock()
	defer e.mu.Unlock()
	return append([]error(nil), e.reported...)
}

// resp is a complete response.
type resp struct {
	status int
	header http.Header
	body   []byte
}

// do sends a request. hdrs are name, value pairs; a body gets
// Content-Type application/json unless hdrs set one ("" removes it).
func (e *env) do(method, path, body string, hdrs ...string) *resp {
	e.t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, e.url+path, rd)
	if err != nil {
		e.t.Fatal(err)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	for i := 0; i+1 < len(hdrs); i += 2 {
		switch {
		case hdrs[i+1] == "":
			req.Header.Del(hdrs[i])
		case http.CanonicalHeaderKey(hdrs[i]) == "Content-Type":
			req.Header.Set(hdrs[i], hdrs[i+1])
		default:
			req.Header.Add(hdrs[i], hdrs[i+1])
		}
	}
	return e.send(req)
}

// send sends req and reads the whole response. A request that fails is
// reported and answers status 0, which no test wants.
func (e *env) send(req *http.Request) *resp {
	e.t.Helper()
	if req.URL.Path == "/ops" && subsetCRUD() {
		req.URL.Path = "/DynamoDBManager" // the article's path, which the subset serves
	}
	if e.tenantPrefix != "" {
		tenant := req.Header.Get(tenantHeader)
		if tenant == "" {
			tenant = items.DefaultTenant
		}
		req.Header.Set(tenantHeader, e.tenantPrefix+tenant)
	}
	res, err := e.client.Do(req)
	if err != nil {
		e.t.Errorf("%s %s: %v", req.Method, req.URL.Path, err)
		return &resp{header: http.Header{}}
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		e.t.Errorf("%s %s: read body: %v", req.Method, req.URL.Path, err)
	}
	return &resp{status: res.StatusCode, header: res.Header, body: b}
}

// want fails the test unless the response has the status.
func (r *resp) want(t testing.TB, status int) *resp {
	t.Helper()
	if r.status != status {
		t.Fatalf("got status %d, want %d; body %s", r.status, status, r.body)
	}
	return r
}

// wantError fails the test unless the response is the contract's error
// with the status and code.
func (r *resp) wantError(t testing.TB, status int, code string) *resp {
	t.Helper()
	r.want(t, status)
	if ct := r.header.Get("Content-Type"); ct != "application/json" {
		t.Errorf("got Content-Type %q, want application/json", ct)
	}
	var e struct{ Code, Message string }
	d := json.NewDecoder(bytes.NewReader(r.body))
	d.DisallowUnknownFields()
	if err := d.Decode(&e); err != nil {
		t.Fatalf("error body %s: %v", r.body, err)
	}
	if e.Code != code {
		t.Errorf("got code %q, want %q (message %q)", e.Code, code, e.Message)
	}
	if e.Message == "" {
		t.Error("got an empty message")
	}
	for _, h := range []string{"ETag", "Location", "Cache-Control"} {
		if r.header.Get(h) != "" {
			t.Errorf("got %s %q on an error", h, r.header.Get(h))
		}
	}
	return r
}

// message returns an error response's message.
func (r *resp) message(t testing.TB) string {
	t.Helper()
	return r.obj(t)["message"].(string)
}

// obj decodes the body as a JSON object, numbers as json.Number.
func (r *resp) obj(t testing.TB) map[string]any {
	t.Helper()
	var m map[string]any
	d := json.NewDecoder(bytes.NewReader(r.body))
	d.UseNumber()
	if err := d.Decode(&m); err != nil {
		t.Fatalf("body %q is not a JSON object: %v", r.body, err)
	}
	return m
}

// create creates an item from body and returns it.
func (e *env) create(body string, hdrs ...string) map[string]any {
	e.t.Helper()
	return e.do("POST", "/items", body, hdrs...).want(e.t, 201).obj(e.t)
}

// skipRequestCheck, set on a request, skips checking the request against
// the document, for requests that the validator cannot read (it decodes
// numbers into float64, and 1e999 is out of that range).
const skipRequestCheck = "X-Test-Skip-Request-Check"

// checkingTransport checks every exchange against the OpenAPI document:
// every response of a route the document describes, and the request too
// when the service accepted it (a request that it refused is usually
// refused because it breaks the document).
type checkingTransport struct {
	t    testing.TB
	base http.RoundTripper
}

var (
	specOnce      sync.Once
	specValidator validator.Validator
	specErr       error
	specMu        sync.Mutex // the validator's caches are not documented as safe for concurrent use
)

func specCheck() (validator.Validator, error) {
	specOnce.Do(func() {
		doc, err := libopenapi.NewDocument(itemsapi.OpenAPI)
		if err != nil {
			specErr = err
			return
		}
		v, errs := validator.NewValidator(doc)
		if len(errs) > 0 {
			specErr = fmt.Errorf("%v", errs)
			return
		}
		specValidator = v
	})
	return specValidator, specErr
}

// routes resolves a request to the Handler's route, as a gateway would.
var routes = func() *http.ServeMux {
	mux := http.NewServeMux()
	for _, rt := range itemsapi.Routes() {
		mux.Handle(rt.Method+" "+rt.Pattern, http.NotFoundHandler())
	}
	return mux
}()

func (ct *checkingTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	var reqBody []byte
	if req.Body != nil {
		var err error
		if reqBody, err = io.ReadAll(req.Body); err != nil {
			return nil, err
		}
		req.Body.Close()
		req.Body = io.NopCloser(bytes.NewReader(reqBody)) // ContentLength stays as it was
	}
	checkRequest := req.Header.Get(skipRequestCheck) == ""
	req.Header.Del(skipRequestCheck)
	res, err := ct.base.RoundTrip(req)
	if err != nil {
		return nil, err
	}
	resBody, err := io.ReadAll(res.Body)
	res.Body.Close()
	if err != nil {
		return nil, err
	}
	res.Body = io.NopCloser(bytes.NewReader(resBody))
	ct.check(req, reqBody, res, resBody, checkRequest)
	return res, nil
}

func (ct *checkingTransport) check(req *http.Request, reqBody []byte, res *http.Response, resBody []byte, checkRequest bool) {
	if req.Method == http.MethodHead || res.StatusCode == http.StatusMethodNotAllowed {
		return // the document describes GET, and no undeclared method
	}
	if _, pattern := routes.Handler(req); pattern == "" || req.URL.Path != path.Clean(req.URL.Path) {
		return // no route: a 404 the document cannot describe
	}
	v, err := specCheck()
	if err != nil {
		ct.t.Errorf("OpenAPI document: %v", err)
		return
	}
	vreq := req.Clone(req.Context())
	vreq.Body = io.NopCloser(bytes.NewReader(reqBody))
	vres := *res
	vres.Body = io.NopCloser(bytes.NewReader(resBody))
	specMu.Lock()
	defer specMu.Unlock()
	if ok, errs := v.ValidateHttpResponse(vreq, &vres); !ok {
		for _, e := range errs {
			ct.t.Errorf("%s %s -> %d does not follow the OpenAPI document: %s: %s %s", req.Method, req.URL.RequestURI(), res.StatusCode, e.Message, e.Reason, schemaErrors(e.SchemaValidationErrors))
		}
	}
	if res.StatusCode < 400 && checkRequest {
		vreq.Body = io.NopCloser(bytes.NewReader(reqBody))
		if ok, errs := v.ValidateHttpRequestSync(vreq); !ok {
			for _, e := range errs {
				ct.t.Errorf("%s %s (answered %d) does not follow the OpenAPI document: %s: %s %s", req.Method, req.URL.RequestURI(), res.StatusCode, e.Message, e.Reason, schemaErrors(e.SchemaValidationErrors))
			}
		}
	}
}

func schemaErrors[T interface{ Error() string }](errs []T) string {
	var parts []string
	for _, e := range errs {
		parts = append(parts, e.Error())
	}
	return strings.Join(parts, "; ")
}

var (
	etagRe      = regexp.MustCompile(`^"[!#-~]+"$`)
	timestampRe = regexp.MustCompile(`^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$`)
)

// wantItemHeaders checks the headers every item response has.
func wantItemHeaders(t testing.TB, r *resp) {
	t.Helper()
	if ct := r.header.Get("Content-Type"); ct != "application/json" {
		t.Errorf("got Content-Type %q, want application/json", ct)
	}
	if et := r.header.Get("ETag"); !etagRe.MatchString(et) {
		t.Errorf("got ETag %q, want a strong entity tag", et)
	}
	if !strings.Contains(r.header.Get("Server-Timing"), "store;dur=") {
		t.Errorf("got Server-Timing %q, want a store metric", r.header.Get("Server-Timing"))
	}
}
