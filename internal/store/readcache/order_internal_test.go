package readcache

import (
	"testing"
	"time"

	"github.com/surgehq/surge/internal/items"
)

func TestCompare(t *testing.T) {
	t0 := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	t1 := t0.Add(time.Millisecond)
	item := func(created time.Time, version int64, rev string) *entry {
		return &entry{it: &items.Item{CreatedAt: created, Version: version, Rev: rev}}
	}
	tomb := func(created time.Time, version int64, rev string) *entry {
		return &entry{tomb: stamp{createdAt: created, version: version, rev: rev}}
	}
	miss := &entry{}
	for _, c := range []struct {
		name string
		a, b *entry
		want order
	}{
		{"LaterVersion", item(t0, 3, "c"), item(t0, 2, "b"), newer},
		{"EarlierVersion", item(t0, 2, "b"), item(t0, 3, "c"), older},
		{"SameRev", item(t0, 2, "b"), item(t0, 2, "b"), same},
		{"CreatedAgainLater", item(t1, 1, "x"), item(t0, 9, "b"), newer},
		{"DeletedIncarnation", item(t0, 9, "b"), item(t1, 1, "x"), older},
		{"TwoIncarnationsInOneMillisecond", item(t0, 1, "x"), item(t0, 1, "y"), unordered},
		{"DeletedItemAgainstItsTombstone", item(t0, 4, "d"), tomb(t0, 4, "d"), older},
		{"EarlierVersionAgainstTombstone", item(t0, 2, "b"), tomb(t0, 4, "d"), older},
		{"TombstoneAgainstDeletedItem", tomb(t0, 4, "d"), item(t0, 4, "d"), newer},
		{"CreatedAgainAfterTombstone", item(t1, 1, "x"), tomb(t0, 4, "d"), newer},
		{"CreatedAgainInTheDeletedMillisecond", item(t0, 1, "x"), tomb(t0, 1, "d"), unordered},
		{"ItemAgainstUnknownTombstone", item(t0, 4, "d"), miss, unordered},
		{"UnknownTombstoneAgainstItem", miss, item(t0, 4, "d"), unordered},
		{"TwoTombstones", miss, tomb(t0, 4, "d"), same},
	} {
		t.Run(c.name, func(t *testing.T) {
			if got := compare(c.a, c.b); got != c.want {
				t.Fatalf("got %d, want %d", got, c.want)
			}
		})
	}
}
