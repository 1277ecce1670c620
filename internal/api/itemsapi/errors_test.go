package itemsapi_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/surgehq/surge/internal/api/itemsapi"
	"github.com/surgehq/surge/internal/items"
	"github.com/surgehq/surge/internal/store/memstore"
)

// faultStore is a memstore whose calls fail as a test sets: the one fake
// of these tests, for faults a real store cannot be made to show on cue.
type faultStore struct {
	*memstore.Store
	mu   sync.Mutex
	fail map[string]error // method name -> error to return
	// ping, when set, replaces Ping.
	ping func(ctx context.Context) error
}

func newFaultStore(t testing.TB) *faultStore {
	s := &faultStore{Store: memstore.New(), fail: map[string]error{}}
	t.Cleanup(func() { s.Store.Close() })
	return s
}

func (s *faultStore) set(method string, err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.fail[method] = err
}

func (s *faultStore) err(method string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.fail[method]
}

func (s *faultStore) Get(ctx context.Context, key items.Key, opt items.ReadOptions) (*items.Item, error) {
	if err := s.err("Get"); err != nil {
		return nil, err
	}
	return s.Store.Get(ctx, key, opt)
}

func (s *faultStore) Create(ctx context.Context, key items.Key, attrs items.Attributes, idem *items.Idempotency) (*items.Created, error) {
	if err := s.err("Create"); err != nil {
		return nil, err
	}
	return s.Store.Create(ctx, key, attrs, idem)
}

func (s *faultStore) Replace(ctx context.Context, key items.Key, attrs items.Attributes, cond items.Condition) (*items.Item, error) {
	if err := s.err("Replace"); err != nil {
		return nil, err
	}
	return s.Store.Replace(ctx, key, attrs, cond)
}

func (s *faultStore) Delete(ctx context.Context, key items.Key, cond items.Condition) error {
	if err := s.err("Delete"); err != nil {
		return err
	}
	return s.Store.Delete(ctx, key, cond)
}

func (s *faultStore) List(ctx context.Context, tenant string, q items.ListQuery) (*items.Page, error) {
	if err := s.err("List"); err != nil {
		return nil, err
	}
	return s.Store.List(ctx, tenant, q)
}

func (s *faultStore) Ping(ctx context.Context) error {
	if s.ping != nil {
		return s.ping(ctx)
	}
	return s.Store.Ping(ctx)
}

func TestRouting(t *testing.T) {
	e := newEnv(t)
	t.Run("ErrNotFound", func(t *testing.T) {
		for _, path := range []string{"/", "/nope", "/items/", "/items/a/b", "/item", "/ops/x", "/healthz/", "//items", "/items//a1", "/items/./a1", "/items/x/../a1", "/items/.."} {
			for _, method := range []string{"GET", "POST", "DELETE"} {
				r := e.do(method, path, "").wantError(t, 404, "not_found")
				if r.header.Get("Allow") != "" {
					t.Errorf("%s %s: got Allow %q on a 404", method, path, r.header.Get("Allow"))
				}
			}
		}
	})
	t.Run("ErrMethodNotAllowed", func(t *testing.T) {
		for _, tc := range []struct{ path, allow string }{
			{"/items", "GET, HEAD, POST"},
			{"/items/x1", "GET, HEAD, PUT, PATCH, DELETE"},
			{"/items/_batch", "POST"},
			{"/ops", "POST"},
			{"/DynamoDBManager", "POST"},
			{"/healthz", "GET, HEAD"},
			{"/readyz", "GET, HEAD"},
			{"/openapi.json", "GET, HEAD"},
		} {
			allowed := map[string]bool{}
			for _, m := range strings.Split(tc.allow, ", ") {
				allowed[m] = true
			}
			for _, method := range []string{"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "TRACE", "FOO"} {
				if allowed[method] {
					continue
				}
				r := e.do(method, tc.path, "").want(t, 405)
				if method != "HEAD" {
					r.wantError(t, 405, "method_not_allowed")
				}
				if got := r.header.Get("Allow"); got != tc.allow {
					t.Errorf("%s %s: got Allow %q, want %q", method, tc.path, got, tc.allow)
				}
			}
		}
	})
	t.Run("Routes", func(t *testing.T) {
		var got []string
		for _, rt := range itemsapi.Routes() {
			got = append(got, rt.Method+" "+rt.Pattern)
		}
		want := "GET /items,POST /items,POST /items/_batch,GET /items/{id},PUT /items/{id},PATCH /items/{id},DELETE /items/{id},POST /ops,POST /DynamoDBManager,GET /healthz,GET /readyz,GET /openapi.json"
		if strings.Join(got, ",") != want {
			t.Errorf("got %s, want %s", strings.Join(got, ","), want)
		}
	})
	t.Run("Pattern", func(t *testing.T) {
		h := itemsapi.New(newStore(t))
		for _, tc := range []struct{ method, path, pattern string }{
			{"GET", "/items/a1", "GET /items/{id}"},
			{"HEAD", "/items/a1", "GET /items/{id}"},
			{"POST", "/items/_batch", "POST /items/_batch"},
			{"GET", "/items", "GET /items"},
			{"POST", "/DynamoDBManager", "POST /DynamoDBManager"},
			{"DELETE", "/items", "/items"},
			{"GET", "/nowhere", "/"},
		} {
			r := httptest.NewRequest(tc.method, tc.path, nil)
			h.ServeHTTP(httptest.NewRecorder(), r)
			if r.Pattern != tc.pattern {
				t.Errorf("%s %s: got pattern %q, want %q", tc.method, tc.path, r.Pattern, tc.pattern)
			}
		}
	})
}

