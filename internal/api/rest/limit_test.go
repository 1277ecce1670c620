package rest_test

import (
	"net/http/httptest"
	"os"
	"strings"
	"testing"

	"github.com/surgehq/surge/internal/api/rest"
	"github.com/surgehq/surge/internal/items"
)

func TestWriteLimited(t *testing.T) {
	for _, tc := range []struct {
		source string
		err    error
		status int
	}{
		{rest.LimitAdmission, &items.Error{Code: items.EUNAVAILABLE, Message: "Overloaded.", RetryAfter: 2}, 503},
		{rest.LimitGatewayStage, &items.Error{Code: items.ETHROTTLED, Message: "Too Many Requests"}, 429},
		{rest.LimitShutdown, &items.Error{Code: items.EUNAVAILABLE, Message: "Shutting down."}, 503},
	} {
		w := httptest.NewRecorder()
		rest.WriteLimited(w, tc.source, tc.err)
		if w.Code != tc.status || rest.LimitSource(w.Header()) != tc.source || w.Header().Get("Retry-After") == "" {
			t.Errorf("%s: got %d %v, want %d with the source and Retry-After", tc.source, w.Code, w.Header(), tc.status)
		}
	}
}

func TestLimitSourcesAreDistinct(t *testing.T) {
	seen := map[string]bool{}
	for _, s := range rest.LimitSources() {
		if s == "" || seen[s] {
			t.Errorf("limit source %q is empty or repeated", s)
		}
		seen[s] = true
	}
	if len(seen) != 12 {
		t.Errorf("got %d limit sources, want the 12 of the documentation", len(seen))
	}
}

// docs/API.md documents every value of X-Limit-Source, and no other.
func TestLimitSourcesAreDocumented(t *testing.T) {
	b, err := os.ReadFile("../../../docs/API.md")
	if err != nil {
		t.Fatal(err)
	}
	doc := string(b)
	i := strings.Index(doc, "| value | status | the limit |")
	if i < 0 {
		t.Fatal("docs/API.md has no table of X-Limit-Source values")
	}
	documented := map[string]bool{}
	for _, line := range strings.Split(doc[i:], "\n")[2:] {
		if !strings.HasPrefix(line, "| `") {
			break
		}
		first := strings.Split(line, "|")[1]
		for _, v := range strings.Split(first, ",") {
			documented[strings.Trim(strings.TrimSpace(v), "`")] = true
		}
	}
	for _, s := range rest.LimitSources() {
		if !documented[s] {
			t.Errorf("X-Limit-Source %q is not in docs/API.md", s)
		}
		delete(documented, s)
	}
	for s := range documented {
		t.Errorf("docs/API.md documents X-Limit-Source %q, which rest does not define", s)
	}
}
