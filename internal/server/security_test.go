package server_test

import (
	"bytes"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/surgehq/surge/internal/server"
)

// traceSink is an OTLP/HTTP endpoint that keeps what it is sent.
type traceSink struct {
	mu     sync.Mutex
	bodies [][]byte
}

func (s *traceSink) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	b, _ := io.ReadAll(r.Body)
	s.mu.Lock()
	s.bodies = append(s.bodies, b)
	s.mu.Unlock()
	w.Header().Set("Content-Type", "application/x-protobuf")
}

func (s *traceSink) all() []byte {
	s.mu.Lock()
	defer s.mu.Unlock()
	return bytes.Join(s.bodies, nil)
}

// TestCredentialsNeverLeak sends requests with good and bad API keys and
// bearer tokens, through the gateway and the local Lambda, with the
// access log on, every log at debug level and traces exported, and looks
// for the credentials in everything surge wrote: its log (the function
// instances' output included), the traces it exported, and the answers.
// The access log names who called, redacted.
func TestCredentialsNeverLeak(t *testing.T) {
	if testing.Short() {
		t.Skip("starts function processes")
	}
	const (
		key       = "alpha-key-0123456789abcdef"
		wrongKey  = "alpha-key-0123456789abcdeX"
		jwtSecret = "jwt-secret-0123456789abcdef0123456789"
	)
	dir := t.TempDir()
	keysFile, secretFile := filepath.Join(dir, "keys.yaml"), filepath.Join(dir, "jwt-secret")
	if err := os.WriteFile(keysFile, []byte("keys:\n  \""+key+"\": {tenant: alpha, name: alpha-app}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(secretFile, []byte(jwtSecret), 0o600); err != nil {
		t.Fatal(err)
	}
	sink := &traceSink{}
	otlp := httptest.NewServer(sink)
	t.Cleanup(otlp.Close)
	sign := func(secret string, exp time.Time) string {
		tok, err := jwt.NewWithClaims(jwt.SigningMethodHS256, jwt.MapClaims{"tenant": "alpha", "exp": exp.Unix()}).SignedString([]byte(secret))
		if err != nil {
			t.Fatal(err)
		}
		return tok
	}
	good := sign(jwtSecret, time.Now().Add(time.Hour))
	expired := sign(jwtSecret, time.Now().Add(-time.Hour))
	forged := sign("another-secret-0123456789abcdef0123456", time.Now().Add(time.Hour))
	malformed := "eyJhbGciOiJIUzI1NiJ9.not-a-token.at-all-0123456789"

	logs := &bytes.Buffer{}
	var logMu sync.Mutex
	p := start(t, func(c *server.Config) {
		withFunctions(t, c, filepath.Join(dir, "runtime-api"))
		c.Functions.LogLevel = slog.LevelDebug
		c.ReadCache.Enabled = true
		c.Auth.Keys, c.Auth.JWTSecretFile = keysFile, secretFile
		c.Trace.Endpoint = otlp.URL + "/v1/traces"
		c.Log = slog.New(slog.NewJSONHandler(lockedWriter{logs, &logMu}, &slog.HandlerOptions{Level: slog.LevelDebug}))
	})
	var answers bytes.Buffer
	send := func(method, path, body string, kv ...string) int {
		var payload any
		if body != "" {
			payload = json.RawMessage(body)
		}
		code, h, b, err := tryDo(method, p.base+path, payload, kv...)
		if err != nil {
			t.Fatal(err)
		}
		for k, vs := range h {
			answers.WriteString(k + ": " + strings.Join(vs, ",") + "\n")
		}
		answers.Write(b)
		return code
	}
	for _, c := range []struct {
		name string
		kv   []string
		want int
	}{
		{"Good", []string{"x-api-key", key, "Authorization", "Bearer " + good}, 201},
		{"WrongKey", []string{"x-api-key", wrongKey, "Authorization", "Bearer " + good}, 401},
		{"Expired", []string{"x-api-key", key, "Authorization", "Bearer " + expired}, 401},
		{"Forged", []string{"x-api-key", key, "Authorization", "Bearer " + forged}, 401},
		{"Malformed", []string{"x-api-key", key, "Authorization", "Bearer " + malformed}, 401},
		{"TokenWithoutScheme", []string{"x-api-key", key, "Authorization", good}, 401},
		{"KeyOnly", []string{"x-api-key", key}, 401},
	} {
		if got := send("POST", "/items", `{"name":"secret-holder"}`, c.kv...); got != c.want {
			t.Errorf("%s: got %d, want %d", c.name, got, c.want)
		}
	}
	// Through the function, with an error there too.
	send("GET", "/items/nope", "", "x-api-key", key, "Authorization", "Bearer "+good)
	send("PUT", "/items/nope", `{"a":1}`, "x-api-key", key, "Authorization", "Bearer "+good, "If-Match", `"x"`)
	if err := p.stop(t); err != nil {
		t.Fatal(err)
	}

	logMu.Lock()
	logText := logs.String()
	logMu.Unlock()
	traces := sink.all()
	if len(traces) == 0 {
		t.Fatal("no traces were exported: the test would prove nothing of them")
	}
	if !strings.Contains(logText, `"msg":"function output"`) || !strings.Contains(logText, `\"msg\":\"request\"`) {
		t.Fatal("no function instance's output in the log: the test would prove nothing of it")
	}
	secrets := map[string]string{"the API key": key, "the wrong API key": wrongKey, "the JWT secret": jwtSecret,
		"a token": good, "an expired token": expired, "a forged token": forged, "a malformed token": malformed,
		"a token's signature": good[strings.LastIndexByte(good, '.')+1:], "the Invoke API's token": p.s.InvokeToken()}
	for what, secret := range secrets {
		for where, text := range map[string][]byte{"the log": []byte(logText), "the traces": traces, "the answers": answers.Bytes()} {
			if bytes.Contains(text, []byte(secret)) {
				t.Errorf("%s is in %s", what, where)
			}
		}
	}
	// The run's tokens (the Invoke API's, the read cache's) are 64 hex
	// digits: none is in the log.
	if m := regexp.MustCompile(`[0-9a-f]{64}`).Find([]byte(logText)); m != nil {
		t.Errorf("a token-like secret %q is in the log", m)
	}
	// The access log says who called, redacted.
	if !strings.Contains(logText, `"credential":"api-key:alpha-app authorization:bearer:[redacted]"`) {
		t.Errorf("the access log does not name the caller, redacted:\n%s", grepLines(logText, `"msg":"request"`))
	}
	if !strings.Contains(logText, `"credential":"api-key:unknown authorization:bearer:[redacted]"`) ||
		!strings.Contains(logText, `"credential":"api-key:alpha-app authorization:other:[redacted]"`) {
		t.Errorf("the access log does not say an unknown key or a token without scheme, redacted:\n%s", grepLines(logText, `"msg":"request"`))
	}
}

// lockedWriter serializes writes to a buffer the test reads after.
type lockedWriter struct {
	b  *bytes.Buffer
	mu *sync.Mutex
}

func (w lockedWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.b.Write(p)
}

func grepLines(text, substr string) string {
	var out []string
	for _, l := range strings.Split(text, "\n") {
		if strings.Contains(l, substr) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}
