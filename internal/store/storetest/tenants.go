package storetest

import (
	"fmt"
	"slices"
	"testing"

	"github.com/surgehq/surge/internal/items"
)

func testTenants(t *testing.T, open Opener) {
	t.Run("SameID", func(t *testing.T) {
		e := setup(t, open)
		a, b := e.tenant, newTenant()
		ka, kb := items.Key{Tenant: a, ID: "same"}, items.Key{Tenant: b, ID: "same"}
		ia := e.mustCreate(ka, `{"owner":"a"}`)
		ib := e.mustCreate(kb, `{"owner":"b"}`)
		if ia.Rev == ib.Rev {
			t.Fatalf("two tenants' items share rev %q", ia.Rev)
		}
		sameItem(t, "a's item", e.mustGet(ka), ia)
		sameItem(t, "b's item", e.mustGet(kb), ib)

		// A write in one tenant leaves the other's item alone.
		ia = e.mustReplace(ka, `{"owner":"a","n":2}`, items.Condition{})
		sameItem(t, "b's item after a's replace", e.mustGet(kb), ib)
		// Conditions compare the tenant's own item.
		_, err := e.s.Replace(e.ctx, kb, attrs(t, `{}`), items.Condition{IfRev: ia.Rev})
		wantCode(t, "replace in b with a's rev", err, items.EPRECONDITION)
		err = e.s.Delete(e.ctx, ka, items.Condition{IfRev: ib.Rev})
		wantCode(t, "delete in a with b's rev", err, items.EPRECONDITION)

		if err := e.s.Delete(e.ctx, ka, items.Condition{}); err != nil {
			t.Fatalf("delete in a: %v", err)
		}
		sameItem(t, "b's item after a's delete", e.mustGet(kb), ib)
		// And an id free in one tenant is free whatever the other holds.
		_, err = e.s.Get(e.ctx, ka, consistent)
		wantCode(t, "get in a after delete", err, items.ENOTFOUND)
		e.mustCreate(ka, `{"owner":"a","again":true}`)
	})
	t.Run("NoCrossing", func(t *testing.T) {
		e := setup(t, open)
		a, b := e.tenant, newTenant()
		for _, id := range []string{"b1", "b2", "b3"} {
			e.mustCreate(items.Key{Tenant: b, ID: id}, `{"owner":"b"}`)
		}
		e.mustCreate(items.Key{Tenant: a, ID: "a1"}, `{"owner":"a"}`)
		ka := func(id string) items.Key { return items.Key{Tenant: a, ID: id} }

		_, err := e.s.Get(e.ctx, ka("b1"), consistent)
		wantCode(t, "get of b's id in a", err, items.ENOTFOUND)
		_, err = e.s.Replace(e.ctx, ka("b1"), attrs(t, `{"owner":"a"}`), items.Condition{})
		wantCode(t, "replace of b's id in a", err, items.ENOTFOUND)
		err = e.s.Delete(e.ctx, ka("b2"), items.Condition{})
		wantCode(t, "delete of b's id in a", err, items.ENOTFOUND)
		if got := ids(e.listAll(a, 10)); !slices.Equal(got, []string{"a1"}) {
			t.Fatalf("list of a: got %q, want [a1]", got)
		}
		if got := ids(e.listAll(b, 10)); !slices.Equal(got, []string{"b1", "b2", "b3"}) {
			t.Fatalf("list of b: got %q, want [b1 b2 b3]", got)
		}
		// A cursor from one tenant's listing walks only the other's items.
		p := e.mustList(a, items.ListQuery{After: "b1", Limit: 10})
		if len(p.Items) != 0 {
			t.Fatalf("list of a after b1: got %q", ids(p.Items))
		}
		for _, it := range e.listAll(b, 1) {
			if it.Tenant != b {
				t.Fatalf("list of b returned an item of tenant %q", it.Tenant)
			}
		}
	})
	t.Run("KeyComposition", func(t *testing.T) {
		// Tenants and ids that would collide if a backend joined them
		// naively into one key, and tenants with separators in them.
		e := setup(t, open)
		p := e.tenant
		keys := []items.Key{
			{Tenant: p + "ab", ID: "c"},
			{Tenant: p + "a", ID: "bc"},
			{Tenant: p + "a#b", ID: "c"},
			{Tenant: p + "a", ID: "b.c"},
			{Tenant: p + "a/b", ID: "c"},
			{Tenant: p + "a b", ID: "c"},
			{Tenant: p + "ä", ID: "c"},
			{Tenant: p + "a%", ID: "c"},
			{Tenant: p + "a_", ID: "c"},
		}
		created := map[items.Key]*items.Item{}
		for i, k := range keys {
			created[k] = e.mustCreate(k, fmt.Sprintf(`{"n":%d}`, i))
		}
		for _, k := range keys {
			sameItem(t, "get", e.mustGet(k), created[k])
			got := e.listAll(k.Tenant, 10)
			want := []*items.Item{}
			for _, k2 := range keys {
				if k2.Tenant == k.Tenant {
					want = append(want, created[k2])
				}
			}
			slices.SortFunc(want, func(x, y *items.Item) int {
				if x.ID < y.ID {
					return -1
				}
				return 1
			})
			if !slices.Equal(ids(got), ids(want)) {
				t.Fatalf("list of %q: got %q, want %q", k.Tenant, ids(got), ids(want))
			}
		}
	})
}
