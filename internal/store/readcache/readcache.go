// Package readcache is a read-through cache in front of any items.Store,
// with the semantics of DynamoDB Accelerator (DAX):
//
//   - an item cache for Get, keyed by the item's key (tenant and id), and a
//     query cache for List, keyed by the whole request (tenant, start and
//     limit); each has a TTL (default 5 minutes) and an LRU bound;
//   - writes go to the store first and then update the item cache only:
//     a listing served from the query cache may miss a write made since
//     it was cached, until its TTL runs out (as with DAX's query cache);
//   - misses (not found) are cached too, as DAX caches negative results;
//   - strongly consistent reads (items.ReadOptions.Consistent, or a context
//     marked with Consistent) bypass the caches and do not fill them.
//
// Unlike a cache where the last answer to arrive wins, the item cache is
// ordered (see order.go): it never holds an item older than the newest
// write acknowledged through it, whatever order concurrent writes and
// reads answer in, so a Get through the cache reads every write made
// through it before the Get began.
//
// A Cache sees only the writes made through it: a write by another process
// (or through another Cache) shows only after the TTL, as with two DAX
// clusters in front of one table. That is why the function instances of
// `surge serve --functions` share one Cache over the network (package
// remote) rather than each keeping its own.
//
// A Cache is the only store layer that is a store of its own; timing,
// metrics and tracing are hooks of store.Instrument around it. Its
// counters are read with ItemStats and QueryStats (package metrics
// exports them to Prometheus), and its lookups are recorded as
// Server-Timing's "readcache" metric.
package readcache

import (
	"bytes"
	"context"
	"hash/maphash"
	"sync/atomic"
	"time"

	"github.com/surgehq/surge/internal/items"
	"github.com/surgehq/surge/internal/observe/servertiming"
)

// Defaults of the options, after DAX's.
const (
	// DefaultTTL is the TTL of both caches: DAX's default record and query
	// TTL.
	DefaultTTL = 5 * time.Minute
	// DefaultItemEntries and DefaultQueryEntries bound the caches' entry
	// counts.
	DefaultItemEntries  = 100_000
	DefaultQueryEntries = 10_000
	// DefaultItemBytes and DefaultQueryBytes bound the caches' sizes, as a
	// DAX node's memory bounds its caches.
	DefaultItemBytes  = 128 << 20
	DefaultQueryBytes = 64 << 20
)

// TimingName is the Server-Timing metric of time spent in the caches'
// lookups (the store's own time is reported by the caller as "store").
const TimingName = "readcache"

// entryOverhead is what an entry costs beyond its data, counted against the
// byte bounds.
const entryOverhead = 160

// Cache is a read-through items.Store over another one. Create it with New.
type Cache struct {
	s         items.Store
	now       items.Clock
	itemTTL   time.Duration
	queryTTL  time.Duration
	itemMax   int
	queryMax  int
	itemBytes int64
	qBytes    int64

	itemCache  *lru[items.Key, *entry]
	queryCache *lru[queryKey, *items.Page]

	closed atomic.Bool
	stats  [2]counters // by kind: itemKind, queryKind

	// writes tracks the writes made through the cache, striped by key
	// (see order.go).
	writes [writeStripes]writeState
	seed   maphash.Seed
}

type queryKey struct {
	tenant string
	after  string
	limit  int
}

const (
	itemKind = iota
	queryKind
)

type counters struct {
	hits, misses, bypasses atomic.Uint64
}

var _ items.Store = (*Cache)(nil)

// Option configures a Cache.
type Option func(*Cache)

// WithItemTTL sets the item cache's TTL (default DefaultTTL); 0 or less
// turns the item cache off.
func WithItemTTL(d time.Duration) Option { return func(c *Cache) { c.itemTTL = d } }

// WithQueryTTL sets the query cache's TTL (default DefaultTTL); 0 or less
// turns the query cache off.
func WithQueryTTL(d time.Duration) Option { return func(c *Cache) { c.queryTTL = d } }

// WithItemEntries bounds the item cache's entries (default
// DefaultItemEntries).
func WithItemEntries(n int) Option { return func(c *Cache) { c.itemMax = max(n, 1) } }

// WithQueryEntries bounds the query cache's entries (default
// DefaultQueryEntries).
func WithQueryEntries(n int) Option { return func(c *Cache) { c.queryMax = max(n, 1) } }

