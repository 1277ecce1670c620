package itemsapi_test

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/surgehq/surge/internal/api/itemsapi"
	"github.com/surgehq/surge/internal/items"
	"github.com/surgehq/surge/internal/store/memstore"
)

// discardWriter is a ResponseWriter that keeps only the status, so that a
// benchmark measures the handler and the store, not a recorder.
type discardWriter struct {
	h      http.Header
	status int
}

func (w *discardWriter) Header() http.Header         { return w.h }
func (w *discardWriter) Write(p []byte) (int, error) { return len(p), nil }
func (w *discardWriter) WriteHeader(s int)           { w.status = s }

// benchItem is a typical small item body (about 200 bytes).
const benchItem = `{"name":"widget","price":12.50,"tags":["a","b","c"],"stock":1234,"owner":{"id":"u-42","name":"Ada"},"note":"a typical small item of the load tests"}`

// BenchmarkHandler measures the handler path of each endpoint, on
// memstore (the handler's own cost) and on SQLite (a real store):
//
//	go test -run '^$' -bench . -benchmem ./internal/api/itemsapi
func BenchmarkHandler(b *testing.B) {
	for _, backend := range []struct {
		name string
		open func(testing.TB) items.Store
	}{
		{"memstore", func(tb testing.TB) items.Store { return memstore.New() }},
		{"sqlite", newStore},
	} {
		b.Run(backend.name, func(b *testing.B) {
			h := itemsapi.New(backend.open(b))
			setup := func(method, path, body string) {
				w := httptest.NewRecorder()
				r := httptest.NewRequest(method, path, bytes.NewReader([]byte(body)))
				r.Header.Set("Content-Type", "application/json")
				h.ServeHTTP(w, r)
				if w.Code >= 300 {
					b.Fatalf("%s %s: %d %s", method, path, w.Code, w.Body)
				}
			}
			setup("POST", "/items", `{"id":"bench"}`)
			for i := range 50 {
				setup("POST", "/items", fmt.Sprintf(`{"id":"list-%02d","i":%d,"name":"widget","tags":["a","b"]}`, i, i))
			}
			run := func(b *testing.B, method, path, body string, status int) {
				w := &discardWriter{h: http.Header{}}
				rd := bytes.NewReader([]byte(body))
				r := httptest.NewRequest(method, path, nil)
				if body != "" {
					r.Header.Set("Content-Type", "application/json")
					r.Body = io.NopCloser(rd)
					r.ContentLength = int64(len(body))
				}
				b.ReportAllocs()
				b.SetBytes(int64(len(body)))
				for b.Loop() {
					rd.Reset([]byte(body))
					clear(w.h)
					h.ServeHTTP(w, r)
					if w.status != status {
						b.Fatalf("got status %d, want %d", w.status, status)
					}
				}
			}
			b.Run("GET", func(b *testing.B) { run(b, "GET", "/items/bench", "", 200) })
			b.Run("POST", func(b *testing.B) { run(b, "POST", "/items", benchItem, 201) })
			b.Run("PUT", func(b *testing.B) { run(b, "PUT", "/items/bench", benchItem, 200) })
			b.Run("PATCH", func(b *testing.B) { run(b, "PATCH", "/items/bench", `{"stock":1235}`, 200) })
			b.Run("List50", func(b *testing.B) { run(b, "GET", "/items?limit=50&cursor="+items.EncodeCursor("bench"), "", 200) })
			b.Run("OpsRead", func(b *testing.B) {
				run(b, "POST", "/ops", `{"operation":"read","tableName":"items","payload":{"Key":{"id":"bench"}}}`, 200)
			})
		})
	}
}
