package postman_test

import (
	"math/rand/v2"
	"testing"
	"time"

	"github.com/surgehq/surge/internal/load/postman"
)

// benchRequest returns a request of surge's collection by name, with a
// scope that has its variables.
func benchRequest(b *testing.B, name string) (*postman.Request, *postman.Scope) {
	b.Helper()
	c := mustParse(b, readFile(b, examplesDir, collectionFile), postman.Options{})
	s := postman.NewScope(c, nil, nil)
	s.Set(postman.CollectionVars, "id", "0190b1f2-7c1e-7d2a-9a4e-2c8f1b3d4e5f")
	s.Set(postman.CollectionVars, "etag", `"5f2c9a1e"`)
	for _, r := range c.Requests {
		if r.Name == name {
			return r, s
		}
	}
	b.Fatalf("no request %q", name)
	return nil, nil
}

// BenchmarkRender renders a request with variables in its URL, headers
// and body (surge's "Replace an item"): the per-request cost a load
// generator pays. It allocates nothing.
func BenchmarkRender(b *testing.B) {
	req, s := benchRequest(b, "Replace an item")
	r := postman.NewRenderer(s, rand.New(rand.NewPCG(1, 1)), time.Now)
	b.ReportAllocs()
	for b.Loop() {
		rd := r.Render(req)
		if len(rd.URL) == 0 || rd.Unresolved != 0 {
			b.Fatalf("rendered %s with %d unresolved", rd.URL, rd.Unresolved)
		}
	}
}

// BenchmarkRenderPreRequest renders a request whose pre-request script
// sets a variable from {{$guid}} (the dispatcher's create): the setting
// allocates the new value.
func BenchmarkRenderPreRequest(b *testing.B) {
	req, s := benchRequest(b, "Dispatch: create")
	r := postman.NewRenderer(s, rand.New(rand.NewPCG(1, 1)), time.Now)
	b.ReportAllocs()
	for b.Loop() {
		r.Render(req)
	}
}

// createdItem is a response of surge's create.
var createdItem = &postman.Response{
	Status: 201,
	Body: []byte(`{"id":"0190b1f2-7c1e-7d2a-9a4e-2c8f1b3d4e5f","version":1,"createdAt":"2026-01-02T03:04:05.678Z",` +
		`"updatedAt":"2026-01-02T03:04:05.678Z","name":"lamp","price":12.5,"stock":12345678901234567890}`),
	Header:  bytesHeader{"Location": []byte("/items/0190b1f2-7c1e-7d2a-9a4e-2c8f1b3d4e5f"), "ETag": []byte(`"5f2c9a1e"`)},
	Elapsed: 2 * time.Millisecond,
}

// bytesHeader holds header values as bytes, as fasthttp's response header
// does, so that peeking allocates nothing.
type bytesHeader map[string][]byte

func (h bytesHeader) Peek(name string) []byte { return h[name] }

// BenchmarkJudgeCreate judges surge's create response: a status check,
// three body and header checks, and two captures (the id and the ETag),
// which allocate the two values they keep, and nothing else.
func BenchmarkJudgeCreate(b *testing.B) {
	req, s := benchRequest(b, "Create an item")
	b.ReportAllocs()
	for b.Loop() {
		o := req.Judge(createdItem, s)
		if len(o.Failures) != 0 || o.Missed != 0 || o.Captures != 2 {
			b.Fatalf("outcome %+v", o)
		}
	}
}

// BenchmarkJudgeStatus judges a status check alone (surge's "Delete an
// item"): nothing allocates.
func BenchmarkJudgeStatus(b *testing.B) {
	req, s := benchRequest(b, "Delete an item")
	res := &postman.Response{Status: 204, Header: bytesHeader{}}
	b.ReportAllocs()
	for b.Loop() {
		if o := req.Judge(res, s); len(o.Failures) != 0 {
			b.Fatalf("outcome %+v", o)
		}
	}
}
