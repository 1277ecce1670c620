package load_test

import (
	"maps"
	"strings"
	"testing"

	"github.com/surgehq/surge/internal/load"
)

func TestParseWeights(t *testing.T) {
	good := []struct {
		in   string
		want load.Weights
	}{
		{"Create an item=2,Read an item=5", load.Weights{"Create an item": 2, "Read an item": 5}},
		// Names hold commas and equals signs: a piece without "=" belongs
		// to the pair after it, and the weight follows the last "=".
		{"Articles, Favorite, Comments / Feed=2,*=1", load.Weights{"Articles, Favorite, Comments / Feed": 2, "*": 1}},
		{"a=b=0.5", load.Weights{"a=b": 0.5}},
		{" x = 1 ,", load.Weights{"x": 1}},
	}
	for _, g := range good {
		got, err := load.ParseWeights(g.in)
		if err != nil || !maps.Equal(got, g.want) {
			t.Errorf("ParseWeights(%q) = %v, %v; want %v", g.in, got, err, g.want)
		}
	}
	for _, bad := range []struct{ in, want string }{
		{"x=lots", "bad weight"},
		{"=1", "want NAME=WEIGHT"},
		{"x=1,dangling", "want NAME=WEIGHT"},
	} {
		if _, err := load.ParseWeights(bad.in); err == nil || !strings.Contains(err.Error(), bad.want) {
			t.Errorf("ParseWeights(%q): %v, want an error mentioning %q", bad.in, err, bad.want)
		}
	}
}

func FuzzParseWeights(f *testing.F) {
	for _, s := range []string{"a=1,b=2", "Articles, Favorite / Feed=2,*=0", "a=b=1", ",,=", "x"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		w, err := load.ParseWeights(s)
		if err != nil {
			return
		}
		// What parses reads back the same from its text form, when no
		// name holds a character of the form's own.
		for k := range w {
			if strings.ContainsAny(k, ",=") || strings.TrimSpace(k) != k {
				return
			}
		}
		again, err := load.ParseWeights(w.String())
		if err != nil || len(again) != len(w) {
			t.Fatalf("%q: %v reads back as %v, %v", s, w, again, err)
		}
	})
}

func TestVariablesAndConnectTo(t *testing.T) {
	var v load.Variables
	for _, s := range []string{"baseUrl=http://127.0.0.1:1/api?x=1", "empty="} {
		if err := v.Set(s); err != nil {
			t.Fatal(err)
		}
	}
	if v["baseUrl"] != "http://127.0.0.1:1/api?x=1" || v["empty"] != "" || len(v) != 2 {
		t.Errorf("variables %v", v)
	}
	if err := v.Set("novalue"); err == nil {
		t.Error("a variable without = was taken")
	}
	var c load.ConnectTo
	if err := c.Set("Postman-Echo.com:443=127.0.0.1:8443"); err != nil {
		t.Fatal(err)
	}
	if c.String() != "postman-echo.com:443=127.0.0.1:8443" {
		t.Errorf("connect-to %v", c)
	}
	for _, bad := range []string{"postman-echo.com=127.0.0.1:1", "a:1", "a:1=b"} {
		if err := c.Set(bad); err == nil {
			t.Errorf("connect-to %q was taken", bad)
		}
	}
}

// TestDecodeCollectionScenario reads a collection's run from a scenario
// file.
func TestDecodeCollectionScenario(t *testing.T) {
	s, err := load.DecodeScenario(strings.NewReader(`
model: open
target: ""
postman:
  file: c.json
  env: e.json
  folders: ["Articles, Comments", Auth]
  vars: {baseUrl: "http://127.0.0.1:3000"}
  setup: [Auth]
  mix: {"Create Article": 2, "*": 1}
  scope: vu
connect_to: {"example.com:443": "127.0.0.1:8443"}
thresholds: "Articles, Comments / All.p99<50ms,checks<1%"
`))
	if err != nil {
		t.Fatal(err)
	}
	p := s.Postman
	if p.File != "c.json" || p.Env != "e.json" || len(p.Folders) != 2 || p.Folders[0] != "Articles, Comments" ||
		p.Vars["baseUrl"] != "http://127.0.0.1:3000" || p.Mix["Create Article"] != 2 || p.Scope != load.ScopeVU ||
		s.ConnectTo["example.com:443"] != "127.0.0.1:8443" {
		t.Fatalf("decoded %+v, connect-to %v", p, s.ConnectTo)
	}
	if len(s.Thresholds) != 2 || s.Thresholds[0].Op != "Articles, Comments / All" {
		t.Fatalf("thresholds %+v", s.Thresholds)
	}
	if errs := s.Validate(); len(errs) > 0 {
		t.Fatalf("does not validate: %v", errs)
	}
}