// WithItemBytes bounds the item cache's size in bytes (default
// DefaultItemBytes); 0 or less means no byte bound.
func WithItemBytes(n int64) Option { return func(c *Cache) { c.itemBytes = n } }

// WithQueryBytes bounds the query cache's size in bytes (default
// DefaultQueryBytes); 0 or less means no byte bound.
func WithQueryBytes(n int64) Option { return func(c *Cache) { c.qBytes = n } }

// WithClock sets the clock that TTLs are measured by (default time.Now).
func WithClock(now items.Clock) Option { return func(c *Cache) { c.now = now } }

// New returns a Cache in front of s.
func New(s items.Store, opts ...Option) *Cache {
	c := &Cache{
		s:         s,
		now:       time.Now,
		itemTTL:   DefaultTTL,
		queryTTL:  DefaultTTL,
		itemMax:   DefaultItemEntries,
		queryMax:  DefaultQueryEntries,
		itemBytes: DefaultItemBytes,
		qBytes:    DefaultQueryBytes,
		seed:      maphash.MakeSeed(),
	}
	for _, o := range opts {
		o(c)
	}
	if c.itemTTL > 0 {
		c.itemCache = newLRU[items.Key, *entry](c.itemMax, c.itemBytes)
	}
	if c.queryTTL > 0 {
		c.queryCache = newLRU[queryKey, *items.Page](c.queryMax, c.qBytes)
	}
	return c
}

type consistentKey struct{}

// Consistent returns a context whose reads bypass the caches, as DynamoDB's
// ConsistentRead does for GetItem, Query and Scan through DAX. It is how a
// caller asks for a strongly consistent List, which has no ReadOptions.
func Consistent(ctx context.Context) context.Context {
	return context.WithValue(ctx, consistentKey{}, true)
}

func isConsistent(ctx context.Context) bool {
	v, _ := ctx.Value(consistentKey{}).(bool)
	return v
}

// Get implements items.Store: an eventually consistent read is answered by
// the item cache when it holds the key (an item, or a cached miss), else
// read from the store and cached, unless a write of the key began or ended
// meanwhile.
func (c *Cache) Get(ctx context.Context, key items.Key, opt items.ReadOptions) (*items.Item, error) {
	if c.itemCache == nil || opt.Consistent || c.closed.Load() || isConsistent(ctx) {
		c.stats[itemKind].bypasses.Add(1)
		return c.s.Get(ctx, key, opt)
	}
	start := time.Now()
	now := c.now()
	e, ok := c.itemCache.get(key, now)
	servertiming.Since(ctx, TimingName, start)
	if ok {
		c.stats[itemKind].hits.Add(1)
		if e.it == nil {
			return nil, notFound()
		}
		return cloneItem(e.it), nil
	}
	c.stats[itemKind].misses.Add(1)
	tok := c.beginFill(key)
	got, err := c.s.Get(ctx, key, opt)
	switch {
	case err == nil:
		c.endFill(key, tok, &entry{it: cloneItem(got)}, now)
		return got, nil
	case items.ErrorCode(err) == items.ENOTFOUND:
		c.endFill(key, tok, &entry{}, now)
		return nil, err
	default:
		return nil, err
	}
}

// List implements items.Store: a page is answered by the query cache when
// it holds the same request, else read from the store and cached. Writes
// do not update the query cache, so a cached page may be stale.
func (c *Cache) List(ctx context.Context, tenant string, q items.ListQuery) (*items.Page, error) {
	if c.queryCache == nil || c.closed.Load() || isConsistent(ctx) {
		c.stats[queryKind].bypasses.Add(1)
		return c.s.List(ctx, tenant, q)
	}
	start := time.Now()
	now := c.now()
	k := queryKey{tenant: tenant, after: q.After, limit: q.Limit}
	p, ok := c.queryCache.get(k, now)
	servertiming.Since(ctx, TimingName, start)
	if ok {
		c.stats[queryKind].hits.Add(1)
		return clonePage(p), nil
	}
	c.stats[queryKind].misses.Add(1)
	got, err := c.s.List(ctx, tenant, q)
	if err != nil {
		return nil, err
	}
	cp := clonePage(got)
	c.queryCache.put(k, cp, pageSize(cp), now.Add(c.queryTTL))
	return got, nil
}

