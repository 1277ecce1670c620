package storetest

import (
	"testing"
	"time"

	"github.com/surgehq/surge/internal/items"
)

func testGet(t *testing.T, open Opener) {
	t.Run("OK", func(t *testing.T) {
		e := setup(t, open)
		created := e.mustCreate(e.key("a1"), `{"name":"first","n":1}`)
		sameItem(t, "get", e.mustGet(e.key("a1")), created)
		// An eventually consistent read may lag, but it must not fail
		// with anything but ENOTFOUND, and when it finds the item it is
		// the item.
		it, err := e.s.Get(e.ctx, e.key("a1"), items.ReadOptions{})
		if err == nil {
			sameItem(t, "eventually consistent get", it, created)
		} else {
			wantCode(t, "eventually consistent get", err, items.ENOTFOUND)
		}
	})
	t.Run("ErrNotFound", func(t *testing.T) {
		e := setup(t, open)
		_, err := e.s.Get(e.ctx, e.key("missing"), consistent)
		wantCode(t, "get of a missing item", err, items.ENOTFOUND)
		_, err = e.s.Get(e.ctx, e.key("missing"), items.ReadOptions{})
		wantCode(t, "eventually consistent get of a missing item", err, items.ENOTFOUND)
	})
}

func testCreate(t *testing.T, open Opener) {
	t.Run("OK", func(t *testing.T) {
		e := setup(t, open)
		a := attrs(t, `{"name":"widget","tags":["a","b"],"price":12.5}`)
		c, err := e.s.Create(e.ctx, e.key("w1"), a, nil)
		if err != nil {
			t.Fatalf("create: %v", err)
		}
		if c.Replayed {
			t.Error("create without idempotency: got Replayed")
		}
		it := c.Item
		if it.Key != e.key("w1") {
			t.Errorf("got key %+v, want %+v", it.Key, e.key("w1"))
		}
		if it.Version != 1 {
			t.Errorf("got version %d, want 1", it.Version)
		}
		if it.Rev == "" {
			t.Error("got an empty rev")
		}
		now := e.clock.itemTime()
		checkTime(t, "createdAt", it.CreatedAt, now)
		checkTime(t, "updatedAt", it.UpdatedAt, now)
		sameAttrs(t, "create", it.Attrs, a)
		sameItem(t, "get after create", e.mustGet(e.key("w1")), it)
	})
	t.Run("EmptyAttributes", func(t *testing.T) {
		e := setup(t, open)
		e.mustCreate(e.key("e1"), `{}`)
		sameAttrs(t, "get of {}", e.mustGet(e.key("e1")).Attrs, attrs(t, `{}`))
		if _, err := e.s.Create(e.ctx, e.key("e2"), nil, nil); err != nil {
			t.Fatalf("create with nil attributes: %v", err)
		}
		sameAttrs(t, "get of nil attributes", e.mustGet(e.key("e2")).Attrs, attrs(t, `{}`))
	})
	t.Run("ErrConflict", func(t *testing.T) {
		e := setup(t, open)
		first := e.mustCreate(e.key("c1"), `{"v":"first"}`)
		e.clock.Advance(time.Second)
		_, err := e.s.Create(e.ctx, e.key("c1"), attrs(t, `{"v":"second"}`), nil)
		wantCode(t, "create of an existing id", err, items.ECONFLICT)
		sameItem(t, "get after a conflicting create", e.mustGet(e.key("c1")), first)
	})
}

