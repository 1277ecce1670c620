package gateway

import (
	"net/http"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/surgehq/surge/internal/auth"
	"github.com/surgehq/surge/internal/items"
)

// AuthMetrics are the collectors of the Auth middleware.
type AuthMetrics struct {
	failures *prometheus.CounterVec
}

// NewAuthMetrics makes the auth collectors and registers them with reg.
func NewAuthMetrics(reg prometheus.Registerer) *AuthMetrics {
	m := &AuthMetrics{
		failures: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "surge_gateway_auth_failures_total",
			Help: "Requests refused for missing or bad credentials (401), by reason: missing_key, unknown_key, missing_token, bad_token.",
		}, []string{"reason"}),
	}
	for _, r := range []string{auth.ReasonMissingKey, auth.ReasonUnknownKey, auth.ReasonMissingToken, auth.ReasonBadToken} {
		m.failures.WithLabelValues(r)
	}
	reg.MustRegister(m.failures)
	return m
}

// Auth authenticates every request with a: a request without a valid
// credential that a requires gets 401 `unauthorized` (with
// WWW-Authenticate: Bearer where tokens are required); any other goes on
// with its tenant in the context (items.WithTenant) and its principal in
// the RequestInfo. It must come after Routes. Leave it out of the chain
// when a is not Enabled: every request is then the default tenant's.
func Auth(a *auth.Authenticator, bearer bool, m *AuthMetrics, writeError func(http.ResponseWriter, error)) Middleware {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			p, err := a.Authenticate(r.Header)
			if err != nil {
				m.failures.WithLabelValues(auth.Reason(err)).Inc()
				if bearer {
					w.Header().Set("WWW-Authenticate", `Bearer realm="surge"`)
				}
				writeError(w, err)
				return
			}
			if ri := Info(r.Context()); ri != nil {
				ri.Principal = p
			}
			next.ServeHTTP(w, r.WithContext(items.WithTenant(r.Context(), p.Tenant)))
		})
	}
}

// principal returns the request's principal, nil without authentication.
func principal(r *http.Request) *auth.Principal {
	if ri := Info(r.Context()); ri != nil {
		return ri.Principal
	}
	return nil
}
