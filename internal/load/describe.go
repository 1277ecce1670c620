package load

import (
	"fmt"
	"strings"
	"time"
)

// Subject names what a run drove: its target, or its collection.
func (s *Scenario) Subject() string {
	if s.Postman.File != "" {
		return "postman " + s.Postman.File
	}
	return s.Target
}

// Plan says in words what a run planned to send, as the reports show it:
// "sustain at 200/s for 30s", "stages from 0/s: 1m:100 ...", with its
// request and iteration bounds.
func (r *Result) Plan() string {
	s := &r.Scenario
	unit, peak := "/s", s.Rate
	if s.Model == ModelClosed {
		unit, peak = " users", float64(s.VUs)
	}
	var b strings.Builder
	if len(s.Stages) > 0 {
		var st []string
		for _, x := range s.Stages {
			st = append(st, x.String())
		}
		fmt.Fprintf(&b, "stages from %g%s: %s", s.StartRate, unit, strings.Join(st, " "))
	} else {
		preset := s.Preset
		if preset == "" {
			preset = PresetSustain
		}
		fmt.Fprintf(&b, "%s at %g%s", preset, peak, unit)
	}
	if r.PlanSeconds > 0 && r.PlanSeconds < 1e9 {
		fmt.Fprintf(&b, " for %s", time.Duration(r.PlanSeconds*float64(time.Second)).Round(time.Millisecond))
	}
	if s.Requests > 0 {
		fmt.Fprintf(&b, ", at most %d requests", s.Requests)
	}
	if s.Iterations > 0 && s.Model == ModelClosed {
		fmt.Fprintf(&b, ", %d iterations a user", s.Iterations)
	}
	return b.String()
}
