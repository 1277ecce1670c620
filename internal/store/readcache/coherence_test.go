package readcache_test

import (
	"context"
	"fmt"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/surgehq/surge/internal/items"
	"github.com/surgehq/surge/internal/store/dynamo/dynalitetest"
	"github.com/surgehq/surge/internal/store/memstore"
	"github.com/surgehq/surge/internal/store/readcache"
	"github.com/surgehq/surge/internal/store/remote"
)

// The tests of this file are the findings, reproduced on every
// store: concurrent writes through the cache must leave it holding what
// the store holds, whatever order the writes' answers come back in.

// gate is a store wrapper that can hold a write's answer (after the store
// has made the write) until the test lets it go, to order the answers of
// concurrent writes against the order of the writes themselves.
type gate struct {
	items.Store
	mu sync.Mutex
	// hold, when set, is asked after each successful write (and read)
	// whether to hold its answer, and on what.
	hold func(op string, it *items.Item) <-chan struct{}
}

func (g *gate) Get(ctx context.Context, key items.Key, opt items.ReadOptions) (*items.Item, error) {
	it, err := g.Store.Get(ctx, key, opt)
	if err == nil {
		g.wait("get", it)
	}
	return it, err
}

func (g *gate) wait(op string, it *items.Item) {
	g.mu.Lock()
	h := g.hold
	g.mu.Unlock()
	if h == nil {
		return
	}
	if ch := h(op, it); ch != nil {
		<-ch
	}
}

func (g *gate) setHold(h func(op string, it *items.Item) <-chan struct{}) {
	g.mu.Lock()
	g.hold = h
	g.mu.Unlock()
}

func (g *gate) Replace(ctx context.Context, key items.Key, a items.Attributes, cond items.Condition) (*items.Item, error) {
	it, err := g.Store.Replace(ctx, key, a, cond)
	if err == nil {
		g.wait("replace", it)
	}
	return it, err
}

func (g *gate) Delete(ctx context.Context, key items.Key, cond items.Condition) error {
	err := g.Store.Delete(ctx, key, cond)
	if err == nil {
		g.wait("delete", nil)
	}
	return err
}

func (g *gate) Create(ctx context.Context, key items.Key, a items.Attributes, idem *items.Idempotency) (*items.Created, error) {
	c, err := g.Store.Create(ctx, key, a, idem)
	if err == nil {
		g.wait("create", c.Item)
	}
	return c, err
}

// rig is a read cache in front of one backend, reached as a client
// reaches it: front is what the test reads and writes through (the Cache,
// or a remote Client of a Server of the Cache, as the function instances
// of the local Lambda reach it), gate is the backend behind the cache.
type rig struct {
	front items.Store
	cache *readcache.Cache
	gate  *gate
	back  items.Store
}

// stores are the backends every coherence test runs on.
var stores = []struct {
	name string
	open func(t *testing.T) (back items.Store, remoteFront bool)
}{
	{"Memory", func(t *testing.T) (items.Store, bool) { return memstore.New(), false }},
	{"SQLite", func(t *testing.T) (items.Store, bool) { return openSQLite(t, items.Now), false }},
	{"DynamoDB", func(t *testing.T) (items.Store, bool) { return dynalitetest.NewStore(t), false }},
	{"RemoteSQLite", func(t *testing.T) (items.Store, bool) { return openSQLite(t, items.Now), true }},
}

func forEachStore(t *testing.T, test func(t *testing.T, r *rig)) {
	for _, s := range stores {
		t.Run(s.name, func(t *testing.T) {
			back, viaRemote := s.open(t)
			r := &rig{gate: &gate{Store: back}, back: back}
			r.cache = readcache.New(r.gate)
			r.front = r.cache
			if viaRemote {
				srv := httptest.NewServer(remote.NewServer(r.cache))
				t.Cleanup(srv.Close)
				c := remote.NewClient(srv.URL)
				t.Cleanup(func() { c.Close() })
				r.front = c
			}
			test(t, r)
		})
	}
}

// read returns the version the front answers for k, 0 for not found.
func (r *rig) read(t *testing.T, k items.Key) int64 {
	t.Helper()
	it, err := r.front.Get(ctx, k, items.ReadOptions{})
	if items.ErrorCode(err) == items.ENOTFOUND {
		return 0
	}
	if err != nil {
		t.Fatalf("get %v: %v", k, err)
	}
	return it.Version
}

// stored returns the version the backend holds for k, 0 for none.
func (r *rig) stored(t *testing.T, k items.Key) int64 {
	t.Helper()
	it, err := r.back.Get(ctx, k, items.ReadOptions{Consistent: true})
	if items.ErrorCode(err) == items.ENOTFOUND {
		return 0
	}
	if err != nil {
		t.Fatalf("get %v from the store: %v", k, err)
	}
	return it.Version
}

