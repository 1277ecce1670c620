package itemsapi_test

import (
	"testing"

	"github.com/surgehq/surge/internal/items"
	"github.com/surgehq/surge/internal/memstore"
)

// newStore returns the store that the tests run the handlers over. It is
// the one place that chooses the backend.
func newStore(tb testing.TB) items.Store {
	tb.Helper()
	s := memstore.New()
	tb.Cleanup(func() { s.Close() })
	return s
}
