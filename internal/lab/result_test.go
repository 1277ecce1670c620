package lab_test

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/surgehq/surge/internal/lab"
	"github.com/surgehq/surge/internal/load"
)

// sampleResult is a lab result with a run and a histogram, and its
// findings.
func sampleResult(t testing.TB) *lab.Result {
	t.Helper()
	run := &load.Result{Schema: load.ResultSchema, Scenario: load.DefaultScenario(), Started: time.Date(2026, 12, 2, 8, 0, 0, 0, time.UTC),
		Total: load.OpResult{Name: "all", Count: 2, Latency: load.Stats{Count: 2, Mean: 1.5, P50: 1, P99: 2}},
		Ops:   []load.OpResult{{Name: "read", Count: 2, Latency: load.Stats{Count: 2, Mean: 1.5, P50: 1, P99: 2}}}, Series: []load.Point{}}
	r := result(
		&lab.Phase{Name: "sustained", Profile: "baseline", Title: "Sustained", Runs: []lab.PhaseRun{{Label: "sustained", Result: run}},
			Figures: map[string]float64{"avg_ms": 10}, Counts: map[string]int64{"responses": 2}},
		&lab.Phase{Name: "scans", Profile: "baseline", Title: "Scans", Hists: map[string]string{"scan 100": ""},
			Tables: []lab.Table{{Title: "t", Columns: []string{"a"}, Rows: [][]string{{"1"}}}}},
		&lab.Phase{Name: "ramp", Profile: "optimized", Skipped: "failed: the stack stopped"},
	)
	r.Started, r.ElapsedSeconds = run.Started, 61
	r.Scale.Why = []string{"the knee: 300/s"}
	r.Findings = lab.Findings(r, nil)
	return r
}

func TestResultRoundTrip(t *testing.T) {
	r := sampleResult(t)
	path := filepath.Join(t.TempDir(), "lab.json")
	if err := r.WriteFile(path); err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Stat(path); err != nil || fi.Mode().Perm() != 0o644 {
		t.Fatalf("result file: %v, mode %v", err, fi.Mode())
	}
	back, err := lab.ReadResultFile(path)
	if err != nil {
		t.Fatal(err)
	}
	a, _ := json.Marshal(r)
	b, _ := json.Marshal(back)
	if !bytes.Equal(a, b) {
		t.Fatalf("the result read back differs:\n%s\n%s", a, b)
	}
	var md1, md2 bytes.Buffer
	if err := r.WriteMarkdown(&md1); err != nil {
		t.Fatal(err)
	}
	if err := back.WriteMarkdown(&md2); err != nil {
		t.Fatal(err)
	}
	if md1.String() != md2.String() || !strings.Contains(md1.String(), "| 13 | Provisioned table with auto scaling costs less |") {
		t.Fatalf("markdown:\n%s", md1.String())
	}
}

func TestReadResultErrors(t *testing.T) {
	for _, tt := range []struct{ in, want string }{
		{`{`, "read lab result"},
		{`{"schema":"surge.lab.result/v0"}`, "schema"},
		{`{"schema":"surge.lab.result/v1","phases":[null]}`, "null"},
		{`{"schema":"surge.lab.result/v1","phases":[{"name":"cold","runs":[{"label":"x"}]}]}`, "no result"},
		{`{"schema":"surge.lab.result/v1","phases":[{"name":"cold","runs":[{"label":"x","result":{"schema":"nope"}}]}]}`, "schema"},
		{`{"schema":"surge.lab.result/v1","phases":[{"name":"scans","hists":{"scan 1":"HISTFAAAAAA="}}]}`, "scan 1"},
	} {
		if _, err := lab.ReadResult(strings.NewReader(tt.in)); err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("ReadResult(%s) = %v, want an error mentioning %q", tt.in, err, tt.want)
		}
	}
}

func TestWriteReports(t *testing.T) {
	r := sampleResult(t)
	dir := t.TempDir()
	html, md := filepath.Join(dir, "r.html"), filepath.Join(dir, "r.md")
	if err := lab.Write(r, "", html, md); err != nil {
		t.Fatal(err)
	}
	page, err := os.ReadFile(html)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"Findings", "Scale and profiles", "Sustained load", "the knee: 300/s", "failed: the stack stopped"} {
		if !bytes.Contains(page, []byte(want)) {
			t.Errorf("the HTML report lacks %q", want)
		}
	}
	var text bytes.Buffer
	if err := r.WriteText(&text); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"findings: the article's figure", "13. Provisioned table", "ramp [optimized]", "failed: the stack stopped"} {
		if !strings.Contains(text.String(), want) {
			t.Errorf("the terminal report lacks %q:\n%s", want, text.String())
		}
	}
}

func FuzzReadResult(f *testing.F) {
	var buf bytes.Buffer
	if err := json.NewEncoder(&buf).Encode(sampleResult(f)); err != nil {
		f.Fatal(err)
	}
	f.Add(buf.Bytes())
	f.Add([]byte(`{"schema":"surge.lab.result/v1","phases":[{"name":"x","figures":{"a":1}}]}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		r, err := lab.ReadResult(bytes.NewReader(data))
		if err != nil {
			return
		}
		// A result that reads renders every report without failing.
		var out bytes.Buffer
		if err := r.WriteText(&out); err != nil {
			t.Fatal(err)
		}
		if err := r.WriteMarkdown(&out); err != nil {
			t.Fatal(err)
		}
		_ = lab.Findings(r, nil)
	})
}

func TestConfigValidate(t *testing.T) {
	for name, tt := range map[string]struct {
		cfg  lab.Config
		want string
	}{
		"OneProfile":   {lab.Config{Profiles: []string{"a.yaml"}}, "want two profiles"},
		"Phase":        {lab.Config{Phases: []string{"warmup"}}, `unknown phase "warmup"`},
		"AgainstOne":   {lab.Config{Against: []string{"http://a"}}, "want BASELINE_URL,OPTIMIZED_URL"},
		"AgainstURL":   {lab.Config{Against: []string{"http://a", "ftp://b"}}, "not an http(s) URL"},
		"AgainstLocal": {lab.Config{Against: []string{"http://a", "http://b"}, Phases: []string{"memory"}}, "needs local control"},
		"IdleGapLocal": {lab.Config{IdleGap: time.Minute}, "--idle-gap is for --against"},
		"Env":          {lab.Config{FunctionEnv: []string{"X"}}, "want KEY=VALUE"},
		"Negative":     {lab.Config{Items: -1}, "must not be negative"},
	} {
		t.Run(name, func(t *testing.T) {
			errs := tt.cfg.Validate()
			var all []string
			for _, e := range errs {
				all = append(all, e.Error())
			}
			if !strings.Contains(strings.Join(all, "; "), tt.want) {
				t.Fatalf("Validate() = %v, want an error mentioning %q", all, tt.want)
			}
		})
	}
	ok := lab.DefaultConfig()
	ok.Against, ok.Phases, ok.IdleGap = []string{"http://a", "https://b/prod"}, []string{"cold", "spike"}, time.Minute
	if errs := ok.Validate(); len(errs) > 0 {
		t.Fatalf("a valid configuration: %v", errs)
	}
}
