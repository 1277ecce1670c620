package itemsapi

import (
	"context"
	"fmt"

	"github.com/surgehq/surge/internal/items"
	"github.com/surgehq/surge/internal/observe/servertiming"
	"github.com/surgehq/surge/internal/store"
)

// storeMetric is the Server-Timing name of time spent in the store.
const storeMetric = "store"

// The Server-Timing names of the capacity units the store consumed, as
// DynamoDB counts them (values, name;desc=UNITS): read and write units.
const (
	ReadUnitsMetric  = "rcu"
	WriteUnitsMetric = "wcu"
)

// timing is the store hook of the Handler: it records the time of every
// store call into the request's Server-Timing recorder, with the capacity
// units it consumed (which the layers below add to an items.Usage of the
// call's own, passed on to the request's Usage when it has one), and adds
// the operation to internal errors for the log.
type timing struct{}

func (timing) Before(ctx context.Context, _ store.Op) context.Context {
	ctx, _ = items.NewUsageContext(ctx)
	return ctx
}

func (timing) After(ctx context.Context, op store.Op, err error) error {
	servertiming.Since(ctx, storeMetric, op.Start)
	if u := items.UsageFrom(ctx); u != nil {
		if c := u.Capacity(); c != (items.Capacity{}) {
			if c.Read != 0 {
				servertiming.AddValue(ctx, ReadUnitsMetric, c.Read)
			}
			if c.Write != 0 {
				servertiming.AddValue(ctx, WriteUnitsMetric, c.Write)
			}
			if outer := u.Outer(); outer != nil {
				outer.Add(c)
			}
		}
	}
	if err == nil || items.ErrorCode(err) != items.EINTERNAL {
		return err
	}
	switch op.Name {
	case store.OpPing:
		return fmt.Errorf("store: ping: %w", err)
	case store.OpList:
		if op.After == "" {
			return fmt.Errorf("store: list after: %w", err)
		}
		return fmt.Errorf("store: list after %q: %w", op.After, err)
	}
	if op.Key.ID == "" {
		return fmt.Errorf("store: %s: %w", op.Name, err)
	}
	return fmt.Errorf("store: %s %q: %w", op.Name, op.Key.ID, err)
}
