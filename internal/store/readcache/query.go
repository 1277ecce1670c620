package readcache

import (
	"context"

	"github.com/surgehq/surge/internal/items"
)

// Scan implements items.Querier by passing the scan to the store: the
// cache keeps list pages in its query cache, not scans, which reach the
// table every time (DAX would keep them in its query cache too).
func (c *Cache) Scan(ctx context.Context, tenant string, q items.ScanQuery) (*items.Page, error) {
	return items.Scan(ctx, c.s, tenant, q)
}

// Query implements items.Querier by passing the index query to the
// store, uncached, as Scan does.
func (c *Cache) Query(ctx context.Context, tenant string, q items.IndexQuery) (*items.Page, error) {
	return items.QueryIndex(ctx, c.s, tenant, q)
}
