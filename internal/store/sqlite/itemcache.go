package sqlite

import (
	"slices"
	"sync"
	"sync/atomic"

	"github.com/surgehq/surge/internal/items"
)

// walStamp is a WAL-index header (48 bytes): SQLite changes it on every
// commit of any connection of any process (its change counter, last
// frame, salts and checksums), and on nothing else that changes what a
// read returns. Two equal stamps read at two times mean that no
// transaction committed in between.
type walStamp [12]uint32

// itemCache answers Get from memory while nothing has been committed
// since the item was read, by any process: each item is kept with the
// stamp read before the transaction that read it, and is answered only
// while the stamp read now is the same. A commit anywhere changes the
// stamp and so retires every item at once; a read that finds a header
// being written reads the database. Reads after a write therefore never
// see what it replaced, in this process or in another, which is the
// guarantee the store gives without the cache.
type itemCache struct {
	wal  *walIndex
	max  int64 // bytes of items kept per generation, about
	gen  atomic.Pointer[itemGeneration]
	hits atomic.Int64
}

// itemGeneration is what was read under one stamp.
type itemGeneration struct {
	stamp walStamp
	items sync.Map // items.Key -> *items.Item
	n     atomic.Int64
}

func newItemCache(wal *walIndex, max int64) *itemCache {
	if wal == nil || max <= 0 {
		return nil
	}
	return &itemCache{wal: wal, max: max}
}

// get returns the item kept for key if nothing has committed since it
// was read, and the stamp read now, which put takes; false when no stamp
// could be read (a header being written), and put must not be called.
func (c *itemCache) get(key items.Key) (*items.Item, walStamp, bool) {
	st, ok := c.wal.stamp()
	if !ok {
		return nil, st, false
	}
	g := c.gen.Load()
	if g == nil || g.stamp != st {
		return nil, st, true
	}
	v, found := g.items.Load(key)
	if !found {
		return nil, st, true
	}
	c.hits.Add(1)
	// The caller's own copy, as a read from the database is.
	it := *v.(*items.Item)
	it.Attrs = slices.Clone(it.Attrs)
	return &it, st, true
}

// put keeps it, read in a transaction that began after stamp st was
// read, if the stamp is still st: then no commit came between, and it
// is what the database holds now.
func (c *itemCache) put(st walStamp, it *items.Item) {
	if now, ok := c.wal.stamp(); !ok || now != st {
		return
	}
	g := c.gen.Load()
	if g == nil || g.stamp != st {
		ng := &itemGeneration{stamp: st}
		if !c.gen.CompareAndSwap(g, ng) {
			return // another read moved it on first
		}
		g = ng
	}
	if g.n.Add(int64(len(it.Attrs)+len(it.Key.Tenant)+len(it.Key.ID)+itemOverhead)) > c.max {
		return
	}
	kept := *it
	kept.Attrs = slices.Clone(it.Attrs) // the caller may change its own
	g.items.Store(it.Key, &kept)
}

// itemOverhead is about what an item kept costs beside its attributes and
// key: the item, its map entry and its generation's share.
const itemOverhead = 200

func (c *itemCache) close() {
	if c != nil {
		c.wal.close()
	}
}
