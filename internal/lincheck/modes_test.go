package lincheck_test

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/anishathalye/porcupine"

	"github.com/surgehq/surge/internal/items"
	"github.com/surgehq/surge/internal/lincheck"
	"github.com/surgehq/surge/internal/server"
	"github.com/surgehq/surge/internal/store/dynamo/dynalitetest"
	"github.com/surgehq/surge/internal/testkit/syncbuf"
)

// One dynalite for the package's tests; the surge binary, built once for
// the modes that run real processes, is removed at the end.
func TestMain(m *testing.M) {
	code := dynalitetest.Main(m)
	if bin.dir != "" {
		os.RemoveAll(bin.dir)
	}
	os.Exit(code)
}

// Sizes of a history: a few hundred operations an item. SURGE_LINCHECK_SOAK
// (a whole number, the rounds) runs each mode that many times, with more
// items and more operations.
const (
	clients   = 8
	keys      = 4
	opsPerKey = 250
)

var bin struct {
	once sync.Once
	dir  string
	path string
	err  error
}

// surgeBinary builds cmd/surge once, for `surge serve` and `surge
// function` processes.
func surgeBinary(t *testing.T) string {
	t.Helper()
	bin.once.Do(func() {
		if bin.dir, bin.err = os.MkdirTemp("", "surge-lincheck-bin-"); bin.err != nil {
			return
		}
		bin.path = filepath.Join(bin.dir, "surge")
		cmd := exec.Command("go", "build", "-o", bin.path, "../../cmd/surge")
		out, err := cmd.CombinedOutput()
		if err != nil {
			bin.err = fmt.Errorf("go build ./cmd/surge: %v\n%s", err, out)
		}
	})
	if bin.err != nil {
		t.Fatal(bin.err)
	}
	return bin.path
}

// mode is a way of running surge whose contract promises linearizable
// items (or, for the negative control, does not).
type mode struct {
	name string
	// start starts the stack and returns where its API is.
	start func(t *testing.T) target
	// throttles is set for a mode whose table is provisioned under the
	// workload's rate: its history must hold refusals of the table.
	throttles bool
}

// target is where a started stack's API is: its base URLs, and the
// headers (credentials) every request carries.
type target struct {
	bases  []string
	header http.Header
}

// inProcess starts a Server of the defaults, changed by adjust.
func inProcess(adjust func(t *testing.T, c *server.Config)) func(t *testing.T) target {
	return func(t *testing.T) target {
		s := startServer(t, adjust)
		return target{bases: []string{"http://" + s.Addr()}}
	}
}

// startServer starts a Server of the defaults, changed by adjust, and
// stops it when t ends.
func startServer(t *testing.T, adjust func(t *testing.T, c *server.Config)) *server.Server {
	t.Helper()
	logs := &syncbuf.Buffer{}
	cfg := server.DefaultConfig()
	cfg.Addr, cfg.AdminAddr, cfg.Data = "127.0.0.1:0", "", t.TempDir()
	cfg.AccessLog = false
	cfg.Log = slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelWarn}))
	if adjust != nil {
		adjust(t, &cfg)
	}
	s, err := server.New(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("run: %v", err)
		}
		if t.Failed() {
			t.Logf("server log:\n%s", logs)
		}
	})
	return s
}

// functions runs the API through the local Lambda, each instance a real
// `surge function` process.
func functions(t *testing.T, c *server.Config) {
	c.Functions.Enabled = true
	c.Functions.Command = surgeBinary(t) + " function"
	c.Functions.Limits = "off"
	c.Functions.LogLevel = slog.LevelWarn
}

// caches turns on both caches, as --optimized does, with invalidation.
func caches(t *testing.T, c *server.Config) {
	c.Cache.Enabled = true
	c.Cache.InvalidateOnWrite = true
	c.ETags = true
	c.ReadCache.Enabled = true
}

// dynamoDB stores in a new table of the package's dynalite, with
// strongly consistent reads.
func dynamoDB(t *testing.T, c *server.Config) {
	ep := dynalitetest.Start(t)
	table := dynalitetest.NewTable(t, dynalitetest.NewClient(ep))
	c.Store = "dynamodb://" + table + "?endpoint=" + ep + "&consistent=true"
}

// twoProcesses starts two `surge serve` processes on one SQLite file.
func twoProcesses(t *testing.T) target {
	exe := surgeBinary(t)
	data := t.TempDir()
	var bases []string
	for i := range 2 {
		bases = append(bases, serveProcess(t, exe, fmt.Sprint("p", i), "--data", data))
	}
	return target{bases: bases}
}

