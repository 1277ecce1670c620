package lab

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/surgehq/surge/internal/load"
	"github.com/surgehq/surge/internal/load/htmlreport"
)

// Write writes the outputs cfg names (the JSON result, the HTML report,
// the Markdown summary), each only when its path is set.
func Write(r *Result, out, html, markdown string) error {
	if out != "" {
		if err := r.WriteFile(out); err != nil {
			return err
		}
	}
	if html != "" {
		if err := htmlreport.WriteFile(html, func(w io.Writer) error { return r.Document().Write(w) }); err != nil {
			return fmt.Errorf("lab: %w", err)
		}
	}
	if markdown != "" {
		var b bytes.Buffer
		if err := r.WriteMarkdown(&b); err != nil {
			return err
		}
		if err := os.WriteFile(markdown, b.Bytes(), 0o644); err != nil {
			return fmt.Errorf("lab: write the Markdown summary: %w", err)
		}
	}
	return nil
}

// names returns the two profiles' names.
func (r *Result) names() (string, string) {
	var b, o string
	if len(r.Profiles) > 0 {
		b = r.Profiles[0].Name
	}
	if len(r.Profiles) > 1 {
		o = r.Profiles[1].Name
	}
	return b, o
}

// headline says what ran, in one line.
func (r *Result) headline() string {
	b, o := r.names()
	mode := ""
	if r.Quick {
		mode = ", quick"
	}
	if len(r.Against) > 0 {
		mode += ", against deployed stages"
	}
	s := fmt.Sprintf("surge lab: %s against %s%s, %s, %d CPUs (load average %.1f to %.1f), %s",
		b, o, mode, r.Started.Format("2006-01-02 15:04 UTC"), r.Machine.NumCPU, r.Machine.LoadAvg, r.Machine.LoadAvgEnd,
		(time.Duration(r.ElapsedSeconds * float64(time.Second))).Round(time.Second))
	if r.Interrupted {
		s += " (interrupted: the figures cover what ran)"
	}
	return s
}

// WriteText writes the terminal report: what ran, the scale, each phase
// in a line, and the findings table.
func (r *Result) WriteText(w io.Writer) error {
	ew := &errWriter{w: w}
	ew.printf("\n%s\n", r.headline())
	for _, p := range r.Profiles {
		ew.printf("\n%s (%s)\n", p.Name, p.File)
		for _, s := range p.Settings {
			ew.printf("  %s\n", s)
		}
		for _, pd := range p.Pending {
			ew.printf("  not yet wired: %s (needs %s)\n", pd.What, pd.Needs)
		}
	}
	ew.printf("\nscale\n")
	for _, why := range r.Scale.Why {
		ew.printf("  - %s\n", why)
	}
	ew.printf("\nphases\n")
	for _, p := range r.Phases {
		tag := p.Name
		if p.Profile != "" {
			tag += " [" + p.Profile + "]"
		}
		switch {
		case p.Skipped != "":
			ew.printf("  %-24s %s\n", tag, p.Skipped)
		default:
			ew.printf("  %-24s %s (%.0f s)\n", tag, p.Note, p.Seconds)
		}
	}
	ew.printf("\nfindings: the article's figure, what this machine measured, and the verdict\n")
	for i, f := range r.Findings {
		ew.printf("\n%2d. %s  [%s]\n", i+1, f.Title, strings.ToUpper(f.Verdict))
		ew.printf("    article:   %s\n", f.Article)
		b, o := r.names()
		ew.printf("    %-10s %s\n", b+":", f.Baseline)
		ew.printf("    %-10s %s\n", o+":", f.Optimized)
		ew.printf("    mechanism: %s\n", f.Mechanism)
		ew.printf("    why:       %s\n", f.Reason)
	}
	counts := map[string]int{}
	for _, f := range r.Findings {
		counts[f.Verdict]++
	}
	ew.printf("\n%d findings: %d reproduced, %d direction only, %d not reproduced, %d not measurable here, %d not yet measurable\n",
		len(r.Findings), counts[Reproduced], counts[DirectionOnly], counts[NotReproduced], counts[NotMeasurable], counts[NotYetWired])
	return ew.err
}

