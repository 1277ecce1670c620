package sqlite_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ncruces/go-sqlite3"

	"github.com/surgehq/surge/internal/items"
	"github.com/surgehq/surge/internal/store/sqlite"
)

// rawConn opens a plain SQLite connection on path, as another process or
// a person with the sqlite3 shell would.
func rawConn(tb testing.TB, path string) *sqlite3.Conn {
	tb.Helper()
	c, err := sqlite3.Open(path)
	if err != nil {
		tb.Fatalf("open %s: %v", path, err)
	}
	if err := c.BusyTimeout(5 * time.Second); err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { c.Close() })
	return c
}

// queryInt runs a query that returns one integer.
func queryInt(tb testing.TB, c *sqlite3.Conn, sql string) int64 {
	tb.Helper()
	st, _, err := c.Prepare(sql)
	if err != nil {
		tb.Fatalf("%s: %v", sql, err)
	}
	defer st.Close()
	if !st.Step() {
		tb.Fatalf("%s: no row: %v", sql, st.Err())
	}
	return st.ColumnInt64(0)
}

// integrityCheck checks the database file with PRAGMA integrity_check.
func integrityCheck(tb testing.TB, path string) {
	tb.Helper()
	c := rawConn(tb, path)
	st, _, err := c.Prepare("PRAGMA integrity_check")
	if err != nil {
		tb.Fatal(err)
	}
	defer st.Close()
	var got []string
	for st.Step() {
		got = append(got, st.ColumnText(0))
	}
	if err := st.Err(); err != nil {
		tb.Fatalf("integrity_check: %v", err)
	}
	if len(got) != 1 || got[0] != "ok" {
		tb.Fatalf("integrity_check: got %q, want [ok]", got)
	}
}

func mustAttrs(tb testing.TB, js string) items.Attributes {
	tb.Helper()
	a, err := items.Canonicalize([]byte(js))
	if err != nil {
		tb.Fatal(err)
	}
	return a
}

func TestOpen(t *testing.T) {
	t.Run("CreatesDirectoryAndFile", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "a", "b", "items.db")
		MustOpenPath(t, path)
		if _, err := os.Stat(path); err != nil {
			t.Fatalf("the database file: %v", err)
		}
		c := rawConn(t, path)
		if v := queryInt(t, c, "PRAGMA user_version"); v != int64(sqlite.SchemaVersion) {
			t.Fatalf("user_version: got %d, want %d", v, sqlite.SchemaVersion)
		}
		st, _, err := c.Prepare("PRAGMA journal_mode")
		if err != nil {
			t.Fatal(err)
		}
		defer st.Close()
		if !st.Step() || st.ColumnText(0) != "wal" {
			t.Fatalf("journal_mode: got %q, want wal", st.ColumnText(0))
		}
	})
	t.Run("ErrNewerSchema", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "items.db")
		s := MustOpenPath(t, path)
		s.Close()
		c := rawConn(t, path)
		if err := c.Exec(fmt.Sprintf("PRAGMA user_version=%d", sqlite.SchemaVersion+1)); err != nil {
			t.Fatal(err)
		}
		if s, err := sqlite.Open(path); err == nil {
			s.Close()
			t.Fatal("open of a database with a newer schema: got no error")
		}
	})
	t.Run("ErrOptions", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "items.db")
		for _, o := range []sqlite.Option{sqlite.WithSync("sometimes"), sqlite.WithMaxBatch(0), sqlite.WithReadConns(0), sqlite.WithClock(nil), sqlite.WithBusyTimeout(-1)} {
			if s, err := sqlite.Open(path, o); err == nil {
				s.Close()
				t.Error("open with a bad option: got no error")
			}
		}
		if s, err := sqlite.Open(""); err == nil {
			s.Close()
			t.Error("open of an empty path: got no error")
		}
	})
	t.Run("SyncFull", func(t *testing.T) {
		s, _ := MustOpen(t, sqlite.WithSync("full"))
		if _, err := s.Create(ctx, items.Key{Tenant: "t", ID: "a"}, mustAttrs(t, `{"a":1}`), nil); err != nil {
			t.Fatal(err)
		}
	})
}

