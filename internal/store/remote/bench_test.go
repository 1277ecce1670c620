package remote_test

import (
	"context"
	"fmt"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"

	"github.com/surgehq/surge/internal/items"
	"github.com/surgehq/surge/internal/store/readcache"
	"github.com/surgehq/surge/internal/store/remote"
	"github.com/surgehq/surge/internal/store/sqlite"
)

// BenchmarkGet reads one item from SQLite directly, and through the shared
// read cache over loopback HTTP as a function instance does: the price of
// the hop, which the cache repays when the store is further away (DynamoDB).
//
//	go test -run '^$' -bench Get ./internal/store/remote
func BenchmarkGet(b *testing.B) {
	ctx := context.Background()
	key := items.Key{Tenant: "t", ID: "bench"}
	st, client := benchStores(b, func(st items.Store) error {
		_, err := st.Create(ctx, key, items.Attributes(`{"name":"lamp","price":12.5}`), nil)
		return err
	})
	for _, tc := range []struct {
		name string
		st   items.Store
	}{{"sqlite", st}, {"dax-hit", client}} {
		b.Run(tc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := tc.st.Get(ctx, key, items.ReadOptions{}); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkList reads a page of 10 items (of 50, about 200 bytes each)
// through the shared read cache over loopback HTTP, as a function
// instance's GET /items?limit=10 does: both sides' encoding and decoding.
func BenchmarkList(b *testing.B) {
	ctx := context.Background()
	_, client := benchStores(b, func(st items.Store) error {
		for i := range 50 {
			key := items.Key{Tenant: "t", ID: fmt.Sprintf("item-%03d", i)}
			attrs := items.Attributes(`{"name":"a lamp for the desk","price":12.5,"tags":["light","desk"],"stock":{"east":4,"west":7},"note":"` + strings.Repeat("x", 80) + `"}`)
			if _, err := st.Create(ctx, key, attrs, nil); err != nil {
				return err
			}
		}
		return nil
	})
	b.ReportAllocs()
	for b.Loop() {
		page, err := client.List(ctx, "t", items.ListQuery{Limit: 10})
		if err != nil || len(page.Items) != 10 {
			b.Fatalf("%v %v", page, err)
		}
	}
}

// benchStores opens a SQLite store, fills it, and serves it through the
// shared read cache on loopback; it returns the store and a Client of it.
func benchStores(b *testing.B, fill func(items.Store) error) (items.Store, items.Store) {
	st, err := sqlite.Open(filepath.Join(b.TempDir(), "items.db"))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { st.Close() })
	if err := fill(st); err != nil {
		b.Fatal(err)
	}
	cache := readcache.New(st)
	b.Cleanup(func() { cache.Close() })
	srv := httptest.NewServer(remote.NewServer(cache))
	b.Cleanup(srv.Close)
	return st, remote.NewClient(srv.URL)
}
