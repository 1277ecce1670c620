package storetest

import (
	"testing"

	"github.com/surgehq/surge/internal/items"
)

// testIsolation checks that a store keeps its own copy of what it stores:
// callers may reuse the attribute buffers they pass in and may change the
// items they get back (a handler applying a merge patch in place) without
// changing what is stored.
func testIsolation(t *testing.T, open Opener) {
	e := setup(t, open)
	scribble := func(a items.Attributes) {
		for i := range a {
			a[i] = 'X'
		}
	}
	in := attrs(t, `{"a":"original"}`)
	c, err := e.s.Create(e.ctx, e.key("k"), in, nil)
	if err != nil {
		t.Fatalf("create: %v", err)
	}
	want := attrs(t, `{"a":"original"}`)
	scribble(in)
	scribble(c.Item.Attrs)
	got := e.mustGet(e.key("k"))
	sameAttrs(t, "get after the caller changed its buffers", got.Attrs, want)
	scribble(got.Attrs)
	sameAttrs(t, "get after the caller changed a read item", e.mustGet(e.key("k")).Attrs, want)
	p := e.mustList(e.tenant, items.ListQuery{Limit: 10})
	scribble(p.Items[0].Attrs)
	sameAttrs(t, "get after the caller changed a listed item", e.mustGet(e.key("k")).Attrs, want)

	in = attrs(t, `{"b":"replaced"}`)
	r, err := e.s.Replace(e.ctx, e.key("k"), in, items.Condition{})
	if err != nil {
		t.Fatalf("replace: %v", err)
	}
	scribble(in)
	scribble(r.Attrs)
	sameAttrs(t, "get after the caller changed its replace buffers", e.mustGet(e.key("k")).Attrs, attrs(t, `{"b":"replaced"}`))

	idem := &items.Idempotency{Key: "key", Hash: "hash"}
	c, err = e.s.Create(e.ctx, e.key("i"), attrs(t, `{"c":"first"}`), idem)
	if err != nil {
		t.Fatalf("idempotent create: %v", err)
	}
	scribble(c.Item.Attrs)
	c, err = e.s.Create(e.ctx, e.key("i2"), attrs(t, `{"c":"first"}`), idem)
	if err != nil || !c.Replayed {
		t.Fatalf("replay: got %v, Replayed %v", err, c != nil && c.Replayed)
	}
	sameAttrs(t, "replay after the caller changed the first answer", c.Item.Attrs, attrs(t, `{"c":"first"}`))
}