const concurrentWriters = 50

// TestConcurrentReplacesThenGet is the first finding: fifty
// concurrent PUTs of one item, all acknowledged, then a GET, which must
// answer the last version the store holds.
func TestConcurrentReplacesThenGet(t *testing.T) {
	forEachStore(t, func(t *testing.T, r *rig) {
		k := key("t", "hot")
		if _, err := r.front.Create(ctx, k, attrs(t, `{"n":0}`), nil); err != nil {
			t.Fatal(err)
		}
		r.read(t, k) // cached at version 1
		var wg sync.WaitGroup
		for i := range concurrentWriters {
			wg.Go(func() {
				if _, err := r.front.Replace(ctx, k, attrs(t, fmt.Sprintf(`{"n":%d}`, i+1)), items.Condition{}); err != nil {
					t.Errorf("replace %d: %v", i, err)
				}
			})
		}
		wg.Wait()
		if got, want := r.read(t, k), r.stored(t, k); got != want || want != concurrentWriters+1 {
			t.Fatalf("get after %d acknowledged replaces: got version %d, the store holds %d (want %d)",
				concurrentWriters, got, want, concurrentWriters+1)
		}
	})
}

// TestOldestAnswerLast orders the same race so that it fails every time
// a cache lets the last answer win: the write that made version 2 answers
// only after the other forty-nine have.
func TestOldestAnswerLast(t *testing.T) {
	forEachStore(t, func(t *testing.T, r *rig) {
		k := key("t", "hot")
		if _, err := r.front.Create(ctx, k, attrs(t, `{"n":0}`), nil); err != nil {
			t.Fatal(err)
		}
		r.read(t, k)
		others := make(chan struct{})
		var answered sync.WaitGroup
		answered.Add(concurrentWriters - 1)
		r.gate.setHold(func(op string, it *items.Item) <-chan struct{} {
			if it.Version == 2 {
				return others
			}
			return nil
		})
		var wg sync.WaitGroup
		for i := range concurrentWriters {
			wg.Go(func() {
				it, err := r.front.Replace(ctx, k, attrs(t, fmt.Sprintf(`{"n":%d}`, i+1)), items.Condition{})
				if err != nil {
					t.Errorf("replace %d: %v", i, err)
				}
				if err != nil || it.Version != 2 {
					answered.Done()
				}
			})
		}
		answered.Wait()
		close(others)
		wg.Wait()
		if got := r.read(t, k); got != concurrentWriters+1 {
			t.Fatalf("get after the oldest write answered last: got version %d, want %d", got, concurrentWriters+1)
		}
	})
}

// TestDeleteRacingReplaces is the second finding: a DELETE races
// two PUTs, one of which made its write before the delete but answers
// after it; the delete is acknowledged, and a GET must find nothing.
func TestDeleteRacingReplaces(t *testing.T) {
	forEachStore(t, func(t *testing.T, r *rig) {
		k := key("t", "doomed")
		if _, err := r.front.Create(ctx, k, attrs(t, `{"n":0}`), nil); err != nil {
			t.Fatal(err)
		}
		r.read(t, k)
		deleted := make(chan struct{})
		written := make(chan struct{})
		r.gate.setHold(func(op string, it *items.Item) <-chan struct{} {
			if op == "replace" {
				close(written)
				return deleted
			}
			return nil
		})
		first := make(chan error, 1)
		go func() {
			_, err := r.front.Replace(ctx, k, attrs(t, `{"n":1}`), items.Condition{})
			first <- err
		}()
		<-written // the first PUT is in the store, its answer held
		r.gate.setHold(nil)
		if err := r.front.Delete(ctx, k, items.Condition{}); err != nil {
			t.Fatalf("delete: %v", err)
		}
		_, err := r.front.Replace(ctx, k, attrs(t, `{"n":2}`), items.Condition{})
		if items.ErrorCode(err) != items.ENOTFOUND {
			t.Fatalf("the second PUT, after the delete: got %v, want not found", err)
		}
		close(deleted)
		if err := <-first; err != nil {
			t.Fatalf("the first PUT: %v", err)
		}
		if got := r.read(t, k); got != 0 {
			t.Fatalf("get after an acknowledged delete: got version %d, want not found", got)
		}
	})
}

