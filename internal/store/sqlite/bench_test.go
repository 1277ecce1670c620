package sqlite_test

import (
	"fmt"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/surgehq/surge/internal/items"
	"github.com/surgehq/surge/internal/store/sqlite"
)

// benchAttrs is a typical small item, about 200 bytes.
var benchAttrs = items.Attributes(`{"name":"widget","description":"a thing that one buys and then forgets in a drawer","price":12.5,"tags":["a","b","c"],"stock":{"warehouse":"east","count":12345}}`)

// fill creates n items with ids key(0..n-1) using concurrent writers, so
// that group commit makes setup quick.
func fill(b *testing.B, s *sqlite.Store, n int) {
	b.Helper()
	var next atomic.Int64
	var wg sync.WaitGroup
	for w := 0; w < 32; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1)) - 1
				if i >= n {
					return
				}
				if _, err := s.Create(ctx, benchKey(i), benchAttrs, nil); err != nil {
					b.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
}

func benchKey(i int) items.Key { return items.Key{Tenant: "bench", ID: fmt.Sprintf("item-%08d", i)} }

const benchItems = 10000

func BenchmarkGet(b *testing.B) {
	s, _ := MustOpen(b)
	fill(b, s, benchItems)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := s.Get(ctx, benchKey(rand.IntN(benchItems)), items.ReadOptions{}); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkGetParallel(b *testing.B) {
	s, _ := MustOpen(b)
	fill(b, s, benchItems)
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := s.Get(ctx, benchKey(rand.IntN(benchItems)), items.ReadOptions{}); err != nil {
				b.Error(err)
				return
			}
		}
	})
}

// BenchmarkCreate is one writer creating one item at a time: each create
// waits for its own commit.
func BenchmarkCreate(b *testing.B) {
	s, _ := MustOpen(b)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := s.Create(ctx, benchKey(i), benchAttrs, nil); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkReplace(b *testing.B) {
	s, _ := MustOpen(b)
	fill(b, s, benchItems)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := s.Replace(ctx, benchKey(i%benchItems), benchAttrs, items.Condition{}); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkDelete(b *testing.B) {
	s, _ := MustOpen(b)
	fill(b, s, b.N)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if err := s.Delete(ctx, benchKey(i), items.Condition{}); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkList50 reads pages of 50 items from random places.
func BenchmarkList50(b *testing.B) {
	s, _ := MustOpen(b)
	fill(b, s, benchItems)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		after := benchKey(rand.IntN(benchItems - 100)).ID
		p, err := s.List(ctx, "bench", items.ListQuery{After: after, Limit: 50})
		if err != nil {
			b.Fatal(err)
		}
		if len(p.Items) != 50 {
			b.Fatalf("got %d items", len(p.Items))
		}
	}
}

// BenchmarkCreateParallel has many concurrent writers (16 per core), with
// group commit (the default) and with one transaction per write
// (WithMaxBatch(1)), under both sync modes: the ratio of group to single
// is what group commit gains. The batch metric is the mean number of
// writes per transaction.
func BenchmarkCreateParallel(b *testing.B) {
	for _, sync := range []string{"normal", "full"} {
		for _, mode := range []struct {
			name  string
			batch int
		}{{"group", sqlite.DefaultMaxBatch}, {"single", 1}} {
			b.Run(sync+"/"+mode.name, func(b *testing.B) {
				obs := &batchObserver{}
				s, _ := MustOpen(b, sqlite.WithSync(sync), sqlite.WithMaxBatch(mode.batch), sqlite.WithObserver(obs))
				var next atomic.Int64
				b.ReportAllocs()
				b.SetParallelism(16)
				b.ResetTimer()
				b.RunParallel(func(pb *testing.PB) {
					for pb.Next() {
						if _, err := s.Create(ctx, benchKey(int(next.Add(1))), benchAttrs, nil); err != nil {
							b.Error(err)
							return
						}
					}
				})
				b.StopTimer()
				if batches, writes, _ := obs.stats(); batches > 0 {
					b.ReportMetric(float64(writes)/float64(batches), "writes/txn")
				}
			})
		}
	}
}

// BenchmarkOpen opens an existing database as a function instance does
// (one read connection) and reads one item: the store's share of a local
// function's cold start; with the writer at open, and on first write (as
// function instances open it). Closing (which an instance never does: it
// is killed) is not timed.
func BenchmarkOpen(b *testing.B) {
	path := b.TempDir() + "/items.db"
	s, err := sqlite.Open(path)
	if err != nil {
		b.Fatal(err)
	}
	fill(b, s, 10)
	s.Close()
	for _, c := range []struct {
		name string
		opts []sqlite.Option
	}{
		{"writer-at-open", []sqlite.Option{sqlite.WithReadConns(1)}},
		{"writer-on-first-write", []sqlite.Option{sqlite.WithReadConns(1), sqlite.WithWriterOnFirstWrite()}},
	} {
		b.Run(c.name, func(b *testing.B) {
			for b.Loop() {
				s, err := sqlite.Open(path, c.opts...)
				if err != nil {
					b.Fatal(err)
				}
				if _, err := s.Get(ctx, benchKey(1), items.ReadOptions{}); err != nil {
					b.Fatal(err)
				}
				b.StopTimer()
				s.Close()
				b.StartTimer()
			}
		})
	}
}
