package htmlreport_test

import (
	"bytes"
	"context"
	"flag"
	"image/png"
	"math"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"

	"github.com/surgehq/surge/internal/load"
)

var images = flag.Bool("images", false, "write the README's screenshots into docs/images")

// opRows reads the rows of a per-operation table: body rows, then foot.
func opRows(tb *tab, id string) []opRow {
	return eval[[]opRow](tb, `[...document.querySelectorAll("#`+id+` tbody tr, #`+id+` tfoot tr")].map(r => {
		const cells = [...r.cells].map(c => c.textContent.trim());
		const cmp = cells[1] === "A" || cells[1] === "B" || cells[1] === "change";
		return {Name: cells[0], Run: cmp ? cells[1] : "", Cells: cells.slice(cmp ? 2 : 1)};
	})`)
}

// compareGroups reads a comparison's table: a group of rows per
// operation, the total last.
func compareGroups(tb *tab, id string) [][]opRow {
	return eval[[][]opRow](tb, `[...document.querySelectorAll("#`+id+` tbody, #`+id+` tfoot")].map(g => [...g.rows].map(r => {
		const cells = [...r.cells].map(c => c.textContent.trim());
		return {Name: cells[0], Run: cells[1], Cells: cells.slice(2)};
	}))`)
}

// checkVerdict checks the test row of an operation: not tested below 20
// requests on a side, else a verdict, the one given when want is set.
func checkVerdict(t *testing.T, name, verdict string, a, b *load.OpResult, want string) {
	t.Helper()
	switch {
	case a.Count < 20 || b.Count < 20:
		if verdict != "not tested: fewer than 20 requests on a side" {
			t.Errorf("%s with %d and %d requests: %q", name, a.Count, b.Count, verdict)
		}
	case want != "":
		if !strings.HasPrefix(verdict, "⚑ significant: "+want+" (p ") {
			t.Errorf("%s: %q, want significant: %s", name, verdict, want)
		}
	case !strings.HasPrefix(verdict, "⚑ significant: B ") && !strings.HasPrefix(verdict, "no significant difference (p = "):
		t.Errorf("%s: verdict %q", name, verdict)
	}
}

// checkChange checks the change row against the A and B rows it is read
// from: (B - A) / A in per cent, to the printed precision.
func checkChange(t *testing.T, name string, change, a, b []string) {
	t.Helper()
	for i := range change {
		va, errA := strconv.ParseFloat(strings.TrimSuffix(a[i], "%"), 64)
		vb, errB := strconv.ParseFloat(strings.TrimSuffix(b[i], "%"), 64)
		if errA != nil || errB != nil || va == 0 {
			continue
		}
		got, err := strconv.ParseFloat(strings.TrimSuffix(change[i], "%"), 64)
		// The rows print rounded figures; the change comes from the exact
		// ones, so allow their rounding.
		want := (vb - va) / va * 100
		slack := 100*(tolerance(a[i])/va+tolerance(b[i])/va*(1+math.Abs(vb/va))) + 0.05
		if err != nil || math.Abs(got-want) > slack {
			t.Errorf("%s column %d: change %q, want %.1f%% from %s and %s", name, i, change[i], want, a[i], b[i])
		}
	}
}

