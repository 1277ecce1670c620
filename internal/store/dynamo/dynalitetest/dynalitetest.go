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
// binaries of several packages may start at once): the engine is package
// internal/local/dynalite's, which `surge serve --template` starts too.
package dynalitetest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/surgehq/surge/internal/local/dynalite"
	"github.com/surgehq/surge/internal/store/dynamo"
)

// Environment variables read by the harness.
const (
	EnvEndpoint = "SURGE_DYNAMODB_ENDPOINT"
	EnvDynalite = "SURGE_DYNALITE"
	EnvRequire  = "SURGE_REQUIRE_DYNALITE"
)

// ErrNoNode is returned by StartServer where node is not installed.
var ErrNoNode = dynalite.ErrNoNode

// howToInstall is what a skipped test says.
const howToInstall = "dynalite tests need Node.js 20 or later and npm " +
	"(Debian: apt-get install nodejs npm; then `npm ci` in tools/dynalite, or let the tests run it), " +
	"or an engine named by " + EnvEndpoint + "; set " + EnvRequire + "=1 to make this a failure"

// startTimeout bounds npm ci plus dynalite's start.
const startTimeout = dynalite.InstallTimeout

// Server is a running dynalite: the engine package dynalite starts, which
// `surge serve --template` starts too.
type Server = dynalite.Server

// StartServer starts dynalite on a free loopback port and returns once it
// answers. ErrNoNode where node is missing.
func StartServer(ctx context.Context) (*Server, error) {
	s, err := dynalite.Start(ctx, dynalite.Options{NodeModules: os.Getenv(EnvDynalite)})
	if err != nil {
		return nil, fmt.Errorf("dynalitetest: %w", err)
	}
	return s, nil
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
