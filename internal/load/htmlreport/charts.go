package htmlreport

import (
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"

	hdr "github.com/HdrHistogram/hdrhistogram-go"

	"github.com/surgehq/surge/internal/load"
)

// The kinds of chart the page draws.
const (
	kindTime  = "time"  // x: seconds since the start; stage boundaries marked
	kindCurve = "curve" // x: 1/(1-q) on a logarithmic axis (percentile plot)
	kindCat   = "cat"   // x: categories, values as lines with points
	kindBars  = "bars"  // x: categories, values as bars (stacked when Stack)
)

// chart is one chart as the page draws it: everything the script needs,
// so the script is a generic drawer and this file decides what is shown.
type chart struct {
	ID    string `json:"id"`
	Kind  string `json:"kind"`
	Title string `json:"-"`
	Desc  string `json:"-"`
	// X names the horizontal values in doc.Xs (time and curve charts);
	// Cats are the categories of cat and bars charts.
	X       string   `json:"x,omitempty"`
	Cats    []string `json:"cats,omitempty"`
	XLabel  string   `json:"xLabel"`
	YLabel  string   `json:"yLabel"`
	Y2Label string   `json:"y2Label,omitempty"`
	// Stack stacks the bars in series order, the first at the bottom.
	Stack bool `json:"stack,omitempty"`
	// Marks are vertical lines: the stage boundaries of time charts.
	Marks  []mark   `json:"marks,omitempty"`
	Series []series `json:"series"`
}

type series struct {
	Label string `json:"label"`
	// Color indexes the page's palette (Okabe-Ito); Dash its dash
	// patterns: 0 solid (a run, or the baseline), 1 dashed (the change).
	Color int `json:"color"`
	Dash  int `json:"dash,omitempty"`
	// Axis 1 is the right-hand axis (Y2Label).
	Axis int `json:"axis,omitempty"`
	// Hatch fills bars with stripes (the change in a comparison).
	Hatch bool `json:"hatch,omitempty"`
	// Wide draws a broad pale line under the others: a reference such as
	// the offered rate, which the achieved rate should cover.
	Wide bool   `json:"wide,omitempty"`
	Unit string `json:"unit"`
	Y    nums   `json:"y"`
}

type mark struct {
	T     float64 `json:"t"`
	Label string  `json:"label"`
	Dash  int     `json:"dash,omitempty"`
}

// Units of series values, as the page formats them.
const (
	unitMs    = "ms"
	unitRate  = "/s"
	unitCount = ""
)

// runIn is a run as the chart builders read it.
type runIn struct {
	label string // "" for a run alone, else "A" or "B"
	r     *load.Result
	x     *Extra
	t, dt []float64 // each interval's end and length, in seconds
	marks []mark
	stage []string // each stage's description, for the stage legend
}

func newRunIn(label string, r *load.Result, x *Extra) *runIn {
	in := &runIn{label: label, r: r, x: x}
	prev := 0.0
	for _, p := range r.Series {
		in.t = append(in.t, p.T)
		in.dt = append(in.dt, math.Max(p.T-prev, 1e-3))
		prev = p.T
	}
	start, stages, err := r.Scenario.Plan()
	if err == nil && len(stages) > 1 {
		unit := "/s"
		if r.Scenario.Model == load.ModelClosed {
			unit = " users"
		}
		at, from := 0.0, start
		for i, s := range stages {
			if i > 0 {
				in.marks = append(in.marks, mark{T: at, Label: label + strconv.Itoa(i+1)})
			}
			in.stage = append(in.stage, fmt.Sprintf("%d: %g to %g%s over %s", i+1, from, s.Target, unit, s.Duration))
			at += s.Duration.Seconds()
			from = s.Target
		}
	}
	return in
}

// perSecond turns interval counts into rates.
func (in *runIn) perSecond(get func(i int) (float64, bool)) []float64 {
	out := make([]float64, len(in.t))
	for i := range out {
		v, ok := get(i)
		if !ok {
			out[i] = math.NaN()
			continue
		}
		out[i] = v / in.dt[i]
	}
	return out
}

// extraAt returns the optional data of interval i, matched by T.
func (in *runIn) extraAt() []*PointExtra {
	out := make([]*PointExtra, len(in.t))
	j := 0
	for i := range in.x.Series {
		p := &in.x.Series[i]
		for j < len(in.t) && in.t[j] < p.T-1e-6 {
			j++
		}
		if j < len(in.t) && math.Abs(in.t[j]-p.T) <= 1e-6 {
			out[j] = p
		}
	}
	return out
}

// builder makes the charts of one section.
type builder struct {
	id   string // the section's id, prefixed to chart ids
	runs []*runIn
	xs   map[string]nums // shared horizontal values, by key
	xkey map[string]string
}

// xRef stores horizontal values once per document and returns their key.
func (b *builder) xRef(x []float64) string {
	s := string(nums(x).mustJSON())
	if k, ok := b.xkey[s]; ok {
		return k
	}
	k := "x" + strconv.Itoa(len(b.xs))
	b.xs[k] = x
	b.xkey[s] = k
	return k
}

func (v nums) mustJSON() []byte {
	b, _ := v.MarshalJSON() // never fails
	return b
}

