package rest

import (
	"net/http"

	"github.com/google/uuid"
)

// RequestIDHeader is the header that carries a request's id both ways.
const RequestIDHeader = "X-Request-Id"

// RequestIDConfig configures RequestID.
type RequestIDConfig struct {
	// Fallback, when set, returns the id of a request whose client gave
	// none that is sane ("" for none), before a new UUIDv7 is made: the
	// Lambda function takes API Gateway's request id.
	Fallback func(*http.Request) string
}

// RequestID gives every request an id: the client's X-Request-Id when it is
// sane (1 to 128 characters of letters, digits and ".-_:"), else the
// Fallback's, else a new UUIDv7. The id is set on the response and in the
// RequestInfo. It must come after Routes.
func RequestID(cfg RequestIDConfig) Middleware {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			id := r.Header.Get(RequestIDHeader)
			if !SaneID(id) {
				id = ""
				if cfg.Fallback != nil {
					id = cfg.Fallback(r)
				}
				if id == "" {
					id = newRequestID()
				}
			}
			w.Header().Set(RequestIDHeader, id)
			if ri := Info(r.Context()); ri != nil {
				ri.ID = id
			}
			next.ServeHTTP(w, r)
		})
	}
}

// SaneID reports whether a client's request id may be used as is: 1 to
// 128 letters, digits and ".-_:".
func SaneID(id string) bool {
	if id == "" || len(id) > 128 {
		return false
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9',
			c == '.', c == '-', c == '_', c == ':':
		default:
			return false
		}
	}
	return true
}

func newRequestID() string {
	id, err := uuid.NewV7()
	if err != nil {
		return uuid.NewString()
	}
	return id.String()
}