func TestBodyLimits(t *testing.T) {
	crud(t)
	e := newEnv(t)
	e.do("POST", "/items", `{"id":"lim"}`).want(t, 201)
	t.Run("ItemJustUnderLimit", func(t *testing.T) {
		// The item as stored (server attributes included) at MaxItemSize.
		r := e.do("POST", "/items", `{"id":"fits","s":""}`).want(t, 201)
		pad := items.MaxItemSize - len(r.body)
		e.do("PUT", "/items/fits", `{"s":"`+strings.Repeat("f", pad)+`"}`).want(t, 200)
		e.do("PUT", "/items/fits", `{"s":"`+strings.Repeat("f", pad+1)+`"}`).wantError(t, 413, "too_large")
	})
	t.Run("ErrTooLarge/Item", func(t *testing.T) {
		// Under the body limit, over the item limit once stored.
		body := `{"s":"` + strings.Repeat("x", items.MaxItemSize) + `"}`
		e.do("POST", "/items", body).wantError(t, 413, "too_large")
		e.do("PUT", "/items/lim", body).wantError(t, 413, "too_large")
	})
	t.Run("ErrTooLarge/Body", func(t *testing.T) {
		body := `{"s":"` + strings.Repeat("x", itemsapi.MaxItemBody) + `"}`
		for _, tc := range []struct{ method, path string }{{"POST", "/items"}, {"PUT", "/items/lim"}, {"POST", "/ops"}} {
			e.do(tc.method, tc.path, body).wantError(t, 413, "too_large")
			// Without a Content-Length: the limit applies while reading.
			req, _ := http.NewRequest(tc.method, e.url+tc.path, io.MultiReader(strings.NewReader(body)))
			req.Header.Set("Content-Type", "application/json")
			if req.ContentLength != 0 {
				t.Fatalf("want a chunked request, got length %d", req.ContentLength)
			}
			e.send(req).wantError(t, 413, "too_large")
		}
	})
	t.Run("ErrTooLarge/Batch", func(t *testing.T) {
		beyondCRUD(t, "a batch")
		body := `{"operations":[{"op":"get","id":"` + strings.Repeat("x", itemsapi.MaxBatchBody) + `"}]}`
		e.do("POST", "/items/_batch", body).wantError(t, 413, "too_large")
	})
	t.Run("WhitespaceIsNotTooLarge", func(t *testing.T) {
		// A body over MaxItemSize whose item is small once canonical.
		body := `{"a":1` + strings.Repeat(" ", items.MaxItemSize) + `}`
		e.do("POST", "/items", body).want(t, 201)
	})
	t.Run("ErrUnsupportedMediaType", func(t *testing.T) {
		for _, ct := range []string{"text/plain", "application/xml", "application/x-www-form-urlencoded", "application/json; charset=iso-8859-1", "application/merge-patch+json", "json", "application/json;;"} {
			for _, tc := range []struct{ method, path string }{{"POST", "/items"}, {"PUT", "/items/lim"}, {"POST", "/items/_batch"}} {
				if tc.path == "/items/_batch" && subsetCRUD() {
					continue // beyond the subset
				}
				e.do(tc.method, tc.path, `{}`, "Content-Type", ct).wantError(t, 415, "unsupported_media_type")
			}
			// The dispatcher reads its event whatever the type says, as
			// API Gateway hands a proxy integration any body.
			e.do("POST", "/ops", `{"operation":"ping"}`, "Content-Type", ct).want(t, 200)
		}
		// No Content-Type with a body, with and without a length.
		e.do("POST", "/items", `{}`, "Content-Type", "").wantError(t, 415, "unsupported_media_type")
		req, _ := http.NewRequest("POST", e.url+"/items", io.MultiReader(strings.NewReader(`{}`)))
		e.send(req).wantError(t, 415, "unsupported_media_type")
	})
	t.Run("MediaTypeParameters", func(t *testing.T) {
		for _, ct := range []string{"application/json; charset=utf-8", "application/json;charset=UTF-8", "Application/JSON", `application/json; charset="utf-8"`} {
			e.do("POST", "/items", `{}`, "Content-Type", ct).want(t, 201)
		}
	})
	t.Run("NoBody", func(t *testing.T) {
		// No body and no Content-Type: the body is missing, not of a wrong type.
		e.do("POST", "/items", "", "Content-Type", "").wantError(t, 400, "invalid")
	})
}

