package remote_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/surgehq/surge/internal/items"
	"github.com/surgehq/surge/internal/store/memstore"
	"github.com/surgehq/surge/internal/store/readcache"
	"github.com/surgehq/surge/internal/store/remote"
	"github.com/surgehq/surge/internal/store/sqlite"
	"github.com/surgehq/surge/internal/store/storetest"
)

// serve serves st over real HTTP on loopback and returns a Client of it;
// both end with t.
func serve(t *testing.T, st items.Store) *remote.Client {
	t.Helper()
	srv := httptest.NewServer(remote.NewServer(st))
	t.Cleanup(srv.Close)
	c := remote.NewClient(srv.URL)
	t.Cleanup(func() { c.Close() })
	return c
}

// The Client passes the whole store conformance suite, over a memory store
// and over the item cache in front of SQLite, as the function instances
// use it.
func TestConformanceMemory(t *testing.T) {
	storetest.Run(t, func(t *testing.T, now items.Clock) items.Store {
		s := memstore.New()
		s.Now = now
		return serve(t, s)
	})
}

func TestConformanceCachedSQLite(t *testing.T) {
	storetest.Run(t, func(t *testing.T, now items.Clock) items.Store {
		s, err := sqlite.Open(filepath.Join(t.TempDir(), "items.db"), sqlite.WithClock(now))
		if err != nil {
			t.Fatal(err)
		}
		c := readcache.New(s, readcache.WithClock(now))
		t.Cleanup(func() { c.Close() })
		return serve(t, c)
	})
}

// Two Clients of one Server share its cache: a write through one is what
// the other reads, without reaching the store, as two Lambda instances
// share a DAX cluster.
func TestSharedCache(t *testing.T) {
	ctx := context.Background()
	backend := &countingStore{Store: memstore.New()}
	cache := readcache.New(backend)
	t.Cleanup(func() { cache.Close() })
	srv := httptest.NewServer(remote.NewServer(cache))
	t.Cleanup(srv.Close)
	a, b := remote.NewClient(srv.URL), remote.NewClient(srv.URL)
	key := items.Key{Tenant: "t1", ID: "shared"}
	if _, err := a.Create(ctx, key, items.Attributes(`{"name":"<lamp> & shade"}`), nil); err != nil {
		t.Fatal(err)
	}
	it, err := b.Get(ctx, key, items.ReadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if string(it.Attrs) != `{"name":"<lamp> & shade"}` || it.Version != 1 {
		t.Errorf("got %s version %d", it.Attrs, it.Version)
	}
	if n := backend.gets.Load(); n != 0 {
		t.Errorf("the store was read %d times; the write through a should have filled the cache", n)
	}
	if _, err := b.Replace(ctx, key, items.Attributes(`{"name":"bulb"}`), items.Condition{IfRev: it.Rev}); err != nil {
		t.Fatal(err)
	}
	if it, err := a.Get(ctx, key, items.ReadOptions{}); err != nil || string(it.Attrs) != `{"name":"bulb"}` || it.Version != 2 {
		t.Errorf("a reads %v %v after b's write", it, err)
	}
	// A store error crosses with its code.
	_, err = a.Replace(ctx, key, items.Attributes(`{}`), items.Condition{IfRev: "stale"})
	if e, ok := err.(*items.Error); !ok || e.Code != items.EPRECONDITION {
		t.Errorf("stale If-Match: got %v, want precondition_failed", err)
	}
}

type countingStore struct {
	items.Store
	gets atomic.Int64
}

func (s *countingStore) Get(ctx context.Context, key items.Key, opt items.ReadOptions) (*items.Item, error) {
	s.gets.Add(1)
	return s.Store.Get(ctx, key, opt)
}

// Bad requests get a clear answer and reach no store.
func TestServerRefuses(t *testing.T) {
	backend := &countingStore{Store: memstore.New()}
	srv := httptest.NewServer(remote.NewServer(backend))
	t.Cleanup(srv.Close)
	for _, tc := range []struct {
		method, path, body string
		want               int
	}{
		{"GET", "/v1/get", "", http.StatusNotFound},
		{"POST", "/v1/nosuch", `{}`, http.StatusNotFound},
		{"POST", "/v1/get", `{"tenant":`, http.StatusBadRequest},
		{"POST", "/v1/get", `{"unknown":1}`, http.StatusBadRequest},
		{"POST", "/v1/get", `{} {}`, http.StatusBadRequest},
		{"POST", "/v1/create", `{"tenant":"t","id":"x","attrs":` + strings.Repeat(" ", 2*items.MaxItemSize) + `{}}`, http.StatusRequestEntityTooLarge},
	} {
		req, _ := http.NewRequest(tc.method, srv.URL+tc.path, strings.NewReader(tc.body))
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != tc.want {
			t.Errorf("%s %s %.40q: got %d, want %d", tc.method, tc.path, tc.body, resp.StatusCode, tc.want)
		}
	}
	if n := backend.gets.Load(); n != 0 {
		t.Errorf("refused requests reached the store %d times", n)
	}
	// Attributes that are not a JSON object are the store's invalid input.
	c := remote.NewClient(srv.URL)
	_, err := c.Create(context.Background(), items.Key{Tenant: "t", ID: "x"}, items.Attributes(`[1]`), nil)
	if e, ok := err.(*items.Error); !ok || e.Code != items.EINVALID {
		t.Errorf("attrs [1]: got %v, want invalid", err)
	}
}

// A Server that is gone is unavailable, not an internal error.
func TestClientUnavailable(t *testing.T) {
	srv := httptest.NewServer(remote.NewServer(memstore.New()))
	srv.Close()
	_, err := remote.NewClient(srv.URL).Get(context.Background(), items.Key{Tenant: "t", ID: "x"}, items.ReadOptions{})
	if e, ok := err.(*items.Error); !ok || e.Code != items.EUNAVAILABLE {
		t.Errorf("got %v, want unavailable", err)
	}
}

// TestToken: a Server with a token answers only Clients that send it.
func TestToken(t *testing.T) {
	srv := httptest.NewServer(remote.NewServer(memstore.New(), remote.WithToken("s3cret-token")))
	t.Cleanup(srv.Close)
	ctx := context.Background()
	k := items.Key{Tenant: "t", ID: "a"}
	for _, c := range []struct {
		name string
		opts []remote.Option
		ok   bool
	}{
		{"NoToken", nil, false},
		{"WrongToken", []remote.Option{remote.WithToken("s3cret-tokem")}, false},
		{"Prefix", []remote.Option{remote.WithToken("s3cret")}, false},
		{"Token", []remote.Option{remote.WithToken("s3cret-token")}, true},
	} {
		t.Run(c.name, func(t *testing.T) {
			cl := remote.NewClient(srv.URL, c.opts...)
			defer cl.Close()
			_, err := cl.Get(ctx, k, items.ReadOptions{})
			if c.ok && items.ErrorCode(err) != items.ENOTFOUND {
				t.Fatalf("with the token: got %v, want the store's not found", err)
			}
			if !c.ok && (err == nil || items.ErrorCode(err) != items.EINTERNAL || !strings.Contains(err.Error(), "refused this client's token")) {
				t.Fatalf("without the token: got %v, want a refusal", err)
			}
		})
	}
}
