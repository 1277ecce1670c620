package itemsapi_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/surgehq/surge/internal/items"
	"github.com/surgehq/surge/internal/store/dynamo"
	"github.com/surgehq/surge/internal/store/dynamo/dynalitetest"
	"github.com/surgehq/surge/internal/store/sqlite"
)

// TestMain shares one dynalite among the tests when they run on DynamoDB.
func TestMain(m *testing.M) { os.Exit(dynalitetest.Main(m)) }

// newStore returns the store that the tests run the handlers over: a real
// SQLite file in the test's temporary directory, or, with
// SURGE_TEST_STORE=dynamodb, a table of its own in dynalite (scripts/test
// runs the package both ways). It is the one place that chooses the
// backend; only tests that inject faults wrap a memstore instead (see
// faultStore).
func newStore(tb testing.TB) items.Store {
	tb.Helper()
	if os.Getenv("SURGE_TEST_STORE") == "dynamodb" {
		return dynalitetest.NewStore(tb, dynamo.WithConsistentReads(true))
	}
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
