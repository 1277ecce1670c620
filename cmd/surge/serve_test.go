package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/ncruces/go-sqlite3"
)

func TestHelp(t *testing.T) {
	for _, args := range [][]string{{"--help"}, {"serve", "--help"}} {
		var out bytes.Buffer
		if code := run(context.Background(), args, io.Discard, &out); code != 0 {
			t.Fatalf("surge %v: exit code %d", args, code)
		}
		want := []string{"--log-format STRING", "(default: text)", "SURGE_"}
		if args[0] == "serve" {
			want = append(want,
				"--addr STRING", "(default: 127.0.0.1:8080)",
				"--admin-addr STRING", "(default: 127.0.0.1:9090)",
				"--data STRING", "(default: ./surge-data)",
				"--store STRING", "--sync STRING", "(default: normal)",
				"--shutdown-timeout DURATION", "(default: 10s)",
				"--cache-control STRING", "--table STRING", "--access-log")
		} else {
			want = append(want, "serve")
		}
		for _, w := range want {
			if !strings.Contains(out.String(), w) {
				t.Errorf("surge %v help lacks %q:\n%s", args, w, out.String())
			}
		}
	}
}

func TestServeFlagsFromEnvironment(t *testing.T) {
	t.Setenv("SURGE_CACHE_CONTROL", "max-age=7")
	t.Setenv("SURGE_ACCESS_LOG", "false")
	p := startInProcess(t)
	code, h, body := do(t, "POST", p.base+"/items", map[string]any{"id": "env1"})
	if code != 201 {
		t.Fatalf("create: got %d %s", code, body)
	}
	if _, h, _ = do(t, "GET", p.base+"/items/env1", nil); h.Get("Cache-Control") != "max-age=7" {
		t.Errorf("got Cache-Control %q, want the environment's max-age=7", h.Get("Cache-Control"))
	}
	if strings.Contains(p.logs.String(), `"msg":"request"`) {
		t.Error("SURGE_ACCESS_LOG=false did not turn the access log off")
	}
	// A flag wins over the environment.
	t.Setenv("SURGE_ADDR", "256.0.0.1:1")
	q := startInProcess(t, "--cache-control", "max-age=9")
	do(t, "POST", q.base+"/items", map[string]any{"id": "env2"})
	if _, h, _ = do(t, "GET", q.base+"/items/env2", nil); h.Get("Cache-Control") != "max-age=9" {
		t.Errorf("got Cache-Control %q, want the flag's max-age=9", h.Get("Cache-Control"))
	}
}

func TestServeCreatesDataDirectory(t *testing.T) {
	data := filepath.Join(t.TempDir(), "a", "b")
	p := startInProcess(t, "--data", data)
	if code, _, body := do(t, "POST", p.base+"/items", map[string]any{"x": 1}); code != 201 {
		t.Fatalf("create: got %d %s", code, body)
	}
	p.stop(t)
	if _, err := sqlite3.Open(filepath.Join(data, "items.db")); err != nil {
		t.Fatalf("no database at <data>/items.db: %v", err)
	}
}

