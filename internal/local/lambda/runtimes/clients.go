package runtimes

import (
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sync"
)

// The runtime interface clients, written to the cache directory when
// first needed. Their tests stay out of the binary.
//
//go:embed python/surge_lambda_runtime.py node/surge-lambda-runtime.cjs
var clients embed.FS

// Client file names, in their runtime's folder.
const (
	pythonClient = "surge_lambda_runtime.py"
	nodeClient   = "surge-lambda-runtime.cjs"
)

// clientsVersion names the clients' folder in the cache: a digest of their
// content, so that a build with other clients never uses stale ones.
var clientsVersion = sync.OnceValue(func() string {
	h := sha256.New()
	_ = fs.WalkDir(clients, ".", func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, _ := clients.ReadFile(path)
		fmt.Fprintf(h, "%s %d\n", path, len(b))
		h.Write(b)
		return nil
	})
	return hex.EncodeToString(h.Sum(nil))[:16]
})

// DefaultCacheDir is where the clients go without Options.CacheDir:
// surge/runtimes in the user's cache directory, else in the temporary one.
func DefaultCacheDir() string {
	if dir, err := os.UserCacheDir(); err == nil {
		return filepath.Join(dir, "surge", "runtimes")
	}
	return filepath.Join(os.TempDir(), fmt.Sprintf("surge-runtimes-%d", os.Getuid()))
}

var materialiseMu sync.Mutex

// clientDir returns the folder that holds family's client (python or
// node), writing it first if it is not there: into a new folder that is
// then renamed into place, so that a reader (another surge, a test binary
// beside this one) sees the whole client or none of it.
func clientDir(cache, family string) (string, error) {
	if cache == "" {
		cache = DefaultCacheDir()
	}
	root := filepath.Join(cache, clientsVersion())
	dir := filepath.Join(root, family)
	materialiseMu.Lock()
	defer materialiseMu.Unlock()
	if complete(dir, family) {
		return dir, nil
	}
	if err := os.MkdirAll(root, 0o755); err != nil {
		return "", fmt.Errorf("runtimes: cache directory: %w", err)
	}
	tmp, err := os.MkdirTemp(root, family+".tmp-")
	if err != nil {
		return "", fmt.Errorf("runtimes: cache directory: %w", err)
	}
	defer os.RemoveAll(tmp)
	entries, err := clients.ReadDir(family)
	if err != nil {
		return "", fmt.Errorf("runtimes: embedded %s client: %w", family, err)
	}
	for _, e := range entries {
		b, err := clients.ReadFile(family + "/" + e.Name())
		if err != nil {
			return "", fmt.Errorf("runtimes: embedded %s client: %w", family, err)
		}
		if err := os.WriteFile(filepath.Join(tmp, e.Name()), b, 0o644); err != nil {
			return "", fmt.Errorf("runtimes: write the %s client: %w", family, err)
		}
	}
	if err := os.Chmod(tmp, 0o755); err != nil {
		return "", fmt.Errorf("runtimes: write the %s client: %w", family, err)
	}
	if _, err := os.Lstat(dir); err == nil {
		// A damaged copy (an edited or truncated file): replaced.
		if err := os.RemoveAll(dir); err != nil {
			return "", fmt.Errorf("runtimes: replace the %s client: %w", family, err)
		}
	}
	if err := os.Rename(tmp, dir); err != nil {
		// Another process put it there first: theirs is the same.
		if complete(dir, family) {
			return dir, nil
		}
		return "", fmt.Errorf("runtimes: write the %s client: %w", family, err)
	}
	return dir, nil
}

// complete reports whether dir holds family's client, byte for byte.
func complete(dir, family string) bool {
	entries, err := clients.ReadDir(family)
	if err != nil {
		return false
	}
	for _, e := range entries {
		want, _ := clients.ReadFile(family + "/" + e.Name())
		got, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil || string(got) != string(want) {
			return false
		}
	}
	return true
}