// serveProcess runs `surge serve` with args and returns its API's base URL
// once it listens; the process is killed when t ends.
func serveProcess(t *testing.T, exe, name string, args ...string) string {
	t.Helper()
	logs := &syncbuf.Buffer{}
	cmd := exec.Command(exe, append([]string{"--log-format", "json", "serve",
		"--addr", "127.0.0.1:0", "--admin-addr", "", "--access-log=false"}, args...)...)
	cmd.Stderr = logs
	cmd.Stdout = logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan struct{})
	go func() { _ = cmd.Wait(); close(exited) }()
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		<-exited
		if t.Failed() {
			t.Logf("%s's log:\n%s", name, logs)
		}
	})
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		sc := bufio.NewScanner(strings.NewReader(logs.String()))
		for sc.Scan() {
			var rec struct{ Msg, Addr string }
			if json.Unmarshal(sc.Bytes(), &rec) == nil && rec.Msg == "listening" && rec.Addr != "" {
				return "http://" + rec.Addr
			}
		}
		select {
		case <-exited:
			t.Fatalf("%s exited before listening:\n%s", name, logs)
		case <-time.After(10 * time.Millisecond):
		}
	}
	t.Fatalf("%s did not listen within 60s:\n%s", name, logs)
	return ""
}

// modes are the modes whose contract promises linearizable items
// (docs/API.md, "Consistency").
var modes = []mode{
	{name: "SQLite", start: inProcess(nil)},
	{name: "SQLiteTwoProcesses", start: twoProcesses},
	{name: "Lambda", start: inProcess(functions)},
	{name: "DynamoDBConsistent", start: inProcess(dynamoDB)},
	{name: "SQLiteCaches", start: inProcess(caches)},
	{name: "LambdaCaches", start: inProcess(func(t *testing.T, c *server.Config) { functions(t, c); caches(t, c) })},
	{name: "MemoryCaches", start: inProcess(func(t *testing.T, c *server.Config) { c.Store = "mem:"; caches(t, c) })},
	// Writes that fail after the store made them, or before, answered
	// 500: operations of unknown outcome, through both caches.
	{name: "SQLiteCachesFaults", start: inProcess(func(t *testing.T, c *server.Config) {
		caches(t, c)
		c.WrapStore = func(s items.Store) items.Store { return &faultyStore{Store: s} }
	})},
}

// faultyStore fails one write in ten with an internal error: half of them
// after the store made the write, half before.
type faultyStore struct {
	items.Store
	n atomic.Int64
}

var errInjected = errors.New("injected fault")

// fault reports whether the nth write fails, and whether after the store.
func (s *faultyStore) fault() (fail, after bool) {
	n := s.n.Add(1)
	return n%10 == 3 || n%10 == 8, n%10 == 8
}

func (s *faultyStore) Create(ctx context.Context, key items.Key, a items.Attributes, idem *items.Idempotency) (*items.Created, error) {
	fail, after := s.fault()
	if fail && !after {
		return nil, errInjected
	}
	c, err := s.Store.Create(ctx, key, a, idem)
	if fail && err == nil {
		return nil, errInjected
	}
	return c, err
}

func (s *faultyStore) Replace(ctx context.Context, key items.Key, a items.Attributes, cond items.Condition) (*items.Item, error) {
	fail, after := s.fault()
	if fail && !after {
		return nil, errInjected
	}
	it, err := s.Store.Replace(ctx, key, a, cond)
	if fail && err == nil {
		return nil, errInjected
	}
	return it, err
}

func (s *faultyStore) Delete(ctx context.Context, key items.Key, cond items.Condition) error {
	fail, after := s.fault()
	if fail && !after {
		return errInjected
	}
	err := s.Store.Delete(ctx, key, cond)
	if fail && err == nil {
		return errInjected
	}
	return err
}

