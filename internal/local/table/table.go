package table

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"sync"
	"time"

	"github.com/surgehq/surge/internal/local/autoscaling"
)

// Mode is a table's capacity mode; the words are those of `surge table
// create --billing`.
type Mode string

// Capacity modes.
const (
	// OnDemand tables pay per request unit and are not throttled below
	// the table's quota (OnDemandLimit).
	OnDemand Mode = "on-demand"
	// Provisioned tables have read and write capacity units a second,
	// with burst capacity, and throttle past them.
	Provisioned Mode = "provisioned"
)

// Defaults of Config.
const (
	// DefaultBurst is how much unused capacity a provisioned table keeps,
	// in seconds of its provisioned rate: DynamoDB keeps up to five
	// minutes.
	DefaultBurst = 300 * time.Second
	// DefaultOnDemandLimit is an on-demand table's quota, in request
	// units a second for reads and for writes: DynamoDB's default
	// per-table quota.
	DefaultOnDemandLimit = 40000
)

// Config configures a Table. The zero value of each field takes the
// default its comment gives.
type Config struct {
	// Name is the table's name. Required.
	Name string
	// Mode is OnDemand (the default) or Provisioned.
	Mode Mode
	// RCU and WCU are the provisioned read and write capacity units, at
	// least 1 each when Mode is Provisioned.
	RCU, WCU int
	// Burst is how much unused capacity is kept (default DefaultBurst);
	// it is never under one second's worth.
	Burst time.Duration
	// OnDemandLimit is an on-demand table's quota a second for each kind
	// (default DefaultOnDemandLimit).
	OnDemandLimit int
	// Scaling is the auto scaling of a provisioned table's capacity.
	Scaling Scaling
	// Compression makes table time run this many times faster than Now
	// (default 1): a lab run at 60 plays a minute of a provisioned table
	// (its refill, its one-minute datapoints, its schedules and daily
	// limits) in a second. The capacity a second is unchanged in table
	// time, so the table admits Compression times its capacity a second
	// of wall time; waits are given in wall time.
	Compression float64
	// Now is the wall clock (default time.Now).
	Now func() time.Time
	// Log is told of every change of capacity (default: discarded).
	Log *slog.Logger
	// Observer, when set, is told of every charge, throttle and change of
	// capacity.
	Observer Observer
}

// Scaling is a provisioned table's auto scaling: a scalable target and
// target tracking policy for each kind, as DynamoDB's auto scaling makes
// them with Application Auto Scaling.
type Scaling struct {
	Read, Write Dimension
}

// Dimension is the auto scaling of one kind of capacity. A Dimension with
// Max 0 does not scale.
type Dimension struct {
	// Min and Max bound the capacity units.
	Min, Max int
	// Target is the target utilisation of consumed over provisioned
	// capacity, 0.2 to 0.9 as DynamoDB allows (the seed's 0.7; 0 turns
	// target tracking off).
	Target float64
	// Actions are scheduled actions on the bounds.
	Actions []autoscaling.Action
}

// Observer is told of what a table does, for metrics. Its methods are
// called with the table's lock held: they must be quick and must not call
// the table.
type Observer interface {
	// Consumed reports units charged to a table.
	Consumed(table string, k Kind, units float64)
	// Throttled reports a request refused for capacity.
	Throttled(table string, k Kind)
	// CapacityChanged reports a change of provisioned capacity or of its
	// bounds, or a refused decrease.
	CapacityChanged(c Change)
}

// Change is a change of a table's capacity.
type Change struct {
	Table string
	Kind  Kind
	autoscaling.Change
}

// Result is the answer to a charge.
type Result struct {
	// Units are the capacity units charged (0 when throttled).
	Units float64
	// Throttled reports that the table refused the request, as DynamoDB
	// answers ProvisionedThroughputExceededException.
	Throttled bool
	// Wait is, when throttled, how long in wall time until the request
	// would be admitted if nothing else ran.
	Wait time.Duration
}

// Table is the capacity of one table: the request units it has consumed,
// and for a provisioned table its read and write buckets and their auto
// scaling. Every process that reaches the table, in or out of surge's
// process, is charged against the same Table. It is safe for concurrent
// use.
type Table struct {
	name  string
	burst time.Duration
	limit float64
	clock clock
	log   *slog.Logger
	obs   Observer

	mu    sync.Mutex
	mode  Mode
	kinds [2]kindState
	// periodEnd is the end, in table time, of the one-minute period whose
	// consumption is being summed for auto scaling.
	periodEnd time.Time
	start     time.Time
}

