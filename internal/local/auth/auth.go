package auth

import (
	"errors"
	"net/http"
	"strings"

	"github.com/surgehq/surge/internal/items"
)

// APIKeyHeader is the header that carries an API key, as in API Gateway.
const APIKeyHeader = "X-Api-Key"

// Principal is who a request acts as.
type Principal struct {
	// Tenant owns every item the request touches.
	Tenant string
	// Key is the API key used, nil when keys are not configured.
	Key *Key
	// InvalidateCache reports whether the request may invalidate cached
	// responses (Cache-Control: max-age=0).
	InvalidateCache bool
}

// Plan returns the principal's usage plan, or nil.
func (p *Principal) Plan() *Plan {
	if p == nil || p.Key == nil {
		return nil
	}
	return p.Key.Plan
}

// Reasons an authentication fails, for metrics and logs.
const (
	ReasonMissingKey   = "missing_key"
	ReasonUnknownKey   = "unknown_key"
	ReasonMissingToken = "missing_token"
	ReasonBadToken     = "bad_token"
)

// Error is an authentication failure: an items.Error with code
// EUNAUTHORIZED, and the reason.
type Error struct {
	Err    *items.Error
	Reason string
}

// Error implements the error interface.
func (e *Error) Error() string { return e.Err.Error() + " reason=" + e.Reason }

// Unwrap lets errors.As find the items.Error.
func (e *Error) Unwrap() error { return e.Err }

func fail(reason, msg string) *Error {
	return &Error{Err: &items.Error{Code: items.EUNAUTHORIZED, Message: msg}, Reason: reason}
}

// Reason returns the reason of an authentication failure, or "".
func Reason(err error) string {
	var e *Error
	if errors.As(err, &e) {
		return e.Reason
	}
	return ""
}

// Authenticator checks a request's credentials.
type Authenticator struct {
	keys *Keys
	jwt  *verifier
}

// New returns an Authenticator that requires an API key when keys holds
// any, and a bearer token when jwt is not nil. With neither, every request
// is the default tenant's.
func New(keys *Keys, jwt *JWTConfig) (*Authenticator, error) {
	a := &Authenticator{}
	if keys.Len() > 0 {
		a.keys = keys
	}
	if jwt != nil {
		v, err := newVerifier(*jwt)
		if err != nil {
			return nil, err
		}
		a.jwt = v
	}
	return a, nil
}

// Enabled reports whether requests need credentials.
func (a *Authenticator) Enabled() bool { return a != nil && (a.keys != nil || a.jwt != nil) }

// HasPlans reports whether any key has a usage plan that limits it (a
// rate or a quota), so that the gateway needs to throttle by key.
func (a *Authenticator) HasPlans() bool {
	if a == nil || a.keys == nil {
		return false
	}
	for _, k := range a.keys.list {
		if p := k.Plan; p != nil && (p.Rate > 0 || p.Quota > 0) {
			return true
		}
	}
	return false
}

// Authenticate returns the principal of a request with headers h, or an
// *Error (code EUNAUTHORIZED) when a credential that is required is
// missing or not valid. The messages never say whether a key exists.
func (a *Authenticator) Authenticate(h http.Header) (*Principal, error) {
	p := &Principal{Tenant: items.DefaultTenant}
	if a.keys != nil {
		v := h.Get(APIKeyHeader)
		if v == "" {
			return nil, fail(ReasonMissingKey, "An API key is required (x-api-key).")
		}
		k := a.keys.Lookup(v)
		if k == nil {
			return nil, fail(ReasonUnknownKey, "The API key is not valid.")
		}
		p.Key, p.Tenant, p.InvalidateCache = k, k.Tenant, k.InvalidateCache
	}
	if a.jwt != nil {
		token, ok := bearer(h.Get("Authorization"))
		if !ok {
			return nil, fail(ReasonMissingToken, "A bearer token is required (Authorization: Bearer).")
		}
		tenant, inv, err := a.jwt.verify(token)
		if err != nil {
			return nil, fail(ReasonBadToken, "The bearer token is not valid.")
		}
		// The token says who the caller is; the key, if any, only meters.
		p.Tenant = tenant
		p.InvalidateCache = inv || (p.Key != nil && p.Key.InvalidateCache)
	}
	return p, nil
}

// bearer returns the token of an Authorization: Bearer header value.
func bearer(v string) (string, bool) {
	const prefix = "bearer "
	if len(v) <= len(prefix) || !strings.EqualFold(v[:len(prefix)], prefix) {
		return "", false
	}
	t := strings.TrimSpace(v[len(prefix):])
	return t, t != ""
}
