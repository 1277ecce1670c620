// Package dynalite starts surge's local DynamoDB-API engine: dynalite on
// Node.js, at the version pinned in tools/dynalite, run by
// tools/dynalite/serve.js on a free loopback port, for as long as the
// process that started it lives. `surge serve --template` starts one for
// a template's tables; package dynalitetest starts the same for tests.
//
// Where the engine's files come from, first found:
//
//   - Options.Dir, a directory holding serve.js (and node_modules with
//     dynalite, or npm to install it);
//   - tools/dynalite above the working directory, or above the running
//     program: a checkout of surge;
//   - the copy embedded in the program (package tools/dynalite), written
//     to Options.CacheDir and installed there with `npm ci`, once.
//
// Options.NodeModules (SURGE_DYNALITE for the tests) names a
// node_modules directory holding dynalite to use instead of the one
// beside serve.js. Without node, Start fails with ErrNoNode, whose
// message says how to install it.
package dynalite

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	tool "github.com/surgehq/surge/tools/dynalite"
)

// ErrNoNode is returned by Start where node (or npm, where dynalite must
// be installed) is not there.
var ErrNoNode = errors.New("node is not installed: the local DynamoDB-API engine (dynalite) runs on Node.js 20 or later " +
	"(Debian: apt-get install nodejs npm)")

// InstallTimeout bounds `npm ci` and the engine's start.
const InstallTimeout = 3 * time.Minute

// Options say where the engine's files are; the zero value finds them.
type Options struct {
	// Dir holds serve.js, package.json and package-lock.json (default:
	// see the package documentation).
	Dir string
	// NodeModules is a node_modules directory holding dynalite, used
	// instead of Dir's.
	NodeModules string
	// CacheDir is where the embedded copy is installed (default
	// surge/dynalite in the user's cache directory).
	CacheDir string
	// Node is the node program (default node on PATH).
	Node string
}

// Server is a running engine.
type Server struct {
	// Endpoint is the engine's URL, http://127.0.0.1:PORT.
	Endpoint string

	cmd    *exec.Cmd
	stdin  io.WriteCloser
	exited chan struct{}
	stderr *tailBuffer
	once   sync.Once
}

// Start starts the engine on a free loopback port and returns once it
// answers. It exits when Close closes its standard input, or when this
// process ends, however it ends.
func Start(ctx context.Context, opt Options) (*Server, error) {
	node := opt.Node
	if node == "" {
		var err error
		if node, err = exec.LookPath("node"); err != nil {
			return nil, ErrNoNode
		}
	}
	dir, err := opt.dir()
	if err != nil {
		return nil, err
	}
	nodePath := opt.NodeModules
	if nodePath == "" {
		nodePath = filepath.Join(dir, "node_modules")
		if err := ensureInstalled(ctx, dir); err != nil {
			return nil, err
		}
	}
	cmd := exec.Command(node, filepath.Join(dir, "serve.js"), "--port", "0")
	cmd.Env = append(os.Environ(), "NODE_PATH="+nodePath)
	cmd.Dir = dir
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return nil, fmt.Errorf("dynalite: %w", err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, fmt.Errorf("dynalite: %w", err)
	}
	s := &Server{cmd: cmd, stdin: stdin, exited: make(chan struct{}), stderr: &tailBuffer{max: 64 << 10}}
	cmd.Stderr = s.stderr
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("dynalite: start: %w", err)
	}
	port := make(chan int, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			if p, ok := strings.CutPrefix(sc.Text(), "dynalite listening on "); ok {
				if n, err := strconv.Atoi(strings.TrimSpace(p)); err == nil {
					port <- n
				}
			}
		}
		// Keep draining until it exits, so that it never blocks on output.
		_, _ = io.Copy(io.Discard, stdout)
	}()
	go func() {
		_ = cmd.Wait()
		close(s.exited)
	}()
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	select {
	case p := <-port:
		s.Endpoint = "http://127.0.0.1:" + strconv.Itoa(p)
	case <-s.exited:
		return nil, fmt.Errorf("dynalite: exited before listening: %s", s.stderr.String())
	case <-ctx.Done():
		s.Close()
		return nil, fmt.Errorf("dynalite: did not start: %w; stderr: %s", ctx.Err(), s.stderr.String())
	}
	if err := waitAnswers(ctx, s.Endpoint); err != nil {
		s.Close()
		return nil, err
	}
	return s, nil
}

// waitAnswers polls the engine's health answer (GET /), a bounded number
// of times.
func waitAnswers(ctx context.Context, endpoint string) error {
	var last error
	for range 100 {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, endpoint+"/", nil)
		resp, err := http.DefaultClient.Do(req)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
			err = fmt.Errorf("status %s", resp.Status)
		}
		last = err
		select {
		case <-ctx.Done():
			return fmt.Errorf("dynalite: does not answer: %w (last: %v)", ctx.Err(), last)
		case <-time.After(50 * time.Millisecond):
		}
	}
	return fmt.Errorf("dynalite: does not answer: %v", last)
}