type kindState struct {
	bucket      bucket
	provisioned int
	scaler      *autoscaling.Scaler // nil: no auto scaling
	periodUnits float64
	consumed    float64
	requests    int64
	throttled   int64
	// unitSeconds is the integral of the provisioned capacity over table
	// time up to mark, for its cost.
	unitSeconds float64
	mark        time.Time
}

// New returns a table as cfg says, its buckets holding one second of
// capacity.
func New(cfg Config) (*Table, error) {
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	if cfg.Burst == 0 {
		cfg.Burst = DefaultBurst
	}
	if cfg.OnDemandLimit == 0 {
		cfg.OnDemandLimit = DefaultOnDemandLimit
	}
	if cfg.Mode == "" {
		cfg.Mode = OnDemand
	}
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	t := &Table{name: cfg.Name, burst: cfg.Burst, limit: float64(cfg.OnDemandLimit), log: cfg.Log, obs: cfg.Observer,
		clock: newClock(cfg.Now, cfg.Compression)}
	now := t.clock.now()
	t.start = now
	t.periodEnd = now.Truncate(time.Minute).Add(time.Minute)
	caps := [2]int{cfg.RCU, cfg.WCU}
	dims := [2]Dimension{cfg.Scaling.Read, cfg.Scaling.Write}
	for k := range t.kinds {
		ks := &t.kinds[k]
		ks.mark = now
		ks.provisioned = caps[k]
		if cfg.Mode != Provisioned || dims[k].Max == 0 {
			continue
		}
		d := dims[k]
		kind := Kind(k)
		s, err := autoscaling.New(autoscaling.Policy{Min: d.Min, Max: d.Max, Initial: caps[k], Target: d.Target,
			Alarms: autoscaling.DynamoDBAlarms, Decreases: autoscaling.DynamoDBDecreases, Actions: d.Actions,
			OnChange: func(c autoscaling.Change) { t.changed(kind, c) }}, now)
		if err != nil {
			return nil, fmt.Errorf("table %s: %s auto scaling: %w", cfg.Name, kind, err)
		}
		ks.scaler = s
		ks.provisioned = s.Desired()
	}
	t.mode = cfg.Mode
	t.resetBuckets(now)
	return t, nil
}

func (c *Config) validate() error {
	if c.Name == "" {
		return errors.New("table: a name is required")
	}
	switch c.Mode {
	case "", OnDemand:
		if c.RCU != 0 || c.WCU != 0 {
			return fmt.Errorf("table %s: read and write capacity are for provisioned mode", c.Name)
		}
	case Provisioned:
		if c.RCU < 1 || c.WCU < 1 {
			return fmt.Errorf("table %s: provisioned mode needs read and write capacity of at least 1", c.Name)
		}
	default:
		return fmt.Errorf("table %s: mode %q is neither %s nor %s", c.Name, c.Mode, OnDemand, Provisioned)
	}
	if c.Compression != 0 && !(c.Compression >= 1 && !math.IsInf(c.Compression, 0)) {
		return fmt.Errorf("table %s: time compression %v: want 1 or more (0 is 1)", c.Name, c.Compression)
	}
	for _, d := range []Dimension{c.Scaling.Read, c.Scaling.Write} {
		if d.Target != 0 && (d.Target < 0.2 || d.Target > 0.9) {
			return fmt.Errorf("table %s: target utilization %v: DynamoDB takes 0.2 to 0.9", c.Name, d.Target)
		}
	}
	if c.Burst < 0 || c.OnDemandLimit < 0 {
		return fmt.Errorf("table %s: burst %v and on-demand limit %d: want 0 (the default) or more", c.Name, c.Burst, c.OnDemandLimit)
	}
	return nil
}

// resetBuckets makes the buckets of the mode and capacity now.
func (t *Table) resetBuckets(now time.Time) {
	for k := range t.kinds {
		ks := &t.kinds[k]
		if t.mode == Provisioned {
			ks.bucket = newBucket(now, float64(ks.provisioned), t.burst)
		} else {
			ks.bucket = newBucket(now, t.limit, time.Second)
		}
	}
}

// Name returns the table's name.
func (t *Table) Name() string { return t.name }

// Mode returns the table's capacity mode.
func (t *Table) Mode() Mode {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.mode
}

// Now returns the time on the table's clock.
func (t *Table) Now() time.Time { return t.clock.now() }

