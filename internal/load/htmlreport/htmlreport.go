package htmlreport

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"html/template"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/surgehq/surge/internal/load"
)

// Options change how a report is written.
type Options struct {
	// Title heads the report; empty gives one from the target.
	Title string
	// Labels name the baseline and the change of a comparison (A and B);
	// empty gives "baseline" and "change".
	Labels [2]string
	// Extra is the optional data of Run's result or of Compare's change,
	// and BaseExtra of Compare's baseline. When nil, the members of that
	// shape in the result's own JSON form are read (see Extra).
	Extra, BaseExtra *Extra
	// Now gives the time printed as the report's date; nil is time.Now.
	Now func() time.Time
}

// Run writes the report of one run.
func Run(w io.Writer, r *load.Result, opts Options) error {
	if r == nil {
		return errors.New("html report: no result")
	}
	title := opts.Title
	if title == "" {
		title = "surge load: " + r.Scenario.Subject()
	}
	d := &Document{Title: title, Now: opts.Now,
		Sections: []Section{{Title: "Run of " + r.Started.UTC().Format("2006-01-02 15:04:05 UTC"), Run: r, Extra: opts.Extra}}}
	return d.Write(w)
}

// Compare writes the comparison of a change against a baseline: every
// chart overlays the two, and the per-operation table tests each
// difference.
func Compare(w io.Writer, base, change *load.Result, opts Options) error {
	if base == nil || change == nil {
		return errors.New("html report: comparison needs two results")
	}
	title := opts.Title
	if title == "" {
		title = "surge load: comparison"
	}
	d := &Document{Title: title, Now: opts.Now, Sections: []Section{{
		Title: "Comparison", Base: base, Change: change, Labels: opts.Labels,
		BaseExtra: opts.BaseExtra, Extra: opts.Extra,
	}}}
	return d.Write(w)
}

// Document is a report of several sections, such as the lab's: a section
// per phase (a run or a comparison) and tables of findings.
type Document struct {
	Title string
	// Intro is a paragraph under the title.
	Intro    string
	Sections []Section
	// Now gives the time printed as the report's date; nil is time.Now.
	Now func() time.Time
}

// Section is one part of a Document: a run (Run), a comparison (Base and
// Change), or tables alone; its Tables follow its charts.
type Section struct {
	Title string
	// Note is a paragraph under the section's title.
	Note string
	// Run is the section's run; or Base and Change its comparison.
	Run          *load.Result
	Base, Change *load.Result
	// Labels name Base and Change; empty gives "baseline" and "change".
	Labels [2]string
	// Extra is the optional data of Run or Change, BaseExtra of Base; nil
	// reads it from the result (see Options.Extra).
	Extra, BaseExtra *Extra
	Tables           []Table
}

// Table is a table of text, such as the lab's findings.
type Table struct {
	Title   string
	Columns []string
	Rows    [][]string
	// Note is a sentence under the table.
	Note string
}

// Write renders the document as one HTML file that needs nothing else:
// styles, scripts and data are inline, and it makes no request.
func (d *Document) Write(w io.Writer) error {
	p, err := d.build()
	if err != nil {
		return err
	}
	var buf bytes.Buffer
	if err := pageTemplate().Execute(&buf, p); err != nil {
		return fmt.Errorf("html report: %w", err)
	}
	if _, err := w.Write(buf.Bytes()); err != nil {
		return fmt.Errorf("html report: write: %w", err)
	}
	return nil
}

// docData is the data the page's script draws: every chart, and their
// horizontal values stored once.
type docData struct {
	V      int             `json:"v"`
	Xs     map[string]nums `json:"xs"`
	Charts []*chart        `json:"charts"`
}

type page struct {
	Title, Intro, Generated string
	Sections                []sectionView
	CSP                     string
	CSS                     template.CSS
	Data, Lib, Script       template.JS
	LibName, LibLicense     string
}

type sectionView struct {
	ID, Title, Note string
	Runs            []string // "A: baseline, ...", one line per run
	Partial         []string
	Verdicts        []verdict
	Summary         *table  // key figures
	Tables          []table // per operation
	Stages          []string
	Groups          []group
	Settings        []table
	Free            []table
	// Checks are a collection's checks and captures, a table each per
	// run.
	Checks []table
}

