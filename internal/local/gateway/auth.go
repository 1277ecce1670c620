package gateway

import (
	"net/http"

	"github.com/surgehq/surge/internal/api/rest"
	"github.com/surgehq/surge/internal/items"
	"github.com/surgehq/surge/internal/local/auth"
)

// AuthConfig configures Auth.
type AuthConfig struct {
	// Authenticator checks each request's credentials.
	Authenticator *auth.Authenticator
	// Bearer says that tokens are required: a refusal then carries
	// WWW-Authenticate: Bearer.
	Bearer bool
	// Observer, when set, is told of every refusal.
	Observer AuthObserver
}

// Auth authenticates every request: a request without a valid credential
// that the authenticator requires gets 401 `unauthorized` (with
// WWW-Authenticate: Bearer where tokens are required); any other goes on
// with its tenant in the context (items.WithTenant) and in the
// RequestInfo, and its principal in the context for the parts after Auth.
// It must come after rest.Routes. Leave it out of the chain when the
// authenticator is not Enabled: every request is then the default
// tenant's.
func Auth(cfg AuthConfig) rest.Middleware {
	a := cfg.Authenticator
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			p, err := a.Authenticate(r.Header)
			if err != nil {
				if cfg.Observer != nil {
					cfg.Observer.AuthFailed(auth.Reason(err))
				}
				if cfg.Bearer {
					w.Header().Set("WWW-Authenticate", `Bearer realm="surge"`)
				}
				rest.WriteError(w, err)
				return
			}
			if ri := rest.Info(r.Context()); ri != nil {
				ri.Tenant = p.Tenant
			}
			ctx := items.WithTenant(withPrincipal(r.Context(), p), p.Tenant)
			next.ServeHTTP(w, r.WithContext(ctx))
		})
	}
}
