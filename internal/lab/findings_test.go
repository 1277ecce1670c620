package lab_test

import (
	"math"
	"strings"
	"testing"

	"github.com/surgehq/surge/internal/lab"
)

// result is a lab result with the given phases, for the two default
// profiles' names.
func result(phases ...*lab.Phase) *lab.Result {
	return &lab.Result{Schema: lab.ResultSchema, Profiles: []lab.ProfileInfo{{Name: "baseline"}, {Name: "optimized",
		Pending: []lab.Pending{{Setting: "table-capacity", What: "the table at 20 RCU", Needs: "issue 13", Findings: []string{lab.FindingTableCost}}}}},
		Scale: lab.Scale{Factor: 1, Knee: 300}, Phases: phases}
}

func phase(name, profile string, figs map[string]float64, counts map[string]int64) *lab.Phase {
	return &lab.Phase{Name: name, Profile: profile, Figures: figs, Counts: counts}
}

func finding(t *testing.T, r *lab.Result, id string) lab.Finding {
	t.Helper()
	for _, f := range lab.Findings(r, nil) {
		if f.ID == id {
			return f
		}
	}
	t.Fatalf("no finding %s", id)
	return lab.Finding{}
}

func TestFindingsVerdicts(t *testing.T) {
	for _, tt := range []struct {
		name, id string
		phases   []*lab.Phase
		want     string
	}{
		{"ColdInRange", lab.FindingColdStart, []*lab.Phase{phase("cold", "baseline", map[string]float64{"added_ms": 800}, map[string]int64{"cold_starts": 4, "requests": 40})}, lab.Reproduced},
		{"ColdGo", lab.FindingColdStart, []*lab.Phase{phase("cold", "baseline", map[string]float64{"added_ms": 120}, map[string]int64{"cold_starts": 4})}, lab.DirectionOnly},
		{"ColdNone", lab.FindingColdStart, []*lab.Phase{phase("cold", "baseline", nil, map[string]int64{"cold_starts": 0})}, lab.NotMeasurable},
		{"ColdNotRun", lab.FindingColdStart, nil, lab.NotMeasurable},
		{"ReadsOrdered", lab.FindingReadsWrites, []*lab.Phase{phase("ramp", "baseline", map[string]float64{"read_avg_ms": 1, "delete_avg_ms": 1.6, "create_avg_ms": 2.5, "update_avg_ms": 3.9}, nil)}, lab.Reproduced},
		{"ReadsFaster", lab.FindingReadsWrites, []*lab.Phase{phase("ramp", "baseline", map[string]float64{"read_avg_ms": 1, "delete_avg_ms": 1.1, "create_avg_ms": 1.05, "update_avg_ms": 1.2}, nil)}, lab.DirectionOnly},
		{"ReadsSlower", lab.FindingReadsWrites, []*lab.Phase{phase("ramp", "baseline", map[string]float64{"read_avg_ms": 2, "delete_avg_ms": 1.1, "create_avg_ms": 3, "update_avg_ms": 3}, nil)}, lab.NotReproduced},
		{"KneeShape", lab.FindingKnee, []*lab.Phase{phase("ramp", "baseline", map[string]float64{"knee_offered": 300, "stable_until": 150, "knee_p99_ms": 50, "past_knee_p99_ms": 900}, nil)}, lab.Reproduced},
		{"KneeErrorsOnly", lab.FindingKnee, []*lab.Phase{phase("ramp", "baseline", map[string]float64{"knee_offered": 300, "stable_until": 290, "knee_p99_ms": 50, "past_knee_p99_ms": 60, "past_knee_errors": 0.3}, nil)}, lab.DirectionOnly},
		{"KneeAboveBound", lab.FindingKnee, []*lab.Phase{phase("ramp", "baseline", map[string]float64{"knee_offered": 300, "bound_reached": 1}, nil)}, lab.NotReproduced},
		{"StoreFast", lab.FindingStore, []*lab.Phase{phase("ramp", "baseline", map[string]float64{"store_ms_max": 0.4}, nil)}, lab.Reproduced},
		{"StoreSlow", lab.FindingStore, []*lab.Phase{phase("ramp", "baseline", map[string]float64{"store_ms_max": 14}, nil)}, lab.NotReproduced},
		{"Consistent25", lab.FindingConsistent, []*lab.Phase{phase("reads", "baseline", map[string]float64{"slower": 0.3}, nil)}, lab.Reproduced},
		{"ConsistentSame", lab.FindingConsistent, []*lab.Phase{phase("reads", "baseline", map[string]float64{"slower": 0.01}, nil)}, lab.NotReproduced},
		{"ScansGrow", lab.FindingScans, []*lab.Phase{phase("scans", "baseline", map[string]float64{"scan_small_ms": 10, "scan_large_ms": 60, "size_small": 1000, "size_large": 8000, "lookup_small_ms": 1, "lookup_large_ms": 1.1}, nil)}, lab.Reproduced},
		{"ScansSome", lab.FindingScans, []*lab.Phase{phase("scans", "baseline", map[string]float64{"scan_small_ms": 10, "scan_large_ms": 20, "size_small": 1000, "size_large": 8000, "lookup_small_ms": 1, "lookup_large_ms": 1.1}, nil)}, lab.DirectionOnly},
		{"ProvisionedAll", lab.FindingProvisioned, []*lab.Phase{phase("cold", "baseline", nil, map[string]int64{"cold_starts": 8}), phase("cold", "optimized", nil, map[string]int64{"cold_starts": 0, "provisioned": 5})}, lab.Reproduced},
		{"ProvisionedHalf", lab.FindingProvisioned, []*lab.Phase{phase("cold", "baseline", nil, map[string]int64{"cold_starts": 8}), phase("cold", "optimized", nil, map[string]int64{"cold_starts": 4, "provisioned": 5})}, lab.DirectionOnly},
		{"CacheSaved", lab.FindingCache, []*lab.Phase{phase("sustained", "baseline", nil, nil), phase("sustained", "optimized", map[string]float64{"invocation_cut": 0.6}, nil)}, lab.Reproduced},
		{"CacheNone", lab.FindingCache, []*lab.Phase{phase("sustained", "baseline", nil, nil), phase("sustained", "optimized", map[string]float64{"invocation_cut": 0}, nil)}, lab.NotReproduced},
		{"ThrottleProtects", lab.FindingThrottle, []*lab.Phase{phase("spike", "baseline", map[string]float64{"p99_spike_ms": 900}, map[string]int64{"backend_failures": 300}), phase("spike", "optimized", map[string]float64{"p99_spike_ms": 40}, map[string]int64{"gateway_limited": 200})}, lab.Reproduced},
		{"ThrottleNever", lab.FindingThrottle, []*lab.Phase{phase("spike", "baseline", nil, map[string]int64{"backend_failures": 300}), phase("spike", "optimized", nil, map[string]int64{"gateway_limited": 0})}, lab.NotReproduced},
		{"DAX", lab.FindingDAX, []*lab.Phase{phase("sustained", "baseline", map[string]float64{"read_store_ms": 11}, nil), phase("sustained", "optimized", map[string]float64{"read_store_ms": 0.8}, nil)}, lab.Reproduced},
		{"DAXOnDynamoDB", lab.FindingDAX, []*lab.Phase{phase("sustained", "baseline", map[string]float64{"read_store_ms": 0.3}, nil), phase("sustained", "optimized", map[string]float64{"read_store_ms": 2}, nil),
			phase("reads", "baseline", map[string]float64{"dynamodb": 1, "eventual_store_ms": 3}, nil), phase("reads", "optimized", map[string]float64{"dynamodb": 1, "eventual_store_ms": 0.4}, nil)}, lab.Reproduced},
		{"RightSize", lab.FindingRightSize, []*lab.Phase{phase("memory", "", map[string]float64{"exec_ms_128": 10, "exec_ms_512": 5, "cut_128_512": 0.5}, nil)}, lab.Reproduced},
		{"RightSizeFlat", lab.FindingRightSize, []*lab.Phase{phase("memory", "", map[string]float64{"exec_ms_128": 1, "exec_ms_512": 1, "cut_128_512": 0}, nil)}, lab.NotReproduced},
		{"Overall", lab.FindingOverall, []*lab.Phase{phase("sustained", "baseline", map[string]float64{"avg_ms": 100}, nil), phase("sustained", "optimized", map[string]float64{"avg_ms": 9}, nil),
			phase("ramp", "baseline", map[string]float64{"knee_rate": 100}, nil), phase("ramp", "optimized", map[string]float64{"knee_rate": 170}, nil)}, lab.Reproduced},
		{"OverallWeakest", lab.FindingOverall, []*lab.Phase{phase("sustained", "baseline", map[string]float64{"avg_ms": 100}, nil), phase("sustained", "optimized", map[string]float64{"avg_ms": 9}, nil),
			phase("ramp", "baseline", map[string]float64{"knee_rate": 100}, nil), phase("ramp", "optimized", map[string]float64{"knee_rate": 90}, nil)}, lab.NotReproduced},
		{"TableCostPending", lab.FindingTableCost, nil, lab.NotYetWired},
	} {
		t.Run(tt.name, func(t *testing.T) {
			f := finding(t, result(tt.phases...), tt.id)
			if f.Verdict != tt.want || f.Reason == "" {
				t.Fatalf("verdict %q (%s), want %q", f.Verdict, f.Reason, tt.want)
			}
		})
	}
}

func TestFindingsRows(t *testing.T) {
	fs := lab.Findings(result(), nil)
	if len(fs) != len(lab.FindingIDs) {
		t.Fatalf("%d rows, want %d", len(fs), len(lab.FindingIDs))
	}
	for i, f := range fs {
		if f.ID != lab.FindingIDs[i] || f.Title == "" || f.Article == "" || f.Verdict == "" || f.Reason == "" {
			t.Errorf("row %d: %+v", i, f)
		}
	}
	// A pending setting's findings say what they need.
	if f := fs[len(fs)-1]; !strings.Contains(f.Reason, "issue 13") {
		t.Errorf("table cost: %q, want the pending setting's need", f.Reason)
	}
	_ = math.NaN
}
