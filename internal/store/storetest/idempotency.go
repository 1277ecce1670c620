package storetest

import (
	"testing"
	"time"

	"github.com/surgehq/surge/internal/items"
)

func testIdempotency(t *testing.T, open Opener) {
	create := func(e *env, id, js, key, hash string) (*items.Created, error) {
		return e.s.Create(e.ctx, e.key(id), attrs(e.t, js), &items.Idempotency{Key: key, Hash: hash})
	}
	mustCreate := func(e *env, id, js, key, hash string) *items.Created {
		e.t.Helper()
		c, err := create(e, id, js, key, hash)
		if err != nil {
			e.t.Fatalf("idempotent create of %q with key %q: %v", id, key, err)
		}
		return c
	}
	mustNotExist := func(e *env, id string) {
		e.t.Helper()
		_, err := e.s.Get(e.ctx, e.key(id), consistent)
		wantCode(e.t, "get of "+id, err, items.ENOTFOUND)
	}

	t.Run("Replay", func(t *testing.T) {
		e := setup(t, open)
		first := mustCreate(e, "i1", `{"n":1}`, "key-1", "hash-1")
		if first.Replayed {
			t.Fatal("first idempotent create: got Replayed")
		}
		e.clock.Advance(time.Minute)
		// A retry with the same key and hash creates nothing, whatever id
		// and attributes it carries (a retry with a server-assigned id
		// arrives with a new one).
		for _, id := range []string{"i2", "i1"} {
			again := mustCreate(e, id, `{"n":2}`, "key-1", "hash-1")
			if !again.Replayed {
				t.Fatalf("retry with id %q: got Replayed false, want true", id)
			}
			sameItem(t, "replayed item", again.Item, first.Item)
		}
		mustNotExist(e, "i2")
		sameItem(t, "get after replays", e.mustGet(e.key("i1")), first.Item)
		if n := len(e.listAll(e.tenant, 100)); n != 1 {
			t.Fatalf("list after replays: got %d items, want 1", n)
		}
	})
	t.Run("ReplayReturnsFirstItem", func(t *testing.T) {
		// The replay answers as the first request was answered, even after
		// the item changed or went away.
		e := setup(t, open)
		first := mustCreate(e, "i1", `{"n":1}`, "key-1", "hash-1")
		e.clock.Advance(time.Second)
		e.mustReplace(e.key("i1"), `{"n":5}`, items.Condition{})
		again := mustCreate(e, "i9", `{"n":1}`, "key-1", "hash-1")
		if !again.Replayed {
			t.Fatal("retry after replace: got Replayed false")
		}
		sameItem(t, "replay after replace", again.Item, first.Item)
		if err := e.s.Delete(e.ctx, e.key("i1"), items.Condition{}); err != nil {
			t.Fatalf("delete: %v", err)
		}
		again = mustCreate(e, "i1", `{"n":1}`, "key-1", "hash-1")
		if !again.Replayed {
			t.Fatal("retry after delete: got Replayed false")
		}
		sameItem(t, "replay after delete", again.Item, first.Item)
		mustNotExist(e, "i1")
	})
	t.Run("ErrConflict", func(t *testing.T) {
		e := setup(t, open)
		first := mustCreate(e, "i1", `{"n":1}`, "key-1", "hash-1")
		_, err := create(e, "i2", `{"n":2}`, "key-1", "hash-2")
		wantCode(t, "same key, other hash", err, items.ECONFLICT)
		_, err = create(e, "i1", `{"n":2}`, "key-1", "hash-2")
		wantCode(t, "same key and id, other hash", err, items.ECONFLICT)
		mustNotExist(e, "i2")
		sameItem(t, "get after conflicts", e.mustGet(e.key("i1")), first.Item)
		// The conflict did not overwrite the record.
		again := mustCreate(e, "i3", `{"n":1}`, "key-1", "hash-1")
		if !again.Replayed {
			t.Fatal("retry after a conflict: got Replayed false")
		}
		sameItem(t, "replay after a conflict", again.Item, first.Item)
	})
	t.Run("Expiry", func(t *testing.T) {
		e := setup(t, open)
		first := mustCreate(e, "i1", `{}`, "key-1", "hash-1")
		e.clock.Advance(items.IdempotencyTTL - time.Second)
		again := mustCreate(e, "i2", `{}`, "key-1", "hash-1")
		if !again.Replayed {
			t.Fatal("retry just before the TTL: got Replayed false")
		}
		sameItem(t, "replay just before the TTL", again.Item, first.Item)
		_, err := create(e, "i2", `{}`, "key-1", "hash-2")
		wantCode(t, "other hash just before the TTL", err, items.ECONFLICT)

		e.clock.Advance(2 * time.Second)
		// The key is forgotten: a request with it creates, with any hash.
		fresh := mustCreate(e, "i2", `{"n":2}`, "key-1", "hash-2")
		if fresh.Replayed {
			t.Fatal("create after the TTL: got Replayed")
		}
		if fresh.Item.ID != "i2" || fresh.Item.Rev == first.Item.Rev {
			t.Fatalf("create after the TTL: got %+v, want a new item i2", fresh.Item)
		}
		// And the new create is recorded in turn.
		again = mustCreate(e, "i3", `{}`, "key-1", "hash-2")
		if !again.Replayed {
			t.Fatal("retry of the create after the TTL: got Replayed false")
		}
		sameItem(t, "replay of the create after the TTL", again.Item, fresh.Item)
		mustNotExist(e, "i3")
		// The item outlives its key.
		sameItem(t, "first item after its key expired", e.mustGet(e.key("i1")), first.Item)
	})
	t.Run("TenantScoped", func(t *testing.T) {
		e := setup(t, open)
		first := mustCreate(e, "i1", `{}`, "key-1", "hash-1")
		other := &env{t: t, s: e.s, clock: e.clock, tenant: newTenant(), ctx: e.ctx}
		// Another tenant's same key is another key: no replay, no conflict.
		c := mustCreate(other, "i1", `{}`, "key-1", "hash-1")
		if c.Replayed {
			t.Fatal("same key in another tenant: got Replayed")
		}
		if c.Item.Key != other.key("i1") || c.Item.Rev == first.Item.Rev {
			t.Fatalf("same key in another tenant: got %+v", c.Item)
		}
		c2 := mustCreate(other, "i2", `{}`, "key-2", "hash-9")
		_, err := create(e, "i2", `{}`, "key-2", "hash-1")
		if err != nil {
			t.Fatalf("key used by another tenant with another hash: %v", err)
		}
		sameItem(t, "other tenant's item", other.mustGet(other.key("i2")), c2.Item)
	})
	t.Run("FailedCreateRecordsNothing", func(t *testing.T) {
		e := setup(t, open)
		e.mustCreate(e.key("taken"), `{}`)
		_, err := create(e, "taken", `{"n":1}`, "key-1", "hash-1")
		wantCode(t, "idempotent create of an existing id", err, items.ECONFLICT)
		// Had the failure been recorded, this would replay it or conflict.
		c := mustCreate(e, "free", `{"n":1}`, "key-1", "hash-2")
		if c.Replayed || c.Item.ID != "free" {
			t.Fatalf("create after a failed one with the same key: got %+v, Replayed %v", c.Item, c.Replayed)
		}

		big := `{"pad":"` + padding(items.MaxItemSize) + `"}`
		_, err = create(e, "big", big, "key-2", "hash-1")
		wantCode(t, "idempotent create of a too large item", err, items.ETOOLARGE)
		mustNotExist(e, "big")
		c = mustCreate(e, "small", `{}`, "key-2", "hash-2")
		if c.Replayed || c.Item.ID != "small" {
			t.Fatalf("create after a too large one with the same key: got %+v, Replayed %v", c.Item, c.Replayed)
		}
	})
}

// padding returns n bytes of JSON string content.
func padding(n int) string {
	b := make([]byte, n)
	for i := range b {
		b[i] = 'x'
	}
	return string(b)
}
