package sqlite_test

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/surgehq/surge/internal/items"
	"github.com/surgehq/surge/internal/store/sqlite"
)

// childEnv, when set, makes TestWriterChild a writer child process of
// TestCrash or TestTwoProcesses: it names the database file; prefixEnv
// names the child's item ids.
const (
	childEnv  = "SURGE_SQLITE_TEST_CHILD"
	prefixEnv = "SURGE_SQLITE_TEST_PREFIX"
)

// counterKey is the item every child increments with conditional writes.
var counterKey = items.Key{Tenant: "t", ID: "counter"}

// ack is one acknowledged write as a child reports it.
type ack struct {
	ID      string          `json:"id"`
	Version int64           `json:"version"`
	Rev     string          `json:"rev"`
	Attrs   json.RawMessage `json:"attrs"`
}

// child is a writer child process and what it acknowledged.
type child struct {
	cmd    *exec.Cmd
	acks   chan ack
	killed bool
}

// startChild starts the test binary as a writer child on path.
func startChild(t *testing.T, path, prefix string) *child {
	t.Helper()
	if runtime.GOOS == "windows" || runtime.GOOS == "js" || runtime.GOOS == "wasip1" {
		t.Skip("needs processes and SIGKILL")
	}
	cmd := exec.Command(os.Args[0], "-test.run=^TestWriterChild$", "-test.count=1")
	cmd.Env = append(os.Environ(), childEnv+"="+path, prefixEnv+"="+prefix)
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	c := &child{cmd: cmd, acks: make(chan ack, 1024)}
	// A child that outlives the test's patience is killed.
	limit := time.AfterFunc(60*time.Second, func() { cmd.Process.Kill() })
	t.Cleanup(func() {
		limit.Stop()
		cmd.Process.Kill()
	})
	go func() {
		defer close(c.acks)
		lines := bufio.NewScanner(out)
		lines.Buffer(make([]byte, 64<<10), 64<<10)
		for lines.Scan() {
			line := lines.Text()
			if !strings.HasPrefix(line, "ack ") {
				continue
			}
			var a ack
			if err := json.Unmarshal([]byte(line[4:]), &a); err != nil {
				t.Errorf("child said %q: %v", line, err)
				continue
			}
			c.acks <- a
		}
		cmd.Wait()
	}()
	return c
}

// kill sends SIGKILL to the child.
func (c *child) kill(t *testing.T) {
	t.Helper()
	if err := c.cmd.Process.Kill(); err != nil && !errors.Is(err, os.ErrProcessDone) {
		t.Fatal(err)
	}
	c.killed = true
}

// checkAcks checks that every acknowledged write is in the store: the
// version acknowledged with its rev and content, or the one write after it
// that the child made but had not yet reported when it died.
func checkAcks(t *testing.T, s *sqlite.Store, acked map[string]ack) {
	t.Helper()
	for id, a := range acked {
		got, err := s.Get(ctx, items.Key{Tenant: "t", ID: id}, items.ReadOptions{Consistent: true})
		if err != nil {
			t.Fatalf("acknowledged %s (version %d): %v", id, a.Version, err)
		}
		switch {
		case got.Version == a.Version:
			if got.Rev != a.Rev || string(got.Attrs) != string(a.Attrs) {
				t.Fatalf("acknowledged %s version %d: got rev %s %s, want %s %s", id, a.Version, got.Rev, got.Attrs, a.Rev, a.Attrs)
			}
		case got.Version == a.Version+1:
			// Committed, but not yet reported when the child died.
		default:
			t.Fatalf("acknowledged %s version %d: got version %d", id, a.Version, got.Version)
		}
	}
}

// record keeps the latest acknowledged version of each item.
func record(acked map[string]ack, a ack) {
	if prev, ok := acked[a.ID]; !ok || a.Version > prev.Version {
		acked[a.ID] = a
	}
}