func TestReopen(t *testing.T) {
	path := filepath.Join(t.TempDir(), "items.db")
	s, err := sqlite.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]*items.Item{}
	for i := 0; i < 50; i++ {
		key := items.Key{Tenant: "t", ID: fmt.Sprintf("id%02d", i)}
		c, err := s.Create(ctx, key, mustAttrs(t, fmt.Sprintf(`{"i":%d,"big":12345678901234567890123456789}`, i)), &items.Idempotency{Key: key.ID, Hash: "h"})
		if err != nil {
			t.Fatal(err)
		}
		want[key.ID] = c.Item
	}
	it, err := s.Replace(ctx, items.Key{Tenant: "t", ID: "id07"}, mustAttrs(t, `{"replaced":true}`), items.Condition{})
	if err != nil {
		t.Fatal(err)
	}
	want["id07"] = it
	if err := s.Delete(ctx, items.Key{Tenant: "t", ID: "id08"}, items.Condition{}); err != nil {
		t.Fatal(err)
	}
	delete(want, "id08")
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}

	s = MustOpenPath(t, path)
	page, err := s.List(ctx, "t", items.ListQuery{Limit: 100})
	if err != nil {
		t.Fatal(err)
	}
	if len(page.Items) != len(want) {
		t.Fatalf("after reopen: got %d items, want %d", len(page.Items), len(want))
	}
	for _, got := range page.Items {
		w := want[got.ID]
		if w == nil || got.Rev != w.Rev || got.Version != w.Version || !got.UpdatedAt.Equal(w.UpdatedAt) || string(got.Attrs) != string(w.Attrs) {
			t.Fatalf("after reopen: got %+v, want %+v", got, w)
		}
	}
	// Idempotency records survive too.
	c, err := s.Create(ctx, items.Key{Tenant: "t", ID: "other"}, nil, &items.Idempotency{Key: "id03", Hash: "h"})
	if err != nil || !c.Replayed || c.Item.Rev != want["id03"].Rev {
		t.Fatalf("replay after reopen: got %+v, %v", c, err)
	}
	integrityCheck(t, path)
}

// TestTwoStores has two Store values on one file, as two processes would,
// incrementing one counter with conditional writes and creating items
// through both: no write is lost and the file stays sound.
func TestTwoStores(t *testing.T) {
	path := filepath.Join(t.TempDir(), "items.db")
	a := MustOpenPath(t, path)
	b := MustOpenPath(t, path)
	stores := []*sqlite.Store{a, b}
	counter := items.Key{Tenant: "t", ID: "counter"}
	if _, err := a.Create(ctx, counter, mustAttrs(t, `{"n":0}`), nil); err != nil {
		t.Fatal(err)
	}
	const (
		workers    = 4 // per store
		increments = 15
		creates    = 20
	)
	var conflicts atomic.Int64
	var wg sync.WaitGroup
	errs := make(chan error, 2*workers)
	for si, s := range stores {
		for w := 0; w < workers; w++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := 0; i < creates; i++ {
					key := items.Key{Tenant: "t", ID: fmt.Sprintf("s%d-w%d-%02d", si, w, i)}
					if _, err := s.Create(ctx, key, items.Attributes(fmt.Sprintf(`{"s":%d}`, si)), nil); err != nil {
						errs <- fmt.Errorf("create %s: %w", key.ID, err)
						return
					}
					// The other store sees it at once.
					if _, err := stores[1-si].Get(ctx, key, items.ReadOptions{Consistent: true}); err != nil {
						errs <- fmt.Errorf("get %s through the other store: %w", key.ID, err)
						return
					}
				}
				for done, tries := 0, 0; done < increments; tries++ {
					if tries > 100*increments {
						errs <- errors.New("too many conflicts")
						return
					}
					cur, err := s.Get(ctx, counter, items.ReadOptions{Consistent: true})
					if err != nil {
						errs <- err
						return
					}
					m, err := cur.Attrs.Map()
					if err != nil {
						errs <- err
						return
					}
					var n int
					fmt.Sscan(fmt.Sprint(m["n"]), &n)
					_, err = s.Replace(ctx, counter, items.Attributes(fmt.Sprintf(`{"n":%d}`, n+1)), items.Condition{IfRev: cur.Rev})
					switch items.ErrorCode(err) {
					case "":
						done++
					case items.EPRECONDITION:
						conflicts.Add(1)
					default:
						errs <- err
						return
					}
				}
			}()
		}
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	total := 2 * workers * increments
	for _, s := range stores {
		it, err := s.Get(ctx, counter, items.ReadOptions{Consistent: true})
		if err != nil {
			t.Fatal(err)
		}
		if want := fmt.Sprintf(`{"n":%d}`, total); string(it.Attrs) != want || it.Version != int64(total+1) {
			t.Fatalf("counter: got %s at version %d, want %s at version %d", it.Attrs, it.Version, want, total+1)
		}
		page, err := s.List(ctx, "t", items.ListQuery{Limit: 1000})
		if err != nil {
			t.Fatal(err)
		}
		if want := 2*workers*creates + 1; len(page.Items) != want {
			t.Fatalf("list: got %d items, want %d", len(page.Items), want)
		}
	}
	t.Logf("%d conditional writes lost a race and were retried", conflicts.Load())
	integrityCheck(t, path)
}