// TestLinearizable records a history of concurrent clients on each mode
// and checks it.
func TestLinearizable(t *testing.T) {
	if testing.Short() {
		t.Skip("records and checks histories over real HTTP")
	}
	rounds, opsKey, nkeys := 1, opsPerKey, keys
	if v := os.Getenv("SURGE_LINCHECK_SOAK"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			t.Fatalf("SURGE_LINCHECK_SOAK=%q: want a number of rounds", v)
		}
		rounds, opsKey, nkeys = n, 4*opsPerKey, 2*keys
	}
	for _, m := range modes {
		t.Run(m.name, func(t *testing.T) {
			tg := m.start(t)
			for r := range rounds {
				res, st := record(t, tg, uint64(r+1), nkeys, opsKey)
				t.Logf("%s: %d operations on %d items by %d clients (%d of unknown outcome, %d refused by a limit: %v), checked in %v: %s",
					m.name, st.Ops, st.Keys, clients, st.Unknown, st.Dropped, st.Refused, res.Took.Round(time.Millisecond), res.Outcome)
				t.Logf("%s: statuses %s", m.name, statuses(st.Statuses))
				if m.throttles && st.Refused["table.read"]+st.Refused["table.write"] == 0 {
					t.Errorf("%s: the table refused nothing (refusals %v): the mode does not test throttling", m.name, st.Refused)
				}
				if res.Outcome != porcupine.Ok {
					path := saveVisualization(t, m.name, res, true)
					t.Fatalf("%s: the history is not linearizable (%s); porcupine's visualisation: %s", m.name, res.Outcome, path)
				}
			}
		})
	}
}

// TestNegativeControl proves that the checker can fail: with a response
// cache that writes do not invalidate (API Gateway's own behaviour), a
// read after a write is served the cached answer from before it, and the
// history must be reported as not linearizable.
func TestNegativeControl(t *testing.T) {
	if testing.Short() {
		t.Skip("records and checks a history over real HTTP")
	}
	tg := inProcess(func(t *testing.T, c *server.Config) {
		c.Cache.Enabled = true
		c.Cache.InvalidateOnWrite = false
		c.ReadCache.Enabled = true
	})(t)
	res, st := record(t, tg, 1, keys, opsPerKey/2)
	path := saveVisualization(t, "NegativeControl", res, false)
	t.Logf("negative control: %d operations on %d items, checked in %v: %s; porcupine's visualisation: %s",
		st.Ops, st.Keys, res.Took.Round(time.Millisecond), res.Outcome, path)
	if res.Outcome != porcupine.Illegal {
		t.Fatalf("a stale response cache: got %s, want the history reported as not linearizable", res.Outcome)
	}
}

// record runs the workload on bases and checks its history.
func record(t *testing.T, tg target, seed uint64, nkeys, opsKey int) (lincheck.Result, lincheck.Stats) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	w := lincheck.Workload{Bases: tg.bases, Clients: clients, Keys: nkeys, OpsPerKey: opsKey, Seed: seed,
		Timeout: 10 * time.Second, Header: tg.header}
	h, err := w.Run(ctx)
	if err != nil {
		t.Fatal(err)
	}
	st := h.Stats()
	if st.Ops+st.Dropped < nkeys*opsKey*9/10 {
		t.Fatalf("only %d operations recorded and %d refused of %d: %v", st.Ops, st.Dropped, nkeys*opsKey, st.Statuses)
	}
	if st.Ops < nkeys*opsKey/4 {
		t.Fatalf("only %d operations took effect or may have, of %d (%d refused: %v): too few to check", st.Ops, nkeys*opsKey, st.Dropped, st.Refused)
	}
	if st.Unknown > st.Ops/5 {
		t.Fatalf("%d of %d operations of unknown outcome: the service is failing (%v)", st.Unknown, st.Ops, st.Statuses)
	}
	return lincheck.Check(h, 2*time.Minute), st
}

// saveVisualization writes porcupine's visualisation of a checked history
// to $SURGE_ARTIFACTS, else (keep) to a directory of its own that outlives
// the test, or (!keep) to the test's temporary directory, and returns its
// path.
func saveVisualization(t *testing.T, name string, res lincheck.Result, keep bool) string {
	t.Helper()
	dir := os.Getenv("SURGE_ARTIFACTS")
	switch {
	case dir != "":
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
	case keep:
		var err error
		if dir, err = os.MkdirTemp("", "surge-lincheck-"); err != nil {
			t.Fatal(err)
		}
	default:
		dir = t.TempDir()
	}
	path := filepath.Join(dir, "lincheck-"+name+".html")
	if err := res.Visualize(path); err != nil {
		t.Fatalf("visualisation: %v", err)
	}
	return path
}

// statuses formats a status count, for messages.
func statuses(m map[int]int) string {
	var ks []int
	for k := range m {
		ks = append(ks, k)
	}
	sort.Ints(ks)
	var b strings.Builder
	for _, k := range ks {
		fmt.Fprintf(&b, " %d:%d", k, m[k])
	}
	return strings.TrimSpace(b.String())
}