func TestStoreFaults(t *testing.T) {
	fs := newFaultStore(t)
	e := newEnvWith(t, fs)
	e.do("POST", "/items", `{"id":"f1"}`).want(t, 201)
	t.Run("ErrInternal", func(t *testing.T) {
		cause := errors.New("database disk image is malformed (secret path /data/x.db)")
		for _, method := range []string{"Get", "Create", "Replace", "Delete", "List"} {
			fs.set(method, cause)
		}
		before := len(e.reports())
		for _, tc := range []struct{ method, path, body string }{
			{"GET", "/items/f1", ""},
			{"POST", "/items", `{}`},
			{"PUT", "/items/f1", `{}`},
			{"PATCH", "/items/f1", `{}`},
			{"DELETE", "/items/f1", ""},
			{"GET", "/items", ""},
		} {
			r := e.do(tc.method, tc.path, tc.body).wantError(t, 500, "internal")
			if msg := r.message(t); msg != "Internal error." {
				t.Errorf("%s %s: got message %q", tc.method, tc.path, msg)
			}
			if strings.Contains(string(r.body), "secret") {
				t.Errorf("the cause leaked: %s", r.body)
			}
		}
		reps := e.reports()[before:]
		if len(reps) != 6 {
			t.Fatalf("got %d reports, want 6: %v", len(reps), reps)
		}
		for _, err := range reps {
			if !errors.Is(err, cause) || !strings.Contains(err.Error(), "store: ") {
				t.Errorf("got report %v, want the cause with the store operation", err)
			}
		}
		// The batch and the dispatcher report each failure too.
		before = len(e.reports())
		r := e.do("POST", "/items/_batch", `{"operations":[{"op":"get","id":"f1"},{"op":"delete","id":"f1"}]}`).want(t, 200)
		if !strings.Contains(string(r.body), `{"status":500,"error":{"code":"internal","message":"Internal error."}}`) {
			t.Errorf("got %s", r.body)
		}
		e.do("POST", "/ops", `{"operation":"read","payload":{"Key":{"id":"f1"}}}`).wantError(t, 500, "internal")
		if got := len(e.reports()) - before; got != 3 {
			t.Errorf("got %d reports, want 3", got)
		}
		for _, method := range []string{"Get", "Create", "Replace", "Delete", "List"} {
			fs.set(method, nil)
		}
	})
	t.Run("ErrUnavailable", func(t *testing.T) {
		fs.set("Get", &items.Error{Code: items.EUNAVAILABLE, Message: "The store is busy.", RetryAfter: 7})
		r := e.do("GET", "/items/f1", "").wantError(t, 503, "unavailable")
		if got := r.header.Get("Retry-After"); got != "7" {
			t.Errorf("got Retry-After %q, want 7", got)
		}
		fs.set("Get", items.Errorf(items.EUNAVAILABLE, "The store is busy."))
		if got := e.do("GET", "/items/f1", "").wantError(t, 503, "unavailable").header.Get("Retry-After"); got != "1" {
			t.Errorf("got Retry-After %q, want 1", got)
		}
		fs.set("Get", nil)
	})
	t.Run("ErrThrottled", func(t *testing.T) {
		fs.set("List", &items.Error{Code: items.ETHROTTLED, Message: "Too Many Requests", RetryAfter: 2})
		r := e.do("GET", "/items", "").wantError(t, 429, "throttled")
		if got := r.header.Get("Retry-After"); got != "2" {
			t.Errorf("got Retry-After %q, want 2", got)
		}
		fs.set("List", nil)
	})
	t.Run("PatchContention", func(t *testing.T) {
		// Every conditional write loses: the patch gives up with 503.
		fs.set("Replace", items.Errorf(items.EPRECONDITION, "changed"))
		r := e.do("PATCH", "/items/f1", `{"a":1}`, "Content-Type", "application/merge-patch+json").wantError(t, 503, "unavailable")
		if r.header.Get("Retry-After") != "1" {
			t.Errorf("got Retry-After %q", r.header.Get("Retry-After"))
		}
		fs.set("Replace", nil)
	})
}

