package readcache_test

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/surgehq/surge/internal/items"
	"github.com/surgehq/surge/internal/store/dynamo"
	"github.com/surgehq/surge/internal/store/dynamo/dynalitetest"
	"github.com/surgehq/surge/internal/store/memstore"
	"github.com/surgehq/surge/internal/store/readcache"
	"github.com/surgehq/surge/internal/store/sqlite"
	"github.com/surgehq/surge/internal/store/storetest"
	"github.com/surgehq/surge/internal/testkit/manualclock"
)

// One dynalite serves the package's tests that need it.
func TestMain(m *testing.M) { os.Exit(dynalitetest.Main(m)) }

var ctx = context.Background()

// suiteStore adapts a Cache to the conformance suite. The suite lists after
// writes and expects to see them, which DAX's query cache does not promise,
// so its Lists ask for consistent reads (readcache.Consistent). With
// eventual set, its Gets drop the Consistent flag that the suite passes, so
// that they go through the item cache: DAX's write-through makes a single
// cache read its own writes, and the suite checks that it does.
type suiteStore struct {
	*readcache.Cache
	eventual bool
}

func (s suiteStore) Get(ctx context.Context, key items.Key, opt items.ReadOptions) (*items.Item, error) {
	if s.eventual {
		opt.Consistent = false
	}
	return s.Cache.Get(ctx, key, opt)
}

func (s suiteStore) List(ctx context.Context, tenant string, q items.ListQuery) (*items.Page, error) {
	return s.Cache.List(readcache.Consistent(ctx), tenant, q)
}

// runSuite runs the conformance suite over caches in front of the stores
// that open returns, in both modes.
func runSuite(t *testing.T, open func(t *testing.T, now items.Clock) items.Store) {
	for _, mode := range []struct {
		name     string
		eventual bool
	}{{"Consistent", false}, {"ThroughItemCache", true}} {
		t.Run(mode.name, func(t *testing.T) {
			storetest.Run(t, func(t *testing.T, now items.Clock) items.Store {
				c := readcache.New(open(t, now), readcache.WithClock(now))
				t.Cleanup(func() { c.Close() })
				return suiteStore{Cache: c, eventual: mode.eventual}
			})
		})
	}
}

func TestConformanceMemory(t *testing.T) {
	runSuite(t, func(t *testing.T, now items.Clock) items.Store {
		s := memstore.New()
		s.Now = now
		return s
	})
}

func TestConformanceSQLite(t *testing.T) {
	runSuite(t, func(t *testing.T, now items.Clock) items.Store {
		return openSQLite(t, now)
	})
}

func TestConformanceDynamoDB(t *testing.T) {
	if testing.Short() {
		t.Skip("the suite on dynalite takes a while")
	}
	client := dynalitetest.NewClient(dynalitetest.Start(t))
	table := dynalitetest.NewTable(t, client)
	runSuite(t, func(t *testing.T, now items.Clock) items.Store {
		s := dynamo.New(client, table, dynamo.WithClock(now))
		t.Cleanup(func() { s.Close() })
		return s
	})
}

func openSQLite(t testing.TB, now items.Clock) *sqlite.Store {
	t.Helper()
	s, err := sqlite.Open(filepath.Join(t.TempDir(), "items.db"), sqlite.WithClock(now))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func newClock() *manualclock.Clock {
	return manualclock.New(time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC))
}

// fixture is a cache over a SQLite store, with direct access to the store
// for writes that bypass the cache (another process, another cache).
type fixture struct {
	t     *testing.T
	clock *manualclock.Clock
	back  items.Store
	c     *readcache.Cache
}

func newFixture(t *testing.T, opts ...readcache.Option) *fixture {
	f := &fixture{t: t, clock: newClock()}
	f.back = openSQLite(t, f.clock.Now)
	f.c = readcache.New(f.back, append([]readcache.Option{readcache.WithClock(f.clock.Now)}, opts...)...)
	return f
}

func attrs(t testing.TB, js string) items.Attributes {
	t.Helper()
	a, err := items.Canonicalize([]byte(js))
	if err != nil {
		t.Fatal(err)
	}
	return a
}

func key(tenant, id string) items.Key { return items.Key{Tenant: tenant, ID: id} }

