package main

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/surgehq/surge/internal/lab"
	"github.com/surgehq/surge/internal/store/dynamo/dynalitetest"
)

// TestLabQuick runs `surge lab --quick`, the article's whole experiment
// shortened, with this test binary as the function program of every
// stack, and asserts what the mechanisms guarantee, as counts: once
// provisioned, the provisioned routes see no cold start; the response
// cache's hits are the invocations it saved, by the pool's own count; a
// spike above the stage limit gets 429s whose source is the gateway; and
// every finding has its row and a verdict. The reads phase runs on
// dynalite, DynamoDB's API, where node is installed.
func TestLabQuick(t *testing.T) {
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	out, html, md := filepath.Join(dir, "lab.json"), filepath.Join(dir, "lab.html"), filepath.Join(dir, "lab.md")
	args := []string{"lab", "--quick", "--out", out, "--html", html, "--markdown", md, "--dir", filepath.Join(dir, "data"),
		"--function-command", exe + " function", "--function-env", "SURGE_TEST_MAIN=1"}
	// The reads phase on DynamoDB's API where node can run dynalite (CI
	// requires it); elsewhere on SQLite, and the rest of the test holds.
	switch srv, err := dynalitetest.StartServer(context.Background()); {
	case err == nil:
		t.Cleanup(func() { srv.Close() })
		args = append(args, "--dynamodb", srv.Endpoint)
	case errors.Is(err, dynalitetest.ErrNoNode) && os.Getenv(dynalitetest.EnvRequire) != "1":
		t.Log("node is not installed: the reads phase runs on SQLite")
	default:
		t.Fatal(err)
	}
	code, stdout, stderr := runSurge(t, args...)
	if code != 0 {
		t.Fatalf("exit code %d\nstdout:\n%s\nstderr:\n%s", code, stdout, stderr)
	}
	res, err := lab.ReadResultFile(out)
	if err != nil {
		t.Fatal(err)
	}
	phase := func(name, profile string) *lab.Phase {
		t.Helper()
		for _, p := range res.Phases {
			if p.Name == name && p.Profile == profile {
				if p.Skipped != "" {
					t.Fatalf("phase %s [%s] did not run: %s", name, profile, p.Skipped)
				}
				return p
			}
		}
		t.Fatalf("no phase %s [%s] in the result; stderr:\n%s", name, profile, stderr)
		return nil
	}
	for _, name := range lab.Phases {
		for _, profile := range []string{"baseline", "optimized"} {
			if name == lab.PhaseMemory {
				profile = ""
			}
			phase(name, profile)
		}
	}

	// The idle gap stopped the baseline's instances: its requests after
	// it found none. The optimized profile's provisioned instances stayed.
	if c := phase(lab.PhaseCold, "baseline").Counts; c["pool_cold_starts"] == 0 || c["cold_starts"] == 0 {
		t.Errorf("baseline cold phase: %v: want cold starts after the idle gaps, by the pool and by the responses", c)
	}
	// Its provisioned functions are the create and read routes' (two of
	// three): they see no cold start, by the responses and by the pools.
	if c := phase(lab.PhaseCold, "optimized").Counts; c["provisioned"] == 0 || c["provisioned_functions"] != 2 || c["functions"] != 3 ||
		c["provisioned_pool_cold_starts"] != 0 || c["provisioned_route_cold_starts"] != 0 || c["requests"] == 0 {
		t.Errorf("optimized cold phase: %v: want no cold start on the provisioned functions (create, read)", c)
	}

	// The response cache's hits are the invocations it saved, by the
	// pool's count: every response that no limit refused either invoked
	// the function or came from the cache.
	c := phase(lab.PhaseSustained, "optimized").Counts
	if c["no_response"] != 0 {
		t.Fatalf("optimized sustained phase: %d requests got no response: the counts cannot be held against each other", c["no_response"])
	}
	if c["cache_hits"] == 0 || c["cache_hits"] != c["saved"] || c["cache_hits"] != c["gateway_cache_hits"] ||
		c["saved"] != c["responses"]-c["limited"]-c["invocations"] {
		t.Errorf("optimized sustained phase: %v: want cache hits (X-Cache) = the cache's own hits = responses - limited - invocations (the pool's)", c)
	}
	if b := phase(lab.PhaseSustained, "baseline").Counts; b["cache_hits"] != 0 || b["no_response"] == 0 && b["invocations"] != b["responses"]-b["limited"] {
		t.Errorf("baseline sustained phase: %v: without a cache, every response not refused is an invocation", b)
	}

	// The spike crossed the stage limit: the gateway refused part of it,
	// and said so.
	sp := phase(lab.PhaseSpike, "optimized")
	if sp.Counts["limited:gateway.stage"] == 0 || sp.Runs[0].Result.Total.StatusSources["429"]["gateway.stage"] == 0 {
		t.Errorf("optimized spike: %v: want 429s whose X-Limit-Source is gateway.stage", sp.Counts)
	}
	if b := phase(lab.PhaseSpike, "baseline"); b.Counts["gateway_limited"] != 0 {
		t.Errorf("baseline spike: %v: the baseline has no throttle to refuse anything", b.Counts)
	}

	// Every finding has its row, in order, with a verdict and a reason.
	var ids []string
	verdicts := []string{lab.Reproduced, lab.DirectionOnly, lab.NotReproduced, lab.NotMeasurable, lab.NotYetWired}
	for _, f := range res.Findings {
		ids = append(ids, f.ID)
		if !slices.Contains(verdicts, f.Verdict) || f.Reason == "" || f.Article == "" {
			t.Errorf("finding %s: verdict %q, reason %q", f.ID, f.Verdict, f.Reason)
		}
		if !strings.Contains(stdout, f.Title) {
			t.Errorf("the terminal report lacks the finding %q", f.Title)
		}
	}
	if !slices.Equal(ids, lab.FindingIDs) {
		t.Errorf("findings %v, want %v", ids, lab.FindingIDs)
	}
	// Nothing is pending any more: the provisioned concurrency and the
	// table's cost are measured, the table priced from its own usage.
	for _, f := range res.Findings {
		if (f.ID == lab.FindingTableCost || f.ID == lab.FindingProvisioned) && (f.Verdict == lab.NotYetWired || f.Verdict == lab.NotMeasurable) {
			t.Errorf("finding %s: %s (%s): want it measured", f.ID, f.Verdict, f.Reason)
		}
	}
	if o := phase(lab.PhaseSustained, "optimized"); o.Figures["table_rcu_hours"] <= 0 || o.Figures["table_cost_usd"] <= 0 {
		t.Errorf("optimized sustained phase: %v: want the provisioned table's capacity hours and cost", o.Figures)
	}

	// The reports: the HTML file and the Markdown summary, which `surge
	// lab report` redraws the same from the result.
	if fi, err := os.Stat(html); err != nil || fi.Size() == 0 {
		t.Errorf("HTML report: %v", err)
	}
	mdText, err := os.ReadFile(md)
	if err != nil || !strings.Contains(string(mdText), "| # | finding | article | baseline | optimized | verdict |") {
		t.Fatalf("Markdown summary: %v\n%s", err, mdText)
	}
	md2 := filepath.Join(dir, "again.md")
	if code, so, se := runSurge(t, "lab", "report", "--markdown", md2, out); code != 0 || !strings.Contains(so, "findings") {
		t.Fatalf("surge lab report: exit %d\n%s\n%s", code, so, se)
	}
	if again, _ := os.ReadFile(md2); string(again) != string(mdText) {
		t.Errorf("the redrawn Markdown differs from the run's")
	}
	for _, p := range res.Phases {
		t.Logf("%s [%s]: %.1f s", p.Name, p.Profile, p.Seconds)
	}
	t.Logf("surge lab --quick took %.0f s", res.ElapsedSeconds)
}
