package items_test

import (
	"math/rand/v2"
	"testing"
	"time"

	"github.com/surgehq/surge/internal/items"
)

func TestAppendTimeIsTheLayout(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	zones := []*time.Location{time.UTC, time.FixedZone("x", -9*3600-1800), time.FixedZone("y", 14*3600)}
	times := []time.Time{
		time.Date(0, 1, 1, 0, 0, 0, 0, time.UTC),
		time.Date(9999, 12, 31, 23, 59, 59, 999999999, time.UTC),
		time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC),
		time.Date(-1, 1, 1, 0, 0, 0, 0, time.UTC),
		{},
	}
	// Years 1900 to 10100: both sides of the four-digit years.
	start, end := time.Date(1900, 1, 1, 0, 0, 0, 0, time.UTC).Unix(), time.Date(10100, 1, 1, 0, 0, 0, 0, time.UTC).Unix()
	for range 100000 {
		sec := start + rng.Int64N(end-start)
		times = append(times, time.Unix(sec, rng.Int64N(1e9)).In(zones[rng.IntN(len(zones))]))
	}
	for _, tm := range times {
		want := tm.UTC().Format(items.TimeLayout)
		if got := string(items.AppendTime([]byte("x"), tm)); got != "x"+want {
			t.Fatalf("items.AppendTime(%v) = %q, want %q", tm, got[1:], want)
		}
	}
}

func BenchmarkAppendTime(b *testing.B) {
	tm := items.Now()
	buf := make([]byte, 0, 64)
	b.Run("AppendTime", func(b *testing.B) {
		for b.Loop() {
			buf = items.AppendTime(buf[:0], tm)
		}
	})
	b.Run("AppendFormat", func(b *testing.B) { // the baseline
		for b.Loop() {
			buf = tm.UTC().AppendFormat(buf[:0], items.TimeLayout)
		}
	})
}
