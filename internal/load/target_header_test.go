package load_test

import (
	"testing"

	"github.com/surgehq/surge/internal/api/rest"
	"github.com/surgehq/surge/internal/load"
)

// The load tester reads the header the service writes.
func TestLimitSourceHeaderIsTheService(t *testing.T) {
	if load.LimitSourceHeader != rest.LimitSourceHeader {
		t.Fatalf("load reads %q, the service writes %q", load.LimitSourceHeader, rest.LimitSourceHeader)
	}
}
