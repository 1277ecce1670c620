package main

import (
	"path/filepath"
	"strings"
	"testing"
)

// TestLoadFindKnee searches for the knee of `surge serve` behind a stage
// throttle of 200 requests a second: the throttle's refusals fail every
// step above it, so the knee is found under it, and the search never
// offers more than its bound.
func TestLoadFindKnee(t *testing.T) {
	srv := startInProcess(t, "--store", "mem:", "--access-log=false", "--throttle-stage-rate", "200", "--throttle-stage-burst", "20")
	out := filepath.Join(t.TempDir(), "knee.json")
	code, stdout, stderr := runSurge(t, "load", "--progress", "none", "--find-knee", "--rate", "600",
		"--knee-start", "100", "--knee-factor", "1.5", "--knee-warm", "200ms", "--knee-hold", "1s", "--knee-bisect", "2",
		"--preseed", "10", "--metrics", srv.admin+"/metrics", "--out", out, srv.base)
	if code != 0 {
		t.Fatalf("exit code %d\nstdout:\n%s\nstderr:\n%s", code, stdout, stderr)
	}
	r := readResultFile(t, out)
	k := r.Knee
	if k == nil || len(k.Steps) < 3 || k.Bound != 600 {
		t.Fatalf("knee %+v: want the search's steps and the bound of --rate", k)
	}
	// 200/s and a burst of 20 in a one-second hold, 1% of refusals
	// allowed: no step passes above 223/s.
	if k.Offered > 223 {
		t.Errorf("knee at %.1f/s offered, want at most 223 (the throttle's rate and burst)", k.Offered)
	}
	for _, s := range k.Steps {
		if s.Offered > 600 || (s.Pass && s.Offered > 223) {
			t.Errorf("step at %.1f/s (pass %v): over the bound, or passed over the throttle", s.Offered, s.Pass)
		}
	}
	if r.Target == nil || r.Target.Samples == 0 || r.Target.Failed != 0 {
		t.Errorf("target %+v: want the metrics sampled every interval", r.Target)
	}
	for _, want := range []string{"knee search (achieved within 5% of offered", "knee: "} {
		if !strings.Contains(stdout, want) {
			t.Errorf("report lacks %q:\n%s", want, stdout)
		}
	}
	if !strings.Contains(stderr, "knee grow") || !strings.Contains(stderr, "FAIL: ") {
		t.Errorf("stderr lacks the steps' progress lines:\n%s", stderr)
	}
}
