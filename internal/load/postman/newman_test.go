package postman_test

import (
	"context"
	"encoding/json"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/surgehq/surge/internal/load/postman"
	"github.com/surgehq/surge/internal/testkit/syncbuf"
)

// envRequireNewman set to 1 makes a missing Newman (or node) a failure
// rather than a skip, as in CI.
const envRequireNewman = "SURGE_REQUIRE_NEWMAN"

// moduleRoot is the repository's root, from this package's directory.
var moduleRoot = filepath.Join("..", "..", "..")

// newmanBin returns the pinned Newman that scripts/setup installs into
// tools/newman, or skips the test.
func newmanBin(t *testing.T) string {
	t.Helper()
	bin, _ := filepath.Abs(filepath.Join(moduleRoot, "tools", "newman", "node_modules", ".bin", "newman"))
	_, nodeErr := exec.LookPath("node")
	if _, err := os.Stat(bin); err != nil || nodeErr != nil {
		msg := "newman is not installed (scripts/setup installs it with npm into tools/newman)"
		if nodeErr != nil {
			msg = "node is not on PATH, so newman cannot run"
		}
		if os.Getenv(envRequireNewman) == "1" {
			t.Fatalf("%s, and %s=1", msg, envRequireNewman)
		}
		t.Skipf("SKIPPED, NOT RUN: %s", msg)
	}
	return bin
}

// startSurge builds cmd/surge and runs `surge serve` on a free loopback
// port over a fresh data directory; it returns the base URL. The server
// stops when t ends.
func startSurge(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	bin := filepath.Join(dir, "surge")
	build := exec.Command("go", "build", "-o", bin, "./cmd/surge")
	build.Dir = moduleRoot
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build ./cmd/surge: %v\n%s", err, out)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	log := &syncbuf.Buffer{}
	cmd := exec.Command(bin, "serve", "--addr", addr, "--admin-addr", "", "--data", filepath.Join(dir, "data"),
		"--access-log=false")
	cmd.Stdout, cmd.Stderr = log, log
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan struct{})
	go func() { cmd.Wait(); close(exited) }()
	t.Cleanup(func() {
		cmd.Process.Signal(os.Interrupt)
		select {
		case <-exited:
		case <-time.After(15 * time.Second):
			cmd.Process.Kill()
			<-exited
		}
		if t.Failed() {
			t.Logf("surge serve log:\n%s", log.String())
		}
	})
	base := "http://" + addr
	c := &http.Client{Timeout: time.Second}
	for deadline := time.Now().Add(60 * time.Second); ; {
		if resp, err := c.Get(base + "/healthz"); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return base
			}
		}
		select {
		case <-exited:
			t.Fatalf("surge serve exited before it answered:\n%s", log.String())
		case <-time.After(50 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("surge serve did not answer GET /healthz within 60s")
		}
	}
}

// TestNewmanRunsSurgeCollection proves examples/postman valid the way
// Postman users run it: Newman runs the collection with its environment
// against a real `surge serve`, and every request and every test passes.
// It also checks that the tests Newman ran are the ones the model
// recognised.
func TestNewmanRunsSurgeCollection(t *testing.T) {
	newman := newmanBin(t)
	base := startSurge(t)
	dir := t.TempDir()
	report := filepath.Join(dir, "newman.json")
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	collection, _ := filepath.Abs(filepath.Join(examplesDir, collectionFile))
	environment, _ := filepath.Abs(filepath.Join(examplesDir, environmentFile))
	cmd := exec.CommandContext(ctx, newman, "run", collection, "--environment", environment,
		"--env-var", "baseUrl="+base, "--reporters", "cli,json", "--reporter-json-export", report,
		"--color", "off", "--disable-unicode", "--timeout-request", "10000")
	cmd.Dir = dir
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("newman run: %v\n%s", err, out)
	}
	var r struct {
		Run struct {
			Stats map[string]struct {
				Total   int `json:"total"`
				Pending int `json:"pending"`
				Failed  int `json:"failed"`
			} `json:"stats"`
			Failures   []json.RawMessage `json:"failures"`
			Executions []struct {
				Item struct {
					Name string `json:"name"`
				} `json:"item"`
				Assertions []struct {
					Assertion string `json:"assertion"`
				} `json:"assertions"`
			} `json:"executions"`
		} `json:"run"`
	}
	if err := json.Unmarshal(readFile(t, report), &r); err != nil {
		t.Fatalf("newman's report: %v", err)
	}
	c := mustParse(t, readFile(t, examplesDir, collectionFile), postman.Options{})
	stats := r.Run.Stats
	if got := stats["requests"].Total; got != len(c.Requests) {
		t.Errorf("newman sent %d requests, want the collection's %d\n%s", got, len(c.Requests), out)
	}
	for _, k := range []string{"requests", "assertions", "testScripts", "prerequestScripts"} {
		if stats[k].Failed != 0 {
			t.Errorf("newman: %d %s failed\n%s", stats[k].Failed, k, out)
		}
	}
	if len(r.Run.Failures) > 0 {
		t.Errorf("newman reports %d failures\n%s", len(r.Run.Failures), out)
	}
	// Newman counts a pm.test as one assertion: the model's checks of each
	// request belong to the same tests.
	if len(r.Run.Executions) != len(c.Requests) {
		t.Fatalf("newman ran %d items, the model has %d requests", len(r.Run.Executions), len(c.Requests))
	}
	for i, ex := range r.Run.Executions {
		req := c.Requests[i]
		tests := map[string]bool{}
		for _, ck := range req.Checks() {
			tests[ck.Test] = true
		}
		ran := map[string]bool{}
		for _, a := range ex.Assertions {
			ran[a.Assertion] = true
		}
		if ex.Item.Name != req.Name || len(ran) != len(tests) {
			t.Errorf("newman ran %q with tests %v; the model has %q with tests %v", ex.Item.Name, ran, req.Name, tests)
			continue
		}
		for name := range tests {
			if !ran[name] {
				t.Errorf("%s: newman did not run test %q", req.Where, name)
			}
		}
	}
	t.Logf("newman: %d requests, %d assertions, none failed", stats["requests"].Total, stats["assertions"].Total)
}