// build assembles the page: the sections' views and the data.
func (d *Document) build() (*page, error) {
	now := time.Now
	if d.Now != nil {
		now = d.Now
	}
	data := &docData{V: 1, Xs: map[string]nums{}}
	xkey := map[string]string{}
	p := &page{Title: d.Title, Intro: d.Intro, Generated: now().UTC().Format("2006-01-02 15:04 UTC")}
	for i := range d.Sections {
		sv, err := d.Sections[i].view("s"+strconv.Itoa(i+1), data, xkey)
		if err != nil {
			return nil, fmt.Errorf("html report: section %d (%s): %w", i+1, d.Sections[i].Title, err)
		}
		for _, g := range sv.Groups {
			for _, it := range g.Items {
				if it.Chart != nil {
					data.Charts = append(data.Charts, it.Chart)
				}
			}
		}
		p.Sections = append(p.Sections, *sv)
	}
	js, err := json.Marshal(data) // escapes <, > and &: it cannot close its script element
	if err != nil {
		return nil, fmt.Errorf("html report: encode data: %w", err)
	}
	p.Data = template.JS(js)
	p.CSS = template.CSS(libCSS + "\n" + reportCSS)
	p.Lib = template.JS("/*! " + libName + ", MIT License:\n" + strings.ReplaceAll(libLicense, "*/", "* /") + "*/\n" + libJS)
	p.Script = template.JS(reportJS)
	p.LibName = libName
	// The policy forbids every fetch (scripts, styles, images, fonts,
	// connections) and allows only the page's own inline script and style
	// elements, by hash: the file cannot reach the network even if its data
	// were crafted.
	p.CSP = fmt.Sprintf("default-src 'none'; script-src %s %s; style-src %s; img-src 'none'; base-uri 'none'; form-action 'none'",
		sriHash(string(p.Lib)), sriHash(string(p.Script)), sriHash(string(p.CSS)))
	return p, nil
}

func sriHash(s string) string {
	h := sha256.Sum256([]byte(s))
	return "'sha256-" + base64.StdEncoding.EncodeToString(h[:]) + "'"
}

func (s *Section) view(id string, data *docData, xkey map[string]string) (*sectionView, error) {
	sv := &sectionView{ID: id, Title: s.Title, Note: s.Note}
	var runs []*runIn
	switch {
	case s.Run != nil && (s.Base != nil || s.Change != nil):
		return nil, errors.New("a section is a run or a comparison, not both")
	case s.Run != nil:
		x, err := extraOf(s.Run, s.Extra)
		if err != nil {
			return nil, err
		}
		runs = []*runIn{newRunIn("", s.Run, x)}
	case s.Base != nil && s.Change != nil:
		xa, err := extraOf(s.Base, s.BaseExtra)
		if err != nil {
			return nil, err
		}
		xb, err := extraOf(s.Change, s.Extra)
		if err != nil {
			return nil, err
		}
		runs = []*runIn{newRunIn("A", s.Base, xa), newRunIn("B", s.Change, xb)}
	case s.Base != nil || s.Change != nil:
		return nil, errors.New("a comparison needs both Base and Change")
	}
	labels := s.Labels
	if labels[0] == "" {
		labels[0] = "baseline"
	}
	if labels[1] == "" {
		labels[1] = "change"
	}
	for i, in := range runs {
		r := in.r
		head := fmt.Sprintf("%s, %s, started %s", r.Scenario.Subject(), r.Plan(), r.Started.UTC().Format("2006-01-02 15:04:05 UTC"))
		if in.label != "" {
			head = in.label + " (" + labels[i] + "): " + head
		}
		sv.Runs = append(sv.Runs, head)
		if p := partial(r, in.x); p != "" {
			sv.Partial = append(sv.Partial, strings.TrimSpace(in.label+" "+p))
		}
		sv.Verdicts = append(sv.Verdicts, verdictOf(in.label, r))
	}
	if len(runs) > 0 {
		b := &builder{id: id, runs: runs, xs: data.Xs, xkey: xkey}
		summary := summaryTable(id+"-summary", runs)
		sv.Summary = &summary
		if len(runs) == 1 {
			sv.Tables = append(sv.Tables, opTable(id+"-ops", runs[0].r, false))
			if runs[0].r.Scenario.Model == load.ModelOpen {
				sv.Tables = append(sv.Tables, opTable(id+"-service", runs[0].r, true))
			}
		} else {
			sv.Tables = append(sv.Tables, compareTable(id+"-ops", runs[0].r, runs[1].r, b.opNames()))
		}
		same := len(runs) == 2 && slices.Equal(runs[0].stage, runs[1].stage)
		for _, in := range runs {
			for _, st := range in.stage {
				if same {
					sv.Stages = append(sv.Stages, st)
				} else {
					sv.Stages = append(sv.Stages, strings.TrimSpace(in.label+" "+st))
				}
			}
			if same {
				break
			}
		}
		for _, in := range runs {
			sv.Checks = append(sv.Checks, checkTables(id, in.label, in.r)...)
		}
		sv.Groups = b.groups()
		sv.Settings = append(sv.Settings, settingsTable(id+"-settings", "Settings", runs, settingsOf),
			settingsTable(id+"-machine", "Load generator machine", runs, machineOf))
	}
	for i, t := range s.Tables {
		ft := table{ID: fmt.Sprintf("%s-table%d", id, i+1), Caption: t.Title, Note: t.Note, Head: t.Columns, Text: true}
		for _, r := range t.Rows {
			row := make([]cell, len(r))
			for j, c := range r {
				row[j] = txt(c)
			}
			ft.Groups = append(ft.Groups, [][]cell{row})
		}
		sv.Free = append(sv.Free, ft)
	}
	return sv, nil
}

