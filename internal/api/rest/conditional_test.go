package rest_test

import (
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/surgehq/surge/internal/api/rest"
)

func TestParseETags(t *testing.T) {
	for _, c := range []struct {
		in           []string
		any          bool
		strong, weak []string
	}{
		{[]string{`"a"`}, false, []string{"a"}, nil},
		{[]string{`""`}, false, []string{""}, nil},
		{[]string{`W/"a"`}, false, nil, []string{"a"}},
		{[]string{`"b", W/"a" ,"c"`}, false, []string{"b", "c"}, []string{"a"}},
		{[]string{`"b"`, `"c"`}, false, []string{"b", "c"}, nil},
		{[]string{`*`}, true, nil, nil},
		{[]string{`a`}, false, nil, nil},
		{[]string{`"a`}, false, nil, nil},
		{[]string{`"a b"`}, false, nil, nil},
		{[]string{`W/`}, false, nil, nil},
	} {
		e := rest.ParseETags(c.in)
		if !e.Present || e.Any != c.any || !slices.Equal(e.Strong, c.strong) || !slices.Equal(e.Weak, c.weak) {
			t.Errorf("%q: got %+v", c.in, e)
		}
	}
	if e := rest.ParseETags(nil); e.Present {
		t.Error("no header: got Present")
	}
}

func FuzzParseETags(f *testing.F) {
	f.Add(`"a", W/"b"`, "a")
	f.Add(`*`, "x")
	f.Add(`W/`, "")
	f.Add(`""`, "")
	f.Fuzz(func(t *testing.T, header, tag string) {
		e := rest.ParseETags([]string{header})
		if !e.Present {
			t.Fatal("a header that is there is not Present")
		}
		// A strong match is a weak match; a representation without a tag
		// matches only "*".
		if e.MatchStrong(tag, true) && !e.MatchWeak(tag, true) {
			t.Fatalf("%q: strong match of %q without a weak one", header, tag)
		}
		if e.MatchWeak(tag, false) != e.Any {
			t.Fatalf("%q: an untagged representation matched", header)
		}
		// A header that lists the tag itself always matches it.
		if !strings.ContainsAny(tag, "\" \t,\x7f") && !strings.ContainsFunc(tag, func(r rune) bool { return r < 0x21 }) {
			self := rest.ParseETags([]string{`"` + tag + `"`})
			if !self.MatchStrong(tag, true) {
				t.Fatalf("%q does not match itself", tag)
			}
		}
	})
}

func TestEvaluate(t *testing.T) {
	const tag = "abc"
	for _, c := range []struct {
		name         string
		ifMatch, inm []string
		method       string
		exists       bool
		hasTag       bool
		want         rest.Precondition
	}{
		{"NoHeaders", nil, nil, "PUT", true, true, rest.Proceed},
		{"IfMatchTag", []string{`"abc"`}, nil, "PUT", true, true, rest.Proceed},
		{"IfMatchEmpty", []string{`""`}, nil, "PUT", true, true, rest.Failed},
		{"IfMatchWeak", []string{`W/"abc"`}, nil, "PUT", true, true, rest.Failed},
		{"IfMatchStarAbsent", []string{`*`}, nil, "PUT", false, false, rest.Failed},
		{"IfMatchStarUntagged", []string{`*`}, nil, "POST", true, false, rest.Proceed},
		{"IfMatchTagUntagged", []string{`"abc"`}, nil, "POST", true, false, rest.Failed},
		{"IfNoneMatchStarPut", nil, []string{`*`}, "PUT", true, true, rest.Failed},
		{"IfNoneMatchStarGet", nil, []string{`*`}, "GET", true, true, rest.NotModified},
		{"IfNoneMatchStarHead", nil, []string{`*`}, "HEAD", true, true, rest.NotModified},
		{"IfNoneMatchStarAbsent", nil, []string{`*`}, "PUT", false, false, rest.Proceed},
		{"IfNoneMatchWeakGet", nil, []string{`W/"abc"`}, "GET", true, true, rest.NotModified},
		{"IfNoneMatchWeakDelete", nil, []string{`W/"abc"`}, "DELETE", true, true, rest.Failed},
		{"IfNoneMatchOther", nil, []string{`"x"`}, "PUT", true, true, rest.Proceed},
		{"IfNoneMatchUntagged", nil, []string{`"x"`}, "GET", true, false, rest.Proceed},
		{"IfMatchBeforeIfNoneMatch", []string{`"x"`}, []string{`"abc"`}, "GET", true, true, rest.Failed},
		{"IfMatchThenIfNoneMatch", []string{`"abc"`}, []string{`"abc"`}, "GET", true, true, rest.NotModified},
	} {
		t.Run(c.name, func(t *testing.T) {
			r, _ := http.NewRequest(c.method, "/", nil)
			r.Header["If-Match"] = c.ifMatch
			r.Header["If-None-Match"] = c.inm
			cond := rest.RequestConditions(r)
			if got := cond.Evaluate(c.method, c.exists, tag, c.hasTag); got != c.want {
				t.Fatalf("got %d, want %d", got, c.want)
			}
		})
	}
}

func TestOpaqueTag(t *testing.T) {
	for in, want := range map[string]string{`"a"`: "a", `W/"a"`: "a", `""`: "", `a`: "!", `"a`: "!", `"a"b"`: "!", ``: "!"} {
		got, ok := rest.OpaqueTag(in)
		if !ok {
			got = "!"
		}
		if got != want {
			t.Errorf("%q: got %q, want %q", in, got, want)
		}
	}
}
