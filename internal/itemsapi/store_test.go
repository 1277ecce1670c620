package itemsapi_test

import (
	"path/filepath"
	"testing"

	"github.com/surgehq/surge/internal/items"
	"github.com/surgehq/surge/internal/sqlite"
)

// newStore returns the store that the tests run the handlers over: a real
// SQLite file in the test's temporary directory. It is the one place that
// chooses the backend; only tests that inject faults wrap a memstore
// instead (see faultStore).
func newStore(tb testing.TB) items.Store {
	tb.Helper()
	s, err := sqlite.Open(filepath.Join(tb.TempDir(), "items.db"))
	if err != nil {
		tb.Fatalf("open store: %v", err)
	}
	tb.Cleanup(func() {
		if err := s.Close(); err != nil {
			tb.Errorf("close store: %v", err)
		}
	})
	return s
}
