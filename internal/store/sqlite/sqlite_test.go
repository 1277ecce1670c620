package sqlite_test

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/surgehq/surge/internal/items"
	"github.com/surgehq/surge/internal/store/sqlite"
	"github.com/surgehq/surge/internal/store/storetest"
)

// MustOpen opens a store on a new file in a temporary directory and closes
// it when the test ends.
func MustOpen(tb testing.TB, opts ...sqlite.Option) (*sqlite.Store, string) {
	tb.Helper()
	path := filepath.Join(tb.TempDir(), "data", "items.db")
	return MustOpenPath(tb, path, opts...), path
}

// MustOpenPath opens a store on path and closes it when the test ends.
func MustOpenPath(tb testing.TB, path string, opts ...sqlite.Option) *sqlite.Store {
	tb.Helper()
	s, err := sqlite.Open(path, opts...)
	if err != nil {
		tb.Fatalf("open %s: %v", path, err)
	}
	tb.Cleanup(func() {
		if err := s.Close(); err != nil {
			tb.Errorf("close: %v", err)
		}
	})
	return s
}

func TestStore(t *testing.T) {
	storetest.Run(t, func(t *testing.T, now items.Clock) items.Store {
		s, _ := MustOpen(t, sqlite.WithClock(now))
		return s
	})
}

func TestStoreNoGroupCommit(t *testing.T) {
	// One transaction per write must behave the same.
	storetest.Run(t, func(t *testing.T, now items.Clock) items.Store {
		s, _ := MustOpen(t, sqlite.WithClock(now), sqlite.WithMaxBatch(1), sqlite.WithReadConns(1))
		return s
	})
}

var ctx = context.Background()
