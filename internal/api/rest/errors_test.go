package rest_test

import (
	"errors"
	"net/http/httptest"
	"testing"

	"github.com/surgehq/surge/internal/api/rest"
	"github.com/surgehq/surge/internal/items"
)

func TestErrorStatuses(t *testing.T) {
	want := map[string]int{
		"invalid": 400, "unauthorized": 401, "forbidden": 403, "not_found": 404,
		"method_not_allowed": 405, "conflict": 409, "precondition_failed": 412,
		"too_large": 413, "unsupported_media_type": 415, "throttled": 429,
		"internal": 500, "unavailable": 503,
		"bad_gateway": 502, "gateway_timeout": 504,
	}
	if got := rest.Codes(); len(got) != len(want) {
		t.Errorf("got codes %v, want %d", got, len(want))
	}
	for code, status := range want {
		if got, ok := rest.Status(code); !ok || got != status {
			t.Errorf("code %s: got status %d, want %d", code, got, status)
		}
	}
}

func TestWriteError(t *testing.T) {
	for _, tc := range []struct {
		name       string
		err        error
		status     int
		body       string
		retryAfter string
	}{
		{"Invalid", items.Errorf(items.EINVALID, "Bad \"thing\"."), 400, `{"code":"invalid","message":"Bad \"thing\"."}`, ""},
		{"Unauthorized", items.Errorf(items.EUNAUTHORIZED, "No key."), 401, `{"code":"unauthorized","message":"No key."}`, ""},
		{"Forbidden", items.Errorf(items.EFORBIDDEN, "No."), 403, `{"code":"forbidden","message":"No."}`, ""},
		{"Throttled", &items.Error{Code: items.ETHROTTLED, Message: "Too Many Requests", RetryAfter: 3}, 429, `{"code":"throttled","message":"Too Many Requests"}`, "3"},
		{"ThrottledDefault", items.Errorf(items.ETHROTTLED, "Too Many Requests"), 429, `{"code":"throttled","message":"Too Many Requests"}`, "1"},
		{"Unavailable", items.Errorf(items.EUNAVAILABLE, "Shutting down."), 503, `{"code":"unavailable","message":"Shutting down."}`, "1"},
		{"Wrapped", errors.Join(errors.New("ctx"), items.Errorf(items.ENOTFOUND, "Gone.")), 404, `{"code":"not_found","message":"Gone."}`, ""},
		{"Internal", errors.New("disk I/O error: /var/lib/secret.db"), 500, `{"code":"internal","message":"Internal error."}`, ""},
		{"InternalCode", items.Errorf(items.EINTERNAL, "sql: table items has no column x"), 500, `{"code":"internal","message":"Internal error."}`, ""},
		{"UnknownCode", items.Errorf("weird", "secret detail"), 500, `{"code":"internal","message":"Internal error."}`, ""},
		{"BadGateway", items.Errorf(rest.CodeBadGateway, "Internal server error"), 502, `{"code":"bad_gateway","message":"Internal server error"}`, ""},
		{"GatewayTimeout", items.Errorf(rest.CodeGatewayTimeout, "Endpoint request timed out"), 504, `{"code":"gateway_timeout","message":"Endpoint request timed out"}`, ""},
		{"BadUTF8", items.Errorf(items.EINVALID, "x\xffy"), 400, "{\"code\":\"invalid\",\"message\":\"x\ufffdy\"}", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := httptest.NewRecorder()
			rest.WriteError(w, tc.err)
			if w.Code != tc.status {
				t.Errorf("got status %d, want %d", w.Code, tc.status)
			}
			if got := w.Body.String(); got != tc.body {
				t.Errorf("got body %s, want %s", got, tc.body)
			}
			if ct := w.Header().Get("Content-Type"); ct != "application/json" {
				t.Errorf("got Content-Type %q", ct)
			}
			if got := w.Header().Get("Retry-After"); got != tc.retryAfter {
				t.Errorf("got Retry-After %q, want %q", got, tc.retryAfter)
			}
			if got := rest.ErrorStatus(tc.err); got != tc.status {
				t.Errorf("ErrorStatus: got %d, want %d", got, tc.status)
			}
		})
	}
}
