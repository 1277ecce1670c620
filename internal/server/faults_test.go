package server_test

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/surgehq/surge/internal/api/rest"
	"github.com/surgehq/surge/internal/server"
	"github.com/surgehq/surge/internal/testkit/manualclock"
)

const internalBody = `{"code":"internal","message":"Internal error."}`

// item reads an item's version and v attribute; 0 when it is absent.
func item(t *testing.T, base, id string) (version int64, v string) {
	t.Helper()
	code, _, body := do(t, "GET", base+"/items/"+id, nil)
	if code == 404 {
		return 0, ""
	}
	var it struct {
		Version int64
		V       string
	}
	if code != 200 || json.Unmarshal(body, &it) != nil {
		t.Fatalf("GET %s: got %d %s", id, code, body)
	}
	return it.Version, it.V
}

// A store failing with errors and throttling gives the contract's error
// bodies (500 with nothing of the cause, 503 with Retry-After), writes
// nothing of a failed request, and the service recovers by itself when
// the fault's duration is over.
func TestStoreFaultsGiveCleanErrorsAndNoPartialWrite(t *testing.T) {
	clock := manualclock.New(time.Date(2026, 3, 2, 7, 0, 0, 0, time.UTC))
	for _, tc := range []struct {
		name, spec string
		status     int
		body       string
	}{
		{"Error", "store:error=1,ops=create+replace+delete,duration=1m", 500, internalBody},
		{"Throttle", "store:throttle=1,ops=create+replace+delete,duration=1m", 503,
			`{"code":"unavailable","message":"The store is throttling requests; retry shortly."}`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			// The fault starts when the store is opened; the item it
			// guards is written below it, through another server on the
			// same file.
			data := t.TempDir()
			seed := start(t, func(c *server.Config) { c.Data = data })
			do(t, "POST", seed.base+"/items", map[string]any{"id": "a", "v": "one"})
			seed.stop(t)

			p := start(t, func(c *server.Config) { c.Data, c.Now, c.Fault.Spec = data, clock.Now, tc.spec })
			for _, r := range []struct{ method, path string }{
				{"PUT", "/items/a"}, {"PATCH", "/items/a"}, {"DELETE", "/items/a"}, {"POST", "/items"},
			} {
				code, h, body := do(t, r.method, p.base+r.path, map[string]any{"id": "a", "v": "two"},
					"Content-Type", map[bool]string{true: "application/merge-patch+json", false: "application/json"}[r.method == "PATCH"])
				if code != tc.status || string(body) != tc.body || rest.LimitSource(h) != "" ||
					(code == 503) != (h.Get("Retry-After") != "") {
					t.Errorf("%s %s: got %d %v %s, want %d %s", r.method, r.path, code, h, body, tc.status, tc.body)
				}
			}
			code, _, body := do(t, "POST", p.base+"/items/_batch", map[string]any{"operations": []map[string]any{
				{"op": "create", "id": "b", "item": map[string]any{"v": "b"}},
				{"op": "put", "id": "a", "item": map[string]any{"v": "batch"}},
			}})
			if code != 200 || strings.Count(string(body), fmt.Sprintf(`"status":%d`, tc.status)) != 2 || strings.Contains(string(body), "injected") {
				t.Errorf("batch: got %d %s", code, body)
			}
			// Nothing of a failed request was written.
			if v, s := item(t, p.base, "a"); v != 1 || s != "one" {
				t.Errorf("item a after failed writes: got version %d v=%q, want 1 one", v, s)
			}
			if v, _ := item(t, p.base, "b"); v != 0 {
				t.Errorf("item b of a failed create exists at version %d", v)
			}
			if tc.status == 500 && !strings.Contains(p.logs.String(), "injected fault") {
				t.Errorf("the log does not say why the requests failed:\n%s", p.logs)
			}

			clock.Advance(time.Minute) // the fault is over: no restart
			if code, _, body := do(t, "PUT", p.base+"/items/a", map[string]any{"v": "three"}); code != 200 {
				t.Errorf("PUT after the fault: got %d %s", code, body)
			}
			if code, _, body := do(t, "POST", p.base+"/items", map[string]any{"id": "b", "v": "b"}); code != 201 {
				t.Errorf("POST after the fault: got %d %s", code, body)
			}
			if v, s := item(t, p.base, "a"); v != 2 || s != "three" {
				t.Errorf("item a after recovery: got version %d v=%q, want 2 three", v, s)
			}
		})
	}
}