// TestBusy holds the write lock from another connection: a write waits
// for the busy timeout and then fails with EUNAVAILABLE, without SQLite's
// words, while reads go on.
func TestBusy(t *testing.T) {
	s, path := MustOpen(t, sqlite.WithBusyTimeout(100*time.Millisecond))
	key := items.Key{Tenant: "t", ID: "a"}
	if _, err := s.Create(ctx, key, nil, nil); err != nil {
		t.Fatal(err)
	}
	other := rawConn(t, path)
	if err := other.Exec("BEGIN IMMEDIATE"); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	_, err := s.Create(ctx, items.Key{Tenant: "t", ID: "b"}, nil, nil)
	if code := items.ErrorCode(err); code != items.EUNAVAILABLE {
		t.Fatalf("create while another holds the lock: got %v (code %q), want %q", err, code, items.EUNAVAILABLE)
	}
	if waited := time.Since(start); waited < 100*time.Millisecond {
		t.Errorf("create gave up after %v, before the busy timeout", waited)
	}
	if ra := items.RetryAfter(err); ra != 1 {
		t.Errorf("RetryAfter: got %d, want 1", ra)
	}
	if msg := items.ErrorMessage(err); strings.Contains(strings.ToLower(msg), "sqlite") || strings.Contains(msg, "locked") {
		t.Errorf("message shows the driver's words: %q", msg)
	}
	// WAL: readers are not blocked by a writer.
	if _, err := s.Get(ctx, key, items.ReadOptions{}); err != nil {
		t.Fatalf("get while another holds the write lock: %v", err)
	}
	if err := other.Exec("ROLLBACK"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Create(ctx, items.Key{Tenant: "t", ID: "b"}, nil, nil); err != nil {
		t.Fatalf("create after the lock is released: %v", err)
	}
}

// TestCancel checks that a waiter whose context ends gets a context error
// and that its abandoned write neither runs later nor disturbs the batch.
func TestCancel(t *testing.T) {
	t.Run("BeforeSubmit", func(t *testing.T) {
		s, _ := MustOpen(t)
		cctx, cancel := context.WithCancel(ctx)
		cancel()
		key := items.Key{Tenant: "t", ID: "a"}
		_, err := s.Create(cctx, key, nil, nil)
		if !errors.Is(err, context.Canceled) || items.ErrorCode(err) != items.EUNAVAILABLE {
			t.Fatalf("create with a canceled context: got %v", err)
		}
		if _, err := s.Get(ctx, key, items.ReadOptions{}); items.ErrorCode(err) != items.ENOTFOUND {
			t.Fatalf("get after a canceled create: got %v, want not_found", err)
		}
		if _, err := s.Get(cctx, key, items.ReadOptions{}); !errors.Is(err, context.Canceled) {
			t.Fatalf("get with a canceled context: got %v", err)
		}
	})
	t.Run("WhileQueued", func(t *testing.T) {
		s, path := MustOpen(t)
		other := rawConn(t, path)
		if err := other.Exec("BEGIN IMMEDIATE"); err != nil {
			t.Fatal(err)
		}
		// The writer is stuck waiting for the lock with a first write;
		// the second waits in the queue and gives up.
		first := make(chan error, 1)
		go func() {
			_, err := s.Create(ctx, items.Key{Tenant: "t", ID: "first"}, nil, nil)
			first <- err
		}()
		time.Sleep(20 * time.Millisecond)
		tctx, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
		defer cancel()
		_, err := s.Create(tctx, items.Key{Tenant: "t", ID: "late"}, nil, nil)
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("create that timed out: got %v", err)
		}
		if err := other.Exec("ROLLBACK"); err != nil {
			t.Fatal(err)
		}
		if err := <-first; err != nil {
			t.Fatalf("first create: %v", err)
		}
		if _, err := s.Create(ctx, items.Key{Tenant: "t", ID: "after"}, nil, nil); err != nil {
			t.Fatal(err)
		}
		if _, err := s.Get(ctx, items.Key{Tenant: "t", ID: "late"}, items.ReadOptions{}); items.ErrorCode(err) != items.ENOTFOUND {
			t.Fatalf("the abandoned create: got %v, want not_found", err)
		}
		integrityCheck(t, path)
	})
}

