// Command vulndb builds the Go vulnerability database that govulncheck
// reads with -db file://DIR, offline, from the module golang.org/x/vulndb
// as the Go module proxy serves it (vuln.go.dev itself need not be
// reachable). The module holds the database's OSV entries (data/osv) but
// not the index the client reads first, so vulndb writes the v1 layout:
//
//	DIR/index/db.json       {"modified": the newest entry's time}
//	DIR/index/modules.json  each module's vulnerabilities, with their fix
//	DIR/index/vulns.json    each vulnerability's id, time and aliases
//	DIR/ID/GO-YYYY-NNNN.json the entries
//
// An entry's "modified" (and most entries' "published") is empty in the
// module: the database's own build takes them from git history. vulndb
// takes the "published" time where there is one, else the snapshot's
// time, the commit time in the pinned pseudo-version.
//
// Usage: go run ./tools/vulndb -out .tools/vulndb [-src DIR]
// (-src: an unpacked golang.org/x/vulndb; default: the pinned Version,
// fetched with `go mod download`).
//
// With -report FILE, it reads govulncheck's -format json output instead,
// prints the findings, and exits 1 when one should fail the build (see
// report).
package main

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Version is the pinned golang.org/x/vulndb, the database's snapshot.
const Version = "v0.0.0-20261105234957-e22db6528018"

// snapshot is the time of Version's commit.
var snapshot = func() time.Time {
	t, _ := time.Parse("20060102150405", strings.Split(Version, "-")[1])
	return t
}()

func main() {
	out := flag.String("out", ".tools/vulndb", "directory to write the database to")
	src := flag.String("src", "", "an unpacked golang.org/x/vulndb (default: the pinned version, from the module proxy)")
	rep := flag.String("report", "", "read govulncheck's JSON output from this file, print its findings, and fail on those to fix")
	flag.Parse()
	if *rep != "" {
		if err := runReport(*rep); err != nil {
			fmt.Fprintln(os.Stderr, "govulncheck:", err)
			os.Exit(1)
		}
		return
	}
	if err := run(*src, *out); err != nil {
		fmt.Fprintln(os.Stderr, "vulndb:", err)
		os.Exit(1)
	}
}

func run(src, out string) error {
	if src == "" {
		var err error
		if src, err = download(); err != nil {
			return err
		}
	}
	entries, err := readEntries(filepath.Join(src, "data", "osv"))
	if err != nil {
		return err
	}
	n, err := write(entries, out)
	if err != nil {
		return err
	}
	fmt.Printf("vulndb: %d entries of golang.org/x/vulndb@%s written to %s\n", n, Version, out)
	return nil
}

func runReport(path string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	toolchain, err := modToolchain("go.mod")
	if err != nil {
		return err
	}
	return report(f, os.Stdout, toolchain)
}

// download fetches the pinned module and returns its directory.
func download() (string, error) {
	cmd := exec.Command("go", "mod", "download", "-json", "golang.org/x/vulndb@"+Version)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	b, err := cmd.Output()
	if err != nil {
		return "", fmt.Errorf("go mod download golang.org/x/vulndb@%s: %v: %s", Version, err, stderr.Bytes())
	}
	var m struct{ Dir string }
	if err := json.Unmarshal(b, &m); err != nil || m.Dir == "" {
		return "", fmt.Errorf("go mod download golang.org/x/vulndb@%s: no directory in %s", Version, b)
	}
	return m.Dir, nil
}

// entry is what the index needs of an OSV entry; raw is the whole entry.
type entry struct {
	ID        string    `json:"id"`
	Modified  time.Time `json:"modified"`
	Published time.Time `json:"published"`
	Aliases   []string  `json:"aliases,omitempty"`
	Affected  []struct {
		Package struct {
			Name string `json:"name"`
		} `json:"package"`
		Ranges []osvRange `json:"ranges"`
	} `json:"affected"`
	raw map[string]any
}

type osvRange struct {
	Type   string `json:"type"`
	Events []struct {
		Introduced string `json:"introduced,omitempty"`
		Fixed      string `json:"fixed,omitempty"`
	} `json:"events"`
}

// readEntries reads every GO-*.json entry of dir.
func readEntries(dir string) ([]*entry, error) {
	names, err := filepath.Glob(filepath.Join(dir, "GO-*.json"))
	if err != nil {
		return nil, err
	}
	if len(names) == 0 {
		return nil, fmt.Errorf("no OSV entries in %s", dir)
	}
	var entries []*entry
	for _, name := range names {
		b, err := os.ReadFile(name)
		if err != nil {
			return nil, err
		}
		e := &entry{}
		if err := json.Unmarshal(b, e); err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
		if err := json.Unmarshal(b, &e.raw); err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
		if filepath.Base(name) != e.ID+".json" {
			return nil, fmt.Errorf("%s: the entry's id is %q", name, e.ID)
		}
		if e.Modified.IsZero() {
			e.Modified = e.Published
			if e.Modified.IsZero() {
				e.Modified = snapshot
			}
			e.raw["modified"] = e.Modified.UTC().Format(time.RFC3339)
		}
		entries = append(entries, e)
	}
	return entries, nil
}

type dbMeta struct {
	Modified time.Time `json:"modified"`
}

type moduleMeta struct {
	Path  string       `json:"path"`
	Vulns []moduleVuln `json:"vulns"`
}

type moduleVuln struct {
	ID       string    `json:"id"`
	Modified time.Time `json:"modified"`
	Fixed    string    `json:"fixed,omitempty"`
}

