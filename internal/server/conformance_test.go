package server_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/surgehq/surge/internal/items"
	"github.com/surgehq/surge/internal/server"
)

// TestItemsAPIConformance runs internal/api/itemsapi's HTTP tests of the
// routes the article's application serves (the subset marked crud: the
// five routes and the dispatcher) against examples/python-crud and
// examples/node-crud, each run from its template through the gateway and
// a pool per function, over dynalite.
func TestItemsAPIConformance(t *testing.T) {
	goTool, err := exec.LookPath("go")
	if err != nil {
		t.Skip("SKIP: no go command to run internal/api/itemsapi's tests with")
	}
	for _, ex := range []struct{ name, runtime string }{
		{"python-crud", "python3.12"},
		{"node-crud", "nodejs22.x"},
	} {
		t.Run(ex.name, func(t *testing.T) {
			need(t, ex.runtime)
			p, _ := startTemplate(t, "examples/"+ex.name+"/template.yaml", func(c *server.Config) {
				// On-demand: the tests' writes come faster than the
				// template's 10 WCU.
				c.Template.Capacity = server.CapacityOnDemand
				c.Template.Parameters = []string{"ProvisionedConcurrency=1"}
			})
			// The tests name their tenants in a header, where the gateway's
			// auth would put an authenticated one.
			front := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if tenant := r.Header.Get("X-Test-Tenant"); tenant != "" {
					r = r.WithContext(items.WithTenant(r.Context(), tenant))
				}
				p.s.Handler().ServeHTTP(w, r)
			}))
			defer front.Close()
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
			defer cancel()
			cmd := exec.CommandContext(ctx, goTool, "test", "-count=1", "-v", ".")
			cmd.Dir = filepath.Join("..", "api", "itemsapi")
			cmd.Env = append(os.Environ(), "SURGE_ITEMSAPI_URL="+front.URL, "SURGE_ITEMSAPI_SUBSET=crud")
			out, err := cmd.CombinedOutput()
			passed := regexp.MustCompile(`(?m)^--- PASS: (\S+)`).FindAllSubmatch(out, -1)
			var names []string
			for _, m := range passed {
				names = append(names, string(m[1]))
			}
			t.Logf("%s: %d of internal/api/itemsapi's tests passed through the gateway and pools: %s", ex.name, len(passed), strings.Join(names, ", "))
			if err != nil {
				t.Fatalf("internal/api/itemsapi's tests against %s: %v\n%s", ex.name, err, out)
			}
		})
	}
}
