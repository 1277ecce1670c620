package remote_test

import (
	"testing"

	"github.com/surgehq/surge/internal/store/remote"
)

// The request decoder takes any bytes without panicking, and accepts only
// a JSON object.
func FuzzDecodeRequest(f *testing.F) {
	for _, s := range []string{`{}`, `{"tenant":"t","id":"x","attrs":{"a":1}}`, `{"limit":-1}`, `{"attrs":[1]}`, `{} {}`, `{"x":1}`, `null`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		if req, err := remote.DecodeRequest(b); err == nil && req == nil {
			t.Fatal("accepted without a request")
		}
	})
}

// The response decoder takes any bytes without panicking.
func FuzzDecodeResponse(f *testing.F) {
	for _, s := range []string{`{}`, `{"item":{"tenant":"t","id":"x","version":1,"createdAt":"2026-01-02T03:04:05.006Z","updatedAt":"2026-01-02T03:04:05.006Z","rev":"r","attrs":{}}}`,
		`{"error":{"code":"not_found","message":"No item."}}`, `{"items":[null]}`, `[]`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		_, _ = remote.DecodeResponse(b)
	})
}