func (f *fixture) create(s items.Store, k items.Key, js string) *items.Item {
	f.t.Helper()
	c, err := s.Create(ctx, k, attrs(f.t, js), nil)
	if err != nil {
		f.t.Fatalf("create %v: %v", k, err)
	}
	return c.Item
}

func (f *fixture) replace(s items.Store, k items.Key, js string) *items.Item {
	f.t.Helper()
	it, err := s.Replace(ctx, k, attrs(f.t, js), items.Condition{})
	if err != nil {
		f.t.Fatalf("replace %v: %v", k, err)
	}
	return it
}

// get reads k through the cache, eventually consistently, and returns its
// attributes or "not found".
func (f *fixture) get(k items.Key) string {
	f.t.Helper()
	it, err := f.c.Get(ctx, k, items.ReadOptions{})
	if items.ErrorCode(err) == items.ENOTFOUND {
		return "not found"
	}
	if err != nil {
		f.t.Fatalf("get %v: %v", k, err)
	}
	return it.Attrs.String()
}

func (f *fixture) list(c context.Context, tenant string, limit int) []string {
	f.t.Helper()
	p, err := f.c.List(c, tenant, items.ListQuery{Limit: limit})
	if err != nil {
		f.t.Fatalf("list %q: %v", tenant, err)
	}
	var ids []string
	for _, it := range p.Items {
		ids = append(ids, it.ID)
	}
	return ids
}

func TestItemCacheHitAndTTL(t *testing.T) {
	f := newFixture(t)
	k := key("t1", "a")
	f.create(f.c, k, `{"v":1}`)
	// Another writer changes the item behind the cache's back.
	f.replace(f.back, k, `{"v":2}`)
	if got := f.get(k); got != `{"v":1}` {
		t.Fatalf("get within the TTL: got %s, want the cached {\"v\":1}", got)
	}
	f.clock.Advance(readcache.DefaultTTL - time.Second)
	if got := f.get(k); got != `{"v":1}` {
		t.Fatalf("get a second before the TTL: got %s, want the cached {\"v\":1}", got)
	}
	f.clock.Advance(time.Second)
	if got := f.get(k); got != `{"v":2}` {
		t.Fatalf("get at the TTL: got %s, want the store's {\"v\":2}", got)
	}
	st := f.c.ItemStats()
	if st.Hits != 2 || st.Misses != 1 {
		t.Errorf("got %d hits %d misses, want 2 and 1", st.Hits, st.Misses)
	}
}

func TestWritesUpdateTheItemCache(t *testing.T) {
	f := newFixture(t)
	k := key("t1", "a")
	f.create(f.c, k, `{"v":1}`)
	if got := f.get(k); got != `{"v":1}` {
		t.Fatalf("get after create: got %s", got)
	}
	f.replace(f.c, k, `{"v":2}`)
	if got := f.get(k); got != `{"v":2}` {
		t.Fatalf("get after replace: got %s, want the write's value", got)
	}
	if err := f.c.Delete(ctx, k, items.Condition{}); err != nil {
		t.Fatal(err)
	}
	if got := f.get(k); got != "not found" {
		t.Fatalf("get after delete: got %s, want not found", got)
	}
	if st := f.c.ItemStats(); st.Misses != 0 {
		t.Errorf("got %d misses, want every read answered by the cache after the writes", st.Misses)
	}
}

func TestMissesAreCached(t *testing.T) {
	f := newFixture(t)
	k := key("t1", "late")
	if got := f.get(k); got != "not found" {
		t.Fatalf("got %s", got)
	}
	f.create(f.back, k, `{"v":1}`) // behind the cache
	if got := f.get(k); got != "not found" {
		t.Fatalf("get within the TTL of a cached miss: got %s, want not found", got)
	}
	f.clock.Advance(readcache.DefaultTTL)
	if got := f.get(k); got != `{"v":1}` {
		t.Fatalf("get after the TTL: got %s", got)
	}
	// A create through the cache replaces a cached miss at once.
	k2 := key("t1", "new")
	f.get(k2)
	f.create(f.c, k2, `{"v":2}`)
	if got := f.get(k2); got != `{"v":2}` {
		t.Fatalf("get after a create through the cache: got %s", got)
	}
}

