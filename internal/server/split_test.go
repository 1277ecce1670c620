package server_test

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"testing"

	"github.com/surgehq/surge/internal/server"
)

// TestSplitOwnFunction runs surge's own API as two functions of its own,
// a pool each (Functions.List with neither runtime nor command), as the
// lab's optimized profile splits it by route: creates go to one, reads to
// the other, and both reach the one store through the shared read cache,
// so that an item the writer created is the reader's at once.
func TestSplitOwnFunction(t *testing.T) {
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	p := start(t, func(c *server.Config) {
		c.Functions.Enabled, c.Functions.Command, c.Functions.Limits = true, exe, "off"
		c.Functions.Env = []string{envFunction + "=1"}
		c.ReadCache.Enabled = true
		c.Functions.List = []server.Function{{Name: "writer", Provisioned: 1}, {Name: "reader"}}
		c.Functions.Routes = []server.Route{{Method: "POST", Path: "/items", Function: "writer"},
			{Method: "GET", Path: "/items/{id}", Function: "reader"}}
	})
	res, err := http.Post(p.base+"/items", "application/json", bytes.NewReader([]byte(`{"name":"split"}`)))
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	var it struct{ ID string }
	if res.StatusCode != http.StatusCreated || json.Unmarshal(body, &it) != nil || it.ID == "" {
		t.Fatalf("POST /items: %d %s", res.StatusCode, body)
	}
	res, err = http.Get(p.base + "/items/" + it.ID)
	if err != nil {
		t.Fatal(err)
	}
	body, _ = io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != http.StatusOK || !bytes.Contains(body, []byte(`"split"`)) {
		t.Fatalf("GET /items/%s through the other function: %d %s", it.ID, res.StatusCode, body)
	}
	// Each function's pool served its route, and the routes no function
	// has are not found.
	for _, pool := range p.s.Pools() {
		if st := pool.Stats(); st.Starts == 0 {
			t.Errorf("function %s: no instance started: %+v", pool.Name(), st)
		}
	}
	if res, err := http.Get(p.base + "/items"); err != nil || res.StatusCode != http.StatusNotFound && res.StatusCode != http.StatusMethodNotAllowed {
		t.Errorf("GET /items, a route of no function: %v %v", res.Status, err)
	} else {
		res.Body.Close()
	}
}
