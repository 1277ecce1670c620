package htmlreport

import (
	"math"
	"slices"
	"sort"

	"github.com/surgehq/surge/internal/load"
)

// timingParent nests surge's Server-Timing metrics: each one's time
// includes its children's, so a stacked part is a metric's own time less
// its children's. Other names are parts of "total".
var timingParent = map[string]string{
	"readcache": "store",
	"store":     "function",
	"function":  "lambda",
}

// restOfTotal is the part of "total" that no other metric covers: with
// surge's gateway in front, the gateway's own time (in process, the
// handler's too).
const restOfTotal = "gateway (rest of total)"

// timingOrder stacks the parts from the client's side in: the gateway's
// own, the pool's, the function's, the store's.
var timingOrder = []string{restOfTotal, "cache", "auth", "pool", "init", "lambda", "function", "store", "readcache"}

// timingParts returns each part's own time per request of the operation,
// in milliseconds: a metric's sum (mean times count) less its children's,
// divided by the operation's requests; and the rest of "total".
func timingParts(o *load.OpResult) map[string]float64 {
	if o == nil || o.Count == 0 || len(o.ServerTiming) == 0 {
		return nil
	}
	sum := map[string]float64{}
	var names []string // in the result's order, each once
	for _, m := range o.ServerTiming {
		if _, ok := sum[m.Name]; !ok {
			names = append(names, m.Name)
		}
		sum[m.Name] = m.Stats.Mean * float64(m.Stats.Count)
	}
	parent := func(name string) string {
		for p := timingParent[name]; p != ""; p = timingParent[p] {
			if _, ok := sum[p]; ok {
				return p
			}
		}
		return "total"
	}
	// In the order the result lists them, not a map's: float subtraction
	// in another order can change the last digit the page shows.
	own := map[string]float64{}
	if t, ok := sum["total"]; ok {
		own[restOfTotal] = t
	}
	for _, name := range names {
		if name != "total" {
			own[name] += sum[name]
		}
	}
	for _, name := range names {
		if name == "total" {
			continue
		}
		if p := parent(name); p != "total" {
			own[p] -= sum[name]
		} else if _, ok := sum["total"]; ok {
			own[restOfTotal] -= sum[name]
		}
	}
	out := map[string]float64{}
	for name, s := range own {
		out[name] = math.Max(0, s/float64(o.Count))
	}
	return out
}

func (b *builder) serverTiming() group {
	g := group{Title: "Server time"}
	names := map[string]bool{}
	for _, in := range b.runs {
		for _, o := range in.r.Ops {
			for name := range timingParts(&o) {
				names[name] = true
			}
		}
	}
	if len(names) == 0 {
		g.note("Server-Timing breakdown: the target sent no Server-Timing header.")
		return g
	}
	var order []string
	for _, n := range timingOrder {
		if names[n] {
			order = append(order, n)
		}
	}
	var rest []string
	for n := range names {
		if !slices.Contains(order, n) {
			rest = append(rest, n)
		}
	}
	sort.Strings(rest)
	order = append(order, rest...)
	var defs []barDef
	for _, name := range slices.Backward(order) {
		defs = append(defs, barDef{name: name, get: func(in *runIn, op string) float64 {
			parts := timingParts(in.r.Op(op))
			if v, ok := parts[name]; ok {
				return v
			}
			return math.NaN()
		}})
	}
	g.add(b.barChart("servertiming", "Server-Timing breakdown per operation",
		"Where the server says a request spent its time, on average per request, stacked: each metric's own time "+
			"(readcache is counted inside store, store inside function, function inside lambda), and the rest of the total.",
		"time per request (ms)", unitMs, b.opNames(), true, defs), "")
	return g
}
