package main

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/surgehq/surge/internal/load"
	"github.com/surgehq/surge/internal/load/report"
	"github.com/surgehq/surge/internal/testkit/syncbuf"
)

// The exit codes the tests expect of surge load.
const (
	thresholdExit  = report.ThresholdExit
	incompleteExit = report.IncompleteExit
)

// TestLoadKilledKeepsIntervals kills a real `surge load` process with
// SIGKILL mid-run: its --out file holds every interval it finished, and
// `surge load report` (text and --html) draws that partial result, saying
// it is partial.
func TestLoadKilledKeepsIntervals(t *testing.T) {
	srv := startInProcess(t, "--store", "mem:", "--access-log=false")
	dir := t.TempDir()
	out := filepath.Join(dir, "run.json")
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(exe, "load", "--progress", "none", "--rate", "150", "--duration", "2m", "--preseed", "10",
		"--threshold", "errors<50%", "--out", out, srv.base)
	cmd.Env = append(os.Environ(), "SURGE_TEST_MAIN=1")
	var stderr syncbuf.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan struct{})
	go func() {
		_ = cmd.Wait()
		close(exited)
	}()
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		<-exited
	})
	// Wait for the state: three interval records in the file.
	for deadline := time.Now().Add(60 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		data, _ := os.ReadFile(out)
		if bytes.Count(data, []byte(`{"record":"interval"`)) >= 3 {
			break
		}
		select {
		case <-exited:
			t.Fatalf("surge load exited early:\n%s", stderr.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("no three intervals in %s within 60s:\n%s", out, stderr.String())
		}
	}
	if err := cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	<-exited
	if cmd.ProcessState.Success() {
		t.Fatal("the killed process exited 0")
	}

	res := readResultFile(t, out)
	if !res.Partial || res.Stop != "partial" {
		t.Fatalf("partial %v, stop %q", res.Partial, res.Stop)
	}
	var done, errs int64
	for _, p := range res.Series {
		done += p.Done
		errs += p.Errors
	}
	if len(res.Series) < 3 || res.Total.Count == 0 || res.Total.Count != done || res.Total.Errors != errs {
		t.Errorf("%d intervals, count %d errors %d; the intervals' points count %d and %d", len(res.Series), res.Total.Count, res.Total.Errors, done, errs)
	}
	if h, err := load.DecodeHist(res.Total.LatencyHist); err != nil || h.TotalCount() != done {
		t.Errorf("latency histogram of %d requests (%v), want %d", h.TotalCount(), err, done)
	}
	if res.ElapsedSeconds != res.Series[len(res.Series)-1].T || res.PlanSeconds != 120 {
		t.Errorf("elapsed %gs of a %gs plan", res.ElapsedSeconds, res.PlanSeconds)
	}

	html := filepath.Join(dir, "run.html")
	code, stdout, errout := runSurge(t, "load", "report", "--html", html, out)
	if code != 0 {
		t.Fatalf("load report: exit %d\n%s%s", code, stdout, errout)
	}
	if !strings.Contains(stdout, "PARTIAL   the result file ends") || !strings.Contains(stdout, "PASS  errors<50%") {
		t.Errorf("the text report does not say it is partial:\n%s", stdout)
	}
	page, err := os.ReadFile(html)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(page, []byte("this result was cut short (the run was killed or crashed)")) {
		t.Errorf("the HTML report does not say it is partial")
	}
}
