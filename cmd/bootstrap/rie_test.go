package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/surgehq/surge/internal/api/awsevent"
	"github.com/surgehq/surge/internal/store/dynamo/dynalitetest"
	"github.com/surgehq/surge/internal/testkit/syncbuf"
)

// Environment of the end-to-end test.
const (
	// envRIE names the aws-lambda-rie executable; by default it is
	// .tools/bin/aws-lambda-rie, where scripts/setup installs it.
	envRIE = "SURGE_RIE"
	// envRequireRIE=1 makes a missing emulator a failure (CI sets it).
	envRequireRIE = "SURGE_REQUIRE_RIE"
)

// moduleRoot walks up from the working directory to go.mod.
func moduleRoot(t testing.TB) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("no go.mod above the working directory")
		}
		dir = parent
	}
}

// findRIE returns the emulator's path, or skips (loudly) or fails t.
func findRIE(t testing.TB) string {
	t.Helper()
	path := os.Getenv(envRIE)
	if path == "" {
		path = filepath.Join(moduleRoot(t), ".tools", "bin", "aws-lambda-rie")
	}
	if _, err := os.Stat(path); err != nil {
		msg := fmt.Sprintf("SKIP: the AWS Lambda Runtime Interface Emulator is not at %s (run scripts/setup, or set %s); set %s=1 to make this a failure",
			path, envRIE, envRequireRIE)
		if os.Getenv(envRequireRIE) == "1" {
			t.Fatal(msg)
		}
		fmt.Fprintln(os.Stderr, msg)
		t.Skip(msg)
	}
	return path
}

// buildBootstrap builds the function for this machine, as build.sh's host
// build does.
func buildBootstrap(t testing.TB) string {
	t.Helper()
	out := filepath.Join(t.TempDir(), "bootstrap")
	cmd := exec.Command("go", "build", "-tags", "lambda.norpc", "-trimpath", "-o", out, ".")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, b)
	}
	return out
}

// freeAddr returns a loopback address with a port that was free a moment
// ago (the emulator takes addresses, not listeners).
func freeAddr(t testing.TB) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// emulator is a running aws-lambda-rie with the function under it.
type emulator struct {
	url    string
	cmd    *exec.Cmd
	logs   *syncbuf.Buffer
	exited chan struct{}
	once   sync.Once
}

