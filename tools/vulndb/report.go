package main

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
)

// A govulncheck -format json stream, as far as the report reads it.
type message struct {
	Config *struct {
		GoVersion string `json:"go_version"`
		DB        string `json:"db"`
	} `json:"config"`
	OSV *struct {
		ID      string `json:"id"`
		Summary string `json:"summary"`
	} `json:"osv"`
	Finding *struct {
		OSV          string `json:"osv"`
		FixedVersion string `json:"fixed_version"`
		Trace        []struct {
			Module   string `json:"module"`
			Version  string `json:"version"`
			Package  string `json:"package"`
			Function string `json:"function"`
		} `json:"trace"`
	} `json:"finding"`
}

// finding is one vulnerability as the report lists it.
type finding struct {
	id, module, version, fixed, summary string
	// called: the code calls a vulnerable symbol; imported: it imports a
	// vulnerable package only; else the module is only required.
	called, imported bool
}

// report reads govulncheck's JSON from r, prints the findings to w, and
// returns an error when a finding should fail the build: any vulnerable
// symbol the code calls in a required module (fixed by upgrading it), and
// in the standard library unless the toolchain running is older than the
// one go.mod names (toolchain), whose release fixes them.
func report(r io.Reader, w io.Writer, toolchain string) error {
	dec := json.NewDecoder(bufio.NewReader(r))
	summaries := map[string]string{}
	byID := map[string]*finding{}
	goVersion := ""
	for {
		var m message
		if err := dec.Decode(&m); err == io.EOF {
			break
		} else if err != nil {
			return fmt.Errorf("read govulncheck's output: %w", err)
		}
		switch {
		case m.Config != nil:
			goVersion = m.Config.GoVersion
		case m.OSV != nil:
			summaries[m.OSV.ID] = m.OSV.Summary
		case m.Finding != nil && len(m.Finding.Trace) > 0:
			t := m.Finding.Trace[0]
			f := byID[m.Finding.OSV]
			if f == nil {
				f = &finding{id: m.Finding.OSV, module: t.Module, version: t.Version, fixed: m.Finding.FixedVersion}
				byID[f.id] = f
			}
			f.called = f.called || t.Function != ""
			f.imported = f.imported || t.Package != ""
		}
	}
	var all []*finding
	for _, f := range byID {
		f.summary = summaries[f.id]
		all = append(all, f)
	}
	sort.Slice(all, func(i, j int) bool {
		if all[i].called != all[j].called {
			return all[i].called
		}
		return all[i].id < all[j].id
	})
	var calledStd, calledMod []*finding
	fmt.Fprintf(w, "govulncheck (%s): %d vulnerabilities found in the modules and toolchain the code uses\n", goVersion, len(all))
	for _, f := range all {
		level := "required only"
		switch {
		case f.called:
			level = "CALLED"
			if f.module == "stdlib" {
				calledStd = append(calledStd, f)
			} else {
				calledMod = append(calledMod, f)
			}
		case f.imported:
			level = "imported, not called"
		}
		fmt.Fprintf(w, "  %-14s %-22s %s@%s, fixed in %s: %s\n", f.id, level, f.module, f.version, orNone(f.fixed), f.summary)
	}
	var errs []error
	if len(calledMod) > 0 {
		errs = append(errs, fmt.Errorf("%d vulnerabilities called in required modules: upgrade them (go get MODULE@FIXED)", len(calledMod)))
	}
	if len(calledStd) > 0 {
		switch {
		case toolchain != "" && goLess(goVersion, toolchain):
			fmt.Fprintf(w, "govulncheck: %d standard library vulnerabilities are called in %s; go.mod's toolchain %s fixes them, and this machine runs %s (GOTOOLCHAIN=local?): not a failure here\n",
				len(calledStd), goVersion, toolchain, goVersion)
		default:
			errs = append(errs, fmt.Errorf("%d standard library vulnerabilities called in %s: name a fixed release in go.mod's toolchain line", len(calledStd), goVersion))
		}
	}
	return errors.Join(errs...)
}

func orNone(s string) string {
	if s == "" {
		return "(none)"
	}
	return s
}

// goLess orders Go versions "go1.26.8" < "go1.26.10".
func goLess(a, b string) bool {
	return semverLess(strings.TrimPrefix(a, "go"), strings.TrimPrefix(b, "go"))
}

// modToolchain returns the toolchain line of the go.mod at path, "" for
// none.
func modToolchain(path string) (string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return "", err
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(strings.TrimSpace(line), "toolchain "); ok {
			return strings.TrimSpace(v), nil
		}
	}
	return "", nil
}
