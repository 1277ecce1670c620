package table

import (
	"context"
	"math/rand/v2"
	"time"
)

// ChargeRead charges a read of one item of size bytes (0: it does not
// exist) with consistency c, as GetItem is charged.
func (t *Table) ChargeRead(size int, c Consistency) Result { return t.Charge(Read, ReadUnits(size, c)) }

// ChargeWrite charges a write whose larger item, before or after, is size
// bytes, as PutItem, UpdateItem and DeleteItem are charged.
func (t *Table) ChargeWrite(size int) Result { return t.Charge(Write, WriteUnits(size)) }

// ChargeQuery charges a Query or Scan page that read items of total bytes
// before any filter.
func (t *Table) ChargeQuery(total int, c Consistency) Result {
	return t.Charge(Read, QueryUnits(total, c))
}

// Retryer retries a throttled charge as the AWS SDK for Go's DynamoDB
// client retries a ProvisionedThroughputExceededException with its
// standard retryer, for a store that charges a table in process and must
// behave as the SDK does against DynamoDB: at most MaxAttempts attempts,
// the first included, and before attempt i+1 a random delay of up to
// min(2^(i-1) seconds, MaxBackoff) (the SDK's throttle backoff: a base of
// one second, doubled each retry, with full jitter). What still throttles
// is the caller's to answer (503 with a Retry-After of the last Result's
// Wait).
type Retryer struct {
	// MaxAttempts is how many attempts at most (default 4, the SDK's
	// DynamoDB client's).
	MaxAttempts int
	// MaxBackoff caps a delay (default 20 s, the SDK's).
	MaxBackoff time.Duration
	// Sleep waits d or until ctx ends (default a timer).
	Sleep func(ctx context.Context, d time.Duration) error
	// Rand returns a number in [0, 1) (default math/rand/v2).
	Rand func() float64
}

// Do runs charge until it is not throttled or the attempts are spent, and
// returns its last Result and the attempts made. It fails only when ctx
// ends during a delay.
func (r Retryer) Do(ctx context.Context, charge func() Result) (Result, int, error) {
	attempts := r.MaxAttempts
	if attempts < 1 {
		attempts = 4
	}
	maxBackoff := r.MaxBackoff
	if maxBackoff <= 0 {
		maxBackoff = 20 * time.Second
	}
	sleep, rnd := r.Sleep, r.Rand
	if sleep == nil {
		sleep = sleepCtx
	}
	if rnd == nil {
		rnd = rand.Float64
	}
	var res Result
	for i := 1; ; i++ {
		res = charge()
		if !res.Throttled || i == attempts {
			return res, i, nil
		}
		d := min(time.Second<<min(i-1, 30), maxBackoff)
		if err := sleep(ctx, time.Duration(rnd()*float64(d))); err != nil {
			return res, i, err
		}
	}
}

func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
