package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestSemverCompare(t *testing.T) {
	for _, c := range []struct {
		a, b string
		want int
	}{
		{"1.2.3", "1.2.3", 0},
		{"1.2.3", "1.2.10", -1},
		{"1.10.0", "1.9.9", 1},
		{"1.3.5-rc.1", "1.3.5", -1},
		{"1.3.5-rc.2", "1.3.5-rc.10", -1},
		{"1.3.5-alpha", "1.3.5-1", 1},
		{"0.0.0-20220101000000-abcdef", "0.1.0", -1},
		{"1.26.8", "1.26.10", -1},
		{"", "0.0.1", -1},
		{"2.0.0+build", "2.0.0", 0},
	} {
		if got := semverCompare(c.a, c.b); got != c.want {
			t.Errorf("semverCompare(%q, %q): got %d, want %d", c.a, c.b, got, c.want)
		}
		if got := semverCompare(c.b, c.a); got != -c.want {
			t.Errorf("semverCompare(%q, %q): got %d, want %d", c.b, c.a, got, -c.want)
		}
	}
}

func FuzzSemverCompare(f *testing.F) {
	f.Add("1.2.3", "1.2.3-rc.1")
	f.Add("0.0.0-2022", "1.0")
	f.Fuzz(func(t *testing.T, a, b string) {
		if x, y := semverCompare(a, b), semverCompare(b, a); x != -y {
			t.Fatalf("%q vs %q: %d and %d", a, b, x, y)
		}
	})
}

// TestWrite builds the database of testdata/osv and reads it back as
// govulncheck's client does.
func TestWrite(t *testing.T) {
	entries, err := readEntries("testdata/osv")
	if err != nil {
		t.Fatal(err)
	}
	out := t.TempDir()
	n, err := write(entries, out)
	if err != nil || n != 3 {
		t.Fatalf("write: %d, %v", n, err)
	}
	var db dbMeta
	readJSON(t, filepath.Join(out, "index", "db.json"), &db)
	if !db.Modified.Equal(snapshot) {
		t.Errorf("db modified: got %v, want %v (the newest entry's: the one without dates)", db.Modified, snapshot)
	}
	var mods []moduleMeta
	readJSON(t, filepath.Join(out, "index", "modules.json"), &mods)
	got := map[string]string{}
	for _, m := range mods {
		for _, v := range m.Vulns {
			got[m.Path+" "+v.ID] = v.Fixed + " " + v.Modified.Format(time.DateOnly)
		}
	}
	want := map[string]string{
		// Two affected blocks of one module make one line, over all ranges.
		"example.com/a GO-2024-0001": "1.3.5 2024-02-03",
		// Re-introduced after its last fix: none.
		"example.com/b GO-2024-0002": " 2025-01-01",
		"stdlib GO-2024-0002":        "1.26.9 2025-01-01",
		// No dates at all: the snapshot's.
		"example.com/a GO-2024-0003": "0.9.0 " + snapshot.Format(time.DateOnly),
	}
	if len(got) != len(want) {
		t.Errorf("modules index: got %v, want %v", got, want)
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s: got %q, want %q", k, got[k], v)
		}
	}
	var entry map[string]any
	readJSON(t, filepath.Join(out, "ID", "GO-2024-0003.json"), &entry)
	if entry["modified"] != snapshot.Format(time.RFC3339) || entry["summary"] != "no dates" {
		t.Errorf("entry: got %v", entry)
	}
}

func readJSON(t *testing.T, path string, v any) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, v); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
}

// govulncheck's JSON for the report's tests.
const (
	cfg       = `{"config":{"go_version":"go1.26.8"}}`
	stdCalled = `{"osv":{"id":"GO-1","summary":"std bug"}}{"finding":{"osv":"GO-1","fixed_version":"v1.26.9","trace":[{"module":"stdlib","version":"v1.26.8","package":"net/http","function":"Serve"}]}}`
	modCalled = `{"osv":{"id":"GO-2","summary":"mod bug"}}{"finding":{"osv":"GO-2","fixed_version":"v1.2.0","trace":[{"module":"example.com/a","version":"v1.1.0","package":"example.com/a","function":"F"}]}}`
	modOnly   = `{"finding":{"osv":"GO-3","trace":[{"module":"example.com/c","version":"v0.1.0"}]}}`
)

func TestReport(t *testing.T) {
	for _, c := range []struct {
		name, in, toolchain string
		fail                bool
		says                string
	}{
		{"Nothing", cfg, "", false, "0 vulnerabilities"},
		{"RequiredOnly", cfg + modOnly, "", false, "required only"},
		{"ModuleCalled", cfg + modCalled, "go1.26.10", true, "CALLED"},
		{"StdlibCalled", cfg + stdCalled, "", true, "CALLED"},
		{"StdlibFixedByTheToolchain", cfg + stdCalled, "go1.26.9", false, "go.mod's toolchain go1.26.9 fixes them"},
		{"StdlibNotFixedByTheToolchain", cfg + stdCalled, "go1.26.8", true, "CALLED"},
	} {
		t.Run(c.name, func(t *testing.T) {
			var out bytes.Buffer
			err := report(strings.NewReader(c.in), &out, c.toolchain)
			if (err != nil) != c.fail {
				t.Errorf("got error %v, want a failure: %v", err, c.fail)
			}
			if !strings.Contains(out.String(), c.says) {
				t.Errorf("the report lacks %q:\n%s", c.says, out.String())
			}
		})
	}
}

func FuzzReport(f *testing.F) {
	f.Add(cfg + stdCalled + modCalled + modOnly)
	f.Add(`{"finding":{"trace":[]}}`)
	f.Fuzz(func(t *testing.T, in string) {
		_ = report(strings.NewReader(in), &bytes.Buffer{}, "go1.26.9")
	})
}
