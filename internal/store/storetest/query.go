package storetest

import (
	"slices"
	"strings"
	"testing"

	"github.com/surgehq/surge/internal/items"
)

// testScan checks items.Querier's Scan (or items.Scan's listing of a
// store without one): DynamoDB's paging.
func testScan(t *testing.T, open Opener) {
	t.Run("Pages", func(t *testing.T) {
		e := setup(t, open)
		other := newTenant()
		for _, id := range []string{"e", "a", "d", "b", "c"} {
			e.mustCreate(e.key(id), `{"n":1}`)
		}
		e.mustCreate(items.Key{Tenant: other, ID: "b2"}, `{}`)
		for _, c := range []struct {
			after    string
			limit    int
			want     []string
			wantNext string
		}{
			{"", 0, []string{"a", "b", "c", "d", "e"}, ""},
			{"", 2, []string{"a", "b"}, "b"},
			{"b", 2, []string{"c", "d"}, "d"},
			{"c", 2, []string{"d", "e"}, "e"}, // ended at the limit: more may remain, as DynamoDB says
			{"d", 2, []string{"e"}, ""},
			{"e", 2, nil, ""},
			{"0", 10, []string{"a", "b", "c", "d", "e"}, ""},
		} {
			p, err := items.Scan(e.ctx, e.s, e.tenant, items.ScanQuery{After: c.after, Limit: c.limit, Consistent: true})
			if err != nil {
				t.Fatalf("scan after %q, limit %d: %v", c.after, c.limit, err)
			}
			if got := ids(p.Items); !slices.Equal(got, c.want) || p.Next != c.wantNext {
				t.Errorf("scan after %q, limit %d: got %q next %q, want %q next %q", c.after, c.limit, got, p.Next, c.want, c.wantNext)
			}
		}
	})
	t.Run("Bytes", func(t *testing.T) {
		e := setup(t, open)
		// Items of about 290 KB: three stay under a megabyte, the fourth
		// reaches it, by either count (JSON or DynamoDB's).
		data := strings.Repeat("x", 290_000)
		for _, id := range []string{"a", "b", "c", "d", "e"} {
			e.mustCreate(e.key(id), `{"data":"`+data+`"}`)
		}
		p, err := items.Scan(e.ctx, e.s, e.tenant, items.ScanQuery{Consistent: true})
		if err != nil {
			t.Fatal(err)
		}
		if got := ids(p.Items); !slices.Equal(got, []string{"a", "b", "c", "d"}) || p.Next != "d" {
			t.Fatalf("scan of 1.4 MB: got %q next %q, want a..d next d", got, p.Next)
		}
	})
	t.Run("ErrInvalid", func(t *testing.T) {
		e := setup(t, open)
		_, err := items.Scan(e.ctx, e.s, e.tenant, items.ScanQuery{Limit: -1})
		wantCode(t, "scan with limit -1", err, items.EINVALID)
	})
}

