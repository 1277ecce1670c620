package load

import (
	"math/rand/v2"
	"testing"
)

// TestEntryHolds checks the holds that keep a collection's open-model run
// from making its own errors: readers share an entry, a writer holds it
// alone, a delete waits until nothing made from the entry is in use, and
// what was made from a deleted entry is dropped.
func TestEntryHolds(t *testing.T) {
	rnd := rand.New(rand.NewPCG(1, 2))
	k := &picker{r: rnd}
	ps := newEntryPools(2, 10)
	item := &entry{vals: []entryVal{{v: 0, val: "item-1"}}}
	ps.add(0, item, rnd)
	pick := func(p int, mode holdMode) (*entry, bool) {
		e, _, ok := ps.pick(p, mode, k, nil)
		return e, ok
	}

	r1, ok1 := pick(0, holdRead)
	r2, ok2 := pick(0, holdRead)
	if !ok1 || !ok2 || r1 != item || r2 != item {
		t.Fatal("two readers do not share the entry")
	}
	if _, ok := pick(0, holdWrite); ok {
		t.Fatal("a writer held an entry that readers hold")
	}
	ps.release([]*entry{item, item}, []holdMode{holdRead, holdRead})
	w, ok := pick(0, holdWrite)
	if !ok || w != item {
		t.Fatal("a writer cannot hold a free entry")
	}
	if _, ok := pick(0, holdRead); ok {
		t.Fatal("a reader held an entry that a writer holds")
	}
	ps.writeBack([]*entry{item}, []entryVal{{v: 0, val: "item-1b"}})
	ps.release([]*entry{item}, []holdMode{holdWrite})
	if _, vals, ok := ps.pick(0, holdRead, k, nil); !ok || vals[0].val != "item-1b" {
		t.Fatalf("after the write back a reader reads %v, want item-1b", vals)
	}
	ps.release([]*entry{item}, []holdMode{holdRead})

	// A comment made on the item: while a request holds it, the item
	// cannot be deleted.
	comment := &entry{vals: []entryVal{{v: 0, val: "item-1b"}, {v: 1, val: "c-1"}}, parents: []*entry{item}}
	ps.add(1, comment, rnd)
	c, ok := pick(1, holdRead)
	if !ok || c != comment || item.below != 1 {
		t.Fatalf("holding the comment: ok %v, the item's holds below %d, want 1", ok, item.below)
	}
	if _, ok := pick(0, holdDelete); ok {
		t.Fatal("a delete took an item whose comment is in use")
	}
	ps.release([]*entry{comment}, []holdMode{holdRead})
	d, ok := pick(0, holdDelete)
	if !ok || d != item || len(ps.pools[0]) != 0 || !item.dead {
		t.Fatalf("the delete: ok %v, pool %d, dead %v", ok, len(ps.pools[0]), item.dead)
	}
	ps.release([]*entry{item}, []holdMode{holdDelete})
	// The comment of the deleted item is dropped when next picked.
	if _, ok := pick(1, holdRead); ok || len(ps.pools[1]) != 0 {
		t.Fatalf("a comment of a deleted item was picked (pool %d)", len(ps.pools[1]))
	}
}

// TestEntryPoolsBounded: past its size a pool replaces entries rather
// than growing.
func TestEntryPoolsBounded(t *testing.T) {
	rnd := rand.New(rand.NewPCG(3, 4))
	ps := newEntryPools(1, 5)
	for range 100 {
		ps.add(0, &entry{}, rnd)
	}
	if n := len(ps.pools[0]); n != 5 {
		t.Fatalf("pool of %d entries, want 5", n)
	}
}

func TestOpNamesOf(t *testing.T) {
	got := opNamesOf([]string{"All", "All", "Login", "Tag", "Tag"},
		[][]string{{"Articles"}, {"Articles, Comments"}, {"Auth"}, {"A"}, {"A"}})
	want := []string{"Articles / All", "Articles, Comments / All", "Login", "A / Tag", "A / Tag (2)"}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("name %d: %q, want %q", i, got[i], want[i])
		}
	}
}
