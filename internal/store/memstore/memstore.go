// Package memstore is an items.Store held in memory: the reference
// implementation of the store contract, used where durability does not
// matter (handler tests and benchmarks, `--store mem://`).
package memstore

import (
	"context"
	"slices"
	"sync"
	"time"

	"github.com/surgehq/surge/internal/items"
	"github.com/surgehq/surge/internal/store"
)

// Store is an in-memory items.Store. Writes are durable for the life of
// the process only.
type Store struct {
	// Now is the clock; tests may set it before first use.
	Now items.Clock

	mu     sync.RWMutex
	items  map[items.Key]*items.Item
	sorted map[string][]string // tenant -> ids in order
	idem   map[idemKey]idemRecord
	closed bool
}

type idemKey struct{ tenant, key string }

type idemRecord struct {
	hash    string
	item    items.Item
	expires time.Time
}

var _ items.Store = (*Store)(nil)

// New returns an empty store.
func New() *Store {
	return &Store{
		Now:    items.Now,
		items:  map[items.Key]*items.Item{},
		sorted: map[string][]string{},
		idem:   map[idemKey]idemRecord{},
	}
}

func (s *Store) now() time.Time { return s.Now().UTC().Truncate(time.Millisecond) }

func (s *Store) check() error {
	if s.closed {
		return items.Errorf(items.EUNAVAILABLE, "The store is closed.")
	}
	return nil
}

// Get implements items.Store.
func (s *Store) Get(ctx context.Context, key items.Key, _ items.ReadOptions) (*items.Item, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if err := s.check(); err != nil {
		return nil, err
	}
	it, ok := s.items[key]
	if !ok {
		return nil, items.Errorf(items.ENOTFOUND, "Item not found.")
	}
	return clone(it), nil
}

// Create implements items.Store.
func (s *Store) Create(ctx context.Context, key items.Key, attrs items.Attributes, idem *items.Idempotency) (*items.Created, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.check(); err != nil {
		return nil, err
	}
	now := s.now()
	if idem != nil {
		ik := idemKey{key.Tenant, idem.Key}
		if rec, ok := s.idem[ik]; ok && now.Before(rec.expires) {
			if rec.hash != idem.Hash {
				return nil, items.Errorf(items.ECONFLICT, "The Idempotency-Key was used with another request body.")
			}
			return &items.Created{Item: clone(&rec.item), Replayed: true}, nil
		}
	}
	if old, ok := s.items[key]; ok {
		items.ReportOld(ctx, old)
		return nil, items.Errorf(items.ECONFLICT, "An item with id %q exists.", key.ID)
	}
	it := &items.Item{Key: key, Version: 1, CreatedAt: now, UpdatedAt: now, Rev: items.NewRev(), Attrs: slices.Clone(attrs)}
	if it.Size() > items.MaxItemSize {
		return nil, items.Errorf(items.ETOOLARGE, "The item is over %d bytes.", items.MaxItemSize)
	}
	s.items[key] = it
	ids := s.sorted[key.Tenant]
	i, _ := slices.BinarySearch(ids, key.ID)
	s.sorted[key.Tenant] = slices.Insert(ids, i, key.ID)
	if idem != nil {
		s.idem[idemKey{key.Tenant, idem.Key}] = idemRecord{hash: idem.Hash, item: *it, expires: now.Add(items.IdempotencyTTL)}
	}
	return &items.Created{Item: clone(it)}, nil
}

// Replace implements items.Store.
func (s *Store) Replace(ctx context.Context, key items.Key, attrs items.Attributes, cond items.Condition) (*items.Item, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.check(); err != nil {
		return nil, err
	}
	old, err := s.guard(ctx, key, cond)
	if err != nil {
		return nil, err
	}
	it := &items.Item{Key: key, Version: old.Version + 1, CreatedAt: old.CreatedAt, UpdatedAt: s.now(), Rev: items.NewRev(), Attrs: slices.Clone(attrs)}
	if it.Size() > items.MaxItemSize {
		return nil, items.Errorf(items.ETOOLARGE, "The item is over %d bytes.", items.MaxItemSize)
	}
	s.items[key] = it
	return clone(it), nil
}

// Delete implements items.Store.
func (s *Store) Delete(ctx context.Context, key items.Key, cond items.Condition) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.check(); err != nil {
		return err
	}
	if _, err := s.guard(ctx, key, cond); err != nil {
		return err
	}
	delete(s.items, key)
	ids := s.sorted[key.Tenant]
	if i, ok := slices.BinarySearch(ids, key.ID); ok {
		s.sorted[key.Tenant] = slices.Delete(ids, i, i+1)
	}
	return nil
}

// clone returns a copy of it that shares no memory with the store, so that
// a caller may change what it got (attributes are a byte slice) without
// changing what is stored.
func clone(it *items.Item) *items.Item {
	c := *it
	c.Attrs = slices.Clone(it.Attrs)
	return &c
}

// guard returns the item at key if it exists and meets cond, reporting
// it as the old item of the write to the Usage of ctx.
func (s *Store) guard(ctx context.Context, key items.Key, cond items.Condition) (*items.Item, error) {
	it, ok := s.items[key]
	if !ok {
		return nil, items.Errorf(items.ENOTFOUND, "Item not found.")
	}
	items.ReportOld(ctx, it)
	if cond.IfRev != "" && cond.IfRev != it.Rev {
		return nil, items.Errorf(items.EPRECONDITION, "The item has changed (If-Match does not match).")
	}
	return it, nil
}

// List implements items.Store.
func (s *Store) List(ctx context.Context, tenant string, q items.ListQuery) (*items.Page, error) {
	if q.Limit < 1 || q.Limit > items.MaxListLimit {
		return nil, items.Errorf(items.EINVALID, "The limit must be 1 to %d.", items.MaxListLimit)
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	if err := s.check(); err != nil {
		return nil, err
	}
	ids := s.sorted[tenant]
	i, found := slices.BinarySearch(ids, q.After)
	if found {
		i++
	}
	page := &items.Page{}
	size := 0
	for ; i < len(ids) && len(page.Items) < q.Limit; i++ {
		it := s.items[items.Key{Tenant: tenant, ID: ids[i]}]
		n := it.Size()
		if len(page.Items) > 0 && size+n > items.MaxPageBytes {
			break
		}
		size += n
		page.Items = append(page.Items, clone(it))
	}
	if i < len(ids) && len(page.Items) > 0 {
		page.Next = page.Items[len(page.Items)-1].ID
	}
	return page, nil
}

// Ping implements items.Store.
func (s *Store) Ping(ctx context.Context) error {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.check()
}

// Close implements items.Store.
func (s *Store) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.closed = true
	return nil
}

// Backend is the store.Backend of memory stores (mem:), which keep
// nothing after exit.
func Backend() store.Backend {
	return store.Backend{Scheme: store.SchemeMem, Form: "mem:",
		Open: func(context.Context, *store.URL) (items.Store, error) { return New(), nil }}
}
