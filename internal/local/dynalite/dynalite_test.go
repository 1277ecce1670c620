package dynalite

import (
	"context"
	"errors"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// requireNode skips where node and npm are missing (and fails where the
// tests must run them).
func requireNode(t *testing.T) {
	t.Helper()
	for _, p := range []string{"node", "npm"} {
		if _, err := exec.LookPath(p); err != nil {
			if os.Getenv("SURGE_REQUIRE_DYNALITE") == "1" {
				t.Fatalf("%s is not installed", p)
			}
			t.Skipf("SKIP: %s is not installed", p)
		}
	}
}

// TestEmbedded installs the copy of the engine embedded in the program, as
// a surge binary outside its checkout does, and runs it.
func TestEmbedded(t *testing.T) {
	requireNode(t)
	if testing.Short() {
		t.Skip("installs dynalite from the npm registry")
	}
	cache := t.TempDir()
	dir, err := Options{CacheDir: cache}.embedded()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"serve.js", "package.json", "package-lock.json"} {
		want, _ := os.ReadFile(filepath.Join("..", "..", "..", "tools", "dynalite", f))
		got, err := os.ReadFile(filepath.Join(dir, f))
		if err != nil || string(got) != string(want) {
			t.Errorf("%s: the embedded copy differs from tools/dynalite's (%v)", f, err)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), InstallTimeout)
	defer cancel()
	s, err := Start(ctx, Options{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	resp, err := http.Get(s.Endpoint + "/")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	// A second install finds it in place.
	again, err := Options{CacheDir: cache}.embedded()
	if err != nil || again != dir {
		t.Errorf("second install: %q %v, want %q", again, err, dir)
	}
}

// TestFinds checks where the files are looked for: a checkout's
// tools/dynalite above the working directory.
func TestFinds(t *testing.T) {
	dir, err := Options{}.dir()
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasSuffix(dir, filepath.Join("tools", "dynalite")) {
		t.Errorf("got %s, want the checkout's tools/dynalite", dir)
	}
	if _, err := (Options{Dir: t.TempDir()}).dir(); err == nil {
		t.Error("a directory without serve.js is taken")
	}
}

// TestNoNode checks the message where node is missing.
func TestNoNode(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	t.Setenv("PATH", t.TempDir())
	_, err := Start(ctx, Options{})
	if !errors.Is(err, ErrNoNode) || !strings.Contains(err.Error(), "apt-get install nodejs npm") {
		t.Errorf("got %v", err)
	}
}