// batchObserver records the batch sizes the writer reports.
type batchObserver struct {
	mu    sync.Mutex
	sizes []int
}

func (o *batchObserver) OnBatch(size int, _ time.Duration) {
	o.mu.Lock()
	o.sizes = append(o.sizes, size)
	o.mu.Unlock()
}

func (o *batchObserver) stats() (batches, writes, largest int) {
	o.mu.Lock()
	defer o.mu.Unlock()
	for _, n := range o.sizes {
		writes += n
		largest = max(largest, n)
	}
	return len(o.sizes), writes, largest
}

// TestGroupCommit checks that concurrent writes share transactions, and
// that WithMaxBatch(1) gives each write its own.
func TestGroupCommit(t *testing.T) {
	run := func(t *testing.T, opts ...sqlite.Option) *batchObserver {
		obs := &batchObserver{}
		s, _ := MustOpen(t, append(opts, sqlite.WithObserver(obs))...)
		const writers, each = 32, 10
		var wg sync.WaitGroup
		var failed atomic.Int64
		for w := 0; w < writers; w++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := 0; i < each; i++ {
					if _, err := s.Create(ctx, items.Key{Tenant: "t", ID: fmt.Sprintf("w%02d-%02d", w, i)}, nil, nil); err != nil {
						failed.Add(1)
					}
				}
			}()
		}
		wg.Wait()
		if n := failed.Load(); n > 0 {
			t.Fatalf("%d creates failed", n)
		}
		page, err := s.List(ctx, "t", items.ListQuery{Limit: 1000})
		if err != nil || len(page.Items) != writers*each {
			t.Fatalf("list: got %d items (%v), want %d", len(page.Items), err, writers*each)
		}
		return obs
	}
	t.Run("Batches", func(t *testing.T) {
		obs := run(t)
		batches, writes, largest := obs.stats()
		if writes != 320 {
			t.Fatalf("observer saw %d writes, want 320", writes)
		}
		if largest < 2 {
			t.Fatalf("32 concurrent writers: largest batch %d, want more than 1", largest)
		}
		t.Logf("%d writes in %d transactions, largest %d", writes, batches, largest)
	})
	t.Run("MaxBatch", func(t *testing.T) {
		obs := run(t, sqlite.WithMaxBatch(4))
		if _, _, largest := obs.stats(); largest > 4 {
			t.Fatalf("WithMaxBatch(4): largest batch %d", largest)
		}
		obs = run(t, sqlite.WithMaxBatch(1))
		if batches, writes, largest := obs.stats(); largest != 1 || batches != writes {
			t.Fatalf("WithMaxBatch(1): %d writes in %d batches, largest %d", writes, batches, largest)
		}
	})
}

