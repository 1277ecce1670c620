package load_test

import (
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/peterbourgon/ff/v4"
	"github.com/surgehq/surge/internal/cli"
	"github.com/surgehq/surge/internal/load"
)

// textCase is a text form and what its parser makes of it: the value, or
// the errors, every one of which must be reported.
type textCase struct {
	in      string
	want    any      // the parsed value, when wantErr is empty
	wantErr []string // each must appear in its own joined error
}

// checkText runs parse over the cases; a bad text must report one error
// per bad item, in the order of the items.
func checkText[T any](t *testing.T, parse func(string) (T, error), cases []textCase) {
	t.Helper()
	for _, c := range cases {
		got, err := parse(c.in)
		if len(c.wantErr) == 0 {
			if err != nil || !reflect.DeepEqual(any(got), c.want) {
				t.Errorf("parse(%q) = %#v, %v, want %#v", c.in, got, err, c.want)
			}
			continue
		}
		if err == nil {
			t.Errorf("parse(%q) = %#v, want errors %q", c.in, got, c.wantErr)
			continue
		}
		errs := []error{err}
		if j, ok := err.(interface{ Unwrap() []error }); ok {
			errs = j.Unwrap()
		}
		if len(errs) != len(c.wantErr) {
			t.Errorf("parse(%q): %d errors %q, want %d", c.in, len(errs), err, len(c.wantErr))
			continue
		}
		for i, w := range c.wantErr {
			if !strings.Contains(errs[i].Error(), w) {
				t.Errorf("parse(%q): error %d is %q, want it to mention %q", c.in, i, errs[i], w)
			}
		}
	}
}

func TestParseStages(t *testing.T) {
	checkText(t, load.ParseStages, []textCase{
		{in: "30s:100,1m:100,10s:300", want: load.Stages{{30 * time.Second, 100}, {time.Minute, 100}, {10 * time.Second, 300}}},
		{in: " 1s : 2.5 , , 0s:0 ", want: load.Stages{{time.Second, 2.5}, {0, 0}}},
		{in: "", wantErr: []string{"none given"}},
		{in: "30s", wantErr: []string{`"30s": want DURATION:TARGET`}},
		{in: "soon:1,1s:many,1s:1,2s", wantErr: []string{`"soon:1"`, `"1s:many": bad target`, `"2s": want DURATION:TARGET`}},
	})
}

func TestParseMix(t *testing.T) {
	checkText(t, load.ParseMix, []textCase{
		{in: "read=5,create=1", want: load.Mix{"read": 5, "create": 1}},
		{in: " read = 0.5 ,read=2,", want: load.Mix{"read": 2}}, // the last weight of a name wins
		{in: "", want: load.Mix{}},                              // Validate reports an empty mix
		{in: "read", wantErr: []string{`"read": want NAME=WEIGHT`}},
		{in: "=1,read=x,fly=1,ops=", wantErr: []string{`"=1": want NAME=WEIGHT`, `"read=x": bad weight`, `"ops=": bad weight`}},
	})
}

func TestParsePayloads(t *testing.T) {
	checkText(t, load.ParsePayloads, []textCase{
		{in: "256B=70,4KB=25,64KB=5", want: load.Payloads{{256, 70}, {4 << 10, 25}, {64 << 10, 5}}},
		{in: "1MB", want: load.Payloads{{1 << 20, 1}}}, // a size alone weighs 1
		{in: "", want: load.Payloads(nil)},             // Validate reports no classes
		{in: "4XB,1KB=z,=3,2KB=1", wantErr: []string{`size "4XB": unknown unit`, `"1KB=z": bad weight`, `size "": want a number`}},
	})
}

