package table_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/surgehq/surge/internal/items"
	"github.com/surgehq/surge/internal/local/autoscaling"
	"github.com/surgehq/surge/internal/local/table"
	"github.com/surgehq/surge/internal/store/memstore"
)

// The in-process path's accounting per operation (goal: under 1 µs):
// units from an item's size and a charge against a provisioned table's
// bucket, with and without auto scaling, alone and from every core.

func benchTable(b *testing.B, scaling bool) *table.Table {
	b.Helper()
	cfg := table.Config{Name: "items", Mode: table.Provisioned, RCU: 1 << 30, WCU: 1 << 30}
	if scaling {
		d := table.Dimension{Min: 1 << 30, Max: 1 << 31, Target: 0.7, Actions: []autoscaling.Action{{Name: "peak", Schedule: "cron(0 8 ? * MON-FRI *)", Min: 1 << 30}}}
		cfg.Scaling = table.Scaling{Read: d, Write: d}
	}
	tb, err := table.New(cfg)
	if err != nil {
		b.Fatal(err)
	}
	return tb
}

func BenchmarkCharge(b *testing.B) {
	for _, bc := range []struct {
		name    string
		scaling bool
	}{{"provisioned", false}, {"autoscaling", true}} {
		b.Run(bc.name+"/write", func(b *testing.B) {
			tb := benchTable(b, bc.scaling)
			b.ReportAllocs()
			for i := 0; b.Loop(); i++ {
				if tb.Charge(table.Write, table.WriteUnits(300+i&2047)).Throttled {
					b.Fatal("throttled")
				}
			}
		})
		b.Run(bc.name+"/read", func(b *testing.B) {
			tb := benchTable(b, bc.scaling)
			b.ReportAllocs()
			for i := 0; b.Loop(); i++ {
				if tb.Admit(table.Read, table.ReadUnits(0, table.Eventual)).Throttled {
					b.Fatal("throttled")
				}
				tb.Settle(table.Read, 0.5, table.ReadUnits(300+i&8191, table.Eventual))
			}
		})
		b.Run(bc.name+"/parallel", func(b *testing.B) {
			tb := benchTable(b, bc.scaling)
			b.ReportAllocs()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					tb.Charge(table.Write, 1)
				}
			})
		})
	}
}

func BenchmarkChargeCompressed(b *testing.B) {
	tb, err := table.New(table.Config{Name: "items", Mode: table.Provisioned, RCU: 1 << 30, WCU: 1 << 30, Compression: 60, Now: time.Now})
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		tb.Charge(table.Write, 1)
	}
}

