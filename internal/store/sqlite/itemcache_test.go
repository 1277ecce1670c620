package sqlite_test

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"testing"

	"github.com/surgehq/surge/internal/items"
	"github.com/surgehq/surge/internal/store/sqlite"
)

const cacheChildEnv = "SURGE_SQLITE_CACHE_CHILD"

// TestItemCacheChild is the other process of TestItemCacheOtherProcess:
// it replaces the item with {"n":N} and exits.
func TestItemCacheChild(t *testing.T) {
	arg := os.Getenv(cacheChildEnv)
	if arg == "" {
		t.Skip("run by TestItemCacheOtherProcess")
	}
	path, n := filepath.Dir(arg), filepath.Base(arg)
	s := MustOpenPath(t, filepath.Join(path, "items.db"))
	if _, err := s.Replace(ctx, cacheKey, items.Attributes(`{"n":`+n+`}`), items.Condition{}); err != nil {
		t.Fatal(err)
	}
}

var cacheKey = items.Key{Tenant: "t", ID: "cached"}

// mustGetN reads the item twice (the second read may come from the cache)
// and fails unless both are version want with {"n":want-1}.
func mustGetN(t *testing.T, s *sqlite.Store, want int64) {
	t.Helper()
	for range 2 {
		it, err := s.Get(ctx, cacheKey, items.ReadOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if it.Version != want || string(it.Attrs) != fmt.Sprintf(`{"n":%d}`, want-1) {
			t.Fatalf("got version %d %s, want version %d: a stale read", it.Version, it.Attrs, want)
		}
	}
}

// A write by another process retires what the cache kept: the next Get
// reads it, never the item it replaced.
func TestItemCacheOtherProcess(t *testing.T) {
	if runtime.GOOS != "linux" && runtime.GOOS != "darwin" {
		t.Skip("the item cache is on where the WAL-index is mapped")
	}
	dir := t.TempDir()
	s := MustOpenPath(t, filepath.Join(dir, "items.db"))
	if _, err := s.Create(ctx, cacheKey, items.Attributes(`{"n":0}`), nil); err != nil {
		t.Fatal(err)
	}
	mustGetN(t, s, 1)
	hits := s.CacheHits()
	if hits == 0 {
		t.Fatal("a second read of an unchanged item was not answered from the cache")
	}
	for n := 1; n <= 5; n++ {
		cmd := exec.Command(os.Args[0], "-test.run=^TestItemCacheChild$", "-test.count=1")
		cmd.Env = append(os.Environ(), cacheChildEnv+"="+filepath.Join(dir, strconv.Itoa(n)))
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("child: %v\n%s", err, out)
		}
		mustGetN(t, s, int64(n+1))
	}
	if s.CacheHits() < hits+5 {
		t.Errorf("cache hits %d after five writes and reads, want at least %d", s.CacheHits(), hits+5)
	}
}

// Two Stores on one file, one writing while the other reads in a loop: a
// read that follows an acknowledged write never returns what it replaced.
func TestItemCacheOtherStore(t *testing.T) {
	path := filepath.Join(t.TempDir(), "items.db")
	a, b := MustOpenPath(t, path), MustOpenPath(t, path)
	if _, err := b.Create(ctx, cacheKey, items.Attributes(`{"n":0}`), nil); err != nil {
		t.Fatal(err)
	}
	for n := 1; n <= 300; n++ {
		mustGetN(t, a, int64(n))
		if _, err := b.Replace(ctx, cacheKey, items.Attributes(fmt.Sprintf(`{"n":%d}`, n)), items.Condition{}); err != nil {
			t.Fatal(err)
		}
	}
	mustGetN(t, a, 301)
	if (runtime.GOOS == "linux" || runtime.GOOS == "darwin") && a.CacheHits() < 300 {
		t.Errorf("cache hits %d, want one a write at least", a.CacheHits())
	}
	// Off, nothing is kept.
	c := MustOpenPath(t, path, sqlite.WithItemCache(0))
	mustGetN(t, c, 301)
	if c.CacheHits() != 0 {
		t.Errorf("a store without the cache answered %d reads from it", c.CacheHits())
	}
}
