package htmlreport

import (
	"math"
	"slices"
	"strconv"

	hdr "github.com/HdrHistogram/hdrhistogram-go"
)

// nums is a series of values as the page reads them: NaN (no value) is
// written null, and every value keeps at most three decimals (a
// microsecond of a millisecond figure), which is all the data has and
// keeps the file small.
type nums []float64

// MarshalJSON writes the values as a compact array.
func (v nums) MarshalJSON() ([]byte, error) {
	b := make([]byte, 0, 2+6*len(v))
	b = append(b, '[')
	for i, x := range v {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendNum(b, x)
	}
	return append(b, ']'), nil
}

func appendNum(b []byte, x float64) []byte {
	if math.IsNaN(x) || math.IsInf(x, 0) {
		return append(b, "null"...)
	}
	x = round3(x)
	if x == 0 {
		return append(b, '0') // also -0
	}
	return strconv.AppendFloat(b, x, 'f', -1, 64)
}

func round3(x float64) float64 { return math.Round(x*1000) / 1000 }

// nan returns n NaNs.
func nan(n int) nums {
	v := make(nums, n)
	for i := range v {
		v[i] = math.NaN()
	}
	return v
}

// allNaN reports whether v has no value.
func allNaN(v []float64) bool {
	for _, x := range v {
		if !math.IsNaN(x) {
			return false
		}
	}
	return true
}

// union returns the sorted distinct values of the xs; values closer than
// a microsecond count as one.
func union(xs ...[]float64) []float64 {
	var all []float64
	for _, x := range xs {
		all = append(all, x...)
	}
	slices.Sort(all)
	out := all[:0]
	for _, x := range all {
		if len(out) == 0 || x-out[len(out)-1] > 1e-6 {
			out = append(out, x)
		}
	}
	return slices.Clip(out)
}

// align places the values y, taken at x (sorted), on the axis u (a union
// that contains x): NaN where y has no value.
func align(u, x, y []float64) nums {
	out := nan(len(u))
	j := 0
	for i, xv := range x {
		for j < len(u) && u[j] < xv-1e-6 {
			j++
		}
		if j < len(u) && math.Abs(u[j]-xv) <= 1e-6 {
			out[j] = y[i]
		}
	}
	return out
}

// The percentile plot's horizontal axis is 1/(1-q): 1 at the median's
// left end (q = 0), 10 at 90%, 100 at 99%, and so on, so that each "nine"
// takes the same width on a logarithmic axis, as HdrHistogram's plots do.
// gridStep points per nine, up to gridNines nines.
const (
	gridStep  = 8
	gridNines = 7
)

// curve returns a histogram's percentile curve: x = 1/(1-q) on the grid,
// as far as the histogram has values that far out (1/(1-q) < count), then
// its maximum at x = count (the last of count values); y in milliseconds.
func curve(h *hdr.Histogram) (x, y []float64) {
	n := h.TotalCount()
	if n == 0 {
		return nil, nil
	}
	for k := 0; k <= gridStep*gridNines; k++ {
		xv := math.Pow(10, float64(k)/gridStep)
		if xv >= float64(n) {
			break // from here on, the maximum
		}
		v := h.Min() // ValueAtQuantile(0) is the first bucket's, not the least value
		if k > 0 {
			v = h.ValueAtQuantile(100 * (1 - 1/xv))
		}
		x = append(x, round3(xv))
		y = append(y, usToMs(v))
	}
	return append(x, float64(n)), append(y, usToMs(h.Max()))
}

// usToMs turns the histograms' microseconds into milliseconds, as load's
// own Stats do.
func usToMs(v int64) float64 { return float64(v) / 1000 }
