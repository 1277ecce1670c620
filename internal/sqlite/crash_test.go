package sqlite_test

import (
	"bufio"
	"encoding/json"
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
	"github.com/surgehq/surge/internal/sqlite"
)

// crashEnv, when set, makes TestCrashChild the child of TestCrash: it
// names the database file to write to.
const crashEnv = "SURGE_SQLITE_CRASH_CHILD"

// ack is one acknowledged write as the child reports it.
type ack struct {
	ID      string          `json:"id"`
	Version int64           `json:"version"`
	Rev     string          `json:"rev"`
	Attrs   json.RawMessage `json:"attrs"`
}

// TestCrash runs a child process that writes to a store and reports each
// write once it is acknowledged, kills it with SIGKILL in the middle of
// the load, and checks that every acknowledged write is in the database
// with its content.
func TestCrash(t *testing.T) {
	if os.Getenv(crashEnv) != "" {
		t.Skip("in the child")
	}
	if runtime.GOOS == "windows" || runtime.GOOS == "js" || runtime.GOOS == "wasip1" {
		t.Skip("needs processes and SIGKILL")
	}
	path := filepath.Join(t.TempDir(), "items.db")
	cmd := exec.Command(os.Args[0], "-test.run=^TestCrashChild$", "-test.count=1")
	cmd.Env = append(os.Environ(), crashEnv+"="+path)
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	killed := false
	defer func() {
		if !killed {
			cmd.Process.Kill()
			cmd.Wait()
		}
	}()

	// Read acknowledgements; kill the child once enough have come, while
	// it is still writing.
	acked := map[string]ack{}
	lines := bufio.NewScanner(out)
	lines.Buffer(make([]byte, 64<<10), 64<<10)
	n := 0
	deadline := time.AfterFunc(30*time.Second, func() { cmd.Process.Kill() })
	defer deadline.Stop()
	for lines.Scan() {
		line := lines.Text()
		if !strings.HasPrefix(line, "ack ") {
			continue
		}
		var a ack
		if err := json.Unmarshal([]byte(line[4:]), &a); err != nil {
			t.Fatalf("child said %q: %v", line, err)
		}
		if prev, ok := acked[a.ID]; !ok || a.Version > prev.Version {
			acked[a.ID] = a
		}
		if n++; n == 3000 && !killed {
			if err := cmd.Process.Kill(); err != nil { // SIGKILL
				t.Fatal(err)
			}
			killed = true
		}
	}
	// Lines the child wrote before it died are still read to the end.
	cmd.Wait()
	if !killed {
		t.Fatalf("the child ended after %d acknowledgements before it was killed", n)
	}
	t.Logf("%d acknowledged writes on %d items before SIGKILL", n, len(acked))

	integrityCheck(t, path)
	s := MustOpenPath(t, path)
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
			// A write committed but not yet reported when the child died.
		default:
			t.Fatalf("acknowledged %s version %d: got version %d", id, a.Version, got.Version)
		}
	}
}

// TestCrashChild is the child of TestCrash: it writes until it is killed,
// printing each acknowledged write. Each writer creates items and replaces
// them, one write at a time, so a write's report follows its
// acknowledgement.
func TestCrashChild(t *testing.T) {
	path := os.Getenv(crashEnv)
	if path == "" {
		t.Skip("run by TestCrash")
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
		// One write call per line, so that a kill never leaves half a
		// line that parses.
		os.Stdout.Write(append(append([]byte("ack "), line...), '\n'))
	}
	var wg sync.WaitGroup
	stop := time.Now().Add(20 * time.Second) // the parent kills it long before
	for w := 0; w < 8; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; time.Now().Before(stop); i++ {
				key := items.Key{Tenant: "t", ID: fmt.Sprintf("w%d-%05d", w, i)}
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
	wg.Wait()
	s.Close()
}
