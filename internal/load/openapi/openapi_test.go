package openapi_test

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/surgehq/surge/internal/api/itemsapi"
	"github.com/surgehq/surge/internal/load/openapi"
	"github.com/surgehq/surge/internal/store/memstore"
)

func read(t testing.TB, data []byte) *openapi.Document {
	t.Helper()
	d, err := openapi.Read(data)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func crud(t testing.TB, data []byte) *openapi.CRUD {
	t.Helper()
	c, err := read(t, data).CRUD()
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func file(t testing.TB, path ...string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(path...))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func hasLine(lines []string, sub string) bool {
	return slices.ContainsFunc(lines, func(l string) bool { return strings.Contains(l, sub) })
}

// TestSurgeDocument maps surge's own /openapi.json: the shape the load
// tester's defaults hand-write for surge (load.DefaultAPI) comes out of
// the document.
func TestSurgeDocument(t *testing.T) {
	c := crud(t, itemsapi.OpenAPI)
	got := []string{c.BasePath, c.Items, c.Item, c.IDParam, c.IDFrom, c.IDPath, c.Body, c.UpdateBody, c.PatchBody, c.PatchType, c.ListQuery}
	want := []string{"", "/items", "/items/{id}", "id", "json", "id",
		`{"name":"{{name}}","n":{{n}},"data":{{data}}}`, `{"name":"{{name}}","n":{{n}},"data":{{data}}}`,
		`{"name":"{{name}}","n":{{n}},"data":{{data}}}`, "application/merge-patch+json", "limit=50"}
	if !slices.Equal(got, want) {
		t.Errorf("mapped\n  %q\nwant\n  %q", got, want)
	}
	for op, o := range map[string]*openapi.Operation{"create": c.Create, "list": c.List, "read": c.Read,
		"update": c.Update, "patch": c.Patch, "delete": c.Delete} {
		if o == nil {
			t.Errorf("%s not found", op)
		}
	}
	for _, id := range []string{"batchItems", "dispatch", "dispatchDynamoDBManager", "healthz", "readyz", "openapi"} {
		if !hasLine(c.Unmapped, "("+id+"): not a CRUD operation") {
			t.Errorf("%s is not reported as unmapped: %v", id, c.Unmapped)
		}
	}
	if !hasLine(c.Chosen, "may take credentials: apiKey header x-api-key, http bearer") {
		t.Errorf("credentials not reported: %v", c.Chosen)
	}
	// The body leaves out the optional id, which the server assigns.
	if !hasLine(c.Unmapped, `create body: leaves out "id"`) || len(c.Unmapped) != 7 {
		t.Errorf("%d unmapped, want the 6 other operations and the id left out: %v", len(c.Unmapped), c.Unmapped)
	}
}

// fill renders a body template as the load tester does: a name, a
// number, and a JSON string for the padding.
func fill(tmpl string, i int) []byte {
	return []byte(strings.NewReplacer("{{name}}", "item-"+string(rune('a'+i)), "{{n}}", "7",
		"{{data}}", `"`+strings.Repeat("x", 100)+`"`).Replace(tmpl))
}

// TestSurgeCRUDDrivesSurge sends the operations mapped from surge's
// document to surge's API handler over loopback HTTP: create, read by the
// id found where the mapping says, list, update, patch and delete each
// answer their documented status.
func TestSurgeCRUDDrivesSurge(t *testing.T) {
	c := crud(t, itemsapi.OpenAPI)
	srv := httptest.NewServer(itemsapi.New(memstore.New()))
	defer srv.Close()
	do := func(o *openapi.Operation, path, ctype string, body []byte) []byte {
		t.Helper()
		req, err := http.NewRequest(o.Method, srv.URL+c.BasePath+path, bytes.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		if body != nil {
			req.Header.Set("Content-Type", ctype)
		}
		resp, err := srv.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != o.Success {
			t.Fatalf("%s %s: %d, want the documented %d: %s", o.Method, path, resp.StatusCode, o.Success, b)
		}
		return b
	}
	created := do(c.Create, c.Items, c.Create.Body.ContentType, fill(c.Body, 0))
	var item map[string]any
	if err := json.Unmarshal(created, &item); err != nil {
		t.Fatal(err)
	}
	id, _ := item[c.IDPath].(string)
	if id == "" || item["name"] != "item-a" || item["n"] != 7.0 {
		t.Fatalf("created %s: no id at %q or not the body sent", created, c.IDPath)
	}
	itemPath := strings.Replace(c.Item, "{"+c.IDParam+"}", id, 1)
	do(c.Read, itemPath, "", nil)
	do(c.List, c.Items+"?"+c.ListQuery, "", nil)
	do(c.Update, itemPath, c.Update.Body.ContentType, fill(c.UpdateBody, 1))
	patched := do(c.Patch, itemPath, c.PatchType, fill(c.PatchBody, 2))
	if !bytes.Contains(patched, []byte(`"item-c"`)) {
		t.Errorf("the patch did not apply: %s", patched)
	}
	do(c.Delete, itemPath, "", nil)
}

// TestConduitDocument maps the RealWorld Conduit document (OpenAPI 3.1,
// YAML, request bodies by $ref, responses wrapped in {"article": ...}).
func TestConduitDocument(t *testing.T) {
	c := crud(t, file(t, "testdata", "conduit", "openapi.yml"))
	got := []string{c.BasePath, c.Items, c.Item, c.IDParam, c.IDFrom, c.IDPath, c.ListQuery, c.PatchBody}
	want := []string{"/api", "/articles", "/articles/{slug}", "slug", "json", "article.slug", "limit=20", ""}
	if !slices.Equal(got, want) {
		t.Errorf("mapped %q, want %q", got, want)
	}
	if c.Body != `{"article":{"title":"{{name}}","description":"example","body":{{data}},"tagList":["example"]}}` {
		t.Errorf("create body %s", c.Body)
	}
	if c.Patch != nil || !hasLine(c.Unmapped, "patch: the document has no such operation") {
		t.Errorf("patch %v; unmapped %v", c.Patch, c.Unmapped)
	}
	for _, other := range []string{"POST /api/articles/{slug}/comments (CreateArticleComment)", "GET /api/tags (GetTags)"} {
		if !hasLine(c.Unmapped, other) {
			t.Errorf("%s not reported: %v", other, c.Unmapped)
		}
	}
	if !hasLine(c.Chosen, "needs credentials: apiKey header Authorization") {
		t.Errorf("the token is not reported: %v", c.Chosen)
	}
}

// TestPetstoreDocument maps the Swagger Petstore (OpenAPI 3.0, YAML):
// /user has the most CRUD operations, its id is the client's username,
// which the generated body leaves out and reports.
func TestPetstoreDocument(t *testing.T) {
	d := read(t, file(t, "testdata", "petstore", "openapi.yaml"))
	if d.Version != "3.0.4" || d.BasePath != "/api/v3" || len(d.Operations) != 19 {
		t.Errorf("version %s, base path %s, %d operations", d.Version, d.BasePath, len(d.Operations))
	}
	c, err := d.CRUD()
	if err != nil {
		t.Fatal(err)
	}
	if c.Items != "/user" || c.IDParam != "username" || c.IDPath != "username" || c.List != nil {
		t.Errorf("resource %s, id %s at %s", c.Items, c.IDParam, c.IDPath)
	}
	var body map[string]any
	if err := json.Unmarshal(c.Create.Body.Example, &body); err != nil {
		t.Fatal(err)
	}
	if body["email"] != "john@email.com" || body["userStatus"] != 1.0 || body["username"] != nil {
		t.Errorf("create body %s: want the schema's examples, without the username", c.Create.Body.Example)
	}
	for _, want := range []string{`leaves out "username"`, "resource /pet (item /pet/{petId})", "list: the document has no such operation"} {
		if !hasLine(c.Unmapped, want) {
			t.Errorf("%q not reported: %v", want, c.Unmapped)
		}
	}
	// The pet's body is generated from its schema's examples and enums.
	pet := d.Find("POST", "/pet")
	if pet == nil || pet.Body == nil || pet.Success != 200 {
		t.Fatalf("POST /pet: %+v", pet)
	}
	var p map[string]any
	if err := json.Unmarshal(pet.Body.Example, &p); err != nil {
		t.Fatal(err)
	}
	if p["name"] != "doggie" || p["status"] != "available" {
		t.Errorf("pet body %s", pet.Body.Example)
	}
}

func TestReadErrors(t *testing.T) {
	for _, tc := range []struct{ doc, err string }{
		{`{"swagger": "2.0", "info": {"title": "x", "version": "1"}, "paths": {}}`, "is not 3.0 or 3.1"},
		{`not a document`, "read openapi"},
		{``, "read openapi"},
	} {
		if _, err := openapi.Read([]byte(tc.doc)); err == nil || !strings.Contains(err.Error(), tc.err) {
			t.Errorf("%q: error %v, want %q", tc.doc, err, tc.err)
		}
	}
	d := read(t, []byte(`{"openapi": "3.1.0", "info": {"title": "t", "version": "1"},
		"paths": {"/health": {"get": {"responses": {"200": {"description": "ok"}}}}}}`))
	if _, err := d.CRUD(); err == nil || !strings.Contains(err.Error(), "no collection resource") {
		t.Errorf("CRUD of a document without a resource: %v", err)
	}
}
