package htmlreport_test

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"flag"
	"html"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/surgehq/surge/internal/load"
	"github.com/surgehq/surge/internal/load/htmlreport"
)

var update = flag.Bool("update", false, "rewrite the golden files")

func fixedNow() time.Time { return time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC) }

// golden compares got with testdata/name, or rewrites it with -update.
func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run with -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("embedded data differs from %s (run with -update to accept; diff the two to review)", path)
	}
}

var (
	numbersRE = regexp.MustCompile(`\[[-0-9.e,\snul]*\]`)
	spaceRE   = regexp.MustCompile(`\s+`)
)

var dataRE = regexp.MustCompile(`(?s)<script type="application/json" id="surge-data">(.*?)</script>`)

// embedded returns the data a page embeds, parsed.
func embedded(t testing.TB, page []byte) map[string]any {
	t.Helper()
	m := dataRE.FindSubmatch(page)
	if m == nil {
		t.Fatal("no embedded data in the page")
	}
	var v map[string]any
	if err := json.Unmarshal(m[1], &v); err != nil {
		t.Fatalf("embedded data: %v", err)
	}
	return v
}

func runPage(t testing.TB, r *load.Result, x *htmlreport.Extra) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := htmlreport.Run(&buf, r, htmlreport.Options{Extra: x, Now: fixedNow}); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func comparePage(t testing.TB, a, b *load.Result, xa, xb *htmlreport.Extra) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := htmlreport.Compare(&buf, a, b, htmlreport.Options{BaseExtra: xa, Extra: xb, Now: fixedNow,
		Labels: [2]string{"baseline", "optimized"}}); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func documentPage(t testing.TB) []byte {
	t.Helper()
	a, xa := synthetic(t, 10, 60, 1, 1)
	b, xb := synthetic(t, 10, 60, 2, 0.35)
	d := &htmlreport.Document{Title: "surge lab", Intro: "The seed's experiment, on this machine.", Now: fixedNow,
		Sections: []htmlreport.Section{
			{Title: "Phase 1: baseline", Run: a, Extra: xa},
			{Title: "Phase 2: optimized against baseline", Base: a, Change: b, BaseExtra: xa, Extra: xb},
			{Title: "Findings", Tables: []htmlreport.Table{{Title: "The seed's findings beside ours",
				Columns: []string{"finding", "seed (AWS)", "here"},
				Rows:    [][]string{{"read avg", "45 ms", "2.1 ms"}, {"cold start", "+700 ms to 1.2 s", "+31 ms"}},
				Note:    "Local figures are from this machine."}}},
		}}
	var buf bytes.Buffer
	if err := d.Write(&buf); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// TestGolden keeps the embedded data (every chart's series, its axes and
// stage marks) stable for fixed results.
func TestGolden(t *testing.T) {
	a, xa := synthetic(t, 12, 60, 1, 1)
	b, xb := synthetic(t, 12, 60, 2, 1.3)
	for _, tc := range []struct {
		name string
		page func() []byte
	}{
		{"run", func() []byte { return runPage(t, a, xa) }},
		{"run-bare", func() []byte { return runPage(t, a, &htmlreport.Extra{}) }},
		{"compare", func() []byte { return comparePage(t, a, b, xa, xb) }},
		{"document", func() []byte { return documentPage(t) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			page := tc.page()
			m := dataRE.FindSubmatch(page)
			if m == nil {
				t.Fatal("no embedded data")
			}
			var out bytes.Buffer
			if err := json.Indent(&out, m[1], "", " "); err != nil {
				t.Fatal(err)
			}
			// One line per array of numbers: a diff still shows which
			// series changed, in a tenth of the lines.
			flat := numbersRE.ReplaceAllFunc(out.Bytes(), func(b []byte) []byte {
				return spaceRE.ReplaceAll(b, nil)
			})
			golden(t, tc.name+".golden", append(flat, '\n'))
		})
	}
}

// TestSelfContained checks the page's text: nothing in it names another
// file or address to load, and its Content-Security-Policy allows exactly
// its own inline script and style elements.
func TestSelfContained(t *testing.T) {
	r, x := synthetic(t, 20, 100, 1, 1)
	page := runPage(t, r, x)
	// Histograms are embedded as percentile curves, not as their encodings.
	if bytes.Contains(page, []byte("HISTF")) {
		t.Error("the page embeds an encoded histogram")
	}
	for _, bad := range []string{"<link", " src=", "url(", "@import", "@font-face", "<img", "<iframe", "<object"} {
		if bytes.Contains(page, []byte(bad)) {
			t.Errorf("page contains %q", bad)
		}
	}
	for _, m := range regexp.MustCompile(`href="([^"]*)"`).FindAllSubmatch(page, -1) {
		if !bytes.HasPrefix(m[1], []byte("#")) {
			t.Errorf("link to %s", m[1])
		}
	}
	csp := regexp.MustCompile(`http-equiv="Content-Security-Policy" content="([^"]*)"`).FindSubmatch(page)
	if csp == nil {
		t.Fatal("no Content-Security-Policy")
	}
	policy := html.UnescapeString(string(csp[1]))
	if !strings.HasPrefix(policy, "default-src 'none';") {
		t.Errorf("policy %q does not start by forbidding everything", policy)
	}
	hashes := func(re string) []string {
		var out []string
		for _, m := range regexp.MustCompile(re).FindAllSubmatch(page, -1) {
			sum := sha256.Sum256(m[1])
			out = append(out, "'sha256-"+base64.StdEncoding.EncodeToString(sum[:])+"'")
		}
		return out
	}
	scripts := hashes(`(?s)<script>(.*?)</script>`)
	styles := hashes(`(?s)<style>(.*?)</style>`)
	if len(scripts) != 2 || len(styles) != 1 {
		t.Fatalf("%d scripts and %d styles, want 2 and 1", len(scripts), len(styles))
	}
	want := "script-src " + strings.Join(scripts, " ") + "; style-src " + styles[0] + ";"
	if !strings.Contains(policy, want) {
		t.Errorf("policy %q\ndoes not allow the page's own elements: %q", policy, want)
	}
}

// TestSize measures the file for a one-minute and a ten-minute run of
// eight operations at a peak of 300 requests per second, with every
// optional series: it must stay under 1 MB.
func TestSize(t *testing.T) {
	for _, tc := range []struct {
		name    string
		seconds int
	}{{"1min", 60}, {"10min", 600}} {
		t.Run(tc.name, func(t *testing.T) {
			r, x := synthetic(t, tc.seconds, 300, 1, 1)
			page := runPage(t, r, x)
			b, xb := synthetic(t, tc.seconds, 300, 2, 1.2)
			cmp := comparePage(t, r, b, x, xb)
			t.Logf("%s: run report %d bytes (%.0f KiB), comparison %d bytes (%.0f KiB)",
				tc.name, len(page), float64(len(page))/1024, len(cmp), float64(len(cmp))/1024)
			for what, n := range map[string]int{"run": len(page), "comparison": len(cmp)} {
				if n >= 1<<20 {
					t.Errorf("%s report is %d bytes, want under 1 MiB", what, n)
				}
			}
		})
	}
}

// TestMissingData checks that each chart whose data a result lacks is
// replaced by a sentence saying so.
func TestMissingData(t *testing.T) {
	r, _ := synthetic(t, 10, 50, 1, 1)
	r.Total.ColdStarts, r.Total.CacheHits, r.Total.CacheMisses, r.Total.Capacity = 0, 0, 0, nil
	for i := range r.Ops {
		o := &r.Ops[i]
		o.ColdStarts, o.ServerTiming, o.StatusSources = 0, nil, nil
		o.CacheHits, o.CacheMisses, o.Capacity = 0, 0, nil
	}
	page := string(runPage(t, r, nil))
	for _, want := range []string{
		"Cold starts: the target did not report any (no response carried X-Cold-Start: true).",
		"Server-Timing breakdown: the target sent no Server-Timing header.",
		"Concurrent executions: the target did not report them (series[].concurrency).",
		"Status codes over time: the result counts statuses only per operation",
		"429 and 503 by source: the result does not say which part",
		"Latency by payload size class: the result does not split latency by payload (payloadLatency).",
		"The target did not report response cache hits (series[].cacheHits, series[].cacheMisses) or function invocations (series[].invocations).",
		"Cold against warm latency: the result does not split latency by cold start",
		"Capacity units: the target did not report them (ops[].capacity, from Server-Timing rcu and wcu).",
	} {
		if !strings.Contains(page, want) {
			t.Errorf("page lacks %q", want)
		}
	}
	d := embedded(t, []byte(page))
	for _, c := range d["charts"].([]any) {
		id := c.(map[string]any)["id"].(string)
		for _, absent := range []string{"cold-", "servertiming", "statuses-time", "status-sources", "payload-", "cache", "capacity"} {
			if strings.Contains(id, absent) {
				t.Errorf("chart %s drawn without its data", id)
			}
		}
	}
}

// TestPartial checks that a result cut short says so.
func TestPartial(t *testing.T) {
	r, _ := synthetic(t, 10, 50, 1, 1)
	r.Stop = "interrupted"
	r.ElapsedSeconds = 6.5
	page := string(runPage(t, r, &htmlreport.Extra{}))
	if !strings.Contains(page, "<strong>Partial result:</strong> the run was interrupted after 6.5s of its 10s plan") {
		t.Error("an interrupted run is not marked partial")
	}
	page = string(runPage(t, r, &htmlreport.Extra{Partial: true}))
	if !strings.Contains(page, "this result was cut short (the run was killed or crashed)") {
		t.Error("a partial result file is not marked partial")
	}

	// A real run of 10 seconds, interrupted after 0.7.
	s := load.DefaultScenario()
	s.Target = itemsTarget(t, 0)
	s.Rate, s.Duration, s.IDs.Preseed = 50, 10*time.Second, 5
	real := runScenario(t, s, 700*time.Millisecond, 1)
	if real.Stop != "interrupted" {
		t.Fatalf("stop %q, want interrupted", real.Stop)
	}
	page = string(runPage(t, real, nil))
	if !strings.Contains(page, "<strong>Partial result:</strong> the run was interrupted after ") ||
		!strings.Contains(page, "of its 10s plan; the figures cover that part.") {
		t.Error("an interrupted real run is not marked partial")
	}
}

// TestHostileText checks that text from a result (the target, operation
// and header names, thresholds) cannot break out of the page's markup or
// its data.
func TestHostileText(t *testing.T) {
	r, _ := synthetic(t, 5, 50, 1, 1)
	evil := `</script><script>alert(1)</script><b onclick=x>`
	r.Scenario.Target = evil
	r.Ops[0].Name = evil
	r.Series[0].Ops[0].Name = evil
	r.Scenario.Headers = map[string]string{evil: "secret-key-value"}
	page := runPage(t, r, &htmlreport.Extra{})
	if bytes.Contains(page, []byte("<script>alert")) || bytes.Contains(page, []byte("<b onclick")) {
		t.Error("hostile text reached the markup unescaped")
	}
	if bytes.Contains(page, []byte("secret-key-value")) {
		t.Error("a header's value is in the report")
	}
	if n := bytes.Count(page, []byte("</script>")); n != 3 {
		t.Errorf("%d script ends, want 3", n)
	}
	embedded(t, page)
}

func TestErrors(t *testing.T) {
	r, _ := synthetic(t, 5, 50, 1, 1)
	var buf bytes.Buffer
	for name, err := range map[string]error{
		"run nil":     htmlreport.Run(&buf, nil, htmlreport.Options{}),
		"compare nil": htmlreport.Compare(&buf, r, nil, htmlreport.Options{}),
		"both":        (&htmlreport.Document{Sections: []htmlreport.Section{{Run: r, Base: r, Change: r}}}).Write(&buf),
		"half":        (&htmlreport.Document{Sections: []htmlreport.Section{{Base: r}}}).Write(&buf),
	} {
		if err == nil {
			t.Errorf("%s: no error", name)
		}
	}
	if buf.Len() != 0 {
		t.Errorf("wrote %d bytes on errors", buf.Len())
	}
}

// TestReadExtra reads the optional members from a result file's JSON.
func TestReadExtra(t *testing.T) {
	r, x := synthetic(t, 5, 50, 1, 1)
	// A result file that carries them beside load.Result's own members.
	var res bytes.Buffer
	if err := r.WriteJSON(&res); err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(res.Bytes(), &m); err != nil {
		t.Fatal(err)
	}
	xj, _ := json.Marshal(x)
	var xm map[string]any
	_ = json.Unmarshal(xj, &xm)
	series := m["series"].([]any)
	for i, p := range xm["series"].([]any) {
		for k, v := range p.(map[string]any) {
			series[i].(map[string]any)[k] = v
		}
	}
	m["payloadLatency"], m["knee"], m["cost"] = xm["payloadLatency"], xm["knee"], xm["cost"]
	file, _ := json.Marshal(m)
	got, err := htmlreport.ReadExtra(bytes.NewReader(file))
	if err != nil {
		t.Fatal(err)
	}
	if len(got.Series) != len(x.Series) || *got.Series[3].CacheHits != *x.Series[3].CacheHits ||
		got.Series[4].Statuses["200"] != x.Series[4].Statuses["200"] {
		t.Errorf("series: got %d intervals, want %d, with the same figures", len(got.Series), len(x.Series))
	}
	if len(got.PayloadLatency) != 3 || got.Knee.Rate != x.Knee.Rate || got.Cost.Total != x.Cost.Total {
		t.Errorf("payloads, knee or cost differ: %+v %+v %+v", got.PayloadLatency, got.Knee, got.Cost)
	}
	// Without them: an empty Extra.
	got, err = htmlreport.ReadExtra(bytes.NewReader(res.Bytes()))
	if err != nil || got.Knee != nil || got.Series[0].CacheHits != nil {
		t.Errorf("a plain result: %+v, %v", got, err)
	}
	for name, in := range map[string]string{
		"not json":   `{"series":`,
		"bad hist":   `{"ops":[{"name":"read","coldLatencyHist":"HISTFAAAAB"}]}`,
		"bad shape":  `{"knee":"fast"}`,
		"bad status": `{"series":[{"t":1,"statuses":{"200":"many"}}]}`,
	} {
		if _, err := htmlreport.ReadExtra(strings.NewReader(in)); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
}

// FuzzReadExtra feeds ReadExtra any bytes: an error or an Extra, never a
// panic, and whatever it accepts renders.
func FuzzReadExtra(f *testing.F) {
	f.Add([]byte(`{"series":[{"t":1,"statuses":{"200":3},"statusSources":{"429":{"gateway":1}},"coldStarts":1,"concurrency":2.5}]}`))
	f.Add([]byte(`{"ops":[{"name":"read","coldLatencyHist":"HISTFAAAACl42pJpmSzMwMDAzMDAwAilGaBshmuTlzDYf4AIfGaOAAQAAP//YjIF2Q=="}]}`))
	f.Add([]byte(`{"payloadLatency":[{"size":256,"latencyHist":""}],"knee":{"rate":1},"cost":{"currency":"USD","total":1}}`))
	f.Add([]byte(`null`))
	r, _ := synthetic(f, 3, 50, 1, 1)
	f.Fuzz(func(t *testing.T, data []byte) {
		x, err := htmlreport.ReadExtra(bytes.NewReader(data))
		if err != nil {
			return
		}
		var buf bytes.Buffer
		if err := htmlreport.Run(&buf, r, htmlreport.Options{Extra: x}); err != nil {
			t.Fatalf("render with an accepted extra: %v", err)
		}
		embedded(t, buf.Bytes())
	})
}

// FuzzRun renders any result file load.ReadResult accepts: an error or a
// page whose data parses, never a panic.
func FuzzRun(f *testing.F) {
	r, _ := synthetic(f, 3, 50, 1, 1)
	var buf bytes.Buffer
	if err := r.WriteJSON(&buf); err != nil {
		f.Fatal(err)
	}
	f.Add(buf.Bytes())
	f.Add([]byte(`{"schema":"surge.load.result/v1","series":[{"t":1,"ops":[{"name":"read","count":1}]}],"ops":[{"name":"read"}]}`))
	f.Add([]byte(`{"schema":"surge.load.result/v1","scenario":{"model":"closed","stages":[{"duration":-1,"target":1e308}]},"series":[{"t":-1},{"t":-1}]}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		res, err := load.ReadResult(bytes.NewReader(data))
		if err != nil {
			return
		}
		var out bytes.Buffer
		if err := htmlreport.Run(&out, res, htmlreport.Options{}); err != nil {
			return
		}
		embedded(t, out.Bytes())
		out.Reset()
		if err := htmlreport.Compare(&out, res, res, htmlreport.Options{}); err != nil {
			return
		}
		embedded(t, out.Bytes())
	})
}

// TestWriteFile writes a report to a file, and leaves nothing behind when
// the render fails.
func TestWriteFile(t *testing.T) {
	r, x := synthetic(t, 5, 50, 1, 1)
	dir := t.TempDir()
	path := filepath.Join(dir, "run.html")
	if err := htmlreport.WriteFile(path, func(w io.Writer) error {
		return htmlreport.Run(w, r, htmlreport.Options{Extra: x, Now: fixedNow})
	}); err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, runPage(t, r, x)) {
		t.Error("the file differs from the report Run writes")
	}
	failed := errors.New("render failed")
	if err := htmlreport.WriteFile(filepath.Join(dir, "bad.html"), func(w io.Writer) error {
		_, _ = w.Write([]byte("<!doctype html><p>half"))
		return failed
	}); !errors.Is(err, failed) {
		t.Errorf("error %v, want the render's", err)
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 || entries[0].Name() != "run.html" {
		t.Errorf("directory holds %v, want only run.html", entries)
	}
}
