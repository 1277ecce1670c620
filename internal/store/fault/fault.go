// Package fault injects faults into an items.Store, in the manner of
// AWS's Fault Injection Service: a share of operations fail as an
// internal error (500 to the client) or as the store's throttling (503
// with Retry-After), and each operation may be slowed, for a bounded time
// or until changed. It is for fault tests, game days and benchmarks:
// `surge serve --fault store:error=0.1,latency=50ms` (server.Config.Fault),
// off by default and refused where the configuration looks like
// production.
//
// A fault is injected before the operation reaches the store, so a
// failed write changed nothing: what the client was told failed did not
// happen.
package fault

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"sort"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/surgehq/surge/internal/items"
)

// Operations of the store, as Spec.Ops names them.
const (
	OpGet     = "get"
	OpCreate  = "create"
	OpReplace = "replace"
	OpDelete  = "delete"
	OpList    = "list"
	OpPing    = "ping"
)

var allOps = []string{OpGet, OpCreate, OpReplace, OpDelete, OpList, OpPing}

// Target is the only fault target today: the store.
const Target = "store"

// Spec is the faults to inject.
type Spec struct {
	// Error is the share of operations, 0 to 1, that fail with an
	// internal error.
	Error float64
	// Throttle is the share of operations, 0 to 1, that fail with
	// EUNAVAILABLE and Retry-After, as a throttled store answers.
	Throttle float64
	// Latency is added to every operation (not only the failing ones).
	Latency time.Duration
	// Ops are the operations faulted; empty means all.
	Ops []string
	// Duration, when positive, ends the faults that long after the store
	// is wrapped (or the spec set): the service then recovers by itself.
	Duration time.Duration
}

// On reports whether s injects anything.
func (s Spec) On() bool { return s.Error > 0 || s.Throttle > 0 || s.Latency > 0 }

// String returns s in the form Parse reads; "" when s is off.
func (s Spec) String() string {
	if !s.On() {
		return ""
	}
	var parts []string
	if s.Error > 0 {
		parts = append(parts, "error="+strconv.FormatFloat(s.Error, 'g', -1, 64))
	}
	if s.Throttle > 0 {
		parts = append(parts, "throttle="+strconv.FormatFloat(s.Throttle, 'g', -1, 64))
	}
	if s.Latency > 0 {
		parts = append(parts, "latency="+s.Latency.String())
	}
	if len(s.Ops) > 0 {
		parts = append(parts, "ops="+strings.Join(s.Ops, "+"))
	}
	if s.Duration > 0 {
		parts = append(parts, "duration="+s.Duration.String())
	}
	return Target + ":" + strings.Join(parts, ",")
}

// Parse reads a fault spec: "" (none), or "store:" and comma-separated
// settings: error=SHARE, throttle=SHARE (0 to 1, their sum at most 1),
// latency=DURATION, ops=OP+OP (get, create, replace, delete, list, ping)
// and duration=DURATION, such as "store:error=0.1,latency=50ms".
func Parse(text string) (Spec, error) {
	var s Spec
	text = strings.TrimSpace(text)
	if text == "" {
		return s, nil
	}
	bad := func(format string, args ...any) (Spec, error) {
		return Spec{}, fmt.Errorf("fault %q: %s", clip(text), fmt.Sprintf(format, args...))
	}
	target, rest, ok := strings.Cut(text, ":")
	if !ok || target != Target {
		return bad("want %s:SETTING=VALUE,...", Target)
	}
	seen := map[string]bool{}
	for _, kv := range strings.Split(rest, ",") {
		k, v, ok := strings.Cut(strings.TrimSpace(kv), "=")
		if !ok || v == "" {
			return bad("setting %q: want NAME=VALUE", clip(kv))
		}
		if seen[k] {
			return bad("%s given twice", k)
		}
		seen[k] = true
		switch k {
		case "error", "throttle":
			f, err := strconv.ParseFloat(v, 64)
			if err != nil || !(f >= 0 && f <= 1) {
				return bad("%s=%s: want a share from 0 to 1", k, clip(v))
			}
			if k == "error" {
				s.Error = f
			} else {
				s.Throttle = f
			}
		case "latency", "duration":
			d, err := time.ParseDuration(v)
			if err != nil || d < 0 || d > time.Hour*24 {
				return bad("%s=%s: want a duration from 0 to 24h, such as 50ms", k, clip(v))
			}
			if k == "latency" {
				s.Latency = d
			} else {
				s.Duration = d
			}
		case "ops":
			for _, op := range strings.Split(v, "+") {
				if !validOp(op) {
					return bad("operation %q: want %s, joined with +", clip(op), strings.Join(allOps, ", "))
				}
				s.Ops = append(s.Ops, op)
			}
			sort.Strings(s.Ops)
		default:
			return bad("unknown setting %q: want error, throttle, latency, ops or duration", clip(k))
		}
	}
	if s.Error+s.Throttle > 1 {
		return bad("error and throttle add up to more than 1")
	}
	if !s.On() {
		return bad("injects nothing: give error, throttle or latency")
	}
	return s, nil
}

func validOp(op string) bool {
	for _, o := range allOps {
		if op == o {
			return true
		}
	}
	return false
}