type vulnMeta struct {
	ID       string    `json:"id"`
	Modified time.Time `json:"modified"`
	Aliases  []string  `json:"aliases,omitempty"`
}

// write writes the database of entries to out, replacing what is there.
func write(entries []*entry, out string) (int, error) {
	if err := os.RemoveAll(out); err != nil {
		return 0, err
	}
	for _, d := range []string{"index", "ID"} {
		if err := os.MkdirAll(filepath.Join(out, d), 0o755); err != nil {
			return 0, err
		}
	}
	var db dbMeta
	modules := map[string]*moduleMeta{}
	var vulns []vulnMeta
	for _, e := range entries {
		if e.Modified.After(db.Modified) {
			db.Modified = e.Modified
		}
		vulns = append(vulns, vulnMeta{ID: e.ID, Modified: e.Modified, Aliases: e.Aliases})
		// An entry may list one module several times (ranges of its
		// packages): one line of the index, over all their ranges.
		ranges := map[string][]osvRange{}
		var order []string
		for _, a := range e.Affected {
			if _, ok := ranges[a.Package.Name]; !ok {
				order = append(order, a.Package.Name)
			}
			ranges[a.Package.Name] = append(ranges[a.Package.Name], a.Ranges...)
		}
		for _, mod := range order {
			m := modules[mod]
			if m == nil {
				m = &moduleMeta{Path: mod, Vulns: []moduleVuln{}}
				modules[mod] = m
			}
			m.Vulns = append(m.Vulns, moduleVuln{ID: e.ID, Modified: e.Modified, Fixed: nonSupersededFix(ranges[mod])})
		}
		b, err := json.Marshal(e.raw)
		if err != nil {
			return 0, err
		}
		if err := os.WriteFile(filepath.Join(out, "ID", e.ID+".json"), b, 0o644); err != nil {
			return 0, err
		}
	}
	mods := make([]*moduleMeta, 0, len(modules))
	for _, m := range modules {
		sort.Slice(m.Vulns, func(i, j int) bool { return m.Vulns[i].ID < m.Vulns[j].ID })
		mods = append(mods, m)
	}
	sort.Slice(mods, func(i, j int) bool { return mods[i].Path < mods[j].Path })
	sort.Slice(vulns, func(i, j int) bool { return vulns[i].ID < vulns[j].ID })
	for name, v := range map[string]any{"db.json": db, "modules.json": mods, "vulns.json": vulns} {
		b, err := json.Marshal(v)
		if err != nil {
			return 0, err
		}
		if err := os.WriteFile(filepath.Join(out, "index", name), b, 0o644); err != nil {
			return 0, err
		}
	}
	return len(entries), nil
}

// nonSupersededFix is the version that fixes the vulnerability for good
// (govulncheck's semver.NonSupersededFix): the latest fix of the ranges,
// unless the vulnerability was introduced again after it.
func nonSupersededFix(ranges []osvRange) string {
	var latest string
	for _, r := range ranges {
		if r.Type != "SEMVER" {
			continue
		}
		for _, e := range r.Events {
			if e.Fixed != "" && semverLess(latest, e.Fixed) {
				latest = e.Fixed
			}
		}
		for _, e := range r.Events {
			if e.Introduced != "" && e.Introduced != "0" && semverLess(latest, e.Introduced) {
				latest = ""
				break
			}
		}
	}
	return latest
}

// semverLess orders versions without the "v" (1.2.3, 1.2.3-rc.1), "" first.
func semverLess(a, b string) bool { return semverCompare(a, b) < 0 }

func semverCompare(a, b string) int {
	if a == b {
		return 0
	}
	if a == "" {
		return -1
	}
	if b == "" {
		return 1
	}
	ac, apre := splitVersion(a)
	bc, bpre := splitVersion(b)
	for i := range 3 {
		if c := compareNum(ac[i], bc[i]); c != 0 {
			return c
		}
	}
	switch {
	case apre == bpre:
		return 0
	case apre == "":
		return 1 // a release is after its pre-releases
	case bpre == "":
		return -1
	}
	ap, bp := strings.Split(apre, "."), strings.Split(bpre, ".")
	for i := 0; i < len(ap) && i < len(bp); i++ {
		an, aerr := strconv.ParseUint(ap[i], 10, 64)
		bn, berr := strconv.ParseUint(bp[i], 10, 64)
		switch {
		case aerr == nil && berr == nil:
			if an != bn {
				return cmpInt(an, bn)
			}
		case aerr == nil:
			return -1 // numeric identifiers are before others
		case berr == nil:
			return 1
		default:
			if c := strings.Compare(ap[i], bp[i]); c != 0 {
				return c
			}
		}
	}
	return cmpInt(uint64(len(ap)), uint64(len(bp)))
}

// splitVersion splits 1.2.3-pre+build into its numbers and pre-release.
func splitVersion(v string) ([3]string, string) {
	v, _, _ = strings.Cut(v, "+")
	core, pre, _ := strings.Cut(v, "-")
	var c [3]string
	parts := strings.SplitN(core, ".", 3)
	for i := range c {
		c[i] = "0"
		if i < len(parts) {
			c[i] = parts[i]
		}
	}
	return c, pre
}

func compareNum(a, b string) int {
	a, b = strings.TrimLeft(a, "0"), strings.TrimLeft(b, "0")
	if len(a) != len(b) {
		return cmpInt(uint64(len(a)), uint64(len(b)))
	}
	return strings.Compare(a, b)
}

func cmpInt(a, b uint64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}
