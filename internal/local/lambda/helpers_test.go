package lambda_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/surgehq/surge/internal/api/itemsapi"
	"github.com/surgehq/surge/internal/api/rest"
	"github.com/surgehq/surge/internal/items"
	"github.com/surgehq/surge/internal/local/lambda"
	"github.com/surgehq/surge/internal/observe/servertiming"
	"github.com/surgehq/surge/internal/testkit/manualclock"
	"github.com/surgehq/surge/internal/testkit/syncbuf"
)

func TestMain(m *testing.M) {
	if runTestFunction() {
		return
	}
	os.Exit(m.Run())
}

// newClock returns a clock the tests move by hand, on a Monday morning.
func newClock() *manualclock.Clock {
	return manualclock.New(time.Date(2026, 3, 2, 7, 0, 0, 0, time.UTC))
}

// fault is a pool of the fault function and the file that steers its init.
type fault struct {
	*lambda.Pool
	control string
	logs    *syncbuf.Buffer
}

// setInit sets what the next instances do at init (see envControl).
func (f *fault) setInit(t testing.TB, what string) {
	t.Helper()
	if err := os.WriteFile(f.control, []byte(what), 0o644); err != nil {
		t.Fatal(err)
	}
}

// newFault starts a pool of the fault function with cfg (limits off
// unless cfg asks), closed when t ends.
func newFault(t testing.TB, cfg lambda.Config) *fault {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	f := &fault{control: filepath.Join(t.TempDir(), "control")}
	f.setInit(t, "")
	cfg.Command = []string{exe}
	cfg.Env = append(cfg.Env, "SURGE_LAMBDA_TEST_FUNCTION=fault", "SURGE_TESTFN_CONTROL="+f.control)
	f.Pool, f.logs = startPool(t, cfg)
	return f
}

// startPool starts a pool of cfg, with cgroup limits off unless cfg asks
// for them and a debug log into the returned buffer unless cfg has a log.
// It is closed when t ends, and its log shown if t failed.
func startPool(t testing.TB, cfg lambda.Config) (*lambda.Pool, *syncbuf.Buffer) {
	t.Helper()
	logs := &syncbuf.Buffer{}
	if cfg.Limits == "" {
		cfg.Limits = lambda.LimitsOff
	}
	if cfg.Log == nil {
		cfg.Log = slogTo(logs)
	}
	p, err := lambda.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		p.Close()
		if t.Failed() {
			t.Logf("pool log:\n%s", logs)
		}
	})
	return p, logs
}

// itemsRoutes are the items API's routes, as an integration takes them.
func itemsRoutes() []rest.Route { return itemsapi.Routes() }

// event is a direct invocation of the fault function.
func event(path string, query ...string) []byte {
	q := map[string]string{}
	for i := 0; i+1 < len(query); i += 2 {
		q[query[i]] = query[i+1]
	}
	b, _ := json.Marshal(map[string]any{"path": path, "queryStringParameters": q})
	return b
}

// invoke runs one invocation and fails t on a pool error.
func invoke(t testing.TB, p *lambda.Pool, payload []byte) *lambda.Result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	res, err := p.Invoke(ctx, payload, lambda.InvokeOptions{})
	if err != nil {
		t.Fatalf("invoke %s: %v", payload, err)
	}
	return res
}

// echoOf decodes an /echo answer.
func echoOf(t testing.TB, res *lambda.Result) echo {
	t.Helper()
	if res.FunctionError != "" {
		t.Fatalf("function error %s", res.Payload)
	}
	var e echo
	if err := json.Unmarshal(res.Payload, &e); err != nil {
		t.Fatalf("answer %s: %v", res.Payload, err)
	}
	return e
}

// errorOf decodes a function error object.
func errorOf(t testing.TB, res *lambda.Result) (typ, msg string) {
	t.Helper()
	if res.FunctionError != "Unhandled" {
		t.Fatalf("got FunctionError %q (payload %s), want Unhandled", res.FunctionError, res.Payload)
	}
	var e struct{ ErrorType, ErrorMessage string }
	if err := json.Unmarshal(res.Payload, &e); err != nil {
		t.Fatalf("error payload %s: %v", res.Payload, err)
	}
	if e.ErrorType != res.ErrorType {
		t.Errorf("got errorType %q in the payload and %q in the result", e.ErrorType, res.ErrorType)
	}
	return e.ErrorType, e.ErrorMessage
}

// tenantHeader names the tenant of a request to front: the tests' stand-in
// for the gateway's auth.
const tenantHeader = "X-Test-Tenant"

// front serves g behind the parts of the gateway it relies on: timing,
// a request id, and a tenant from tenantHeader.
func front(t testing.TB, g http.Handler) *httptest.Server {
	t.Helper()
	h := servertiming.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if tenant := r.Header.Get(tenantHeader); tenant != "" {
			r = r.WithContext(items.WithTenant(r.Context(), tenant))
		}
		w.Header().Set("X-Request-Id", "gw-"+time.Now().Format("150405.000000"))
		g.ServeHTTP(w, r)
	}))
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return srv
}

// get sends a GET and returns the status, headers and body.
func get(t testing.TB, url string, hdrs ...string) (int, http.Header, []byte) {
	t.Helper()
	req, _ := http.NewRequest("GET", url, nil)
	for i := 0; i+1 < len(hdrs); i += 2 {
		req.Header.Set(hdrs[i], hdrs[i+1])
	}
	c := &http.Client{Timeout: 30 * time.Second}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header, b
}

// waitFor waits until cond holds for the pool's stats (10 s at most).
func waitFor(t testing.TB, p *lambda.Pool, what string, cond func(lambda.Stats) bool) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := p.Wait(ctx, cond); err != nil {
		t.Fatalf("waiting for %s: %v (stats %+v)", what, err, p.Stats())
	}
}

// isThrottle reports whether err is a throttle, and its reason.
func isThrottle(err error) (string, bool) {
	var te *lambda.ThrottleError
	if errors.As(err, &te) {
		return te.Reason, true
	}
	return "", false
}

// slogTo is a debug-level JSON logger writing to w.
func slogTo(w io.Writer) *slog.Logger {
	return slog.New(slog.NewJSONHandler(w, &slog.HandlerOptions{Level: slog.LevelDebug}))
}
