package itemsapi_test

import (
	"fmt"
	"strings"
	"testing"
)

// TestConditionalRequests checks RFC 9110's conditional requests (13.1.1
// If-Match, 13.1.2 If-None-Match, 13.2.2 the order of evaluation) for
// every form of the two headers on every method of the API. {T} stands
// for the target item's ETag, {O} for its opaque tag (without quotes).
// Through internal/local/lambda's TestItemsAPIThroughThePool these cases
// run through the local Lambda too.
func TestConditionalRequests(t *testing.T) {
	type hdrs = []string
	// existing are the cases on an item that exists, by method; each
	// case gets an item of its own.
	existing := []struct {
		name string
		h    hdrs
		// status is what GET answers; writes answer their success status
		// for 200, 412 for 412 and 304 alike (304 is for GET and HEAD).
		status int
	}{
		{"None", nil, 200},
		{"IfMatchTag", hdrs{"If-Match", "{T}"}, 200},
		{"IfMatchOther", hdrs{"If-Match", `"other"`}, 412},
		{"IfMatchEmptyTag", hdrs{"If-Match", `""`}, 412},
		{"IfMatchStar", hdrs{"If-Match", "*"}, 200},
		{"IfMatchWeakTag", hdrs{"If-Match", "W/{T}"}, 412},
		{"IfMatchListWithTag", hdrs{"If-Match", `"a", {T}, "b"`}, 200},
		{"IfMatchListWithoutTag", hdrs{"If-Match", `"a", "b"`}, 412},
		{"IfMatchListWithWeakTag", hdrs{"If-Match", `"a", W/{T}`}, 412},
		{"IfMatchTwoHeaderLines", hdrs{"If-Match", `"a"`, "If-Match", "{T}"}, 200},
		{"IfMatchUnquoted", hdrs{"If-Match", "{O}"}, 412},
		{"IfMatchUnclosed", hdrs{"If-Match", `"{O}`}, 412},
		{"IfNoneMatchTag", hdrs{"If-None-Match", "{T}"}, 304},
		{"IfNoneMatchWeakTag", hdrs{"If-None-Match", "W/{T}"}, 304},
		{"IfNoneMatchStar", hdrs{"If-None-Match", "*"}, 304},
		{"IfNoneMatchOther", hdrs{"If-None-Match", `"other"`}, 200},
		{"IfNoneMatchEmptyTag", hdrs{"If-None-Match", `""`}, 200},
		{"IfNoneMatchListWithTag", hdrs{"If-None-Match", `"a",{T}`}, 304},
		{"IfNoneMatchListWithoutTag", hdrs{"If-None-Match", `"a", W/"b"`}, 200},
		{"IfNoneMatchUnquoted", hdrs{"If-None-Match", "{O}"}, 200},
		// If-Match is evaluated first: when it fails, the answer is 412
		// even where If-None-Match would give 304.
		{"IfMatchFailsBeforeIfNoneMatch", hdrs{"If-Match", `"other"`, "If-None-Match", "{T}"}, 412},
		{"IfMatchHoldsThenIfNoneMatchFails", hdrs{"If-Match", "{T}", "If-None-Match", "{T}"}, 304},
		{"IfMatchHoldsThenIfNoneMatchHolds", hdrs{"If-Match", "{T}", "If-None-Match", `"other"`}, 200},
		{"IfMatchStarThenIfNoneMatchStar", hdrs{"If-Match", "*", "If-None-Match", "*"}, 304},
	}
	methods := []struct {
		method, body string
		ok           int
	}{
		{"GET", "", 200},
		{"HEAD", "", 200},
		{"PUT", `{"n":2}`, 200},
		{"PATCH", `{"n":2}`, 200},
		{"DELETE", "", 204},
	}
	e := newEnv(t)
	n := 0
	for _, m := range methods {
		for _, c := range existing {
			t.Run(m.method+"/"+c.name, func(t *testing.T) {
				n++
				id := fmt.Sprintf("cond-%d", n)
				created := e.do("POST", "/items", fmt.Sprintf(`{"id":%q,"n":1}`, id)).want(t, 201)
				tag := created.header.Get("ETag")
				want := c.status
				if m.method != "GET" && m.method != "HEAD" {
					switch want {
					case 304:
						want = 412
					case 200:
						want = m.ok
					}
				}
				r := e.do(m.method, "/items/"+id, m.body, conditionHeaders(c.h, tag, m.method)...)
				if r.status != want {
					t.Fatalf("%s %v: got %d %s, want %d", m.method, c.h, r.status, r.body, want)
				}
				after := e.do("GET", "/items/"+id, "")
				switch {
				case want == 412 && (after.status != 200 || after.header.Get("ETag") != tag):
					t.Fatalf("a request that failed its precondition changed the item: %d %s", after.status, after.body)
				case want == 204 && after.status != 404:
					t.Fatalf("a delete whose precondition held left the item: %d", after.status)
				case want == 304 && r.header.Get("ETag") != tag:
					t.Fatalf("304 without the item's ETag: %v", r.header)
				}
				if want == 412 && m.method != "HEAD" && !strings.Contains(string(r.body), `"precondition_failed"`) {
					t.Fatalf("412 body: %s", r.body)
				}
			})
		}
	}
	// An absent item is 404 whatever the conditions (13.2.1: a request
	// that would fail without its conditions ignores them).
	for _, m := range methods {
		for _, h := range []hdrs{{"If-Match", "*"}, {"If-Match", `""`}, {"If-Match", `"x"`}, {"If-None-Match", "*"}, {"If-None-Match", `"x"`}} {
			t.Run(m.method+"/Absent/"+h[0]+"="+h[1], func(t *testing.T) {
				r := e.do(m.method, "/items/never-created", m.body, h...)
				if r.status != 404 {
					t.Fatalf("got %d %s, want 404", r.status, r.body)
				}
			})
		}
	}
	// A collection always exists and has no entity tag of its own here:
	// If-Match "*" and If-None-Match of a listed tag hold, If-Match of a
	// listed tag and If-None-Match "*" do not.
	collection := []struct {
		name string
		h    hdrs
		pass bool
	}{
		{"IfMatchStar", hdrs{"If-Match", "*"}, true},
		{"IfMatchTag", hdrs{"If-Match", `"x"`}, false},
		{"IfMatchEmptyTag", hdrs{"If-Match", `""`}, false},
		{"IfNoneMatchStar", hdrs{"If-None-Match", "*"}, false},
		{"IfNoneMatchTag", hdrs{"If-None-Match", `"x"`}, true},
	}
	for _, c := range collection {
		t.Run("POST/Collection/"+c.name, func(t *testing.T) {
			n++
			id := fmt.Sprintf("coll-%d", n)
			r := e.do("POST", "/items", fmt.Sprintf(`{"id":%q}`, id), c.h...)
			if want := map[bool]int{true: 201, false: 412}[c.pass]; r.status != want {
				t.Fatalf("got %d %s, want %d", r.status, r.body, want)
			}
			got := e.do("GET", "/items/"+id, "").status
			if want := map[bool]int{true: 200, false: 404}[c.pass]; got != want {
				t.Fatalf("the item after the POST: got %d, want %d", got, want)
			}
		})
		t.Run("POST/Batch/"+c.name, func(t *testing.T) {
			r := e.do("POST", "/items/_batch", `{"operations":[{"op":"get","id":"x"}]}`, c.h...)
			if want := map[bool]int{true: 200, false: 412}[c.pass]; r.status != want {
				t.Fatalf("got %d %s, want %d", r.status, r.body, want)
			}
		})
		t.Run("GET/List/"+c.name, func(t *testing.T) {
			r := e.do("GET", "/items?limit=1", "", c.h...)
			want := 200
			if !c.pass {
				want = 412
				if c.h[0] == "If-None-Match" {
					want = 304 // a GET whose If-None-Match fails
				}
			}
			if r.status != want {
				t.Fatalf("got %d %s, want %d", r.status, r.body, want)
			}
		})
	}
}

// conditionHeaders puts the item's tag in place of {T} and {O}, and a
// body's Content-Type for PATCH.
func conditionHeaders(h []string, tag, method string) []string {
	out := make([]string, 0, len(h)+2)
	for _, v := range h {
		v = strings.ReplaceAll(v, "{T}", tag)
		v = strings.ReplaceAll(v, "{O}", strings.Trim(tag, `"`))
		out = append(out, v)
	}
	if method == "PATCH" {
		out = append(out, "Content-Type", "application/merge-patch+json")
	}
	return out
}