// label names a series of run in: "p99" alone, "p99 · A" in a comparison.
func label(name string, in *runIn) string {
	if in.label == "" {
		return name
	}
	return name + " · " + in.label
}

func dashOf(i int) int { return i } // run 0 solid, run 1 dashed

// timeDef is one quantity over time, read from a run.
type timeDef struct {
	name string
	unit string
	axis int
	wide bool
	get  func(in *runIn) []float64 // one value per interval, NaN for none
}

// timeChart overlays the defs of every run on one time axis; series with
// no value are left out, and a chart with none is nil.
func (b *builder) timeChart(id, title, desc, yLabel, y2Label string, defs []timeDef) *chart {
	var ts [][]float64
	for _, in := range b.runs {
		ts = append(ts, in.t)
	}
	u := union(ts...)
	c := &chart{ID: b.id + "-" + id, Kind: kindTime, Title: title, Desc: desc,
		XLabel: "time since the start (s)", YLabel: yLabel, Y2Label: y2Label}
	for di, d := range defs {
		for ri, in := range b.runs {
			y := d.get(in)
			if y == nil || allNaN(y) {
				continue
			}
			c.Series = append(c.Series, series{Label: label(d.name, in), Color: di, Dash: dashOf(ri),
				Axis: d.axis, Wide: d.wide, Unit: d.unit, Y: align(u, in.t, y)})
		}
	}
	if len(c.Series) == 0 {
		return nil
	}
	c.X = b.xRef(u)
	c.Marks = b.marks()
	return c
}

// marks returns the stage boundaries of the runs: once when both runs
// have the same plan, else each run's, its label first.
func (b *builder) marks() []mark {
	if len(b.runs) == 2 && slices.Equal(b.runs[0].stage, b.runs[1].stage) {
		var out []mark
		for _, m := range b.runs[0].marks {
			out = append(out, mark{T: m.T, Label: strings.TrimPrefix(m.Label, b.runs[0].label)})
		}
		return out
	}
	var out []mark
	for ri, in := range b.runs {
		for _, m := range in.marks {
			m.Dash = dashOf(ri)
			out = append(out, m)
		}
	}
	return out
}

// curveDef is one histogram of a run.
type curveDef struct {
	name string
	hist func(in *runIn) *hdr.Histogram // nil when the run has none
}

// curveChart draws percentile curves, every run's, on one axis.
func (b *builder) curveChart(id, title, desc string, defs []curveDef) *chart {
	type xy struct {
		x, y []float64
		s    series
	}
	var curves []xy
	var xs [][]float64
	for di, d := range defs {
		for ri, in := range b.runs {
			h := d.hist(in)
			if h == nil || h.TotalCount() == 0 {
				continue
			}
			x, y := curve(h)
			curves = append(curves, xy{x, y, series{Label: label(d.name, in), Color: di, Dash: dashOf(ri), Unit: unitMs}})
			xs = append(xs, x)
		}
	}
	if len(curves) == 0 {
		return nil
	}
	u := union(xs...)
	c := &chart{ID: b.id + "-" + id, Kind: kindCurve, Title: title, Desc: desc, X: b.xRef(u),
		XLabel: "percentile (logarithmic)", YLabel: "latency (ms)"}
	for _, cv := range curves {
		cv.s.Y = align(u, cv.x, cv.y)
		c.Series = append(c.Series, cv.s)
	}
	return c
}

// barDef is one quantity per category of a run.
type barDef struct {
	name string
	get  func(in *runIn, cat string) float64 // NaN for none
}

// barChart draws bars per category: in a comparison each category has a
// bar per run, the change's hatched.
func (b *builder) barChart(id, title, desc, yLabel, unit string, cats []string, stack bool, defs []barDef) *chart {
	c := &chart{ID: b.id + "-" + id, Kind: kindBars, Title: title, Desc: desc, XLabel: "operation", YLabel: yLabel, Stack: stack}
	for _, cat := range cats {
		for _, in := range b.runs {
			c.Cats = append(c.Cats, label(cat, in))
		}
	}
	n := len(b.runs)
	for di, d := range defs {
		for ri, in := range b.runs {
			y := nan(len(c.Cats))
			for ci, cat := range cats {
				y[ci*n+ri] = d.get(in, cat)
			}
			if allNaN(y) {
				continue
			}
			c.Series = append(c.Series, series{Label: label(d.name, in), Color: di, Hatch: ri == 1, Unit: unit, Y: y})
		}
	}
	if len(c.Series) == 0 {
		return nil
	}
	return c
}

// opNames returns the operations of the runs, in the first run's order,
// then the others'.
func (b *builder) opNames() []string {
	var names []string
	for _, in := range b.runs {
		for _, o := range in.r.Ops {
			if !slices.Contains(names, o.Name) {
				names = append(names, o.Name)
			}
		}
	}
	return names
}

// opOf returns the run's operation called name ("all" for the total).
func opOf(r *load.Result, name string) *load.OpResult {
	if name == "all" {
		return &r.Total
	}
	return r.Op(name)
}

// decode reads a histogram the result carries; the result was checked
// when it was read, so a failure means it was built in memory with a bad
// one, and the chart is left out.
func decode(s string) *hdr.Histogram {
	if s == "" {
		return nil
	}
	h, err := load.DecodeHist(s)
	if err != nil {
		return nil
	}
	return h
}
