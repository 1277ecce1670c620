package table

import (
	"math"
	"time"
)

// bucket holds one kind of a table's capacity units: it fills at rate
// units a second of table time up to max (the burst capacity), and may be
// overdrawn by a request whose cost turned out higher than its estimate;
// the debt is repaid by the refill before anything else is admitted.
type bucket struct {
	rate      float64 // units a second
	max       float64 // units kept at most
	tokens    float64
	last      time.Time // table time of the last refill
	unlimited bool
}

// newBucket returns a bucket of rate units a second keeping burst seconds
// of them, holding one second's worth: a new table has no unused capacity
// saved yet.
func newBucket(now time.Time, rate float64, burst time.Duration) bucket {
	b := bucket{last: now}
	b.set(now, rate, burst)
	b.tokens = min(rate, b.max)
	return b
}

// set changes the rate (a change of provisioned capacity) from now on.
// Tokens over the new maximum are lost.
func (b *bucket) set(now time.Time, rate float64, burst time.Duration) {
	b.refill(now)
	b.rate = rate
	b.unlimited = math.IsInf(rate, 1)
	// At least one second's worth, so that a request of a second's
	// capacity can always run.
	b.max = rate * max(burst.Seconds(), 1)
	b.tokens = min(b.tokens, b.max)
}

func (b *bucket) refill(now time.Time) {
	if d := now.Sub(b.last); d > 0 {
		b.tokens = min(b.max, b.tokens+b.rate*d.Seconds())
		b.last = now
	}
}

// admit reports whether a request estimated at need units may run now:
// when the bucket holds need units, need capped at the bucket's maximum so
// that no request waits forever. Otherwise it returns how long, in table
// time, until it would.
func (b *bucket) admit(now time.Time, need float64) (bool, time.Duration) {
	if b.unlimited {
		return true, 0
	}
	b.refill(now)
	need = min(need, b.max)
	if b.tokens >= need {
		return true, 0
	}
	return false, time.Duration((need - b.tokens) / b.rate * float64(time.Second))
}

// take consumes units (gives them back when negative); it may leave the
// bucket in debt, or over its maximum until the next refill.
func (b *bucket) take(units float64) {
	if !b.unlimited {
		b.tokens = min(b.tokens-units, b.max)
	}
}