func TestConsistentReadsBypass(t *testing.T) {
	f := newFixture(t)
	k := key("t1", "a")
	f.create(f.c, k, `{"v":1}`)
	f.replace(f.back, k, `{"v":2}`)
	it, err := f.c.Get(ctx, k, items.ReadOptions{Consistent: true})
	if err != nil || it.Attrs.String() != `{"v":2}` {
		t.Fatalf("consistent get: got %v %v, want the store's value", it, err)
	}
	// It did not fill the cache: an eventual read still has the old value.
	if got := f.get(k); got != `{"v":1}` {
		t.Fatalf("eventual get after a consistent one: got %s, want the cached value", got)
	}
	it, err = f.c.Get(readcache.Consistent(ctx), k, items.ReadOptions{})
	if err != nil || it.Attrs.String() != `{"v":2}` {
		t.Fatalf("get in a consistent context: got %v %v", it, err)
	}
	if st := f.c.ItemStats(); st.Bypasses != 2 {
		t.Errorf("got %d bypasses, want 2", st.Bypasses)
	}
}

func TestListIsStale(t *testing.T) {
	f := newFixture(t)
	f.create(f.c, key("t1", "a"), `{}`)
	if got := f.list(ctx, "t1", 10); !slices.Equal(got, []string{"a"}) {
		t.Fatalf("first list: got %q", got)
	}
	// A write through the cache updates the item cache only: the cached
	// page is stale, as DAX's query cache is.
	f.create(f.c, key("t1", "b"), `{}`)
	if got := f.list(ctx, "t1", 10); !slices.Equal(got, []string{"a"}) {
		t.Fatalf("list after a write: got %q, want the stale [a]", got)
	}
	// Another request (another limit) is another entry.
	if got := f.list(ctx, "t1", 5); !slices.Equal(got, []string{"a", "b"}) {
		t.Fatalf("list with another limit: got %q", got)
	}
	// A consistent list sees the write and leaves the cache alone.
	if got := f.list(readcache.Consistent(ctx), "t1", 10); !slices.Equal(got, []string{"a", "b"}) {
		t.Fatalf("consistent list: got %q", got)
	}
	if got := f.list(ctx, "t1", 10); !slices.Equal(got, []string{"a"}) {
		t.Fatalf("list after a consistent one: got %q, want the stale [a]", got)
	}
	f.clock.Advance(readcache.DefaultTTL)
	if got := f.list(ctx, "t1", 10); !slices.Equal(got, []string{"a", "b"}) {
		t.Fatalf("list after the TTL: got %q", got)
	}
}

func TestTTLOptions(t *testing.T) {
	f := newFixture(t, readcache.WithItemTTL(time.Minute), readcache.WithQueryTTL(0))
	k := key("t1", "a")
	f.create(f.c, k, `{"v":1}`)
	f.replace(f.back, k, `{"v":2}`)
	f.clock.Advance(59 * time.Second)
	if got := f.get(k); got != `{"v":1}` {
		t.Fatalf("get before a 1-minute TTL: got %s", got)
	}
	f.clock.Advance(time.Second)
	if got := f.get(k); got != `{"v":2}` {
		t.Fatalf("get at a 1-minute TTL: got %s", got)
	}
	// The query cache is off: lists are fresh.
	f.list(ctx, "t1", 10)
	f.create(f.c, key("t1", "b"), `{}`)
	if got := f.list(ctx, "t1", 10); len(got) != 2 {
		t.Fatalf("list with the query cache off: got %q", got)
	}
	if st := f.c.QueryStats(); st.Hits != 0 || st.Bypasses != 2 {
		t.Errorf("query cache off: got %+v", st)
	}
}

