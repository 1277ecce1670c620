package htmlreport

import (
	"math"

	hdr "github.com/HdrHistogram/hdrhistogram-go"
)

// Alpha is the significance level of the comparison's test: a difference
// between two runs' latency distributions is flagged when the test's
// two-sided p-value is below it.
const Alpha = 0.01

// minTestCount is the fewest requests on each side for the test's normal
// approximation to hold.
const minTestCount = 20

// TestName names the comparison's test as the report states it.
const TestName = "Mann-Whitney U test (two-sided, normal approximation with tie correction) " +
	"on the recorded latency histograms"

// UTest is the outcome of a Mann-Whitney U test of a change's latencies
// against a baseline's.
type UTest struct {
	// N1 and N2 are the baseline's and the change's requests.
	N1, N2 int64
	// U counts the pairs (baseline request, change request) in which the
	// change's is slower, ties counting a half.
	U float64
	// A is Vargha and Delaney's effect size, U / (N1 N2): the probability
	// that a request of the change is slower than one of the baseline
	// (0.5: neither tends to be slower).
	A float64
	// Z is the standardised statistic and P its two-sided p-value.
	Z, P float64
	// Enough says both sides had at least minTestCount requests; without
	// them the test is not run and P is 1.
	Enough bool
}

// Significant reports whether the difference passes the test at Alpha.
func (t UTest) Significant() bool { return t.Enough && t.P < Alpha }

// MannWhitney tests whether the change's latencies tend to differ from the
// baseline's. It reads the two histograms' counts bucket by bucket (both
// have the same buckets: load records every histogram with one range and
// precision), so values within one bucket, 0.1% apart at most, are ties.
func MannWhitney(base, change *hdr.Histogram) UTest {
	t := UTest{N1: base.TotalCount(), N2: change.TotalCount(), P: 1, A: 0.5}
	if t.N1 < minTestCount || t.N2 < minTestCount {
		return t
	}
	t.Enough = true
	a, b := base.Export().Counts, change.Export().Counts
	var below, ties float64 // baseline requests in lower buckets; sum of t^3 - t
	for i := 0; i < max(len(a), len(b)); i++ {
		var ca, cb float64
		if i < len(a) {
			ca = float64(a[i])
		}
		if i < len(b) {
			cb = float64(b[i])
		}
		t.U += cb * (below + ca/2)
		below += ca
		if n := ca + cb; n > 1 {
			ties += n*n*n - n
		}
	}
	n1, n2 := float64(t.N1), float64(t.N2)
	n := n1 + n2
	t.A = t.U / (n1 * n2)
	mean := n1 * n2 / 2
	variance := n1 * n2 / 12 * ((n + 1) - ties/(n*(n-1)))
	if variance <= 0 {
		return t // every request in one bucket: nothing to tell apart
	}
	d := t.U - mean
	// Continuity correction: half a step toward the mean.
	d = math.Copysign(math.Max(math.Abs(d)-0.5, 0), d)
	t.Z = d / math.Sqrt(variance)
	t.P = math.Erfc(math.Abs(t.Z) / math.Sqrt2)
	return t
}
