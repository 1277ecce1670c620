package storetest

import (
	"testing"

	"github.com/surgehq/surge/internal/items"
)

// sizedAttrs returns attributes that make the item at key, at the given
// version, exactly size bytes as the contract counts them (Item.Size, the
// encoded item); the timestamps have a fixed width, so their value does
// not matter.
func sizedAttrs(t *testing.T, key items.Key, version int64, size int) string {
	t.Helper()
	probe := items.Item{Key: key, Version: version, CreatedAt: start, UpdatedAt: start, Attrs: attrs(t, `{"pad":""}`)}
	n := size - probe.Size()
	if n < 0 {
		t.Fatalf("an item of %d bytes cannot be made", size)
	}
	js := `{"pad":"` + padding(n) + `"}`
	probe.Attrs = attrs(t, js)
	if probe.Size() != size {
		t.Fatalf("sizedAttrs: made %d bytes, want %d", probe.Size(), size)
	}
	return js
}

func testLimits(t *testing.T, open Opener) {
	t.Run("CreateAtLimit", func(t *testing.T) {
		e := setup(t, open)
		js := sizedAttrs(t, e.key("max"), 1, items.MaxItemSize)
		it := e.mustCreate(e.key("max"), js)
		if it.Size() != items.MaxItemSize {
			t.Fatalf("created item: got %d bytes, want %d", it.Size(), items.MaxItemSize)
		}
		got := e.mustGet(e.key("max"))
		sameItem(t, "get of the largest item", got, it)
		if got.Size() != items.MaxItemSize {
			t.Fatalf("read item: got %d bytes, want %d", got.Size(), items.MaxItemSize)
		}
	})
	t.Run("CreateOverLimit", func(t *testing.T) {
		e := setup(t, open)
		for _, size := range []int{items.MaxItemSize + 1, 2 * items.MaxItemSize} {
			_, err := e.s.Create(e.ctx, e.key("big"), attrs(t, sizedAttrs(t, e.key("big"), 1, size)), nil)
			wantCode(t, "create of an item over the limit", err, items.ETOOLARGE)
		}
		_, err := e.s.Get(e.ctx, e.key("big"), consistent)
		wantCode(t, "get after a too large create", err, items.ENOTFOUND)
	})
	t.Run("ReplaceAtLimit", func(t *testing.T) {
		e := setup(t, open)
		e.mustCreate(e.key("max"), `{}`)
		it := e.mustReplace(e.key("max"), sizedAttrs(t, e.key("max"), 2, items.MaxItemSize), items.Condition{})
		sameItem(t, "get of the largest item", e.mustGet(e.key("max")), it)
	})
	t.Run("ReplaceOverLimit", func(t *testing.T) {
		e := setup(t, open)
		it := e.mustCreate(e.key("big"), `{"small":true}`)
		_, err := e.s.Replace(e.ctx, e.key("big"), attrs(t, sizedAttrs(t, e.key("big"), 2, items.MaxItemSize+1)), items.Condition{})
		wantCode(t, "replace over the limit", err, items.ETOOLARGE)
		_, err = e.s.Replace(e.ctx, e.key("big"), attrs(t, sizedAttrs(t, e.key("big"), 2, items.MaxItemSize+1)), items.Condition{IfRev: it.Rev})
		wantCode(t, "conditional replace over the limit", err, items.ETOOLARGE)
		sameItem(t, "get after a too large replace", e.mustGet(e.key("big")), it)
	})
	t.Run("LongIDs", func(t *testing.T) {
		// The longest id and tenant are stored and listed like any other.
		e := setup(t, open)
		e.tenant = (e.tenant + padding(items.MaxTenantLength))[:items.MaxTenantLength]
		id := "L" + padding(items.MaxIDLength-1)
		it := e.mustCreate(e.key(id), `{}`)
		sameItem(t, "get of the longest id", e.mustGet(e.key(id)), it)
		if got := ids(e.listAll(e.tenant, 10)); len(got) != 1 || got[0] != id {
			t.Fatalf("list: got %q, want the longest id", got)
		}
	})
}
