package itemsapi

import (
	"context"
	"fmt"
	"time"

	"github.com/surgehq/surge/internal/items"
	"github.com/surgehq/surge/internal/timing"
)

// storeMetric is the Server-Timing name of time spent in the store.
const storeMetric = "store"

// timedStore records the time of every store call into the request's
// timing recorder, and adds the operation to internal errors for the log.
type timedStore struct{ s items.Store }

func (t timedStore) Get(ctx context.Context, key items.Key, opt items.ReadOptions) (*items.Item, error) {
	start := time.Now()
	it, err := t.s.Get(ctx, key, opt)
	timing.Since(ctx, storeMetric, start)
	if err != nil {
		return nil, wrapInternal(err, "store: get", key.ID)
	}
	return it, nil
}

func (t timedStore) Create(ctx context.Context, key items.Key, attrs items.Attributes, idem *items.Idempotency) (*items.Created, error) {
	start := time.Now()
	c, err := t.s.Create(ctx, key, attrs, idem)
	timing.Since(ctx, storeMetric, start)
	if err != nil {
		return nil, wrapInternal(err, "store: create", key.ID)
	}
	return c, nil
}

func (t timedStore) Replace(ctx context.Context, key items.Key, attrs items.Attributes, cond items.Condition) (*items.Item, error) {
	start := time.Now()
	it, err := t.s.Replace(ctx, key, attrs, cond)
	timing.Since(ctx, storeMetric, start)
	if err != nil {
		return nil, wrapInternal(err, "store: replace", key.ID)
	}
	return it, nil
}

func (t timedStore) Delete(ctx context.Context, key items.Key, cond items.Condition) error {
	start := time.Now()
	err := t.s.Delete(ctx, key, cond)
	timing.Since(ctx, storeMetric, start)
	if err != nil {
		return wrapInternal(err, "store: delete", key.ID)
	}
	return nil
}

func (t timedStore) List(ctx context.Context, tenant string, q items.ListQuery) (*items.Page, error) {
	start := time.Now()
	p, err := t.s.List(ctx, tenant, q)
	timing.Since(ctx, storeMetric, start)
	if err != nil {
		return nil, wrapInternal(err, "store: list after", q.After)
	}
	return p, nil
}

func (t timedStore) Ping(ctx context.Context) error {
	start := time.Now()
	err := t.s.Ping(ctx)
	timing.Since(ctx, storeMetric, start)
	if err != nil {
		return wrapInternal(err, "store: ping", "")
	}
	return nil
}

// wrapInternal adds the operation and id to an internal error, for the
// log; contract errors are returned as they are.
func wrapInternal(err error, op, id string) error {
	if items.ErrorCode(err) != items.EINTERNAL {
		return err
	}
	if id == "" {
		return fmt.Errorf("%s: %w", op, err)
	}
	return fmt.Errorf("%s %q: %w", op, id, err)
}