// TestBrowserRun opens the report of a real run against the items API and
// checks what a reader sees: every chart with its series, the tables'
// figures against the result file, the verdict, sorting and hover values,
// all without a request or a console error.
func TestBrowserRun(t *testing.T) {
	browser(t)
	a, _ := realRuns(t)
	tb := open(t, runPage(t, a, nil), "run", 1200, 900)
	checkCharts(t, tb.charts(), expectRun(a, nil, "s1"))

	rows := opRows(tb, "s1-ops")
	if len(rows) != len(a.Ops)+1 {
		t.Fatalf("%d rows, want %d operations and the total", len(rows), len(a.Ops))
	}
	for _, row := range rows {
		o := a.Op(row.Name)
		if row.Name == "all" {
			o = &a.Total
		}
		if o == nil {
			t.Errorf("row %q names no operation of the result", row.Name)
			continue
		}
		checkOpRow(t, "run table, "+row.Name, row.Cells, o, a.ElapsedSeconds)
	}

	// The verdict and each threshold's measured value.
	verdict := eval[string](tb, `document.querySelector(".verdict .badge").textContent`)
	failed := 0
	for _, th := range a.Thresholds {
		if !th.Pass {
			failed++
		}
	}
	if want := "Failed: " + strconv.Itoa(failed) + " of 3 thresholds breached."; failed == 0 || !strings.Contains(verdict, want) {
		t.Errorf("verdict %q, want %q", verdict, want)
	}
	measured := eval[[]string](tb, `[...document.querySelectorAll(".thresholds tbody tr")].map(r => r.cells[2].dataset.v || "")`)
	for i, th := range a.Thresholds {
		if got, _ := strconv.ParseFloat(measured[i], 64); got != th.Actual {
			t.Errorf("threshold %s: page shows %s, result has %g", th.Threshold, measured[i], th.Actual)
		}
	}

	// Sorting by count orders the operations by it, both ways.
	for _, dir := range []string{"ascending", "descending"} {
		names := eval[[]string](tb, `(() => {
			const th = document.querySelectorAll("#s1-ops thead th")[1];
			th.querySelector("button").click();
			return [th.getAttribute("aria-sort"), ...[...document.querySelectorAll("#s1-ops tbody tr th")].map(c => c.textContent)];
		})()`)
		if names[0] != dir {
			t.Errorf("aria-sort %q, want %q", names[0], dir)
		}
		counts := make([]int64, 0, len(names)-1)
		for _, n := range names[1:] {
			counts = append(counts, a.Op(n).Count)
		}
		sorted := slices.IsSorted(counts)
		if dir == "descending" {
			slices.Reverse(counts)
			sorted = slices.IsSorted(counts)
		}
		if !sorted {
			t.Errorf("sorted %s by count: %v", dir, names[1:])
		}
	}

	// Hovering a chart shows the values under the cursor in its legend.
	values := eval[[]string](tb, `(() => {
		const u = surgeReport.charts["s1-rate"];
		u.setCursor({left: u.bbox.width / 2 / uPlot.pxRatio, top: 10});
		return [...document.querySelectorAll("#s1-rate .u-legend .u-value")].map(v => v.textContent);
	})()`)
	if len(values) < 3 || !slices.ContainsFunc(values[1:], func(v string) bool { return strings.HasSuffix(v, "/s") }) {
		t.Errorf("legend values under the cursor: %q", values)
	}
	tb.use()
	tb.offline()
	tb.screenshot("report-run")
}

// TestBrowserOptionalCharts opens a generated run that carries every
// optional series: each chart they feed is drawn, and no sentence says
// data is missing.
func TestBrowserOptionalCharts(t *testing.T) {
	browser(t)
	r, x := synthetic(t, 60, 200, 1, 1)
	tb := open(t, runPage(t, r, x), "run-optional", 1200, 900)
	checkCharts(t, tb.charts(), expectRun(r, x, "s1"))
	if missing := eval[[]string](tb, `[...document.querySelectorAll("p.missing")].map(p => p.textContent)`); len(missing) > 0 {
		t.Errorf("sentences about missing data, with every series present: %q", missing)
	}
	// The stage boundaries of the seed preset's six stages are on every
	// time chart.
	marks := eval[map[string]int](tb, `Object.fromEntries(JSON.parse(document.getElementById("surge-data").textContent)
		.charts.filter(c => c.kind === "time").map(c => [c.id, (c.marks || []).length]))`)
	for id, n := range marks {
		if n != 5 {
			t.Errorf("chart %s marks %d stage boundaries, want 5", id, n)
		}
	}
	tb.use()
	tb.offline()
	tb.screenshot("report-run-optional")
}

// TestBrowserCompare opens the comparison of two real runs, the second
// with single-item reads 20 ms slower: every chart overlays both, and the
// table holds both runs' figures and the test's verdict. (Whether a real
// difference shows depends on the machine's load; the test's verdicts are
// checked on generated runs in TestBrowserDocument.)
func TestBrowserCompare(t *testing.T) {
	browser(t)
	a, b := realRuns(t)
	tb := open(t, comparePage(t, a, b, nil, nil), "compare", 1200, 900)
	checkCharts(t, tb.charts(), expectCompare(expectRun(a, nil, "s1"), expectRun(b, nil, "s1")))

	runs := eval[[]string](tb, `[...document.querySelectorAll("#s1 .runs li")].map(l => l.textContent)`)
	if len(runs) != 2 || !strings.HasPrefix(runs[0], "A (baseline): ") || !strings.HasPrefix(runs[1], "B (optimized): ") {
		t.Errorf("runs listed: %q", runs)
	}
	if n := eval[int](tb, `document.querySelectorAll("#s1 .verdict").length`); n != 2 {
		t.Errorf("%d verdicts, want one per run", n)
	}
	head := eval[[]string](tb, `[...document.querySelectorAll("#s1-summary thead th")].map(c => c.textContent)`)
	if !slices.Equal(head, []string{"figure", "value A", "value B", "change"}) {
		t.Errorf("key figures' columns: %q", head)
	}
	groups := compareGroups(tb, "s1-ops")
	if len(groups) != len(a.Ops)+1 {
		t.Fatalf("%d row groups, want an operation each and the total", len(groups))
	}
	for _, g := range groups {
		if len(g) != 4 || g[0].Run != "A" || g[1].Run != "B" || g[2].Run != "change" || g[3].Run != "test" {
			t.Errorf("group %v: want rows A, B, change and test", g)
			continue
		}
		name := g[0].Name
		oa, ob := a.Op(name), b.Op(name)
		if name == "all" {
			oa, ob = &a.Total, &b.Total
		}
		checkOpRow(t, "A, "+name, g[0].Cells, oa, a.ElapsedSeconds)
		checkOpRow(t, "B, "+name, g[1].Cells, ob, b.ElapsedSeconds)
		checkVerdict(t, name, g[3].Cells[0], oa, ob, "")
		checkChange(t, name, g[2].Cells, g[0].Cells, g[1].Cells)
	}
	tb.use()
	tb.offline()
	tb.screenshot("report-compare")
}