func TestParseThresholds(t *testing.T) {
	th := func(s string) load.Threshold {
		v, err := load.ParseThreshold(s)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	checkText(t, load.ParseThresholds, []textCase{
		{in: "read.p99<50ms, errors<1%", want: load.Thresholds{th("read.p99<50ms"), th("errors<1%")}},
		{in: "", want: load.Thresholds(nil)},
		{in: "read.p99,errors<1%,rate>lots", wantErr: []string{`"read.p99": no comparison`, `"rate>lots": bad number`}},
	})
}

// TestTextFormsRoundTrip: what String writes, the parser reads back to the
// same value.
func TestTextFormsRoundTrip(t *testing.T) {
	for _, in := range []string{"30s:100,1m0s:0.25,0s:3"} {
		st, err := load.ParseStages(in)
		if err != nil || st.String() != in {
			t.Errorf("ParseStages(%q).String() = %q, %v", in, st.String(), err)
		}
	}
	if m := (load.Mix{"read": 5, "create": 0.5}); m.String() != "create=0.5,read=5" {
		t.Errorf("Mix.String() = %q", m.String())
	}
	if p := (load.Payloads{{256, 70}, {1 << 20, 0.5}, {1500, 1}}); p.String() != "256B=70,1MB=0.5,1500B=1" {
		t.Errorf("Payloads.String() = %q", p.String())
	}
	if ts := mustThresholds(t, "read.p99<50ms,errors<1%"); ts.String() != "read.p99<50ms,errors<1%" {
		t.Errorf("Thresholds.String() = %q", ts.String())
	}
}

// TestFlagValues: each type sets itself from its text form as a flag does;
// thresholds and headers add to what is there, the others replace it, and
// a bad text leaves the value as it was.
func TestFlagValues(t *testing.T) {
	s := load.DefaultScenario()
	for _, step := range []struct {
		set  interface{ Set(string) error }
		text string
		ok   bool
	}{
		{&s.Mix, "read=1", true},
		{&s.Mix, "read=x", false},
		{&s.Stages, "1s:5", true},
		{&s.Stages, "2s:6,3s:7", true},
		{&s.Payloads, "1KB", true},
		{&s.Thresholds, "errors<1%", true},
		{&s.Thresholds, "p99<5ms,rate>1", true},
		{&s.Thresholds, "p99", false},
		{&s.Headers, "x-api-key: k:1", true},
		{&s.Headers, "a:b", true},
		{&s.Headers, "nocolon", false},
	} {
		if err := step.set.Set(step.text); (err == nil) != step.ok {
			t.Errorf("%T.Set(%q) = %v, want ok %v", step.set, step.text, err, step.ok)
		}
	}
	want := load.DefaultScenario()
	want.Mix = load.Mix{"read": 1}
	want.Stages = load.Stages{{2 * time.Second, 6}, {3 * time.Second, 7}}
	want.Payloads = load.Payloads{{1024, 1}}
	want.Thresholds = mustThresholds(t, "errors<1%,p99<5ms,rate>1")
	want.Headers = load.Headers{"x-api-key": "k:1", "a": "b"}
	if !reflect.DeepEqual(s, want) {
		t.Fatalf("got  %+v\nwant %+v", s, want)
	}
}

// TestDecodeScenarioTextForms: a scenario file may write stages, mixes,
// payloads and thresholds in their flags' text form, whole or item by
// item, and decodes to the same scenario as with the long forms.
func TestDecodeScenarioTextForms(t *testing.T) {
	long := `
stages: [{duration: 30s, target: 100}, {duration: 1m, target: 200}]
mix: {read: 5, create: 1}
payloads: [{size: 256B, weight: 70}, {size: 4KB, weight: 30}]
api: {ops_mix: {ping: 1}}
thresholds: ["read.p99<50ms", "errors<1%"]
`
	for _, short := range []string{`
stages: 30s:100,1m:200
mix: read=5,create=1
payloads: 256B=70,4KB=30
api: {ops_mix: ping=1}
thresholds: read.p99<50ms,errors<1%
`, `
stages: [30s:100, {duration: 1m, target: 200}]
mix: {read: 5, create: 1}
payloads: [256B=70, {size: 4KB, weight: 30}]
api: {ops_mix: "ping=1"}
thresholds: [read.p99<50ms, errors<1%]
`} {
		want, err := load.DecodeScenario(strings.NewReader(long))
		if err != nil {
			t.Fatal(err)
		}
		got, err := load.DecodeScenario(strings.NewReader(short))
		if err != nil {
			t.Fatalf("%s: %v", short, err)
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("%s\ngot  %+v\nwant %+v", short, got, want)
		}
	}
}

// TestDecodeScenarioEveryError: a file's errors are all reported, each
// with its line, the text forms' and the long forms' alike.
func TestDecodeScenarioEveryError(t *testing.T) {
	src := `rate: abc
mix: read=x,fly
stages: [30s, {duration: 1s, targt: 3}]
thresholds: [read.p99, "errors<1%", "p99<fast"]
payloads: [{size: 4XB}, 1KB=2, [1]]
ids: {preseed: many}
`
	_, err := load.DecodeScenario(strings.NewReader(src))
	if err == nil {
		t.Fatal("got no error")
	}
	for _, want := range []string{
		"line 1: cannot unmarshal !!str `abc` into float64",
		`line 2: "read=x": bad weight`,
		`line 2: "fly": want NAME=WEIGHT`,
		`line 3: "30s": want DURATION:TARGET`,
		"line 3: field targt not found in type load.Stage",
		`line 4: threshold "read.p99": no comparison`,
		`line 4: threshold "p99<fast": bad duration`,
		`line 5: size "4XB": unknown unit`,
		"line 5: want a text or a mapping of size, weight",
		"line 6: cannot unmarshal !!str `many` into int",
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error lacks %q:\n%v", want, err)
		}
	}
}

