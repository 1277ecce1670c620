package readcache

import (
	"sync"
	"time"

	"github.com/surgehq/surge/internal/items"
)

// How the item cache stays coherent with the store.
//
// Two mechanisms order what goes into the item cache, so that it never
// holds an item older than the newest write acknowledged through it:
//
//  1. Write tracking, per stripe of keys (writeState). A write begins by
//     dropping the key's entry and counting itself pending, before it
//     reaches the store; while any write of the stripe is pending, nothing
//     is stored for its keys and reads go to the store. When the write
//     ends, its result (the new item, or a tombstone for a delete) is
//     stored only if no other write of the stripe overlapped it; an
//     overlap means the order in which the writes reached the store is not
//     known here, so the entry is left empty and the next read fills it
//     from the store. A read that missed stores its answer only if no
//     write of the stripe began or ended while it read (the stripe's epoch
//     did not move): a miss in flight during an invalidation does not
//     store its answer.
//
//  2. Version order between entries (stamp). A fill never replaces an
//     entry that holds a newer version of the item. Items are ordered by
//     (CreatedAt, Version): a delete followed by a create under the same
//     id starts again at version 1, but with a later CreatedAt. A
//     tombstone carries the stamp of the item whose deletion it records
//     when the cache knew it. Where two entries cannot be ordered (a
//     tombstone of unknown age against an item, or two incarnations
//     created in the same millisecond), the entry is dropped and the next
//     read asks the store. This order matters for answers that reach the
//     cache without a write through it: two fills racing after a write by
//     another process, or eventually consistent reads.
//
// Together: a write through the cache is visible to every read that
// begins after it is acknowledged (read-your-writes for every client of
// the cache, which is what makes the histories of package lincheck
// linearizable with the cache on), and a write made elsewhere is visible
// once the entry it would change expires (the TTL), as with DAX.

// entry is what the item cache holds for a key: an item, or a tombstone
// (the item is absent).
type entry struct {
	// it is the item; nil for a tombstone.
	it *items.Item
	// tomb is the stamp of the item a tombstone records the deletion of;
	// zero when that item is not known (a read that found nothing).
	tomb stamp
}

// stamp places an item in the history of its key.
type stamp struct {
	createdAt time.Time
	version   int64
	rev       string
}

func stampOf(it *items.Item) stamp {
	return stamp{createdAt: it.CreatedAt, version: it.Version, rev: it.Rev}
}

func (s stamp) known() bool { return s.rev != "" }

// order is the result of comparing two entries.
type order int

const (
	older order = iota - 1
	same
	newer
	unordered
)

// compare says whether entry a is older than, the same as, newer than b,
// or cannot be ordered against it.
func compare(a, b *entry) order {
	switch {
	case a.it == nil && b.it == nil:
		return same // both say the item is absent
	case a.it != nil && b.it != nil:
		return compareStamps(stampOf(a.it), stampOf(b.it))
	case a.it != nil: // an item against a tombstone
		return compareWithTomb(stampOf(a.it), b.tomb)
	default: // a tombstone against an item
		return compareWithTomb(stampOf(b.it), a.tomb).neg()
	}
}

func compareStamps(a, b stamp) order {
	switch {
	case a.rev == b.rev:
		return same
	case a.createdAt.After(b.createdAt):
		return newer // a later incarnation of the id
	case a.createdAt.Before(b.createdAt):
		return older
	case a.version > b.version:
		return newer
	case a.version < b.version:
		return older
	}
	return unordered // two incarnations created in one millisecond
}

// compareWithTomb orders an item against a tombstone: the item is older
// when it is the deleted item or an earlier version of it, newer when it
// was created after the deleted item was.
func compareWithTomb(it, tomb stamp) order {
	if !tomb.known() {
		return unordered
	}
	if it.rev == tomb.rev {
		return older
	}
	switch o := compareStamps(it, tomb); o {
	case older, newer:
		return o
	}
	return unordered
}

func (o order) neg() order {
	if o == unordered {
		return o
	}
	return -o
}

// writeStripes is the number of write-tracking stripes: two keys in one
// stripe only make each other's writes drop entries more often than
// needed.
const writeStripes = 1024

// writeState tracks the writes of one stripe of keys. Its mutex is held
// while an entry of the stripe is stored or dropped for a write, so that
// what a write or a fill decides from the counters is what happens to
// the entry.
type writeState struct {
	mu sync.Mutex
	// pending counts the stripe's writes in flight.
	pending int
	// epoch moves at every write's beginning and end.
	epoch uint64
}

// writeToken is what a write's beginning recorded, for its end.
type writeToken struct {
	st *writeState
	// epoch is the stripe's epoch just after the write began.
	epoch uint64
	// overlapped is set when another write was pending as this one began.
	overlapped bool
	// was is the entry the write dropped as it began, if any.
	was *entry
}

// beginWrite marks a write of key as pending and drops key's entry, so
// that nothing cached from before the write is answered once the store
// may have made it.
func (c *Cache) beginWrite(key items.Key) writeToken {
	st := c.stripe(key)
	st.mu.Lock()
	defer st.mu.Unlock()
	tok := writeToken{st: st, overlapped: st.pending > 0}
	st.pending++
	st.epoch++
	tok.epoch = st.epoch
	if c.itemCache != nil {
		tok.was, _ = c.itemCache.take(key)
	}
	return tok
}

// endWrite ends a write of key: result (the item written, or a tombstone)
// is stored if no other write of the stripe overlapped this one, else,
// or when result is nil (the write failed, so its effect is unknown),
// the entry is left empty.
func (c *Cache) endWrite(key items.Key, tok writeToken, result *entry) {
	st := tok.st
	st.mu.Lock()
	defer st.mu.Unlock()
	clean := !tok.overlapped && st.epoch == tok.epoch
	st.pending--
	st.epoch++
	if c.itemCache == nil || c.closed.Load() {
		return
	}
	if !clean || result == nil {
		c.itemCache.remove(key)
		return
	}
	now := c.now()
	c.putOrdered(key, result, now)
}

// fillToken is what a read that missed recorded before it asked the
// store.
type fillToken struct {
	st    *writeState
	epoch uint64
	ok    bool // no write was pending: the answer may be stored
}

func (c *Cache) beginFill(key items.Key) fillToken {
	st := c.stripe(key)
	st.mu.Lock()
	defer st.mu.Unlock()
	return fillToken{st: st, epoch: st.epoch, ok: st.pending == 0}
}

// endFill stores a read's answer unless a write of the stripe began or
// ended while it read.
func (c *Cache) endFill(key items.Key, tok fillToken, e *entry, now time.Time) {
	if !tok.ok {
		return
	}
	st := tok.st
	st.mu.Lock()
	defer st.mu.Unlock()
	if st.epoch != tok.epoch || c.closed.Load() {
		return
	}
	c.putOrdered(key, e, now)
}

// putOrdered stores e at key unless the live entry there is newer; where
// the two cannot be ordered, it drops the entry. The caller holds the
// stripe's mutex.
func (c *Cache) putOrdered(key items.Key, e *entry, now time.Time) {
	c.itemCache.putWith(key, e, entrySize(key, e), now.Add(c.itemTTL), now, func(cur *entry) putAction {
		switch compare(e, cur) {
		case older, same:
			return putKeep
		case unordered:
			return putDrop
		}
		return putStore
	})
}

func entrySize(key items.Key, e *entry) int64 {
	if e.it == nil {
		return missSize(key) + int64(len(e.tomb.rev))
	}
	return itemSize(e.it)
}
