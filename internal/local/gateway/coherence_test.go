package gateway_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/surgehq/surge/internal/items"
	"github.com/surgehq/surge/internal/server"
)

// holdStore holds a store call's answer, after the store has done it,
// while the test's hold function says so: a way to order the answers of
// concurrent requests against what the store did.
type holdStore struct {
	items.Store
	mu   sync.Mutex
	hold func(op string, it *items.Item) <-chan struct{}
}

func (s *holdStore) set(h func(op string, it *items.Item) <-chan struct{}) {
	s.mu.Lock()
	s.hold = h
	s.mu.Unlock()
}

func (s *holdStore) wait(op string, it *items.Item) {
	s.mu.Lock()
	h := s.hold
	s.mu.Unlock()
	if h != nil {
		if ch := h(op, it); ch != nil {
			<-ch
		}
	}
}

func (s *holdStore) Get(ctx context.Context, key items.Key, opt items.ReadOptions) (*items.Item, error) {
	it, err := s.Store.Get(ctx, key, opt)
	if err == nil {
		s.wait("get", it)
	}
	return it, err
}

func (s *holdStore) Replace(ctx context.Context, key items.Key, a items.Attributes, cond items.Condition) (*items.Item, error) {
	it, err := s.Store.Replace(ctx, key, a, cond)
	if err == nil {
		s.wait("replace", it)
	}
	return it, err
}

// TestCacheMissDuringWrite: a read that missed and read the old item
// before a write must not store it once the write has begun: here a
// read answered the new item while the write was still in flight, and a
// later read must not go back to the old one.
func TestCacheMissDuringWrite(t *testing.T) {
	hs := &holdStore{}
	h := newHarness(t, harnessOpts{cache: &server.CacheConfig{InvalidateOnWrite: true},
		wrap: func(s items.Store) items.Store { hs.Store = s; return hs }})
	h.must(201, "POST", "/items", `{"id":"a","n":1}`)

	slowRead, releaseRead := make(chan struct{}), make(chan struct{})
	written, releaseWrite := make(chan struct{}), make(chan struct{})
	var releaseOnce [2]sync.Once
	letRead := func() { releaseOnce[0].Do(func() { close(releaseRead) }) }
	letWrite := func() { releaseOnce[1].Do(func() { close(releaseWrite) }) }
	t.Cleanup(func() { letRead(); letWrite() }) // on a failure, before the server stops
	var once sync.Once
	hs.set(func(op string, it *items.Item) <-chan struct{} {
		switch {
		case op == "get" && it.Version == 1:
			var ch <-chan struct{}
			once.Do(func() { close(slowRead); ch = releaseRead })
			return ch
		case op == "replace":
			close(written)
			return releaseWrite
		}
		return nil
	})
	old := make(chan response, 1)
	go func() { old <- h.try("GET", "/items/a", "") }() // misses, reads version 1, held
	<-slowRead
	put := make(chan response, 1)
	go func() { put <- h.try("PUT", "/items/a", `{"n":2}`) }()
	<-written // version 2 is in the store; the PUT is not answered yet
	if r := h.must(200, "GET", "/items/a", ""); version(t, r) != 2 {
		t.Fatalf("a read after the write reached the store: got version %d, want 2", version(t, r))
	}
	letRead()
	if r := <-old; version(t, r) != 1 {
		t.Fatalf("the slow read: got version %d, want 1", version(t, r))
	}
	if r := h.must(200, "GET", "/items/a", ""); version(t, r) != 2 {
		t.Fatalf("after a read that saw version 2: got version %d (X-Cache %s), want 2: the slow read stored the old item",
			version(t, r), r.header.Get("X-Cache"))
	}
	letWrite()
	if r := <-put; r.status != 200 {
		t.Fatalf("put: got %d %s", r.status, r.body)
	}
	hs.set(nil)
	if r := h.must(200, "GET", "/items/a", ""); version(t, r) != 2 {
		t.Fatalf("after the put: got version %d, want 2", version(t, r))
	}
}

