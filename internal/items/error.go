package items

import (
	"errors"
	"fmt"
)

// Error codes. They are the codes of the contract's error bodies
// (API.md, "Errors"); only the HTTP layer maps them to statuses.
const (
	EINVALID      = "invalid"
	EUNAUTHORIZED = "unauthorized"
	EFORBIDDEN    = "forbidden"
	ENOTFOUND     = "not_found"
	ECONFLICT     = "conflict"
	EPRECONDITION = "precondition_failed"
	ETOOLARGE     = "too_large"
	ETHROTTLED    = "throttled"
	EUNAVAILABLE  = "unavailable"
	EINTERNAL     = "internal"
)

// Error is an error with a contract code and a message meant for people.
// Anything that is not an *Error is internal: its text is logged, never
// shown to a client.
type Error struct {
	Code    string
	Message string
	// RetryAfter, in seconds, is set on ETHROTTLED and EUNAVAILABLE errors
	// when the source knows when a retry may succeed; 0 means unknown.
	RetryAfter int
	// Limit names the limit that refused the request, for an ETHROTTLED
	// or EUNAVAILABLE error that a limit produced (a table's read or write
	// capacity: "table.read", "table.write"); the HTTP layer reports it in
	// X-Limit-Source. Empty for any other error.
	Limit string
}

// Error implements the error interface.
func (e *Error) Error() string {
	return fmt.Sprintf("surge error: code=%s message=%s", e.Code, e.Message)
}

// Errorf returns an *Error with the given code and a formatted message.
func Errorf(code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// ErrorCode returns the code of the first *Error in err's chain,
// EINTERNAL for any other non-nil error, and "" for nil.
func ErrorCode(err error) string {
	var e *Error
	if err == nil {
		return ""
	} else if errors.As(err, &e) {
		return e.Code
	}
	return EINTERNAL
}

// ErrorMessage returns the message of the first *Error in err's chain, or
// "Internal error." for any other error: internal causes are never shown.
func ErrorMessage(err error) string {
	var e *Error
	if err == nil {
		return ""
	} else if errors.As(err, &e) {
		return e.Message
	}
	return "Internal error."
}

// RetryAfter returns the RetryAfter of the first *Error in err's chain.
func RetryAfter(err error) int {
	var e *Error
	if errors.As(err, &e) {
		return e.RetryAfter
	}
	return 0
}

// LimitOf returns the Limit of the first *Error in err's chain.
func LimitOf(err error) string {
	var e *Error
	if errors.As(err, &e) {
		return e.Limit
	}
	return ""
}