// BenchmarkStore is the capacity layer's cost per operation on the
// in-process path (goal: under 1 µs): the memory store's operations
// alone ("direct") and through NewStore on a provisioned table with auto
// scaling ("charged"), with the seed's 256-byte items; the accounting's
// cost is the difference. (The memory store is the fastest backend, so
// the ratio is the layer's worst case.)
func BenchmarkStore(b *testing.B) {
	ctx := context.Background()
	body := attrs(b, `{"name":"surge-256B-3","n":913277,"data":"`+strings.Repeat("alpha ", 35)+`"}`)
	for _, mode := range []string{"direct", "charged"} {
		open := func(b *testing.B) items.Store {
			m := memstore.New()
			if mode == "direct" {
				return m
			}
			return table.NewStore(m, benchTable(b, true), table.StoreConfig{})
		}
		b.Run("get/"+mode, func(b *testing.B) {
			s := open(b)
			key := items.Key{Tenant: "default", ID: "0193a5b2-7c4d-7e8f-9a0b-1c2d3e4f5a6b"}
			if _, err := s.Create(ctx, key, body, nil); err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			defer reportCPU(b)()
			for b.Loop() {
				if _, err := s.Get(ctx, key, items.ReadOptions{}); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run("replace/"+mode, func(b *testing.B) {
			s := open(b)
			key := items.Key{Tenant: "default", ID: "0193a5b2-7c4d-7e8f-9a0b-1c2d3e4f5a6b"}
			if _, err := s.Create(ctx, key, body, nil); err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			defer reportCPU(b)()
			for b.Loop() {
				if _, err := s.Replace(ctx, key, body, items.Condition{}); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run("create-delete/"+mode, func(b *testing.B) {
			s := open(b)
			key := items.Key{Tenant: "default", ID: "0193a5b2-7c4d-7e8f-9a0b-1c2d3e4f5a6b"}
			b.ReportAllocs()
			defer reportCPU(b)()
			for b.Loop() {
				if _, err := s.Create(ctx, key, body, nil); err != nil {
					b.Fatal(err)
				}
				if err := s.Delete(ctx, key, items.Condition{}); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// reportCPU reports the CPU time per operation of the benchmark from now
// until the returned function is called.
func reportCPU(b *testing.B) func() {
	start := cpuTime()
	return func() { b.ReportMetric(float64(cpuTime()-start)/float64(b.N), "cpu-ns/op") }
}

// nopStore answers every operation at once with one item, reporting it as
// the old item of writes, as a backend does: what a charged store adds
// over it is the capacity accounting alone.
type nopStore struct{ it *items.Item }

func (s nopStore) Get(context.Context, items.Key, items.ReadOptions) (*items.Item, error) {
	return s.it, nil
}
func (s nopStore) Create(context.Context, items.Key, items.Attributes, *items.Idempotency) (*items.Created, error) {
	return &items.Created{Item: s.it}, nil
}
func (s nopStore) Replace(ctx context.Context, _ items.Key, _ items.Attributes, _ items.Condition) (*items.Item, error) {
	items.ReportOld(ctx, s.it)
	return s.it, nil
}
func (s nopStore) Delete(ctx context.Context, _ items.Key, _ items.Condition) error {
	items.ReportOld(ctx, s.it)
	return nil
}
func (s nopStore) List(context.Context, string, items.ListQuery) (*items.Page, error) {
	return &items.Page{Items: []*items.Item{s.it}}, nil
}
func (s nopStore) Ping(context.Context) error { return nil }
func (s nopStore) Close() error               { return nil }

// BenchmarkAccounting is the capacity accounting's cost per operation on
// the in-process path (goal: under 1 µs): the capacity layer over a store
// that does nothing, on a provisioned table with auto scaling, with the
// seed's 256-byte items: admitting the operation against the bucket, the
// item sizes as DynamoDB counts them, the charge, the units added to the
// caller's Usage.
func BenchmarkAccounting(b *testing.B) {
	ctx := context.Background()
	body := attrs(b, `{"name":"surge-256B-3","n":913277,"data":"`+strings.Repeat("alpha ", 35)+`"}`)
	it := &items.Item{Key: items.Key{Tenant: "default", ID: "0193a5b2-7c4d-7e8f-9a0b-1c2d3e4f5a6b"}, Version: 3,
		CreatedAt: time.UnixMilli(1764633600000), UpdatedAt: time.UnixMilli(1764633600001), Rev: "0123456789abcdef", Attrs: body}
	s := table.NewStore(nopStore{it}, benchTable(b, true), table.StoreConfig{})
	for _, op := range []struct {
		name string
		do   func(context.Context) error
	}{
		{"get", func(ctx context.Context) error { _, err := s.Get(ctx, it.Key, items.ReadOptions{}); return err }},
		{"create", func(ctx context.Context) error { _, err := s.Create(ctx, it.Key, body, nil); return err }},
		{"replace", func(ctx context.Context) error { _, err := s.Replace(ctx, it.Key, body, items.Condition{}); return err }},
		{"delete", func(ctx context.Context) error { return s.Delete(ctx, it.Key, items.Condition{}) }},
	} {
		b.Run(op.name, func(b *testing.B) {
			// The caller's Usage, as itemsapi's store hook gives one.
			uctx, _ := items.NewUsageContext(ctx)
			b.ReportAllocs()
			defer reportCPU(b)()
			for b.Loop() {
				if err := op.do(uctx); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
