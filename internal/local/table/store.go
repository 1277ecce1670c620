package table

import (
	"context"
	"math"
	"time"

	"github.com/surgehq/surge/internal/items"
	"github.com/surgehq/surge/internal/store/dynamo"
)

// Operation names of a charged store, as StoreObserver gets them.
const (
	OpGet     = "get"
	OpCreate  = "create"
	OpReplace = "replace"
	OpDelete  = "delete"
	OpList    = "list"
	OpScan    = "scan"
	OpQuery   = "query"
)

// StoreObserver is told what every operation of a charged store consumed,
// for metrics per operation: its table, its name (OpGet, ...) and its
// units, and each operation throttled. It must be quick and safe for
// concurrent use.
type StoreObserver interface {
	Charged(table, op string, c items.Capacity)
	ThrottledOp(table, op string)
}

// StoreConfig configures a charged store (NewStore).
type StoreConfig struct {
	// Retryer retries an operation the table throttles, as the AWS SDK
	// retries a ProvisionedThroughputExceededException; its delays run on
	// table time (divided by the table's Compression), and its default is
	// the SDK's standard retryer (4 attempts, at most 20 s apart).
	Retryer Retryer
	// Observer, when set, is told each operation's units.
	Observer StoreObserver
}

// Store is the capacity layer of a store that is not DynamoDB itself
// (SQLite, memory, or DynamoDB through surge): it charges its Table for
// every operation as DynamoDB charges it, from the sizes of the items the
// operation read and wrote as DynamoDB counts them (dynamo.StoredSize: the
// item as surge keeps it in DynamoDB), or the units the store below
// reports as counted by its engine (DynamoDB's ConsumedCapacity). An
// operation is admitted against the table's bucket before it runs, with
// its estimate, retried while throttled as Config.Retryer says, and
// refused with EUNAVAILABLE (Limit table.read or table.write, Retry-After
// the table's wait) when the retries are spent; once it has run, the
// table is charged what it consumed. Each operation's units are added to
// the items.Usage of its context as counted (they are the table's own
// count), and the item a write replaced is passed on to it when it asks.
//
// The charges, as DynamoDB's:
//
//	get      ReadUnits(size), half when eventually consistent; a missing item 1 unit (0.5)
//	create   WriteUnits(size); with an Idempotency-Key, a transaction of the
//	         item and its record: 2 x TransactWriteUnits(size); a conflict,
//	         the larger of the existing item and the new one
//	replace  WriteUnits of the larger of the old and the new item; a failed
//	         condition, of the existing item and the new one
//	delete   WriteUnits(size of the deleted item); a missing one, 1 unit
//	list,
//	scan     QueryUnits(the sizes of every item read, summed), half when
//	         eventually consistent (a list is; a scan is as it asks)
//	query    QueryUnits of the items read from the index, eventually
//	         consistent, as index read units too
//
// An operation refused before it reached the table (a bad key, an item
// over the size limit) consumes nothing. Store is safe for concurrent use.
type Store struct {
	s     items.Store
	t     *Table
	retry Retryer
	obs   StoreObserver
}

var (
	_ items.Store   = (*Store)(nil)
	_ items.Querier = (*Store)(nil)
)

// NewStore returns st charged to t.
func NewStore(st items.Store, t *Table, cfg StoreConfig) *Store {
	r := cfg.Retryer
	if r.Sleep == nil {
		f := t.clock.factor
		r.Sleep = func(ctx context.Context, d time.Duration) error {
			return sleepCtx(ctx, time.Duration(float64(d)/f))
		}
	}
	return &Store{s: st, t: t, retry: r, obs: cfg.Observer}
}

// Table returns the table the store charges.
func (s *Store) Table() *Table { return s.t }

// admit admits an operation of kind k estimated at est units, retrying
// while the table throttles it.
func (s *Store) admit(ctx context.Context, op string, k Kind, est float64) error {
	res := s.t.Admit(k, est)
	if !res.Throttled {
		return nil
	}
	first := true
	res, _, err := s.retry.Do(ctx, func() Result {
		if first { // the attempt made above
			first = false
			return res
		}
		return s.t.Admit(k, est)
	})
	if err != nil {
		return err
	}
	if !res.Throttled {
		return nil
	}
	if s.obs != nil {
		s.obs.ThrottledOp(s.t.name, op)
	}
	limit := "table.read"
	if k == Write {
		limit = "table.write"
	}
	return &items.Error{Code: items.EUNAVAILABLE, Limit: limit, RetryAfter: max(1, int(math.Ceil(res.Wait.Seconds()))),
		Message: "The level of configured provisioned throughput for the table was exceeded."}
}

