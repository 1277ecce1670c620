package table_test

import (
	"context"
	"testing"
	"time"

	"github.com/surgehq/surge/internal/local/table"
	"github.com/surgehq/surge/internal/testkit/manualclock"
)

func TestRetryer(t *testing.T) {
	clock := manualclock.New(epoch)
	tb := mustTable(t, table.Config{Mode: table.Provisioned, RCU: 1, WCU: 1, Now: clock.Now})
	var delays []time.Duration
	r := table.Retryer{
		MaxAttempts: 3,
		// The delay passes on the table's clock.
		Sleep: func(_ context.Context, d time.Duration) error {
			delays = append(delays, d)
			clock.Advance(d)
			return nil
		},
		Rand: func() float64 { return 0.4 },
	}
	ctx := context.Background()
	if res, n, err := r.Do(ctx, func() table.Result { return tb.ChargeWrite(1000) }); err != nil || res.Throttled || n != 1 {
		t.Fatalf("first write: got %+v after %d attempts, %v", res, n, err)
	}
	// The bucket is empty: 0.4 s, then 0.8 s (0.4 of 2 s), and the third
	// attempt finds a unit refilled at 1 WCU.
	res, n, err := r.Do(ctx, func() table.Result { return tb.ChargeWrite(1000) })
	if err != nil || res.Throttled || n != 3 {
		t.Fatalf("second write: got %+v after %d attempts, %v", res, n, err)
	}
	if len(delays) != 2 || delays[0] != 400*time.Millisecond || delays[1] != 800*time.Millisecond {
		t.Errorf("delays: got %v, want [400ms 800ms]", delays)
	}
	// A 3 KB write needs 3 units; three attempts in 1.2 s are not enough:
	// the last Result says how long to wait.
	delays = nil
	res, n, _ = r.Do(ctx, func() table.Result { return tb.ChargeWrite(3000) })
	if !res.Throttled || n != 3 || res.Wait <= 0 {
		t.Errorf("a 3 WCU write at 1 WCU: got %+v after %d attempts, want still throttled with a wait", res, n)
	}
	// The cap on a delay, and a context that ends.
	delays = nil
	capped := table.Retryer{MaxAttempts: 8, MaxBackoff: 3 * time.Second, Rand: func() float64 { return 0.999 },
		Sleep: func(_ context.Context, d time.Duration) error { delays = append(delays, d); return nil }}
	capped.Do(ctx, func() table.Result { return table.Result{Throttled: true} })
	if len(delays) != 7 || delays[6] > 3*time.Second || delays[1] < 1900*time.Millisecond {
		t.Errorf("capped delays: %v", delays)
	}
	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	if _, _, err := (table.Retryer{}).Do(cancelled, func() table.Result { return table.Result{Throttled: true} }); err == nil {
		t.Error("a cancelled context: got no error")
	}
}
