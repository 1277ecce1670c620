package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/surgehq/surge/internal/lab"
)

// TestLabPythonProfile runs `surge lab --quick` with the article's Python
// system (examples/lab/python.yaml) as the second profile: its SAM
// template through surge serve --template, a Python function per route
// with boto3 over its table in dynalite, behind the same gateway. It
// asserts what the mechanisms guarantee, as counts: the idle gaps stop
// every on-demand instance of the template's functions, so the requests
// after them start Python cold, each cold start told by the function's
// own X-Cold-Start and counted alike by the pools; and without a cache
// every response is an invocation.
func TestLabPythonProfile(t *testing.T) {
	for _, tool := range []struct{ name, env string }{{"python3", "SURGE_REQUIRE_PYTHON"}, {"node", "SURGE_REQUIRE_DYNALITE"}} {
		if _, err := exec.LookPath(tool.name); err != nil {
			if os.Getenv(tool.env) == "1" {
				t.Fatalf("%s: %v, and %s=1", tool.name, err, tool.env)
			}
			t.Skipf("%s is not installed: %v", tool.name, err)
		}
	}
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	out := filepath.Join(dir, "lab.json")
	t.Chdir("../..") // the profile names its template from the repository's root
	code, stdout, stderr := runSurge(t, "lab", "--quick", "--profile", "examples/lab/baseline.yaml", "--profile", "examples/lab/python.yaml",
		"--phases", "cold,sustained", "--out", out, "--html", filepath.Join(dir, "lab.html"), "--markdown", filepath.Join(dir, "lab.md"),
		"--dir", filepath.Join(dir, "data"), "--function-command", exe+" function", "--function-env", "SURGE_TEST_MAIN=1")
	if code != 0 {
		t.Fatalf("exit code %d\nstdout:\n%s\nstderr:\n%s", code, stdout, stderr)
	}
	res, err := lab.ReadResultFile(out)
	if err != nil {
		t.Fatal(err)
	}
	phase := func(name string) *lab.Phase {
		t.Helper()
		for _, p := range res.Phases {
			if p.Name == name && p.Profile == "python" {
				if p.Skipped != "" {
					t.Fatalf("phase %s [python] did not run: %s\nstderr:\n%s", name, p.Skipped, stderr)
				}
				return p
			}
		}
		t.Fatalf("no phase %s [python]; stderr:\n%s", name, stderr)
		return nil
	}
	if c := phase(lab.PhaseCold).Counts; c["functions"] != 6 || c["cold_starts"] == 0 || c["cold_starts"] != c["pool_cold_starts"] || c["provisioned"] != 0 {
		t.Errorf("python cold phase: %v: want the template's 6 functions on demand, and every cold start told by X-Cold-Start and counted by the pools", c)
	}
	if c := phase(lab.PhaseSustained).Counts; c["responses"] == 0 || c["cache_hits"] != 0 || c["no_response"] == 0 && c["invocations"] != c["responses"]-c["limited"] {
		t.Errorf("python sustained phase: %v: without a cache, every response not refused is an invocation", c)
	}
	if s := strings.Join(res.Profiles[1].Settings, "; "); !strings.Contains(s, "SAM template examples/python-crud/template.yaml") {
		t.Errorf("python profile settings %q: want the template named", s)
	}
}