// TestCrash runs a child process that writes to a store and reports each
// write once it is acknowledged, kills it with SIGKILL in the middle of
// the load, and checks that every acknowledged write is in the database
// with its content and that the file is sound.
func TestCrash(t *testing.T) {
	if os.Getenv(childEnv) != "" {
		t.Skip("in a child")
	}
	path := filepath.Join(t.TempDir(), "items.db")
	c := startChild(t, path, "a")
	acked := map[string]ack{}
	n := 0
	for a := range c.acks {
		record(acked, a)
		if n++; n == 3000 {
			c.kill(t)
		}
		// Reports the child wrote before it died are still read, to the end.
	}
	if !c.killed {
		t.Fatalf("the child ended after %d acknowledgements, before it was killed", n)
	}
	t.Logf("%d acknowledged writes on %d items before SIGKILL", n, len(acked))
	integrityCheck(t, path)
	checkAcks(t, MustOpenPath(t, path), acked)
}

// TestTwoProcesses runs two writer processes on one file at once, each
// creating and replacing its own items and both incrementing one counter
// with conditional writes, then kills both: every acknowledged write is
// there, no two increments read the same value (no lost update across
// processes), and the file is sound.
func TestTwoProcesses(t *testing.T) {
	if os.Getenv(childEnv) != "" {
		t.Skip("in a child")
	}
	path := filepath.Join(t.TempDir(), "items.db")
	// Create the file first, so the children race on writes, not on
	// creating the schema (which TestOpenRace covers).
	s, err := sqlite.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	s.Close()
	children := []*child{startChild(t, path, "a"), startChild(t, path, "b")}
	acked := map[string]ack{}
	counts := map[string]int{}
	var mu sync.Mutex
	var wg sync.WaitGroup
	for _, c := range children {
		wg.Add(1)
		go func() {
			defer wg.Done()
			n := 0
			for a := range c.acks {
				mu.Lock()
				if a.ID == counterKey.ID {
					counts[string(a.Attrs)]++
				} else {
					record(acked, a)
				}
				mu.Unlock()
				if n++; n == 1500 {
					c.kill(t)
				}
			}
		}()
	}
	wg.Wait()
	for i, c := range children {
		if !c.killed {
			t.Fatalf("child %d ended before it was killed", i)
		}
	}
	maxAcked := -1
	for v, n := range counts {
		if n > 1 {
			t.Fatalf("counter value %s acknowledged %d times: an update was lost", v, n)
		}
		var c struct{ N int }
		if err := json.Unmarshal([]byte(v), &c); err != nil {
			t.Fatal(err)
		}
		maxAcked = max(maxAcked, c.N)
	}
	t.Logf("%d acknowledged item writes and %d counter writes from two processes", len(acked), len(counts))
	integrityCheck(t, path)
	s = MustOpenPath(t, path)
	checkAcks(t, s, acked)
	got, err := s.Get(ctx, counterKey, items.ReadOptions{Consistent: true})
	if err != nil {
		t.Fatal(err)
	}
	var c struct{ N int }
	if err := json.Unmarshal(got.Attrs, &c); err != nil {
		t.Fatal(err)
	}
	// Every increment is one write after the create: a lost update would
	// leave the value behind the version.
	if c.N < maxAcked || got.Version != int64(c.N)+1 {
		t.Fatalf("counter: got %d at version %d, highest acknowledged %d", c.N, got.Version, maxAcked)
	}
}

