package auth_test

import (
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"math/big"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/surgehq/surge/internal/items"
	"github.com/surgehq/surge/internal/local/auth"
)

const keysYAML = `
plans:
  basic: {rate: 10, burst: 20, quota: 1000}
  free:
    rate: 1
    burst: 1
keys:
  "alpha-key-0123456789abcdef": {tenant: alpha, plan: basic, name: alpha-app, invalidate-cache: true}
  "beta-key-0123456789abcdefgh":
    tenant: beta
    plan: free
  "gamma-key-0123456789abcdef": {tenant: gamma}
`

const keysJSON = `{"plans":{"basic":{"rate":10,"burst":20,"quota":1000}},
 "keys":{"alpha-key-0123456789abcdef":{"tenant":"alpha","plan":"basic","name":"alpha-app","invalidate-cache":true}}}`

func TestParseKeys(t *testing.T) {
	for name, src := range map[string]string{"YAML": keysYAML, "JSON": keysJSON} {
		t.Run(name, func(t *testing.T) {
			k, err := auth.ParseKeys([]byte(src))
			if err != nil {
				t.Fatal(err)
			}
			a := k.Lookup("alpha-key-0123456789abcdef")
			if a == nil || a.Tenant != "alpha" || a.Name != "alpha-app" || !a.InvalidateCache {
				t.Fatalf("alpha: got %+v", a)
			}
			if p := a.Plan; p == nil || p.Name != "basic" || p.Rate != 10 || p.Burst != 20 || p.Quota != 1000 {
				t.Fatalf("alpha's plan: got %+v", p)
			}
			if k.Lookup("alpha-key-0123456789abcdeX") != nil || k.Lookup("") != nil {
				t.Error("a wrong key was found")
			}
			if strings.Contains(k.String(), "0123456789") {
				t.Errorf("String shows a key's value: %s", k)
			}
		})
	}
	k, _ := auth.ParseKeys([]byte(keysYAML))
	if g := k.Lookup("gamma-key-0123456789abcdef"); g == nil || g.Plan != nil || !strings.HasPrefix(g.Name, "key-") {
		t.Errorf("gamma: got %+v, want no plan and a name from its hash", g)
	}
	if k.Len() != 3 {
		t.Errorf("got %d keys, want 3", k.Len())
	}
}

func TestParseKeysErrors(t *testing.T) {
	for name, src := range map[string]string{
		"ShortKey":    `keys: {"short": {tenant: a}}`,
		"SpaceInKey":  `keys: {"a key with spaces in it ok": {tenant: a}}`,
		"NoTenant":    `keys: {"a-key-0123456789abcdefgh": {}}`,
		"LongTenant":  `keys: {"a-key-0123456789abcdefgh": {tenant: ` + strings.Repeat("t", 129) + `}}`,
		"NoPlan":      `keys: {"a-key-0123456789abcdefgh": {tenant: a, plan: gold}}`,
		"Unknown":     `keys: {"a-key-0123456789abcdefgh": {tenant: a, tenantt: b}}`,
		"TopUnknown":  `key: {}`,
		"Negative":    `plans: {p: {rate: -1, burst: 1}}`,
		"RateNoBurst": `plans: {p: {rate: 5}}`,
		"SameName":    `keys: {"a-key-0123456789abcdefgh": {tenant: a, name: n}, "b-key-0123456789abcdefgh": {tenant: b, name: n}}`,
		"NotYAML":     `keys: [`,
	} {
		if _, err := auth.ParseKeys([]byte(src)); err == nil {
			t.Errorf("%s: got no error", name)
		}
	}
	if k, err := auth.ParseKeys(nil); err != nil || k.Len() != 0 {
		t.Errorf("empty file: got %v, %v", k, err)
	}
}

