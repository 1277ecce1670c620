package htmlreport

import (
	"math"
	"strings"

	"github.com/surgehq/surge/internal/load"
)

// The charts of what the target said of each operation's requests: the
// limits that refused them (X-Limit-Source), the response cache's
// answers (X-Cache), and the table's capacity units (Server-Timing rcu
// and wcu).

// opBars is a bar per operation of each def, stacked, a bar at zero left
// out.
func opBars(get func(o *load.OpResult, key string) float64, keys ...string) []barDef {
	defs := make([]barDef, 0, len(keys))
	for _, k := range keys {
		defs = append(defs, barDef{name: k, get: func(in *runIn, op string) float64 {
			o := in.r.Op(op)
			if o == nil {
				return math.NaN()
			}
			return nanIfZero(get(o, k))
		}})
	}
	return defs
}

// sourcesByOp adds the chart of 429s and 503s by the limit that refused
// them, per operation, to g.
func (b *builder) sourcesByOp(g *group) {
	keys := map[string]bool{}
	for _, in := range b.runs {
		for _, o := range in.r.Ops {
			for code, bySource := range o.StatusSources {
				for src, n := range bySource {
					if n > 0 {
						keys[code+" from "+src] = true
					}
				}
			}
		}
	}
	if len(keys) == 0 {
		return // the chart over time says why
	}
	defs := opBars(func(o *load.OpResult, k string) float64 {
		code, src, _ := strings.Cut(k, " from ")
		return float64(o.StatusSources[code][src])
	}, sortedCodes(keys)...)
	g.add(b.barChart("status-sources-ops", "429 and 503 by source, per operation",
		"Every throttled (429) or unavailable (503) response of the run by the limit that refused it, as its "+
			"X-Limit-Source header named it (unnamed: the response named none), stacked per operation.",
		"responses", unitCount, b.opNames(), true, defs), "")
}

// cacheByOp adds the chart of the response cache's hits and misses per
// operation to g.
func (b *builder) cacheByOp(g *group) {
	if !b.anyRun(func(in *runIn) bool { return in.r.Total.CacheHits+in.r.Total.CacheMisses > 0 }) {
		return
	}
	g.add(b.barChart("cache-ops", "Response cache hits and misses, per operation",
		"Responses marked X-Cache: Hit (served by the response cache) or Miss, stacked per operation.",
		"responses", unitCount, b.opNames(), true, opBars(func(o *load.OpResult, k string) float64 {
			if k == "cache hits" {
				return float64(o.CacheHits)
			}
			return float64(o.CacheMisses)
		}, "cache hits", "cache misses")), "")
}

// capacity is the group of the table's capacity units per operation.
func (b *builder) capacity() group {
	g := group{Title: "Table capacity"}
	if !b.anyRun(func(in *runIn) bool { return in.r.Total.Capacity != nil }) {
		g.note("Capacity units: the target did not report them (ops[].capacity, from Server-Timing rcu and wcu).")
		return g
	}
	g.add(b.barChart("capacity-ops", "Capacity units consumed, per operation",
		"The read and write capacity units the table said each operation's requests consumed (Server-Timing rcu and wcu), summed over the run.",
		"capacity units", unitCount, b.opNames(), true, opBars(func(o *load.OpResult, k string) float64 {
			if o.Capacity == nil {
				return 0
			}
			if k == "read units" {
				return o.Capacity.Read
			}
			return o.Capacity.Write
		}, "read units", "write units")), "")
	return g
}