// TestSettings: a flag of a scenario's field keeps its texts until it is
// applied over a scenario, then sets exactly its field; every bad text is
// an error that names the flag; help shows each field's default.
func TestSettings(t *testing.T) {
	fs := ff.NewFlagSet("load")
	d := load.DefaultScenario()
	settings, err := cli.BindLater(fs, &d)
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range []struct{ name, def, placeholder string }{
		{"rate", "100", "FLOAT64"}, {"http2", "", ""}, {"mix", load.DefaultMix().String(), "STRING"},
		{"requests", "0", "INT64"}, {"grace", "2s", "DURATION"},
	} {
		fl, ok := fs.GetFlag(f.name)
		if !ok || fl.GetDefault() != f.def || fl.GetPlaceholder() != f.placeholder {
			t.Errorf("--%s: got default %q placeholder %q, want %q %q", f.name, fl.GetDefault(), fl.GetPlaceholder(), f.def, f.placeholder)
		}
	}
	if err := fs.Parse([]string{"--rate", "abc", "--rate", "50", "--http2", "--mix", "list=1,x", "--requests", "0x10", "--grace", "5"}); err != nil {
		t.Fatalf("parse: %v: a flag keeps any text", err)
	}
	file := load.DefaultScenario()
	file.Rate, file.Think = 7, time.Second
	s := file
	err = settings.Apply(&s)
	for _, want := range []string{`rate: parse error: strconv.ParseFloat: parsing "abc"`, `mix: "x": want NAME=WEIGHT`, `grace: parse error: time: missing unit in duration "5"`} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("errors %v lack %q", err, want)
		}
	}
	// The good texts set their fields, the bad ones leave them; the file's
	// other fields stay.
	want := file
	want.Rate, want.HTTP2, want.Requests = 50, true, 16
	if !reflect.DeepEqual(s, want) {
		t.Fatalf("got  %+v\nwant %+v", s, want)
	}
	if !settings.Given("rate") || settings.Given("think") {
		t.Error("Given: --rate was given, --think was not")
	}
}

func FuzzParseStages(f *testing.F) {
	for _, s := range []string{"30s:100,1m:100", "1s:NaN", " 0s : 1e300 ,", "1h:-1,x"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		st, err := load.ParseStages(s)
		if err != nil {
			return
		}
		again, err := load.ParseStages(st.String())
		if err != nil || again.String() != st.String() {
			t.Fatalf("%q: %q reads back as %q, %v", s, st.String(), again.String(), err)
		}
	})
}

func FuzzParseMix(f *testing.F) {
	for _, s := range []string{"read=5,create=1", "a b=1e-3,,", "=1", "x=Inf"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		m, err := load.ParseMix(s)
		if err != nil {
			return
		}
		again, err := load.ParseMix(m.String())
		if err != nil || again.String() != m.String() {
			t.Fatalf("%q: %q reads back as %q, %v", s, m.String(), again.String(), err)
		}
	})
}

func FuzzParsePayloads(f *testing.F) {
	for _, s := range []string{"256B=70,4KB=25,64KB=5", "1mib", "4XB", "9007199254740993MB=1"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		p, err := load.ParsePayloads(s)
		if err != nil {
			return
		}
		again, err := load.ParsePayloads(p.String())
		if err != nil || again.String() != p.String() {
			t.Fatalf("%q: %q reads back as %q, %v", s, p.String(), again.String(), err)
		}
	})
}

func FuzzParseThresholds(f *testing.F) {
	for _, s := range []string{"read.p99<50ms,errors<1%", "p99.9<=1.5s", ",,rate>=5/s,", "read.p99", "Articles, Feed.p99<1s,x,y.checks<1"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		ts, err := load.ParseThresholds(s)
		if err != nil {
			return
		}
		again, err := load.ParseThresholds(ts.String())
		if err != nil || len(again) != len(ts) {
			t.Fatalf("%q: %q reads back as %v, %v", s, ts.String(), again, err)
		}
		for i := range ts {
			if again[i] != ts[i] {
				t.Fatalf("%q: threshold %d reads back as %+v, want %+v", s, i, again[i], ts[i])
			}
		}
		_, _ = ts.Eval(&load.Result{})
	})
}