// settle charges an admitted operation what it consumed: the units its
// store counted, if it counted them, else computed.
func (s *Store) settle(ctx context.Context, op string, k Kind, est float64, u *items.Usage, computed items.Capacity) {
	c := computed
	if counted, ok := u.Counts(); ok {
		c = counted
	}
	units := c.Read
	if k == Write {
		units = c.Write
	}
	s.t.Settle(k, est, units)
	// The table's charge is the count of whoever asks above.
	items.AddCountedUsage(ctx, c)
	if s.obs != nil && (c.Read != 0 || c.Write != 0) {
		s.obs.Charged(s.t.name, op, c)
	}
}

// Get implements items.Store.
func (s *Store) Get(ctx context.Context, key items.Key, opt items.ReadOptions) (*items.Item, error) {
	c := consistency(opt.Consistent)
	est := ReadUnits(0, c)
	if err := s.admit(ctx, OpGet, Read, est); err != nil {
		return nil, err
	}
	octx, u := items.NewUsageContext(ctx)
	it, err := s.s.Get(octx, key, opt)
	var units float64
	switch {
	case err == nil:
		units = ReadUnits(dynamo.StoredSize(it), c)
	case items.ErrorCode(err) == items.ENOTFOUND:
		units = ReadUnits(0, c)
	}
	s.settle(ctx, OpGet, Read, est, u, items.Capacity{Read: units})
	return it, err
}

// writeEstimate is a write's estimate, to admit it: its attributes' JSON
// length, which is about their size as DynamoDB counts it (a little
// more), and the server-managed attributes'. What it consumed is settled
// once it has run.
func writeEstimate(key items.Key, attrs items.Attributes) float64 {
	return WriteUnits(len(attrs) + len(key.Tenant) + len(key.ID) + serverAttrsSize)
}

// serverAttrsSize is about the size of an item's server-managed
// attributes, their names included (version, rev, timestamps, the
// names of tenant, id and attrs).
const serverAttrsSize = 80

// probeSize is the stored size of an item of key and attrs as a write
// makes it: version digits, rev and timestamps as a new item's.
func probeSize(key items.Key, attrs items.Attributes, version int64) int {
	now := time.Now()
	return dynamo.StoredSize(&items.Item{Key: key, Version: version, CreatedAt: now, UpdatedAt: now,
		Rev: "0000000000000000", Attrs: attrs})
}

// writeUsage returns a context for a write's backend call that collects
// its units and measures the item it replaced (Usage.OldSize); the
// backend passes that item on to the Usages above that ask for it.
func writeUsage(ctx context.Context) (context.Context, *items.Usage) {
	octx, u := items.NewUsageContext(ctx)
	u.SizeOld = dynamo.StoredSize
	return octx, u
}

// oldSize is the size of the item a write replaced, 0 for none.
func oldSize(u *items.Usage) int {
	n, _ := u.OldSize()
	return n
}

// Create implements items.Store.
func (s *Store) Create(ctx context.Context, key items.Key, attrs items.Attributes, idem *items.Idempotency) (*items.Created, error) {
	est := writeEstimate(key, attrs)
	if idem != nil {
		est = 4 * est // two items, in a transaction
	}
	if err := s.admit(ctx, OpCreate, Write, est); err != nil {
		return nil, err
	}
	octx, u := writeUsage(ctx)
	c, err := s.s.Create(octx, key, attrs, idem)
	var units float64
	switch code := items.ErrorCode(err); {
	case err == nil && idem == nil:
		units = WriteUnits(dynamo.StoredSize(c.Item))
	case err == nil, code == items.ECONFLICT && idem != nil:
		// A transaction of the item and its idempotency record, about
		// as large: TransactWriteItems doubles each.
		units = 2 * TransactWriteUnits(probeSize(key, attrs, 1))
	case code == items.ECONFLICT:
		units = WriteUnits(max(oldSize(u), probeSize(key, attrs, 1)))
	}
	s.settle(ctx, OpCreate, Write, est, u, items.Capacity{Write: units})
	return c, err
}

