package load_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/surgehq/surge/internal/load"
)

// wireCollection has one request of each body type and each auth level
// the issue names: raw JSON, url-encoded, form-data and GraphQL bodies;
// bearer auth on the collection, basic on a folder, API keys (header and
// query) and noauth on requests; variables of the collection, of the
// environment and globals, and one captured from a response.
const wireCollection = `{
  "info": {"name": "Wire", "schema": "https://schema.getpostman.com/json/collection/v2.1.0/collection.json"},
  "auth": {"type": "bearer", "bearer": [{"key": "token", "value": "{{token}}", "type": "string"}]},
  "variable": [{"key": "who", "value": "collection"}, {"key": "pw", "value": "p@ss"}],
  "item": [
    {"name": "json", "request": {"method": "POST", "url": {"raw": "{{baseUrl}}/json/:id?q={{q}}", "variable": [{"key": "id", "value": "{{who}}"}]},
      "header": [{"key": "X-Who", "value": "{{who}}"}],
      "body": {"mode": "raw", "raw": "{\"name\": \"{{who}}\"}", "options": {"raw": {"language": "json"}}}},
     "event": [{"listen": "test", "script": {"exec": [
       "pm.test(\"made\", function () { pm.response.to.have.status(201); });",
       "pm.environment.set(\"made\", pm.response.json().id);"]}}]},
    {"name": "Forms", "auth": {"type": "basic", "basic": [{"key": "username", "value": "u"}, {"key": "password", "value": "{{pw}}"}]},
     "item": [
      {"name": "urlencoded", "request": {"method": "POST", "url": "{{baseUrl}}/form",
        "body": {"mode": "urlencoded", "urlencoded": [{"key": "a b", "value": "1&2"}, {"key": "c", "value": "é"},
          {"key": "off", "value": "x", "disabled": true}]}}},
      {"name": "formdata", "request": {"method": "POST", "url": "{{baseUrl}}/upload",
        "body": {"mode": "formdata", "formdata": [{"key": "name", "value": "{{who}}", "type": "text"},
          {"key": "doc", "value": "{\"k\": 1}", "type": "text", "contentType": "application/json"}]}}},
      {"name": "graphql", "request": {"method": "POST", "url": "{{baseUrl}}/graphql", "auth": {"type": "inherit"},
        "body": {"mode": "graphql", "graphql": {"query": "query { item(id: \"{{made}}\") { name } }", "variables": "{\"x\": 1}"}}}},
      {"name": "apikey header", "request": {"method": "GET", "url": "{{baseUrl}}/key/{{made}}",
        "auth": {"type": "apikey", "apikey": [{"key": "key", "value": "X-Api-Key"}, {"key": "value", "value": "{{key}}"}, {"key": "in", "value": "header"}]}}},
      {"name": "apikey query", "request": {"method": "GET", "url": "{{baseUrl}}/key?a=1",
        "auth": {"type": "apikey", "apikey": [{"key": "key", "value": "api_key"}, {"key": "value", "value": "{{key}}"}, {"key": "in", "value": "query"}]}}},
      {"name": "noauth", "request": {"method": "GET", "url": "{{baseUrl}}/open", "auth": {"type": "noauth"}}}
    ]}
  ]
}`

const (
	wireEnv     = `{"name": "E", "values": [{"key": "token", "value": "env-token", "enabled": true}, {"key": "who", "value": "env", "enabled": true}]}`
	wireGlobals = `{"name": "G", "values": [{"key": "q", "value": "global q", "enabled": true}, {"key": "key", "value": "k-123", "enabled": true}]}`
)

// wireServer checks every request of wireCollection as it arrives: a
// request as the collection means it gets 200 (201 for the create),
// anything else 400 with what was wrong, and the test's failure.
type wireServer struct {
	t    *testing.T
	mu   sync.Mutex
	seen map[string]int
	next int
}

func (s *wireServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	route, problem := s.check(r)
	s.mu.Lock()
	s.seen[route]++
	s.next++
	id := fmt.Sprintf("id-%d", s.next)
	s.mu.Unlock()
	if problem != "" {
		s.t.Errorf("%s %s: %s", r.Method, r.URL, problem)
		http.Error(w, problem, http.StatusBadRequest)
		return
	}
	if route == "json" {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusCreated)
		fmt.Fprintf(w, `{"id": %q}`, id)
		return
	}
	w.WriteHeader(http.StatusOK)
}

var basicAuth = "Basic " + base64.StdEncoding.EncodeToString([]byte("u:p@ss"))

