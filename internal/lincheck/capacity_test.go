package lincheck_test

import (
	"log/slog"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/surgehq/surge/internal/items"
	"github.com/surgehq/surge/internal/server"
)

// The modes of a provisioned table that throttles: its capacity layer
// (internal/local/table) refuses what is over the table's capacity with
// 503 and X-Limit-Source table.read or table.write once the SDK's
// retries are spent, before the operation runs. The clients take those
// refusals as operations that took no effect; a refusal that did take
// effect would show as a read of a value no write in the history wrote.
// Each mode must see the table throttle (throttles), or it proves
// nothing about throttling.
func init() {
	modes = append(modes,
		mode{name: "SQLiteCachesProvisioned", throttles: true, start: inProcess(func(t *testing.T, c *server.Config) {
			caches(t, c)
			provisioned(c)
		})},
		mode{name: "DynamoDBProvisioned", throttles: true, start: inProcess(func(t *testing.T, c *server.Config) {
			dynamoDB(t, c)
			provisioned(c)
		})},
		mode{name: "LambdaCachesProvisioned", throttles: true, start: inProcess(func(t *testing.T, c *server.Config) {
			functions(t, c)
			caches(t, c)
			provisioned(c)
		})},
		// Writes failing in the store (unknown outcome) beside writes the
		// table refuses (no effect), through both caches.
		mode{name: "SQLiteCachesProvisionedFaults", throttles: true, start: inProcess(func(t *testing.T, c *server.Config) {
			caches(t, c)
			provisioned(c)
			c.WrapStore = func(s items.Store) items.Store { return &faultyStore{Store: s} }
		})},
		mode{name: "TemplateDeploy", throttles: true, start: templateDeploy},
	)
}

// provisioned gives the store's table 100 read and 50 write units a
// second, under what the clients ask (several hundred operations a
// second, two thirds of them writes), and two attempts with the AWS
// SDK's backoff: the table throttles, and a retry succeeds or is
// refused.
func provisioned(c *server.Config) {
	c.Capacity.Billing = "provisioned"
	c.Capacity.RCU, c.Capacity.WCU = 100, 50
	c.Capacity.Retries = 2
}

// templateDeploy runs the project's own SAM template (deploy/aws/template.yaml)
// with `surge serve --template`: cmd/bootstrap built for this machine as
// its function, its provisioned table (the seed's 20 and 10 units, the
// function's AWS SDK trying twice what the table's front throttles) in
// dynalite with strongly consistent reads, the API's cache on (writes
// invalidating it) and API keys required.
func templateDeploy(t *testing.T) target {
	if _, err := exec.LookPath("node"); err != nil {
		t.Skip("node is not installed: the template's table runs in dynalite (scripts/setup)")
	}
	dir := t.TempDir()
	build := exec.Command("go", "build", "-tags", "lambda.norpc", "-o", filepath.Join(dir, "bootstrap"), "../../cmd/bootstrap")
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("build cmd/bootstrap: %v\n%s", err, out)
	}
	tmpl, err := filepath.Abs("../../deploy/aws/template.yaml")
	if err != nil {
		t.Fatal(err)
	}
	// Two attempts of a throttled call, as provisioned() gives the
	// in-process modes: the table throttles, and a retry succeeds or is
	// refused.
	envVars := filepath.Join(dir, "env.json")
	if err := os.WriteFile(envVars, []byte(`{"ItemsFunction": {"SURGE_DYNAMODB_MAX_ATTEMPTS": "2"}}`), 0o600); err != nil {
		t.Fatal(err)
	}
	s := startServer(t, func(t *testing.T, c *server.Config) {
		c.Template.Path = tmpl
		c.Template.EnvVars = envVars
		c.Template.Code = []string{"ItemsFunction=" + dir}
		c.Template.Parameters = []string{"ConsistentReads=true ProvisionedConcurrency=2 BusinessHoursProvisionedConcurrency=2 " +
			"ThrottleRateLimit=100000 ThrottleBurstLimit=100000"}
		c.Functions.LogLevel = slog.LevelWarn
		c.Functions.Logs = false
	})
	key := s.TemplateKeys()["ApiKey"]
	if key == "" {
		t.Fatalf("no API key made for the template's ApiKey: %v", s.TemplateKeys())
	}
	return target{bases: []string{"http://" + s.Addr()}, header: http.Header{"X-Api-Key": {key}}}
}
