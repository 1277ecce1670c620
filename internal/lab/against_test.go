package lab_test

import (
	"context"
	"strings"
	"testing"

	"github.com/surgehq/surge/internal/lab"
	"github.com/surgehq/surge/internal/server"
)

// serve starts a surge server in this process, as a deployed stage
// stands for the lab: reached by its URL only.
func serve(t *testing.T, tweak func(*server.Config)) string {
	t.Helper()
	cfg := server.DefaultConfig()
	cfg.Addr, cfg.AdminAddr, cfg.AccessLog, cfg.Data = "127.0.0.1:0", "", false, t.TempDir()
	tweak(&cfg)
	s, err := server.New(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		<-done
	})
	return "http://" + s.Addr()
}

// TestAgainst runs the lab against two "deployed stages", servers it does
// not control: every phase but the memory sweep runs, against their
// URLs, and what the stages say of themselves (X-Cache, X-Limit-Source)
// is counted.
func TestAgainst(t *testing.T) {
	base := serve(t, func(*server.Config) {})
	opt := serve(t, func(c *server.Config) {
		c.Cache.Enabled = true
		c.Throttle.StageRate, c.Throttle.StageBurst = 50, 25
	})
	cfg := lab.DefaultConfig()
	cfg.Quick, cfg.Against, cfg.Out, cfg.HTML, cfg.Markdown = true, []string{base, opt}, "", "", ""
	cfg.Dir = t.TempDir()
	var progress strings.Builder
	cfg.Progress = &progress
	res, err := lab.Run(context.Background(), cfg)
	if err != nil {
		t.Fatalf("%v\n%s", err, progress.String())
	}
	if len(res.Against) != 2 || res.Profiles[0].Target != base || res.Profiles[1].Target != opt {
		t.Fatalf("against %v, profiles %+v", res.Against, res.Profiles)
	}
	ran := map[string]bool{}
	for _, p := range res.Phases {
		if p.Skipped != "" {
			t.Errorf("phase %s [%s] did not run: %s", p.Name, p.Profile, p.Skipped)
		}
		ran[p.Name+" "+p.Profile] = true
	}
	for _, name := range lab.Phases {
		for _, profile := range []string{"baseline", "optimized"} {
			if got, want := ran[name+" "+profile], name != lab.PhaseMemory; got != want {
				t.Errorf("phase %s [%s] ran: %v, want %v", name, profile, got, want)
			}
		}
	}
	find := func(name, profile string) *lab.Phase {
		for _, p := range res.Phases {
			if p.Name == name && p.Profile == profile {
				return p
			}
		}
		t.Fatalf("no %s [%s]", name, profile)
		return nil
	}
	if c := find(lab.PhaseSustained, "optimized").Counts; c["cache_hits"] == 0 {
		t.Errorf("optimized stage's sustained phase: %v: want X-Cache hits counted", c)
	}
	if _, ok := find(lab.PhaseSustained, "optimized").Counts["invocations"]; ok {
		t.Errorf("a deployed stage's invocations are not the lab's to count")
	}
	if c := find(lab.PhaseSpike, "optimized").Counts; c["limited:gateway.stage"] == 0 {
		t.Errorf("optimized stage's spike: %v: want its stage throttle's 429s, by X-Limit-Source", c)
	}
	for _, f := range res.Findings {
		if f.ID == lab.FindingCache && f.Verdict != lab.NotMeasurable {
			t.Errorf("the response cache against deployed stages: %s (%s), want not measurable (invocations are CloudWatch's)", f.Verdict, f.Reason)
		}
		if f.ID == lab.FindingRightSize && f.Verdict != lab.NotMeasurable {
			t.Errorf("right-sizing against deployed stages: %s, want not measurable (no memory sweep)", f.Verdict)
		}
	}
}
