package postman_test

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/surgehq/surge/internal/load/openapi"
	"github.com/surgehq/surge/internal/load/postman"
	"github.com/surgehq/surge/internal/load/postman/postmantest"
)

var conduitDoc = filepath.Join("..", "openapi", "testdata", "conduit", "openapi.yml")

// TestConduitOpenAPIDrivesTheStandIn maps the Conduit OpenAPI document to
// CRUD operations and sends them, with a user's token, to the Conduit
// stand-in over loopback HTTP: each answers its documented status, and
// the id (the slug, inside the "article" wrapper) chains create to read,
// update and delete.
func TestConduitOpenAPIDrivesTheStandIn(t *testing.T) {
	d, err := openapi.Read(readFile(t, conduitDoc))
	if err != nil {
		t.Fatal(err)
	}
	c, err := d.CRUD()
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(postmantest.NewConduit())
	defer srv.Close()
	call := func(method, path string, body []byte, want int) map[string]any {
		t.Helper()
		req, err := http.NewRequest(method, srv.URL+c.BasePath+path, bytes.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Authorization", "Token tok-bench")
		resp, err := srv.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != want {
			t.Fatalf("%s %s: %d, want %d: %s", method, path, resp.StatusCode, want, b)
		}
		var out map[string]any
		_ = json.Unmarshal(b, &out)
		return out
	}
	call("POST", "/users", []byte(`{"user":{"email":"b@x","password":"p","username":"bench"}}`), 201)
	call("POST", "/users/login", []byte(`{"user":{"email":"b@x","password":"p"}}`), 200)

	fill := func(tmpl string) []byte {
		return []byte(strings.NewReplacer("{{name}}", "Load test", "{{n}}", "1", "{{data}}", `"padding"`).Replace(tmpl))
	}
	created := call(c.Create.Method, c.Items, fill(c.Body), c.Create.Success)
	var id any = created
	for _, k := range strings.Split(c.IDPath, ".") {
		m, _ := id.(map[string]any)
		id = m[k]
	}
	slug, _ := id.(string)
	if !strings.HasPrefix(slug, "load-test-") {
		t.Fatalf("no id at %s in %v", c.IDPath, created)
	}
	item := strings.Replace(c.Item, "{"+c.IDParam+"}", slug, 1)
	if got := call(c.Read.Method, item, nil, c.Read.Success); got["article"].(map[string]any)["body"] != "padding" {
		t.Errorf("read %v", got)
	}
	call(c.List.Method, c.Items+"?"+c.ListQuery, nil, c.List.Success)
	call(c.Update.Method, item, fill(c.UpdateBody), c.Update.Success)
	call(c.Delete.Method, item, nil, c.Delete.Success)
	call("GET", item, nil, http.StatusNotFound)
}

// TestExportOtherDocuments writes collections of other APIs' documents:
// every operation has a request, the collection reads back with nothing
// not understood, and the create captures the id where the mapping found
// it.
func TestExportOtherDocuments(t *testing.T) {
	for _, tc := range []struct {
		path, capture string
	}{
		{conduitDoc, `pm.collectionVariables.set("slug", pm.response.json().article.slug);`},
		{filepath.Join("..", "openapi", "testdata", "petstore", "openapi.yaml"),
			`pm.collectionVariables.set("username", pm.response.json().username);`},
	} {
		d, err := openapi.Read(readFile(t, tc.path))
		if err != nil {
			t.Fatal(err)
		}
		data, err := postman.Export(d, postman.ExportOptions{BaseURL: "http://127.0.0.1:3000"})
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Contains(data, []byte(strings.ReplaceAll(strings.ReplaceAll(tc.capture, `\`, `\\`), `"`, `\"`))) {
			t.Errorf("%s: no capture %s", tc.path, tc.capture)
		}
		c := mustParse(t, data, postman.Options{})
		if len(c.Issues) != 0 {
			t.Errorf("%s: issues %v", tc.path, c.Issues)
		}
		if len(c.Requests) != len(d.Operations) || c.Name != d.Title {
			t.Errorf("%s: %d requests for %d operations, name %q", tc.path, len(c.Requests), len(d.Operations), c.Name)
		}
		for _, r := range c.Requests {
			if len(r.Checks()) == 0 {
				t.Errorf("%s: %s checks nothing", tc.path, r.Where)
			}
		}
		crud, _ := d.CRUD()
		// The create runs before anything that reads its id.
		var order []string
		for _, r := range c.Requests {
			order = append(order, r.Method+" "+strings.Join(append(r.Folder, r.Name), "/"))
		}
		first := slices.IndexFunc(c.Requests, func(r *postman.Request) bool { return slices.Contains(r.Uses(), crud.IDParam) })
		create := slices.IndexFunc(c.Requests, func(r *postman.Request) bool { return slices.Contains(r.Sets(), crud.IDParam) })
		if create < 0 || first >= 0 && first < create {
			t.Errorf("%s: the id is used at %d and set at %d: %v", tc.path, first, create, order)
		}
	}
}
