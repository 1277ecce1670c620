package postman_test

import (
	"context"
	"io"
	"math/rand/v2"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/surgehq/surge/internal/load/postman"
)

// The load engine's fasthttp client hands its response headers to checks
// and captures as they are.
var _ postman.HeaderPeeker = (*fasthttp.ResponseHeader)(nil)

// step is what one request of a sequential run did.
type step struct {
	req     *postman.Request
	status  int
	body    string
	outcome postman.Outcome
	failed  []string // the failed checks, described
}

// runSequence sends every request of c once, in order, through the model
// (render, send over real HTTP, judge), as Postman's runner does for one
// iteration; client decides where requests go.
func runSequence(t *testing.T, client *http.Client, c *postman.Collection, s *postman.Scope) []step {
	t.Helper()
	r := postman.NewRenderer(s, rand.New(rand.NewPCG(1, 2)), time.Now)
	var steps []step
	for _, req := range c.Requests {
		rd := r.Render(req)
		hr, err := rd.HTTPRequest(context.Background())
		if err != nil {
			t.Fatalf("%s: %v", req.Where, err)
		}
		start := time.Now()
		resp, err := client.Do(hr)
		if err != nil {
			t.Fatalf("%s: %s %s: %v", req.Where, rd.Method, rd.URL, err)
		}
		body, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil {
			t.Fatalf("%s: read the body: %v", req.Where, err)
		}
		res := &postman.Response{Status: resp.StatusCode, Header: postman.HTTPHeader(resp.Header), Body: body, Elapsed: time.Since(start)}
		st := step{req: req, status: resp.StatusCode, body: string(body)}
		st.outcome = req.Judge(res, s)
		for _, ck := range st.outcome.Failures {
			st.failed = append(st.failed, ck.String())
		}
		steps = append(steps, st)
	}
	return steps
}

// requireAllPass fails t for every request whose checks failed or whose
// captures found nothing, and for a run with no checks at all.
func requireAllPass(t *testing.T, steps []step) (checks, captures int) {
	t.Helper()
	for _, st := range steps {
		checks += st.outcome.Checks
		captures += st.outcome.Captures
		if len(st.outcome.Failures) > 0 {
			t.Errorf("%s: %d of %d checks failed (status %d): %s\nbody: %.300s", st.req.Where, len(st.outcome.Failures),
				st.outcome.Checks, st.status, strings.Join(st.failed, "; "), st.body)
		}
		if st.outcome.Missed > 0 {
			t.Errorf("%s: %d of %d captures found no value (status %d)\nbody: %.300s", st.req.Where, st.outcome.Missed,
				st.outcome.Captures, st.status, st.body)
		}
	}
	if checks == 0 {
		t.Errorf("the run made no checks")
	}
	return checks, captures
}

func readFile(t testing.TB, path ...string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(path...))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func mustParse(t testing.TB, data []byte, opts postman.Options) *postman.Collection {
	t.Helper()
	c, err := postman.Parse(data, opts)
	if err != nil {
		t.Fatal(err)
	}
	return c
}
