package table_test

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/surgehq/surge/internal/items"
	"github.com/surgehq/surge/internal/local/table"
	"github.com/surgehq/surge/internal/store/dynamo/dynalitetest"
	"github.com/surgehq/surge/internal/store/memstore"
	"github.com/surgehq/surge/internal/store/readcache"
	"github.com/surgehq/surge/internal/store/sqlite"
	"github.com/surgehq/surge/internal/store/storetest"
	"github.com/surgehq/surge/internal/testkit/manualclock"
)

// chargedOp is one operation of the script below, and the units it must
// be charged when they are known by hand (-1: compare the stores only).
type chargedOp struct {
	what string
	do   func(ctx context.Context, s items.Store) error
}

func attrs(t testing.TB, js string) items.Attributes {
	t.Helper()
	a, err := items.Canonicalize([]byte(js))
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// script is a run of operations of every kind, around the unit
// boundaries, with failures DynamoDB charges (a conflict, a failed
// condition, a missing item) and reads of several items.
func script(t *testing.T, tenant string) []chargedOp {
	pad := func(n int) string { return strings.Repeat("d", n) }
	key := func(id string) items.Key { return items.Key{Tenant: tenant, ID: id} }
	var rev string
	ops := []chargedOp{}
	add := func(what string, do func(ctx context.Context, s items.Store) error) {
		ops = append(ops, chargedOp{what, do})
	}
	create := func(id, js string) {
		add("create "+id, func(ctx context.Context, s items.Store) error {
			c, err := s.Create(ctx, key(id), attrs(t, js), nil)
			if err == nil {
				rev = c.Item.Rev
			}
			return err
		})
	}
	create("a", `{"name":"lamp","n":1}`)
	create("b", `{"name":"desk","data":"`+pad(900)+`"}`)
	create("c", `{"name":"lamp","data":"`+pad(3000)+`","price":12.5}`)
	create("d", `{"data":"`+pad(5000)+`","big":12345678901234567890,"list":[1,"x",{"y":true}]}`)
	create("e", `{"name":"lamp","data":"`+pad(1100)+`"}`)
	add("create a again", func(ctx context.Context, s items.Store) error {
		_, err := s.Create(ctx, key("a"), attrs(t, `{"data":"`+pad(1500)+`"}`), nil)
		return err
	})
	for _, id := range []string{"a", "c", "d", "zz"} {
		add("get "+id+" eventually consistent", func(ctx context.Context, s items.Store) error {
			_, err := s.Get(ctx, key(id), items.ReadOptions{})
			return err
		})
		add("get "+id+" strongly consistent", func(ctx context.Context, s items.Store) error {
			_, err := s.Get(ctx, key(id), items.ReadOptions{Consistent: true})
			return err
		})
	}
	add("replace a larger", func(ctx context.Context, s items.Store) error {
		_, err := s.Replace(ctx, key("a"), attrs(t, `{"name":"lamp","data":"`+pad(2100)+`"}`), items.Condition{})
		return err
	})
	add("replace c smaller", func(ctx context.Context, s items.Store) error {
		it, err := s.Replace(ctx, key("c"), attrs(t, `{"name":"lamp","n":3}`), items.Condition{})
		if err == nil {
			rev = it.Rev
		}
		return err
	})
	add("replace b with a stale rev", func(ctx context.Context, s items.Store) error {
		_, err := s.Replace(ctx, key("b"), attrs(t, `{"n":1}`), items.Condition{IfRev: "0000000000000000"})
		return err
	})
	add("replace a missing item", func(ctx context.Context, s items.Store) error {
		_, err := s.Replace(ctx, key("zz"), attrs(t, `{"data":"`+pad(1200)+`"}`), items.Condition{})
		return err
	})
	add("delete d with a stale rev", func(ctx context.Context, s items.Store) error {
		return s.Delete(ctx, key("d"), items.Condition{IfRev: "0000000000000000"})
	})
	add("delete c", func(ctx context.Context, s items.Store) error {
		return s.Delete(ctx, key("c"), items.Condition{IfRev: rev})
	})
	add("delete a missing item", func(ctx context.Context, s items.Store) error {
		return s.Delete(ctx, key("zz"), items.Condition{})
	})
	add("list all", func(ctx context.Context, s items.Store) error {
		_, err := s.List(ctx, tenant, items.ListQuery{Limit: 10})
		return err
	})
	for _, c := range []items.ScanQuery{{}, {Consistent: true}, {Limit: 2}, {After: "b", Limit: 2, Consistent: true}} {
		add(fmt.Sprintf("scan %+v", c), func(ctx context.Context, s items.Store) error {
			_, err := items.Scan(ctx, s, tenant, c)
			return err
		})
	}
	for _, q := range []items.IndexQuery{{Value: "lamp"}, {Value: "lamp", Limit: 1}, {Value: "desk"}} {
		add(fmt.Sprintf("query %+v", q), func(ctx context.Context, s items.Store) error {
			_, err := items.QueryIndex(ctx, s, tenant, q)
			return err
		})
	}
	return ops
}

// charges runs the script on a charged store over st and returns each
// operation's units, as its context's Usage got them, and its error code.
func charges(t *testing.T, st items.Store, tenant string) ([]items.Capacity, []string) {
	t.Helper()
	tb, err := table.New(table.Config{Name: "items"})
	if err != nil {
		t.Fatal(err)
	}
	s := table.NewStore(st, tb, table.StoreConfig{})
	var cs []items.Capacity
	var codes []string
	for _, op := range script(t, tenant) {
		ctx, u := items.NewUsageContext(context.Background())
		err := op.do(ctx, s)
		cs = append(cs, u.Capacity())
		codes = append(codes, items.ErrorCode(err))
	}
	st0 := tb.Stats()
	var read, write float64
	for _, c := range cs {
		read += c.Read
		write += c.Write
	}
	if st0.ConsumedRead != read || st0.ConsumedWrite != write {
		t.Errorf("the table was charged %v read and %v write units, the operations reported %v and %v",
			st0.ConsumedRead, st0.ConsumedWrite, read, write)
	}
	return cs, codes
}

// TestStoreCountEqualsDynalite runs the same operations through the
// capacity layer over SQLite and memory, which compute the units from the
// items' sizes, and over the DynamoDB store on dynalite, whose units are
// dynalite's ConsumedCapacity, and checks that every operation was
// charged the same. (dynalite counts a string's UTF-16 code units where
// DynamoDB counts UTF-8 bytes, so the items are ASCII; and it charges a
// Query that reads nothing 0 units where DynamoDB charges 1, so every
// query here reads something.)
func TestStoreCountEqualsDynalite(t *testing.T) {
	sq, err := sqlite.Open(filepath.Join(t.TempDir(), "items.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer sq.Close()
	dy := dynalitetest.NewStore(t)
	stores := []struct {
		name string
		s    items.Store
	}{{"dynamodb", dy}, {"sqlite", sq}, {"memory", memstore.New()}}
	var want []items.Capacity
	var wantCodes []string
	ops := script(t, "t")
	for i, st := range stores {
		got, codes := charges(t, st.s, "t")
		if i == 0 {
			want, wantCodes = got, codes
			for j, c := range got {
				if c.Read == 0 && c.Write == 0 {
					t.Errorf("%s: %s was charged nothing", st.name, ops[j].what)
				}
			}
			continue
		}
		for j := range got {
			if got[j] != want[j] || codes[j] != wantCodes[j] {
				t.Errorf("%s: %s: charged %+v (%q), DynamoDB (dynalite) %+v (%q)", st.name, ops[j].what, got[j], codes[j], want[j], wantCodes[j])
			}
		}
	}
}

// TestStoreUnits checks some charges by hand, on the memory store.
func TestStoreUnits(t *testing.T) {
	tb, _ := table.New(table.Config{Name: "items"})
	s := table.NewStore(memstore.New(), tb, table.StoreConfig{})
	run := func(what string, do func(ctx context.Context) error) items.Capacity {
		t.Helper()
		ctx, u := items.NewUsageContext(context.Background())
		if err := do(ctx); err != nil && items.ErrorCode(err) != items.ENOTFOUND {
			t.Fatalf("%s: %v", what, err)
		}
		return u.Capacity()
	}
	k := items.Key{Tenant: "default", ID: "a"}
	// An item of about 2.9 KB: 3 write units, 1 read unit (0.5
	// eventually).
	if c := run("create", func(ctx context.Context) error {
		_, err := s.Create(ctx, k, attrs(t, `{"data":"`+strings.Repeat("x", 2800)+`"}`), nil)
		return err
	}); c != (items.Capacity{Write: 3}) {
		t.Errorf("create of 3 KB: got %+v, want 3 write units", c)
	}
	if c := run("get", func(ctx context.Context) error { _, err := s.Get(ctx, k, items.ReadOptions{}); return err }); c != (items.Capacity{Read: 0.5}) {
		t.Errorf("eventually consistent get: got %+v, want 0.5", c)
	}
	if c := run("get", func(ctx context.Context) error {
		_, err := s.Get(ctx, k, items.ReadOptions{Consistent: true})
		return err
	}); c != (items.Capacity{Read: 1}) {
		t.Errorf("strongly consistent get: got %+v, want 1", c)
	}
	// Replacing it with a small item is charged on the larger: the old.
	if c := run("replace", func(ctx context.Context) error {
		_, err := s.Replace(ctx, k, attrs(t, `{"n":1}`), items.Condition{})
		return err
	}); c != (items.Capacity{Write: 3}) {
		t.Errorf("replace of 3 KB by 100 B: got %+v, want 3", c)
	}
	if c := run("get missing", func(ctx context.Context) error {
		_, err := s.Get(ctx, items.Key{Tenant: "default", ID: "zz"}, items.ReadOptions{})
		return err
	}); c != (items.Capacity{Read: 0.5}) {
		t.Errorf("get of a missing item: got %+v, want 0.5", c)
	}
	// 20 items of about 1 KB scanned: the sizes summed, then rounded to
	// 4 KB once: 6 units strongly consistent.
	for i := range 20 {
		run("create", func(ctx context.Context) error {
			_, err := s.Create(ctx, items.Key{Tenant: "scan", ID: fmt.Sprintf("i%02d", i)},
				attrs(t, `{"data":"`+strings.Repeat("x", 1000)+`"}`), nil)
			return err
		})
	}
	if c := run("scan", func(ctx context.Context) error {
		_, err := s.Scan(ctx, "scan", items.ScanQuery{Consistent: true})
		return err
	}); c.Read != 6 {
		t.Errorf("scan of 20 KB: got %+v, want 6 read units", c)
	}
}

// TestStoreThrottles checks a provisioned table's refusals through the
// layer: what its bucket holds passes, the next write is retried as the
// SDK retries (its delays here pass on the table's clock) and refused
// with the table's write capacity named, and a second later it passes.
func TestStoreThrottles(t *testing.T) {
	clock := manualclock.New(time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC))
	tb, err := table.New(table.Config{Name: "items", Mode: table.Provisioned, RCU: 2, WCU: 5, Now: clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	var slept []time.Duration
	s := table.NewStore(memstore.New(), tb, table.StoreConfig{Retryer: table.Retryer{
		Sleep: func(_ context.Context, d time.Duration) error { slept = append(slept, d); return nil },
		Rand:  func() float64 { return 0.5 },
	}})
	ctx := context.Background()
	for i := range 5 {
		if _, err := s.Create(ctx, items.Key{Tenant: "t", ID: fmt.Sprint(i)}, attrs(t, `{"n":1}`), nil); err != nil {
			t.Fatalf("write %d of 5 WCU: %v", i, err)
		}
	}
	_, err = s.Create(ctx, items.Key{Tenant: "t", ID: "5"}, attrs(t, `{"n":1}`), nil)
	if items.ErrorCode(err) != items.EUNAVAILABLE || items.LimitOf(err) != "table.write" || items.RetryAfter(err) < 1 {
		t.Fatalf("the sixth write: got %v (limit %q, retry after %d), want unavailable, table.write", err, items.LimitOf(err), items.RetryAfter(err))
	}
	if want := []time.Duration{500 * time.Millisecond, time.Second, 2 * time.Second}; fmt.Sprint(slept) != fmt.Sprint(want) {
		t.Errorf("the retryer slept %v, want %v (3 retries, half of 1, 2 and 4 s)", slept, want)
	}
	if st := tb.Stats(); st.WriteThrottled != 4 || st.ConsumedWrite != 5 {
		t.Errorf("stats: got %+v, want 4 throttles (each attempt) and 5 units", st)
	}
	// Reads have their own bucket.
	if _, err := s.Get(ctx, items.Key{Tenant: "t", ID: "0"}, items.ReadOptions{Consistent: true}); err != nil {
		t.Fatalf("a read while writes throttle: %v", err)
	}
	clock.Advance(time.Second)
	if _, err := s.Create(ctx, items.Key{Tenant: "t", ID: "5"}, attrs(t, `{"n":1}`), nil); err != nil {
		t.Fatalf("a write a second later: %v", err)
	}
	// A throttled read names the read capacity: the bucket holds 3 units
	// now (the 2 of the second past added to the 1 left).
	for i := range 4 {
		_, err := s.Get(ctx, items.Key{Tenant: "t", ID: "0"}, items.ReadOptions{Consistent: true})
		if i < 3 && err != nil {
			t.Fatalf("read %d of the 3 units the bucket holds: %v", i, err)
		}
		if i == 3 && items.LimitOf(err) != "table.read" {
			t.Fatalf("a read over the bucket: got %v, want table.read", err)
		}
	}
}

// TestStoreConformance runs the store conformance suite through the
// layer: charging changes no answer.
func TestStoreConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T, now items.Clock) items.Store {
		m := memstore.New()
		m.Now = now
		tb, err := table.New(table.Config{Name: "items"})
		if err != nil {
			t.Fatal(err)
		}
		return table.NewStore(m, tb, table.StoreConfig{})
	})
}

// TestReadCacheSavesReadUnits is DAX's effect on the table: with the read
// cache in front of the capacity layer (as surge serve stacks them), only
// a miss reads the table and is charged; a strongly consistent read
// passes the cache, as DAX passes it to DynamoDB, and is charged its
// full unit every time.
func TestReadCacheSavesReadUnits(t *testing.T) {
	sq, err := sqlite.Open(filepath.Join(t.TempDir(), "items.db"))
	if err != nil {
		t.Fatal(err)
	}
	tb, err := table.New(table.Config{Name: "items"})
	if err != nil {
		t.Fatal(err)
	}
	charged := table.NewStore(sq, tb, table.StoreConfig{})
	s := readcache.New(charged)
	defer s.Close()
	ctx := context.Background()
	k := items.Key{Tenant: "t", ID: "hot"}
	// Written below the cache (a write through it would fill it), so that
	// the first read misses.
	if _, err := charged.Create(ctx, k, attrs(t, `{"name":"lamp","n":1}`), nil); err != nil {
		t.Fatal(err)
	}
	for i := range 10 {
		uctx, u := items.NewUsageContext(ctx)
		if _, err := s.Get(uctx, k, items.ReadOptions{}); err != nil {
			t.Fatal(err)
		}
		if want := map[bool]float64{true: 0.5, false: 0}[i == 0]; u.Capacity().Read != want {
			t.Errorf("eventually consistent read %d: charged %v, want %v (a miss first, then hits)", i, u.Capacity().Read, want)
		}
	}
	for range 3 {
		if _, err := s.Get(ctx, k, items.ReadOptions{Consistent: true}); err != nil {
			t.Fatal(err)
		}
	}
	// 0.5 for the miss, 1 for each strongly consistent read.
	if st := tb.Stats(); st.ConsumedRead != 3.5 || st.ReadRequests != 4 {
		t.Errorf("the table consumed %v read units in %d reads, want 3.5 in 4", st.ConsumedRead, st.ReadRequests)
	}
}
