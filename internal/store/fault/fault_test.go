package fault_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/surgehq/surge/internal/items"
	"github.com/surgehq/surge/internal/store/fault"
	"github.com/surgehq/surge/internal/store/memstore"
	"github.com/surgehq/surge/internal/store/storetest"
	"github.com/surgehq/surge/internal/testkit/manualclock"
)

func TestParse(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want fault.Spec
	}{
		{"", fault.Spec{}},
		{"store:error=0.1,latency=50ms", fault.Spec{Error: 0.1, Latency: 50 * time.Millisecond}},
		{" store:throttle=1 ", fault.Spec{Throttle: 1}},
		{"store:error=0.25,throttle=0.25,ops=replace+create,duration=30s", fault.Spec{Error: 0.25, Throttle: 0.25,
			Ops: []string{"create", "replace"}, Duration: 30 * time.Second}},
	} {
		got, err := fault.Parse(tc.in)
		if err != nil || got.String() != tc.want.String() {
			t.Errorf("Parse(%q): got %+v, %v; want %+v", tc.in, got, err, tc.want)
		}
		if again, err := fault.Parse(got.String()); err != nil || again.String() != got.String() {
			t.Errorf("Parse(%q) again: got %+v, %v", got.String(), again, err)
		}
	}
	for _, bad := range []string{"store", "disk:error=0.1", "store:", "store:error", "store:error=2", "store:error=-0.1",
		"store:error=NaN", "store:error=0.6,throttle=0.6", "store:latency=fast", "store:latency=-1s", "store:ops=get",
		"store:error=0.1,ops=scan", "store:error=0.1,error=0.2", "store:color=red", "store:latency=0s"} {
		if _, err := fault.Parse(bad); err == nil {
			t.Errorf("Parse(%q): got no error", bad)
		}
	}
}

func FuzzParse(f *testing.F) {
	for _, s := range []string{"store:error=0.1,latency=50ms", "store:throttle=1,ops=get+list", "store:duration=1s,error=1", "x"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		spec, err := fault.Parse(s)
		if err != nil {
			return
		}
		if spec.Error < 0 || spec.Throttle < 0 || spec.Error+spec.Throttle > 1 || spec.Latency < 0 {
			t.Fatalf("Parse(%q) = %+v: out of range", s, spec)
		}
		if again, err := fault.Parse(spec.String()); err != nil || again.String() != spec.String() {
			t.Fatalf("Parse(%q) does not read back %q: %+v, %v", s, spec.String(), again, err)
		}
	})
}

// The wrapper with no fault in force is a store like any other.
func TestConformanceWithoutFaults(t *testing.T) {
	storetest.Run(t, func(t *testing.T, clock items.Clock) items.Store {
		m := memstore.New()
		m.Now = clock
		return fault.Wrap(m, fault.Spec{})
	})
}

func TestInjects(t *testing.T) {
	ctx := context.Background()
	key := items.Key{Tenant: "t", ID: "a"}
	clock := manualclock.New(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	s := fault.Wrap(memstore.New(), fault.Spec{Error: 1, Ops: []string{fault.OpCreate}, Duration: time.Minute}, fault.WithClock(clock.Now))

	_, err := s.Create(ctx, key, items.Attributes{}, nil)
	if !errors.Is(err, fault.ErrInjected) || items.ErrorCode(err) != items.EINTERNAL {
		t.Fatalf("create under error=1: got %v (code %s)", err, items.ErrorCode(err))
	}
	if _, err := s.Get(ctx, key, items.ReadOptions{}); items.ErrorCode(err) != items.ENOTFOUND {
		t.Errorf("get (not faulted): got %v, want not_found: the failed create must have written nothing", err)
	}
	clock.Advance(time.Minute) // the experiment ends
	if _, err := s.Create(ctx, key, items.Attributes{}, nil); err != nil {
		t.Errorf("create after the fault's duration: %v", err)
	}

	s.Set(fault.Spec{Throttle: 1})
	err = s.Delete(ctx, key, items.Condition{})
	if items.ErrorCode(err) != items.EUNAVAILABLE || items.RetryAfter(err) != 1 {
		t.Errorf("delete under throttle=1: got %v", err)
	}
	if _, err := s.Get(ctx, key, items.ReadOptions{}); items.ErrorCode(err) != items.EUNAVAILABLE {
		t.Errorf("get under throttle=1: got %v", err)
	}
	s.Set(fault.Spec{})
	if _, err := s.Get(ctx, key, items.ReadOptions{}); err != nil {
		t.Errorf("get once the fault is off: %v; the throttled delete must have removed nothing", err)
	}

	// Latency: a caller that gives up is answered at once.
	s.Set(fault.Spec{Latency: time.Hour})
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if err := s.Ping(cctx); items.ErrorCode(err) != items.EUNAVAILABLE || !errors.Is(err, context.Canceled) {
		t.Errorf("ping of a gone caller under latency: got %v", err)
	}
	if c := s.Counts(); c.Errors != 1 || c.Throttles != 2 || c.Delayed != 1 {
		t.Errorf("got counts %+v", c)
	}
}