func FuzzParseKeys(f *testing.F) {
	f.Add([]byte(keysYAML))
	f.Add([]byte(keysJSON))
	f.Add([]byte(`keys: {"x": 1}`))
	f.Add([]byte(`plans: {p: {rate: 1e308, burst: 99999999999}}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		k, err := auth.ParseKeys(data)
		if err != nil {
			return
		}
		for _, name := range k.Names() {
			if name == "" {
				t.Fatal("a key without a name")
			}
		}
	})
}

func header(kv ...string) http.Header {
	h := http.Header{}
	for i := 0; i+1 < len(kv); i += 2 {
		h.Set(kv[i], kv[i+1])
	}
	return h
}

func TestAuthenticateKeys(t *testing.T) {
	k, _ := auth.ParseKeys([]byte(keysYAML))
	a, err := auth.New(k, nil)
	if err != nil {
		t.Fatal(err)
	}
	p, err := a.Authenticate(header("x-api-key", "beta-key-0123456789abcdefgh"))
	if err != nil || p.Tenant != "beta" || p.Plan().Name != "free" || p.InvalidateCache {
		t.Fatalf("beta: got %+v, %v", p, err)
	}
	for h, reason := range map[string]string{"": auth.ReasonMissingKey, "beta-key-0123456789abcdefgX": auth.ReasonUnknownKey} {
		_, err := a.Authenticate(header("x-api-key", h))
		if items.ErrorCode(err) != items.EUNAUTHORIZED || auth.Reason(err) != reason {
			t.Errorf("key %q: got %v, want unauthorized %s", h, err, reason)
		}
	}
	// Without keys, everyone is the default tenant.
	none, _ := auth.New(nil, nil)
	if p, err := none.Authenticate(header("x-api-key", "anything-at-all-really")); err != nil || p.Tenant != items.DefaultTenant || none.Enabled() {
		t.Errorf("no auth: got %+v, %v", p, err)
	}
}

var (
	rsaOnce sync.Once
	rsaKey  *rsa.PrivateKey
)

func testRSAKey(t *testing.T) *rsa.PrivateKey {
	rsaOnce.Do(func() {
		var err error
		if rsaKey, err = rsa.GenerateKey(rand.Reader, 2048); err != nil {
			panic(err)
		}
	})
	return rsaKey
}

// jwks returns a JWKS document holding pub under kid.
func jwks(kid string, pub *rsa.PublicKey) []byte {
	b, _ := json.Marshal(map[string]any{"keys": []map[string]string{
		{"kty": "EC", "kid": "ec", "crv": "P-256"},
		{"kty": "RSA", "kid": kid, "use": "sig", "alg": "RS256",
			"n": base64.RawURLEncoding.EncodeToString(pub.N.Bytes()),
			"e": base64.RawURLEncoding.EncodeToString(big.NewInt(int64(pub.E)).Bytes())},
	}})
	return b
}

func sign(t *testing.T, method jwt.SigningMethod, key any, kid string, claims jwt.MapClaims) string {
	t.Helper()
	tok := jwt.NewWithClaims(method, claims)
	if kid != "" {
		tok.Header["kid"] = kid
	}
	s, err := tok.SignedString(key)
	if err != nil {
		t.Fatal(err)
	}
	return "Bearer " + s
}

func TestAuthenticateJWT(t *testing.T) {
	now := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	secret := []byte("a-shared-secret-of-enough-length!")
	priv := testRSAKey(t)
	keys, err := auth.ParseJWKS(jwks("k1", &priv.PublicKey))
	if err != nil {
		t.Fatal(err)
	}
	a, err := auth.New(nil, &auth.JWTConfig{HS256Secret: secret, RS256Keys: keys, TenantClaim: "org",
		Issuer: "https://issuer.test", Now: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	good := jwt.MapClaims{"org": "acme", "iss": "https://issuer.test", "exp": now.Add(time.Hour).Unix(), "scope": "read cache:invalidate"}
	for name, hv := range map[string]string{
		"HS256":      sign(t, jwt.SigningMethodHS256, secret, "", good),
		"RS256":      sign(t, jwt.SigningMethodRS256, priv, "k1", good),
		"RS256NoKid": sign(t, jwt.SigningMethodRS256, priv, "", good),
	} {
		p, err := a.Authenticate(header("Authorization", hv))
		if err != nil || p.Tenant != "acme" || !p.InvalidateCache {
			t.Errorf("%s: got %+v, %v", name, p, err)
		}
	}
	other, _ := rsa.GenerateKey(rand.Reader, 2048)
	with := func(k string, v any) jwt.MapClaims {
		c := jwt.MapClaims{}
		for k2, v2 := range good {
			c[k2] = v2
		}
		c[k] = v
		return c
	}
	for name, hv := range map[string]string{
		"Missing":      "",
		"NotBearer":    "Basic YTpi",
		"WrongSecret":  sign(t, jwt.SigningMethodHS256, []byte("another-secret-of-enough-length!!"), "", good),
		"WrongRSAKey":  sign(t, jwt.SigningMethodRS256, other, "k1", good),
		"UnknownKid":   sign(t, jwt.SigningMethodRS256, priv, "k2", good),
		"Expired":      sign(t, jwt.SigningMethodHS256, secret, "", with("exp", now.Add(-time.Hour).Unix())),
		"NotYet":       sign(t, jwt.SigningMethodHS256, secret, "", with("nbf", now.Add(time.Hour).Unix())),
		"WrongIssuer":  sign(t, jwt.SigningMethodHS256, secret, "", with("iss", "https://evil.test")),
		"NoTenant":     sign(t, jwt.SigningMethodHS256, secret, "", with("org", "")),
		"TenantNumber": sign(t, jwt.SigningMethodHS256, secret, "", with("org", 7)),
		"AlgNone":      "Bearer " + noneToken(t, good),
		"HS384":        sign(t, jwt.SigningMethodHS384, secret, "", good),
		"Garbage":      "Bearer not.a.token",
	} {
		_, err := a.Authenticate(header("Authorization", hv))
		if items.ErrorCode(err) != items.EUNAUTHORIZED {
			t.Errorf("%s: got %v, want unauthorized", name, err)
		}
	}
	// Without the scope, no invalidation.
	p, err := a.Authenticate(header("Authorization", sign(t, jwt.SigningMethodHS256, secret, "", with("scope", []any{"read"}))))
	if err != nil || p.InvalidateCache {
		t.Errorf("no scope: got %+v, %v", p, err)
	}
}

func noneToken(t *testing.T, c jwt.MapClaims) string {
	s, err := jwt.NewWithClaims(jwt.SigningMethodNone, c).SignedString(jwt.UnsafeAllowNoneSignatureType)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestKeysAndJWT(t *testing.T) {
	// Both: the token names the tenant, the key meters.
	k, _ := auth.ParseKeys([]byte(keysYAML))
	secret := []byte("a-shared-secret-of-enough-length!")
	a, _ := auth.New(k, &auth.JWTConfig{HS256Secret: secret})
	tok := sign(t, jwt.SigningMethodHS256, secret, "", jwt.MapClaims{"tenant": "delta"})
	p, err := a.Authenticate(header("x-api-key", "beta-key-0123456789abcdefgh", "Authorization", tok))
	if err != nil || p.Tenant != "delta" || p.Plan().Name != "free" {
		t.Fatalf("got %+v, %v", p, err)
	}
	if _, err := a.Authenticate(header("Authorization", tok)); auth.Reason(err) != auth.ReasonMissingKey {
		t.Errorf("token without key: got %v", err)
	}
	if _, err := a.Authenticate(header("x-api-key", "beta-key-0123456789abcdefgh")); auth.Reason(err) != auth.ReasonMissingToken {
		t.Errorf("key without token: got %v", err)
	}
}

func TestParseJWKSErrors(t *testing.T) {
	small, _ := rsa.GenerateKey(rand.Reader, 1024)
	priv := testRSAKey(t)
	for name, src := range map[string]string{
		"NotJSON": `{`,
		"NoKeys":  `{"keys":[]}`,
		"OnlyEC":  `{"keys":[{"kty":"EC","kid":"a"}]}`,
		"BadN":    `{"keys":[{"kty":"RSA","kid":"a","n":"!!","e":"AQAB"}]}`,
		"BadE":    `{"keys":[{"kty":"RSA","kid":"a","n":"AQAB","e":""}]}`,
		"Small":   string(jwks("a", &small.PublicKey)),
		"EvenE":   strings.Replace(string(jwks("a", &priv.PublicKey)), `"e":"AQAB"`, `"e":"AQAC"`, 1),
		"Duplicate": `{"keys":[` + strings.TrimSuffix(strings.TrimPrefix(string(jwks("a", &priv.PublicKey)), `{"keys":[`), `]}`) + `,` +
			strings.TrimSuffix(strings.TrimPrefix(string(jwks("a", &priv.PublicKey)), `{"keys":[`), `]}`) + `]}`,
	} {
		if _, err := auth.ParseJWKS([]byte(src)); err == nil {
			t.Errorf("%s: got no error", name)
		}
	}
	enc := `{"keys":[{"kty":"RSA","kid":"x","use":"enc","n":"AQAB","e":"AQAB"}]}`
	if _, err := auth.ParseJWKS([]byte(enc)); err == nil {
		t.Error("only an encryption key: got no error")
	}
}

func FuzzParseJWKS(f *testing.F) {
	f.Add([]byte(`{"keys":[{"kty":"RSA","kid":"a","n":"AQAB","e":"AQAB"}]}`))
	f.Add([]byte(`{"keys":[{"kty":"EC"}]}`))
	f.Add([]byte(`{}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		keys, err := auth.ParseJWKS(data)
		if err != nil {
			return
		}
		for kid, k := range keys {
			if k.N.BitLen() < auth.MinRSABits || k.E < 3 {
				t.Fatalf("key %q accepted: %d bits, e %d", kid, k.N.BitLen(), k.E)
			}
		}
	})
}
