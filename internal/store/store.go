// Package store opens surge's stores and instruments them.
//
// Open is the one way to open a store from its URL (Parse reads every
// kind: sqlite:PATH, mem:, dynamodb://TABLE?..., dax://HOST:PORT); each
// backend package exports a Backend, and a program passes the backends it
// links, so that the Lambda binary, which passes DynamoDB's only, links no
// SQLite. Absolute makes a URL fit for a child process.
//
// Instrument is the one decorator of a store: it calls hooks around every
// operation (items.Querier's Scan and Query included) (Server-Timing, Prometheus metrics and tracing spans are
// hooks), so that those need not repeat the six methods of items.Store,
// and a request passes through one wrapper however many of them are on.
// The read cache (package readcache) is the only other layer: it is a
// store of its own in front of another.
package store

import (
	"context"
	"time"

	"github.com/surgehq/surge/internal/items"
)

// Operation names, as Op.Name has them.
const (
	OpGet     = "get"
	OpCreate  = "create"
	OpReplace = "replace"
	OpDelete  = "delete"
	OpList    = "list"
	OpScan    = "scan"
	OpQuery   = "query"
	OpPing    = "ping"
)

// Op is one store operation, as a Hook sees it.
type Op struct {
	// Name is the operation: OpGet, OpCreate, OpReplace, OpDelete,
	// OpList, OpScan, OpQuery or OpPing.
	Name string
	// Key is the item's key; for OpList, OpScan and OpQuery, Tenant only;
	// for OpPing, none.
	Key items.Key
	// Consistent is a strongly consistent OpGet or OpScan.
	Consistent bool
	// Limit and After are an OpList's, OpScan's or OpQuery's page size
	// and cursor (the id it lists after).
	Limit int
	After string
	// Start is when the operation began.
	Start time.Time
}

// Hook is called around every operation of an instrumented store. Before
// is called first and may return a derived context (a span's), which the
// operation and this hook's After then get; After is called with the
// operation's error and returns the error to pass on (the same, or the
// same wrapped with context). Hooks are called in order for Before and in
// reverse order for After, the first outermost. They must be safe for
// concurrent use.
type Hook interface {
	Before(ctx context.Context, op Op) context.Context
	After(ctx context.Context, op Op, err error) error
}

// Instrument returns s with hooks called around each of its operations,
// the first outermost. Instrumenting an instrumented store adds the hooks
// to it, in front of its own, rather than wrapping it again: the same
// calls in the same order, through one wrapper. Without hooks it returns
// s itself.
func Instrument(s items.Store, hooks ...Hook) items.Store {
	if len(hooks) == 0 {
		return s
	}
	if in, ok := s.(*instrumented); ok {
		return &instrumented{s: in.s, hooks: append(append([]Hook(nil), hooks...), in.hooks...)}
	}
	return &instrumented{s: s, hooks: append([]Hook(nil), hooks...)}
}

// instrumented is a store with hooks.
type instrumented struct {
	s     items.Store
	hooks []Hook
}

// ctxs holds the context each hook's Before returned, for its After.
// Most stores have a few hooks; more spill to the heap.
type ctxs struct {
	fixed [4]context.Context
	more  []context.Context
}

func (c *ctxs) set(i int, ctx context.Context) {
	if i < len(c.fixed) {
		c.fixed[i] = ctx
		return
	}
	c.more = append(c.more, ctx)
}

func (c *ctxs) get(i int) context.Context {
	if i < len(c.fixed) {
		return c.fixed[i]
	}
	return c.more[i-len(c.fixed)]
}

func (s *instrumented) before(ctx context.Context, op Op, cs *ctxs) context.Context {
	for i, h := range s.hooks {
		ctx = h.Before(ctx, op)
		cs.set(i, ctx)
	}
	return ctx
}

func (s *instrumented) after(op Op, cs *ctxs, err error) error {
	for i := len(s.hooks) - 1; i >= 0; i-- {
		err = s.hooks[i].After(cs.get(i), op, err)
	}
	return err
}

func (s *instrumented) Get(ctx context.Context, key items.Key, opt items.ReadOptions) (*items.Item, error) {
	op := Op{Name: OpGet, Key: key, Consistent: opt.Consistent, Start: time.Now()}
	var cs ctxs
	it, err := s.s.Get(s.before(ctx, op, &cs), key, opt)
	if err = s.after(op, &cs, err); err != nil {
		return nil, err
	}
	return it, nil
}

func (s *instrumented) Create(ctx context.Context, key items.Key, attrs items.Attributes, idem *items.Idempotency) (*items.Created, error) {
	op := Op{Name: OpCreate, Key: key, Start: time.Now()}
	var cs ctxs
	c, err := s.s.Create(s.before(ctx, op, &cs), key, attrs, idem)
	if err = s.after(op, &cs, err); err != nil {
		return nil, err
	}
	return c, nil
}

func (s *instrumented) Replace(ctx context.Context, key items.Key, attrs items.Attributes, cond items.Condition) (*items.Item, error) {
	op := Op{Name: OpReplace, Key: key, Start: time.Now()}
	var cs ctxs
	it, err := s.s.Replace(s.before(ctx, op, &cs), key, attrs, cond)
	if err = s.after(op, &cs, err); err != nil {
		return nil, err
	}
	return it, nil
}

func (s *instrumented) Delete(ctx context.Context, key items.Key, cond items.Condition) error {
	op := Op{Name: OpDelete, Key: key, Start: time.Now()}
	var cs ctxs
	err := s.s.Delete(s.before(ctx, op, &cs), key, cond)
	return s.after(op, &cs, err)
}

func (s *instrumented) List(ctx context.Context, tenant string, q items.ListQuery) (*items.Page, error) {
	op := Op{Name: OpList, Key: items.Key{Tenant: tenant}, Limit: q.Limit, After: q.After, Start: time.Now()}
	var cs ctxs
	p, err := s.s.List(s.before(ctx, op, &cs), tenant, q)
	if err = s.after(op, &cs, err); err != nil {
		return nil, err
	}
	return p, nil
}

// Scan implements items.Querier, through the store's own when it has
// one (items.Scan).
func (s *instrumented) Scan(ctx context.Context, tenant string, q items.ScanQuery) (*items.Page, error) {
	op := Op{Name: OpScan, Key: items.Key{Tenant: tenant}, Consistent: q.Consistent, Limit: q.Limit, After: q.After, Start: time.Now()}
	var cs ctxs
	p, err := items.Scan(s.before(ctx, op, &cs), s.s, tenant, q)
	if err = s.after(op, &cs, err); err != nil {
		return nil, err
	}
	return p, nil
}

// Query implements items.Querier, through the store's own when it has
// one (items.QueryIndex).
func (s *instrumented) Query(ctx context.Context, tenant string, q items.IndexQuery) (*items.Page, error) {
	op := Op{Name: OpQuery, Key: items.Key{Tenant: tenant}, Limit: q.Limit, After: q.After, Start: time.Now()}
	var cs ctxs
	p, err := items.QueryIndex(s.before(ctx, op, &cs), s.s, tenant, q)
	if err = s.after(op, &cs, err); err != nil {
		return nil, err
	}
	return p, nil
}

func (s *instrumented) Ping(ctx context.Context) error {
	op := Op{Name: OpPing, Start: time.Now()}
	var cs ctxs
	err := s.s.Ping(s.before(ctx, op, &cs))
	return s.after(op, &cs, err)
}

func (s *instrumented) Close() error { return s.s.Close() }
