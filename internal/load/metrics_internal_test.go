package load

import (
	"math/rand/v2"
	"testing"
	"time"

	hdr "github.com/HdrHistogram/hdrhistogram-go"
)

// TestEncodeHistRoundTrip checks the encoder against HdrHistogram's own
// decoder, and against its encoder's output.
func TestEncodeHistRoundTrip(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for _, n := range []int{0, 1, 10, 10000} {
		h := newHist()
		for range n {
			recordDur(h, time.Duration(r.ExpFloat64()*float64(5*time.Millisecond)))
		}
		recordDur(h, time.Duration(n)*time.Minute) // a far outlier, past runs of zeros
		enc, err := EncodeHist(h)
		if err != nil {
			t.Fatal(err)
		}
		back, err := hdr.Decode([]byte(enc))
		if err != nil {
			t.Fatalf("n=%d: hdr.Decode: %v", n, err)
		}
		if !back.Equals(h) {
			t.Fatalf("n=%d: decoded histogram differs", n)
		}
		mine, err := DecodeHist(enc)
		if err != nil || !mine.Equals(h) {
			t.Fatalf("n=%d: DecodeHist: %v", n, err)
		}
		theirs, err := h.Encode(hdr.V2CompressedEncodingCookieBase)
		if err != nil {
			t.Fatal(err)
		}
		if back, err := DecodeHist(string(theirs)); err != nil || !back.Equals(h) {
			t.Fatalf("n=%d: DecodeHist of the library's encoding: %v", n, err)
		}
	}
}

func TestDecodeHistRefuses(t *testing.T) {
	other, _ := hdr.New(1, 1000, 2).Encode(hdr.V2CompressedEncodingCookieBase)
	for _, s := range []string{"!!!", "AAAA", "HISTFAAAAB", string(other)} {
		if _, err := DecodeHist(s); err == nil {
			t.Errorf("DecodeHist(%.20q) gave no error", s)
		}
	}
}

func BenchmarkShardRecord(b *testing.B) {
	s := newShard(int(numOps))
	x := sample{intended: 0, sent: time.Millisecond, done: 2 * time.Millisecond, status: 200,
		timing: []byte("store;dur=0.41, total;dur=0.93")}
	b.ReportAllocs()
	for b.Loop() {
		s.record(OpRead, &x)
	}
}

func BenchmarkShardRecordNoTiming(b *testing.B) {
	s := newShard(int(numOps))
	x := sample{intended: 0, sent: time.Millisecond, done: 2 * time.Millisecond, status: 200}
	b.ReportAllocs()
	for b.Loop() {
		s.record(OpRead, &x)
	}
}

func BenchmarkEncodeHist(b *testing.B) {
	h := newHist()
	for i := range 100000 {
		recordDur(h, time.Duration(i)*time.Microsecond)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := EncodeHist(h); err != nil {
			b.Fatal(err)
		}
	}
}