// WriteMarkdown writes a short summary fit for a pull-request comment: the
// findings table, and the reasons folded.
func (r *Result) WriteMarkdown(w io.Writer) error {
	ew := &errWriter{w: w}
	b, o := r.names()
	ew.printf("### %s\n\n", mdEscape(r.headline()))
	ew.printf("Knee %.0f/s (%s), scale %.2f against the article's 300/s; sustained %.0f/s, spike %.0f/s.\n\n",
		r.Scale.Knee, mdEscape(r.Scale.KneeFrom), r.Scale.Factor, r.Scale.Sustained, r.Scale.Spike)
	ew.printf("| # | finding | article | %s | %s | verdict |\n|---|---|---|---|---|---|\n", mdEscape(b), mdEscape(o))
	for i, f := range r.Findings {
		ew.printf("| %d | %s | %s | %s | %s | **%s** |\n", i+1, mdEscape(f.Title), mdEscape(f.Article), mdEscape(f.Baseline), mdEscape(f.Optimized), f.Verdict)
	}
	ew.printf("\n<details><summary>Why each verdict</summary>\n\n")
	for i, f := range r.Findings {
		ew.printf("%d. **%s**: %s. *Mechanism:* %s.\n", i+1, mdEscape(f.Title), mdEscape(f.Reason), mdEscape(f.Mechanism))
	}
	ew.printf("\n</details>\n")
	return ew.err
}

func mdEscape(s string) string {
	return strings.NewReplacer("|", `\|`, "\n", " ", "<", "&lt;", ">", "&gt;").Replace(s)
}

// Document returns the HTML report: the findings, the scale and the
// profiles, then a section per phase (the two profiles' runs overlaid),
// each with its tables.
func (r *Result) Document() *htmlreport.Document {
	b, o := r.names()
	d := &htmlreport.Document{Title: fmt.Sprintf("surge lab: %s against %s", b, o), Intro: r.headline(),
		Now: func() time.Time { return r.Started.Add(time.Duration(r.ElapsedSeconds * float64(time.Second))) }}
	rows := [][]string{}
	for i, f := range r.Findings {
		rows = append(rows, []string{fmt.Sprint(i + 1), f.Title, f.Article, f.Baseline, f.Optimized, f.Mechanism, f.Verdict, f.Reason})
	}
	d.Sections = append(d.Sections, htmlreport.Section{Title: "Findings", Note: "Each of the article's findings beside what this machine measured, and whether it reproduces the article's direction and size.",
		Tables: []htmlreport.Table{{Title: "The article's findings", Columns: []string{"#", "finding", "article", b, o, "mechanism", "verdict", "why"}, Rows: rows}}})
	var scale [][]string
	for _, w := range r.Scale.Why {
		scale = append(scale, []string{w})
	}
	var prof [][]string
	for _, p := range r.Profiles {
		for _, s := range p.Settings {
			prof = append(prof, []string{p.Name, s})
		}
		for _, pd := range p.Pending {
			prof = append(prof, []string{p.Name, "not yet wired: " + pd.What + " (needs " + pd.Needs + ")"})
		}
	}
	d.Sections = append(d.Sections, htmlreport.Section{Title: "Scale and profiles",
		Tables: []htmlreport.Table{
			{Title: "How the article's figures were scaled to this machine", Columns: []string{"choice"}, Rows: scale},
			{Title: "The profiles", Columns: []string{"profile", "setting"}, Rows: prof},
		}})
	for _, name := range Phases {
		d.Sections = append(d.Sections, r.phaseSections(name)...)
	}
	return d
}

