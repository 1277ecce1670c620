package postman_test

import (
	"bytes"
	"encoding/base64"
	"io"
	"math/rand/v2"
	"mime"
	"mime/multipart"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/surgehq/surge/internal/load/postman"
)

// features is a v2.1 collection with one of each thing the model renders.
const features = `{
  "info": {"name": "F", "schema": "https://schema.getpostman.com/json/collection/v2.1.0/collection.json"},
  "auth": {"type": "bearer", "bearer": [{"key": "token", "value": "{{token}}", "type": "string"}]},
  "variable": [
    {"key": "baseUrl", "value": "{{scheme}}://{{host}}"},
    {"key": "scheme", "value": "http"},
    {"key": "host", "value": "127.0.0.1:8080"},
    {"key": "token", "value": "collection-token"},
    {"key": "who", "value": "collection"},
    {"key": "off", "value": "x", "disabled": true}
  ],
  "item": [
    {"name": "structured", "request": {
      "method": "get",
      "header": [{"key": "X-One", "value": "{{who}}"}, {"key": "X-Off", "value": "1", "disabled": true}],
      "url": {"raw": "ignored", "protocol": "https", "host": ["api", "example", "com"], "port": "8443",
        "path": ["items", ":id", "tags"],
        "query": [{"key": "limit", "value": "10"}, {"key": "flag", "value": null}, {"key": "skip", "value": "1", "disabled": true}],
        "variable": [{"key": "id", "value": "{{itemId}}"}]}}},
    {"name": "raw url", "request": {"method": "POST", "url": {"raw": "{{baseUrl}}/items/:id?q=a b#frag",
      "variable": [{"key": "id", "value": "7"}]},
      "body": {"mode": "raw", "raw": "{\"name\":\"{{who}}\",\"n\":{{$randomInt}}}", "options": {"raw": {"language": "json"}}}}},
    {"name": "Folder", "auth": {"type": "basic", "basic": [{"key": "username", "value": "u"}, {"key": "password", "value": "{{pw}}"}]},
     "item": [
      {"name": "urlencoded", "request": {"method": "POST", "url": "{{host}}/form",
        "header": [{"key": "Authorization", "value": "replaced by the auth"}],
        "body": {"mode": "urlencoded", "urlencoded": [{"key": "a b", "value": "1&2"}, {"key": "c", "value": "é"},
          {"key": "d", "value": "off", "disabled": true}]}}},
      {"name": "formdata", "request": {"method": "PUT", "url": "{{host}}/upload",
        "header": [{"key": "Content-Type", "value": "multipart/form-data"}],
        "body": {"mode": "formdata", "formdata": [{"key": "name", "value": "{{who}}", "type": "text"},
          {"key": "file", "src": "/tmp/x", "type": "file"}, {"key": "json", "value": "{}", "contentType": "application/json"}]}}},
      {"name": "noauth get with body", "request": {"method": "GET", "url": "{{host}}/x", "auth": {"type": "noauth"},
        "body": {"mode": "raw", "raw": "pruned"}}},
      {"name": "apikey in query", "request": {"method": "GET", "url": "{{host}}/k?a=1",
        "auth": {"type": "apikey", "apikey": [{"key": "key", "value": "api_key"}, {"key": "value", "value": "s3cr3t"}, {"key": "in", "value": "query"}]}}},
      {"name": "apikey in header", "request": {"method": "GET", "url": "{{host}}/k",
        "auth": {"type": "apikey", "apikey": [{"key": "key", "value": "x-api-key"}, {"key": "value", "value": "{{key}}"}]}}},
      {"name": "graphql", "request": {"method": "POST", "url": "{{host}}/graphql", "auth": {"type": "inherit"},
        "body": {"mode": "graphql", "graphql": {"query": "query { item(id: \"{{itemId}}\") { name } }", "variables": "{\"x\": 1}"}}}}
    ]}
  ]
}`

func render(t *testing.T, c *postman.Collection, s *postman.Scope, name string) *postman.Rendered {
	t.Helper()
	for _, r := range c.Requests {
		if r.Name == name {
			return postman.NewRenderer(s, rand.New(rand.NewPCG(7, 7)), func() time.Time { return time.Unix(1700000000, 0) }).Render(r)
		}
	}
	t.Fatalf("no request %q", name)
	return nil
}

