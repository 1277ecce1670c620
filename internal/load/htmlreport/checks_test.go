package htmlreport_test

import (
	"bytes"
	"slices"
	"strconv"
	"testing"

	"github.com/surgehq/surge/internal/load"
)

// withChecks gives a synthetic run the checks and captures of a
// collection's run.
func withChecks(t testing.TB) *load.Result {
	t.Helper()
	r, _ := synthetic(t, 5, 50, 1, 1)
	r.Scenario.Target, r.Scenario.Postman.File = "", "conduit.postman_collection.json"
	r.Checks = []load.CheckResult{
		{Request: "Login", Test: "status", Check: "status == 200", Passed: 40},
		{Request: "Favorite Article", Test: "Article's 'favorited' property is true", Check: "body.article.favorited == true", Passed: 3, Failed: 37},
		{Request: "Favorite Article", Check: "status == 200", Passed: 40},
		{Request: "Create Article", Test: "<b>hostile</b>", Check: "body.article.slug present", Passed: 39, Failed: 1},
	}
	r.Captures = []load.CaptureResult{{Request: "Login", Variable: "token", Capture: "globals.token = body.user.token", Made: 40}}
	r.Total.Checks, r.Total.ChecksFailed, r.Total.Captures = 160, 38, 40
	return r
}

// TestChecksTable: a collection's run has a table of its checks, sortable,
// a row each, the failures first, and one of its captures; a run of the
// CRUD mix has neither.
func TestChecksTable(t *testing.T) {
	page := runPage(t, withChecks(t), nil)
	for _, want := range []string{`<h3>Checks</h3>`, `<table id="s1-checks" class="sortable text">`,
		`<table id="s1-captures" class="sortable text">`, "surge load: postman conduit.postman_collection.json",
		"160 evaluated, 38 failed (23.75%)", `data-v="37" class="fail"`, "&lt;b&gt;hostile&lt;/b&gt;"} {
		if !bytes.Contains(page, []byte(want)) {
			t.Errorf("the page lacks %q", want)
		}
	}
	if bytes.Index(page, []byte("body.article.favorited == true")) > bytes.Index(page, []byte("status == 200")) {
		t.Error("the check that failed most is not first")
	}
	plain, _ := synthetic(t, 5, 50, 1, 1)
	if bytes.Contains(runPage(t, plain, nil), []byte("<h3>Checks</h3>")) {
		t.Error("a run without checks has a checks table")
	}
}

// TestBrowserChecks sorts the checks table in the browser: by failures
// both ways, the rows moving whole.
func TestBrowserChecks(t *testing.T) {
	browser(t)
	r := withChecks(t)
	tb := open(t, runPage(t, r, nil), "checks", 1200, 900)
	for _, dir := range []string{"ascending", "descending"} {
		rows := eval[[][]string](tb, `(() => {
			const th = document.querySelectorAll("#s1-checks thead th")[4];
			th.querySelector("button").click();
			return [[th.getAttribute("aria-sort")], ...[...document.querySelectorAll("#s1-checks tbody tr")].map(r => [...r.cells].map(c => c.textContent))];
		})()`)
		if rows[0][0] != dir || len(rows) != len(r.Checks)+1 {
			t.Fatalf("sorted %s: %v", dir, rows)
		}
		var failed []int
		for _, row := range rows[1:] {
			n, _ := strconv.Atoi(row[4])
			failed = append(failed, n)
			i := slices.IndexFunc(r.Checks, func(c load.CheckResult) bool { return c.Request == row[0] && c.Check == row[2] })
			if i < 0 || row[1] != r.Checks[i].Test || row[3] != strconv.FormatInt(r.Checks[i].Passed, 10) || int64(n) != r.Checks[i].Failed {
				t.Errorf("row %v is no check of the result", row)
			}
		}
		if dir == "descending" {
			slices.Reverse(failed)
		}
		if !slices.IsSorted(failed) {
			t.Errorf("sorted %s by failures: %v", dir, failed)
		}
	}
}
