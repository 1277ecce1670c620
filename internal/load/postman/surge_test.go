package postman_test

import (
	"bytes"
	"encoding/json"
	"flag"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/surgehq/surge/internal/api/itemsapi"
	"github.com/surgehq/surge/internal/load/openapi"
	"github.com/surgehq/surge/internal/load/postman"
	"github.com/surgehq/surge/internal/store/memstore"
)

var update = flag.Bool("update", false, "rewrite examples/postman from surge's OpenAPI document")

// examplesDir holds surge's committed collection and environment.
var examplesDir = filepath.Join("..", "..", "..", "examples", "postman")

const (
	collectionFile  = "surge.postman_collection.json"
	environmentFile = "surge.postman_environment.json"
)

// TestSurgeCollectionGolden keeps examples/postman the collection that
// surge's OpenAPI document generates, so the two cannot drift apart.
// After a change of the document: go test ./internal/load/postman -run
// Golden -update.
func TestSurgeCollectionGolden(t *testing.T) {
	col, env, err := postman.SurgeCollection(itemsapi.OpenAPI)
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range []struct {
		name string
		data []byte
	}{{collectionFile, col}, {environmentFile, env}} {
		path := filepath.Join(examplesDir, f.name)
		if *update {
			if err := os.WriteFile(path, f.data, 0o644); err != nil {
				t.Fatal(err)
			}
			continue
		}
		got := readFile(t, path)
		if !bytes.Equal(got, f.data) {
			t.Errorf("%s is not what surge's OpenAPI document generates; run go test ./internal/load/postman -run Golden -update", path)
		}
	}
}

// TestSurgeCollectionCoversEveryRoute checks that every operation of the
// OpenAPI document (docs/API.md's routes) has a request, with a status
// check, and that the id and the ETag are captured.
func TestSurgeCollectionCoversEveryRoute(t *testing.T) {
	doc, err := openapi.Read(itemsapi.OpenAPI)
	if err != nil {
		t.Fatal(err)
	}
	c := mustParse(t, readFile(t, examplesDir, collectionFile), postman.Options{})
	if len(c.Issues) > 0 {
		t.Errorf("surge's own collection has statements not understood: %v", c.Issues)
	}
	type route struct{ method, path string }
	covered := map[route]bool{}
	s := postman.NewScope(c, nil, nil)
	s.Set(postman.Local, "id", "ID")
	for _, r := range c.Requests {
		rd := postman.NewRenderer(s, nil, nil).Render(r)
		path := strings.TrimPrefix(string(rd.URL), postman.SurgeBaseURL)
		path, _, _ = strings.Cut(path, "?")
		covered[route{r.Method, path}] = true
		statusChecked := false
		for _, ck := range r.Checks() {
			if strings.HasPrefix(ck.String(), "status == ") {
				statusChecked = true
			}
		}
		if !statusChecked {
			t.Errorf("%s checks no status", r.Where)
		}
	}
	for _, o := range doc.Operations {
		p := strings.ReplaceAll(o.Path, "{id}", "ID")
		if !covered[route{o.Method, p}] {
			t.Errorf("no request for %s %s (%s); covered: %v", o.Method, o.Path, o.ID, covered)
		}
	}
	var sets []string
	for _, r := range c.Requests {
		sets = append(sets, r.Sets()...)
	}
	for _, v := range []string{"id", "etag", "opsId"} {
		if !slices.Contains(sets, v) {
			t.Errorf("no request sets %q (sets: %v)", v, sets)
		}
	}
}

// TestSurgeCollectionRunsInProcess runs surge's collection through the
// model against surge's API handler over loopback HTTP: every check
// passes and every capture finds its value, twice over (the second pass
// uses the variables the first captured, as a virtual user's second
// iteration does).
func TestSurgeCollectionRunsInProcess(t *testing.T) {
	srv := httptest.NewServer(itemsapi.New(memstore.New()))
	defer srv.Close()
	c := mustParse(t, readFile(t, examplesDir, collectionFile), postman.Options{})
	env, err := postman.ParseVariables(readFile(t, examplesDir, environmentFile))
	if err != nil {
		t.Fatal(err)
	}
	s := postman.NewScope(c, env, nil)
	s.Set(postman.Environment, "baseUrl", srv.URL)
	for pass := range 2 {
		steps := runSequence(t, srv.Client(), c, s)
		checks, captures := requireAllPass(t, steps)
		// The id and ETag of the create, and the ETags of the read, the
		// replace and the patch.
		if len(steps) != len(c.Requests) || captures != 5 {
			t.Fatalf("pass %d: %d requests, %d captures", pass, len(steps), captures)
		}
		t.Logf("pass %d: %d requests, %d checks, %d captures, all passed", pass, len(steps), checks, captures)
	}
	// The run left what it did: the batch's item remains, the others are
	// deleted.
	resp, err := http.Get(srv.URL + "/items")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var page struct {
		Items []map[string]any `json:"items"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&page); err != nil {
		t.Fatal(err)
	}
	if len(page.Items) != 2 {
		t.Errorf("the service holds %d items after two passes, want the 2 the batches created: %v", len(page.Items), page.Items)
	}
	for _, it := range page.Items {
		if it["name"] != "shade" {
			t.Errorf("item %v is not a batch's", it)
		}
	}
}