func testReplace(t *testing.T, open Opener) {
	t.Run("OK", func(t *testing.T) {
		e := setup(t, open)
		first := e.mustCreate(e.key("r1"), `{"a":1,"b":"keep?"}`)
		e.clock.Advance(1500 * time.Millisecond)
		it := e.mustReplace(e.key("r1"), `{"c":[true]}`, items.Condition{})
		if it.Key != first.Key {
			t.Errorf("got key %+v, want %+v", it.Key, first.Key)
		}
		if it.Version != 2 {
			t.Errorf("got version %d, want 2", it.Version)
		}
		if it.Rev == "" || it.Rev == first.Rev {
			t.Errorf("got rev %q after replace, want a new one (was %q)", it.Rev, first.Rev)
		}
		checkTime(t, "createdAt", it.CreatedAt, first.CreatedAt)
		checkTime(t, "updatedAt", it.UpdatedAt, e.clock.itemTime())
		// Replace replaces: attributes not sent are gone.
		sameAttrs(t, "replace", it.Attrs, attrs(t, `{"c":[true]}`))
		sameItem(t, "get after replace", e.mustGet(e.key("r1")), it)
	})
	t.Run("ErrNotFound", func(t *testing.T) {
		e := setup(t, open)
		_, err := e.s.Replace(e.ctx, e.key("missing"), attrs(t, `{"a":1}`), items.Condition{})
		wantCode(t, "replace of a missing item", err, items.ENOTFOUND)
		_, err = e.s.Get(e.ctx, e.key("missing"), consistent)
		wantCode(t, "get after replacing a missing item", err, items.ENOTFOUND)
	})
}

func testDelete(t *testing.T, open Opener) {
	t.Run("OK", func(t *testing.T) {
		e := setup(t, open)
		e.mustCreate(e.key("d1"), `{"a":1}`)
		keep := e.mustCreate(e.key("d2"), `{"a":2}`)
		if err := e.s.Delete(e.ctx, e.key("d1"), items.Condition{}); err != nil {
			t.Fatalf("delete: %v", err)
		}
		_, err := e.s.Get(e.ctx, e.key("d1"), consistent)
		wantCode(t, "get after delete", err, items.ENOTFOUND)
		sameItem(t, "the other item after delete", e.mustGet(e.key("d2")), keep)
		if got := ids(e.listAll(e.tenant, 10)); len(got) != 1 || got[0] != "d2" {
			t.Errorf("list after delete: got %q, want [d2]", got)
		}
	})
	t.Run("ErrNotFound", func(t *testing.T) {
		e := setup(t, open)
		err := e.s.Delete(e.ctx, e.key("missing"), items.Condition{})
		wantCode(t, "delete of a missing item", err, items.ENOTFOUND)
		e.mustCreate(e.key("d1"), `{}`)
		if err := e.s.Delete(e.ctx, e.key("d1"), items.Condition{}); err != nil {
			t.Fatalf("delete: %v", err)
		}
		err = e.s.Delete(e.ctx, e.key("d1"), items.Condition{})
		wantCode(t, "second delete", err, items.ENOTFOUND)
	})
}

func testVersions(t *testing.T, open Opener) {
	e := setup(t, open)
	it := e.mustCreate(e.key("v1"), `{"n":0}`)
	if it.Version != 1 {
		t.Fatalf("create: got version %d, want 1", it.Version)
	}
	for want := int64(2); want <= 6; want++ {
		it = e.mustReplace(e.key("v1"), `{"n":1}`, items.Condition{})
		if it.Version != want {
			t.Fatalf("replace: got version %d, want %d", it.Version, want)
		}
		if got := e.mustGet(e.key("v1")).Version; got != want {
			t.Fatalf("get after replace: got version %d, want %d", got, want)
		}
	}
	// A failed write changes nothing.
	_, err := e.s.Replace(e.ctx, e.key("v1"), attrs(t, `{"n":2}`), items.Condition{IfRev: "not-the-rev"})
	wantCode(t, "replace with a stale rev", err, items.EPRECONDITION)
	sameItem(t, "get after a failed replace", e.mustGet(e.key("v1")), it)
	// A new item under a deleted id starts again at 1.
	if err := e.s.Delete(e.ctx, e.key("v1"), items.Condition{}); err != nil {
		t.Fatalf("delete: %v", err)
	}
	if got := e.mustCreate(e.key("v1"), `{"n":3}`).Version; got != 1 {
		t.Fatalf("create after delete: got version %d, want 1", got)
	}
}

