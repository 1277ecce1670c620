// Package dynalitetest runs dynalite, a DynamoDB-API engine on Node.js,
// for tests: the pinned version in tools/dynalite, started by
// tools/dynalite/serve.js on a free loopback port and stopped afterwards.
//
// A package's tests share one engine when its TestMain calls Main:
//
//	func TestMain(m *testing.M) { os.Exit(dynalitetest.Main(m)) }
//
// and then each test calls Start (or NewStore, for a store on a table of
// its own). Without Main, Start runs an engine for the one test.
//
// Environment:
//
//	SURGE_DYNAMODB_ENDPOINT  use this engine, already running, instead
//	                         (such as DynamoDB Local); nothing is started
//	SURGE_DYNALITE           a node_modules directory holding dynalite, used
//	                         instead of tools/dynalite/node_modules
//	SURGE_REQUIRE_DYNALITE=1 fail, rather than skip, where node is missing
//	                         (CI sets it)
//
// When tools/dynalite/node_modules is missing and npm is there, Start runs
// `npm ci` in tools/dynalite first (once, under a file lock, since test
// binaries of several packages may start at once).
package dynalitetest

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/surgehq/surge/internal/dynamo"
	"github.com/surgehq/surge/internal/syncbuf"
)

// Environment variables read by the harness.
const (
	EnvEndpoint = "SURGE_DYNAMODB_ENDPOINT"
	EnvDynalite = "SURGE_DYNALITE"
	EnvRequire  = "SURGE_REQUIRE_DYNALITE"
)

// ErrNoNode is returned by StartServer where node is not installed.
var ErrNoNode = errors.New("dynalitetest: node is not installed")

// howToInstall is what a skipped test says.
const howToInstall = "dynalite tests need Node.js 20 or later and npm " +
	"(Debian: apt-get install nodejs npm; then `npm ci` in tools/dynalite, or let the tests run it), " +
	"or an engine named by " + EnvEndpoint + "; set " + EnvRequire + "=1 to make this a failure"

// startTimeout bounds npm ci plus dynalite's start.
const startTimeout = 3 * time.Minute

// Server is a running dynalite.
type Server struct {
	// Endpoint is the engine's URL, http://127.0.0.1:PORT.
	Endpoint string

	cmd    *exec.Cmd
	stdin  io.WriteCloser
	exited chan struct{}
	stderr *syncbuf.Buffer
	once   sync.Once
}

// StartServer starts dynalite on a free loopback port and returns once it
// answers. ErrNoNode where node is missing.
func StartServer(ctx context.Context) (*Server, error) {
	node, err := exec.LookPath("node")
	if err != nil {
		return nil, ErrNoNode
	}
	dir, err := toolDir()
	if err != nil {
		return nil, err
	}
	nodePath := os.Getenv(EnvDynalite)
	if nodePath == "" {
		nodePath = filepath.Join(dir, "node_modules")
		if err := ensureInstalled(ctx, dir); err != nil {
			return nil, err
		}
	}
	cmd := exec.Command(node, filepath.Join(dir, "serve.js"), "--port", "0")
	cmd.Env = append(os.Environ(), "NODE_PATH="+nodePath)
	cmd.Dir = dir
	// dynalite exits when its standard input closes: when Close closes it,
	// and when this process dies, however it dies.
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return nil, fmt.Errorf("dynalitetest: %w", err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, fmt.Errorf("dynalitetest: %w", err)
	}
	s := &Server{cmd: cmd, stdin: stdin, exited: make(chan struct{}), stderr: &syncbuf.Buffer{Max: 64 << 10}}
	cmd.Stderr = s.stderr
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("dynalitetest: start dynalite: %w", err)
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
		// Keep draining until dynalite exits, so it never blocks on output.
		io.Copy(io.Discard, stdout)
	}()
	go func() {
		cmd.Wait()
		close(s.exited)
	}()
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	select {
	case p := <-port:
		s.Endpoint = "http://127.0.0.1:" + strconv.Itoa(p)
	case <-s.exited:
		return nil, fmt.Errorf("dynalitetest: dynalite exited before listening: %s", s.stderr.String())
	case <-ctx.Done():
		s.Close()
		return nil, fmt.Errorf("dynalitetest: dynalite did not start: %w; stderr: %s", ctx.Err(), s.stderr.String())
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
			return fmt.Errorf("dynalitetest: dynalite does not answer: %w (last: %v)", ctx.Err(), last)
		case <-time.After(50 * time.Millisecond):
		}
	}
	return fmt.Errorf("dynalitetest: dynalite does not answer: %v", last)
}

// PID returns the process id of the dynalite process.
func (s *Server) PID() int { return s.cmd.Process.Pid }

// Close stops dynalite and waits for it to exit. It is safe to call more
// than once.
func (s *Server) Close() error {
	s.once.Do(func() {
		s.stdin.Close()
		select {
		case <-s.exited:
		case <-time.After(5 * time.Second):
			s.cmd.Process.Kill()
			<-s.exited
		}
	})
	return nil
}

// toolDir finds tools/dynalite by walking up from the working directory
// (a package's directory under go test) to the module root.
func toolDir() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", fmt.Errorf("dynalitetest: %w", err)
	}
	for {
		cand := filepath.Join(dir, "tools", "dynalite")
		if _, err := os.Stat(filepath.Join(cand, "serve.js")); err == nil {
			return cand, nil
		}
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return "", fmt.Errorf("dynalitetest: no tools/dynalite/serve.js in module root %s", dir)
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("dynalitetest: tools/dynalite not found above the working directory")
		}
		dir = parent
	}
}

