package memstore_test

import (
	"testing"

	"github.com/surgehq/surge/internal/items"
	"github.com/surgehq/surge/internal/store/memstore"
	"github.com/surgehq/surge/internal/store/storetest"
)

func TestStore(t *testing.T) {
	storetest.Run(t, func(t *testing.T, now items.Clock) items.Store {
		s := memstore.New()
		s.Now = now
		t.Cleanup(func() { s.Close() })
		return s
	})
}