// TestBrowserDocument opens a document of a run, a comparison and a table
// of findings, as the lab writes.
func TestBrowserDocument(t *testing.T) {
	browser(t)
	a, xa := synthetic(t, 10, 60, 1, 1)
	b, xb := synthetic(t, 10, 60, 2, 0.35)
	tb := open(t, documentPage(t), "document", 1200, 900)
	want := expectRun(a, xa, "s1")
	for id, s := range expectCompare(expectRun(a, xa, "s2"), expectRun(b, xb, "s2")) {
		want[id] = s
	}
	checkCharts(t, tb.charts(), want)
	nav := eval[[]string](tb, `[...document.querySelectorAll("nav a")].map(a => a.getAttribute("href") + " " + a.textContent)`)
	if !slices.Equal(nav, []string{"#s1 Phase 1: baseline", "#s2 Phase 2: optimized against baseline", "#s3 Findings"}) {
		t.Errorf("contents: %q", nav)
	}
	// B's latencies are 0.35 times A's: every operation with enough
	// requests is significantly faster.
	for _, g := range compareGroups(tb, "s2-ops") {
		name := g[0].Name
		oa, ob := a.Op(name), b.Op(name)
		if name == "all" {
			oa, ob = &a.Total, &b.Total
		}
		checkVerdict(t, name, g[3].Cells[0], oa, ob, "B faster")
	}
	cells := eval[[]string](tb, `[...document.querySelectorAll("#s3-table1 tbody tr > *")].map(c => c.textContent)`)
	if !slices.Equal(cells, []string{"read avg", "45 ms", "2.1 ms", "cold start", "+700 ms to 1.2 s", "+31 ms"}) {
		t.Errorf("findings table: %q", cells)
	}
	tb.offline()
	tb.screenshot("report-document")
}