// testQuery checks items.Querier's Query of the secondary index (or
// items.QueryIndex's scan of a store without one).
func testQuery(t *testing.T, open Opener) {
	e := setup(t, open)
	other := newTenant()
	for _, c := range []struct{ id, js string }{
		{"a", `{"name":"lamp","n":1}`},
		{"b", `{"name":"desk"}`},
		{"c", `{"name":"lamp","n":3}`},
		{"d", `{"n":4}`},
		{"e", `{"name":"lamp","n":5}`},
		{"f", `{"name":5}`},
		{"g", `{"name":""}`},
		{"h", `{"name":{"nested":"lamp"}}`},
	} {
		e.mustCreate(e.key(c.id), c.js)
	}
	e.mustCreate(items.Key{Tenant: other, ID: "a"}, `{"name":"lamp"}`)
	query := func(q items.IndexQuery) ([]string, string) {
		t.Helper()
		p, err := items.QueryIndex(e.ctx, e.s, e.tenant, q)
		if err != nil {
			t.Fatalf("query %+v: %v", q, err)
		}
		return ids(p.Items), p.Next
	}
	for _, c := range []struct {
		q        items.IndexQuery
		want     []string
		wantNext string
	}{
		{items.IndexQuery{Value: "lamp"}, []string{"a", "c", "e"}, ""},
		{items.IndexQuery{Value: "desk"}, []string{"b"}, ""},
		{items.IndexQuery{Value: ""}, []string{"g"}, ""},
		{items.IndexQuery{Value: "chair"}, nil, ""},
		{items.IndexQuery{Value: "5"}, nil, ""},
		{items.IndexQuery{Value: "lamp", Limit: 2}, []string{"a", "c"}, "c"},
		{items.IndexQuery{Value: "lamp", Limit: 2, After: "c"}, []string{"e"}, ""},
		{items.IndexQuery{Value: "lamp", From: "c"}, []string{"c", "e"}, ""},
		{items.IndexQuery{Value: "lamp", From: "b"}, []string{"c", "e"}, ""},
		{items.IndexQuery{Value: "lamp", To: "e"}, []string{"a", "c"}, ""},
		{items.IndexQuery{Value: "lamp", From: "c", To: "e"}, []string{"c"}, ""},
		{items.IndexQuery{Value: "lamp", From: "a", To: "a\x7f"}, []string{"a"}, ""},
	} {
		if got, next := query(c.q); !slices.Equal(got, c.want) || next != c.wantNext {
			t.Errorf("query %+v: got %q next %q, want %q next %q", c.q, got, next, c.want, c.wantNext)
		}
	}
	// The index follows writes.
	e.mustReplace(e.key("c"), `{"name":"desk"}`, items.Condition{})
	if err := e.s.Delete(e.ctx, e.key("e"), items.Condition{}); err != nil {
		t.Fatal(err)
	}
	e.mustReplace(e.key("d"), `{"name":"lamp"}`, items.Condition{})
	if got, _ := query(items.IndexQuery{Value: "lamp"}); !slices.Equal(got, []string{"a", "d"}) {
		t.Errorf("lamp after the writes: got %q, want a, d", got)
	}
	if got, _ := query(items.IndexQuery{Value: "desk"}); !slices.Equal(got, []string{"b", "c"}) {
		t.Errorf("desk after the writes: got %q, want b, c", got)
	}
	_, err := items.QueryIndex(e.ctx, e.s, e.tenant, items.IndexQuery{Value: "x", Limit: -1})
	wantCode(t, "query with limit -1", err, items.EINVALID)
}

// testOld checks what a store reports to an items.Usage: the item a
// failed conditional write found, which DynamoDB charges it for, and for
// one that succeeded, the item it replaced or the units its engine
// counted.
func testOld(t *testing.T, open Opener) {
	e := setup(t, open)
	first := e.mustCreate(e.key("a"), `{"name":"lamp","n":1}`)
	var got []*items.Item
	ctx, u := items.NewUsageContext(e.ctx)
	u.OnOld = func(old *items.Item) {
		c := *old
		c.Attrs = append(items.Attributes(nil), old.Attrs...) // borrowed for the call only
		got = append(got, &c)
	}
	check := func(what string, err error, want *items.Item, code string, counted bool) {
		t.Helper()
		wantCode(t, what, err, code)
		switch {
		case len(got) == 1:
			if want == nil {
				t.Errorf("%s: reported %v as the old item, want none", what, got[0].Key)
			} else {
				sameItem(t, what+": the old item", got[0], want)
			}
		case len(got) > 1:
			t.Errorf("%s: reported %d old items", what, len(got))
		case want != nil && !(counted && u.Counted()):
			t.Errorf("%s: reported no old item, and no count of its own", what)
		}
		got = nil
	}
	_, err := e.s.Create(ctx, e.key("a"), attrs(t, `{"n":2}`), nil)
	check("create of an existing id", err, first, items.ECONFLICT, false)
	_, err = e.s.Replace(ctx, e.key("a"), attrs(t, `{"n":2}`), items.Condition{IfRev: "nope"})
	check("replace with a stale rev", err, first, items.EPRECONDITION, false)
	err = e.s.Delete(ctx, e.key("a"), items.Condition{IfRev: "nope"})
	check("delete with a stale rev", err, first, items.EPRECONDITION, false)
	second, err := e.s.Replace(ctx, e.key("a"), attrs(t, `{"n":2}`), items.Condition{})
	check("replace", err, first, "", true)
	err = e.s.Delete(ctx, e.key("a"), items.Condition{IfRev: second.Rev})
	check("delete", err, second, "", true)
	_, err = e.s.Replace(ctx, e.key("a"), attrs(t, `{}`), items.Condition{})
	check("replace of a missing item", err, nil, items.ENOTFOUND, false)
}
