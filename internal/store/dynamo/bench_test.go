package dynamo_test

import (
	"strconv"
	"strings"
	"testing"

	"github.com/surgehq/surge/internal/items"
	"github.com/surgehq/surge/internal/store/dynamo"
	"github.com/surgehq/surge/internal/store/dynamo/dynalitetest"
)

// The store benchmarks run against dynalite: they catch regressions in the
// store's own work and round trips, and say nothing of DynamoDB on AWS.

// benchAttrs is a typical item of about 200 bytes.
var benchAttrs = items.Attributes(`{"name":"widget","price":12.5,"tags":["a","b","c"],"stock":{"warehouse":"north","count":1234},"active":true,"note":"` + strings.Repeat("x", 80) + `"}`)

func BenchmarkCreate(b *testing.B) {
	s := dynalitetest.NewStore(b)
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		if _, err := s.Create(ctx, items.Key{Tenant: "bench", ID: "c" + strconv.Itoa(i)}, benchAttrs, nil); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkCreateIdempotent(b *testing.B) {
	s := dynalitetest.NewStore(b)
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		id := "c" + strconv.Itoa(i)
		if _, err := s.Create(ctx, items.Key{Tenant: "bench", ID: id}, benchAttrs, &items.Idempotency{Key: id, Hash: "h"}); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkGet(b *testing.B) {
	for _, consistent := range []bool{false, true} {
		b.Run("consistent="+strconv.FormatBool(consistent), func(b *testing.B) {
			s := dynalitetest.NewStore(b)
			key := items.Key{Tenant: "bench", ID: "g"}
			if _, err := s.Create(ctx, key, benchAttrs, nil); err != nil {
				b.Fatal(err)
			}
			b.ResetTimer()
			for b.Loop() {
				if _, err := s.Get(ctx, key, items.ReadOptions{Consistent: consistent}); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkReplace(b *testing.B) {
	s := dynalitetest.NewStore(b)
	key := items.Key{Tenant: "bench", ID: "r"}
	it, err := s.Create(ctx, key, benchAttrs, nil)
	if err != nil {
		b.Fatal(err)
	}
	rev := it.Item.Rev
	b.ResetTimer()
	for b.Loop() {
		it, err := s.Replace(ctx, key, benchAttrs, items.Condition{IfRev: rev})
		if err != nil {
			b.Fatal(err)
		}
		rev = it.Rev
	}
}

func BenchmarkDelete(b *testing.B) {
	s := dynalitetest.NewStore(b)
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		b.StopTimer()
		key := items.Key{Tenant: "bench", ID: "d" + strconv.Itoa(i)}
		if _, err := s.Create(ctx, key, benchAttrs, nil); err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		if err := s.Delete(ctx, key, items.Condition{}); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkList(b *testing.B) {
	for _, limit := range []int{10, 100} {
		b.Run("limit="+strconv.Itoa(limit), func(b *testing.B) {
			s := dynalitetest.NewStore(b)
			for i := range 2 * limit {
				if _, err := s.Create(ctx, items.Key{Tenant: "bench", ID: "l" + strconv.Itoa(1000+i)}, benchAttrs, nil); err != nil {
					b.Fatal(err)
				}
			}
			b.ResetTimer()
			for b.Loop() {
				p, err := s.List(ctx, "bench", items.ListQuery{Limit: limit})
				if err != nil {
					b.Fatal(err)
				}
				if len(p.Items) != limit || p.Next == "" {
					b.Fatalf("got %d items", len(p.Items))
				}
			}
		})
	}
}

// BenchmarkConvert measures the conversion alone, both ways.
func BenchmarkConvert(b *testing.B) {
	b.Run("ToAV", func(b *testing.B) {
		b.SetBytes(int64(len(benchAttrs)))
		for b.Loop() {
			if _, err := dynamo.AttributesToAV(benchAttrs); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("FromAV", func(b *testing.B) {
		av, err := dynamo.AttributesToAV(benchAttrs)
		if err != nil {
			b.Fatal(err)
		}
		b.SetBytes(int64(len(benchAttrs)))
		for b.Loop() {
			if _, err := dynamo.AVToAttributes(av.Value); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("ItemSize", func(b *testing.B) {
		av, err := dynamo.AttributesToAV(benchAttrs)
		if err != nil {
			b.Fatal(err)
		}
		for b.Loop() {
			dynamo.ItemSize(av.Value)
		}
	})
}