// Admit decides whether a request of kind k estimated at need units may
// run now, as DynamoDB admits a request when the table's bucket holds its
// estimate (a read is estimated at its minimum, ReadUnits(0, c), since its
// size is known only once it has run). An admitted request's estimate is
// taken from the bucket at once, so that requests running at the same time
// cannot spend the same units; the caller then settles it with Settle once
// the request has run, or failed.
func (t *Table) Admit(k Kind, need float64) Result {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.admitLocked(t.clock.now(), k, need)
}

func (t *Table) admitLocked(now time.Time, k Kind, need float64) Result {
	if !now.Before(t.periodEnd) {
		t.roll(now)
	}
	ks := &t.kinds[k]
	ok, wait := ks.bucket.admit(now, need)
	if ok {
		ks.bucket.take(need)
		return Result{}
	}
	ks.throttled++
	if t.obs != nil {
		t.obs.Throttled(t.name, k)
	}
	return Result{Throttled: true, Wait: t.clock.wall(wait)}
}

// Settle charges a request that Admit admitted at estimate units with
// the units it consumed: the bucket gets the estimate back and pays the
// units, which may leave it in debt; later requests wait for the debt to
// be repaid. A request that consumed nothing (it failed before DynamoDB
// would charge it) settles at 0.
func (t *Table) Settle(k Kind, estimate, units float64) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.settleLocked(t.clock.now(), k, estimate, units)
}

func (t *Table) settleLocked(now time.Time, k Kind, estimate, units float64) {
	if !now.Before(t.periodEnd) {
		t.roll(now)
	}
	ks := &t.kinds[k]
	ks.bucket.take(units - estimate)
	if units == 0 {
		return
	}
	ks.periodUnits += units
	ks.consumed += units
	ks.requests++
	if t.obs != nil {
		t.obs.Consumed(t.name, k, units)
	}
}

// Charge admits and charges a request of kind k whose cost is known
// before it runs (a write of a known item): when admitted, its units are
// consumed at once.
func (t *Table) Charge(k Kind, units float64) Result {
	t.mu.Lock()
	defer t.mu.Unlock()
	now := t.clock.now()
	r := t.admitLocked(now, k, units)
	if r.Throttled {
		return r
	}
	t.settleLocked(now, k, units, units)
	return Result{Units: units}
}

// Tick runs the scheduled actions due and closes the one-minute periods
// that have ended, as a request would; a caller runs it every few seconds
// so that a table without traffic still follows its schedules.
func (t *Table) Tick() {
	t.mu.Lock()
	defer t.mu.Unlock()
	now := t.clock.now()
	if !now.Before(t.periodEnd) {
		t.roll(now)
	}
	for k := range t.kinds {
		if s := t.kinds[k].scaler; s != nil {
			t.apply(now, Kind(k), s.Advance(now))
		}
	}
}

// roll closes every one-minute period ended by now: each kind's
// consumption in it, over its provisioned capacity for the minute, is a
// datapoint of its target tracking (a minute without consumption has no
// datapoint, as DynamoDB publishes none), and the capacity follows what
// auto scaling decides.
func (t *Table) roll(now time.Time) {
	for !now.Before(t.periodEnd) {
		t.closePeriod(t.periodEnd)
		t.periodEnd = t.periodEnd.Add(time.Minute)
		if now.Sub(t.periodEnd) > time.Hour {
			// A long gap: its minutes have no datapoints, and one
			// missing datapoint stands for them all.
			t.closePeriod(now)
			t.periodEnd = now.Truncate(time.Minute).Add(time.Minute)
		}
	}
}

func (t *Table) closePeriod(end time.Time) {
	for k := range t.kinds {
		ks := &t.kinds[k]
		if ks.scaler != nil {
			v := ks.periodUnits / (float64(ks.provisioned) * 60)
			t.apply(end, Kind(k), ks.scaler.Datapoint(end, v, ks.periodUnits > 0))
		}
		ks.periodUnits = 0
	}
}

// apply sets kind k's provisioned capacity to n from now.
func (t *Table) apply(now time.Time, k Kind, n int) {
	ks := &t.kinds[k]
	if n == ks.provisioned || t.mode != Provisioned {
		return
	}
	t.markCapacity(now)
	ks.provisioned = n
	ks.bucket.set(now, float64(n), t.burst)
}

// markCapacity adds the provisioned capacity since the last mark to the
// capacity-seconds of each kind.
func (t *Table) markCapacity(now time.Time) {
	for k := range t.kinds {
		ks := &t.kinds[k]
		if d := now.Sub(ks.mark); d > 0 {
			if t.mode == Provisioned {
				ks.unitSeconds += float64(ks.provisioned) * d.Seconds()
			}
			ks.mark = now
		}
	}
}