func TestLRUBounds(t *testing.T) {
	t.Run("Entries", func(t *testing.T) {
		f := newFixture(t, readcache.WithItemEntries(3))
		for _, id := range []string{"a", "b", "c"} {
			f.create(f.back, key("t", id), `{"v":1}`)
			f.get(key("t", id))
		}
		f.get(key("t", "a")) // a is now the most recent; b the least
		f.create(f.back, key("t", "d"), `{"v":1}`)
		f.get(key("t", "d")) // evicts b
		for _, id := range []string{"a", "b", "c", "d"} {
			f.replace(f.back, key("t", id), `{"v":2}`)
		}
		// Hits first: a miss fills the cache and evicts in turn.
		for _, c := range [][2]string{{"a", `{"v":1}`}, {"c", `{"v":1}`}, {"d", `{"v":1}`}, {"b", `{"v":2}`}} {
			if got := f.get(key("t", c[0])); got != c[1] {
				t.Errorf("%s: got %s, want %s (evicted entries are read again)", c[0], got, c[1])
			}
		}
		if st := f.c.ItemStats(); st.Evictions < 1 || st.Entries != 3 {
			t.Errorf("got %+v, want at least 1 eviction and 3 entries", st)
		}
	})
	t.Run("Bytes", func(t *testing.T) {
		f := newFixture(t, readcache.WithItemBytes(4096))
		big := `{"pad":"` + repeat('x', 1500) + `"}`
		for _, id := range []string{"a", "b", "c", "d"} {
			f.create(f.c, key("t", id), big)
		}
		st := f.c.ItemStats()
		if st.Bytes > 4096 || st.Entries >= 4 || st.Evictions == 0 {
			t.Errorf("got %+v, want at most 4096 bytes held and an eviction", st)
		}
		// An item larger than the whole bound is not cached at all.
		huge := `{"pad":"` + repeat('y', 5000) + `"}`
		f.create(f.c, key("t", "huge"), huge)
		f.replace(f.back, key("t", "huge"), `{}`)
		if got := f.get(key("t", "huge")); got != `{}` {
			t.Errorf("get of an item over the byte bound: got %.20s, want the store's value", got)
		}
	})
	t.Run("Queries", func(t *testing.T) {
		f := newFixture(t, readcache.WithQueryEntries(2))
		f.create(f.c, key("t", "a"), `{}`)
		for _, limit := range []int{1, 2, 3} {
			f.list(ctx, "t", limit)
		}
		f.create(f.back, key("t", "b"), `{}`)
		// limit 1 was evicted (and the page of 1 is the same anyway);
		// limit 2 and 3 are cached and stale.
		if got := f.list(ctx, "t", 2); len(got) != 1 {
			t.Errorf("cached page: got %q, want the stale [a]", got)
		}
		if st := f.c.QueryStats(); st.Evictions != 1 || st.Entries != 2 {
			t.Errorf("got %+v, want 1 eviction and 2 entries", st)
		}
	})
}

func repeat(c byte, n int) string {
	b := make([]byte, n)
	for i := range b {
		b[i] = c
	}
	return string(b)
}

func TestTenantIsolation(t *testing.T) {
	f := newFixture(t)
	a, b := key("alpha", "same"), key("beta", "same")
	f.create(f.c, a, `{"owner":"alpha"}`)
	// beta's miss is cached; it does not hide or reveal alpha's item.
	if got := f.get(b); got != "not found" {
		t.Fatalf("beta reads alpha's id: got %s", got)
	}
	if got := f.get(a); got != `{"owner":"alpha"}` {
		t.Fatalf("alpha after beta's miss: got %s", got)
	}
	f.create(f.c, b, `{"owner":"beta"}`)
	f.replace(f.c, a, `{"owner":"alpha","v":2}`)
	if got := f.get(b); got != `{"owner":"beta"}` {
		t.Fatalf("beta after alpha's write: got %s", got)
	}
	if got := f.list(ctx, "alpha", 10); !slices.Equal(got, []string{"same"}) {
		t.Fatalf("alpha's list: got %q", got)
	}
	p, err := f.c.List(ctx, "beta", items.ListQuery{Limit: 10})
	if err != nil || len(p.Items) != 1 || p.Items[0].Tenant != "beta" || p.Items[0].Attrs.String() != `{"owner":"beta"}` {
		t.Fatalf("beta's list: got %+v %v", p, err)
	}
	if err := f.c.Delete(ctx, a, items.Condition{}); err != nil {
		t.Fatal(err)
	}
	if got := f.get(b); got != `{"owner":"beta"}` {
		t.Fatalf("beta after alpha's delete: got %s", got)
	}
}

func TestReplayIsNotCached(t *testing.T) {
	f := newFixture(t)
	k := key("t", "i1")
	idem := &items.Idempotency{Key: "k", Hash: "h"}
	if _, err := f.c.Create(ctx, k, attrs(t, `{"v":1}`), idem); err != nil {
		t.Fatal(err)
	}
	f.replace(f.c, k, `{"v":2}`)
	c, err := f.c.Create(ctx, key("t", "i2"), attrs(t, `{"v":1}`), idem)
	if err != nil || !c.Replayed {
		t.Fatalf("replay: got %v, %v", c, err)
	}
	if got := f.get(k); got != `{"v":2}` {
		t.Fatalf("get after a replay: got %s, want the item as last written", got)
	}
}