func testRev(t *testing.T, open Opener) {
	e := setup(t, open)
	seen := map[string]string{}
	note := func(what string, it *items.Item) {
		t.Helper()
		if it.Rev == "" {
			t.Fatalf("%s: got an empty rev", what)
		}
		if prev, ok := seen[it.Rev]; ok {
			t.Fatalf("%s: got rev %q, which %s had already", what, it.Rev, prev)
		}
		seen[it.Rev] = what
		if got := e.mustGet(it.Key).Rev; got != it.Rev {
			t.Fatalf("%s: get returned rev %q, the write returned %q", what, got, it.Rev)
		}
	}
	first := e.mustCreate(e.key("x"), `{"same":true}`)
	note("create", first)
	// The rev changes even when the attributes do not, and even when the
	// clock stands still.
	note("replace 1", e.mustReplace(e.key("x"), `{"same":true}`, items.Condition{}))
	note("replace 2", e.mustReplace(e.key("x"), `{"same":true}`, items.Condition{}))
	for i := 0; i < 3; i++ {
		if err := e.s.Delete(e.ctx, e.key("x"), items.Condition{}); err != nil {
			t.Fatalf("delete: %v", err)
		}
		note("create after delete", e.mustCreate(e.key("x"), `{"same":true}`))
	}
	// A rev from before the delete does not match the item created since.
	_, err := e.s.Replace(e.ctx, e.key("x"), attrs(t, `{}`), items.Condition{IfRev: first.Rev})
	wantCode(t, "replace with the rev of a deleted item", err, items.EPRECONDITION)
	err = e.s.Delete(e.ctx, e.key("x"), items.Condition{IfRev: first.Rev})
	wantCode(t, "delete with the rev of a deleted item", err, items.EPRECONDITION)
	// Revs of other items differ too.
	note("another item", e.mustCreate(e.key("y"), `{"same":true}`))
}

func testTimestamps(t *testing.T, open Opener) {
	e := setup(t, open)
	created := e.mustCreate(e.key("t1"), `{}`)
	t0 := e.clock.itemTime()
	checkTime(t, "createdAt", created.CreatedAt, t0)
	checkTime(t, "updatedAt", created.UpdatedAt, t0)
	got := e.mustGet(e.key("t1"))
	checkTime(t, "createdAt as read", got.CreatedAt, t0)
	checkTime(t, "updatedAt as read", got.UpdatedAt, t0)

	// Sub-millisecond steps are cut, not rounded.
	e.clock.Advance(2*time.Hour + 3*time.Millisecond + 999*time.Microsecond)
	t1 := e.clock.itemTime()
	if t1.Sub(t0) != 2*time.Hour+4*time.Millisecond {
		t.Fatalf("suite clock: %v after %v", t1, t0) // start is 891.234567 ms
	}
	replaced := e.mustReplace(e.key("t1"), `{"a":1}`, items.Condition{})
	checkTime(t, "createdAt after replace", replaced.CreatedAt, t0)
	checkTime(t, "updatedAt after replace", replaced.UpdatedAt, t1)
	got = e.mustGet(e.key("t1"))
	checkTime(t, "createdAt as read after replace", got.CreatedAt, t0)
	checkTime(t, "updatedAt as read after replace", got.UpdatedAt, t1)
	page := e.mustList(e.tenant, items.ListQuery{Limit: 10})
	if len(page.Items) != 1 {
		t.Fatalf("list: got %d items, want 1", len(page.Items))
	}
	checkTime(t, "createdAt as listed", page.Items[0].CreatedAt, t0)
	checkTime(t, "updatedAt as listed", page.Items[0].UpdatedAt, t1)

	// A time far in the future keeps its milliseconds too.
	e.clock.Advance(40 * 365 * 24 * time.Hour)
	far := e.mustReplace(e.key("t1"), `{}`, items.Condition{})
	checkTime(t, "updatedAt decades on", far.UpdatedAt, e.clock.itemTime())
	checkTime(t, "updatedAt decades on, as read", e.mustGet(e.key("t1")).UpdatedAt, e.clock.itemTime())
}