func headerOf(rd *postman.Rendered, name string) (string, int) {
	v, n := "", 0
	for _, h := range rd.Header {
		if strings.EqualFold(string(h.Key), name) {
			v, n = string(h.Value), n+1
		}
	}
	return v, n
}

func TestRender(t *testing.T) {
	c := mustParse(t, []byte(features), postman.Options{})
	if len(c.Issues) != 1 || !strings.Contains(c.Issues[0].Reason, `file field "file"`) {
		t.Errorf("issues %v, want the form-data file field only", c.Issues)
	}
	s := postman.NewScope(c, nil, nil)
	s.Set(postman.Environment, "itemId", "it 1")
	s.Set(postman.Environment, "pw", "p:w")
	s.Set(postman.Global, "key", "k-123")

	t.Run("structured URL, path variable, query, headers, inherited bearer", func(t *testing.T) {
		rd := render(t, c, s, "structured")
		if rd.Method != "GET" || string(rd.URL) != "https://api.example.com:8443/items/it%201/tags?limit=10&flag" {
			t.Errorf("%s %s", rd.Method, rd.URL)
		}
		if v, _ := headerOf(rd, "X-One"); v != "collection" {
			t.Errorf("X-One %q", v)
		}
		if _, n := headerOf(rd, "X-Off"); n != 0 {
			t.Error("a disabled header was sent")
		}
		if v, _ := headerOf(rd, "Authorization"); v != "Bearer collection-token" {
			t.Errorf("Authorization %q, want the collection's bearer", v)
		}
		if len(rd.Body) != 0 || rd.Unresolved != 0 {
			t.Errorf("body %q, %d unresolved", rd.Body, rd.Unresolved)
		}
	})
	t.Run("raw URL, nested variables, raw JSON body, dynamic variable", func(t *testing.T) {
		rd := render(t, c, s, "raw url")
		if string(rd.URL) != "http://127.0.0.1:8080/items/7?q=a%20b" {
			t.Errorf("URL %s", rd.URL)
		}
		if !regexp.MustCompile(`^\{"name":"collection","n":\d{1,4}\}$`).Match(rd.Body) {
			t.Errorf("body %s", rd.Body)
		}
		if v, _ := headerOf(rd, "Content-Type"); v != "application/json" {
			t.Errorf("Content-Type %q from the raw body's language", v)
		}
	})
	t.Run("url-encoded body, folder basic auth replaces the header, no scheme", func(t *testing.T) {
		rd := render(t, c, s, "urlencoded")
		if string(rd.URL) != "http://127.0.0.1:8080/form" {
			t.Errorf("URL %s", rd.URL)
		}
		if string(rd.Body) != "a+b=1%262&c=%C3%A9" {
			t.Errorf("body %s", rd.Body)
		}
		v, n := headerOf(rd, "Authorization")
		if want := "Basic " + base64.StdEncoding.EncodeToString([]byte("u:p:w")); v != want || n != 1 {
			t.Errorf("Authorization %q (%d), want %q once", v, n, want)
		}
		if v, _ := headerOf(rd, "Content-Type"); v != "application/x-www-form-urlencoded" {
			t.Errorf("Content-Type %q", v)
		}
	})
	t.Run("form-data body", func(t *testing.T) {
		rd := render(t, c, s, "formdata")
		ct, n := headerOf(rd, "Content-Type")
		mt, params, err := mime.ParseMediaType(ct)
		if err != nil || mt != "multipart/form-data" || n != 1 {
			t.Fatalf("Content-Type %q (%d): %v", ct, n, err)
		}
		mr := multipart.NewReader(bytes.NewReader(rd.Body), params["boundary"])
		var got []string
		for {
			p, err := mr.NextPart()
			if err == io.EOF {
				break
			}
			if err != nil {
				t.Fatalf("body %q: %v", rd.Body, err)
			}
			v, _ := io.ReadAll(p)
			got = append(got, p.FormName()+"="+string(v)+";"+p.Header.Get("Content-Type"))
		}
		if strings.Join(got, " ") != "name=collection; json={};application/json" {
			t.Errorf("parts %q", got)
		}
	})
	t.Run("noauth, and a GET's body is not sent", func(t *testing.T) {
		rd := render(t, c, s, "noauth get with body")
		if _, n := headerOf(rd, "Authorization"); n != 0 || len(rd.Body) != 0 {
			t.Errorf("Authorization sent or body %q", rd.Body)
		}
	})
	t.Run("API key in the query and in a header", func(t *testing.T) {
		rd := render(t, c, s, "apikey in query")
		if string(rd.URL) != "http://127.0.0.1:8080/k?a=1&api_key=s3cr3t" {
			t.Errorf("URL %s", rd.URL)
		}
		rd = render(t, c, s, "apikey in header")
		if v, _ := headerOf(rd, "x-api-key"); v != "k-123" {
			t.Errorf("x-api-key %q", v)
		}
	})
	t.Run("GraphQL body, inherited basic auth", func(t *testing.T) {
		rd := render(t, c, s, "graphql")
		if string(rd.Body) != `{"query":"query { item(id: \"it 1\") { name } }","variables":{"x": 1}}` {
			t.Errorf("body %s", rd.Body)
		}
		if v, _ := headerOf(rd, "Authorization"); !strings.HasPrefix(v, "Basic ") {
			t.Errorf("Authorization %q, want the folder's basic", v)
		}
	})
	t.Run("HTTP request", func(t *testing.T) {
		hr, err := render(t, c, s, "raw url").HTTPRequest(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(hr.Body)
		if hr.Method != "POST" || hr.URL.Path != "/items/7" || hr.URL.Query().Get("q") != "a b" || len(b) == 0 {
			t.Errorf("%s %s, body %q", hr.Method, hr.URL, b)
		}
	})
	t.Run("uses and sets", func(t *testing.T) {
		for _, r := range c.Requests {
			if r.Name == "structured" && strings.Join(r.Uses(), ",") != "itemId,token,who" {
				t.Errorf("structured uses %v", r.Uses())
			}
		}
	})
}

func TestScopePrecedence(t *testing.T) {
	c := mustParse(t, []byte(features), postman.Options{})
	env, err := postman.ParseVariables([]byte(`{"name": "e", "values": [{"key": "who", "value": "environment", "enabled": true},
		{"key": "host", "value": "env-host", "enabled": false}], "_postman_variable_scope": "environment"}`))
	if err != nil {
		t.Fatal(err)
	}
	globals, err := postman.ParseVariables([]byte(`[{"key": "who", "value": "global"}, {"key": "g", "value": "only global"}]`))
	if err != nil {
		t.Fatal(err)
	}
	s := postman.NewScope(c, env, globals)
	for _, step := range []struct {
		set  func()
		want string
	}{
		{func() {}, "environment"}, // environment wins over the collection and the globals
		{func() { s.Set(postman.Local, "who", "local") }, "local"},
		{func() { s.Unset(postman.Local, "who"); s.Unset(postman.Environment, "who") }, "collection"},
		{func() { s.Unset(postman.CollectionVars, "who") }, "global"},
	} {
		step.set()
		if v, _ := s.Get("who"); v != step.want {
			t.Errorf("who = %q, want %q", v, step.want)
		}
	}
	if v, _ := s.Get("host"); v != "127.0.0.1:8080" {
		t.Errorf("host %q: a disabled environment value must not count", v)
	}
	if _, ok := s.Get("off"); ok {
		t.Error("a disabled collection variable is set")
	}
	clone := s.Clone()
	clone.Set(postman.Global, "g", "changed")
	if v, _ := s.Get("g"); v != "only global" {
		t.Errorf("a clone's change reached the original: %q", v)
	}
}

func TestVariables(t *testing.T) {
	c := mustParse(t, []byte(`{"info": {"name": "V"}, "item": [{"name": "r", "request":
		{"url": "http://h/{{a}}/{{loop}}/{{$guid}}/{{$timestamp}}/{{$isoTimestamp}}/{{$randomInt}}/{{$nope}}/{{ missing }}"}}]}`),
		postman.Options{})
	if len(c.Issues) != 1 || !strings.Contains(c.Issues[0].Reason, "{{$nope}}") {
		t.Errorf("issues %v, want the unknown dynamic variable", c.Issues)
	}
	s := postman.NewScope(c, nil, nil)
	s.Set(postman.Environment, "a", "{{b}}-{{c}}")
	s.Set(postman.Environment, "b", "B")
	s.Set(postman.Environment, "c", "{{b}}{{b}}")
	s.Set(postman.Environment, "loop", "x{{loop}}")
	rd := postman.NewRenderer(s, rand.New(rand.NewPCG(1, 1)), func() time.Time { return time.Unix(1700000000, 5e6).UTC() }).Render(c.Requests[0])
	u, err := url.PathUnescape(string(rd.URL))
	if err != nil {
		t.Fatal(err)
	}
	parts := strings.Split(strings.TrimPrefix(u, "http://h/"), "/")
	if len(parts) != 8 {
		t.Fatalf("URL %s", u)
	}
	if parts[0] != "B-BB" {
		t.Errorf("nested %q", parts[0])
	}
	if !strings.HasPrefix(parts[1], "xxxxxxxxxx") || !strings.HasSuffix(parts[1], "{{loop}}") {
		t.Errorf("a loop of variables is cut at a depth: %q", parts[1])
	}
	if !regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`).MatchString(parts[2]) {
		t.Errorf("$guid %q", parts[2])
	}
	if parts[3] != "1700000000" || parts[4] != "2023-11-14T22:13:20.005Z" {
		t.Errorf("$timestamp %q, $isoTimestamp %q", parts[3], parts[4])
	}
	if !regexp.MustCompile(`^\d{1,4}$`).MatchString(parts[5]) {
		t.Errorf("$randomInt %q", parts[5])
	}
	if parts[6] != "{{$nope}}" || parts[7] != "{{ missing }}" || rd.Unresolved != 3 || rd.Missing != "loop" {
		t.Errorf("unresolved %q %q: %d, first %q", parts[6], parts[7], rd.Unresolved, rd.Missing)
	}
	for _, name := range postman.DynamicVariables() {
		c := mustParse(t, []byte(`{"info": {"name": "D"}, "item": [{"name": "r", "request": {"url": "http://h/", "method": "POST",
			"body": {"mode": "raw", "raw": "{{`+name+`}}"}}}]}`), postman.Options{})
		rd := postman.NewRenderer(nil, nil, nil).Render(c.Requests[0])
		if len(rd.Body) == 0 || bytes.Contains(rd.Body, []byte("{{")) || len(c.Issues) != 0 {
			t.Errorf("%s rendered %q (issues %v)", name, rd.Body, c.Issues)
		}
	}
}

func TestFolders(t *testing.T) {
	data := []byte(`{"info": {"name": "F", "schema": "https://schema.getpostman.com/json/collection/v2.0.0/collection.json"},
		"item": [
			{"name": "A", "item": [{"name": "a1", "request": "http://h/a1"}, {"name": "Shared", "item": [{"name": "s1", "request": "http://h/s1"}]}]},
			{"name": "B", "event": [{"listen": "test", "script": {"exec": "pm.response.to.have.status(200);\npm.visualizer.set('x');"}}],
			 "item": [{"name": "b1", "request": "http://h/b1"}, {"name": "Shared", "item": [{"name": "s2", "request": "http://h/s2"}]}]},
			{"name": "c", "request": "http://h/c"}
		]}`)
	names := func(c *postman.Collection) string {
		var n []string
		for _, r := range c.Requests {
			n = append(n, strings.Join(append(r.Folder, r.Name), "/"))
		}
		return strings.Join(n, " ")
	}
	all := mustParse(t, data, postman.Options{})
	if got := names(all); got != "A/a1 A/Shared/s1 B/b1 B/Shared/s2 c" {
		t.Errorf("all: %s", got)
	}
	// The folder's script applies to each request under it; its line not
	// understood is reported once.
	if len(all.Issues) != 1 || all.Issues[0].Where != "F / B" {
		t.Errorf("issues %v, want one at F / B", all.Issues)
	}
	for _, r := range all.Requests {
		if want := strings.HasPrefix(r.Where, "F / B"); (len(r.Checks()) == 1) != want {
			t.Errorf("%s has %d checks", r.Where, len(r.Checks()))
		}
	}
	for _, tc := range []struct {
		folders []string
		want    string
		err     string
	}{
		{folders: []string{"B"}, want: "B/b1 B/Shared/s2"},
		{folders: []string{"A/Shared", "B"}, want: "A/Shared/s1 B/b1 B/Shared/s2"},
		{folders: []string{"Shared"}, err: `folder name "Shared" is ambiguous (A/Shared, B/Shared)`},
		{folders: []string{"Z"}, err: `no folder "Z" (folders: A, A/Shared, B, B/Shared)`},
	} {
		c, err := postman.Parse(data, postman.Options{Folders: tc.folders})
		switch {
		case tc.err != "":
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("%v: error %v, want %q", tc.folders, err, tc.err)
			}
		case err != nil:
			t.Errorf("%v: %v", tc.folders, err)
		case names(c) != tc.want:
			t.Errorf("%v: %s, want %s", tc.folders, names(c), tc.want)
		}
	}
	picked := mustParse(t, data, postman.Options{Folders: []string{"A"}})
	if len(picked.Issues) != 0 {
		t.Errorf("issues of a folder not picked are reported: %v", picked.Issues)
	}
}

func TestParseErrors(t *testing.T) {
	for _, tc := range []struct{ data, err string }{
		{`{`, "parse collection"},
		{`{"info": {"name": "v1"}, "requests": [{"url": "http://h"}], "order": []}`, "format v1 is not supported"},
		{`{"info": {"schema": "https://schema.getpostman.com/json/collection/v3.0.0/collection.json"}, "item": []}`, "is not v2.0.0 or v2.1.0"},
	} {
		if _, err := postman.Parse([]byte(tc.data), postman.Options{}); err == nil || !strings.Contains(err.Error(), tc.err) {
			t.Errorf("%s: error %v, want %q", tc.data, err, tc.err)
		}
	}
	c := mustParse(t, []byte(`{"info": {"name": "x"}, "item": [{"name": "no request"}, {"name": "bad url", "request": {"url": 5}},
		{"name": "digest", "request": {"url": "http://h", "auth": {"type": "digest", "digest": {"username": "u"}}}}]}`), postman.Options{})
	if len(c.Requests) != 1 || len(c.Issues) != 3 {
		t.Errorf("%d requests and issues %v, want 1 and 3", len(c.Requests), c.Issues)
	}
}

func TestV20Forms(t *testing.T) {
	c := mustParse(t, []byte(`{"info": {"name": "old", "schema": "https://schema.getpostman.com/json/collection/v2.0.0/collection.json"},
		"auth": {"type": "basic", "basic": {"username": "u", "password": "p"}},
		"item": [{"name": "r", "request": {"url": "http://h/x", "method": "POST", "header": "Content-Type: text/plain\n// X-Off: 1\nX-On: yes",
			"body": {"mode": "raw", "raw": "hi"}},
			"event": [{"listen": "test", "script": {"type": "text/javascript", "exec": "tests[\"ok\"] = responseCode.code === 200;"}}]}]}`),
		postman.Options{})
	if c.Version != "2.0.0" || len(c.Issues) != 0 {
		t.Fatalf("version %s, issues %v", c.Version, c.Issues)
	}
	rd := postman.NewRenderer(nil, nil, nil).Render(c.Requests[0])
	if v, _ := headerOf(rd, "X-On"); v != "yes" {
		t.Errorf("X-On %q", v)
	}
	if _, n := headerOf(rd, "X-Off"); n != 0 {
		t.Error("a commented-out header was sent")
	}
	if v, _ := headerOf(rd, "Authorization"); v != "Basic dTpw" {
		t.Errorf("Authorization %q from the v2.0 auth object", v)
	}
	if len(c.Requests[0].Checks()) != 1 {
		t.Errorf("checks %v from a one-string exec", c.Requests[0].Checks())
	}
}
