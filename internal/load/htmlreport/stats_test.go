package htmlreport_test

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/surgehq/surge/internal/load/htmlreport"
)

// bruteU computes the Mann-Whitney U test from the raw values, pair by
// pair, with the tie-corrected variance of the textbook formula.
func bruteU(a, b []int64) (u, z, p float64) {
	for _, x := range a {
		for _, y := range b {
			switch {
			case y > x:
				u++
			case y == x:
				u += 0.5
			}
		}
	}
	ties := map[int64]float64{}
	for _, v := range append(append([]int64(nil), a...), b...) {
		ties[v]++
	}
	var t float64
	for _, c := range ties {
		t += c*c*c - c
	}
	n1, n2 := float64(len(a)), float64(len(b))
	n := n1 + n2
	sd := math.Sqrt(n1 * n2 / 12 * ((n + 1) - t/(n*(n-1))))
	d := u - n1*n2/2
	d = math.Copysign(math.Max(math.Abs(d)-0.5, 0), d)
	z = d / sd
	return u, z, math.Erfc(math.Abs(z) / math.Sqrt2)
}

// TestMannWhitneyAgainstPairs checks the test read from histogram buckets
// against the same test computed pair by pair from the values: below 2048
// µs every microsecond is its own bucket, so both see the same ties.
func TestMannWhitneyAgainstPairs(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	for _, tc := range []struct {
		name            string
		n1, n2          int
		shift, spread   float64
		wantSignificant bool
	}{
		{"same", 400, 300, 0, 300, false},
		{"slower", 400, 300, 150, 300, true},
		{"faster", 250, 500, -90, 300, true},
		{"many ties", 300, 300, 5, 8, true},
		{"small shift", 60, 60, 10, 300, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			draw := func(n int, shift float64) []int64 {
				vs := make([]int64, n)
				for i := range vs {
					v := 1000 + shift + tc.spread*rng.NormFloat64()
					vs[i] = int64(math.Max(1, math.Min(2047, math.Round(v))))
				}
				return vs
			}
			a, b := draw(tc.n1, 0), draw(tc.n2, tc.shift)
			ha, hb := newHist(), newHist()
			for _, v := range a {
				_ = ha.RecordValue(v)
			}
			for _, v := range b {
				_ = hb.RecordValue(v)
			}
			got := htmlreport.MannWhitney(ha, hb)
			u, z, p := bruteU(a, b)
			if got.U != u || math.Abs(got.Z-z) > 1e-9 || math.Abs(got.P-p) > 1e-12 {
				t.Errorf("from buckets U %g, z %g, p %g; pair by pair U %g, z %g, p %g", got.U, got.Z, got.P, u, z, p)
			}
			if got.A != u/float64(tc.n1*tc.n2) {
				t.Errorf("A12 %g, want %g", got.A, u/float64(tc.n1*tc.n2))
			}
			if got.Significant() != tc.wantSignificant {
				t.Errorf("significant %v (p = %g), want %v", got.Significant(), got.P, tc.wantSignificant)
			}
			if tc.wantSignificant && (tc.shift > 0 && got.A <= 0.5 || tc.shift < 0 && got.A >= 0.5) {
				t.Errorf("A12 %g points the wrong way for a shift of %g", got.A, tc.shift)
			}
		})
	}
}

// TestMannWhitneyEdges covers too few requests, identical histograms and
// a single value on both sides.
func TestMannWhitneyEdges(t *testing.T) {
	a, b := newHist(), newHist()
	for i := range 19 {
		_ = a.RecordValue(int64(100 + i))
		_ = b.RecordValue(int64(5000 + i))
	}
	if r := htmlreport.MannWhitney(a, b); r.Enough || r.Significant() || r.P != 1 {
		t.Errorf("19 requests a side: %+v, want no test", r)
	}
	_ = a.RecordValue(120)
	_ = b.RecordValue(5020)
	if r := htmlreport.MannWhitney(a, b); !r.Enough || !r.Significant() || r.A != 1 {
		t.Errorf("20 a side, all of B slower: %+v, want significant with A12 = 1", r)
	}
	if r := htmlreport.MannWhitney(a, a); r.Significant() || r.A != 0.5 || r.P != 1 {
		t.Errorf("a run against itself: %+v", r)
	}
	c, d := newHist(), newHist()
	_ = c.RecordValues(700, 50)
	_ = d.RecordValues(700, 80)
	if r := htmlreport.MannWhitney(c, d); r.Significant() || r.A != 0.5 || r.P != 1 {
		t.Errorf("one value on both sides: %+v", r)
	}
	// Values far apart in a wide range: the buckets stay in value order.
	e, f := newHist(), newHist()
	for i := range 50 {
		_ = e.RecordValue(int64(3 + i*i*997))
		_ = f.RecordValue(int64(3 + i*i*997 + 1_000_000))
	}
	if r := htmlreport.MannWhitney(e, f); r.A <= 0.5 || !r.Significant() {
		t.Errorf("B a second slower everywhere: %+v", r)
	}
}
