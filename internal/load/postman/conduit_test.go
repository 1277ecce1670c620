package postman_test

import (
	"net/http/httptest"
	"slices"
	"testing"

	"github.com/surgehq/surge/internal/load/postman"
	"github.com/surgehq/surge/internal/load/postman/postmantest"
)

// TestConduitCollection runs the RealWorld project's Conduit collection
// (testdata/conduit, MIT) whole against the stand-in, with the globals its
// run-api-tests.sh passes to Newman: every request maps, the token, slug
// and comment id are captured and chained, and every check recognised
// passes. The statements not understood are the ones expected.
func TestConduitCollection(t *testing.T) {
	srv := httptest.NewServer(postmantest.NewConduit())
	defer srv.Close()
	c := mustParse(t, readFile(t, "testdata", "conduit", "Conduit.postman_collection.json"), postman.Options{})
	if len(c.Requests) != 32 || c.Version != "2.1.0" {
		t.Fatalf("%d requests of v%s, want the collection's 32 of v2.1.0", len(c.Requests), c.Version)
	}
	// Every statement of its legacy-style scripts is understood: the
	// tests["..."] assignments, the JSON.parse(responseBody) aliases with
	// their fallbacks, the conditions (on the status, on an earlier test,
	// on environment.isIntegrationTest), the regular expressions, and the
	// pm.globals captures.
	if len(c.Issues) != 0 {
		t.Errorf("%d issues, want none: %v", len(c.Issues), c.Issues)
	}
	var sets []string
	for _, r := range c.Requests {
		sets = append(sets, r.Sets()...)
	}
	if want := []string{"commentId", "slug", "token"}; !slices.Equal(slices.Sorted(slices.Values(sets)), want) {
		t.Errorf("the requests set %v, want %v", sets, want)
	}

	globals, err := postman.ParseVariables(readFile(t, "testdata", "conduit", "conduit.postman_globals.json"))
	if err != nil {
		t.Fatal(err)
	}
	s := postman.NewScope(c, nil, globals)
	s.Set(postman.Global, "APIURL", srv.URL+"/api")
	steps := runSequence(t, srv.Client(), c, s)
	checks, captures := requireAllPass(t, steps)
	if captures != 3 || checks < 300 {
		t.Errorf("%d checks and %d captures applied, want over 300 and 3", checks, captures)
	}
	for _, st := range steps {
		if st.status >= 400 {
			t.Errorf("%s: status %d: %.200s", st.req.Where, st.status, st.body)
		}
	}
	if tok, _ := s.Get("token"); tok != "tok-surge" {
		t.Errorf("token %q, want the one the login returned", tok)
	}
	t.Logf("%d requests, %d checks passed, %d captures", len(steps), checks, captures)
}

// TestConduitCollectionCatchesABug runs the collection against a stand-in
// whose favorites do not stick: the checks of the favorite fail, and so do
// those of the two listings of favorited articles, which come back empty
// (where Postman's script would throw on the missing article, the model
// fails its checks); nothing else fails.
func TestConduitCollectionCatchesABug(t *testing.T) {
	stand := postmantest.NewConduit()
	stand.Lying = true
	srv := httptest.NewServer(stand)
	defer srv.Close()
	c := mustParse(t, readFile(t, "testdata", "conduit", "Conduit.postman_collection.json"), postman.Options{})
	globals, err := postman.ParseVariables(readFile(t, "testdata", "conduit", "conduit.postman_globals.json"))
	if err != nil {
		t.Fatal(err)
	}
	s := postman.NewScope(c, nil, globals)
	s.Set(postman.Global, "APIURL", srv.URL+"/api")
	failed := map[string][]string{}
	for _, st := range runSequence(t, srv.Client(), c, s) {
		for _, f := range st.outcome.Failures {
			failed[st.req.Where] = append(failed[st.req.Where], f.Test)
		}
	}
	const folder = "Conduit / Articles, Favorite, Comments / "
	if got, want := failed[folder+"Favorite Article"], []string{"Article's 'favorited' property is true",
		"Article's 'favoritesCount' property is greater than 0"}; !slices.Equal(got, want) {
		t.Errorf("Favorite Article failed %v, want %v", got, want)
	}
	for _, name := range []string{"Articles Favorited by Username", "Articles Favorited by Username with auth"} {
		if got := failed[folder+name]; len(got) != 13 || !slices.Contains(got, "favoritesCount is 1") {
			t.Errorf("%s failed %v, want the 13 checks of the missing article", name, got)
		}
	}
	if len(failed) != 3 {
		t.Errorf("failures in %d requests, want 3: %v", len(failed), failed)
	}
}
