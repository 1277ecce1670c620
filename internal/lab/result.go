package lab

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/surgehq/surge/internal/load"
)

// ResultSchema names the version of the Result's JSON form. A change that
// a reader of the previous version would misread gets a new version.
const ResultSchema = "surge.lab.result/v1"

// Result is everything a lab run measured, enough to redraw its reports
// later (`surge lab report`): the scale it chose, each phase's runs with
// their histograms, and the findings.
type Result struct {
	Schema  string    `json:"schema"`
	Started time.Time `json:"started"`
	// ElapsedSeconds is the whole run's length.
	ElapsedSeconds float64 `json:"elapsedSeconds"`
	Quick          bool    `json:"quick,omitempty"`
	// Against are the deployed stages' URLs, when the run was against
	// them.
	Against []string `json:"against,omitempty"`
	// Interrupted says the run was stopped before its end.
	Interrupted bool          `json:"interrupted,omitempty"`
	Machine     Machine       `json:"machine"`
	Profiles    []ProfileInfo `json:"profiles"`
	Scale       Scale         `json:"scale"`
	Phases      []*Phase      `json:"phases"`
	Findings    []Finding     `json:"findings"`
}

// Machine describes where the lab ran.
type Machine struct {
	OS         string  `json:"os"`
	Arch       string  `json:"arch"`
	NumCPU     int     `json:"numCPU"`
	GoVersion  string  `json:"goVersion"`
	LoadAvg    float64 `json:"loadAvg,omitempty"`    // the 1-minute load average at the start
	LoadAvgEnd float64 `json:"loadAvgEnd,omitempty"` // and at the end
}

// ProfileInfo is a profile as a report shows it.
type ProfileInfo struct {
	Name        string    `json:"name"`
	File        string    `json:"file"`
	Description string    `json:"description,omitempty"`
	Target      string    `json:"target,omitempty"` // a deployed stage, with --against
	Settings    []string  `json:"settings"`         // what the stack ran with, in words
	Pending     []Pending `json:"pending,omitempty"`
}

// Phase is one phase of one profile (Profile empty for a phase across
// profiles, such as the memory sweep): its runs, the figures the findings
// read, and the counts the mechanisms guarantee.
type Phase struct {
	Name    string `json:"name"`
	Profile string `json:"profile,omitempty"`
	Title   string `json:"title"`
	Note    string `json:"note,omitempty"`
	// Skipped says why the phase did not run.
	Skipped string  `json:"skipped,omitempty"`
	Seconds float64 `json:"seconds"`
	// Runs are the phase's load runs, each with its histograms.
	Runs []PhaseRun `json:"runs,omitempty"`
	// Knee is the ramp's knee search.
	Knee *load.Knee `json:"knee,omitempty"`
	// Figures are the measured figures by name (milliseconds, rates,
	// shares), read by the findings.
	Figures map[string]float64 `json:"figures,omitempty"`
	// Counts are counts the mechanisms guarantee, taken from the parts'
	// own counters and from the responses.
	Counts map[string]int64 `json:"counts,omitempty"`
	// Tables are the phase's tables of figures.
	Tables []Table `json:"tables,omitempty"`
	// Hists are histograms of timings that are not a load run's (full
	// scans, key lookups), by name, in load.EncodeHist's form.
	Hists map[string]string `json:"hists,omitempty"`
}

// PhaseRun is one load run of a phase.
type PhaseRun struct {
	Label  string       `json:"label"`
	Result *load.Result `json:"result"`
}

// Table is a table of text.
type Table struct {
	Title   string     `json:"title"`
	Columns []string   `json:"columns"`
	Rows    [][]string `json:"rows"`
	Note    string     `json:"note,omitempty"`
}

// Verdicts of a finding.
const (
	Reproduced     = "reproduced"
	DirectionOnly  = "direction only"
	NotReproduced  = "not reproduced"
	NotMeasurable  = "not measurable"
	NotYetWired    = "not yet measurable"
	verdictUnknown = ""
)

