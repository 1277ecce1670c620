package lambda_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/surgehq/surge/internal/local/lambda"
)

// TestProvisionedInitTimeout checks Lambda's two init limits: an
// on-demand init is held to InitTimeout (10 s on Lambda), a provisioned
// one to ProvisionedInitTimeout (130 s, or the function timeout where
// longer), so that an init slower than the first but within the second
// fails on demand and succeeds provisioned.
func TestProvisionedInitTimeout(t *testing.T) {
	t.Run("Defaults", func(t *testing.T) {
		for _, c := range []struct{ timeout, want time.Duration }{
			{0, lambda.DefaultProvisionedInitTimeout},
			{3 * time.Second, 130 * time.Second},
			{200 * time.Second, 200 * time.Second},
		} {
			p, _ := startPool(t, lambda.Config{Command: []string{"true"}, Timeout: c.timeout})
			if got := p.Config(); got.ProvisionedInitTimeout != c.want || got.InitTimeout != lambda.DefaultInitTimeout {
				t.Errorf("timeout %v: provisioned init timeout %v, init timeout %v; want %v, %v", c.timeout,
					got.ProvisionedInitTimeout, got.InitTimeout, c.want, lambda.DefaultInitTimeout)
			}
		}
	})
	t.Run("OnDemand", func(t *testing.T) {
		// An on-demand init past InitTimeout is tried once more within
		// the invocation, bounded by the function timeout: it answers
		// where the function timeout leaves the init room, else fails as
		// the invocation's timeout.
		t.Parallel()
		for _, c := range []struct {
			timeout time.Duration
			ok      bool
		}{{5 * time.Second, true}, {time.Second, false}} {
			f := newFaultInit(t, lambda.Config{Name: "fn-slowinit", InitTimeout: 300 * time.Millisecond, Timeout: c.timeout}, "sleep:1500")
			res := invoke(t, f.Pool, event("/echo"))
			if c.ok && (res.FunctionError != "" || !res.Cold) {
				t.Errorf("timeout %v: got %s cold %v, want the retried init's answer", c.timeout, res.Payload, res.Cold)
			}
			if !c.ok {
				typ, msg := errorOf(t, res)
				if typ != "Sandbox.Timedout" || !strings.Contains(msg, "Task timed out after 1.00 seconds") {
					t.Errorf("timeout %v: got %s %q, want the retry timed out", c.timeout, typ, msg)
				}
			}
			if s := f.Stats(); s.Starts != 2 || s.ColdStarts != 1 {
				t.Errorf("timeout %v: %d starts, %d cold starts; want 2 (the first and its retry), 1", c.timeout, s.Starts, s.ColdStarts)
			}
			if log := f.logs.String(); !strings.Contains(log, "init retried within its invocation") {
				t.Errorf("timeout %v: the log does not say the init was retried:\n%s", c.timeout, log)
			}
		}
	})
	t.Run("Provisioned", func(t *testing.T) {
		t.Parallel()
		f := newFaultInit(t, lambda.Config{Name: "fn-slowprov", InitTimeout: 300 * time.Millisecond, Provisioned: 1}, "sleep:1500")
		waitFor(t, f.Pool, "the provisioned instance ready", func(s lambda.Stats) bool { return s.ProvisionedReady == 1 })
		if s := f.Stats(); s.ProvisionedInitFailures != 0 {
			t.Errorf("got %+v, want no failed provisioned init", s)
		}
		if res := invoke(t, f.Pool, event("/echo")); res.FunctionError != "" || res.Cold {
			t.Errorf("got %s cold %v, want a warm answer from the provisioned instance", res.Payload, res.Cold)
		}
	})
	t.Run("ProvisionedBounded", func(t *testing.T) {
		t.Parallel()
		f := newFaultInit(t, lambda.Config{Name: "fn-hangprov", ProvisionedInitTimeout: 300 * time.Millisecond, Provisioned: 1}, "hang")
		waitFor(t, f.Pool, "a failed provisioned init", func(s lambda.Stats) bool { return s.ProvisionedInitFailures >= 1 })
		if log := f.logs.String(); !strings.Contains(log, "init timed out") || !strings.Contains(log, `"limit":"300ms"`) {
			t.Errorf("the pool's log does not say the provisioned init timed out:\n%s", f.logs)
		}
		f.setInit(t, "")
		waitFor(t, f.Pool, "the retried provisioned instance ready", func(s lambda.Stats) bool {
			return s.ProvisionedReady == 1 && s.ProvisionedInitFailures == 0
		})
	})
}

// newFaultInit is newFault with the instances' init set before the pool
// starts, so that its provisioned instances start with it too.
func newFaultInit(t testing.TB, cfg lambda.Config, init string) *fault {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	f := &fault{control: filepath.Join(t.TempDir(), "control")}
	f.setInit(t, init)
	cfg.Command = []string{exe}
	cfg.Env = append(cfg.Env, "SURGE_LAMBDA_TEST_FUNCTION=fault", "SURGE_TESTFN_CONTROL="+f.control)
	f.Pool, f.logs = startPool(t, cfg)
	return f
}
