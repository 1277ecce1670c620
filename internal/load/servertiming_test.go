package load_test

import (
	"fmt"
	"reflect"
	"strings"
	"testing"

	"github.com/surgehq/surge/internal/load"
)

type metric struct {
	Name string
	Dur  float64
	OK   bool
}

func parseAll(h string) []metric {
	var out []metric
	load.ParseServerTiming([]byte(h), func(name []byte, dur float64, ok bool) {
		out = append(out, metric{string(name), dur, ok})
	})
	return out
}

func TestParseServerTiming(t *testing.T) {
	tests := []struct {
		in   string
		want []metric
	}{
		{"store;dur=0.41, total;dur=0.93", []metric{{"store", 0.41, true}, {"total", 0.93, true}}},
		{"cache;desc=\"Cache Read\";dur=23.2", []metric{{"cache", 23.2, true}}},
		{"miss, db;dur=53, app;dur=47.2", []metric{{"miss", 0, false}, {"db", 53, true}, {"app", 47.2, true}}},
		{"a ; DUR = 1.5 ; desc=x", []metric{{"a", 1.5, true}}},
		{"a;desc=\"x, y; z\";dur=2,b;dur=3", []metric{{"a", 2, true}, {"b", 3, true}}},
		{"a;dur=1;dur=2", []metric{{"a", 1, true}}},
		{"a;dur=\"4\"", []metric{{"a", 4, true}}},
		{"a;dur=1e2", []metric{{"a", 100, true}}},
		{"a;dur=-1, b;dur=x, c;dur=", []metric{{"a", 0, false}, {"b", 0, false}, {"c", 0, false}}},
		{"bad name;dur=1, ok;dur=2", []metric{{"ok", 2, true}}},
		{"a;desc=\"unterminated, b;dur=1", nil},
		{"a;;dur=1, b;dur=2", []metric{{"b", 2, true}}},
		{"", nil},
		{" , ,", nil},
		// Values without a duration: surge's capacity units.
		{"store;dur=0.41, rcu;desc=0.5, wcu;desc=\"2\", total;dur=1", []metric{{"store", 0.41, true}, {"rcu", 0.5, false}, {"wcu", 2, false}, {"total", 1, true}}},
		{"x;desc=abc, y;desc=-1", []metric{{"x", 0, false}, {"y", 0, false}}},
	}
	for _, tt := range tests {
		if got := parseAll(tt.in); !reflect.DeepEqual(got, tt.want) {
			t.Errorf("ParseServerTiming(%q) = %v, want %v", tt.in, got, tt.want)
		}
	}
}

func TestParseServerTimingAllocs(t *testing.T) {
	h := []byte(`store;dur=0.41, total;dur=0.93;desc="all"`)
	var sum float64
	allocs := testing.AllocsPerRun(100, func() {
		load.ParseServerTiming(h, func(_ []byte, d float64, _ bool) { sum += d })
	})
	if allocs != 0 {
		t.Fatalf("%v allocations per parse, want 0", allocs)
	}
}

func FuzzParseServerTiming(f *testing.F) {
	for _, s := range []string{"store;dur=0.41, total;dur=0.93", `a;desc="x, \"y";dur=1`, "miss", "a;dur=1e3", ";;,,\"", "a;dur=00.5000"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, h string) {
		got := parseAll(h)
		var b strings.Builder
		for i, m := range got {
			if m.Name == "" || strings.ContainsAny(m.Name, " ,;=\"\t") {
				t.Fatalf("%q: bad name %q", h, m.Name)
			}
			if m.OK && !(m.Dur >= 0) {
				t.Fatalf("%q: bad dur %v", h, m.Dur)
			}
			if i > 0 {
				b.WriteString(", ")
			}
			b.WriteString(m.Name)
			if m.OK {
				fmt.Fprintf(&b, ";dur=%v", m.Dur)
			} else if m.Dur != 0 {
				// A metric without dur reads as its numeric desc.
				fmt.Fprintf(&b, ";desc=%v", m.Dur)
			}
		}
		// What was read, written back canonically, reads the same.
		if again := parseAll(b.String()); !reflect.DeepEqual(again, got) {
			t.Fatalf("%q: parsed %v, canonical %q parses as %v", h, got, b.String(), again)
		}
	})
}