func testConditions(t *testing.T, open Opener) {
	t.Run("ReplaceMatch", func(t *testing.T) {
		e := setup(t, open)
		it := e.mustCreate(e.key("k"), `{"a":1}`)
		it = e.mustReplace(e.key("k"), `{"a":2}`, items.Condition{IfRev: it.Rev})
		it = e.mustReplace(e.key("k"), `{"a":3}`, items.Condition{IfRev: it.Rev})
		if it.Version != 3 {
			t.Fatalf("got version %d, want 3", it.Version)
		}
	})
	t.Run("ReplaceMismatch", func(t *testing.T) {
		e := setup(t, open)
		old := e.mustCreate(e.key("k"), `{"a":1}`)
		cur := e.mustReplace(e.key("k"), `{"a":2}`, items.Condition{})
		_, err := e.s.Replace(e.ctx, e.key("k"), attrs(t, `{"a":3}`), items.Condition{IfRev: old.Rev})
		wantCode(t, "replace with a stale rev", err, items.EPRECONDITION)
		sameItem(t, "get after failed replaces", e.mustGet(e.key("k")), cur)
	})
	t.Run("ReplaceAbsent", func(t *testing.T) {
		e := setup(t, open)
		_, err := e.s.Replace(e.ctx, e.key("k"), attrs(t, `{}`), items.Condition{IfRev: "0123456789abcdef"})
		wantCode(t, "conditional replace of a missing item", err, items.ENOTFOUND)
	})
	t.Run("DeleteMatch", func(t *testing.T) {
		e := setup(t, open)
		it := e.mustCreate(e.key("k"), `{}`)
		if err := e.s.Delete(e.ctx, e.key("k"), items.Condition{IfRev: it.Rev}); err != nil {
			t.Fatalf("conditional delete: %v", err)
		}
		_, err := e.s.Get(e.ctx, e.key("k"), consistent)
		wantCode(t, "get after conditional delete", err, items.ENOTFOUND)
	})
	t.Run("DeleteMismatch", func(t *testing.T) {
		e := setup(t, open)
		old := e.mustCreate(e.key("k"), `{}`)
		cur := e.mustReplace(e.key("k"), `{"b":1}`, items.Condition{})
		err := e.s.Delete(e.ctx, e.key("k"), items.Condition{IfRev: old.Rev})
		wantCode(t, "delete with a stale rev", err, items.EPRECONDITION)
		sameItem(t, "get after a failed delete", e.mustGet(e.key("k")), cur)
	})
	t.Run("DeleteAbsent", func(t *testing.T) {
		e := setup(t, open)
		err := e.s.Delete(e.ctx, e.key("k"), items.Condition{IfRev: "0123456789abcdef"})
		wantCode(t, "conditional delete of a missing item", err, items.ENOTFOUND)
	})
}

func testPing(t *testing.T, open Opener) {
	e := setup(t, open)
	if err := e.s.Ping(e.ctx); err != nil {
		t.Fatalf("ping: %v", err)
	}
}

func testClose(t *testing.T, open Opener) {
	e := setup(t, open)
	it := e.mustCreate(e.key("k"), `{}`)
	if err := e.s.Close(); err != nil {
		t.Fatalf("close: %v", err)
	}
	if err := e.s.Close(); err != nil {
		t.Fatalf("second close: got %v, want nil", err)
	}
	mustFail := func(what string, err error) {
		t.Helper()
		if err == nil {
			t.Errorf("%s after close: got no error", what)
		}
	}
	_, err := e.s.Get(e.ctx, it.Key, consistent)
	mustFail("get", err)
	_, err = e.s.Create(e.ctx, e.key("k2"), attrs(t, `{}`), nil)
	mustFail("create", err)
	_, err = e.s.Create(e.ctx, e.key("k3"), attrs(t, `{}`), &items.Idempotency{Key: "k", Hash: "h"})
	mustFail("idempotent create", err)
	_, err = e.s.Replace(e.ctx, it.Key, attrs(t, `{}`), items.Condition{})
	mustFail("replace", err)
	mustFail("delete", e.s.Delete(e.ctx, it.Key, items.Condition{}))
	_, err = e.s.List(e.ctx, e.tenant, items.ListQuery{Limit: 10})
	mustFail("list", err)
	mustFail("ping", e.s.Ping(e.ctx))
}