// TestCacheFillsInVersionOrder: two reads miss, around a write made
// behind the gateway (another process); the read of the older version
// answers last and must not replace the newer answer in the cache.
func TestCacheFillsInVersionOrder(t *testing.T) {
	hs := &holdStore{}
	h := newHarness(t, harnessOpts{cache: &server.CacheConfig{InvalidateOnWrite: true},
		wrap: func(s items.Store) items.Store { hs.Store = s; return hs }})
	h.must(201, "POST", "/items", `{"id":"a","n":1}`)
	slowRead, release := make(chan struct{}), make(chan struct{})
	var releaseOnce sync.Once
	let := func() { releaseOnce.Do(func() { close(release) }) }
	t.Cleanup(let)
	hs.set(func(op string, it *items.Item) <-chan struct{} {
		if op == "get" && it.Version == 1 {
			close(slowRead)
			return release
		}
		return nil
	})
	old := make(chan response, 1)
	go func() { old <- h.try("GET", "/items/a", "") }()
	<-slowRead
	h.behind(items.DefaultTenant, "a", `{"n":2}`)
	if r := h.must(200, "GET", "/items/a", ""); version(t, r) != 2 {
		t.Fatalf("a read after the write behind the gateway: got version %d, want 2", version(t, r))
	}
	let()
	<-old
	hs.set(nil)
	if r := h.must(200, "GET", "/items/a", ""); version(t, r) != 2 {
		t.Fatalf("after the slow read: got version %d (X-Cache %s), want 2", version(t, r), r.header.Get("X-Cache"))
	}
}

// TestCacheConcurrentPutsThenGet is the first finding through
// the response cache and the read cache together (--optimized): fifty
// concurrent PUTs, then a GET of the last version.
func TestCacheConcurrentPutsThenGet(t *testing.T) {
	h := newHarness(t, harnessOpts{cache: &server.CacheConfig{InvalidateOnWrite: true}, readCache: true})
	h.must(201, "POST", "/items", `{"id":"a"}`)
	h.must(200, "GET", "/items/a", "")
	var wg sync.WaitGroup
	for i := range 50 {
		wg.Go(func() {
			if r := h.do("PUT", "/items/a", fmt.Sprintf(`{"n":%d}`, i)); r.status != 200 {
				t.Errorf("put %d: got %d %s", i, r.status, r.body)
			}
		})
	}
	wg.Wait()
	if r := h.must(200, "GET", "/items/a", ""); version(t, r) != 51 {
		t.Fatalf("get after 50 acknowledged PUTs: got version %d (X-Cache %s), want 51", version(t, r), r.header.Get("X-Cache"))
	}
}

// TestListStalenessBound: with both caches on, a list page reflects every
// write made more than the read cache's query TTL plus the response
// cache's TTL ago (docs/API.md, "Consistency"), and may miss later ones.
func TestListStalenessBound(t *testing.T) {
	h := newHarness(t, harnessOpts{cache: &server.CacheConfig{InvalidateOnWrite: true}, readCache: true})
	ttl := server.DefaultConfig().Cache.TTL
	queryTTL := server.DefaultConfig().ReadCache.QueryTTL
	h.must(201, "POST", "/items", `{"id":"a"}`)
	h.must(200, "GET", "/items", "") // page [a], in both caches
	h.must(201, "POST", "/items", `{"id":"b"}`)
	has := func() bool { return strings.Contains(h.must(200, "GET", "/items", "").body, `"id":"b"`) }
	// The write dropped the response cache's page, but the query cache
	// still has [a]: the response cache keeps it again.
	h.clock.Advance(queryTTL - time.Second)
	if has() {
		t.Fatal("the query cache's page was expected stale within its TTL")
	}
	h.clock.Advance(ttl - time.Second)
	if has() {
		t.Fatal("the response cache kept the stale page it got; expected stale within its TTL")
	}
	h.clock.Advance(2 * time.Second) // query TTL + cache TTL after the first page
	if !has() {
		t.Fatal("a page older than the query TTL plus the cache TTL")
	}
}