// TestOpenRace opens one new file from several Stores at once: the schema
// is made once and every Store works.
func TestOpenRace(t *testing.T) {
	path := filepath.Join(t.TempDir(), "new", "items.db")
	var wg sync.WaitGroup
	stores := make([]*sqlite.Store, 4)
	errs := make([]error, len(stores))
	for i := range stores {
		wg.Add(1)
		go func() {
			defer wg.Done()
			stores[i], errs[i] = sqlite.Open(path)
		}()
	}
	wg.Wait()
	for i, s := range stores {
		if errs[i] != nil {
			t.Fatalf("open %d: %v", i, errs[i])
		}
		t.Cleanup(func() { s.Close() })
		if _, err := s.Create(ctx, items.Key{Tenant: "t", ID: fmt.Sprint("s", i)}, nil, nil); err != nil {
			t.Fatalf("create through store %d: %v", i, err)
		}
	}
	page, err := stores[0].List(ctx, "t", items.ListQuery{Limit: 10})
	if err != nil || len(page.Items) != len(stores) {
		t.Fatalf("list: got %d items, %v", len(page.Items), err)
	}
}

// TestWriterChild is the writer child process of TestCrash and
// TestTwoProcesses: it writes until it is killed and prints each write
// after it is acknowledged. Each writer goroutine creates items and
// replaces them, one write at a time, so a write's report follows its
// acknowledgement; one goroutine increments the shared counter.
func TestWriterChild(t *testing.T) {
	path, prefix := os.Getenv(childEnv), os.Getenv(prefixEnv)
	if path == "" {
		t.Skip("run by TestCrash and TestTwoProcesses")
	}
	s, err := sqlite.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	report := func(it *items.Item) {
		line, _ := json.Marshal(ack{ID: it.ID, Version: it.Version, Rev: it.Rev, Attrs: json.RawMessage(it.Attrs)})
		mu.Lock()
		defer mu.Unlock()
		// One write call per line (well under the pipe's atomic size), so
		// that a kill never leaves half a line that parses.
		os.Stdout.Write(append(append([]byte("ack "), line...), '\n'))
	}
	var wg sync.WaitGroup
	stop := time.Now().Add(30 * time.Second) // the parent kills it long before
	for w := 0; w < 8; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; time.Now().Before(stop); i++ {
				key := items.Key{Tenant: "t", ID: fmt.Sprintf("%s-w%d-%05d", prefix, w, i)}
				attrs := items.Attributes(fmt.Sprintf(`{"w":%d,"i":%d,"pad":"%s"}`, w, i, strings.Repeat("p", i%200)))
				c, err := s.Create(ctx, key, attrs, nil)
				if err != nil {
					t.Errorf("create: %v", err)
					return
				}
				report(c.Item)
				it := c.Item
				for v := 0; v < 2; v++ {
					attrs := items.Attributes(fmt.Sprintf(`{"w":%d,"i":%d,"v":%d}`, w, i, v))
					if it, err = s.Replace(ctx, key, attrs, items.Condition{IfRev: it.Rev}); err != nil {
						t.Errorf("replace: %v", err)
						return
					}
					report(it)
				}
			}
		}()
	}
	wg.Add(1)
	go func() {
		defer wg.Done()
		for time.Now().Before(stop) {
			cur, err := s.Get(ctx, counterKey, items.ReadOptions{Consistent: true})
			if items.ErrorCode(err) == items.ENOTFOUND {
				if c, err := s.Create(ctx, counterKey, items.Attributes(`{"n":0}`), nil); err == nil {
					report(c.Item)
				} else if items.ErrorCode(err) != items.ECONFLICT {
					t.Errorf("create counter: %v", err)
					return
				}
				continue
			}
			if err != nil {
				t.Errorf("get counter: %v", err)
				return
			}
			var v struct{ N int }
			if err := json.Unmarshal(cur.Attrs, &v); err != nil {
				t.Errorf("counter %s: %v", cur.Attrs, err)
				return
			}
			it, err := s.Replace(ctx, counterKey, items.Attributes(fmt.Sprintf(`{"n":%d}`, v.N+1)), items.Condition{IfRev: cur.Rev})
			switch items.ErrorCode(err) {
			case "":
				report(it)
			case items.EPRECONDITION:
			default:
				t.Errorf("increment counter: %v", err)
				return
			}
		}
	}()
	wg.Wait()
	s.Close()
}
