package table

import (
	"context"
	"slices"
	"strings"
	"sync"
	"time"
)

// Tables are the tables of one DynamoDB-API engine, by name, as a front
// charges them: a table is made from the defaults the first time it is
// named, unless Add declared it, and a CreateTable or UpdateTable seen by
// the front sets its capacity. It is safe for concurrent use.
type Tables struct {
	defaults Config

	mu sync.Mutex
	m  map[string]*Table
}

// NewTables returns an empty set whose tables, when first named, take
// defaults (its Name is ignored; its Mode, capacity, clock, logger and
// observer are shared).
func NewTables(defaults Config) *Tables {
	return &Tables{defaults: defaults, m: map[string]*Table{}}
}

// Add makes a table as cfg says, replacing any of that name, and returns
// it. Its clock, logger and observer default to the set's.
func (ts *Tables) Add(cfg Config) (*Table, error) {
	if cfg.Now == nil {
		cfg.Now = ts.defaults.Now
	}
	if cfg.Compression == 0 {
		cfg.Compression = ts.defaults.Compression
	}
	if cfg.Log == nil {
		cfg.Log = ts.defaults.Log
	}
	if cfg.Observer == nil {
		cfg.Observer = ts.defaults.Observer
	}
	t, err := New(cfg)
	if err != nil {
		return nil, err
	}
	ts.mu.Lock()
	ts.m[cfg.Name] = t
	ts.mu.Unlock()
	return t, nil
}

// Get returns the table named name, made from the defaults if it is new.
// A table whose defaults are not valid is on-demand.
func (ts *Tables) Get(name string) *Table {
	ts.mu.Lock()
	defer ts.mu.Unlock()
	if t, ok := ts.m[name]; ok {
		return t
	}
	cfg := ts.defaults
	cfg.Name = name
	t, err := New(cfg)
	if err != nil {
		cfg.Mode, cfg.RCU, cfg.WCU, cfg.Scaling = OnDemand, 0, 0, Scaling{}
		t, _ = New(cfg) // an on-demand table with a name is always valid
	}
	ts.m[name] = t
	return t
}

// Lookup returns the table named name, if the set has it.
func (ts *Tables) Lookup(name string) (*Table, bool) {
	ts.mu.Lock()
	defer ts.mu.Unlock()
	t, ok := ts.m[name]
	return t, ok
}

// remove forgets a deleted table.
func (ts *Tables) remove(name string) {
	ts.mu.Lock()
	delete(ts.m, name)
	ts.mu.Unlock()
}

// All returns the set's tables, in name order.
func (ts *Tables) All() []*Table {
	ts.mu.Lock()
	all := make([]*Table, 0, len(ts.m))
	for _, t := range ts.m {
		all = append(all, t)
	}
	ts.mu.Unlock()
	slices.SortFunc(all, func(a, b *Table) int { return strings.Compare(a.name, b.name) })
	return all
}

// Tick runs every table's Tick.
func (ts *Tables) Tick() {
	for _, t := range ts.All() {
		t.Tick()
	}
}

// Run calls Tick every interval of wall time until ctx ends, so that the
// tables follow their schedules and close their auto scaling periods
// without traffic.
func (ts *Tables) Run(ctx context.Context, every time.Duration) {
	tk := time.NewTicker(every)
	defer tk.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tk.C:
			ts.Tick()
		}
	}
}
