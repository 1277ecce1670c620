package gateway

import (
	"hash/maphash"
	"net/http"
	"net/url"
	"strings"
	"sync/atomic"

	"github.com/surgehq/surge/internal/items"
)

// generations record writes, so that a cached response read before a write
// is known stale. Counters are striped by hash: two resources sharing a
// stripe only invalidate each other more often than needed.
//
// A write through the gateway moves the generations it may change twice:
// as it begins, before it reaches the integration, and as its answer
// starts, before the client can read it; between the two it is pending.
// A response is cached only if it was read while nothing it depends on
// was pending, and is served only while the generations it was read at
// are current, so that no answer read before or during a write is served
// once the write may have reached the store (see Cache.serveCacheable).
type generations struct {
	seed   maphash.Seed
	tenant [1 << 10]genCounter // every response of the tenant
	list   [1 << 10]genCounter // the tenant's collection pages
	item   [1 << 14]genCounter // one resource of the tenant
}

// genCounter is one stripe's generation and its writes in flight.
type genCounter struct {
	gen     atomic.Uint64
	pending atomic.Int64
}

func (g *generations) tenantGen(tenant string) *genCounter {
	return &g.tenant[maphash.String(g.seed, tenant)%uint64(len(g.tenant))]
}

func (g *generations) listGen(tenant string) *genCounter {
	return &g.list[maphash.String(g.seed, tenant)%uint64(len(g.list))]
}

func (g *generations) itemGen(tenant, id string) *genCounter {
	var h maphash.Hash
	h.SetSeed(g.seed)
	h.WriteString(tenant)
	h.WriteByte(0)
	h.WriteString(id)
	return &g.item[h.Sum64()%uint64(len(g.item))]
}

// key returns the cache key: method, route, tenant, then each declared
// parameter the route has. segs is the request's escaped path split at
// "/".
func (c *Cache) key(r *http.Request, cr *cacheRoute, tenant string, segs []string) string {
	var b strings.Builder
	b.Grow(64)
	b.WriteString(cr.pattern)
	b.WriteByte(0)
	b.WriteString(tenant)
	for _, p := range cr.params {
		b.WriteByte(0)
		b.WriteString(p.name)
		b.WriteByte('=')
		if p.seg < len(segs) {
			b.WriteString(unescapeSegment(segs[p.seg]))
		}
	}
	if len(cr.queries) > 0 && r.URL.RawQuery != "" {
		q, _ := url.ParseQuery(r.URL.RawQuery)
		for _, name := range cr.queries {
			for _, v := range q[name] {
				b.WriteByte(0)
				b.WriteString("q:" + name + "=")
				b.WriteString(v)
			}
		}
	}
	for _, name := range cr.headers {
		for _, v := range r.Header[name] {
			b.WriteByte(0)
			b.WriteString("h:" + name + "=")
			b.WriteString(v)
		}
	}
	return b.String()
}

// resourceGens returns the generation counters a cached response of the
// route depends on.
func (c *Cache) resourceGens(cr *cacheRoute, segs []string, tenant string) (tenantGen, resGen *genCounter) {
	tenantGen = c.gens.tenantGen(tenant)
	if len(cr.idSegs) == 0 {
		return tenantGen, c.gens.listGen(tenant)
	}
	return tenantGen, c.gens.itemGen(tenant, resourceID(cr.idSegs, segs))
}

// appendSegments appends the segments of path, split at "/", to dst, as
// strings.Split would return them, without allocating while dst has room.
func appendSegments(dst []string, path string) []string {
	for {
		i := strings.IndexByte(path, '/')
		if i < 0 {
			return append(dst, path)
		}
		dst = append(dst, path[:i])
		path = path[i+1:]
	}
}

// resourceID joins a path's wildcard segments.
func resourceID(idSegs []int, segs []string) string {
	if len(idSegs) == 1 { // the usual {id}: nothing to join
		if i := idSegs[0]; i < len(segs) {
			return unescapeSegment(segs[i])
		}
		return ""
	}
	var ids []string
	for _, i := range idSegs {
		if i < len(segs) {
			ids = append(ids, unescapeSegment(segs[i]))
		}
	}
	return strings.Join(ids, "/")
}

// unescapeSegment decodes a path segment, so that /items/a%2Db and
// /items/a-b, which name one item, share a key and a generation.
func unescapeSegment(s string) string {
	if strings.IndexByte(s, '%') < 0 {
		return s
	}
	if u, err := url.PathUnescape(s); err == nil {
		return u
	}
	return s
}

// writeGens returns the generations a write may change. A write to a
// cached route's resource (PUT /items/{id}) changes it and the tenant's
// collection; a write to a collection (POST /items) changes the
// collection; any other write (a batch, the dispatcher) may change
// anything of the tenant.
func (c *Cache) writeGens(r *http.Request, route string) []*genCounter {
	_, path, _ := strings.Cut(route, " ")
	if path == "" {
		path = route
	}
	tenant := items.TenantFrom(r.Context())
	for _, cr := range c.routes {
		_, crPath, _ := strings.Cut(cr.pattern, " ")
		if crPath != path {
			continue
		}
		if len(cr.idSegs) > 0 {
			var buf [8]string
			return []*genCounter{c.gens.itemGen(tenant, resourceID(cr.idSegs, appendSegments(buf[:0], r.URL.EscapedPath()))), c.gens.listGen(tenant)}
		}
		return []*genCounter{c.gens.listGen(tenant)}
	}
	return []*genCounter{c.gens.tenantGen(tenant)}
}

// beginWrite marks a write pending and moves its generations: from here
// on, nothing cached before is served, and nothing read is cached, for
// what it may change.
func beginWrite(gens []*genCounter) {
	for _, g := range gens {
		g.pending.Add(1)
		g.gen.Add(1)
	}
}

// endWrite moves the generations again, then ends the write: what was
// read while it was pending is never served.
func endWrite(gens []*genCounter) {
	for _, g := range gens {
		g.gen.Add(1)
		g.pending.Add(-1)
	}
}

// wantsInvalidation reports whether a request's Cache-Control asks for a
// fresh answer with max-age=0, as API Gateway reads it.
func wantsInvalidation(h http.Header) bool {
	for _, v := range h["Cache-Control"] {
		for _, d := range strings.Split(v, ",") {
			if strings.EqualFold(strings.TrimSpace(d), "max-age=0") {
				return true
			}
		}
	}
	return false
}
