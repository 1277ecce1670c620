package expr

import "sync"

// Parsing is most of an expression's cost, and a service sees the same
// few expressions again and again with other values; so parsed
// expressions (and the errors that do not depend on the values) are kept
// in a bounded cache, keyed by grammar and text. Binding names and values
// is done afresh for every request.

// grammar is which parser an expression goes through.
type grammar uint8

const (
	gCondition grammar = iota
	gUpdate
	gProjection
)

type cacheKey struct {
	g    grammar
	text string
}

// parsed is a parsed expression, or the error of parsing it.
type parsed struct {
	cond *node
	upd  []section
	proj []path
	err  error
}

// CacheSize is the most parsed expressions the package keeps. Expressions
// are at most 4 KB, so the cache holds at most about 4 MB of text and
// their trees.
const CacheSize = 1024

// parseCache is a fixed-size map with FIFO eviction: cheap, and good
// enough where the working set of expressions is small.
type parseCache struct {
	mu   sync.Mutex
	m    map[cacheKey]*parsed
	ring []cacheKey
	hand int
	max  int
}

var cache = newParseCache(CacheSize)

func newParseCache(n int) *parseCache {
	// The map and the ring grow as expressions come (most processes see
	// none): made at their bound, they cost every process start 160 KB.
	return &parseCache{m: map[cacheKey]*parsed{}, max: n}
}

func (c *parseCache) get(k cacheKey) *parsed {
	c.mu.Lock()
	p := c.m[k]
	c.mu.Unlock()
	return p
}

func (c *parseCache) put(k cacheKey, p *parsed) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.m[k]; ok || c.max == 0 {
		return
	}
	if len(c.ring) < c.max {
		c.ring = append(c.ring, k)
	} else {
		delete(c.m, c.ring[c.hand])
		c.ring[c.hand] = k
		c.hand = (c.hand + 1) % c.max
	}
	c.m[k] = p
}

// len returns the number of cached expressions.
func (c *parseCache) len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.m)
}

// parse parses an expression with the grammar and makes the checks that
// need no names or values, through the cache.
func parse(g grammar, text string) *parsed {
	k := cacheKey{g, text}
	if p := cache.get(k); p != nil {
		return p
	}
	p := parseUncached(g, text)
	cache.put(k, p)
	return p
}

func parseUncached(g grammar, text string) *parsed {
	p := &parsed{}
	switch g {
	case gCondition:
		if p.cond, p.err = parseCondition(text); p.err == nil {
			p.err = walkCondition(p.cond)
		}
	case gUpdate:
		if p.upd, p.err = parseUpdate(text); p.err == nil {
			p.err = walkUpdate(p.upd)
		}
	case gProjection:
		if p.proj, p.err = parseProjection(text); p.err == nil {
			p.err = walkProjection(p.proj)
		}
	}
	return p
}
