package lambda

import (
	"strings"
	"testing"
)

func FuzzParseServerTiming(f *testing.F) {
	for _, s := range []string{"store;dur=0.41, total;dur=0.93", `a;desc="x";dur=1`, "bad name;dur=1", "x;dur=-1", "x;dur=1e300",
		", ,;;=,", "store;DUR=2", `cache;dur="3.5"`, `rcu;desc=0.5, wcu;desc="1"`, "x;desc=NaN", "x;desc=-1;dur=2"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, v string) {
		for _, m := range parseServerTiming(v) {
			if m.name == "" || !tokenOK(m.name) || strings.ContainsAny(m.name, ",;= ") {
				t.Errorf("%q: got name %q", v, m.name)
			}
			if m.dur < 0 || m.value < 0 || m.value != m.value {
				t.Errorf("%q: got a negative duration %v or a bad value %v", v, m.dur, m.value)
			}
		}
	})
}

func FuzzParseFunctionName(f *testing.F) {
	for _, s := range []string{"fn", "fn:$LATEST", "fn:live", "arn:aws:lambda:us-east-1:000000000000:function:fn",
		"arn:aws:lambda:us-east-1:000000000000:function:fn:7", "000000000000:function:fn", "a:b:c:d", "fn:", ":", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		name, q, err := parseFunctionName(s)
		if err != nil {
			return
		}
		if !validName(name) || strings.Contains(q, ":") {
			t.Errorf("%q: got name %q qualifier %q", s, name, q)
		}
	})
}