func clip(s string) string {
	if len(s) > 64 {
		return s[:64] + "..."
	}
	return s
}

// Counts are what a Store injected.
type Counts struct {
	// Errors and Throttles count the operations failed; Delayed those
	// slowed.
	Errors, Throttles, Delayed int64
}

// Store is an items.Store that injects a Spec's faults before passing
// operations to the store it wraps. It is safe for concurrent use, and
// its spec may change while it serves (Set).
type Store struct {
	next  items.Store
	now   func() time.Time
	state atomic.Pointer[state]

	errors, throttles, delayed atomic.Int64
}

// state is a spec in force and when it ends.
type state struct {
	spec  Spec
	ops   map[string]bool // nil: all
	until time.Time       // zero: no end
}

// Option configures a Store.
type Option func(*Store)

// WithClock sets the clock that ends a spec's Duration (default
// time.Now).
func WithClock(now func() time.Time) Option { return func(s *Store) { s.now = now } }

// Wrap returns next with spec's faults injected.
func Wrap(next items.Store, spec Spec, opts ...Option) *Store {
	s := &Store{next: next, now: time.Now}
	for _, o := range opts {
		o(s)
	}
	s.Set(spec)
	return s
}

// Set replaces the faults in force; a Spec that is not On ends them.
func (s *Store) Set(spec Spec) {
	st := &state{spec: spec}
	if len(spec.Ops) > 0 {
		st.ops = map[string]bool{}
		for _, op := range spec.Ops {
			st.ops[op] = true
		}
	}
	if spec.Duration > 0 {
		st.until = s.now().Add(spec.Duration)
	}
	s.state.Store(st)
}

// Counts returns what s injected so far.
func (s *Store) Counts() Counts {
	return Counts{Errors: s.errors.Load(), Throttles: s.throttles.Load(), Delayed: s.delayed.Load()}
}

// Unwrap returns the store below.
func (s *Store) Unwrap() items.Store { return s.next }

// ErrInjected is the cause of an injected internal error: the log shows
// it, the client sees only the contract's "Internal error.".
var ErrInjected = errors.New("injected fault")

// errThrottled is an injected throttle, as a store under its capacity
// answers.
var errThrottled = &items.Error{Code: items.EUNAVAILABLE, Message: "The store is throttling requests; retry shortly.", RetryAfter: 1}

// inject applies the faults in force to one operation: the delay, then
// perhaps a failure.
func (s *Store) inject(ctx context.Context, op string) error {
	st := s.state.Load()
	if !st.spec.On() || (st.ops != nil && !st.ops[op]) {
		return nil
	}
	if !st.until.IsZero() && !s.now().Before(st.until) {
		return nil
	}
	if d := st.spec.Latency; d > 0 {
		s.delayed.Add(1)
		t := time.NewTimer(d)
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
			return fmt.Errorf("%w: %w", &items.Error{Code: items.EUNAVAILABLE, Message: "The store did not answer in time.", RetryAfter: 1}, ctx.Err())
		}
	}
	if st.spec.Error == 0 && st.spec.Throttle == 0 {
		return nil
	}
	switch x := rand.Float64(); {
	case x < st.spec.Error:
		s.errors.Add(1)
		return fmt.Errorf("store %s: %w", op, ErrInjected)
	case x < st.spec.Error+st.spec.Throttle:
		s.throttles.Add(1)
		return fmt.Errorf("store %s: %w (%w)", op, errThrottled, ErrInjected)
	}
	return nil
}

// Get implements items.Store.
func (s *Store) Get(ctx context.Context, key items.Key, opt items.ReadOptions) (*items.Item, error) {
	if err := s.inject(ctx, OpGet); err != nil {
		return nil, err
	}
	return s.next.Get(ctx, key, opt)
}

// Create implements items.Store.
func (s *Store) Create(ctx context.Context, key items.Key, attrs items.Attributes, idem *items.Idempotency) (*items.Created, error) {
	if err := s.inject(ctx, OpCreate); err != nil {
		return nil, err
	}
	return s.next.Create(ctx, key, attrs, idem)
}

// Replace implements items.Store.
func (s *Store) Replace(ctx context.Context, key items.Key, attrs items.Attributes, cond items.Condition) (*items.Item, error) {
	if err := s.inject(ctx, OpReplace); err != nil {
		return nil, err
	}
	return s.next.Replace(ctx, key, attrs, cond)
}

// Delete implements items.Store.
func (s *Store) Delete(ctx context.Context, key items.Key, cond items.Condition) error {
	if err := s.inject(ctx, OpDelete); err != nil {
		return err
	}
	return s.next.Delete(ctx, key, cond)
}

// List implements items.Store.
func (s *Store) List(ctx context.Context, tenant string, q items.ListQuery) (*items.Page, error) {
	if err := s.inject(ctx, OpList); err != nil {
		return nil, err
	}
	return s.next.List(ctx, tenant, q)
}

// Ping implements items.Store.
func (s *Store) Ping(ctx context.Context) error {
	if err := s.inject(ctx, OpPing); err != nil {
		return err
	}
	return s.next.Ping(ctx)
}

// Close implements items.Store; faults never stop a close.
func (s *Store) Close() error { return s.next.Close() }
