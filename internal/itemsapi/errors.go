package itemsapi

import (
	"net/http"
	"strconv"

	"github.com/go-json-experiment/json/jsontext"
	"github.com/surgehq/surge/internal/items"
)

// Codes of the contract that only the HTTP layer produces; the rest are
// the items package's E... codes.
const (
	CodeMethodNotAllowed     = "method_not_allowed"
	CodeUnsupportedMediaType = "unsupported_media_type"
)

// Statuses maps every error code of the contract (API.md, "Errors") to its
// HTTP status. It is the only such table; callers must not modify it.
var Statuses = map[string]int{
	items.EINVALID:           http.StatusBadRequest,
	items.EUNAUTHORIZED:      http.StatusUnauthorized,
	items.EFORBIDDEN:         http.StatusForbidden,
	items.ENOTFOUND:          http.StatusNotFound,
	CodeMethodNotAllowed:     http.StatusMethodNotAllowed,
	items.ECONFLICT:          http.StatusConflict,
	items.EPRECONDITION:      http.StatusPreconditionFailed,
	items.ETOOLARGE:          http.StatusRequestEntityTooLarge,
	CodeUnsupportedMediaType: http.StatusUnsupportedMediaType,
	items.ETHROTTLED:         http.StatusTooManyRequests,
	items.EUNAVAILABLE:       http.StatusServiceUnavailable,
	items.EINTERNAL:          http.StatusInternalServerError,
}

// internalMessage is all a client learns of an internal error.
const internalMessage = "Internal error."

// ErrorStatus returns the HTTP status for err: the status of its code, or
// 500 for an internal error or an unknown code.
func ErrorStatus(err error) int {
	if s, ok := Statuses[items.ErrorCode(err)]; ok {
		return s
	}
	return http.StatusInternalServerError
}

// AppendError appends the contract's error body for err,
// {"code":"...","message":"..."}, and returns it with the status. An
// internal error, or one whose code the contract does not know, is
// {"code":"internal","message":"Internal error."}: its cause is for the
// log only.
func AppendError(dst []byte, err error) ([]byte, int) {
	code, msg := items.ErrorCode(err), items.ErrorMessage(err)
	status, ok := Statuses[code]
	if !ok || status == http.StatusInternalServerError {
		code, msg, status = items.EINTERNAL, internalMessage, http.StatusInternalServerError
	}
	dst = append(dst, `{"code":`...)
	dst = appendString(dst, code)
	dst = append(dst, `,"message":`...)
	dst = appendString(dst, msg)
	return append(dst, '}'), status
}

// WriteError writes err as the contract's error response: the status of
// its code, Content-Type application/json, the body of AppendError, and
// Retry-After on 429 and 503 (the error's RetryAfter, else 1 second).
// The caller logs the cause of a 5xx; the body never shows it.
func WriteError(w http.ResponseWriter, err error) {
	body, status := AppendError(make([]byte, 0, 128), err)
	h := w.Header()
	if status == http.StatusTooManyRequests || status == http.StatusServiceUnavailable {
		h.Set("Retry-After", strconv.Itoa(retryAfter(err)))
	}
	writeJSON(w, status, body)
}

// retryAfter returns the seconds a client should wait before retrying err.
func retryAfter(err error) int {
	if s := items.RetryAfter(err); s > 0 {
		return s
	}
	return 1
}

// appendString appends s as a JSON string. Invalid UTF-8 is replaced, so
// that the output is always valid JSON.
func appendString(dst []byte, s string) []byte {
	// AppendQuote fails only on invalid UTF-8, which it has replaced.
	out, _ := jsontext.AppendQuote(dst, s)
	return out
}

// jsonContentType is the Content-Type of every JSON response. The slice is
// shared by all responses and never modified.
var jsonContentType = []string{"application/json"}

// writeJSON writes a complete JSON response.
func writeJSON(w http.ResponseWriter, status int, body []byte) {
	h := w.Header()
	h["Content-Type"] = jsonContentType
	h["Content-Length"] = []string{strconv.Itoa(len(body))}
	w.WriteHeader(status)
	w.Write(body)
}

// errMethod returns the 405 error for a request.
func errMethod(r *http.Request) error {
	return items.Errorf(CodeMethodNotAllowed, "The method %s is not allowed here.", clip(r.Method))
}

// clip shortens client text quoted in a message.
func clip(s string) string {
	if len(s) > 40 {
		return s[:40] + "..."
	}
	return s
}
