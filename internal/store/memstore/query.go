package memstore

import (
	"context"
	"slices"

	"github.com/surgehq/surge/internal/items"
)

var _ items.Querier = (*Store)(nil)

// Scan implements items.Querier.
func (s *Store) Scan(ctx context.Context, tenant string, q items.ScanQuery) (*items.Page, error) {
	if q.Limit < 0 {
		return nil, items.Errorf(items.EINVALID, "The limit must be 0 (none) or more.")
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	if err := s.check(); err != nil {
		return nil, err
	}
	return s.page(tenant, q.After, "", q.Limit, nil), nil
}

// Query implements items.Querier. The memory store keeps no index: it
// reads the tenant's items in the query's id range and keeps those whose
// IndexAttr matches, so its queries cost a scan of that range (the
// capacity charged is still the index's: what the query returns).
func (s *Store) Query(ctx context.Context, tenant string, q items.IndexQuery) (*items.Page, error) {
	if q.Limit < 0 {
		return nil, items.Errorf(items.EINVALID, "The limit must be 0 (none) or more.")
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	if err := s.check(); err != nil {
		return nil, err
	}
	after := q.After
	if q.From != "" && q.From > after {
		after = q.From
		// Start at From itself: page starts after its cursor.
		return s.page(tenant, "", after, q.Limit, func(it *items.Item) bool { return matches(it, q) }), nil
	}
	return s.page(tenant, after, "", q.Limit, func(it *items.Item) bool { return matches(it, q) }), nil
}

func matches(it *items.Item, q items.IndexQuery) bool {
	return q.InRange(it.ID) && items.HasIndexValue(it.Attrs) && items.IndexValueOf(it.Attrs) == q.Value
}

// page reads the tenant's items in id order after after (or from from),
// keeping those keep accepts (all without keep), paged as
// items.Querier.Scan says.
func (s *Store) page(tenant, after, from string, limit int, keep func(*items.Item) bool) *items.Page {
	ids := s.sorted[tenant]
	var i int
	if from != "" {
		i, _ = slices.BinarySearch(ids, from)
	} else {
		var found bool
		i, found = slices.BinarySearch(ids, after)
		if found {
			i++
		}
	}
	page := &items.Page{Items: []*items.Item{}}
	size := 0
	for ; i < len(ids); i++ {
		it := s.items[items.Key{Tenant: tenant, ID: ids[i]}]
		if keep != nil && !keep(it) {
			continue
		}
		size += it.Size()
		page.Items = append(page.Items, clone(it))
		if (limit > 0 && len(page.Items) == limit) || size >= items.MaxPageBytes {
			page.Next = it.ID
			break
		}
	}
	return page
}