// blockingStore holds a Get until released, to order a read's fill after
// a concurrent write (a fault injected into the backend's timing).
type blockingStore struct {
	items.Store
	entered, release chan struct{}
}

func (s *blockingStore) Get(ctx context.Context, key items.Key, opt items.ReadOptions) (*items.Item, error) {
	it, err := s.Store.Get(ctx, key, opt)
	if s.entered != nil {
		close(s.entered)
		<-s.release
	}
	return it, err
}

func TestSlowReadDoesNotUndoAWrite(t *testing.T) {
	for _, write := range []string{"replace", "delete", "failed"} {
		t.Run(write, func(t *testing.T) {
			clk := newClock()
			back := &blockingStore{Store: openSQLite(t, clk.Now)}
			c := readcache.New(back, readcache.WithClock(clk.Now))
			k := key("t", "a")
			first, err := back.Store.Create(ctx, k, attrs(t, `{"v":1}`), nil)
			if err != nil {
				t.Fatal(err)
			}
			back.entered, back.release = make(chan struct{}), make(chan struct{})
			done := make(chan struct{})
			go func() {
				defer close(done)
				c.Get(ctx, k, items.ReadOptions{}) // reads {"v":1}, then waits
			}()
			<-back.entered
			want := `{"v":2}`
			switch write {
			case "replace":
				if _, err := c.Replace(ctx, k, attrs(t, `{"v":2}`), items.Condition{}); err != nil {
					t.Fatal(err)
				}
			case "delete":
				if err := c.Delete(ctx, k, items.Condition{}); err != nil {
					t.Fatal(err)
				}
				want = "not found"
			case "failed":
				// The write fails (its rev is not the item's), after another
				// writer changed the item behind the cache.
				if _, err := back.Store.Replace(ctx, k, attrs(t, `{"v":2}`), items.Condition{}); err != nil {
					t.Fatal(err)
				}
				_, err := c.Replace(ctx, k, attrs(t, `{"v":3}`), items.Condition{IfRev: first.Item.Rev})
				if items.ErrorCode(err) != items.EPRECONDITION {
					t.Fatalf("stale replace: got %v", err)
				}
			}
			back.entered = nil
			close(back.release)
			<-done
			it, err := c.Get(ctx, k, items.ReadOptions{})
			got := "not found"
			if err == nil {
				got = it.Attrs.String()
			}
			if got != want {
				t.Fatalf("after a slow read that began before the write: got %s, want %s", got, want)
			}
		})
	}
}

func TestClose(t *testing.T) {
	f := newFixture(t)
	k := key("t", "a")
	f.create(f.c, k, `{}`)
	f.get(k)
	if err := f.c.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := f.c.Get(ctx, k, items.ReadOptions{}); err == nil {
		t.Fatal("get after close: answered from memory, want the closed store's error")
	}
	if _, err := f.c.List(ctx, "t", items.ListQuery{Limit: 1}); err == nil {
		t.Fatal("list after close: got no error")
	}
}

func TestCallersCannotChangeTheCache(t *testing.T) {
	f := newFixture(t)
	k := key("t", "a")
	f.create(f.c, k, `{"a":"original"}`)
	it, _ := f.c.Get(ctx, k, items.ReadOptions{})
	for i := range it.Attrs {
		it.Attrs[i] = 'X'
	}
	p, _ := f.c.List(ctx, "t", items.ListQuery{Limit: 1})
	p2, _ := f.c.List(ctx, "t", items.ListQuery{Limit: 1})
	for i := range p.Items[0].Attrs {
		p.Items[0].Attrs[i] = 'X'
	}
	if got := f.get(k); got != `{"a":"original"}` {
		t.Fatalf("get after the caller scribbled on a read item: got %s", got)
	}
	p3, _ := f.c.List(ctx, "t", items.ListQuery{Limit: 1})
	if p3.Items[0].Attrs.String() != `{"a":"original"}` || p2.Items[0].Attrs.String() != `{"a":"original"}` {
		t.Fatalf("list after the caller scribbled on a listed item: got %s", p3.Items[0].Attrs)
	}
}