func TestServeLogsAndMetrics(t *testing.T) {
	p := startInProcess(t)
	do(t, "POST", p.base+"/items", map[string]any{"id": "m1"}, "X-Request-Id", "req-42")
	do(t, "GET", p.base+"/items/m1", nil)
	do(t, "GET", p.base+"/items/missing", nil)

	_, _, metrics := do(t, "GET", p.admin+"/metrics", nil)
	for _, want := range []string{
		`surge_http_requests_total{code="2xx",route="POST /items"} 1`,
		`surge_http_requests_total{code="2xx",route="GET /items/{id}"} 1`,
		`surge_http_requests_total{code="4xx",route="GET /items/{id}"} 1`,
		`surge_http_request_duration_seconds_count{route="GET /items/{id}"} 2`,
		`surge_http_in_flight_requests `,
		`surge_store_operation_duration_seconds_count{op="create",outcome="ok"} 1`,
		`surge_store_operation_duration_seconds_count{op="get",outcome="not_found"} 1`,
		`surge_store_commit_batch_size_count `,
		`go_goroutines `,
	} {
		if !bytes.Contains(metrics, []byte(want)) {
			t.Errorf("/metrics lacks %q", want)
		}
	}
	if code, _, _ := do(t, "GET", p.admin+"/debug/pprof/", nil); code != 200 {
		t.Errorf("/debug/pprof/: got %d", code)
	}
	if code, _, _ := do(t, "GET", p.admin+"/debug/pprof/heap?debug=1", nil); code != 200 {
		t.Errorf("/debug/pprof/heap: got %d", code)
	}

	p.stop(t)
	var found bool
	for _, rec := range logRecords(t, p.logs.String()) {
		if rec["msg"] == "request" && rec["request_id"] == "req-42" {
			found = true
			want := map[string]any{"method": "POST", "route": "POST /items", "status": 201.0}
			for k, v := range want {
				if rec[k] != v {
					t.Errorf("request log %s: got %v, want %v", k, rec[k], v)
				}
			}
			if _, ok := rec["duration"]; !ok {
				t.Error("request log has no duration")
			}
		}
	}
	if !found {
		t.Errorf("no request log with the request id; logs:\n%s", p.logs.String())
	}
}

func TestServeAdminDisabled(t *testing.T) {
	p := startInProcess(t, "--admin-addr", "")
	if p.admin != "" {
		t.Errorf("admin listener at %s, want none", p.admin)
	}
}

// ack is an acknowledged write: the item's id, version and attribute v.
type ack struct {
	id      string
	version int64
	v       string
}

