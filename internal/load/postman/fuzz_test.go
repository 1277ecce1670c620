package postman_test

import (
	"context"
	"math/rand/v2"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/surgehq/surge/internal/load/postman"
)

// fuzzResponse is what fuzzed collections and scripts are judged against.
var fuzzResponse = &postman.Response{
	Status:  201,
	Body:    []byte(`{"id":"a1","data":{"items":[{"id":7,"name":"x"}]},"ok":true,"n":null,"s":"a\"b"}`),
	Header:  postman.HTTPHeader(http.Header{"Location": {"/items/a1"}, "Etag": {`"v"`}}),
	Elapsed: 5 * time.Millisecond,
}

// exercise renders and judges every request of a parsed collection: none
// of it may panic, whatever the input.
func exercise(c *postman.Collection) {
	s := postman.NewScope(c, nil, nil)
	r := postman.NewRenderer(s, rand.New(rand.NewPCG(1, 2)), func() time.Time { return time.Unix(0, 0) })
	for _, req := range c.Requests {
		rd := r.Render(req)
		_, _ = rd.HTTPRequest(context.Background())
		req.Judge(fuzzResponse, s)
		for _, a := range req.Actions {
			if a.Check != nil {
				_ = a.Check.String()
			} else {
				_ = a.Capture.String()
			}
		}
	}
	for _, i := range c.Issues {
		_ = i.String()
	}
}

// FuzzParse feeds the collection decoder: it must return a collection or
// an error, and what it returns must render and judge.
func FuzzParse(f *testing.F) {
	for _, p := range []string{
		filepath.Join("testdata", "conduit", "Conduit.postman_collection.json"),
		filepath.Join("testdata", "postman-echo", "echo.postman_collection.json"),
		filepath.Join(examplesDir, collectionFile),
	} {
		f.Add(readFile(f, p))
	}
	f.Add([]byte(features))
	f.Add([]byte(`{"info":{"name":"x"},"item":[{"name":"r","request":"{{a}}/:id"}]}`))
	f.Add([]byte(`{"item":[{"item":[{"request":{"url":{"host":"h","path":"a/b","query":[{"key":null}]},"header":"A: b"}}]}]}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		_, _ = postman.ParseVariables(data)
		c, err := postman.Parse(data, postman.Options{})
		if err != nil {
			return
		}
		exercise(c)
	})
}

// FuzzScript feeds the script recogniser through a collection's test and
// pre-request scripts: it must never panic, and every line it does not
// understand is an issue with its place.
func FuzzScript(f *testing.F) {
	for _, s := range []string{
		`pm.test("x", function () { pm.response.to.have.status(201); });`,
		"var j = pm.response.json();\npm.environment.set(\"id\", j.data.items[0].id);",
		"if (pm.response.code === 200) {\n tests['a'] = responseBody.has('x');\n} else { console.log(1) }",
		`pm.expect(pm.response.headers.get("Location").split("/").pop()).to.match(/^a\d$/i);`,
		"try { x = JSON.parse(responseBody); } catch (e) {}\ntests[\"t\"] = x && x.id;",
		"pm.sendRequest({url: 'x'}, (e, r) => { pm.globals.set('t', r.json().t) })",
		"`template ${a}` + /re/g.test('x') ? a : b; for(;;){} while(1) do {} while(0)",
		"((((((((((((((((((((((((((((((((((((((((((((((((((((((((1",
		"pm.collectionVariables.set('a', pm.variables.replaceIn('{{$guid}}'))",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, src string) {
		lines := strings.Split(src, "\n")
		c, err := postman.Parse(scriptCollection(t, lines, lines), postman.Options{})
		if err != nil {
			t.Fatalf("a script broke the collection: %v", err)
		}
		for _, i := range c.Issues {
			if i.Script != "" && (i.Line < 1 || i.EndLine < i.Line || i.EndLine > len(lines)) {
				t.Fatalf("issue %+v is outside the script's %d lines", i, len(lines))
			}
		}
		exercise(c)
	})
}
