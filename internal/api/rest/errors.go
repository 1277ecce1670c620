package rest

import (
	"net/http"
	"strconv"

	"github.com/go-json-experiment/json/jsontext"

	"github.com/surgehq/surge/internal/items"
)

// Codes of the contract that only the HTTP layers produce; the rest are
// the items package's E... codes.
const (
	// CodeMethodNotAllowed is a method that the route does not serve (405).
	CodeMethodNotAllowed = "method_not_allowed"
	// CodeUnsupportedMediaType is a body of a type the route does not take (415).
	CodeUnsupportedMediaType = "unsupported_media_type"
	// CodeBadGateway is a function that failed or answered nonsense (502).
	CodeBadGateway = "bad_gateway"
	// CodeGatewayTimeout is a function that did not answer in time (504).
	CodeGatewayTimeout = "gateway_timeout"
)

// statuses maps every error code of the contract (API.md, "Errors") to its
// HTTP status. It is the only such table; Status reads it.
var statuses = map[string]int{
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
	CodeBadGateway:           http.StatusBadGateway,
	CodeGatewayTimeout:       http.StatusGatewayTimeout,
}

// Status returns the HTTP status of an error code, and whether the
// contract knows the code.
func Status(code string) (int, bool) {
	s, ok := statuses[code]
	return s, ok
}

// Codes returns every error code the contract knows, in no order.
func Codes() []string {
	out := make([]string, 0, len(statuses))
	for c := range statuses {
		out = append(out, c)
	}
	return out
}

// ErrorStatus returns the HTTP status for err: the status of its code, or
// 500 for an internal error or an unknown code.
func ErrorStatus(err error) int {
	if s, ok := statuses[items.ErrorCode(err)]; ok {
		return s
	}
	return http.StatusInternalServerError
}

// internalMessage is all a client learns of an internal error.
const internalMessage = "Internal error."

// AppendError appends the contract's error body for err,
// {"code":"...","message":"..."}, and returns it with the status. An
// internal error, or one whose code the contract does not know, is
// {"code":"internal","message":"Internal error."}: its cause is for the
// log only.
func AppendError(dst []byte, err error) ([]byte, int) {
	code, msg := items.ErrorCode(err), items.ErrorMessage(err)
	status, ok := statuses[code]
	if !ok || status == http.StatusInternalServerError {
		code, msg, status = items.EINTERNAL, internalMessage, http.StatusInternalServerError
	}
	dst = append(dst, `{"code":`...)
	dst = AppendString(dst, code)
	dst = append(dst, `,"message":`...)
	dst = AppendString(dst, msg)
	return append(dst, '}'), status
}

// WriteError writes err as the contract's error response: the status of
// its code, Content-Type application/json, the body of AppendError, and
// Retry-After on 429 and 503 (the error's RetryAfter, else 1 second).
// The caller logs the cause of a 5xx; the body never shows it. An error
// that a limit produced (items.Error's Limit) names it in
// LimitSourceHeader.
func WriteError(w http.ResponseWriter, err error) {
	body, status := AppendError(make([]byte, 0, 128), err)
	if status == http.StatusTooManyRequests || status == http.StatusServiceUnavailable {
		w.Header().Set("Retry-After", strconv.Itoa(RetryAfter(err)))
		if l := items.LimitOf(err); l != "" {
			SetLimitSource(w.Header(), l)
		}
	}
	WriteJSON(w, status, body)
}

// RetryAfter returns the seconds a client should wait before retrying err.
func RetryAfter(err error) int {
	if s := items.RetryAfter(err); s > 0 {
		return s
	}
	return 1
}

// AppendString appends s as a JSON string. Invalid UTF-8 is replaced, so
// that the output is always valid JSON.
func AppendString(dst []byte, s string) []byte {
	// AppendQuote fails only on invalid UTF-8, which it has replaced.
	out, _ := jsontext.AppendQuote(dst, s)
	return out
}

// jsonContentType is the Content-Type of every JSON response. The slice is
// shared by all responses and never modified.
var jsonContentType = []string{"application/json"}

// WriteJSON writes a complete JSON response: Content-Type, Content-Length,
// the status and body.
func WriteJSON(w http.ResponseWriter, status int, body []byte) {
	h := w.Header()
	h["Content-Type"] = jsonContentType
	h["Content-Length"] = []string{strconv.Itoa(len(body))}
	w.WriteHeader(status)
	w.Write(body)
}