// startEmulator runs bootstrap under the emulator with env as its whole
// environment (and so the function's: the emulator passes its own on).
// The emulator starts the function on the first invocation, as Lambda
// starts an instance for its first request. It is stopped when t ends,
// or before by stop.
func startEmulator(t testing.TB, rie, bootstrap string, env []string) *emulator {
	t.Helper()
	addr := freeAddr(t)
	// A runtime API address of its own, so that two emulators (two test
	// binaries at once) do not both take the default 127.0.0.1:9001.
	cmd := exec.Command(rie, "--runtime-interface-emulator-address", addr,
		"--runtime-api-address", freeAddr(t), bootstrap)
	cmd.Env = env
	e := &emulator{url: "http://" + addr + "/2015-03-31/functions/function/invocations", cmd: cmd,
		logs: &syncbuf.Buffer{}, exited: make(chan struct{})}
	cmd.Stdout, cmd.Stderr = e.logs, e.logs
	// Its own process group: stopping it stops the function it started.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", rie, err)
	}
	go func() { cmd.Wait(); close(e.exited) }()
	t.Cleanup(func() {
		e.stop()
		if t.Failed() {
			t.Logf("emulator and function output:\n%s", e.logs)
		}
	})
	// Wait until it accepts connections: at most 10 s.
	deadline := time.Now().Add(10 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", addr, 200*time.Millisecond)
		if err == nil {
			c.Close()
			return e
		}
		select {
		case <-e.exited:
			t.Fatalf("the emulator exited: %s", e.logs)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("the emulator does not listen on %s: %v\n%s", addr, err, e.logs)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// stop ends the emulator and the function: SIGTERM to the group, SIGKILL
// after 5 s. It is safe to call more than once.
func (e *emulator) stop() {
	e.once.Do(func() {
		syscall.Kill(-e.cmd.Process.Pid, syscall.SIGTERM)
		select {
		case <-e.exited:
		case <-time.After(5 * time.Second):
			syscall.Kill(-e.cmd.Process.Pid, syscall.SIGKILL)
			<-e.exited
		}
	})
}

// invoke sends one invocation and returns the function's answer.
func (e *emulator) invoke(t testing.TB, payload []byte) []byte {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, e.url, bytes.NewReader(payload))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("invoke: %v", err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("invoke: emulator answered %s: %s", resp.Status, b)
	}
	return b
}

// http sends r through the emulator as API Gateway would: as a REST API
// proxy event for the tenant, with the response event back.
func (e *emulator) http(t *testing.T, r *http.Request, tenant string) *events.APIGatewayProxyResponse {
	t.Helper()
	ev, err := awsevent.NewV1Event(r, awsevent.EventOptions{Tenant: tenant, Stage: "prod"})
	if err != nil {
		t.Fatal(err)
	}
	payload, _ := json.Marshal(ev)
	out := e.invoke(t, payload)
	var resp events.APIGatewayProxyResponse
	if err := json.Unmarshal(out, &resp); err != nil || resp.StatusCode == 0 {
		t.Fatalf("%s %s: not a proxy response: %s (%v)", r.Method, r.URL, out, err)
	}
	return &resp
}

func newRequest(method, target, body string) *http.Request {
	r := httptest.NewRequest(method, target, strings.NewReader(body))
	if body != "" {
		r.Header.Set("Content-Type", "application/json")
	}
	return r
}

// TestEmulator runs the function as Lambda runs it: the bootstrap built
// for this machine, under the AWS Lambda Runtime Interface Emulator,
// against a DynamoDB-API engine, through a create-read-update-list-delete
// cycle of REST API events and one direct invocation.
func TestEmulator(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the function and starts two processes")
	}
	rie := findRIE(t)
	endpoint := dynalitetest.Start(t)
	table := dynalitetest.NewTable(t, dynalitetest.NewClient(endpoint))
	bootstrap := buildBootstrap(t)
	// The harness's credentials: DynamoDB Local keeps a database per access
	// key id, and takes letters and digits only.
	e := startEmulator(t, rie, bootstrap, append(os.Environ(),
		"SURGE_TABLE="+table, "SURGE_DYNAMODB_ENDPOINT="+endpoint, "AWS_REGION=us-east-1",
		"AWS_ACCESS_KEY_ID=surgelocal", "AWS_SECRET_ACCESS_KEY=surgelocal", "SURGE_CONSISTENT_READS=true"))

	// Create: the first answer is the cold start's.
	resp := e.http(t, newRequest("POST", "https://api.example/items", `{"name":"widget","n":12345678901234567890}`), "acme")
	if resp.StatusCode != 201 || resp.Headers["X-Cold-Start"] != "true" || resp.Headers["Etag"] == "" {
		t.Fatalf("create: got %d %v %s", resp.StatusCode, resp.Headers, resp.Body)
	}
	var created struct {
		ID      string          `json:"id"`
		Version int             `json:"version"`
		N       json.RawMessage `json:"n"`
	}
	json.Unmarshal([]byte(resp.Body), &created)
	if created.ID == "" || created.Version != 1 || string(created.N) != "12345678901234567890" ||
		resp.Headers["Location"] != "/items/"+created.ID {
		t.Fatalf("create: got %s %v", resp.Body, resp.Headers)
	}
	etag := resp.Headers["Etag"]

	// Read, warm.
	resp = e.http(t, newRequest("GET", "/items/"+created.ID, ""), "acme")
	if resp.StatusCode != 200 || resp.Headers["Etag"] != etag || resp.Headers["X-Cold-Start"] != "" ||
		!strings.Contains(resp.Body, `"name":"widget"`) || !strings.Contains(resp.Headers["Server-Timing"], "store;dur=") {
		t.Errorf("read: got %d %v %s", resp.StatusCode, resp.Headers, resp.Body)
	}
	// Another tenant does not see it.
	if resp := e.http(t, newRequest("GET", "/items/"+created.ID, ""), "globex"); resp.StatusCode != 404 {
		t.Errorf("read as another tenant: got %d %s", resp.StatusCode, resp.Body)
	}

	// Update, conditional on the ETag.
	put := newRequest("PUT", "/items/"+created.ID, `{"name":"widget","color":"red"}`)
	put.Header.Set("If-Match", etag)
	resp = e.http(t, put, "acme")
	if resp.StatusCode != 200 || resp.Headers["Etag"] == etag || !strings.Contains(resp.Body, `"version":2`) {
		t.Errorf("update: got %d %v %s", resp.StatusCode, resp.Headers, resp.Body)
	}
	stale := newRequest("PUT", "/items/"+created.ID, `{"name":"lost"}`)
	stale.Header.Set("If-Match", etag)
	if resp := e.http(t, stale, "acme"); resp.StatusCode != 412 {
		t.Errorf("update with a stale If-Match: got %d %s", resp.StatusCode, resp.Body)
	}

	// A second item, then a listing in pages of one.
	if resp := e.http(t, newRequest("POST", "/items", `{"id":"zz-last","name":"second"}`), "acme"); resp.StatusCode != 201 {
		t.Fatalf("create with an id: got %d %s", resp.StatusCode, resp.Body)
	}
	resp = e.http(t, newRequest("GET", "/items?limit=1", ""), "acme")
	var page struct {
		Items []struct {
			ID string `json:"id"`
		} `json:"items"`
		Next string `json:"next"`
	}
	json.Unmarshal([]byte(resp.Body), &page)
	if resp.StatusCode != 200 || len(page.Items) != 1 || page.Items[0].ID != created.ID || page.Next == "" {
		t.Fatalf("list: got %d %s", resp.StatusCode, resp.Body)
	}
	resp = e.http(t, newRequest("GET", "/items?limit=1&cursor="+page.Next, ""), "acme")
	page.Next = ""
	json.Unmarshal([]byte(resp.Body), &page)
	if resp.StatusCode != 200 || len(page.Items) != 1 || page.Items[0].ID != "zz-last" || page.Next != "" {
		t.Errorf("list, second page: got %d %s", resp.StatusCode, resp.Body)
	}

	// A direct invocation with the original function's event, answered as
	// it answered: it reads the default tenant's items, so it creates one
	// first and reads it back.
	direct := func(event string) (status int, headers map[string]string, body string) {
		t.Helper()
		var res struct {
			StatusCode int               `json:"statusCode"`
			Headers    map[string]string `json:"headers"`
			Body       string            `json:"body"`
		}
		out := e.invoke(t, []byte(event))
		if err := json.Unmarshal(out, &res); err != nil {
			t.Fatalf("direct %s: %s (%v)", event, out, err)
		}
		return res.StatusCode, res.Headers, res.Body
	}
	status, headers, body := direct(`{"operation":"create","tableName":"` + table + `","payload":{"Item":{"id":"ops-1","name":"direct"}}}`)
	if status != 200 || body != "{}" || headers["Access-Control-Allow-Origin"] != "*" || headers["Content-Type"] != "application/json" {
		t.Errorf("direct create: got %d %v %s", status, headers, body)
	}
	status, _, body = direct(`{"operation":"read","tableName":"` + table + `","payload":{"Key":{"id":"ops-1"}}}`)
	if status != 200 || !strings.Contains(body, `"Item": {`) || !strings.Contains(body, `"name": "direct"`) {
		t.Errorf("direct read: got %d %s", status, body)
	}

	// Delete, then it is gone.
	if resp := e.http(t, newRequest("DELETE", "/items/"+created.ID, ""), "acme"); resp.StatusCode != 204 {
		t.Errorf("delete: got %d %s", resp.StatusCode, resp.Body)
	}
	if resp := e.http(t, newRequest("GET", "/items/"+created.ID, ""), "acme"); resp.StatusCode != 404 {
		t.Errorf("read after delete: got %d %s", resp.StatusCode, resp.Body)
	}

	// The function logged JSON lines with the emulator's request ids.
	if !strings.Contains(e.logs.String(), `"aws_request_id":"`) || !strings.Contains(e.logs.String(), `"msg":"init"`) {
		t.Errorf("no structured request logs in the output:\n%s", e.logs)
	}
}
