package itemsapi

import (
	"crypto/sha256"
	_ "embed"
	"encoding/hex"
	"net/http"
	"sync"

	"github.com/surgehq/surge/internal/api/rest"
)

// OpenAPI is the contract as an OpenAPI 3.1 document, written by hand
// next to the handlers; tests check every answer of the handlers against
// it, so the two cannot drift apart.
//
//go:embed openapi.json
var OpenAPI []byte

// openAPIETag identifies the document's version for conditional GETs,
// hashed when first asked for rather than at every process start.
var openAPIETag = sync.OnceValue(func() string {
	sum := sha256.Sum256(OpenAPI)
	return `"` + hex.EncodeToString(sum[:8]) + `"`
})

// openAPI serves GET /openapi.json.
func (h *Handler) openAPI(w http.ResponseWriter, r *http.Request) {
	hdr := w.Header()
	tag := openAPIETag()
	hdr["Etag"] = []string{tag}
	hdr["Cache-Control"] = []string{"no-cache"}
	cond := rest.RequestConditions(r)
	switch cond.Evaluate(r.Method, true, tag[1:len(tag)-1], true) {
	case rest.Failed:
		h.fail(w, r, errPrecondition())
		return
	case rest.NotModified:
		w.WriteHeader(http.StatusNotModified)
		return
	}
	rest.WriteJSON(w, http.StatusOK, OpenAPI)
}