// Finding is one row of the findings table: one of the article's findings
// beside what the lab measured.
type Finding struct {
	ID      string `json:"id"`
	Title   string `json:"title"`
	Article string `json:"article"`
	// Baseline and Optimized are the figures measured here, for each
	// profile, in words.
	Baseline  string `json:"baseline"`
	Optimized string `json:"optimized"`
	// Mechanism is what produced the figure here.
	Mechanism string `json:"mechanism"`
	// Verdict is Reproduced, DirectionOnly, NotReproduced, NotMeasurable or
	// NotYetWired; Reason says why.
	Verdict string `json:"verdict"`
	Reason  string `json:"reason"`
}

// phase returns the phase of that name and profile, or nil.
func (r *Result) phase(name, profile string) *Phase {
	for _, p := range r.Phases {
		if p.Name == name && p.Profile == profile && p.Skipped == "" {
			return p
		}
	}
	return nil
}

// run returns the phase's run of that label, or nil.
func (p *Phase) run(label string) *load.Result {
	if p == nil {
		return nil
	}
	for _, r := range p.Runs {
		if r.Label == label {
			return r.Result
		}
	}
	return nil
}

// fig returns a figure and whether the phase has it.
func (p *Phase) fig(name string) (float64, bool) {
	if p == nil {
		return 0, false
	}
	v, ok := p.Figures[name]
	return v, ok
}

func (p *Phase) setFig(name string, v float64) {
	if p.Figures == nil {
		p.Figures = map[string]float64{}
	}
	p.Figures[name] = v
}

func (p *Phase) setCount(name string, v int64) {
	if p.Counts == nil {
		p.Counts = map[string]int64{}
	}
	p.Counts[name] = v
}

// WriteFile writes the result as indented JSON to path, through a
// temporary file renamed once complete.
func (r *Result) WriteFile(path string) error {
	tmp, err := os.CreateTemp(dirOf(path), ".surge-lab-*.json")
	if err != nil {
		return fmt.Errorf("write lab result: %w", err)
	}
	defer os.Remove(tmp.Name())
	enc := json.NewEncoder(tmp)
	enc.SetIndent("", " ")
	if err := enc.Encode(r); err != nil {
		tmp.Close()
		return fmt.Errorf("write lab result: %w", err)
	}
	if err := tmp.Chmod(0o644); err != nil {
		tmp.Close()
		return fmt.Errorf("write lab result: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("write lab result: %w", err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("write lab result: %w", err)
	}
	return nil
}

// maxResultSize bounds a result file read back.
const maxResultSize = 512 << 20

// ReadResult reads a result written by WriteFile, checking its schema and
// every histogram it holds.
func ReadResult(rd io.Reader) (*Result, error) {
	data, err := io.ReadAll(io.LimitReader(rd, maxResultSize+1))
	if err != nil {
		return nil, fmt.Errorf("read lab result: %w", err)
	}
	if len(data) > maxResultSize {
		return nil, errors.New("read lab result: larger than 512 MiB")
	}
	var r Result
	if err := json.Unmarshal(data, &r); err != nil {
		return nil, fmt.Errorf("read lab result: %w", err)
	}
	if r.Schema != ResultSchema {
		return nil, fmt.Errorf("read lab result: schema %q, want %q", r.Schema, ResultSchema)
	}
	for _, p := range r.Phases {
		if p == nil {
			return nil, errors.New("read lab result: a phase is null")
		}
		for _, run := range p.Runs {
			if run.Result == nil {
				return nil, fmt.Errorf("read lab result: phase %s: run %q has no result", p.Name, run.Label)
			}
			// Each run is checked as a load result is.
			b, err := json.Marshal(run.Result)
			if err != nil {
				return nil, fmt.Errorf("read lab result: phase %s: %w", p.Name, err)
			}
			res, err := load.ReadResult(bytesReader(b))
			if err != nil {
				return nil, fmt.Errorf("read lab result: phase %s, run %s: %w", p.Name, run.Label, err)
			}
			*run.Result = *res
		}
		for name, h := range p.Hists {
			if _, err := load.DecodeHist(h); err != nil {
				return nil, fmt.Errorf("read lab result: phase %s, %s: %w", p.Name, name, err)
			}
		}
	}
	return &r, nil
}

// ReadResultFile reads a result from the file at path.
func ReadResultFile(path string) (*Result, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	r, err := ReadResult(f)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return r, nil
}
