package items

import (
	"context"
	"sync"
)

// Usage collects what store operations consumed, as DynamoDB counts it:
// capacity units of reads and writes, and of the reads served by a
// secondary index. A layer that asks for it puts one in the context of the
// operations it calls (WithUsage); whoever knows a count adds it to the
// Usage of its context (UsageFrom): the table's capacity layer, which
// computes units from item sizes, and a backend whose engine counts them
// itself (DynamoDB's ConsumedCapacity), or a client that learns them from
// the process that charged them.
//
// A backend also reports (Old, ReportOld) the item a write replaced or
// deleted (or that made a create fail), which the write's cost depends on
// and which only the backend sees: to OnOld, and measured by SizeOld,
// when they are set, and to the outer Usage when it asks.
//
// It is safe for concurrent use, but for OnOld and SizeOld, which are
// set before the Usage is passed down.
type Usage struct {
	// OnOld, when set, is called by a backend with the item a write
	// replaced or deleted, or that made a create fail, as the backend
	// read it in the same operation. Its Attrs may be borrowed from the
	// backend's memory and are valid only during the call. A backend that
	// cannot see it does not call it.
	OnOld func(old *Item)
	// SizeOld, when set, measures that item, and OldSize returns the
	// measure: a static function, so that a layer that needs only the
	// size does not allocate a closure for OnOld.
	SizeOld func(old *Item) int

	// outer is the Usage the context carried when this one was added.
	outer *Usage

	oldMu   sync.Mutex
	oldSize int
	sawOld  bool

	mu        sync.Mutex
	read      float64
	write     float64
	indexRead float64
	counted   bool
}

// Capacity is a count of capacity units: Read and Write, and IndexRead,
// the part of Read that a secondary index served.
type Capacity struct {
	Read, Write, IndexRead float64
}

// Add adds c to the usage.
func (u *Usage) Add(c Capacity) {
	u.mu.Lock()
	u.read += c.Read
	u.write += c.Write
	u.indexRead += c.IndexRead
	u.mu.Unlock()
}

// AddCounted adds units that a storage engine counted itself (DynamoDB's
// ConsumedCapacity), so that a layer above uses them rather than its own
// estimate.
func (u *Usage) AddCounted(c Capacity) {
	u.mu.Lock()
	u.read += c.Read
	u.write += c.Write
	u.indexRead += c.IndexRead
	u.counted = true
	u.mu.Unlock()
}

// Capacity returns the units added so far.
func (u *Usage) Capacity() Capacity {
	u.mu.Lock()
	defer u.mu.Unlock()
	return Capacity{Read: u.read, Write: u.write, IndexRead: u.indexRead}
}

// Counts returns the units added so far, and whether an engine's own
// count was among them.
func (u *Usage) Counts() (Capacity, bool) {
	u.mu.Lock()
	defer u.mu.Unlock()
	return Capacity{Read: u.read, Write: u.write, IndexRead: u.indexRead}, u.counted
}

// Counted reports whether an engine's own count was added.
func (u *Usage) Counted() bool {
	u.mu.Lock()
	defer u.mu.Unlock()
	return u.counted
}

// Outer returns the Usage that the context carried when u was added to
// it (WithUsage, NewUsageContext), or nil: a layer that counts an
// operation in a Usage of its own adds the result to the outer one.
func (u *Usage) Outer() *Usage { return u.outer }

// WantsOld reports whether u, or a Usage outside it, asks for old items:
// a backend that must read the old item on purpose does so only then.
func (u *Usage) WantsOld() bool {
	for ; u != nil; u = u.outer {
		if u.OnOld != nil || u.SizeOld != nil {
			return true
		}
	}
	return false
}

// Old reports an old item to u's OnOld and SizeOld, if set, and to the
// outer Usages that ask. Backends call it.
func (u *Usage) Old(it *Item) {
	for ; u != nil; u = u.outer {
		if u.SizeOld != nil {
			n := u.SizeOld(it)
			u.oldMu.Lock()
			u.oldSize, u.sawOld = n, true
			u.oldMu.Unlock()
		}
		if u.OnOld != nil {
			u.OnOld(it)
		}
	}
}

// OldSize returns the size SizeOld measured of the old item, and whether
// one was reported.
func (u *Usage) OldSize() (int, bool) {
	u.oldMu.Lock()
	defer u.oldMu.Unlock()
	return u.oldSize, u.sawOld
}

type usageKey struct{}

// usageCtx is a context carrying a Usage, allocated with it by
// NewUsageContext.
type usageCtx struct {
	context.Context
	u *Usage
}

func (c *usageCtx) Value(key any) any {
	if key == (usageKey{}) {
		return c.u
	}
	return c.Context.Value(key)
}

// WithUsage returns a context that carries u: the operations called with
// it add what they consume to u.
func WithUsage(ctx context.Context, u *Usage) context.Context {
	u.outer = UsageFrom(ctx)
	return &usageCtx{Context: ctx, u: u}
}

// NewUsageContext returns a context carrying a new Usage, allocated
// together.
func NewUsageContext(ctx context.Context) (context.Context, *Usage) {
	c := &struct {
		ctx usageCtx
		u   Usage
	}{}
	c.u.outer = UsageFrom(ctx)
	c.ctx = usageCtx{Context: ctx, u: &c.u}
	return &c.ctx, &c.u
}

// UsageFrom returns the Usage ctx carries, or nil. A nil *Usage ignores
// everything added to it.
func UsageFrom(ctx context.Context) *Usage {
	u, _ := ctx.Value(usageKey{}).(*Usage)
	return u
}

// AddUsage adds c to the Usage of ctx, if it has one.
func AddUsage(ctx context.Context, c Capacity) {
	if u := UsageFrom(ctx); u != nil {
		u.Add(c)
	}
}

// AddCountedUsage adds an engine's own count to the Usage of ctx, if it
// has one.
func AddCountedUsage(ctx context.Context, c Capacity) {
	if u := UsageFrom(ctx); u != nil {
		u.AddCounted(c)
	}
}

// ReportOld reports the item a write replaced or deleted to the Usage of
// ctx (Usage.Old), if it has one.
func ReportOld(ctx context.Context, old *Item) {
	if u := UsageFrom(ctx); u != nil {
		u.Old(old)
	}
}