// TestDeleteThenCreate deletes and creates again under one id, whose
// version starts again at 1: the cache must answer the new item, not the
// deleted one nor the tombstone, however the answers are ordered.
func TestDeleteThenCreate(t *testing.T) {
	forEachStore(t, func(t *testing.T, r *rig) {
		k := key("t", "reborn")
		if _, err := r.front.Create(ctx, k, attrs(t, `{"life":1}`), nil); err != nil {
			t.Fatal(err)
		}
		for range 3 {
			if _, err := r.front.Replace(ctx, k, attrs(t, `{"life":1}`), items.Condition{}); err != nil {
				t.Fatal(err)
			}
		}
		if got := r.read(t, k); got != 4 {
			t.Fatalf("before the delete: got version %d, want 4", got)
		}
		if err := r.front.Delete(ctx, k, items.Condition{}); err != nil {
			t.Fatal(err)
		}
		if got := r.read(t, k); got != 0 {
			t.Fatalf("after the delete: got version %d, want not found", got)
		}
		c, err := r.front.Create(ctx, k, attrs(t, `{"life":2}`), nil)
		if err != nil {
			t.Fatal(err)
		}
		it, err := r.front.Get(ctx, k, items.ReadOptions{})
		if err != nil || it.Rev != c.Item.Rev || it.Version != 1 {
			t.Fatalf("after the create again: got %+v %v, want version 1 rev %s", it, err, c.Item.Rev)
		}
	})
}

// TestConcurrentWritersAndReaders runs writers and readers of a few items
// at once through the cache, each reader checking that it never reads an
// item older than the newest write acknowledged before its read began
// (read-your-writes, and more: every client's acknowledged writes).
func TestConcurrentWritersAndReaders(t *testing.T) {
	forEachStore(t, func(t *testing.T, r *rig) {
		const (
			keys    = 3
			writers = 4
			readers = 4
			rounds  = 40
		)
		var acked [keys]struct {
			sync.Mutex
			version int64 // newest version acknowledged; -1 once deleted
		}
		for i := range keys {
			if _, err := r.front.Create(ctx, key("t", fmt.Sprint(i)), attrs(t, `{}`), nil); err != nil {
				t.Fatal(err)
			}
			acked[i].version = 1
		}
		deadline := time.Now().Add(time.Minute)
		var wg sync.WaitGroup
		for w := range writers {
			wg.Go(func() {
				for n := range rounds {
					i := (w + n) % keys
					it, err := r.front.Replace(ctx, key("t", fmt.Sprint(i)), attrs(t, fmt.Sprintf(`{"w":%d}`, w)), items.Condition{})
					if err != nil {
						t.Errorf("replace: %v", err)
						return
					}
					a := &acked[i]
					a.Lock()
					a.version = max(a.version, it.Version)
					a.Unlock()
				}
			})
		}
		for range readers {
			wg.Go(func() {
				for n := 0; n < rounds*2 && time.Now().Before(deadline); n++ {
					i := n % keys
					a := &acked[i]
					a.Lock()
					floor := a.version
					a.Unlock()
					it, err := r.front.Get(ctx, key("t", fmt.Sprint(i)), items.ReadOptions{})
					if err != nil {
						t.Errorf("get: %v", err)
						return
					}
					if it.Version < floor {
						t.Errorf("item %d: read version %d after version %d was acknowledged", i, it.Version, floor)
						return
					}
				}
			})
		}
		wg.Wait()
		for i := range keys {
			k := key("t", fmt.Sprint(i))
			if got, want := r.read(t, k), r.stored(t, k); got != want {
				t.Errorf("item %d at rest: the cache answers version %d, the store holds %d", i, got, want)
			}
		}
	})
}

// TestFillsInVersionOrder races two reads that miss, after a write made
// behind the cache (by another process): the read that saw the older
// version answers last, and must not replace the newer one in the cache.
func TestFillsInVersionOrder(t *testing.T) {
	forEachStore(t, func(t *testing.T, r *rig) {
		k := key("t", "raced")
		if _, err := r.back.Create(ctx, k, attrs(t, `{"v":1}`), nil); err != nil {
			t.Fatal(err)
		}
		read, release := make(chan struct{}), make(chan struct{})
		r.gate.setHold(func(op string, it *items.Item) <-chan struct{} {
			if op == "get" && it.Version == 1 {
				close(read)
				return release
			}
			return nil
		})
		slow := make(chan int64, 1)
		go func() { slow <- r.read(t, k) }()
		<-read // the slow read has version 1, held
		if _, err := r.back.Replace(ctx, k, attrs(t, `{"v":2}`), items.Condition{}); err != nil {
			t.Fatal(err)
		}
		if got := r.read(t, k); got != 2 {
			t.Fatalf("a read after the write behind the cache: got version %d, want 2", got)
		}
		close(release)
		if got := <-slow; got != 1 {
			t.Fatalf("the slow read: got version %d, want 1", got)
		}
		r.gate.setHold(nil)
		if got := r.read(t, k); got != 2 {
			t.Fatalf("after the slow read answered: got version %d, want 2 (an older fill replaced a newer entry)", got)
		}
	})
}
