package postman_test

import (
	"bytes"
	"path/filepath"
	"slices"
	"testing"

	"github.com/surgehq/surge/internal/api/itemsapi"
	"github.com/surgehq/surge/internal/load/postman"
)

// TestScriptReads lists the variables a request's scripts read, which a
// load test chains as it chains those of its URL, headers and body.
func TestScriptReads(t *testing.T) {
	c := mustParse(t, scriptCollection(t, []string{
		`if (pm.environment.get("mode") === "strict") {`,
		`    pm.expect(pm.response.json().id).to.eql(pm.collectionVariables.get("id"));`,
		`}`,
		`pm.environment.set("copy", pm.globals.get("source"));`,
		`pm.environment.set("etag", pm.response.headers.get("ETag"));`,
		`pm.environment.set("stamp", pm.variables.replaceIn("{{$timestamp}}-{{run}}"));`,
	}, nil), postman.Options{})
	r := c.Requests[0]
	if got, want := r.ScriptReads(), []string{"id", "mode", "run", "source"}; !slices.Equal(got, want) {
		t.Errorf("ScriptReads() = %v, want %v", got, want)
	}
	if got, want := r.Sets(), []string{"copy", "etag", "stamp"}; !slices.Equal(got, want) {
		t.Errorf("Sets() = %v, want %v", got, want)
	}
	if r.URL() != "http://127.0.0.1/x" {
		t.Errorf("URL() = %q", r.URL())
	}
}

// TestCaptureApplyConstant: a test script's setting of a constant or a
// template is applied, and counts as a capture made.
func TestCaptureApplyConstant(t *testing.T) {
	c := mustParse(t, scriptCollection(t, []string{
		`pm.environment.set("step", "2");`,
		`pm.environment.set("next", pm.variables.replaceIn("item-{{step}}"));`,
	}, nil), postman.Options{})
	s := postman.NewScope(c, nil, nil)
	o := c.Requests[0].Judge(&postman.Response{Status: 200}, s)
	if o.Captures != 2 || o.Missed != 0 {
		t.Fatalf("outcome %+v, want 2 captures made", o)
	}
	if v, _ := s.GetIn(postman.Environment, "next"); v != "item-2" {
		t.Errorf("next = %q, want item-2", v)
	}
}

func TestScopeClear(t *testing.T) {
	s := postman.NewScope(nil, nil, nil)
	s.Set(postman.Local, "a", "1")
	s.Set(postman.Environment, "a", "2")
	s.Clear(postman.Local)
	if v, ok := s.Get("a"); !ok || v != "2" {
		t.Errorf("after clearing the local scope a = %q (%v), want the environment's 2", v, ok)
	}
}

// TestWriteSurgeFiles writes surge's collection and environment as
// examples/postman holds them.
func TestWriteSurgeFiles(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "new")
	paths, err := postman.WriteSurgeFiles(dir, itemsapi.OpenAPI)
	if err != nil {
		t.Fatal(err)
	}
	if len(paths) != 2 {
		t.Fatalf("wrote %v", paths)
	}
	for _, p := range paths {
		got := readFile(t, p)
		if want := readFile(t, examplesDir, filepath.Base(p)); !bytes.Equal(got, want) {
			t.Errorf("%s is not examples/postman's", p)
		}
	}
	if _, err := postman.WriteSurgeFiles(filepath.Join(paths[0], "sub"), itemsapi.OpenAPI); err == nil {
		t.Error("writing under a file did not fail")
	}
}