func TestHealth(t *testing.T) {
	fs := newFaultStore(t)
	e := newEnvWith(t, fs, itemsapi.ReadyTimeout(100*time.Millisecond))
	for _, path := range []string{"/healthz", "/readyz"} {
		r := e.do("GET", path, "").want(t, 200)
		if string(r.body) != `{"status":"ok"}` || r.header.Get("Content-Type") != "application/json" {
			t.Errorf("%s: got %s %v", path, r.body, r.header)
		}
		e.do("HEAD", path, "").want(t, 200)
	}
	t.Run("NotReady", func(t *testing.T) {
		fs.ping = func(context.Context) error { return errors.New("connection refused") }
		r := e.do("GET", "/readyz", "").wantError(t, 503, "unavailable")
		if r.header.Get("Retry-After") != "1" {
			t.Errorf("got Retry-After %q", r.header.Get("Retry-After"))
		}
		if reps := e.reports(); len(reps) == 0 || !strings.Contains(reps[len(reps)-1].Error(), "connection refused") {
			t.Errorf("the cause was not reported: %v", reps)
		}
		e.do("GET", "/healthz", "").want(t, 200) // alive all the same
	})
	t.Run("SlowPing", func(t *testing.T) {
		fs.ping = func(ctx context.Context) error {
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-time.After(10 * time.Second):
				return nil
			}
		}
		start := time.Now()
		e.do("GET", "/readyz", "").wantError(t, 503, "unavailable")
		if d := time.Since(start); d > 5*time.Second {
			t.Errorf("readyz took %v; the timeout is 100ms", d)
		}
	})
	t.Run("Closed", func(t *testing.T) {
		fs.ping = nil
		fs.Store.Close()
		e.do("GET", "/readyz", "").wantError(t, 503, "unavailable")
	})
}

func TestServerTiming(t *testing.T) {
	crud(t)
	e := newEnv(t)
	r := e.do("POST", "/items", `{"id":"st"}`).want(t, 201)
	for _, r := range []*resp{r, e.do("GET", "/items/st", "").want(t, 200), e.do("GET", "/items", "").want(t, 200)} {
		st := r.header.Get("Server-Timing")
		// Through a gateway, its own metrics (cache;dur=) may come first.
		if !strings.Contains(st, "store;dur=") || !strings.Contains(st, ", total;dur=") {
			t.Errorf("got Server-Timing %q", st)
		}
	}
	if subsetCRUD() {
		return // /healthz is beyond the subset
	}
	if st := e.do("GET", "/healthz", "").header.Get("Server-Timing"); strings.Contains(st, "store") {
		t.Errorf("healthz touched the store: %q", st)
	}
}

func TestOpenAPIEndpoint(t *testing.T) {
	e := newEnv(t)
	r := e.do("GET", "/openapi.json", "").want(t, 200)
	if string(r.body) != string(itemsapi.OpenAPI) {
		t.Error("the served document is not the embedded one")
	}
	if r.header.Get("Content-Type") != "application/json" {
		t.Errorf("got Content-Type %q", r.header.Get("Content-Type"))
	}
	etag := r.header.Get("ETag")
	if !etagRe.MatchString(etag) {
		t.Fatalf("got ETag %q", etag)
	}
	e.do("GET", "/openapi.json", "", "If-None-Match", etag).want(t, 304)
	e.do("GET", "/openapi.json", "", "If-None-Match", `"other"`).want(t, 200)
}