// changed logs and reports a change decided by auto scaling.
func (t *Table) changed(k Kind, c autoscaling.Change) {
	t.log.Info("table capacity", "table", t.name, "kind", k.String(), "from", c.From, "to", c.To,
		"min", c.Min, "max", c.Max, "reason", c.Reason, "at", c.At.UTC().Format(time.RFC3339))
	if t.obs != nil {
		t.obs.CapacityChanged(Change{Table: t.name, Kind: k, Change: c})
	}
}

// SetCapacity sets the table's mode and provisioned capacity, as an
// UpdateTable does (or a CreateTable seen by the front). Auto scaling
// carries on from the new capacity within its bounds. The buckets start
// over with one second's worth when the mode changes. Unlike DynamoDB, it
// does not count a decrease against the limit on decreases a day, which
// applies to auto scaling's here.
func (t *Table) SetCapacity(mode Mode, rcu, wcu int) error {
	cfg := Config{Name: t.name, Mode: mode, RCU: rcu, WCU: wcu}
	if err := cfg.validate(); err != nil {
		return err
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	now := t.clock.now()
	if !now.Before(t.periodEnd) {
		t.roll(now)
	}
	t.markCapacity(now)
	caps := [2]int{rcu, wcu}
	old := t.mode
	t.mode = cfg.Mode
	if t.mode == "" {
		t.mode = OnDemand
	}
	for k := range t.kinds {
		from := t.kinds[k].provisioned
		t.kinds[k].provisioned = caps[k]
		if t.mode == Provisioned && old == Provisioned {
			t.kinds[k].bucket.set(now, float64(caps[k]), t.burst)
		}
		if s := t.kinds[k].scaler; s != nil {
			s.Set(caps[k])
		}
		if from != caps[k] {
			t.changed(Kind(k), autoscaling.Change{At: now, From: from, To: caps[k], Reason: "UpdateTable"})
		}
	}
	if old != t.mode {
		t.resetBuckets(now)
	}
	return nil
}

// Stats is a snapshot of a table's capacity and consumption.
type Stats struct {
	// Mode and the provisioned read and write capacity now.
	Mode     Mode
	RCU, WCU int
	// ConsumedRead and ConsumedWrite are the units charged so far (for
	// an on-demand table, its read and write request units).
	ConsumedRead, ConsumedWrite float64
	// Requests and Throttled count the charges and refusals of each kind.
	ReadRequests, WriteRequests   int64
	ReadThrottled, WriteThrottled int64
	// RCUHours and WCUHours are the provisioned capacity over the table's
	// time so far, as auto scaling set it: what provisioned capacity is
	// billed on.
	RCUHours, WCUHours float64
	// Elapsed is the table time since the table was made.
	Elapsed time.Duration
}

// Stats returns the table's figures now.
func (t *Table) Stats() Stats {
	t.mu.Lock()
	defer t.mu.Unlock()
	now := t.clock.now()
	if !now.Before(t.periodEnd) {
		t.roll(now)
	}
	t.markCapacity(now)
	r, w := &t.kinds[Read], &t.kinds[Write]
	return Stats{Mode: t.mode, RCU: r.provisioned, WCU: w.provisioned,
		ConsumedRead: r.consumed, ConsumedWrite: w.consumed,
		ReadRequests: r.requests, WriteRequests: w.requests, ReadThrottled: r.throttled, WriteThrottled: w.throttled,
		RCUHours: r.unitSeconds / 3600, WCUHours: w.unitSeconds / 3600, Elapsed: now.Sub(t.start)}
}

// clock is table time: the wall clock, sped up by a factor from the
// moment the table was made.
type clock struct {
	wallNow func() time.Time
	origin  time.Time
	factor  float64
}

func newClock(now func() time.Time, factor float64) clock {
	if now == nil {
		now = time.Now
	}
	if factor == 0 {
		factor = 1
	}
	return clock{wallNow: now, origin: now(), factor: factor}
}

func (c clock) now() time.Time {
	w := c.wallNow()
	if c.factor == 1 {
		return w
	}
	return c.origin.Add(time.Duration(float64(w.Sub(c.origin)) * c.factor))
}

// wall converts a table-time duration to wall time.
func (c clock) wall(d time.Duration) time.Duration {
	return time.Duration(float64(d) / c.factor)
}