// partial says why a result stops short of its plan, or "".
func partial(r *load.Result, x *Extra) string {
	switch {
	case x.Partial || r.Partial:
		return fmt.Sprintf("this result was cut short (the run was killed or crashed): it holds the run up to its last interval, %s in.", seconds(r.ElapsedSeconds))
	case r.Stop == "interrupted" && r.PlanSeconds > 0 && r.PlanSeconds < 1e9:
		return fmt.Sprintf("the run was interrupted after %s of its %s plan; the figures cover that part.", seconds(r.ElapsedSeconds), seconds(r.PlanSeconds))
	case r.Stop == "interrupted":
		return fmt.Sprintf("the run was interrupted after %s; the figures cover that part.", seconds(r.ElapsedSeconds))
	}
	return ""
}

// settingsTable lays a run's settings out, or both runs' side by side.
func settingsTable(id, caption string, runs []*runIn, get func(*load.Result) []setting) table {
	t := table{ID: id, Caption: caption, Head: []string{"setting"}, Text: true}
	var names []string
	values := map[string][]string{}
	for i, in := range runs {
		if in.label != "" {
			t.Head = append(t.Head, in.label)
		} else {
			t.Head = append(t.Head, "value")
		}
		for _, s := range get(in.r) {
			if _, ok := values[s.Name]; !ok {
				names = append(names, s.Name)
				values[s.Name] = make([]string, len(runs))
			}
			values[s.Name][i] = s.Value
		}
	}
	for _, n := range names {
		row := []cell{txt(n)}
		for _, v := range values[n] {
			row = append(row, txt(v))
		}
		t.Groups = append(t.Groups, [][]cell{row})
	}
	return t
}

// WriteFile writes a report, rendered by write, to the file at path: into
// a temporary file beside it, renamed over path once complete, so that a
// failed render never leaves half a report behind.
func WriteFile(path string, write func(io.Writer) error) (err error) {
	f, err := os.CreateTemp(filepath.Dir(path), ".surge-report-*.html")
	if err != nil {
		return fmt.Errorf("html report: %w", err)
	}
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(f.Name())
		}
	}()
	if err := write(f); err != nil {
		return err
	}
	if err := f.Chmod(0o644); err != nil {
		return fmt.Errorf("html report: %w", err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("html report: %w", err)
	}
	if err := os.Rename(f.Name(), path); err != nil {
		return fmt.Errorf("html report: %w", err)
	}
	return nil
}
