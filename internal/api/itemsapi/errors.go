package itemsapi

import (
	"net/http"

	"github.com/surgehq/surge/internal/api/rest"
	"github.com/surgehq/surge/internal/items"
)

// errMethod returns the 405 error for a request.
func errMethod(r *http.Request) error {
	return items.Errorf(rest.CodeMethodNotAllowed, "The method %s is not allowed here.", clip(r.Method))
}

// clip shortens client text quoted in a message.
func clip(s string) string {
	if len(s) > 40 {
		return s[:40] + "..."
	}
	return s
}
