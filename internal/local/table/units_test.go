package table_test

import (
	"testing"

	"github.com/surgehq/surge/internal/local/table"
)

func TestUnits(t *testing.T) {
	const kb = 1024
	cases := []struct {
		name string
		got  float64
		want float64
	}{
		// Reads: 4 KB units, halved when eventually consistent, doubled
		// in a transaction; a missing item still costs one unit.
		{"read missing, eventual", table.ReadUnits(0, table.Eventual), 0.5},
		{"read missing, strong", table.ReadUnits(0, table.Strong), 1},
		{"read 1 B, eventual", table.ReadUnits(1, table.Eventual), 0.5},
		{"read 4 KB, strong", table.ReadUnits(4*kb, table.Strong), 1},
		{"read 4 KB + 1, strong", table.ReadUnits(4*kb+1, table.Strong), 2},
		{"read 4 KB + 1, eventual", table.ReadUnits(4*kb+1, table.Eventual), 1},
		{"read 8 KB + 1, eventual", table.ReadUnits(8*kb+1, table.Eventual), 1.5},
		{"read 3.5 KB, transactional", table.ReadUnits(3584, table.Transactional), 2},
		{"read 10 KB, strong (rounded to 12 KB)", table.ReadUnits(10*kb, table.Strong), 3},
		// Writes: 1 KB units, at least one; transactions double.
		{"write 0", table.WriteUnits(0), 1},
		{"write 500 B", table.WriteUnits(500), 1},
		{"write 1 KB", table.WriteUnits(kb), 1},
		{"write 1 KB + 1", table.WriteUnits(kb + 1), 2},
		{"write 1.6 KB", table.WriteUnits(1638), 2},
		{"write 400 KB", table.WriteUnits(400 * kb), 400},
		{"transact write 1 KB + 1", table.TransactWriteUnits(kb + 1), 4},
		// Query and Scan: the sum rounded once, not per item: 10 items of
		// 4.08 KB are 40.8 KB, rounded to 44 KB, 11 units (the developer
		// guide's example); per item they would be 20.
		{"query 10 x 4.08 KB, strong", table.QueryUnits(10*4178, table.Strong), 11},
		{"query 1500 x 64 B, eventual", table.QueryUnits(1500*64, table.Eventual), 12},
		{"query nothing, eventual", table.QueryUnits(0, table.Eventual), 0.5},
	}
	for _, c := range cases {
		if c.got != c.want {
			t.Errorf("%s: got %v, want %v", c.name, c.got, c.want)
		}
	}
	// A batch is the sum of its parts, each rounded apart: 1.5 KB and
	// 6.5 KB read are 4 + 8 KB, 3 units (the developer guide's example).
	if got := table.ReadUnits(1536, table.Strong) + table.ReadUnits(6656, table.Strong); got != 3 {
		t.Errorf("batch of 1.5 KB and 6.5 KB: got %v, want 3", got)
	}
}