// PID returns the engine's process id.
func (s *Server) PID() int { return s.cmd.Process.Pid }

// Close stops the engine and waits for it to exit. It is safe to call
// more than once.
func (s *Server) Close() error {
	s.once.Do(func() {
		s.stdin.Close()
		select {
		case <-s.exited:
		case <-time.After(5 * time.Second):
			_ = s.cmd.Process.Kill()
			<-s.exited
		}
	})
	return nil
}

// dir finds the engine's files (see the package documentation).
func (opt Options) dir() (string, error) {
	if opt.Dir != "" {
		if _, err := os.Stat(filepath.Join(opt.Dir, "serve.js")); err != nil {
			return "", fmt.Errorf("dynalite: %w", err)
		}
		return opt.Dir, nil
	}
	var starts []string
	if wd, err := os.Getwd(); err == nil {
		starts = append(starts, wd)
	}
	if exe, err := os.Executable(); err == nil {
		if real, err := filepath.EvalSymlinks(exe); err == nil {
			exe = real
		}
		starts = append(starts, filepath.Dir(exe))
	}
	for _, s := range starts {
		if d := toolDirAbove(s); d != "" {
			return d, nil
		}
	}
	return opt.embedded()
}

// toolDirAbove finds tools/dynalite in dir or a directory above it, up to
// the module root, or returns "".
func toolDirAbove(dir string) string {
	for {
		cand := filepath.Join(dir, "tools", "dynalite")
		if _, err := os.Stat(filepath.Join(cand, "serve.js")); err == nil {
			return cand
		}
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return ""
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return ""
		}
		dir = parent
	}
}

// embedded writes the embedded copy of the engine's files to the cache,
// in a directory named after the lock file's content, and returns it.
func (opt Options) embedded() (string, error) {
	base := opt.CacheDir
	if base == "" {
		d, err := os.UserCacheDir()
		if err != nil {
			return "", fmt.Errorf("dynalite: no tools/dynalite here and no cache directory to install it in: %w", err)
		}
		base = filepath.Join(d, "surge", "dynalite")
	}
	lock, err := fs.ReadFile(tool.Files, "package-lock.json")
	if err != nil {
		return "", fmt.Errorf("dynalite: %w", err)
	}
	dir := filepath.Join(base, fmt.Sprintf("v%08x", crc(lock)))
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", fmt.Errorf("dynalite: %w", err)
	}
	for _, name := range []string{"serve.js", "package.json", "package-lock.json"} {
		b, err := fs.ReadFile(tool.Files, name)
		if err != nil {
			return "", fmt.Errorf("dynalite: %w", err)
		}
		if cur, err := os.ReadFile(filepath.Join(dir, name)); err == nil && string(cur) == string(b) {
			continue
		}
		if err := os.WriteFile(filepath.Join(dir, name), b, 0o644); err != nil {
			return "", fmt.Errorf("dynalite: %w", err)
		}
	}
	return dir, nil
}

// crc is a short checksum that names an installed copy.
func crc(b []byte) uint32 {
	var h uint32 = 2166136261
	for _, c := range b {
		h = (h ^ uint32(c)) * 16777619
	}
	return h
}

// ensureInstalled runs `npm ci` in dir unless dynalite is installed
// there. A file lock keeps several processes from installing at once.
func ensureInstalled(ctx context.Context, dir string) error {
	installed := func() bool {
		_, err := os.Stat(filepath.Join(dir, "node_modules", "dynalite", "package.json"))
		return err == nil
	}
	if installed() {
		return nil
	}
	npm, err := exec.LookPath("npm")
	if err != nil {
		return fmt.Errorf("dynalite: %s is missing and npm is not installed: %w", filepath.Join(dir, "node_modules"), ErrNoNode)
	}
	lock, err := os.OpenFile(filepath.Join(dir, ".npm-ci.lock"), os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return fmt.Errorf("dynalite: %w", err)
	}
	defer lock.Close()
	if err := lockFile(lock); err != nil {
		return fmt.Errorf("dynalite: lock %s: %w", lock.Name(), err)
	}
	defer unlockFile(lock)
	if installed() {
		return nil
	}
	ctx, cancel := context.WithTimeout(ctx, InstallTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, npm, "ci", "--no-audit", "--no-fund")
	cmd.Dir = dir
	out, err := cmd.CombinedOutput()
	if err != nil {
		return fmt.Errorf("dynalite: npm ci in %s: %w\n%s", dir, err, out)
	}
	if !installed() {
		return fmt.Errorf("dynalite: npm ci in %s did not install dynalite", dir)
	}
	return nil
}

// tailBuffer keeps the last max bytes written to it; it is safe for
// concurrent use.
type tailBuffer struct {
	mu  sync.Mutex
	max int
	b   []byte
}

func (t *tailBuffer) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.b = append(t.b, p...)
	if len(t.b) > t.max {
		t.b = append(t.b[:0], t.b[len(t.b)-t.max:]...)
	}
	return len(p), nil
}

func (t *tailBuffer) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return string(t.b)
}