// ensureInstalled runs `npm ci` in dir unless dynalite is installed there.
// A file lock keeps concurrent test binaries from installing at once.
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
		return fmt.Errorf("dynalitetest: %s is missing and npm is not installed: %w", filepath.Join(dir, "node_modules"), ErrNoNode)
	}
	lock, err := os.OpenFile(filepath.Join(dir, ".npm-ci.lock"), os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return fmt.Errorf("dynalitetest: %w", err)
	}
	defer lock.Close()
	if err := syscall.Flock(int(lock.Fd()), syscall.LOCK_EX); err != nil {
		return fmt.Errorf("dynalitetest: lock %s: %w", lock.Name(), err)
	}
	defer syscall.Flock(int(lock.Fd()), syscall.LOCK_UN)
	if installed() {
		return nil
	}
	ctx, cancel := context.WithTimeout(ctx, startTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, npm, "ci", "--no-audit", "--no-fund")
	cmd.Dir = dir
	out, err := cmd.CombinedOutput()
	if err != nil {
		return fmt.Errorf("dynalitetest: npm ci in %s: %w\n%s", dir, err, out)
	}
	if !installed() {
		return fmt.Errorf("dynalitetest: npm ci in %s did not install dynalite", dir)
	}
	return nil
}

// shared is the engine of a package whose TestMain calls Main.
var shared struct {
	sync.Mutex
	on     bool
	server *Server
	err    error
}

// Main runs a package's tests with one dynalite for them all, started on
// first use by Start and stopped when the tests are done; it returns the
// exit code for os.Exit.
func Main(m *testing.M) int {
	shared.Lock()
	shared.on = true
	shared.Unlock()
	code := m.Run()
	shared.Lock()
	defer shared.Unlock()
	if shared.server != nil {
		shared.server.Close()
	}
	return code
}

var warnOnce sync.Once

// Start returns the endpoint of a DynamoDB-API engine for tb: the one named
// by SURGE_DYNAMODB_ENDPOINT, else the package's shared dynalite (see
// Main), else a dynalite of tb's own, stopped when tb ends. Where node is
// missing it skips tb, saying how to install it, or fails tb when
// SURGE_REQUIRE_DYNALITE=1.
func Start(tb testing.TB) string {
	tb.Helper()
	if ep := os.Getenv(EnvEndpoint); ep != "" {
		return ep
	}
	shared.Lock()
	if shared.on {
		defer shared.Unlock()
		if shared.server == nil && shared.err == nil {
			ctx, cancel := context.WithTimeout(context.Background(), startTimeout)
			shared.server, shared.err = StartServer(ctx)
			cancel()
		}
		if shared.err != nil {
			unavailable(tb, shared.err)
		}
		return shared.server.Endpoint
	}
	shared.Unlock()
	ctx, cancel := context.WithTimeout(context.Background(), startTimeout)
	defer cancel()
	s, err := StartServer(ctx)
	if err != nil {
		unavailable(tb, err)
	}
	tb.Cleanup(func() { s.Close() })
	return s.Endpoint
}

func unavailable(tb testing.TB, err error) {
	tb.Helper()
	if !errors.Is(err, ErrNoNode) {
		tb.Fatalf("dynalite: %v", err)
	}
	msg := fmt.Sprintf("SKIP: %v: %s", err, howToInstall)
	if os.Getenv(EnvRequire) == "1" {
		tb.Fatal(msg)
	}
	// Loud: shown even without -v.
	warnOnce.Do(func() { fmt.Fprintln(os.Stderr, msg) })
	tb.Skip(msg)
}

// NewClient returns a DynamoDB client for the engine at endpoint, with
// the dummy credentials that dynamo.OpenURL uses (DynamoDB Local keeps a
// database per access key id, so the two must agree), few retries and short backoff (a local engine
// does not throttle, so waiting helps nothing).
func NewClient(endpoint string) *dynamodb.Client {
	return dynamodb.New(dynamodb.Options{
		Region:           "us-east-1",
		BaseEndpoint:     aws.String(endpoint),
		Credentials:      credentials.NewStaticCredentialsProvider("surgelocal", "surgelocal", ""),
		RetryMaxAttempts: 2,
	})
}

// TableName returns a new random table name, so that tests may run in
// parallel on one engine.
func TableName() string {
	var b [6]byte
	rand.Read(b[:])
	return "surge-test-" + hex.EncodeToString(b[:])
}

// NewTable creates a store table with a random name on the engine at
// endpoint and deletes it when tb ends.
func NewTable(tb testing.TB, client *dynamodb.Client) string {
	tb.Helper()
	name := TableName()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := dynamo.CreateTable(ctx, client, name, dynamo.TableOptions{}); err != nil {
		tb.Fatalf("create table: %v", err)
	}
	tb.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		if err := dynamo.DeleteTable(ctx, client, name, 0); err != nil {
			tb.Errorf("delete table: %v", err)
		}
	})
	return name
}

// NewStore returns a store on a new table of its own (see NewTable).
func NewStore(tb testing.TB, opts ...dynamo.Option) *dynamo.Store {
	tb.Helper()
	client := NewClient(Start(tb))
	s := dynamo.New(client, NewTable(tb, client), opts...)
	tb.Cleanup(func() { s.Close() })
	return s
}
