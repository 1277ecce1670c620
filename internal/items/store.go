package items

import (
	"context"
	"time"
)

// Store persists items keyed by (tenant, id). Every backend implements it
// and passes the conformance suite in package storetest. All methods are
// safe for concurrent use; a write is acknowledged (returns nil error) only
// once it is durable as the backend promises.
//
// Besides the codes listed, any method may return EUNAVAILABLE (the
// backend is overloaded or throttling; RetryAfter may be set) or an
// internal error.
type Store interface {
	// Get returns the item at key.
	// ENOTFOUND if there is none.
	Get(ctx context.Context, key Key, opt ReadOptions) (*Item, error)

	// Create stores a new item with the given key and attributes, at
	// version 1, with a new Rev and CreatedAt = UpdatedAt = now, and
	// returns it.
	// ECONFLICT if an item with that key exists.
	// ETOOLARGE if the item is over MaxItemSize as the backend counts it.
	//
	// With a non-nil idem, the create is idempotent: the first create under
	// idem.Key records idem.Hash and the created item, atomically with the
	// item. A later Create with the same tenant and idem.Key within
	// IdempotencyTTL creates nothing: it returns the recorded item with
	// Replayed set when the hash matches, and ECONFLICT when it does not.
	// After IdempotencyTTL the key is forgotten.
	Create(ctx context.Context, key Key, attrs Attributes, idem *Idempotency) (*Created, error)

	// Replace replaces the client attributes of the item at key, adds one
	// to its version, gives it a new Rev and UpdatedAt, and returns it.
	// ENOTFOUND if there is none.
	// EPRECONDITION if cond.IfRev is set and differs from the item's Rev.
	// ETOOLARGE if the new item is over MaxItemSize.
	Replace(ctx context.Context, key Key, attrs Attributes, cond Condition) (*Item, error)

	// Delete removes the item at key.
	// ENOTFOUND if there is none.
	// EPRECONDITION if cond.IfRev is set and differs from the item's Rev.
	Delete(ctx context.Context, key Key, cond Condition) error

	// List returns a tenant's items in ascending id order, after q.After
	// (exclusive), at most q.Limit of them, stopping early once the page
	// holds MaxPageBytes of item data (a page always holds at least one
	// item when any remain). Page.Next is the id to resume after, set only
	// when more items remain.
	// EINVALID if q.Limit is outside 1..MaxListLimit.
	List(ctx context.Context, tenant string, q ListQuery) (*Page, error)

	// Ping reports whether the store answers; it backs readiness checks.
	Ping(ctx context.Context) error

	// Close releases the store's resources; writes acknowledged before it
	// are durable. Calls after the first return nil.
	Close() error
}

// ReadOptions tune a read.
type ReadOptions struct {
	// Consistent asks for a strongly consistent read: one that reflects
	// every write acknowledged before it began. Backends that are always
	// consistent ignore it; caches in front of a store bypass themselves.
	Consistent bool
}

// Condition guards a write.
type Condition struct {
	// IfRev, when not empty, makes the write succeed only if the item's
	// current Rev equals it (HTTP If-Match).
	IfRev string
}

// Idempotency asks for an idempotent create.
type Idempotency struct {
	// Key is the client's Idempotency-Key, scoped to the tenant.
	Key string
	// Hash identifies the request body, so that a reuse of the key with
	// another body can be told apart from a retry.
	Hash string
}

// Created is the result of Create.
type Created struct {
	Item *Item
	// Replayed is true when an idempotent create found its key already
	// recorded with the same hash: Item is the item as first created, and
	// nothing was written.
	Replayed bool
}

// ListQuery selects a page of a listing.
type ListQuery struct {
	// After is the id to start after; "" starts at the beginning.
	After string
	// Limit is the most items to return, 1..MaxListLimit.
	Limit int
}

// Page is one page of a listing.
type Page struct {
	Items []*Item
	// Next is the id to pass as ListQuery.After for the next page; it is
	// "" on the last page.
	Next string
}

// Clock returns the current time; stores take one so tests can set time.
type Clock func() time.Time
