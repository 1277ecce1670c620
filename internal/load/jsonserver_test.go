package load_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/surgehq/surge/internal/load"
)

// envRequireJSONServer set to 1 makes a missing json-server (or node) a
// failure rather than a skip, as in CI.
const envRequireJSONServer = "SURGE_REQUIRE_JSON_SERVER"

// startJSONServer starts json-server, pinned in tools/json-server and
// installed from the npm registry by scripts/setup, on a free loopback
// port over an empty items collection, and returns its base URL. It is
// stopped when t ends.
func startJSONServer(t *testing.T) string {
	t.Helper()
	bin, _ := filepath.Abs(filepath.Join("..", "..", "tools", "json-server", "node_modules", ".bin", "json-server"))
	_, nodeErr := exec.LookPath("node")
	if _, err := os.Stat(bin); err != nil || nodeErr != nil {
		msg := "json-server is not installed (scripts/setup installs it with npm into tools/json-server)"
		if nodeErr != nil {
			msg = "node is not on PATH, so json-server cannot run"
		}
		if os.Getenv(envRequireJSONServer) == "1" {
			t.Fatalf("%s, and %s=1", msg, envRequireJSONServer)
		}
		t.Skipf("SKIPPED, NOT RUN: %s", msg)
	}
	dir := t.TempDir()
	db := filepath.Join(dir, "db.json")
	if err := os.WriteFile(db, []byte(`{"items": []}`), 0o644); err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := strconv.Itoa(ln.Addr().(*net.TCPAddr).Port)
	ln.Close()
	cmd := exec.Command(bin, db, "--port", port, "--host", "127.0.0.1")
	cmd.Dir = dir
	// Outside production, json-server reloads db.json whenever the file
	// changes, its own writes included: on a busy machine a reload lands
	// after a newer write and loses it, and reads of it answer 404.
	// (In production it also wants its static directory to exist.)
	cmd.Env = append(os.Environ(), "NODE_ENV=production")
	if err := os.Mkdir(filepath.Join(dir, "public"), 0o755); err != nil {
		t.Fatal(err)
	}
	out, err := os.Create(filepath.Join(dir, "json-server.log"))
	if err != nil {
		t.Fatal(err)
	}
	// json-server prints its banner once it listens: wait for that, not
	// for a time.
	ready := &banner{w: out, want: "JSON Server started on PORT :" + port, seen: make(chan struct{})}
	cmd.Stdout, cmd.Stderr = ready, out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan struct{})
	go func() { cmd.Wait(); close(exited) }()
	t.Cleanup(func() {
		cmd.Process.Kill()
		<-exited
		out.Close()
		if t.Failed() {
			log, _ := os.ReadFile(out.Name())
			t.Logf("json-server log:\n%s", log)
		}
	})
	select {
	case <-ready.seen:
	case <-exited:
		t.Fatalf("json-server exited before it listened")
	case <-time.After(30 * time.Second):
		t.Fatalf("json-server did not listen within 30s")
	}
	base := "http://127.0.0.1:" + port
	resp, err := http.Get(base + "/items")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /items: %s", resp.Status)
	}
	return base
}

// banner passes output on to w and closes seen once the output has had
// want in it.
type banner struct {
	w    io.Writer
	want string
	seen chan struct{}
	buf  []byte
	done bool
}

func (b *banner) Write(p []byte) (int, error) {
	if !b.done {
		b.buf = append(b.buf, p...)
		if bytes.Contains(b.buf, []byte(b.want)) {
			b.done, b.buf = true, nil
			close(b.seen)
		}
	}
	return b.w.Write(p)
}

// TestJSONServerScenario drives another CRUD API, json-server's /items,
// with the example scenario for it (testdata/json-server.yaml): the same
// workload in that API's shape. Every request must succeed, the ids the
// run used must be the ones json-server made, and what json-server holds
// at the end must be what the run's creates and deletes left.
func TestJSONServerScenario(t *testing.T) {
	base := startJSONServer(t)
	f, err := os.Open(filepath.Join("testdata", "json-server.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	s, err := load.DecodeScenario(f)
	f.Close()
	if err != nil {
		t.Fatal(err)
	}
	s.Target = base
	s.Stages = []load.Stage{{Duration: 500 * time.Millisecond, Target: 40}, {Duration: 2 * time.Second, Target: 40}}
	s.IDs.Preseed = 20
	s.Timeout = 5 * time.Second
	res := mustRun(t, context.Background(), s)

	if res.Preseed.Created != 20 || res.Preseed.Failed != 0 {
		t.Fatalf("preseed %+v, want 20 created", res.Preseed)
	}
	if res.Total.Count < 50 || res.Total.Errors != 0 {
		t.Fatalf("%d requests, %d errors (statuses %v, kinds %v): want every one to succeed",
			res.Total.Count, res.Total.Errors, res.Total.Statuses, res.Total.ErrorKinds)
	}
	done := map[string]int64{}
	for _, op := range res.Ops {
		done[op.Name] = op.Count - op.Errors
	}
	for _, name := range []string{"create", "read", "update", "patch", "delete", "list"} {
		if done[name] == 0 {
			t.Errorf("no %s succeeded: ops %v", name, done)
		}
	}

	// json-server's view: every item the preseed and the creates made,
	// less the deleted ones; each with the scenario's body.
	resp, err := http.Get(base + "/items")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var held []map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&held); err != nil {
		t.Fatal(err)
	}
	if want := 20 + done["create"] - done["delete"]; int64(len(held)) != want {
		t.Errorf("json-server holds %d items, want 20 preseeded + %d created - %d deleted = %d",
			len(held), done["create"], done["delete"], want)
	}
	t.Logf("succeeded by operation %v; json-server holds %d items", done, len(held))
	for _, it := range held {
		if _, ok := it["title"].(string); !ok {
			t.Errorf("item %v lacks the scenario body's title", it)
			break
		}
		if _, ok := it["views"].(float64); !ok {
			t.Errorf("item %v lacks a numeric views", it)
			break
		}
	}
}
