package gateway

import (
	"net/http"
	"strings"
	"testing"
)

func TestWantsInvalidation(t *testing.T) {
	for v, want := range map[string]bool{
		"max-age=0":              true,
		"no-cache, MAX-AGE=0":    true,
		" max-age=0 ":            true,
		"max-age=00":             false,
		"max-age=1":              false,
		"no-cache":               false,
		"":                       false,
		"s-maxage=0":             false,
		"max-age=0,no-transform": true,
	} {
		h := http.Header{}
		if v != "" {
			h.Set("Cache-Control", v)
		}
		if got := wantsInvalidation(h); got != want {
			t.Errorf("%q: got %v, want %v", v, got, want)
		}
	}
}

func FuzzWantsInvalidation(f *testing.F) {
	f.Add("max-age=0")
	f.Add(",,, ,max-age=0,")
	f.Fuzz(func(t *testing.T, v string) {
		got := wantsInvalidation(http.Header{"Cache-Control": {v}})
		if got && !strings.Contains(strings.ToLower(v), "max-age=0") {
			t.Fatalf("%q: invalidation without max-age=0", v)
		}
	})
}