// TestBrowserNarrowAndPrint opens a run in a phone's width, then as it
// prints: nothing overflows the window sideways, and in print every chart
// takes the page's width, whole on its page.
func TestBrowserNarrowAndPrint(t *testing.T) {
	browser(t)
	r, x := synthetic(t, 60, 200, 1, 1)
	tb := open(t, runPage(t, r, x), "narrow", 390, 844)
	overflow := eval[[]float64](tb, `[document.documentElement.scrollWidth, window.innerWidth]`)
	if overflow[0] > overflow[1]+1 {
		t.Errorf("the page is %g px wide in a %g px window", overflow[0], overflow[1])
	}
	for id, c := range tb.charts() {
		if c.Width > 390 {
			t.Errorf("chart %s is %g px wide in a 390 px window", id, c.Width)
		}
	}
	tb.screenshot("report-narrow")

	ctx, cancel := context.WithTimeout(tb.ctx, 60*time.Second)
	defer cancel()
	if _, err := chromedp.Call(ctx, emulation.SetEmulatedMedia, emulation.SetEmulatedMediaParams{Media: "print"}); err != nil {
		t.Fatal(err)
	}
	printed := eval[[]string](tb, `(() => {
		window.dispatchEvent(new Event("beforeprint"));
		const figs = [...document.querySelectorAll("figure.chart")];
		const bad = figs.filter(f => getComputedStyle(f).breakInside !== "avoid").map(f => f.id + " may break");
		return bad.concat(Object.entries(surgeReport.charts).filter(([id, u]) => u.width !== 680).map(([id, u]) => id + " " + u.width + " px"));
	})()`)
	if len(printed) > 0 {
		t.Errorf("in print: %q", printed)
	}
	pdf, err := chromedp.Call(ctx, page.PrintToPDF, page.PrintToPDFParams{PreferCSSPageSize: ptr(true), PrintBackground: ptr(true)})
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.HasPrefix(pdf.Data, []byte("%PDF-")) {
		t.Fatalf("PrintToPDF gave %.20q", pdf.Data)
	}
	path := filepath.Join(artifacts(t), "report-print.pdf")
	if err := os.WriteFile(path, pdf.Data, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("pdf: %s (%d KiB)", path, len(pdf.Data)>>10)
	eval[bool](tb, `window.dispatchEvent(new Event("afterprint"))`)
	tb.offline()
}

func ptr[T any](v T) *T { return &v }

// TestReadmeImages writes the README's two screenshots, with -images:
// the top of the report of a generated one-minute run (every operation),
// and of a comparison of two (two operations, to keep the picture
// short), down to the first chart, at 1000 CSS pixels wide.
func TestReadmeImages(t *testing.T) {
	if !*images {
		t.Skip("run with -images to write docs/images/report-run.png and report-compare.png")
	}
	browser(t)
	a, xa := synthetic(t, 60, 200, 1, 1)
	two := []synthOp{synthOps[0], synthOps[1]}
	ca, cxa := syntheticOf(t, two, 60, 200, 1, 1)
	cb, cxb := syntheticOf(t, two, 60, 200, 2, 0.7)
	for name, page := range map[string][]byte{
		"report-run":     runPage(t, a, xa),
		"report-compare": comparePage(t, ca, cb, cxa, cxb),
	} {
		tb := open(t, page, name, 1000, 1400)
		shot := readmeShot(t, tb)
		path := filepath.Join("..", "..", "..", "docs", "images", name+".png")
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, shot, 0o644); err != nil {
			t.Fatal(err)
		}
		img, err := png.DecodeConfig(bytes.NewReader(shot))
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("%s: %dx%d, %d KiB", path, img.Width, img.Height, len(shot)>>10)
		if len(shot) > 300<<10 {
			t.Errorf("%s is %d KiB, want under 300", path, len(shot)>>10)
		}
		tb.offline()
	}
}

// readmeShot takes the page from its top to the end of its first chart,
// with the service-time table, and a comparison's key figures, left out of
// the picture.
func readmeShot(t *testing.T, tb *tab) []byte {
	t.Helper()
	height := eval[float64](tb, `(() => {
		const svc = document.getElementById("s1-service");
		if (svc) { svc.closest(".table-wrap").style.display = "none"; }
		const two = document.querySelector(".overview.two");
		if (two) { document.getElementById("s1-summary").closest(".overview > div").style.display = "none"; }
		document.querySelectorAll("p.how").forEach(e => { e.style.display = "none"; });
		window.dispatchEvent(new Event("resize"));
		const f = document.getElementById("s1-rate");
		return f.getBoundingClientRect().bottom + window.scrollY + 12;
	})()`)
	ctx, cancel := context.WithTimeout(tb.ctx, 30*time.Second)
	defer cancel()
	res, err := chromedp.Call(ctx, page.CaptureScreenshot, page.CaptureScreenshotParams{
		Format: page.CaptureScreenshotFormatPng, CaptureBeyondViewport: ptr(true), FromSurface: ptr(true),
		Clip: &page.Viewport{X: 0, Y: 0, Width: 1000, Height: height, Scale: 1},
	})
	if err != nil {
		t.Fatal(err)
	}
	return res.Data
}

// BenchmarkDraw measures how long Chromium takes from navigation to every
// chart drawn (the page's own performance.now() when its last chart
// draws), for the report of a one-minute and a ten-minute run of eight
// operations at 300 requests per second: ms-to-drawn is the median.
//
//	go test -run '^$' -bench Draw -benchtime 7x ./internal/load/htmlreport
func BenchmarkDraw(b *testing.B) {
	for _, tc := range []struct {
		name    string
		seconds int
	}{{"1min", 60}, {"10min", 600}} {
		b.Run(tc.name, func(b *testing.B) {
			browser(b)
			r, x := synthetic(b, tc.seconds, 300, 1, 1)
			page := runPage(b, r, x)
			tb := open(b, page, "bench", 1200, 900)
			var ms []float64
			b.ResetTimer()
			for range b.N {
				ctx, cancel := context.WithTimeout(tb.ctx, 60*time.Second)
				if err := chromedp.Do(ctx, chromedp.Navigate(tb.url)); err != nil {
					b.Fatal(err)
				}
				cancel()
				tb.waitDrawn()
				ms = append(ms, eval[float64](tb, `window.surgeReport.drawnAt`))
			}
			b.StopTimer()
			sort.Float64s(ms)
			b.ReportMetric(ms[len(ms)/2], "ms-to-drawn")
			b.ReportMetric(float64(len(page))/1024, "KiB")
			tb.offline()
		})
	}
}