// Create implements items.Store: the store creates, then the new item goes
// into the item cache (replacing a cached miss). A replayed create changes
// nothing, and its item (as first created) may be stale, so it is not
// cached.
func (c *Cache) Create(ctx context.Context, key items.Key, attrs items.Attributes, idem *items.Idempotency) (*items.Created, error) {
	tok := c.beginWrite(key)
	cr, err := c.s.Create(ctx, key, attrs, idem)
	var result *entry
	if err == nil && !cr.Replayed {
		result = &entry{it: cloneItem(cr.Item)}
	}
	c.endWrite(key, tok, result)
	return cr, err
}

// Replace implements items.Store: the store writes, then the item cache
// takes the new item.
func (c *Cache) Replace(ctx context.Context, key items.Key, attrs items.Attributes, cond items.Condition) (*items.Item, error) {
	tok := c.beginWrite(key)
	it, err := c.s.Replace(ctx, key, attrs, cond)
	var result *entry
	if err == nil {
		result = &entry{it: cloneItem(it)}
	}
	c.endWrite(key, tok, result)
	return it, err
}

// Delete implements items.Store: the store deletes, then the item cache
// records the miss, as a tombstone that carries the deleted item's stamp
// when the cache held it.
func (c *Cache) Delete(ctx context.Context, key items.Key, cond items.Condition) error {
	tok := c.beginWrite(key)
	err := c.s.Delete(ctx, key, cond)
	var result *entry
	if err == nil {
		result = &entry{}
		if was := tok.was; was != nil && was.it != nil && (cond.IfRev == "" || cond.IfRev == was.it.Rev) {
			result.tomb = stampOf(was.it)
		}
	}
	c.endWrite(key, tok, result)
	return err
}

// stripe returns the write state of key's stripe.
func (c *Cache) stripe(key items.Key) *writeState {
	return &c.writes[maphash.Comparable(c.seed, key)%writeStripes]
}

// Ping implements items.Store.
func (c *Cache) Ping(ctx context.Context) error { return c.s.Ping(ctx) }

// Close implements items.Store: it empties the caches, so that nothing is
// answered from memory once the store is closed, and closes the store.
func (c *Cache) Close() error {
	c.closed.Store(true)
	if c.itemCache != nil {
		c.itemCache.purge()
	}
	if c.queryCache != nil {
		c.queryCache.purge()
	}
	return c.s.Close()
}

// Stats are a Cache's counters.
type Stats struct {
	// Hits, Misses and Bypasses count lookups: answered from the cache,
	// read from the store and cached, and sent to the store without the
	// cache (consistent reads, a cache turned off).
	Hits, Misses, Bypasses uint64
	// Evictions counts entries dropped to respect the LRU bounds.
	Evictions uint64
	// Entries and Bytes are what the cache holds now.
	Entries int
	Bytes   int64
}

// ItemStats returns the item cache's counters.
func (c *Cache) ItemStats() Stats { return c.statsOf(itemKind) }

// QueryStats returns the query cache's counters.
func (c *Cache) QueryStats() Stats { return c.statsOf(queryKind) }

func (c *Cache) statsOf(kind int) Stats {
	s := Stats{
		Hits:     c.stats[kind].hits.Load(),
		Misses:   c.stats[kind].misses.Load(),
		Bypasses: c.stats[kind].bypasses.Load(),
	}
	switch {
	case kind == itemKind && c.itemCache != nil:
		s.Entries, s.Bytes, s.Evictions = c.itemCache.stats()
	case kind == queryKind && c.queryCache != nil:
		s.Entries, s.Bytes, s.Evictions = c.queryCache.stats()
	}
	return s
}

func notFound() error { return items.Errorf(items.ENOTFOUND, "Item not found.") }

// cloneItem returns a copy that shares nothing mutable with it: callers may
// change the items they get, and the cache must keep its own.
func cloneItem(it *items.Item) *items.Item {
	cp := *it
	cp.Attrs = bytes.Clone(it.Attrs)
	return &cp
}

func clonePage(p *items.Page) *items.Page {
	cp := &items.Page{Next: p.Next, Items: make([]*items.Item, len(p.Items))}
	for i, it := range p.Items {
		cp.Items[i] = cloneItem(it)
	}
	return cp
}

func itemSize(it *items.Item) int64 {
	return int64(len(it.Attrs)+len(it.Tenant)+len(it.ID)+len(it.Rev)) + entryOverhead
}

func missSize(key items.Key) int64 { return int64(len(key.Tenant)+len(key.ID)) + entryOverhead }

func pageSize(p *items.Page) int64 {
	n := int64(len(p.Next)) + entryOverhead
	for _, it := range p.Items {
		n += itemSize(it)
	}
	return n
}