// Under concurrent writers with a share of the store's operations
// failing, every failure is a clean contract error, every acknowledged
// write is read back, and every failed create left nothing.
func TestStoreFaultsUnderLoad(t *testing.T) {
	clock := manualclock.New(time.Date(2026, 3, 2, 7, 0, 0, 0, time.UTC))
	p := start(t, func(c *server.Config) {
		c.Now, c.Fault.Spec = clock.Now, "store:error=0.2,throttle=0.1,latency=1ms,duration=1h"
	})
	const writers, each = 8, 40
	type outcome struct {
		id      string
		created bool
		version int64
		v       string
	}
	var mu sync.Mutex
	var outcomes []outcome
	statuses := map[int]int{}
	var wg sync.WaitGroup
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range each {
				id := fmt.Sprintf("w%d-%d", w, i)
				v := fmt.Sprintf("%x", rand.Uint64())
				o := outcome{id: id}
				code, _, body, err := tryDo("POST", p.base+"/items", map[string]any{"id": id, "v": v})
				if err == nil && code == 201 {
					o.created, o.version, o.v = true, 1, v
					if code2, _, _, err := tryDo("PUT", p.base+"/items/"+id, map[string]any{"v": v + "+"}); err == nil && code2 == 200 {
						o.version, o.v = 2, v+"+"
					} else if err == nil {
						checkFaultBody(t, code2, nil)
					}
				} else if err == nil {
					checkFaultBody(t, code, body)
				} else {
					t.Errorf("POST %s: %v", id, err)
				}
				mu.Lock()
				statuses[code]++
				outcomes = append(outcomes, o)
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if statuses[500] == 0 || statuses[503] == 0 || statuses[201] == 0 {
		t.Fatalf("got statuses %v; the test needs successes and both kinds of failure", statuses)
	}
	clock.Advance(time.Hour) // the fault ends: reads of the truth are not faulted
	for _, o := range outcomes {
		if v, s := item(t, p.base, o.id); v != o.version || s != o.v {
			t.Errorf("item %s: got version %d v=%q, want %d %q (created=%v)", o.id, v, s, o.version, o.v, o.created)
		}
	}
	t.Logf("statuses %v", statuses)
}

// checkFaultBody checks that a failed write's answer is a contract error.
func checkFaultBody(t *testing.T, code int, body []byte) {
	switch {
	case code == 500 && (body == nil || string(body) == internalBody):
	case code == 503 && (body == nil || strings.Contains(string(body), `"code":"unavailable"`)):
	default:
		t.Errorf("a faulted write: got %d %s, want 500 %s or 503 unavailable", code, body, internalBody)
	}
}

func TestFaultFlagIsRefusedForProduction(t *testing.T) {
	for _, tc := range []struct {
		name   string
		adjust func(*server.Config)
		want   string // "" for no error
	}{
		{"Off", func(c *server.Config) { c.Store = "dynamodb://items" }, ""},
		{"Local", func(c *server.Config) { c.Fault.Spec = "store:error=0.1" }, ""},
		{"LocalDynamoDB", func(c *server.Config) {
			c.Store, c.Fault.Spec = "dynamodb://items?endpoint=http://127.0.0.1:4567", "store:error=0.1"
		}, ""},
		{"AWS", func(c *server.Config) { c.Store, c.Fault.Spec = "dynamodb://items", "store:error=0.1" }, "a DynamoDB table on AWS"},
		{"RemoteEndpoint", func(c *server.Config) {
			c.Store, c.Fault.Spec = "dynamodb://items?endpoint=https://dynamodb.example.com", "store:latency=5ms"
		}, "not loopback"},
		{"PublicAddr", func(c *server.Config) { c.Addr, c.Fault.Spec = "0.0.0.0:8080", "store:throttle=0.5" }, "is not a loopback address"},
		{"Allowed", func(c *server.Config) {
			c.Addr, c.Store, c.Fault.Spec, c.Fault.AllowProduction = ":8080", "dynamodb://items", "store:error=0.1", true
		}, ""},
		{"Malformed", func(c *server.Config) { c.Fault.Spec = "store:error=lots" }, "--fault"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := server.DefaultConfig()
			tc.adjust(&cfg)
			errs := cfg.Validate()
			switch {
			case tc.want == "" && len(errs) > 0:
				t.Errorf("got %v, want no error", errs)
			case tc.want != "" && (len(errs) != 1 || !strings.Contains(errs[0].Error(), tc.want)):
				t.Errorf("got %v, want an error saying %q", errs, tc.want)
			case tc.want != "" && tc.name != "Malformed" && !strings.Contains(errs[0].Error(), "--fault-allow-production"):
				t.Errorf("got %v, want it to name --fault-allow-production", errs)
			}
		})
	}
}

// A database file that cannot be opened, or is not a database, stops the
// start with a message that says which file and why.
func TestUnusableDatabaseStopsStartup(t *testing.T) {
	for _, tc := range []struct {
		name    string
		prepare func(t *testing.T, path string)
		want    string
	}{
		{"NotADatabase", func(t *testing.T, path string) {
			writeFile(t, path, strings.Repeat("these are not the pages of a database\n", 200), 0o644)
		}, "is not an SQLite database"},
		{"DamagedAfterTheHeader", func(t *testing.T, path string) {
			writeFile(t, path, "SQLite format 3\x00"+strings.Repeat("\xff", 8192), 0o644)
		}, "is not an SQLite database"},
		{"ShortGarbage", func(t *testing.T, path string) { writeFile(t, path, "hello", 0o644) }, "is not an SQLite database"},
		{"Directory", func(t *testing.T, path string) {
			if err := os.Mkdir(path, 0o755); err != nil {
				t.Fatal(err)
			}
		}, "is a directory"},
		{"Permissions", func(t *testing.T, path string) {
			writeFile(t, path, "", 0o000)
			if f, err := os.OpenFile(path, os.O_RDWR, 0); err == nil {
				f.Close()
				t.Skip("this process may open a file of mode 0000 (root): the surge binary's test runs it as another user")
			}
		}, "permission denied"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			data := t.TempDir()
			path := filepath.Join(data, "items.db")
			tc.prepare(t, path)
			cfg := server.DefaultConfig()
			cfg.Addr, cfg.AdminAddr, cfg.Data = "127.0.0.1:0", "", data
			s, err := server.New(context.Background(), cfg)
			if err == nil {
				s.Close()
				t.Fatal("server.New succeeded")
			}
			if !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), path) {
				t.Errorf("got %q, want it to name %s and say %q", err, path, tc.want)
			}
		})
	}
}

func writeFile(t *testing.T, path, content string, mode os.FileMode) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), mode); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(path, mode); err != nil {
		t.Fatal(err)
	}
}
