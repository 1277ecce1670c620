package auth

import (
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/surgehq/surge/internal/items"
)

// Defaults of JWTConfig.
const (
	// DefaultTenantClaim is the claim that names a token's tenant.
	DefaultTenantClaim = "tenant"
	// DefaultInvalidateScope is the scope that lets a token's requests
	// invalidate cached responses.
	DefaultInvalidateScope = "cache:invalidate"
	// DefaultLeeway is the clock skew allowed when checking exp and nbf.
	DefaultLeeway = 30 * time.Second
	// MinRSABits is the smallest RSA key a JWKS may hold.
	MinRSABits = 2048
)

// JWTConfig configures bearer tokens. At least one of HS256Secret and
// RS256Keys must be set.
type JWTConfig struct {
	// HS256Secret verifies HS256 tokens.
	HS256Secret []byte
	// RS256Keys verify RS256 tokens, by key id (the token's kid header).
	// A token without a kid is tried against a lone key.
	RS256Keys map[string]*rsa.PublicKey
	// TenantClaim is the string claim that names the tenant
	// (default DefaultTenantClaim).
	TenantClaim string
	// Issuer and Audience, when set, must match the token's iss and aud.
	Issuer   string
	Audience string
	// InvalidateScope, in the token's scope claim (a space-separated
	// string or a list), lets its requests invalidate cached responses
	// (default DefaultInvalidateScope).
	InvalidateScope string
	// Now is the clock for exp and nbf (default time.Now).
	Now func() time.Time
}

// verifier checks bearer tokens.
type verifier struct {
	cfg    JWTConfig
	parser *jwt.Parser
}

func newVerifier(cfg JWTConfig) (*verifier, error) {
	if len(cfg.HS256Secret) == 0 && len(cfg.RS256Keys) == 0 {
		return nil, errors.New("jwt: neither an HS256 secret nor RS256 keys")
	}
	if cfg.TenantClaim == "" {
		cfg.TenantClaim = DefaultTenantClaim
	}
	if cfg.InvalidateScope == "" {
		cfg.InvalidateScope = DefaultInvalidateScope
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	var methods []string
	if len(cfg.HS256Secret) > 0 {
		methods = append(methods, jwt.SigningMethodHS256.Alg())
	}
	if len(cfg.RS256Keys) > 0 {
		methods = append(methods, jwt.SigningMethodRS256.Alg())
	}
	opts := []jwt.ParserOption{
		jwt.WithValidMethods(methods),
		jwt.WithLeeway(DefaultLeeway),
		jwt.WithTimeFunc(cfg.Now),
	}
	if cfg.Issuer != "" {
		opts = append(opts, jwt.WithIssuer(cfg.Issuer))
	}
	if cfg.Audience != "" {
		opts = append(opts, jwt.WithAudience(cfg.Audience))
	}
	return &verifier{cfg: cfg, parser: jwt.NewParser(opts...)}, nil
}

// key returns the key that verifies t.
func (v *verifier) key(t *jwt.Token) (any, error) {
	switch t.Method.Alg() {
	case jwt.SigningMethodHS256.Alg():
		return v.cfg.HS256Secret, nil
	case jwt.SigningMethodRS256.Alg():
		kid, _ := t.Header["kid"].(string)
		if k, ok := v.cfg.RS256Keys[kid]; ok {
			return k, nil
		}
		if kid == "" && len(v.cfg.RS256Keys) == 1 {
			for _, k := range v.cfg.RS256Keys {
				return k, nil
			}
		}
		return nil, fmt.Errorf("no key %q in the JWKS", kid)
	}
	return nil, fmt.Errorf("unexpected signing method %s", t.Method.Alg())
}

// verify checks a token and returns its tenant and whether it may
// invalidate cached responses.
func (v *verifier) verify(token string) (tenant string, invalidate bool, err error) {
	claims := jwt.MapClaims{}
	if _, err := v.parser.ParseWithClaims(token, claims, v.key); err != nil {
		return "", false, err
	}
	tenant, _ = claims[v.cfg.TenantClaim].(string)
	if items.ValidateTenant(tenant) != nil {
		return "", false, fmt.Errorf("claim %q is not a tenant name", v.cfg.TenantClaim)
	}
	return tenant, hasScope(claims["scope"], v.cfg.InvalidateScope), nil
}

// hasScope reports whether a scope claim (a space-separated string, or a
// list of strings) holds want.
func hasScope(claim any, want string) bool {
	switch s := claim.(type) {
	case string:
		return slices.Contains(strings.Fields(s), want)
	case []any:
		for _, e := range s {
			if e == want {
				return true
			}
		}
	}
	return false
}

// LoadJWKS reads a JWKS file (RFC 7517) and returns its RSA signing keys.
func LoadJWKS(path string) (map[string]*rsa.PublicKey, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read JWKS: %w", err)
	}
	keys, err := ParseJWKS(data)
	if err != nil {
		return nil, fmt.Errorf("JWKS %s: %w", path, err)
	}
	return keys, nil
}

// ParseJWKS returns the RSA signing keys of a JSON Web Key Set, by kid.
// Keys of other types, and keys whose use is not "sig" or whose alg is not
// RS256, are skipped; a set with no usable key, a malformed RSA key, one
// under MinRSABits, and two keys with one kid are errors.
func ParseJWKS(data []byte) (map[string]*rsa.PublicKey, error) {
	var set struct {
		Keys []struct {
			Kty string `json:"kty"`
			Kid string `json:"kid"`
			Use string `json:"use"`
			Alg string `json:"alg"`
			N   string `json:"n"`
			E   string `json:"e"`
		} `json:"keys"`
	}
	if err := json.Unmarshal(data, &set); err != nil {
		return nil, fmt.Errorf("parse: %w", err)
	}
	out := map[string]*rsa.PublicKey{}
	for i, k := range set.Keys {
		if k.Kty != "RSA" || (k.Use != "" && k.Use != "sig") || (k.Alg != "" && k.Alg != "RS256") {
			continue
		}
		n, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(k.N, "="))
		if err != nil || len(n) == 0 {
			return nil, fmt.Errorf("key %d (%q): bad modulus n", i, k.Kid)
		}
		e, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(k.E, "="))
		if err != nil || len(e) == 0 || len(e) > 4 {
			return nil, fmt.Errorf("key %d (%q): bad exponent e", i, k.Kid)
		}
		var exp int
		for _, b := range e {
			exp = exp<<8 | int(b)
		}
		pub := &rsa.PublicKey{N: new(big.Int).SetBytes(n), E: exp}
		if pub.N.BitLen() < MinRSABits {
			return nil, fmt.Errorf("key %d (%q): %d bits, want at least %d", i, k.Kid, pub.N.BitLen(), MinRSABits)
		}
		if exp < 3 || exp%2 == 0 {
			return nil, fmt.Errorf("key %d (%q): bad exponent %d", i, k.Kid, exp)
		}
		if _, dup := out[k.Kid]; dup {
			return nil, fmt.Errorf("two keys have kid %q", k.Kid)
		}
		out[k.Kid] = pub
	}
	if len(out) == 0 {
		return nil, errors.New("no RSA signing key")
	}
	return out, nil
}