// TestBatchIsolation puts failing and succeeding writes in one batch:
// each failure is its own, the rest commit.
func TestBatchIsolation(t *testing.T) {
	obs := &batchObserver{}
	s, path := MustOpen(t, sqlite.WithObserver(obs))
	other := rawConn(t, path)
	key := func(id string) items.Key { return items.Key{Tenant: "t", ID: id} }
	base, err := s.Create(ctx, key("exists"), mustAttrs(t, `{"v":0}`), nil)
	if err != nil {
		t.Fatal(err)
	}
	// Hold the lock so that the writes below queue up into one batch.
	if err := other.Exec("BEGIN IMMEDIATE"); err != nil {
		t.Fatal(err)
	}
	big := items.Attributes(`{"pad":"` + strings.Repeat("x", items.MaxItemSize) + `"}`)
	type result struct {
		name string
		code string
	}
	ops := []struct {
		name string
		want string
		do   func() error
	}{
		{"ok1", "", func() error { _, err := s.Create(ctx, key("new1"), nil, nil); return err }},
		{"conflict", items.ECONFLICT, func() error { _, err := s.Create(ctx, key("exists"), nil, nil); return err }},
		{"toolarge", items.ETOOLARGE, func() error { _, err := s.Create(ctx, key("big"), big, nil); return err }},
		{"precondition", items.EPRECONDITION, func() error {
			_, err := s.Replace(ctx, key("exists"), nil, items.Condition{IfRev: "nope"})
			return err
		}},
		{"notfound", items.ENOTFOUND, func() error { return s.Delete(ctx, key("missing"), items.Condition{}) }},
		{"ok2", "", func() error {
			_, err := s.Replace(ctx, key("exists"), mustAttrs(t, `{"v":1}`), items.Condition{IfRev: base.Item.Rev})
			return err
		}},
		{"ok3", "", func() error { _, err := s.Create(ctx, key("new2"), nil, nil); return err }},
	}
	results := make(chan result, len(ops))
	for _, op := range ops {
		go func() { results <- result{op.name, items.ErrorCode(op.do())} }()
	}
	time.Sleep(100 * time.Millisecond) // let them all queue
	if err := other.Exec("ROLLBACK"); err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for range ops {
		r := <-results
		got[r.name] = r.code
	}
	for _, op := range ops {
		if got[op.name] != op.want {
			t.Errorf("%s: got code %q, want %q", op.name, got[op.name], op.want)
		}
	}
	for _, id := range []string{"new1", "new2"} {
		if _, err := s.Get(ctx, key(id), items.ReadOptions{}); err != nil {
			t.Errorf("get %s: %v", id, err)
		}
	}
	if it, err := s.Get(ctx, key("exists"), items.ReadOptions{}); err != nil || it.Version != 2 {
		t.Errorf("get exists: got %+v, %v; want version 2", it, err)
	}
	if _, _, largest := obs.stats(); largest < 2 {
		t.Logf("the writes did not share a batch (largest %d); the test still checked each answer", largest)
	}
}

// TestPurge checks that the writer deletes expired idempotency records.
func TestPurge(t *testing.T) {
	var now atomic.Int64
	now.Store(time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC).UnixNano())
	clock := func() time.Time { return time.Unix(0, now.Load()) }
	s, path := MustOpen(t, sqlite.WithClock(clock))
	for i := 0; i < 300; i++ {
		if _, err := s.Create(ctx, items.Key{Tenant: "t", ID: fmt.Sprintf("i%03d", i)}, nil, &items.Idempotency{Key: fmt.Sprint(i), Hash: "h"}); err != nil {
			t.Fatal(err)
		}
	}
	c := rawConn(t, path)
	if n := queryInt(t, c, "SELECT count(*) FROM idempotency"); n != 300 {
		t.Fatalf("idempotency records: got %d, want 300", n)
	}
	now.Add(int64(items.IdempotencyTTL + time.Hour))
	// Each write may trigger a pass of at most 256 deletions.
	for i := 0; i < 3; i++ {
		if _, err := s.Create(ctx, items.Key{Tenant: "t", ID: fmt.Sprintf("after%d", i)}, nil, nil); err != nil {
			t.Fatal(err)
		}
	}
	if n := queryInt(t, c, "SELECT count(*) FROM idempotency"); n != 0 {
		t.Fatalf("idempotency records after expiry: got %d, want 0", n)
	}
	if n := queryInt(t, c, "SELECT count(*) FROM items"); n != 303 {
		t.Fatalf("items: got %d, want 303", n)
	}
}

func TestClosedWaitsForWriter(t *testing.T) {
	// Writes acknowledged before Close are durable after it, and Close
	// with writes in flight answers them all.
	path := filepath.Join(t.TempDir(), "items.db")
	s, err := sqlite.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	var acked sync.Map
	for w := 0; w < 8; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 50; i++ {
				id := fmt.Sprintf("w%d-%02d", w, i)
				if _, err := s.Create(ctx, items.Key{Tenant: "t", ID: id}, nil, nil); err != nil {
					if items.ErrorCode(err) != items.EUNAVAILABLE {
						t.Errorf("create: %v", err)
					}
					return
				}
				acked.Store(id, true)
			}
		}()
	}
	time.Sleep(5 * time.Millisecond)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	wg.Wait()
	s = MustOpenPath(t, path)
	n := 0
	acked.Range(func(k, _ any) bool {
		n++
		if _, err := s.Get(ctx, items.Key{Tenant: "t", ID: k.(string)}, items.ReadOptions{}); err != nil {
			t.Errorf("acknowledged %s: %v", k, err)
		}
		return true
	})
	t.Logf("%d writes acknowledged before close", n)
}
