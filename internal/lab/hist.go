package lab

import (
	"time"

	hdr "github.com/HdrHistogram/hdrhistogram-go"

	"github.com/surgehq/surge/internal/load"
)

// hdrHist is a histogram of microseconds.
type hdrHist = hdr.Histogram

// Histograms of microseconds, as the load tester's (load.DecodeHist reads
// them back only with its range and precision).
func newHist() *hdr.Histogram { return hdr.New(1, int64(time.Hour/time.Microsecond), 3) }

func record(h *hdr.Histogram, d time.Duration) {
	v := max(int64(d/time.Microsecond), 1)
	_ = h.RecordValue(min(v, int64(time.Hour/time.Microsecond)))
}

func encode(h *hdr.Histogram) string {
	s, _ := load.EncodeHist(h)
	return s
}

// mergeEncoded merges an encoded histogram into h, when it decodes.
func mergeEncoded(h *hdr.Histogram, enc string) {
	if enc == "" {
		return
	}
	if o, err := load.DecodeHist(enc); err == nil {
		h.Merge(o)
	}
}

// countAbove counts the values of h above v.
func countAbove(h *hdr.Histogram, v int64) int64 {
	var n int64
	for _, b := range h.Distribution() {
		if b.From > v {
			n += b.Count
		}
	}
	return n
}

func usMs(v int64) float64 { return float64(v) / 1000 }
