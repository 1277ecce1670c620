package server_test

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/surgehq/surge/internal/server"
)

// mountTmpfs mounts a tmpfs of size bytes on a new directory and returns
// it; it is unmounted when t ends. Mounting needs root (or the
// capability): without it the test is skipped, unless
// SURGE_REQUIRE_MOUNT=1 (CI) makes that a failure.
func mountTmpfs(t *testing.T, size int64) string {
	t.Helper()
	dir := t.TempDir()
	err := syscall.Mount("tmpfs", dir, "tmpfs", syscall.MS_NOSUID|syscall.MS_NODEV, fmt.Sprintf("size=%d,mode=0755", size))
	if err != nil {
		if os.Getenv("SURGE_REQUIRE_MOUNT") == "1" {
			t.Fatalf("mount a tmpfs (SURGE_REQUIRE_MOUNT=1): %v", err)
		}
		t.Skipf("skipped: mounting a small file system for the test is not allowed here (%v); run as root, or set SURGE_REQUIRE_MOUNT=1 to make this a failure", err)
	}
	t.Cleanup(func() {
		if err := syscall.Unmount(dir, syscall.MNT_DETACH); err != nil {
			t.Errorf("unmount %s: %v", dir, err)
		}
	})
	return dir
}

// fill writes a ballast file until the file system is full, and returns
// its path.
func fill(t *testing.T, dir string) string {
	t.Helper()
	path := filepath.Join(dir, "ballast")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	chunk := make([]byte, 4096)
	for {
		if _, err := f.Write(chunk); err != nil {
			if !errors.Is(err, syscall.ENOSPC) {
				t.Fatalf("fill %s: %v", dir, err)
			}
			return path
		}
	}
}

// A full disk while writing SQLite: writes get 503 with the contract's
// body and Retry-After, the log says the file system is full, nothing
// acknowledged is lost, nothing refused was written, and writing resumes
// once space returns, without a restart.
func TestDiskFullWhileWriting(t *testing.T) {
	dir := mountTmpfs(t, 4<<20)
	p := start(t, func(c *server.Config) { c.Data = dir })
	pad := strings.Repeat("x", 2000)
	for i := range 20 {
		if code, _, body := do(t, "POST", p.base+"/items", map[string]any{"id": fmt.Sprintf("before-%d", i), "pad": pad}); code != 201 {
			t.Fatalf("create before the disk is full: got %d %s", code, body)
		}
	}
	// Writers run while the file system fills up under them: each goes on
	// until it has been refused a few times (at most maxEach requests).
	const writers, maxEach, refusals = 8, 500, 3
	var mu sync.Mutex
	acked, refused := map[string]bool{}, map[string]bool{}
	statuses := map[int]int{}
	var wg sync.WaitGroup
	var ackedCount atomic.Int64
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			mine := 0
			for i := 0; i < maxEach && mine < refusals; i++ {
				id := fmt.Sprintf("full-%d-%d", w, i)
				code, h, body, err := tryDo("POST", p.base+"/items", map[string]any{"id": id, "pad": pad})
				if err != nil {
					t.Errorf("POST %s: %v", id, err)
					return
				}
				mu.Lock()
				statuses[code]++
				switch code {
				case 201:
					acked[id] = true
					ackedCount.Add(1)
				case 503:
					refused[id] = true
					mine++
					if string(body) != `{"code":"unavailable","message":"The store has no space left to write; retry later."}` ||
						h.Get("Retry-After") == "" {
						t.Errorf("refused write: got %v %s", h, body)
					}
				default:
					t.Errorf("POST %s on a full disk: got %d %s, want 201 or 503", id, code, body)
				}
				mu.Unlock()
			}
		}()
	}
	for deadline := time.Now().Add(30 * time.Second); ackedCount.Load() < 40 && time.Now().Before(deadline); {
		time.Sleep(time.Millisecond)
	}
	ballast := fill(t, dir)
	wg.Wait()
	if statuses[503] == 0 {
		t.Fatalf("got statuses %v: no write met the full disk", statuses)
	}
	// The cause is logged before the answer is written.
	if !strings.Contains(p.logs.String(), "the file system is full") || !strings.Contains(p.logs.String(), "no space left") {
		t.Errorf("the log does not say the file system is full:\n%s", p.logs)
	}
	// Reads go on while the disk is full.
	if code, _, _ := do(t, "GET", p.base+"/items/before-0", nil); code != 200 {
		t.Errorf("a read on a full disk: got %d", code)
	}

	if err := os.Remove(ballast); err != nil {
		t.Fatal(err)
	}
	for i := range 20 {
		id := fmt.Sprintf("after-%d", i)
		if code, _, body := do(t, "POST", p.base+"/items", map[string]any{"id": id, "pad": pad}); code != 201 {
			t.Fatalf("create once space returned: got %d %s", code, body)
		}
		acked[id] = true
	}
	for i := range 20 {
		acked[fmt.Sprintf("before-%d", i)] = true
	}
	check := func(base string) {
		for id := range acked {
			if code, _, _ := do(t, "GET", base+"/items/"+id, nil); code != 200 {
				t.Errorf("acknowledged item %s: got %d", id, code)
			}
		}
		for id := range refused {
			if code, _, _ := do(t, "GET", base+"/items/"+id, nil); code != 404 {
				t.Errorf("refused item %s: got %d, want 404", id, code)
			}
		}
	}
	check(p.base)
	// And after a restart on the same file.
	if err := p.stop(t); err != nil {
		t.Fatalf("stop: %v", err)
	}
	q := start(t, func(c *server.Config) { c.Data = dir })
	check(q.base)
	t.Logf("statuses on the full disk: %v; %d acknowledged in all", statuses, len(acked))
}