// writeLoad runs writers against the bases until stop is closed or n
// writes per writer are acknowledged. Each writer creates items and updates
// each once; every 2xx answer is recorded as an ack, latest per id.
func writeLoad(bases []string, writers, n int, stop <-chan struct{}) map[string]ack {
	var mu sync.Mutex
	acks := map[string]ack{}
	var wg sync.WaitGroup
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			base := bases[w%len(bases)]
			for i := 0; i < n; i++ {
				select {
				case <-stop:
					return
				default:
				}
				id := fmt.Sprintf("w%d-%d", w, i)
				v := fmt.Sprintf("%x", rand.Uint64())
				code, _, body, err := tryDo("POST", base+"/items", map[string]any{"id": id, "v": v, "pad": strings.Repeat("x", 200)})
				if err != nil || code != 201 {
					continue
				}
				var it struct{ Version int64 }
				_ = json.Unmarshal(body, &it)
				mu.Lock()
				acks[id] = ack{id, it.Version, v}
				mu.Unlock()
				v2 := v + "-2"
				code, _, body, err = tryDo("PUT", base+"/items/"+id, map[string]any{"v": v2})
				if err != nil || code != 200 {
					continue
				}
				_ = json.Unmarshal(body, &it)
				mu.Lock()
				acks[id] = ack{id, it.Version, v2}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	return acks
}

// checkAcks checks that base serves every acknowledged write: the item
// exists at the acknowledged version or a later one (a write in flight at
// a crash may have landed unacknowledged), with the acknowledged content
// at that version.
func checkAcks(t *testing.T, base string, acks map[string]ack) {
	t.Helper()
	for _, a := range acks {
		code, _, body := do(t, "GET", base+"/items/"+a.id, nil)
		if code != 200 {
			t.Errorf("acknowledged item %s: got %d %s", a.id, code, body)
			continue
		}
		var it struct {
			Version int64
			V       string
		}
		if err := json.Unmarshal(body, &it); err != nil {
			t.Fatal(err)
		}
		if it.Version < a.version || (it.Version == a.version && it.V != a.v) {
			t.Errorf("item %s: got version %d v=%q, want version %d v=%q", a.id, it.Version, it.V, a.version, a.v)
		}
	}
}

func TestServeKill9LosesNoAcknowledgedWrite(t *testing.T) {
	data := t.TempDir()
	p := startProcess(t, "serve", "--addr", "127.0.0.1:0", "--admin-addr", "", "--data", data, "--access-log=false")
	stop := make(chan struct{})
	var killed atomic.Bool
	go func() {
		// Kill in the middle of the load.
		time.Sleep(1500 * time.Millisecond)
		killed.Store(true)
		_ = p.cmd.Process.Signal(syscall.SIGKILL)
		close(stop)
	}()
	acks := writeLoad([]string{p.base}, 8, 100000, stop)
	<-p.exited
	if !killed.Load() || len(acks) < 20 {
		t.Fatalf("only %d acknowledged writes before the kill; the test needs a load in flight", len(acks))
	}
	t.Logf("%d items acknowledged before kill -9", len(acks))

	q := startProcess(t, "serve", "--addr", "127.0.0.1:0", "--admin-addr", "", "--data", data, "--access-log=false")
	checkAcks(t, q.base, acks)
	if code := q.signal(t, syscall.SIGTERM); code != 0 {
		t.Errorf("exit code %d after SIGTERM, want 0", code)
	}
	checkIntegrity(t, filepath.Join(data, "items.db"))
}

func TestServeTwoProcessesOneFile(t *testing.T) {
	data := t.TempDir()
	args := []string{"serve", "--addr", "127.0.0.1:0", "--admin-addr", "", "--data", data, "--access-log=false"}
	a := startProcess(t, args...)
	b := startProcess(t, args...)
	bases := []string{a.base, b.base}

	acks := writeLoad(bases, 8, 40, nil)
	if len(acks) != 8*40 {
		t.Errorf("%d of %d writes acknowledged", len(acks), 8*40)
	}
	// Each process sees every write, whichever process took it.
	checkAcks(t, a.base, acks)
	checkAcks(t, b.base, acks)

	// Optimistic concurrency holds across processes: of two PUTs with one
	// If-Match, one to each process, exactly one wins.
	for i := range 20 {
		id := fmt.Sprintf("race%d", i)
		_, h, _ := do(t, "POST", a.base+"/items", map[string]any{"id": id})
		etag := h.Get("ETag")
		codes := make(chan int, 2)
		for _, base := range bases {
			go func() {
				code, _, _, _ := tryDo("PUT", base+"/items/"+id, map[string]any{"by": base}, "If-Match", etag)
				codes <- code
			}()
		}
		c1, c2 := <-codes, <-codes
		if !(c1 == 200 && c2 == 412 || c1 == 412 && c2 == 200) {
			t.Errorf("%s: two PUTs with one If-Match got %d and %d, want 200 and 412", id, c1, c2)
		}
	}
	// Listing from either process pages through everything.
	for _, base := range bases {
		seen := map[string]bool{}
		cursor := ""
		for range 100 {
			_, _, body := do(t, "GET", base+"/items?limit=37&cursor="+cursor, nil)
			var page struct {
				Items []struct{ ID string }
				Next  string
			}
			if err := json.Unmarshal(body, &page); err != nil {
				t.Fatal(err)
			}
			for _, it := range page.Items {
				if seen[it.ID] {
					t.Fatalf("%s listed twice", it.ID)
				}
				seen[it.ID] = true
			}
			if cursor = page.Next; cursor == "" {
				break
			}
		}
		for id := range acks {
			if !seen[id] {
				t.Errorf("%s: %s missing from the listing", base, id)
			}
		}
	}
	if code := a.signal(t, syscall.SIGTERM); code != 0 {
		t.Errorf("exit code %d", code)
	}
	if code := b.signal(t, syscall.SIGTERM); code != 0 {
		t.Errorf("exit code %d", code)
	}
	checkIntegrity(t, filepath.Join(data, "items.db"))
}

// checkIntegrity runs SQLite's integrity check on the database at path.
func checkIntegrity(t *testing.T, path string) {
	t.Helper()
	db, err := sqlite3.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	st, _, err := db.Prepare("PRAGMA integrity_check")
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	var res []string
	for st.Step() {
		res = append(res, st.ColumnText(0))
	}
	if err := st.Err(); err != nil {
		t.Fatal(err)
	}
	if len(res) != 1 || res[0] != "ok" {
		t.Errorf("integrity_check: %v", res)
	}
}