// Replace implements items.Store.
func (s *Store) Replace(ctx context.Context, key items.Key, attrs items.Attributes, cond items.Condition) (*items.Item, error) {
	est := writeEstimate(key, attrs)
	if err := s.admit(ctx, OpReplace, Write, est); err != nil {
		return nil, err
	}
	octx, u := writeUsage(ctx)
	it, err := s.s.Replace(octx, key, attrs, cond)
	var units float64
	switch code := items.ErrorCode(err); {
	case err == nil:
		units = WriteUnits(max(oldSize(u), dynamo.StoredSize(it)))
	case code == items.EPRECONDITION, code == items.ENOTFOUND:
		units = WriteUnits(max(oldSize(u), probeSize(key, attrs, 2)))
	}
	s.settle(ctx, OpReplace, Write, est, u, items.Capacity{Write: units})
	return it, err
}

// Delete implements items.Store.
func (s *Store) Delete(ctx context.Context, key items.Key, cond items.Condition) error {
	est := WriteUnits(0)
	if err := s.admit(ctx, OpDelete, Write, est); err != nil {
		return err
	}
	octx, u := writeUsage(ctx)
	err := s.s.Delete(octx, key, cond)
	var units float64
	switch code := items.ErrorCode(err); {
	case err == nil, code == items.EPRECONDITION, code == items.ENOTFOUND:
		units = WriteUnits(oldSize(u))
	}
	s.settle(ctx, OpDelete, Write, est, u, items.Capacity{Write: units})
	return err
}

// pageUnits are the read units of a page of items read with c.
func pageUnits(p *items.Page, c Consistency) float64 {
	total := 0
	for _, it := range p.Items {
		total += dynamo.StoredSize(it)
	}
	return QueryUnits(total, c)
}

// List implements items.Store. A listing is charged as an eventually
// consistent Query of the tenant's partition.
func (s *Store) List(ctx context.Context, tenant string, q items.ListQuery) (*items.Page, error) {
	est := QueryUnits(0, Eventual)
	if err := s.admit(ctx, OpList, Read, est); err != nil {
		return nil, err
	}
	octx, u := items.NewUsageContext(ctx)
	p, err := s.s.List(octx, tenant, q)
	var units float64
	if err == nil {
		units = pageUnits(p, Eventual)
	}
	s.settle(ctx, OpList, Read, est, u, items.Capacity{Read: units})
	return p, err
}

// Scan implements items.Querier.
func (s *Store) Scan(ctx context.Context, tenant string, q items.ScanQuery) (*items.Page, error) {
	c := consistency(q.Consistent)
	est := QueryUnits(0, c)
	if err := s.admit(ctx, OpScan, Read, est); err != nil {
		return nil, err
	}
	octx, u := items.NewUsageContext(ctx)
	p, err := items.Scan(octx, s.s, tenant, q)
	var units float64
	if err == nil {
		units = pageUnits(p, c)
	}
	s.settle(ctx, OpScan, Read, est, u, items.Capacity{Read: units})
	return p, err
}

// Query implements items.Querier: the index's reads are charged to the
// table's read capacity (on DynamoDB a global secondary index has a
// capacity of its own) and reported as index read units.
func (s *Store) Query(ctx context.Context, tenant string, q items.IndexQuery) (*items.Page, error) {
	est := QueryUnits(0, Eventual)
	if err := s.admit(ctx, OpQuery, Read, est); err != nil {
		return nil, err
	}
	octx, u := items.NewUsageContext(ctx)
	p, err := items.QueryIndex(octx, s.s, tenant, q)
	var units float64
	if err == nil {
		units = pageUnits(p, Eventual)
	}
	s.settle(ctx, OpQuery, Read, est, u, items.Capacity{Read: units, IndexRead: units})
	return p, err
}

// Ping implements items.Store; it is not charged.
func (s *Store) Ping(ctx context.Context) error { return s.s.Ping(ctx) }

// Close implements items.Store.
func (s *Store) Close() error { return s.s.Close() }
