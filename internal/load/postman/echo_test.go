package postman_test

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/surgehq/surge/internal/load/postman"
	"github.com/surgehq/surge/internal/load/postman/postmantest"
)

// echoClient sends requests for postman-echo.com to the stand-in, and
// refuses every other address: the collection's URLs stay as published.
func echoClient(t *testing.T, srv *httptest.Server) *http.Client {
	t.Helper()
	tr := srv.Client().Transport.(*http.Transport).Clone()
	tr.TLSClientConfig.ServerName = "example.com" // httptest's certificate
	dial := tr.DialContext
	if dial == nil {
		dial = (&net.Dialer{}).DialContext
	}
	tr.DialContext = func(ctx context.Context, network, addr string) (net.Conn, error) {
		if addr != "postman-echo.com:443" {
			return nil, fmt.Errorf("the test sends nothing to %s", addr)
		}
		return dial(ctx, network, srv.Listener.Addr().String())
	}
	return &http.Client{Transport: tr}
}

// TestPostmanEchoCollection reads Postman's sample collection for Postman
// Echo (testdata/postman-echo, Apache-2.0; format v2.0 with scripts as
// one string), checks what it reports as not understood, and runs four of
// its folders against the stand-in: basic auth, headers, every method
// with raw bodies, and the utilities.
func TestPostmanEchoCollection(t *testing.T) {
	data := readFile(t, "testdata", "postman-echo", "echo.postman_collection.json")
	all := mustParse(t, data, postman.Options{})
	if len(all.Requests) != 19 || all.Version != "2.0.0" {
		t.Fatalf("%d requests of v%s, want 19 of v2.0.0", len(all.Requests), all.Version)
	}
	var issues []string
	for _, iss := range all.Issues {
		issues = append(issues, iss.String())
	}
	// The digest handshake (string slicing of a header, and the digest
	// auth type) and two catch blocks are not understood; nothing else.
	want := []string{
		"Auth: Digest / DigestAuth Request (test script, line 4-10)",
		"Auth: Digest / DigestAuth Request (test script, line 12)",
		"Auth: Digest / DigestAuth Request (test script, line 13)",
		`Auth: Digest / DigestAuth Success: auth type "digest" is not supported`,
		"Utilities / GZip Compressed Response (test script, line 9-11)",
		"Utilities / Deflate Compressed Response (test script, line 9-11)",
	}
	if len(issues) != len(want) {
		t.Errorf("%d issues, want %d:\n%s", len(issues), len(want), strings.Join(issues, "\n"))
	}
	for i := range min(len(issues), len(want)) {
		if !strings.Contains(issues[i], want[i]) {
			t.Errorf("issue %d is %q, want it about %q", i, issues[i], want[i])
		}
	}

	srv := httptest.NewTLSServer(postmantest.Echo())
	defer srv.Close()
	folders := []string{"Auth: Others", "Headers", "Request Methods", "Utilities"}
	c := mustParse(t, data, postman.Options{Folders: folders})
	if len(c.Requests) != 14 {
		t.Fatalf("the folders %v hold %d requests, want 14", folders, len(c.Requests))
	}
	steps := runSequence(t, echoClient(t, srv), c, postman.NewScope(c, nil, nil))
	checks, _ := requireAllPass(t, steps)
	if checks < 50 {
		t.Errorf("%d checks applied, want over 50", checks)
	}
	for _, st := range steps {
		if st.status != http.StatusOK {
			t.Errorf("%s: status %d: %.200s", st.req.Where, st.status, st.body)
		}
	}
	t.Logf("%d requests, %d checks passed", len(steps), checks)
}