// check names the route r is for and what is wrong with it, if anything.
func (s *wireServer) check(r *http.Request) (route, problem string) {
	body, _ := io.ReadAll(r.Body)
	auth := r.Header.Get("Authorization")
	ctype, params, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	want := func(what, got, want string) {
		if problem == "" && got != want {
			problem = fmt.Sprintf("%s %q, want %q", what, got, want)
		}
	}
	switch {
	case strings.HasPrefix(r.URL.Path, "/json/"):
		route = "json"
		want("path", r.URL.Path, "/json/env")
		want("method", r.Method, http.MethodPost)
		want("query q", r.URL.Query().Get("q"), "global q")
		want("Authorization", auth, "Bearer env-token")
		want("X-Who", r.Header.Get("X-Who"), "env")
		want("Content-Type", ctype, "application/json")
		var v struct{ Name string }
		if err := json.Unmarshal(body, &v); err != nil {
			problem = fmt.Sprintf("body %q: %v", body, err)
		}
		want("name", v.Name, "env")
	case r.URL.Path == "/form":
		route = "urlencoded"
		want("Authorization", auth, basicAuth)
		want("Content-Type", ctype, "application/x-www-form-urlencoded")
		form, err := url.ParseQuery(string(body))
		if err != nil {
			problem = err.Error()
		}
		want("a b", form.Get("a b"), "1&2")
		want("c", form.Get("c"), "é")
		want("fields", fmt.Sprint(len(form)), "2")
	case r.URL.Path == "/upload":
		route = "formdata"
		want("Authorization", auth, basicAuth)
		want("Content-Type", ctype, "multipart/form-data")
		r.Body = io.NopCloser(strings.NewReader(string(body)))
		if err := r.ParseMultipartForm(1 << 20); err != nil {
			problem = fmt.Sprintf("multipart (boundary %q): %v", params["boundary"], err)
			break
		}
		want("name", r.MultipartForm.Value["name"][0], "env")
		want("doc", strings.Join(r.MultipartForm.Value["doc"], ","), `{"k": 1}`)
	case r.URL.Path == "/graphql":
		route = "graphql"
		want("Authorization", auth, basicAuth)
		want("Content-Type", ctype, "application/json")
		var v struct {
			Query     string
			Variables map[string]int
		}
		if err := json.Unmarshal(body, &v); err != nil {
			problem = fmt.Sprintf("body %q: %v", body, err)
		}
		if !strings.HasPrefix(v.Query, `query { item(id: "id-`) || v.Variables["x"] != 1 {
			problem = fmt.Sprintf("graphql body %q: want the captured id in the query and x=1", body)
		}
	case strings.HasPrefix(r.URL.Path, "/key/"):
		route = "apikey header"
		want("X-Api-Key", r.Header.Get("X-Api-Key"), "k-123")
		want("Authorization", auth, "")
		if !strings.HasPrefix(r.URL.Path, "/key/id-") {
			problem = "path " + r.URL.Path + ": want the captured id"
		}
	case r.URL.Path == "/key":
		route = "apikey query"
		want("api_key", r.URL.Query().Get("api_key"), "k-123")
		want("a", r.URL.Query().Get("a"), "1")
		want("Authorization", auth, "")
	case r.URL.Path == "/open":
		route = "noauth"
		want("Authorization", auth, "")
	default:
		route, problem = r.URL.Path, "unknown route"
	}
	return route, problem
}

// TestCollectionOnTheWire runs wireCollection as Postman's runner does,
// through both clients, against a server that checks each request as it
// arrives: every body type, auth level and variable scope reaches the
// wire as Postman sends it.
func TestCollectionOnTheWire(t *testing.T) {
	dir := t.TempDir()
	files := map[string]string{"wire.json": wireCollection, "env.json": wireEnv, "globals.json": wireGlobals}
	for name, text := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	routes := []string{"json", "urlencoded", "formdata", "graphql", "apikey header", "apikey query", "noauth"}
	scenario := func(t *testing.T) (load.Scenario, *wireServer) {
		ws := &wireServer{t: t, seen: map[string]int{}}
		srv := httptest.NewServer(ws)
		t.Cleanup(srv.Close)
		s := collectionScenario(filepath.Join(dir, "wire.json"), srv.URL)
		s.Postman.Env, s.Postman.Globals = filepath.Join(dir, "env.json"), filepath.Join(dir, "globals.json")
		return s, ws
	}
	for _, client := range []string{load.ClientFast, load.ClientStd} {
		t.Run(client, func(t *testing.T) {
			s, ws := scenario(t)
			s.Model, s.VUs, s.Iterations, s.Duration, s.Client = load.ModelClosed, 2, 3, 0, client
			res := mustRun(t, context.Background(), s)
			if res.Sent != 6*int64(len(routes)) || res.Total.Errors != 0 || res.Total.ChecksFailed != 0 || res.Total.Checks != 6 ||
				res.Total.Captures != 6 || res.Total.CapturesMissed != 0 {
				t.Errorf("sent %d, errors %d (statuses %v), checks %d (%d failed), captures %d (%d missed)", res.Sent, res.Total.Errors,
					res.Total.Statuses, res.Total.Checks, res.Total.ChecksFailed, res.Total.Captures, res.Total.CapturesMissed)
			}
			for _, r := range routes {
				if ws.seen[r] != 6 {
					t.Errorf("%s arrived %d times, want 6 (all: %v)", r, ws.seen[r], ws.seen)
				}
			}
		})
	}
	// The open-model mix: the requests that read the captured id take
	// one of those the creates made, or are replaced by a create.
	t.Run("Mix", func(t *testing.T) {
		s, ws := scenario(t)
		s.Rate, s.Duration = 200, time.Second
		res := mustRun(t, context.Background(), s)
		if res.Sent != 200 || res.Total.Errors != 0 || res.Total.ChecksFailed != 0 || res.Total.CapturesMissed != 0 {
			t.Errorf("sent %d, errors %d (statuses %v), checks failed %d, captures missed %d", res.Sent, res.Total.Errors,
				res.Total.Statuses, res.Total.ChecksFailed, res.Total.CapturesMissed)
		}
		for _, r := range routes {
			if ws.seen[r] == 0 {
				t.Errorf("%s never arrived (all: %v)", r, ws.seen)
			}
		}
	})
}