// phaseSections are a phase's sections: the two profiles' representative
// runs overlaid where both ran, each profile's own comparison for the
// reads, and the tables.
func (r *Result) phaseSections(name string) []htmlreport.Section {
	b, o := r.names()
	pb, po, pm := r.phaseAny(name, b), r.phaseAny(name, o), r.phaseAny(name, "")
	title := phaseTitles[name]
	var out []htmlreport.Section
	tables := func(ps ...*Phase) []htmlreport.Table {
		var t []htmlreport.Table
		for _, p := range ps {
			if p == nil {
				continue
			}
			for _, x := range p.Tables {
				ti := x.Title
				if p.Profile != "" {
					ti = p.Profile + ": " + ti
				}
				t = append(t, htmlreport.Table{Title: ti, Columns: x.Columns, Rows: x.Rows, Note: x.Note})
			}
			if p.Skipped != "" {
				t = append(t, htmlreport.Table{Title: phaseTag(p) + " did not run", Columns: []string{"reason"}, Rows: [][]string{{p.Skipped}}})
			}
		}
		return t
	}
	note := func(ps ...*Phase) string {
		var parts []string
		for _, p := range ps {
			if p != nil && p.Note != "" && p.Skipped == "" {
				parts = append(parts, phaseTag(p)+": "+p.Note+".")
			}
		}
		return strings.Join(parts, " ")
	}
	switch name {
	case PhaseMemory:
		if pm == nil {
			return nil
		}
		s := htmlreport.Section{Title: title, Note: note(pm), Tables: tables(pm)}
		if a, c := pm.run("128 MB, round 1"), pm.run("512 MB, round 1"); a != nil && c != nil {
			s.Base, s.Change, s.Labels = a, c, [2]string{"128 MB", "512 MB"}
		}
		return []htmlreport.Section{s}
	case PhaseReads:
		for _, p := range []*Phase{pb, po} {
			if p == nil {
				continue
			}
			s := htmlreport.Section{Title: title + ": " + p.Profile, Note: note(p), Tables: tables(p)}
			if a, c := p.run("eventually consistent"), p.run("strongly consistent"); a != nil && c != nil {
				s.Base, s.Change, s.Labels = a, c, [2]string{"eventually consistent", "strongly consistent"}
			}
			out = append(out, s)
		}
		return out
	}
	if pb == nil && po == nil {
		return nil
	}
	s := htmlreport.Section{Title: title, Note: note(pb, po), Tables: tables(pb, po)}
	ra, rc := representative(pb), representative(po)
	switch {
	case ra != nil && rc != nil:
		s.Base, s.Change, s.Labels = ra, rc, [2]string{b, o}
	case ra != nil:
		s.Run = ra
	case rc != nil:
		s.Run = rc
	}
	return []htmlreport.Section{s}
}

// phaseAny returns the phase of that name and profile, run or skipped.
func (r *Result) phaseAny(name, profile string) *Phase {
	for _, p := range r.Phases {
		if p.Name == name && p.Profile == profile {
			return p
		}
	}
	return nil
}

// representative is the run that stands for a phase in a chart: the knee
// step of a ramp, the first run of the others.
func representative(p *Phase) *load.Result {
	if p == nil || len(p.Runs) == 0 {
		return nil
	}
	if p.Knee != nil && p.Knee.Offered > 0 {
		for i := range p.Runs {
			if k := p.Runs[i].Result.Knee; k != nil && k.Offered == p.Knee.Offered && len(k.Steps) == 1 && k.Steps[0].Pass {
				return p.Runs[i].Result
			}
		}
	}
	return p.Runs[0].Result
}

func phaseTag(p *Phase) string {
	if p.Profile == "" {
		return p.Name
	}
	return p.Profile
}

// errWriter keeps the first write error.
type errWriter struct {
	w   io.Writer
	err error
}

func (e *errWriter) printf(format string, args ...any) {
	if e.err == nil {
		_, e.err = fmt.Fprintf(e.w, format, args...)
	}
}

// Main runs the lab as `surge lab` does: the experiment, the terminal
// report on stdout, and the files cfg names (surge-lab.json, .html and .md
// where it names none). An interrupted run still reports and writes what
// ran.
func Main(ctx context.Context, cfg Config, stdout io.Writer) error {
	for p, def := range map[*string]string{&cfg.Out: "surge-lab.json", &cfg.HTML: "surge-lab.html", &cfg.Markdown: "surge-lab.md"} {
		if *p == "" {
			*p = def
		}
	}
	res, err := Run(ctx, cfg)
	if res == nil {
		return err
	}
	if werr := res.WriteText(stdout); werr != nil {
		return werr
	}
	return errors.Join(err, Write(res, cfg.Out, cfg.HTML, cfg.Markdown))
}

// Redraw is `surge lab report`: the terminal report of a saved result on
// stdout, and the HTML report and Markdown summary where paths are given.
func Redraw(stdout io.Writer, path, html, markdown string) error {
	res, err := ReadResultFile(path)
	if err != nil {
		return fmt.Errorf("lab report: %w", err)
	}
	if err := res.WriteText(stdout); err != nil {
		return err
	}
	return Write(res, "", html, markdown)
}
