package readcache

import (
	"sync"
	"time"
)

// lru is a map bounded by entry count and by bytes, evicting the least
// recently used entry first, whose entries expire a fixed time after they
// were written. DAX's caches are LRU with a TTL; an exact LRU (rather than
// an admission-filtered one) keeps the bound predictable and testable.
// It is safe for concurrent use.
type lru[K comparable, V any] struct {
	mu         sync.Mutex
	m          map[K]*node[K, V]
	root       node[K, V] // root.next is the most recent, root.prev the least
	maxEntries int
	maxBytes   int64
	bytes      int64
	// evictions counts entries removed to respect a bound (not expiries).
	evictions uint64
}

type node[K comparable, V any] struct {
	key        K
	val        V
	size       int64
	expires    time.Time
	prev, next *node[K, V]
}

func newLRU[K comparable, V any](maxEntries int, maxBytes int64) *lru[K, V] {
	c := &lru[K, V]{m: make(map[K]*node[K, V]), maxEntries: maxEntries, maxBytes: maxBytes}
	c.root.next, c.root.prev = &c.root, &c.root
	return c
}

func (c *lru[K, V]) unlink(n *node[K, V]) {
	n.prev.next, n.next.prev = n.next, n.prev
	n.prev, n.next = nil, nil
}

func (c *lru[K, V]) pushFront(n *node[K, V]) {
	n.prev, n.next = &c.root, c.root.next
	c.root.next.prev = n
	c.root.next = n
}

func (c *lru[K, V]) removeNode(n *node[K, V]) {
	c.unlink(n)
	delete(c.m, n.key)
	c.bytes -= n.size
}

// get returns the live value at k and marks it most recently used. An
// expired entry is removed and reported absent.
func (c *lru[K, V]) get(k K, now time.Time) (V, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	n, ok := c.m[k]
	if !ok {
		var zero V
		return zero, false
	}
	if !now.Before(n.expires) {
		c.removeNode(n)
		var zero V
		return zero, false
	}
	c.unlink(n)
	c.pushFront(n)
	return n.val, true
}

// put stores v at k, replacing any entry, and evicts the least recently
// used entries until the bounds hold. A value larger than the byte bound is
// not stored (and any older entry at k is dropped).
func (c *lru[K, V]) put(k K, v V, size int64, expires time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.putLocked(k, v, size, expires)
}

// putAction is what putWith does with a value, given the live entry.
type putAction int

const (
	putStore putAction = iota // replace the live entry
	putKeep                   // keep the live entry, drop the value
	putDrop                   // drop both
)

// putWith stores v at k, unless a live entry is there and decide, given
// its value, says to keep it or to drop it; it reports whether it stored.
func (c *lru[K, V]) putWith(k K, v V, size int64, expires, now time.Time, decide func(cur V) putAction) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if n, ok := c.m[k]; ok && now.Before(n.expires) {
		switch decide(n.val) {
		case putKeep:
			return false
		case putDrop:
			c.removeNode(n)
			return false
		}
	}
	return c.putLocked(k, v, size, expires)
}

// take removes the entry at k and returns its value, if it was live.
func (c *lru[K, V]) take(k K) (V, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	n, ok := c.m[k]
	if !ok {
		var zero V
		return zero, false
	}
	c.removeNode(n)
	return n.val, true
}

func (c *lru[K, V]) putLocked(k K, v V, size int64, expires time.Time) bool {
	if n, ok := c.m[k]; ok {
		c.removeNode(n)
	}
	if c.maxBytes > 0 && size > c.maxBytes {
		return false
	}
	n := &node[K, V]{key: k, val: v, size: size, expires: expires}
	c.m[k] = n
	c.pushFront(n)
	c.bytes += size
	for len(c.m) > c.maxEntries || (c.maxBytes > 0 && c.bytes > c.maxBytes) {
		c.removeNode(c.root.prev)
		c.evictions++
	}
	return true
}

// remove drops the entry at k, if any.
func (c *lru[K, V]) remove(k K) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if n, ok := c.m[k]; ok {
		c.removeNode(n)
	}
}

// purge drops every entry.
func (c *lru[K, V]) purge() {
	c.mu.Lock()
	defer c.mu.Unlock()
	clear(c.m)
	c.root.next, c.root.prev = &c.root, &c.root
	c.bytes = 0
}

// stats returns the entry count, bytes held and evictions so far.
func (c *lru[K, V]) stats() (entries int, bytes int64, evictions uint64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.m), c.bytes, c.evictions
}
